#!/usr/bin/env python3
"""scripts/bench: Regesta side by side with nginx (the same bytes as static
files) and Verdaccio (the same npm packages), on this machine, in one run.
Writes bench-results/<date>.json, .svg and .md. Run by scripts/bench/run;
see docs/performance.md.
"""
import argparse, datetime, json, os, platform, shutil, subprocess, sys, tempfile, time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare, report, services, workloads  # noqa: E402


def versions(args):
    def out(argv):
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
            return (r.stdout + r.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "not found"
    verdaccio = os.path.join(args.tools, "verdaccio", "node_modules", ".bin", "verdaccio")
    return {
        "regesta": out([args.regesta, "--version"]),
        "regesta_commit": out(["git", "-C", args.repo, "rev-parse", "--short", "HEAD"]),
        "nginx": out([shutil.which("nginx") or "/usr/sbin/nginx", "-v"]),
        "wrk": out(["wrk", "-v"]),
        "verdaccio": out([verdaccio, "--version"]),
        "node": out(["node", "--version"]),
        "npm": out(["npm", "--version"]),
    }


def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    return {"cpu": model, "cores": os.cpu_count(), "memory_gib": round(mem_kib / 2**20, 1),
            "kernel": platform.release()}


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--regesta", required=True)
    p.add_argument("--bench", required=True)
    p.add_argument("--tools", required=True)
    p.add_argument("--repo", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--data-cache", required=True)
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--fresh-data", action="store_true")
    p.add_argument("--mirror-dir", help="where the 100,000-event mirror is written (default: "
                   "the work dir); a fresh file system gives figures that do not depend on "
                   "what earlier runs deleted")
    p.add_argument("--compare", action="store_true",
                   help="only the HTTP read cells against nginx (see compare.py)")
    p.add_argument("--duration", type=int, default=10, help="seconds per cell (wrk: whole)")
    p.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per cell, 0 for none")
    args = p.parse_args()
    args.connections = [2, 32]
    if args.smoke:
        sizes = {"big": 300, "scale": (200, 2000), "log": (100, 1000), "installs": 1,
                 "publish_seconds": 1.0}
        args.duration, args.warmup, args.connections = 1, 0, [32]
    else:
        sizes = {"big": 10000, "scale": (100_000, 1_000_000), "log": (10_000, 100_000),
                 "installs": 3, "publish_seconds": 10.0}
    work = tempfile.mkdtemp(prefix="regesta-bench-")
    os.chmod(work, 0o755)  # nginx workers run as an unprivileged user
    result = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "smoke": args.smoke, "machine": machine(), "versions": versions(args),
        "settings": {"duration_s": args.duration, "warmup_s": args.warmup,
                     "connections": args.connections, "wrk_threads": 2, **{k: v for k, v in sizes.items()}},
    }
    running = []
    if args.compare:
        try:
            compare.run(args, work, result, running)
        finally:
            for s in running:
                s.stop()
            shutil.rmtree(work, ignore_errors=True)
        write(args, "compare-", result, compare.markdown(result))
        return
    try:
        fixtures = os.path.join(work, "fixtures")
        result["generate_fixtures"] = workloads.generate(
            args, fixtures, ["--fixtures", "--big-versions", str(sizes["big"])])
        rg = services.regesta(args.regesta, fixtures, os.path.join(work, "regesta.log"))
        running.append(rg)
        time.sleep(1)
        result["services"] = {"regesta": workloads.service_figures(rg)}
        names = ["v1", "v200", f"v{sizes['big']}"]
        loads = workloads.reads(rg.base, sizes["big"])
        ng = services.nginx(os.path.join(work, "nginx"), workloads.static_files(rg.base, loads))
        running.append(ng)
        result["services"]["nginx"] = workloads.service_figures(ng)
        storage = os.path.join(work, "verdaccio-storage")
        services.verdaccio_storage(storage, rg.base + "/npm",
                                   names + [f"dep-{i}" for i in range(50)])
        vd = services.verdaccio(args.tools, work, storage)
        running.append(vd)
        time.sleep(1)
        result["services"]["verdaccio"] = workloads.service_figures(vd)
        result["http"] = workloads.run_http(args, loads, {"regesta": rg, "nginx": ng,
                                                          "verdaccio": vd})
        for s in (rg, ng, vd):
            result["services"][s.name]["peak_rss_mib"] = services.memory_mib(s.pid)[1]
        result["npm_install"] = workloads.npm_install(work, {"regesta": rg.base + "/npm/",
                                                             "verdaccio": vd.base + "/"},
                                                      sizes["installs"])
        vd.stop()
        ng.stop()
        mirror = os.path.join(work, "mirror")
        result["mirror"] = workloads.timed([args.regesta, "mirror", mirror,
                                            "--registry", rg.base, "-q"])
        with open(os.path.join(mirror, "inventory.json")) as f:
            result["mirror"]["releases"] = len(json.load(f)["releases"])
        result["publish"] = workloads.publish(args, rg, sizes["publish_seconds"])
        rg.stop()
        result["verify_log"], result["mirror_scale"] = workloads.over_the_log(
            args, work, *sizes["log"])
        result["scale"] = workloads.scale(args, work, *sizes["scale"])
    finally:
        for s in running:
            s.stop()
        shutil.rmtree(work, ignore_errors=True)
    write(args, "smoke-" if args.smoke else "", result, report.markdown(result))


def write(args, prefix, result, table):
    """bench-results/<prefix><date>.{json,svg,md}."""
    os.makedirs(args.out, exist_ok=True)
    stem = os.path.join(args.out, prefix + datetime.date.today().isoformat())
    with open(stem + ".json", "w") as f:
        json.dump(result, f, indent=1)
    with open(stem + ".svg", "w") as f:
        f.write(report.svg(result))
    with open(stem + ".md", "w") as f:
        f.write(table)
    print(table)
    print(f"wrote {stem}.json, .svg, .md")


if __name__ == "__main__":
    main()
