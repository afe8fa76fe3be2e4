//! Running the real `regesta` binary in tests.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) base: String,
    /// Every stdout line the server wrote but its listening line.
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// The fields of the first line the server logged with `message`.
    pub(crate) fn logged(&self, message: &str) -> Option<serde_json::Value> {
        let lines = self.log.lock().unwrap().clone();
        lines
            .iter()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .find(|value| value["fields"]["message"] == message)
            .map(|value| value["fields"].clone())
    }

    /// The fields of each `regesta.request` line logged so far, in order.
    fn request_fields(&self) -> Vec<serde_json::Value> {
        let lines = self.log.lock().unwrap().clone();
        lines
            .iter()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|value| value["target"] == "regesta.request")
            .map(|mut value| value["fields"].take())
            .collect()
    }

    /// The paths of the requests the server has logged so far, in order.
    pub(crate) fn request_paths(&self) -> Vec<String> {
        self.request_fields()
            .iter()
            .filter_map(|fields| fields["path"].as_str().map(str::to_owned))
            .collect()
    }

    /// The `cache` field of each request the server logged for `path`, in
    /// order (`hit`, `stored` or `passed`).
    pub(crate) fn cache_uses(&self, path: &str) -> Vec<String> {
        self.request_fields()
            .iter()
            .filter(|fields| fields["path"] == path)
            .filter_map(|fields| fields["cache"].as_str().map(str::to_owned))
            .collect()
    }

    /// GETs `path` (which must answer `200`) and returns what the server's
    /// prepared-response cache did for it, by its request log line (written
    /// by a thread of its own, so waited for).
    pub(crate) fn fetch_use(&self, path: &str) -> String {
        // The log names the path without its query.
        let logged = path.split('?').next().unwrap_or(path);
        let before = self.cache_uses(logged).len();
        let (status, body) = get(&format!("{}{path}", self.base));
        assert_eq!(status, 200, "{path}: {body}");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(used) = self.cache_uses(logged).get(before) {
                return used.clone();
            }
            assert!(Instant::now() < deadline, "{path} was never logged");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// GETs `path` twice and checks the second answer came from the
    /// prepared-response cache, so the route's answer is kept instead of
    /// being looked up and rendered for every request.
    pub(crate) fn assert_kept(&self, path: &str) {
        self.fetch_use(path);
        assert_eq!(
            self.fetch_use(path),
            "hit",
            "{path} was not answered from memory"
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How many server log lines a test keeps.
const MAX_KEPT_LINES: usize = 100_000;

/// Starts `regesta serve --dev --port 0` on `data` with extra environment
/// variables and waits for its listening line.
pub(crate) fn start_with(data: &Path, env: &[(&str, &str)]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_regesta"))
        .args(["serve", "--dev", "--port", "0", "--data-dir"])
        .arg(data)
        .env_remove("REGESTA_DEV_BINDINGS")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut early = Vec::new();
    let address = loop {
        assert!(Instant::now() < deadline, "server did not start");
        let line = lines.next().unwrap().unwrap();
        let value: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        if let Some(address) = value["fields"]["address"].as_str() {
            break address.to_owned();
        }
        early.push(line);
    };
    // Keep draining stdout so the server never blocks on a full pipe,
    // and keep the lines for tests that read the log.
    let log = Arc::new(Mutex::new(early));
    let sink = Arc::clone(&log);
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            let mut kept = sink.lock().unwrap();
            // Bounded: soak tests log far more than any test reads.
            if kept.len() < MAX_KEPT_LINES {
                kept.push(line);
            }
        }
    });
    Server {
        child,
        base: format!("http://{address}"),
        log,
    }
}

/// Where `scripts/install-test-clients` puts the package-manager clients:
/// `REGESTA_TOOLS_DIR`, else the user's cache.
pub(crate) fn tools_dir() -> std::path::PathBuf {
    use std::path::PathBuf;
    #[expect(
        clippy::disallowed_methods,
        reason = "test-only location of installed clients, not configuration"
    )]
    let configured = std::env::var_os("REGESTA_TOOLS_DIR").map(PathBuf::from);
    configured.unwrap_or_else(|| {
        #[expect(
            clippy::disallowed_methods,
            reason = "test-only default cache location"
        )]
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap();
        home.join(".cache/regesta/tools")
    })
}

/// Runs the `regesta` binary with `args` (never picking up a registry from
/// the caller's environment).
pub(crate) fn regesta(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_regesta"))
        .args(args)
        .env_remove("REGESTA_REGISTRY")
        .output()
        .unwrap_or_else(|e| panic!("cannot run regesta: {e}"))
}

/// A blocking GET: the status and the body as text.
pub(crate) fn get(url: &str) -> (u16, String) {
    let url = url.to_owned();
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(async move {
            let reply = reqwest::get(&url).await.unwrap();
            (reply.status().as_u16(), reply.text().await.unwrap())
        })
}

/// The stdout of a command that must have succeeded (its output otherwise).
pub(crate) fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Starts `regesta witness` for the log key `log_key`, keeping its key and
/// state in `dir`; returns it and its verifier key.
pub(crate) fn start_witness(dir: &Path, name: &str, log_key: &str) -> (Server, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_regesta"))
        .args([
            "witness",
            "--listen",
            "127.0.0.1:0",
            "--name",
            name,
            "--key-file",
        ])
        .arg(dir.join("witness.key"))
        .args(["--log", log_key])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let deadline = Instant::now() + Duration::from_secs(30);
    let (address, key) = loop {
        assert!(Instant::now() < deadline, "witness did not start");
        let line = lines.next().unwrap().unwrap();
        let value: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        if let Some(address) = value["fields"]["address"].as_str() {
            let key = value["fields"]["verifier_key"].as_str().unwrap().to_owned();
            break (address.to_owned(), key);
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let server = Server {
        child,
        base: format!("http://{address}"),
        log: Arc::default(),
    };
    (server, key)
}
