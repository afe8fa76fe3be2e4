#!/usr/bin/env python3
"""Mean latency of the npm read routes over one keep-alive connection,
reported as ratios against `/-/ping` measured in the same run (these hosts
are noisy; compare ratios, not milliseconds).

usage: npm_reads.py BASE_URL REQUESTS   (run by scripts/bench/npm-reads)
"""
import http.client, sys, time, urllib.parse
base_url = urllib.parse.urlsplit(sys.argv[1]); n = int(sys.argv[2])
routes = {
  "ping": "/npm/-/ping",
  "tarball": "/npm/@a.localhost/lib/-/lib-1.0.1.tgz",
  "version": "/npm/@a.localhost/lib/1.0.1",
  "tag": "/npm/@a.localhost/lib/latest",
  "dist-tags": "/npm/-/package/@a.localhost/lib/dist-tags",
  "packument": "/npm/@a.localhost/lib",
}
c = http.client.HTTPConnection(base_url.hostname, base_url.port)
out = {}
for name, path in routes.items():
    for _ in range(5):
        c.request("GET", path); r = c.getresponse(); r.read()
    t = time.perf_counter()
    for _ in range(n):
        c.request("GET", path); r = c.getresponse(); r.read()
        assert r.status in (200, 302), (path, r.status)
    out[name] = (time.perf_counter() - t) / n * 1e3
base = out["ping"]
print(" ".join(f"{k}={v:.2f}ms({v/base:.1f}x)" for k, v in out.items()))
