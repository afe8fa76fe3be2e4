#!/usr/bin/env python3
"""Mixed read/write soak on the embedded store: publishers writing new
releases while wrk reads random package states and packuments, 32
connections in all, for SECONDS. Samples the server's RSS every
SECONDS/20. Fails on any error, when memory keeps growing (the last
sample above twice the first one taken after warm-up plus 64 MiB), or when
fewer than 90 % of the reads came from prepared bytes: the publishers
write other packages than the ones read, and a package's kept answers
outlive writes to other packages (11-18 % when every write dropped every
kept answer, 99.2-99.8 % since).

usage: soak.py REGESTA REGESTA_BENCH SECONDS [OUT.json]
"""
import json, os, shutil, subprocess, sys, tempfile, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import services  # noqa: E402
import workloads  # noqa: E402

LUA = os.path.join(HERE, "wrk_report.lua")
PUBLISHERS, READERS, PACKAGES = 4, 28, 500


def main():
    regesta, bench, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    out_path = sys.argv[4] if len(sys.argv) > 4 else None
    work = tempfile.mkdtemp(prefix="regesta-soak-")
    data = os.path.join(work, "data")
    subprocess.run([bench, "generate", "--data-dir", data, "--packages", str(PACKAGES),
                    "--events", str(PACKAGES * 2)], check=True, stdout=subprocess.DEVNULL)
    server = services.regesta(regesta, data, os.path.join(work, "server.log"))
    samples, publish_out, wrk_out = [], {}, {}
    try:
        def publish():
            r = subprocess.run([bench, "publish", "--registry", server.base, "--concurrency",
                                str(PUBLISHERS), "--seconds", str(seconds), "--prefix", "soak",
                                "--prebuilt", "0"],
                               capture_output=True, text=True)
            publish_out.update(json.loads(r.stdout) if r.returncode == 0 else
                               {"error": r.stderr.strip()[-2000:]})

        def read():
            path = "/npm/@dev.localhost/s-%d"
            r = subprocess.run(["wrk", "-t", "2", "-c", str(READERS), "-d", f"{seconds}s",
                                "--latency", "-s", LUA, server.base + "/ready"],
                               capture_output=True, text=True,
                               env={**os.environ, "BENCH_PATH": path,
                                    "BENCH_COUNT": str(PACKAGES)})
            line = next((l for l in r.stdout.splitlines() if l.startswith("WRK_JSON ")), None)
            wrk_out.update(json.loads(line[9:]) if line else {"error": r.stderr[-2000:]})

        threads = [threading.Thread(target=publish), threading.Thread(target=read)]
        started = time.monotonic()
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            samples.append([round(time.monotonic() - started, 1),
                            round(services.memory_mib(server.pid)[0], 1)])
            time.sleep(max(seconds / 20, 0.5))
        for t in threads:
            t.join()
        # How many reads came from prepared bytes: a publish sends back to
        # the handlers only the reads of its own package's answers.
        cache = workloads.cache_uses(server, 0)
    finally:
        server.stop()
        # Its data and request log are ~150 MB a run.
        shutil.rmtree(work, ignore_errors=True)
    result = {"seconds": seconds, "connections": PUBLISHERS + READERS, "publish": publish_out,
              "reads": wrk_out, "cache": cache, "rss_mib": samples}
    print(json.dumps(result))
    if out_path:
        with open(out_path, "w") as f:
            json.dump(result, f, indent=1)
    problems = []
    if "error" in publish_out or "error" in wrk_out:
        problems.append("a load generator failed")
    if wrk_out.get("socket_errors", 1) or wrk_out.get("status_errors", 1):
        problems.append(f"read errors: {wrk_out}")
    warm = [rss for t, rss in samples if t >= seconds * 0.1] or [s[1] for s in samples]
    if warm and warm[-1] > 2 * warm[0] + 64:
        problems.append(f"memory grew from {warm[0]} to {warm[-1]} MiB")
    if cache["hit"] < 0.9 * (cache["hit"] + cache["stored"]):
        problems.append(f"reads were not served from prepared bytes: {cache}")
    if problems:
        sys.exit("soak failed: " + "; ".join(problems))


if __name__ == "__main__":
    main()
