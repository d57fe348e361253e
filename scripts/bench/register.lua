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
done = function(summary, latency, requests)
  io.write(string.format("RESULT rps=%.0f p50_ms=%.3f p99_ms=%.3f errors=%d non2xx=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
