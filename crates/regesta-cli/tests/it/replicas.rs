//! Two `regesta serve` replicas, each with its own data dir, on one
//! PostgreSQL database and one S3 bucket (s3s-fs): a write on either is
//! read on the other at once, including
//! through the npm projection's cached documents; racing publishes of one
//! version across replicas give one success; both serve the same log.

use std::time::Duration;

use crate::npm_clients::{Registry, package};
use crate::support::{get, regesta, start_with};

/// The PostgreSQL server `scripts/test` starts, with a new database.
fn database() -> String {
    let url = regesta_testkit::test_database_url();
    let name = format!("regesta_replicas_{}", std::process::id());
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let admin = sqlx::PgPool::connect(&url).await.unwrap();
        let create = format!("CREATE DATABASE {name}");
        sqlx::query(sqlx::AssertSqlSafe(create))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
    });
    let (base, _) = url.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

/// Publishes `lib` through every base at once; returns how many succeeded.
fn race(lib: &std::path::Path, key: &std::path::Path, bases: &[String]) -> usize {
    let racers: Vec<_> = bases
        .iter()
        .map(|base| {
            let (lib, key, base) = (lib.to_owned(), key.to_owned(), base.clone());
            std::thread::spawn(move || {
                regesta(&[
                    "publish",
                    lib.to_str().unwrap(),
                    "--registry",
                    &base,
                    "--auth-key",
                    key.to_str().unwrap(),
                    "-q",
                ])
            })
        })
        .collect();
    racers
        .into_iter()
        .map(|t| t.join().unwrap().status.success())
        .filter(|ok| *ok)
        .count()
}

/// Waits until `base` serves a checkpoint of `size`; returns it.
fn checkpoint_of_size(base: &str, size: u64) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let (_, note) = get(&format!("{base}/log/checkpoint"));
        if note.lines().nth(1) == Some(size.to_string().as_str()) {
            return note;
        }
        assert!(std::time::Instant::now() < deadline, "{note}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn versions(base: &str, name: &str) -> Vec<String> {
    let (status, body) = get(&format!("{base}/npm/{name}"));
    assert_eq!(status, 200, "{body}");
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    doc["versions"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

#[test]
#[ignore = "needs PostgreSQL and S3 (s3s-fs): run scripts/test"]
fn replicas_on_one_database_agree_within_the_cache_refresh() {
    let url = database();
    let [endpoint, key_id, secret, bucket] = regesta_testkit::test_s3();
    let tmp = tempfile::tempdir().unwrap();
    let objects = format!("s3://{bucket}/replicas-{}", std::process::id());
    let log_key = tmp.path().join("log-key");
    let mut registry = Registry::start_with(
        tmp.path(),
        &[
            ("REGESTA_DATABASE_URL", url.as_str()),
            ("REGESTA_OBJECT_STORE_URL", objects.as_str()),
            ("AWS_ENDPOINT_URL", endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", key_id.as_str()),
            ("AWS_SECRET_ACCESS_KEY", secret.as_str()),
            ("REGESTA_LOG_ORIGIN", "replicas.test/log/v1"),
            ("REGESTA_LOG_KEY_FILE", log_key.to_str().unwrap()),
        ],
    );
    let owned = registry.env.clone();
    let env: Vec<(&str, &str)> = owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let b = start_with(&tmp.path().join("replica-b"), &env);
    let a = registry.base.clone();

    registry.publish_fixtures();
    assert_eq!(
        versions(&b.base, "@a.localhost/app"),
        ["1.0.0", "2.0.0-rc.1"],
        "B reads A's writes at once"
    );
    // A caches lib's documents; a publish through B must show on A.
    assert_eq!(versions(&a, "@b.localhost/lib"), ["1.0.0", "1.1.0"]);
    let lib = registry.root.join("lib");
    package(&lib, "@b.localhost/lib", "1.2.0", "");
    registry.base = b.base.clone();
    registry.publish(&lib, "b.localhost");
    // A caches lib's head in memory: it serves B's write once its cache
    // refresh (REGESTA_CACHE_REFRESH_MS, 100 ms) read the new event.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut seen = versions(&a, "@b.localhost/lib");
    while seen.len() < 3 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
        seen = versions(&a, "@b.localhost/lib");
    }
    assert_eq!(
        seen,
        ["1.0.0", "1.1.0", "1.2.0"],
        "a replica serves another replica's write within its cache refresh"
    );

    // The same new version through both replicas at once: one wins.
    package(&lib, "@b.localhost/lib", "1.3.0", "");
    let key = registry.root.join("keys-b.localhost/private-key.json");
    assert_eq!(
        race(&lib, &key, &[a.clone(), b.base.clone()]),
        1,
        "exactly one racing publish succeeds"
    );

    // One log: both replicas serve the same checkpoint once it caught up
    // with the 8 events.
    let from_a = checkpoint_of_size(&a, 8);
    assert_eq!(checkpoint_of_size(&b.base, 8), from_a);
    let state = tmp.path().join("log-state");
    let state = state.to_str().unwrap();
    let seen = regesta(&["log", "verify", "--registry", &a, "--state-dir", state]);
    assert!(
        seen.status.success(),
        "{}",
        String::from_utf8_lossy(&seen.stderr)
    );
    // Kill A (it may hold the sequencer lease): B takes over within the
    // lease and the log goes on without forking.
    registry.kill();
    package(&lib, "@b.localhost/lib", "1.4.0", "");
    registry.base = b.base.clone();
    registry.publish(&lib, "b.localhost");
    checkpoint_of_size(&b.base, 9);
    let extended = regesta(&["log", "verify", "--registry", &b.base, "--state-dir", state]);
    assert!(
        String::from_utf8_lossy(&extended.stdout).contains("size 9"),
        "the log after the takeover extends the one seen before: {}",
        String::from_utf8_lossy(&extended.stderr)
    );
    let log = regesta(&["verify-log", "--registry", &b.base]);
    assert!(
        log.status.success(),
        "{}",
        String::from_utf8_lossy(&log.stdout)
    );
    // Objects are in the bucket, not in either replica's data dir.
    let release = "npm:b.localhost/lib@1.2.0";
    let verified = regesta(&["verify", release, "--registry", &b.base]);
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stdout)
    );
    assert!(!registry.data.join("objects/sha256").exists());
    assert!(!tmp.path().join("replica-b/objects/sha256").exists());

    // A replica with REGESTA_OBJECT_REDIRECT sends object GETs to the
    // bucket through presigned URLs.
    let mut redirecting = env.clone();
    redirecting.push(("REGESTA_OBJECT_REDIRECT", "true"));
    let c = start_with(&tmp.path().join("replica-c"), &redirecting);
    presigned_objects(&c.base, &endpoint);
    ranged_object(&b.base);
    replicas_of_another_log_refuse_to_start(tmp.path(), &env);
}

