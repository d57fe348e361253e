-- GET / : the HTTP floor of the same server (routing, negotiation, a tiny JSON body).
dofile("scripts/bench/report.lua")
done = function(summary, latency, requests)
  report(summary, latency)
end
