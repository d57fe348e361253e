-- GET /schemas/ids/{id} over random ids in [1, N] (N from the environment, default 1000).
local n = tonumber(os.getenv("BENCH_IDS") or "1000")
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/schemas/ids/" .. math.random(1, n))
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT rps=%.0f p50_ms=%.3f p99_ms=%.3f errors=%d non2xx=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
