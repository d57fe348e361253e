-- POST /subjects/{unique}/versions with a new Avro schema per request: every request is a
-- real registration (new schema id, new subject), never an idempotent re-registration.
local counter = 0
local tag = ""
setup = function(thread)
  thread:set("tag", tostring(math.random(1, 1e9)))
end
init = function(args)
  tag = tag .. "_" .. tostring(math.random(1, 1e9))
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
