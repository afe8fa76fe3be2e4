"""The servers scripts/bench measures: a real `regesta serve`, nginx serving
the same bytes as static files, and Verdaccio serving the same npm packages.
Each runs as a child process on a free loopback port and is stopped by the
suite; /proc gives their CPU time and memory.
"""
import json, os, shutil, signal, socket, subprocess, time, urllib.parse, urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, headers=None, timeout=30):
    """(status, headers, body) of one GET, not following redirects."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args):
            return None
    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with opener.open(request, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def wait_until(check, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.01)
    raise RuntimeError(f"{what} not ready after {timeout} s")


def _family(pid):
    """pid and its descendants (nginx workers, npm's node)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except OSError:
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def cpu_seconds(pid):
    """User + system CPU seconds of pid and its descendants."""
    ticks, hz = 0, os.sysconf("SC_CLK_TCK")
    for p in _family(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return ticks / hz


def memory_mib(pid):
    """(current RSS, peak RSS) in MiB, summed over pid and descendants."""
    rss = hwm = 0
    for p in _family(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
                    elif line.startswith("VmHWM:"):
                        hwm += int(line.split()[1])
        except OSError:
            pass
    return rss / 1024, hwm / 1024


class Service:
    def __init__(self, name, argv, base, ready_path, log_path, env=None, cwd=None):
        self.name, self.base, self.log_path = name, base, log_path
        self.log = open(log_path, "ab")
        started = time.monotonic()
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     env={**os.environ, **(env or {})}, cwd=cwd,
                                     start_new_session=True)
        def ready():
            if self.proc.poll() is not None:
                with open(log_path, errors="replace") as f:
                    raise RuntimeError(f"{name} exited: {f.read()[-2000:]}")
            return get(base + ready_path, timeout=2)[0] == 200
        try:
            wait_until(ready, 120, name)
        except BaseException:
            self.stop()
            raise
        self.startup_ms = (time.monotonic() - started) * 1e3

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def regesta(binary, data_dir, log_path, env=None):
    port = free_port()
    return Service("regesta", [binary, "serve", "--dev", "--port", str(port),
                               "--data-dir", str(data_dir)],
                   f"http://127.0.0.1:{port}", "/ready", log_path, env=env)


NGINX_CONF = """
worker_processes auto;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
daemon off;
events {{ worker_connections 1024; }}
http {{
  access_log {work}/nginx-access.log;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  open_file_cache max=1000;
  client_body_temp_path {work}/tmp; proxy_temp_path {work}/tmp;
  fastcgi_temp_path {work}/tmp; uwsgi_temp_path {work}/tmp; scgi_temp_path {work}/tmp;
  server {{
    listen 127.0.0.1:{port};
    root {work}/root;
{locations}
  }}
}}
"""


def nginx(work, files):
    """nginx serving `files` ({name: (content_type, bytes)}) at /w/<name>."""
    root = os.path.join(work, "root", "w")
    os.makedirs(root, exist_ok=True)
    os.makedirs(os.path.join(work, "tmp"), exist_ok=True)
    locations = []
    for name, (content_type, body) in files.items():
        if content_type == "redirect":
            locations.append(f"    location = /w/{name} {{ return 302 \"{body}\"; }}")
            continue
        with open(os.path.join(root, name), "wb") as f:
            f.write(body)
        locations.append(f"    location = /w/{name} {{ default_type \"{content_type}\"; }}")
    with open(os.path.join(root, "ready"), "w") as f:
        f.write("ok")
    port = free_port()
    conf = os.path.join(work, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(work=work, port=port, locations="\n".join(locations)))
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    return Service("nginx", [binary, "-c", conf, "-p", work], f"http://127.0.0.1:{port}",
                   "/w/ready", os.path.join(work, "nginx.out"))


VERDACCIO_CONF = """
storage: {storage}
auth:
  htpasswd:
    file: {work}/htpasswd
    max_users: -1
uplinks: {{}}
packages:
  '@*/*':
    access: $all
    publish: $all
  '**':
    access: $all
    publish: $all
log: {{ type: stdout, format: json, level: warn }}
listen: 127.0.0.1:{port}
"""


def verdaccio_storage(storage, regesta_npm, names):
    """Writes Verdaccio's on-disk storage for `names` (@dev.localhost
    packages): the versions of Regesta's packument and the same tarball
    bytes, so both registries serve the same packages."""
    for name in names:
        status, _, body = get(f"{regesta_npm}/@dev.localhost/{name}")
        assert status == 200, (name, status)
        doc = json.loads(body)
        directory = os.path.join(storage, "@dev.localhost", name)
        os.makedirs(directory, exist_ok=True)
        attachments = {}
        for version, manifest in doc["versions"].items():
            filename = f"{name}-{version}.tgz"
            tarball = manifest["dist"]["tarball"]
            with urllib.request.urlopen(tarball, timeout=30) as r:
                data = r.read()
            with open(os.path.join(directory, filename), "wb") as f:
                f.write(data)
            manifest["dist"]["tarball"] = f"http://localhost/@dev.localhost/{name}/-/{filename}"
            attachments[filename] = {"shasum": manifest["dist"].get("shasum"), "version": version}
        stored = {
            "name": doc["name"], "versions": doc["versions"], "dist-tags": doc["dist-tags"],
            "time": doc.get("time", {}), "users": {}, "_uplinks": {}, "_distfiles": {},
            "_attachments": attachments, "_rev": "1-0000000000000000",
        }
        with open(os.path.join(directory, "package.json"), "w") as f:
            json.dump(stored, f)


def verdaccio(tools, work, storage):
    port = free_port()
    conf = os.path.join(work, "verdaccio.yaml")
    with open(conf, "w") as f:
        f.write(VERDACCIO_CONF.format(storage=storage, work=work, port=port))
    binary = os.path.join(tools, "verdaccio", "node_modules", ".bin", "verdaccio")
    return Service("verdaccio", [binary, "--config", conf], f"http://127.0.0.1:{port}",
                   "/-/ping", os.path.join(work, "verdaccio.out"))
