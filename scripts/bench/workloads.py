"""What scripts/bench measures: HTTP reads under wrk, publishes, npm
install, mirror, verify-log and the scale run. Every function returns plain
figures for the result JSON.
"""
import json, os, re, shutil, statistics, subprocess, tempfile, time, urllib.parse

import services

ABBREVIATED = {"Accept": "application/vnd.npm.install-v1+json"}
HERE = os.path.dirname(os.path.abspath(__file__))


def pkg(name):
    return urllib.parse.quote(f"npm:dev.localhost/{name}", safe="")


def reads(base, big):
    """The read workloads: name, Regesta path, headers, Verdaccio path."""
    def source_digest(name):
        status, _, body = services.get(f"{base}/packages/{pkg(name)}/releases/1.0.0")
        assert status == 200, (name, status)
        return json.loads(body)["manifest"]["source"]["digest"].replace(":", "/")
    loads = [
        {"name": "ready", "path": "/ready"},
        {"name": "package-state", "path": f"/packages/{pkg('v200')}"},
        {"name": "release-envelope", "path": f"/packages/{pkg('v200')}/releases/1.0.7"},
        {"name": "object-1KiB", "path": f"/objects/{source_digest('blob-1k')}"},
        {"name": "object-1MiB", "path": f"/objects/{source_digest('blob-1m')}"},
        {"name": "events-page-999", "path": "/events?limit=999"},
    ]
    for versions in (1, 200, big):
        for abbreviated in (False, True):
            loads.append({
                "name": f"packument-{versions}" + ("-abbreviated" if abbreviated else ""),
                "path": f"/npm/@dev.localhost/v{versions}",
                "headers": ABBREVIATED if abbreviated else {},
                "verdaccio": f"/@dev.localhost%2fv{versions}",
            })
    loads.append({"name": "npm-tarball", "path": "/npm/@dev.localhost/v1/-/v1-1.0.0.tgz",
                  "verdaccio": "/@dev.localhost/v1/-/v1-1.0.0.tgz"})
    return loads


def static_files(base, loads):
    """Regesta's exact response to each workload, for nginx to serve."""
    files = {}
    for load in loads:
        status, headers, body = services.get(base + load["path"], load.get("headers"))
        assert status in (200, 302), (load["name"], status)
        headers = {k.lower(): v for k, v in headers.items()}
        if status == 302:
            files[load["name"]] = ("redirect", headers["location"])
        else:
            files[load["name"]] = (headers.get("content-type", "application/octet-stream"), body)
        load["bytes"] = len(body)
    return files


def service_figures(service):
    rss, _ = services.memory_mib(service.pid)
    return {"startup_ms": service.startup_ms, "idle_rss_mib": rss}


def wrk(url, connections, seconds, headers=None, env=None):
    argv = ["wrk", "-t", str(min(2, connections)), "-c", str(connections), "-d", f"{seconds}s",
            "--latency", "-s", os.path.join(HERE, "wrk_report.lua")]
    for k, v in (headers or {}).items():
        argv += ["-H", f"{k}: {v}"]
    out = subprocess.run(argv + [url], check=True, capture_output=True, text=True,
                         env={**os.environ, **(env or {})}).stdout
    line = next(l for l in out.splitlines() if l.startswith("WRK_JSON "))
    figures = json.loads(line[len("WRK_JSON "):])
    seconds = figures["duration_us"] / 1e6
    return {
        "requests": figures["requests"],
        "requests_per_second": figures["requests"] / seconds,
        "p50_ms": figures["p50_us"] / 1e3, "p99_ms": figures["p99_us"] / 1e3,
        "errors": figures["socket_errors"] + figures["status_errors"],
    }


LOG_SETTLE_S = 0.2  # the server writes its request log in batches of at most 50 ms


def log_offset(service):
    """Where the service's log ends once the lines of requests already
    answered are written."""
    time.sleep(LOG_SETTLE_S)
    return os.path.getsize(service.log_path)


def cache_uses(service, since):
    """How many request lines Regesta logged after byte `since` with each
    `cache` value: `hit` (answered from prepared bytes), `stored` (rendered
    and kept) and `passed` (rendered, not kept)."""
    time.sleep(LOG_SETTLE_S)
    with open(service.log_path, "rb") as f:
        f.seek(since)
        text = f.read()
    return {use: text.count(b'"cache":"' + use.encode() + b'"') for use in ("hit", "stored", "passed")}


