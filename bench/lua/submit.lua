-- POST /v1/submissions with a unique Idempotency-Key per request and a bearer token; every
-- acknowledged (201) submission's id and key are appended to <out prefix>-<thread>.acks so the
-- bench can check each one is stored exactly once.
-- Usage: wrk ... -s submit.lua http://gateway -- <token> <commitment ids file> <out prefix> <run id>
local ids = {}
local token, out_prefix, run_id
local counter = 0
local acks
local pending = {}

local threads = {}
function setup(thread)
  local n = #threads + 1
  thread:set("tid", tostring(n))
  threads[n] = thread
end

function init(args)
  token, out_prefix, run_id = args[1], args[3], args[4]
  for line in io.lines(args[2]) do
    if #line > 0 then ids[#ids + 1] = line end
  end
  math.randomseed(os.time() * 1000 + tonumber(tid))
  acks = io.open(out_prefix .. "-" .. tid .. ".acks", "a")
  acks:setvbuf("line")
end

local stances = {"supports", "challenges", "mixed", "neutral"}

function request()
  counter = counter + 1
  local key = run_id .. "-" .. tid .. "-" .. counter
  local body = string.format(
    '{"commitment_ids":["%s"],"kind":"written","title":"Bench evidence %s",' ..
    '"summary":"Submitted by the load generator.","body":"Evidence %s on progress: the ' ..
    'programme reports milestones met in most regions, with gaps in social care.",' ..
    '"stance":"%s","consent":"publish"}',
    ids[math.random(1, #ids)], key, key, stances[math.random(1, #stances)])
  -- wrk sends requests on a connection one at a time (no pipelining here), in order, so the
  -- responses come back in the order of this queue per connection; with several connections
  -- per thread the order interleaves, which is why the key is read back from the response.
  return wrk.format("POST", "/v1/submissions", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
    ["Idempotency-Key"] = key,
  }, body)
end

function response(status, headers, body)
  if status == 201 then
    local id = body:match('"id":"([0-9a-f%-]+)"')
    local title = body:match('"title":"Bench evidence ([^"]+)"')
    acks:write((id or "?") .. " " .. (title or "?") .. "\n")
  end
end

done = dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
