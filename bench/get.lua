-- wrk script: GET BENCH_GET_PATH (default /api/v1/workview: folders, counts, first pages) as the
-- signed-in worker of TESSERA_TOKEN, over and over. Counts go to the file named by BENCH_WRK_JSON.
local token = os.getenv("TESSERA_TOKEN")
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  not_ok = 0
end

function request()
  return wrk.format("GET", os.getenv("BENCH_GET_PATH") or "/api/v1/workview", {["Authorization"] = "Bearer " .. token})
end

function response(status, headers, body)
  if status ~= 200 then not_ok = not_ok + 1 end
end

function done(summary, latency, requests)
  local failed = 0
  for _, t in ipairs(threads) do failed = failed + t:get("not_ok") end
  local f = assert(io.open(os.getenv("BENCH_WRK_JSON"), "w"))
  f:write(string.format(
    '{"requests": %d, "requests_per_s": %.1f, "not_ok": %d, "latency_ms": {"p50": %.2f, "p90": %.2f, "p99": %.2f, "max": %.2f}}\n',
    summary.requests, summary.requests / (summary.duration / 1e6), failed,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
  f:close()
end