def measure(service, url, connections, args, headers=None, env=None):
    if args.warmup:
        wrk(url, connections, args.warmup, headers, env)
    since = log_offset(service) if service.name == "regesta" else None
    cpu = services.cpu_seconds(service.pid)
    figures = wrk(url, connections, args.duration, headers, env)
    spent = services.cpu_seconds(service.pid) - cpu
    figures["cpu_s_per_1000"] = spent / max(figures["requests"], 1) * 1000
    if since is not None:
        figures["cache"] = cache_uses(service, since)
    return figures


def check_prepared(load, connections, figures):
    """A read whose answer did not change is served from prepared bytes:
    once a cell's first answer is kept, only requests already in flight
    can miss, so at most one miss per connection. `/ready` answers from
    its background probe and is not counted."""
    uses = figures.get("cache")
    if load["name"] == "ready" or uses is None:
        return
    misses = uses["stored"] + uses["passed"]
    if misses > connections or uses["hit"] == 0:
        raise RuntimeError(f"regesta {load['name']} c={connections}: not served from prepared "
                           f"bytes: {uses}")


def run_http(args, loads, targets, nginx_names=None):
    rows = []
    for load in loads:
        for connections in args.connections:
            static = (nginx_names or {}).get(load["name"], load["name"])
            urls = {"regesta": targets["regesta"].base + load["path"],
                    "nginx": targets["nginx"].base + "/w/" + static}
            if "verdaccio" in load and "verdaccio" in targets:
                urls["verdaccio"] = targets["verdaccio"].base + load["verdaccio"]
            for target, url in urls.items():
                headers = load.get("headers") if target != "nginx" else None
                figures = measure(targets[target], url, connections, args, headers)
                # A baseline that times out is a result; Regesta or nginx
                # failing a request is a broken run.
                if figures["errors"] and target != "verdaccio":
                    raise RuntimeError(f"{target} {load['name']}: {figures['errors']} errors")
                if target == "regesta":
                    check_prepared(load, connections, figures)
                rows.append({"workload": load["name"], "target": target,
                             "connections": connections, "response_bytes": load["bytes"],
                             **figures})
                print(f"  {load['name']:<28} {target:<9} c={connections:<2} "
                      f"{figures['requests_per_second']:>9.0f} req/s", flush=True)
    return rows


def timed(argv, env=None, cwd=None):
    started = time.monotonic()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env={**os.environ, **(env or {})},
                   cwd=cwd)
    return {"seconds": time.monotonic() - started}


def npm_install(work, registries, repetitions):
    """`npm install` of a project with 50 dependencies, cold cache, no lock."""
    out = {}
    deps = {f"@dev.localhost/dep-{i}": "^1.0.0" for i in range(50)}
    for name, url in registries.items():
        runs = []
        for n in range(repetitions):
            project = os.path.join(work, f"install-{name}-{n}")
            os.makedirs(project)
            with open(os.path.join(project, "package.json"), "w") as f:
                json.dump({"name": "bench-app", "version": "1.0.0", "private": True,
                           "dependencies": deps}, f)
            with open(os.path.join(project, ".npmrc"), "w") as f:
                f.write(f"@dev.localhost:registry={url}\n")
            runs.append(timed(["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts",
                               "--cache", os.path.join(project, ".cache"), "--loglevel=error"],
                              cwd=project)["seconds"])
            installed = os.listdir(os.path.join(project, "node_modules", "@dev.localhost"))
            assert len(installed) == 50, (name, len(installed))
        out[name] = {"median_seconds": statistics.median(runs), "runs": runs}
    return out


def server_latencies(log_path, method, path):
    values = []
    with open(log_path, errors="replace") as f:
        for line in f:
            if '"regesta.request"' not in line:
                continue
            fields = json.loads(line).get("fields", {})
            if fields.get("method") == method and fields.get("path") == path:
                values.append(float(fields["duration_ms"]))
    values.sort()
    pick = lambda q: values[int((len(values) - 1) * q)] if values else None
    return {"server_p50_ms": pick(0.5), "server_p99_ms": pick(0.99), "count": len(values)}


def publish(args, service, seconds):
    rows = []
    for concurrency in (1, 8):
        before = os.path.getsize(service.log_path)
        out = subprocess.run([args.bench, "publish", "--registry", service.base, "--concurrency",
                              str(concurrency), "--seconds", str(seconds), "--prefix",
                              f"pub{concurrency}"], check=True, capture_output=True,
                             text=True).stdout
        figures = json.loads(out)
        service.log.flush()
        with open(service.log_path, errors="replace") as f:
            f.seek(before)
            tail = os.path.join(os.path.dirname(service.log_path), "publish.log")
            with open(tail, "w") as t:
                t.write(f.read())
        figures.update(server_latencies(tail, "POST", "/releases"))
        rows.append(figures)
    return rows


