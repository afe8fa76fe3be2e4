"""`scripts/bench/run --compare`: only the HTTP read cells, Regesta next to
nginx serving the same bytes, at 2 and 32 connections — the quick loop for
hot-path work. Adds `/health` twice: with the default `info` request log
and with `REGESTA_LOG=warn` (the framework's ceiling, no request log).
"""
import os

import services, workloads

# The workloads of the comparison, by name (see workloads.reads).
CELLS = ["ready", "package-state", "release-envelope", "object-1KiB", "object-1MiB",
         "events-page-999", "packument-1", "packument-200", "packument-{big}",
         "packument-{big}-abbreviated"]


def run(args, work, result, running):
    """Fills result["http"], result["services"] and result["generate_fixtures"]."""
    big = 1000
    fixtures = os.path.join(work, "fixtures")
    result["generate_fixtures"] = workloads.generate(
        args, fixtures, ["--fixtures", "--big-versions", str(big)])
    rg = services.regesta(args.regesta, fixtures, os.path.join(work, "regesta.log"))
    running.append(rg)
    quiet = services.regesta(args.regesta, os.path.join(work, "quiet"),
                             os.path.join(work, "quiet.log"), env={"REGESTA_LOG": "warn"})
    quiet.name = "regesta"
    running.append(quiet)
    wanted = [c.format(big=big) for c in CELLS]
    loads = [{"name": "health", "path": "/health"}]
    loads += [load for load in workloads.reads(rg.base, big) if load["name"] in wanted]
    files = workloads.static_files(rg.base, loads)
    ng = services.nginx(os.path.join(work, "nginx"), files)
    running.append(ng)
    result["services"] = {"regesta": workloads.service_figures(rg),
                          "nginx": workloads.service_figures(ng)}
    rows = workloads.run_http(args, loads, {"regesta": rg, "nginx": ng})
    # The same /health bytes from the quiet server, against the same nginx cell.
    health = [{"name": "health-log-warn", "path": "/health", "bytes": loads[0]["bytes"]}]
    for row in workloads.run_http(args, health, {"regesta": quiet, "nginx": ng},
                                  nginx_names={"health-log-warn": "health"}):
        rows.append(row)
    result["http"] = rows
    result["services"]["regesta"]["peak_rss_mib"] = services.memory_mib(rg.pid)[1]
    result["services"]["nginx"]["peak_rss_mib"] = services.memory_mib(ng.pid)[1]


def markdown(result):
    t = {(r["workload"], r["connections"], r["target"]): r for r in result["http"]}
    names = []
    for row in result["http"]:
        if row["workload"] not in names:
            names.append(row["workload"])
    conns = result["settings"]["connections"]
    v = result["versions"]
    lines = [f"Run {result['date']} on {result['machine']['cores']} cores, "
             f"{v['regesta']} at {v['regesta_commit']}, {v['nginx']}; "
             f"{result['settings']['duration_s']} s per cell after "
             f"{result['settings']['warmup_s']} s warm-up.", "",
             "| request | bytes | " + " | ".join(
                 f"Regesta req/s c={c} | nginx req/s c={c} | ratio c={c}" for c in conns) + " |",
             "| --- | ---: | " + " | ".join("---: | ---: | ---:" for _ in conns) + " |"]
    for name in names:
        cells = []
        size = 0
        for c in conns:
            r, n = t.get((name, c, "regesta")), t.get((name, c, "nginx"))
            if not r or not n:
                cells.append("– | – | –")
                continue
            size = r["response_bytes"]
            cells.append(f"{r['requests_per_second']:.0f} | {n['requests_per_second']:.0f} | "
                         f"{r['requests_per_second'] / n['requests_per_second']:.2f}")
        lines.append(f"| {name} | {size} | " + " | ".join(cells) + " |")
    s = result["services"]["regesta"]
    lines += ["", f"Regesta RSS: {s['idle_rss_mib']:.1f} MiB idle, "
                  f"{s.get('peak_rss_mib', 0):.1f} MiB peak."]
    return "\n".join(lines) + "\n"
