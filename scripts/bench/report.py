"""The bench result as a markdown table (for docs/performance.md and the
issue notes) and an SVG bar chart. Ratios are Regesta over the baseline
measured in the same run."""
from html import escape


def _index(result):
    table = {}
    for row in result["http"]:
        table[(row["workload"], row["connections"], row["target"])] = row
    return table


def _workloads(result):
    seen = []
    for row in result["http"]:
        if row["workload"] not in seen:
            seen.append(row["workload"])
    return seen


def _ratio(a, b):
    return f"{a / b:.2f}" if a and b else "–"


def markdown(result):
    t = _index(result)
    v = result["versions"]
    lines = [
        f"Run {result['date']} on {result['machine']['cores']} cores "
        f"({result['machine']['cpu']}), {v['regesta']} at {v['regesta_commit']}, "
        f"{v['nginx']}, Verdaccio {v['verdaccio']}, {v['wrk']}; "
        f"{result['settings']['duration_s']} s per cell after {result['settings']['warmup_s']} s warm-up.",
        "",
        "| workload | conns | Regesta req/s | p50 / p99 ms | CPU s / 1k req | nginx req/s | "
        "Regesta / nginx | Verdaccio req/s | Regesta / Verdaccio |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for w in _workloads(result):
        for c in result["settings"]["connections"]:
            r, n, d = t.get((w, c, "regesta")), t.get((w, c, "nginx")), t.get((w, c, "verdaccio"))
            if not r:
                continue
            lines.append(
                f"| {w} | {c} | {r['requests_per_second']:.0f} | "
                f"{r['p50_ms']:.2f} / {r['p99_ms']:.2f} | {r['cpu_s_per_1000']:.3f} | "
                f"{n['requests_per_second']:.0f} | "
                f"{_ratio(r['requests_per_second'], n['requests_per_second'])} | "
                + (f"{d['requests_per_second']:.0f} | "
                   f"{_ratio(r['requests_per_second'], d['requests_per_second'])} |"
                   if d else "– | – |"))
    uses = [r["cache"] for r in result["http"]
            if r["target"] == "regesta" and r.get("cache") and r["workload"] != "ready"]
    if uses:
        hits, total = sum(u["hit"] for u in uses), sum(sum(u.values()) for u in uses)
        lines += ["", f"Regesta answered {hits:,} of the {total:,} requests of its read cells "
                      f"(all but `ready`) from prepared bytes ({hits / max(total, 1):.4%}), by its "
                      "request log's `cache` field."]
    s = result["services"]
    lines += ["", "| server | startup to ready ms | idle RSS MiB | peak RSS MiB |",
              "| --- | ---: | ---: | ---: |"]
    for name in ("regesta", "nginx", "verdaccio"):
        lines.append(f"| {name} | {s[name]['startup_ms']:.0f} | {s[name]['idle_rss_mib']:.1f} | "
                     f"{s[name].get('peak_rss_mib', 0):.1f} |")
    lines += ["", "| publish (embedded store) | releases/s | server p50 / p99 ms | "
                  "client p50 / p99 ms |", "| --- | ---: | ---: | ---: |"]
    for p in result["publish"]:
        lines.append(f"| {p['concurrency']} publisher(s) | {p['releases_per_second']:.0f} | "
                     f"{p['server_p50_ms']:.2f} / {p['server_p99_ms']:.2f} | "
                     f"{p['client_p50_ms']:.2f} / {p['client_p99_ms']:.2f} |")
    i = result["npm_install"]
    lines += ["", "| other | figure |", "| --- | ---: |",
              f"| npm install, 50 deps, cold cache: Regesta | {i['regesta']['median_seconds']:.2f} s |",
              f"| npm install, 50 deps, cold cache: Verdaccio | "
              f"{i['verdaccio']['median_seconds']:.2f} s |",
              f"| mirror of {result['mirror']['releases']} releases | "
              f"{result['mirror']['seconds']:.1f} s |",
              f"| verify-log over {result['verify_log']['events']} events | "
              f"{result['verify_log']['seconds']:.1f} s "
              f"({result['verify_log']['events_per_second']:.0f} events/s) |"]
    m = result.get("mirror_scale")
    if m:
        cpu = m["user_s"] + m["system_s"]
        lines += [f"| mirror of {m['events']} events / {m['releases']} releases / "
                  f"{m['objects']} objects | {m['seconds']:.1f} s "
                  f"({m['releases_per_second']:.0f} releases/s; client {cpu:.1f} CPU-s, "
                  f"peak RSS {m['peak_rss_mib']:.0f} MiB; server {m['server_cpu_s']:.1f} CPU-s) |",
                  f"| resume of that mirror, nothing new | {m['resume']['seconds']:.2f} s |"]
    sc = result["scale"]
    lines += [f"| scale: {sc['packages']} packages / {sc['events']} events on disk | "
              f"{sc['disk_bytes'] / 2**30:.2f} GiB |",
              f"| scale: generated at | {sc['generate']['events_per_second']:.0f} events/s |",
              f"| scale: first start to ready / log caught up | {sc['first_start_ms']:.0f} ms / "
              f"{sc['log_catch_up_s']:.1f} s |",
              f"| scale: restart to ready | {sc['startup_ms']:.0f} ms |",
              f"| scale: idle / peak RSS | {sc['idle_rss_mib']:.1f} / {sc['peak_rss_mib']:.1f} MiB |"]
    for name, by_conns in sc["reads"].items():
        for c, r in by_conns.items():
            lines.append(f"| scale: random {name}, {c} conns | {r['requests_per_second']:.0f} req/s, "
                         f"p50 {r['p50_ms']:.2f} / p99 {r['p99_ms']:.2f} ms |")
    return "\n".join(lines) + "\n"


COLORS = {"regesta": "#2f6fdf", "nginx": "#7a7a7a", "verdaccio": "#d9822b"}


def svg(result, connections=32):
    """Horizontal bars: req/s per workload at `connections`, one bar per
    server, on a log scale (the workloads span four orders of magnitude)."""
    import math
    t = _index(result)
    rows = [w for w in _workloads(result) if (w, connections, "regesta") in t]
    top = max(r["requests_per_second"] for r in result["http"]) or 1
    label_w, bar_w, bar_h, gap = 190, 520, 9, 8
    group_h = 3 * bar_h + gap
    height = 60 + len(rows) * group_h + 30
    scale = lambda x: bar_w * math.log10(max(x, 1)) / math.log10(max(top, 10))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + 90}" '
           f'height="{height}" font-family="sans-serif" font-size="11">',
           f'<text x="10" y="18" font-size="13" font-weight="bold">requests/s at {connections} '
           f'connections (log scale), {escape(result["date"])}</text>']
    for i, (name, color) in enumerate(COLORS.items()):
        out.append(f'<rect x="{10 + i * 110}" y="30" width="10" height="10" fill="{color}"/>'
                   f'<text x="{24 + i * 110}" y="39">{name}</text>')
    y = 56
    for w in rows:
        out.append(f'<text x="{label_w - 6}" y="{y + 1.5 * bar_h + 4}" text-anchor="end">'
                   f'{escape(w)}</text>')
        for k, target in enumerate(COLORS):
            row = t.get((w, connections, target))
            if row:
                width = scale(row["requests_per_second"])
                yy = y + k * bar_h
                out.append(f'<rect x="{label_w}" y="{yy}" width="{width:.1f}" '
                           f'height="{bar_h - 1}" fill="{COLORS[target]}"/>'
                           f'<text x="{label_w + width + 4:.1f}" y="{yy + bar_h - 1}" '
                           f'font-size="9">{row["requests_per_second"]:.0f}</text>')
        y += group_h
    out.append("</svg>")
    return "\n".join(out) + "\n"