def generate(args, data_dir, extra):
    started = time.monotonic()
    out = subprocess.run([args.bench, "generate", "--data-dir", data_dir, *extra],
                         check=True, capture_output=True, text=True).stdout
    result = json.loads(out)
    result["wall_seconds"] = time.monotonic() - started
    return result


def cached_dataset(args, packages, events):
    """A generated data dir reused across runs (generation is the slow part
    at scale); `--fresh-data` regenerates."""
    path = os.path.join(args.data_cache, f"scale-{packages}-{events}")
    marker = os.path.join(path, "generated.json")
    if args.fresh_data and os.path.exists(path):
        shutil.rmtree(path)
    if not os.path.exists(marker):
        if os.path.exists(path):
            shutil.rmtree(path)
        result = generate(args, path, ["--packages", str(packages), "--events", str(events)])
        with open(marker, "w") as f:
            json.dump(result, f)
    with open(marker) as f:
        return path, json.load(f)


def checkpoint_size(base):
    status, _, body = services.get(base + "/log/checkpoint")
    return int(body.decode().splitlines()[1]) if status == 200 else 0


def wait_sequenced(service, events):
    started = time.monotonic()
    services.wait_until(lambda: checkpoint_size(service.base) >= events, 3600, "log")
    return time.monotonic() - started


def measured(argv, server):
    """Runs argv to completion: its wall seconds, CPU and peak RSS (from the
    kernel's accounting of the finished child), and the CPU `server` spent
    meanwhile: a mirror's client and server share the machine's cores."""
    server_before = services.cpu_seconds(server.pid)
    started = time.monotonic()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - started
    if child.returncode != 0:
        raise subprocess.CalledProcessError(child.returncode, argv)
    return {"seconds": seconds, "user_s": usage.ru_utime, "system_s": usage.ru_stime,
            "peak_rss_mib": usage.ru_maxrss / 1024,
            "server_cpu_s": services.cpu_seconds(server.pid) - server_before}


def over_the_log(args, work, packages, events):
    """verify-log, then a mirror and a resume of it with nothing new, on the
    generated dataset (the goals' 100,000 events): one server, its log
    sequenced first."""
    data, generated = cached_dataset(args, packages, events)
    service = services.regesta(args.regesta, data, os.path.join(work, "verify-log.log"))
    mirror = tempfile.mkdtemp(prefix="mirror-scale-", dir=args.mirror_dir or work)
    try:
        wait_sequenced(service, generated["events"])
        verify = measured([args.regesta, "verify-log", "--registry", service.base, "-q"],
                          service)
        command = [args.regesta, "mirror", mirror, "--registry", service.base, "-q"]
        fresh = measured(command, service)
        resume = measured(command, service)
        with open(os.path.join(mirror, "inventory.json")) as f:
            inventory = json.load(f)
    finally:
        service.stop()
        shutil.rmtree(mirror, ignore_errors=True)
    verify["events"] = generated["events"]
    verify["events_per_second"] = generated["events"] / verify["seconds"]
    fresh.update(events=len(inventory["events"]), releases=len(inventory["releases"]),
                 objects=len(inventory["objects"]),
                 releases_per_second=len(inventory["releases"]) / fresh["seconds"],
                 resume=resume)
    return verify, fresh


def disk_bytes(path):
    out = subprocess.run(["du", "-sb", path], check=True, capture_output=True, text=True).stdout
    return int(out.split()[0])


def scale(args, work, packages, events):
    data, generated = cached_dataset(args, packages, events)
    log = os.path.join(work, "scale.log")
    first = services.regesta(args.regesta, data, log)
    try:
        out = {"packages": packages, "events": generated["events"], "generate": generated,
               "first_start_ms": first.startup_ms,
               "log_catch_up_s": wait_sequenced(first, generated["events"])}
    finally:
        first.stop()
    service = services.regesta(args.regesta, data, log)
    try:
        time.sleep(1)
        out["startup_ms"] = service.startup_ms
        out["idle_rss_mib"] = services.memory_mib(service.pid)[0]
        out["disk_bytes"] = disk_bytes(data)
        out["reads"] = {}
        for name, path in (("package-state", "/packages/" + pkg("s-").replace("%", "%%") + "%d"),
                           ("packument", "/npm/@dev.localhost/s-%d")):
            env = {"BENCH_PATH": path, "BENCH_COUNT": str(packages)}
            out["reads"][name] = {c: measure(service, service.base + "/ready", c, args, env=env)
                                  for c in args.connections}
        out["peak_rss_mib"] = services.memory_mib(service.pid)[1]
    finally:
        service.stop()
    return out
