-- wrk script: GET /api/v1/family-context/search?name=...&dob=... for people of the generated
-- population (BENCH_FC_SAMPLES: "name,dob" lines), one letter of the family name dropped half of the
-- time (the misspellings a worker types), with the reason a worker gives.
local token = os.getenv("TESSERA_TOKEN")
local samples = {}
local threads = {}
local next_id = 1

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(tid * 7919)
  not_ok = 0
  for line in io.lines(os.getenv("BENCH_FC_SAMPLES")) do
    local name, dob = line:match("^([^,]+),(.+)$")
    if name then table.insert(samples, {name, dob}) end
  end
end

local function misspell(word)
  if math.random() < 0.5 or #word < 5 then return word end
  local i = math.random(2, #word - 1)
  return word:sub(1, i - 1) .. word:sub(i + 1)
end

function request()
  local s = samples[math.random(#samples)]
  local given, family = s[1]:match("^(%S+) (%S+)$")
  local path = "/api/v1/family-context/search?name=" .. given .. "%20" .. misspell(family) .. "&dob=" .. s[2]
  return wrk.format("GET", path, {["Authorization"] = "Bearer " .. token,
                                  ["X-Access-Reason"] = "Family Context benchmark"})
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