/// A replica with another log key, or another origin, must not sign as
/// this log: it refuses to start and names the log on record.
fn replicas_of_another_log_refuse_to_start(tmp: &std::path::Path, env: &[(&str, &str)]) {
    for (name, value) in [
        ("REGESTA_LOG_KEY_FILE", tmp.join("other-key")),
        ("REGESTA_LOG_ORIGIN", "elsewhere.test/log".into()),
    ] {
        let mut other = env.to_vec();
        let value = value.to_string_lossy().into_owned();
        other.retain(|(k, _)| *k != name && *k != "REGESTA_LOG_ORIGIN");
        other.push((name, value.as_str()));
        let data = tmp.join(format!("replica-{name}"));
        let stderr = refuses_to_start(&data, &other);
        assert!(stderr.contains("replicas.test/log/v1"), "{name}: {stderr}");
    }
}

/// Runs `regesta serve` that must exit with an error within 30 s, and
/// returns what it wrote to stderr.
fn refuses_to_start(data: &std::path::Path, env: &[(&str, &str)]) -> String {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_regesta"))
        .args(["serve", "--dev", "--port", "0", "--data-dir"])
        .arg(data)
        .env_remove("REGESTA_DEV_BINDINGS")
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("a replica with another log started");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(!status.success());
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    stderr
}

/// A range of an object in S3 is read as a range: 206 with exactly those
/// bytes.
fn ranged_object(base: &str) {
    let (_, envelope) = get(&format!(
        "{base}/packages/npm%3Ab.localhost%2Flib/releases/1.2.0"
    ));
    let envelope: serde_json::Value = serde_json::from_str(&envelope).unwrap();
    let digest = envelope["manifest"]["artifacts"][0]["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    let base = base.to_owned();
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(async move {
            let client = reqwest::Client::new();
            let url = format!("{base}/objects/{digest}");
            let whole = client
                .get(&url)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            let part = client
                .get(&url)
                .header("range", "bytes=10-19")
                .send()
                .await
                .unwrap();
            assert_eq!(part.status().as_u16(), 206);
            let range = part.headers()["content-range"].to_str().unwrap().to_owned();
            assert_eq!(range, format!("bytes 10-19/{}", whole.len()));
            assert_eq!(part.bytes().await.unwrap(), whole.slice(10..20));
        });
}

/// Object GETs redirect to the bucket; unknown digests stay 404s.
fn presigned_objects(base: &str, endpoint: &str) {
    let (_, envelope) = get(&format!(
        "{base}/packages/npm%3Ab.localhost%2Flib/releases/1.2.0"
    ));
    let envelope: serde_json::Value = serde_json::from_str(&envelope).unwrap();
    let digest = envelope["manifest"]["artifacts"][0]["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    let (base, endpoint) = (base.to_owned(), endpoint.to_owned());
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(async move {
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            let reply = client
                .get(format!("{base}/objects/{digest}"))
                .send()
                .await
                .unwrap();
            assert_eq!(reply.status().as_u16(), 302);
            let location = reply.headers()["location"].to_str().unwrap().to_owned();
            assert!(location.starts_with(&endpoint), "{location}");
            let bytes = client
                .get(&location)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            assert_eq!(regesta_protocol::Digest::of(&bytes).to_string(), digest);
            let unknown = format!("{base}/objects/sha256:{}", "0".repeat(64));
            assert_eq!(
                client.get(unknown).send().await.unwrap().status().as_u16(),
                404
            );
        });
}
