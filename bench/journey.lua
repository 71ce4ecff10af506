-- wrk script: the Front Door Consultation's whole journey, over and over, by MASH managers (who may
-- start one, and are in the team its request goes to), one signed-in manager per connection
-- (TESSERA_TOKENS, comma-separated), as six API commands in order on each connection: start the step, save section 1, 'Pass to MASH Manager', save section 2, complete the
-- request, finish with 'Consultation complete'. Run with as many threads as connections, so that
-- each thread's state is one connection's journey. Counts go to the file named by BENCH_WRK_JSON.
local tokens = {}
for t in string.gmatch(os.getenv("TESSERA_TOKENS"), "[^,]+") do table.insert(tokens, t) end
local org = os.getenv("BENCH_ORGANISATION") or "7500065"
local threads = {}
local expected = {201, 200, 201, 200, 200, 200}

function setup(thread)
  table.insert(threads, thread)
  thread:set("token", tokens[(#threads - 1) % #tokens + 1])
end

function init(args)
  stage = 1
  step_id = nil
  request_id = nil
  journeys = 0
  commands = 0
  not_ok = 0
end

local function call(method, path, body)
  return wrk.format(method, path, {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token},
    body)
end

function request()
  if stage == 1 then
    return call("POST", "/api/v1/steps", '{"type":"front-door-consultation","variant":"CSSW",' ..
      '"subject":{"kind":"organisation","id":"' .. org .. '"}}')
  elseif stage == 2 then
    return call("PUT", "/api/v1/steps/" .. step_id .. "/sections/1",
      '{"data":{"consulted_at":"2022-11-25T13:57:00Z","source":"schools","contact_name":"Robin Ellery",' ..
      '"contact_telephone":"020 7974 4444","contact_relationship":"Head teacher",' ..
      '"details":"Worried about a pupil."},"completed":true}')
  elseif stage == 3 then
    return call("POST", "/api/v1/steps/" .. step_id .. "/requests", '{"type":"pass-to-mash-manager"}')
  elseif stage == 4 then
    return call("PUT", "/api/v1/steps/" .. step_id .. "/sections/2",
      '{"data":{"advice":"Advice given.","outcomes":["referral-to-mash"]},"completed":true}')
  elseif stage == 5 then
    return call("POST", "/api/v1/requests/" .. request_id .. "/complete", '{"note":"Done."}')
  else
    return call("POST", "/api/v1/steps/" .. step_id .. "/finish",
      '{"next_actions":[{"action":"consultation-complete"}]}')
  end
end

function response(status, headers, body)
  if status ~= expected[stage] then
    not_ok = not_ok + 1
    stage = 1
    return
  end
  commands = commands + 1
  if stage == 1 then
    step_id = string.match(body, '^{"id":"(%d+)"')
  elseif stage == 3 then
    request_id = string.match(body, '"requests":%[{"id":"(%d+)"')
  end
  if stage == 6 then
    journeys = journeys + 1
    stage = 1
  else
    stage = stage + 1
  end
end

function done(summary, latency, requests)
  local j, c, failed = 0, 0, 0
  for _, t in ipairs(threads) do
    j = j + t:get("journeys")
    c = c + t:get("commands")
    failed = failed + t:get("not_ok")
  end
  local seconds = summary.duration / 1e6
  local f = assert(io.open(os.getenv("BENCH_WRK_JSON"), "w"))
  f:write(string.format(
    '{"commands": %d, "commands_per_s": %.1f, "journeys": %d, "journeys_per_s": %.1f, "not_ok": %d, ' ..
    '"latency_ms": {"p50": %.2f, "p90": %.2f, "p99": %.2f, "max": %.2f}}\n',
    c, c / seconds, j, j / seconds, failed, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
  f:close()
end
