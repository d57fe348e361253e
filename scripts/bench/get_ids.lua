-- GET /schemas/ids/{id} over random ids in [1, N] (N from the environment, default 1000).
local n = tonumber(os.getenv("BENCH_IDS") or "1000")
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/schemas/ids/" .. math.random(1, n))
end
dofile("scripts/bench/report.lua")
done = function(summary, latency, requests)
  report(summary, latency)
end
