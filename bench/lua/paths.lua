-- GET a random path from a file (one per line); optional extra header "Name: value" as arg 2.
-- Usage: wrk ... -s paths.lua http://host -- <paths file> [header]
local paths = {}
local headers = {}

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  if args[2] and #args[2] > 0 then
    local name, value = args[2]:match("^([^:]+):%s*(.*)$")
    headers[name] = value
  end
  math.randomseed(os.time() + (id or 0))
end

function setup(thread)
  thread:set("id", tostring(math.random(1, 1000000)))
end

function request()
  return wrk.format("GET", paths[math.random(1, #paths)], headers)
end

done = dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
