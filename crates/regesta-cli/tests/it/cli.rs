//! The real `regesta` binary end to end against a spawned `regesta serve`:
//! keygen → publish an npm package → channel moves → verify, verify-package,
//! verify-log → tampering detected; plus the reference's captured publish.

use std::path::Path;
use std::process::Output;

use crate::support::{regesta, start_with};

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}{}", stdout(output), stderr(output)))
}

fn write_project(dir: &Path, version: &str) {
    std::fs::create_dir_all(dir.join("lib")).unwrap();
    std::fs::write(
        dir.join("package.json"),
        format!(r#"{{"name":"@pkg.localhost/hello","version":"{version}","description":"A test package","main":"lib/index.js"}}"#),
    )
    .unwrap();
    std::fs::write(dir.join("lib/index.js"), "module.exports = 42;\n").unwrap();
    std::fs::write(dir.join("notes.txt"), "not published\n").unwrap();
    std::fs::write(
        dir.join("regesta.json"),
        "// JSON5: comments and trailing commas are fine\n{\n  source: { include: ['package.json', 'lib'], },\n}\n",
    )
    .unwrap();
}

/// `regesta keygen` writes a 0600 private key and refuses to overwrite it.
pub(crate) fn make_keys(tmp: &Path) -> std::path::PathBuf {
    let keys = tmp.join("keys");
    let keys_str = keys.to_str().unwrap();
    let created = regesta(&[
        "keygen",
        keys_str,
        "--domain",
        "pkg.localhost",
        "--kid",
        "ed25519:test",
        "--json",
    ]);
    assert!(created.status.success(), "{}", stderr(&created));
    assert_eq!(json(&created)["kid"], "ed25519:test");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(keys.join("private-key.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = regesta(&["keygen", keys_str, "--domain", "pkg.localhost"]);
    assert_eq!(
        again.status.code(),
        Some(2),
        "keygen must not overwrite keys"
    );

    keys
}

#[test]
fn keygen_publish_channels_verify_and_tamper_detection() {
    let tmp = tempfile::tempdir().unwrap();
    let keys = make_keys(tmp.path());
    let binding = keys.join("domain-binding.json");
    let data = tmp.path().join("data");
    // Caches off: the tampering check needs a registry that serves what
    // is on disk now; a caching one keeps serving its checked copy (see
    // regesta-store's `cached_objects_are_checked_and_outlive_tampering`).
    let server = start_with(
        &data,
        &[
            ("REGESTA_DEV_BINDINGS", binding.to_str().unwrap()),
            ("REGESTA_CACHE_BYTES", "0"),
        ],
    );
    let base = server.base.clone();
    let key = keys.join("private-key.json");
    let signing_key = key.to_str().unwrap();

    let project = tmp.path().join("project");
    write_project(&project, "1.0.0");
    let project_str = project.to_str().unwrap();
    let dry1 = regesta(&["publish", project_str, "--dry-run", "--json"]);
    let dry2 = regesta(&["publish", project_str, "--dry-run", "--json"]);
    assert!(dry1.status.success(), "{}", stderr(&dry1));
    let source = |o: &Output| json(o)["release"]["source"]["digest"].clone();
    assert_eq!(
        source(&dry1),
        source(&dry2),
        "the same tree gives the same source digest"
    );
    assert_eq!(json(&dry1)["release"]["id"], "npm:pkg.localhost/hello");
    let entries = json(&dry1)["release"]["source"]["entries"].clone();
    assert_eq!(
        entries,
        serde_json::json!(["lib", "lib/index.js", "package.json", "regesta.json"])
    );

    let published = regesta(&[
        "publish",
        project_str,
        "--registry",
        &base,
        "--auth-key",
        signing_key,
        "--json",
    ]);
    assert!(
        published.status.success(),
        "{}{}",
        stdout(&published),
        stderr(&published)
    );
    assert_eq!(
        json(&published)["published"]["source"]["digest"],
        source(&dry1)
    );
    let replay = regesta(&[
        "publish",
        project_str,
        "--registry",
        &base,
        "--auth-key",
        signing_key,
    ]);
    assert_eq!(replay.status.code(), Some(2));
    assert!(
        stderr(&replay).contains("release_already_exists"),
        "{}",
        stderr(&replay)
    );

    write_project(&project, "1.1.0");
    let second = regesta(&[
        "publish",
        project_str,
        "--registry",
        &base,
        "--auth-key",
        signing_key,
        "-q",
    ]);
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(
        stdout(&second).is_empty(),
        "--quiet prints nothing on success"
    );

    channel_moves_and_verification(&base, signing_key);
    wrong_key_gets_a_hint(tmp.path(), &project, &base);
    tampering_is_detected(&data, &json(&published), &base);
    mirrors_are_incremental_and_tampering_is_classified(tmp.path(), &base);
    drop(server);
}

fn mirrors_are_incremental_and_tampering_is_classified(tmp: &Path, base: &str) {
    let a = tmp.join("mirror-a");
    let a_str = a.to_str().unwrap();
    let first = regesta(&["mirror", a_str, "--registry", base, "--json"]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(json(&first)["newEvents"].as_u64().unwrap() >= 5);
    // Once the log has sequenced everything, a mirror keeps it too.
    let state = tmp.join("log-state");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let seen = regesta(&[
            "log",
            "verify",
            "--registry",
            base,
            "--state-dir",
            state.to_str().unwrap(),
            "--json",
        ]);
        let events = json(&first)["events"].as_u64().unwrap();
        if seen.status.success() && json(&seen)["size"].as_u64() == Some(events) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the log did not catch up"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let second = regesta(&["mirror", a_str, "--registry", base, "--json"]);
    assert_eq!(
        json(&second)["newEvents"],
        0,
        "a second run fetches nothing new"
    );
    assert_eq!(json(&second)["newObjects"], 0);
    let checkpoint = std::fs::read_to_string(a.join("log/checkpoint")).unwrap();
    let size: u64 = checkpoint.lines().nth(1).unwrap().parse().unwrap();
    assert_eq!(size, json(&second)["events"].as_u64().unwrap());
    assert!(a.join("log/key").exists());
    assert!(
        a.join(format!("log/tile/entries/000.p/{size}")).exists(),
        "entry bundle kept"
    );
    assert!(
        a.join(format!("log/tile/0/000.p/{size}")).exists(),
        "hash tile kept"
    );
    let b = tmp.join("mirror-b");
    let b_str = b.to_str().unwrap();
    assert!(
        regesta(&["mirror", b_str, "--registry", base])
            .status
            .success()
    );
    let same = compare_mirrors(&a, &b);
    assert_eq!(same.status.code(), Some(0), "{}", stdout(&same));
    let logs = regesta(&["compare-logs", base, base]);
    assert_eq!(logs.status.code(), Some(0), "{}", stderr(&logs));
    tampered_logs_are_caught(&a, &b, size);

    let objects = b.join("objects/sha256");
    let object = std::fs::read_dir(&objects)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&object).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&object, &bytes).unwrap();
    let events = b.join("events/sha256");
    let event = std::fs::read_dir(&events)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = std::fs::read_to_string(&event)
        .unwrap()
        .replace("\"channel\":\"", "\"channel\":\"x");
    std::fs::write(&event, text).unwrap();
    let caught = compare_mirrors(&a, &b);
    assert_eq!(caught.status.code(), Some(1), "{}", stdout(&caught));
    let layers = layers(&caught);
    assert!(layers.contains(&"object".to_owned()), "{layers:?}");
    assert!(layers.contains(&"event-mutation".to_owned()), "{layers:?}");
}

/// `regesta compare-mirrors <a> <b> --json`.
fn compare_mirrors(a: &Path, b: &Path) -> Output {
    regesta(&[
        "compare-mirrors",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--json",
    ])
}

/// The layers of the differences a `compare-mirrors --json` reported.
fn layers(output: &Output) -> Vec<String> {
    json(output)["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["layer"].as_str().unwrap().to_owned())
        .collect()
}

/// Copies the mirror `from` to `to` (files only).
fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// A flipped byte in any file of a mirror is a difference of its layer:
/// the log's checkpoint, key, entry bundle and hash tile (`log`), the
/// inventory, a release document.
fn tampered_logs_are_caught(a: &Path, b: &Path, size: u64) {
    let release = std::fs::read_dir(b.join("releases"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let release = std::fs::read_dir(release)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let release = release
        .strip_prefix(b)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    for (file, layer) in [
        ("log/checkpoint".to_owned(), "log"),
        ("log/key".to_owned(), "log"),
        (format!("log/tile/entries/000.p/{size}"), "log"),
        (format!("log/tile/0/000.p/{size}"), "log"),
        ("inventory.json".to_owned(), ""),
        (release, "release"),
    ] {
        let copy = b.with_file_name(format!("tampered-{}", file.replace('/', "-")));
        std::fs::create_dir_all(&copy).unwrap();
        copy_tree(b, &copy);
        let mut bytes = std::fs::read(copy.join(&file)).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 1;
        std::fs::write(copy.join(&file), &bytes).unwrap();
        let caught = compare_mirrors(a, &copy);
        assert_eq!(caught.status.code(), Some(1), "{file}: {}", stdout(&caught));
        let layers = layers(&caught);
        assert!(
            layer.is_empty() || layers.contains(&layer.to_owned()),
            "{file}: {layers:?}"
        );
        if layer == "log" {
            // A tampered log fails its own check even against itself.
            let alone = compare_mirrors(&copy, &copy);
            assert_eq!(alone.status.code(), Some(1), "{file}: {}", stdout(&alone));
        }
    }
}

fn channel_moves_and_verification(base: &str, signing_key: &str) {
    let id = "npm:pkg.localhost/hello";
    for args in [
        vec!["channel", "set", id, "beta", "1.0.0"],
        vec!["channel", "set", id, "beta", "1.1.0"],
        vec!["channel", "rm", id, "beta"],
    ] {
        let mut full = args.clone();
        full.extend(["--registry", base, "--auth-key", signing_key]);
        let out = regesta(&full);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    }
    let missing = regesta(&[
        "channel",
        "rm",
        id,
        "beta",
        "--registry",
        base,
        "--auth-key",
        signing_key,
    ]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("does not exist"));

    for args in [
        vec!["verify", "npm:pkg.localhost/hello@1.0.0"],
        vec!["verify-package", id],
        vec!["verify-log"],
    ] {
        let mut full = args.clone();
        full.extend(["--registry", base, "--json"]);
        let out = regesta(&full);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        assert_eq!(json(&out)["ok"], true);
    }
}

fn wrong_key_gets_a_hint(tmp: &Path, project: &Path, base: &str) {
    let other = tmp.join("other");
    let made = regesta(&[
        "keygen",
        other.to_str().unwrap(),
        "--domain",
        "pkg.localhost",
        "--kid",
        "ed25519:other",
    ]);
    assert!(made.status.success());
    write_project(project, "1.2.0");
    let wrong = regesta(&[
        "publish",
        project.to_str().unwrap(),
        "--registry",
        base,
        "--auth-key",
        other.join("private-key.json").to_str().unwrap(),
    ]);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(
        stderr(&wrong).contains("has no active key with kid ed25519:other"),
        "{}",
        stderr(&wrong)
    );
}

/// Tampers with a stored object: verify must report it.
fn tampering_is_detected(data: &Path, published: &serde_json::Value, base: &str) {
    let manifest = published["manifestDigest"].as_str().unwrap().to_owned();
    let hex = manifest.trim_start_matches("sha256:");
    let path = data.join("objects/sha256").join(&hex[..2]).join(hex);
    let original = std::fs::read(&path).unwrap();
    let mut tampered = original.clone();
    tampered[5] ^= 1;
    std::fs::write(&path, &tampered).unwrap();
    let caught = regesta(&[
        "verify",
        "npm:pkg.localhost/hello@1.0.0",
        "--registry",
        base,
        "--json",
    ]);
    assert_eq!(caught.status.code(), Some(1), "{}", stdout(&caught));
    assert!(
        json(&caught)["problems"].to_string().contains("hash"),
        "{}",
        stdout(&caught)
    );
    std::fs::write(&path, &original).unwrap();

    let unreachable = regesta(&[
        "verify",
        "npm:pkg.localhost/hello@1.0.0",
        "--registry",
        "http://127.0.0.1:1",
    ]);
    assert_eq!(unreachable.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_clis_captured_publish_verifies_end_to_end() {
    let dir = regesta_testkit::vectors_dir();
    let tmp = tempfile::tempdir().unwrap();
    let binding = dir.join("dev-binding/domain-binding.json");
    // The capture was signed earlier today; widen the skew window to accept it.
    let server = start_with(
        &tmp.path().join("data"),
        &[
            ("REGESTA_DEV_BINDINGS", binding.to_str().unwrap()),
            ("REGESTA_WRITE_TIMESTAMP_TOLERANCE_MS", "315360000000"),
        ],
    );
    let meta = regesta_testkit::read_json(&dir, "publish/hello-regesta-0.0.5/request.headers.json");
    let response = reqwest::Client::new()
        .post(format!("{}/releases", server.base))
        .header(
            "content-type",
            meta["headers"]["content-type"].as_str().unwrap(),
        )
        .body(regesta_testkit::read(
            &dir,
            "publish/hello-regesta-0.0.5/request.multipart",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let base = server.base.clone();
    let out = tokio::task::spawn_blocking(move || {
        [
            regesta(&[
                "verify",
                "npm:dev.localhost/hello-regesta@0.0.5",
                "--registry",
                &base,
            ]),
            regesta(&[
                "verify-package",
                "npm:dev.localhost/hello-regesta",
                "--registry",
                &base,
            ]),
            regesta(&["verify-log", "--registry", &base]),
        ]
    })
    .await
    .unwrap();
    for o in &out {
        assert_eq!(o.status.code(), Some(0), "{}{}", stdout(o), stderr(o));
    }
    // Our mirror of the reference's publish holds exactly the files the
    // reference CLI's mirror holds.
    let ours = tmp.path().join("mirror");
    let (ours_str, base) = (ours.to_str().unwrap().to_owned(), server.base.clone());
    let mirrored =
        tokio::task::spawn_blocking(move || regesta(&["mirror", &ours_str, "--registry", &base]))
            .await
            .unwrap();
    assert!(mirrored.status.success(), "{}", stderr(&mirrored));
    let reference = dir.join("mirror/hello-regesta-mirror");
    let compared = regesta(&[
        "compare-mirrors",
        ours.to_str().unwrap(),
        reference.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(compared.status.code(), Some(0), "{}", stdout(&compared));
}

#[test]
fn generic_artifacts_publish_and_diverging_logs_are_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let keys = make_keys(tmp.path());
    let binding = keys.join("domain-binding.json");
    let key = keys.join("private-key.json");
    let a = start_with(
        &tmp.path().join("a"),
        &[("REGESTA_DEV_BINDINGS", binding.to_str().unwrap())],
    );
    let b = start_with(
        &tmp.path().join("b"),
        &[("REGESTA_DEV_BINDINGS", binding.to_str().unwrap())],
    );
    let project = tmp.path().join("tool");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("regesta.json"),
        r#"{"source":{"include":["tool.py"]}}"#,
    )
    .unwrap();
    std::fs::write(project.join("tool.py"), "print('hi')\n").unwrap();
    let wheel = project.join("tool-1.0.0-py3-none-any.whl");
    std::fs::write(&wheel, b"PK\x03\x04 not really a wheel").unwrap();
    for (server, version) in [(&a, "1.0.0"), (&b, "2.0.0")] {
        let out = regesta(&[
            "publish",
            project.to_str().unwrap(),
            "--registry",
            &server.base,
            "--auth-key",
            key.to_str().unwrap(),
            "--id",
            "generic:pkg.localhost/tool",
            "--version",
            version,
            "--artifact",
            wheel.to_str().unwrap(),
            "--format",
            "wheel",
            "--media-type",
            "application/zip",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let verified = regesta(&[
        "verify",
        "generic:pkg.localhost/tool@1.0.0",
        "--registry",
        &a.base,
    ]);
    assert_eq!(verified.status.code(), Some(0), "{}", stdout(&verified));
    let diverged = regesta(&["compare-logs", &a.base, &b.base, "--json"]);
    assert_eq!(diverged.status.code(), Some(1), "{}", stdout(&diverged));
    assert_eq!(
        json(&diverged)["differences"][0]["layer"],
        "event-divergence"
    );
}
