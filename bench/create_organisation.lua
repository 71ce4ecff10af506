-- wrk script: POST /api/v1/organisations with a unique name per request, as a signed-in admin.
-- The token comes from TESSERA_TOKEN; the summary goes to the file named by BENCH_WRK_JSON.
local token = os.getenv("TESSERA_TOKEN")
local threads = {}
local next_id = 1

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  counter = 0
  non_created = 0
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"name":"Bench Organisation %d-%d","address":"1 Bench Street, London","telephone":"020 7000 0000"}',
    tid, counter)
  return wrk.format("POST", "/api/v1/organisations",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, body)
end

function response(status, headers, body)
  if status ~= 201 then
    non_created = non_created + 1
  end
end

function done(summary, latency, requests)
  local failed = 0
  for _, t in ipairs(threads) do
    failed = failed + t:get("non_created")
  end
  local f = assert(io.open(os.getenv("BENCH_WRK_JSON"), "w"))
  f:write(string.format(
    '{"requests": %d, "duration_s": %.3f, "requests_per_s": %.1f, "not_created": %d, ' ..
    '"socket_errors": %d, "latency_ms": {"p50": %.2f, "p90": %.2f, "p99": %.2f, "max": %.2f}}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6), failed,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000))
  f:close()
end
