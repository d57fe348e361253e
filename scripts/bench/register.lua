-- POST /subjects/{unique}/versions with a new Avro schema per request: every request is a
-- real registration (new schema id, new subject), never an idempotent re-registration.
-- Each thread's Lua state starts with the same random sequence, so the tag that keeps the
-- threads' subjects apart is set from the main state, numbered (a global: `thread:set` sets
-- globals, which a `local tag` would shadow).
local counter = 0
local threads = 0
tag = ""
setup = function(thread)
  threads = threads + 1
  thread:set("tag", tostring(threads) .. "x" .. tostring(os.time()) .. "x" .. tostring(math.random(1, 1e9)))
end
request = function()
  counter = counter + 1
  local name = "f" .. tag .. "_" .. counter
  local schema = '{\\"type\\":\\"record\\",\\"name\\":\\"R\\",\\"fields\\":[{\\"name\\":\\"' .. name .. '\\",\\"type\\":\\"long\\"}]}'
  local body = '{"schema":"' .. schema .. '"}'
  return wrk.format("POST", "/subjects/bench-" .. tag .. "-" .. counter .. "/versions",
    {["Content-Type"] = "application/vnd.schemaregistry.v1+json"}, body)
end
dofile("scripts/bench/report.lua")
done = function(summary, latency, requests)
  report(summary, latency)
end
