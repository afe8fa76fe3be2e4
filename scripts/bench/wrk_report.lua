-- wrk hook for scripts/bench: one JSON line with the figures the suite
-- records. Optional random paths: BENCH_PATH is a format string with one
-- %d, filled with 0..BENCH_COUNT-1 per request (reads spread over many
-- packages at scale).
local path, count = os.getenv("BENCH_PATH"), tonumber(os.getenv("BENCH_COUNT") or "0")
if path and count and count > 0 then
  request = function()
    return wrk.format(nil, string.format(path, math.random(0, count - 1)))
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"socket_errors":%d,"status_errors":%d,"p50_us":%d,"p99_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
