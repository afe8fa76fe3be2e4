//! The real `npm` client installs from `regesta serve` through the npm
//! projection: dependencies across owner domains, dist-tags, lockfile
//! integrity, and a tampered tarball is refused.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers panic on failure by design"
)]

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::start_with;

fn run(program: &str, args: &[&str], dir: &Path) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("npm_config_update_notifier", "false")
        .env("npm_config_fetch_retries", "0")
        .env("npm_config_fetch_retry_mintimeout", "100")
        .env("npm_config_fetch_retry_maxtimeout", "200")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn regesta(args: &[&str], dir: &Path) -> String {
    ok(run(env!("CARGO_BIN_EXE_regesta"), args, dir))
}

fn package(dir: &Path, name: &str, version: &str, deps: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("package.json"),
        format!(r#"{{"name":"{name}","version":"{version}","main":"index.js","dependencies":{{{deps}}}}}"#),
    )
    .unwrap();
    std::fs::write(
        dir.join("index.js"),
        format!("module.exports = {:?};\n", format!("{name}@{version}")),
    )
    .unwrap();
}

fn installed_version(project: &Path, name: &str) -> String {
    let text =
        std::fs::read_to_string(project.join("node_modules").join(name).join("package.json"))
            .unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["version"].as_str().unwrap().to_owned()
}

#[test]
fn npm_installs_across_domains_with_tags_and_refuses_tampered_tarballs() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    for domain in ["a.localhost", "b.localhost"] {
        regesta(
            &["keygen", &format!("keys-{domain}"), "--domain", domain],
            root,
        );
    }
    let bindings = format!(
        "{},{}",
        root.join("keys-a.localhost/domain-binding.json").display(),
        root.join("keys-b.localhost/domain-binding.json").display()
    );
    let data = root.join("data");
    let server = start_with(&data, &[("REGESTA_DEV_BINDINGS", bindings.as_str())]);
    let base = server.base.clone();
    let key_a = root.join("keys-a.localhost/private-key.json");
    let key_b = root.join("keys-b.localhost/private-key.json");
    let publish = |dir: &Path, key: &Path| {
        regesta(
            &[
                "publish",
                dir.to_str().unwrap(),
                "--registry",
                &base,
                "--auth-key",
                key.to_str().unwrap(),
                "-q",
            ],
            root,
        );
    };
    let lib = root.join("lib");
    package(&lib, "@b.localhost/lib", "1.0.0", "");
    publish(&lib, &key_b);
    package(&lib, "@b.localhost/lib", "1.1.0", "");
    publish(&lib, &key_b);
    let app = root.join("app");
    package(
        &app,
        "@a.localhost/app",
        "1.0.0",
        r#""@b.localhost/lib":"^1""#,
    );
    publish(&app, &key_a);
    package(
        &app,
        "@a.localhost/app",
        "2.0.0-rc.1",
        r#""@b.localhost/lib":"^1""#,
    );
    publish(&app, &key_a);
    for (tag, version) in [("latest", "1.0.0"), ("next", "2.0.0-rc.1")] {
        regesta(
            &[
                "channel",
                "set",
                "npm:a.localhost/app",
                tag,
                version,
                "--registry",
                &base,
                "--auth-key",
                key_a.to_str().unwrap(),
                "-q",
            ],
            root,
        );
    }

    let registry = format!("{base}/npm/");
    let project = root.join("consumer");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("package.json"),
        r#"{"name":"consumer","version":"0.0.0","private":true}"#,
    )
    .unwrap();
    let cache = root.join("npm-cache");
    let npm = |args: &[&str], dir: &Path| {
        let mut full = args.to_vec();
        full.extend([
            "--registry",
            &registry,
            "--cache",
            cache.to_str().unwrap(),
            "--no-audit",
            "--no-fund",
        ]);
        run("npm", &full, dir)
    };
    ok(npm(&["install", "@a.localhost/app"], &project));
    assert_eq!(
        installed_version(&project, "@a.localhost/app"),
        "1.0.0",
        "latest tag"
    );
    assert_eq!(
        installed_version(&project, "@b.localhost/lib"),
        "1.1.0",
        "^1 resolves across domains"
    );
    let lock: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(project.join("package-lock.json")).unwrap())
            .unwrap();
    let locked = &lock["packages"]["node_modules/@b.localhost/lib"];
    assert!(
        locked["integrity"].as_str().unwrap().starts_with("sha256-"),
        "{locked}"
    );
    // npm 11 leaves `resolved` out for packages from the configured
    // registry; when present it must name our tarball route.
    if let Some(resolved) = locked["resolved"].as_str() {
        assert!(
            resolved.ends_with("/npm/@b.localhost/lib/-/lib-1.1.0.tgz"),
            "{locked}"
        );
    }

    let tags = ok(npm(
        &["view", "@a.localhost/app", "dist-tags", "--json"],
        &project,
    ));
    let tags: serde_json::Value = serde_json::from_str(&tags).unwrap();
    assert_eq!(
        tags,
        serde_json::json!({"latest": "1.0.0", "next": "2.0.0-rc.1"})
    );
    let versions = ok(npm(
        &["view", "@a.localhost/app", "versions", "--json"],
        &project,
    ));
    assert!(versions.contains("2.0.0-rc.1"));
    ok(npm(&["install", "@a.localhost/app@next"], &project));
    assert_eq!(
        installed_version(&project, "@a.localhost/app"),
        "2.0.0-rc.1"
    );

    // Corrupt lib@1.0.0's tarball object on disk: a fresh install of it
    // must fail on integrity.
    let integrity = ok(npm(
        &["view", "@b.localhost/lib@1.0.0", "dist.integrity"],
        &project,
    ));
    let encoded = integrity.trim().strip_prefix("sha256-").unwrap();
    let digest =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, encoded).unwrap();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let object = data.join("objects/sha256").join(&hex[..2]).join(&hex);
    let mut bytes = std::fs::read(&object).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&object, &bytes).unwrap();
    let victim = root.join("victim");
    std::fs::create_dir_all(&victim).unwrap();
    std::fs::write(
        victim.join("package.json"),
        r#"{"name":"victim","version":"0.0.0","private":true}"#,
    )
    .unwrap();
    let fresh_cache = root.join("fresh-cache");
    let refused = run(
        "npm",
        &[
            "install",
            "@b.localhost/lib@1.0.0",
            "--registry",
            &registry,
            "--cache",
            fresh_cache.to_str().unwrap(),
            "--no-audit",
            "--no-fund",
        ],
        &victim,
    );
    assert!(
        !refused.status.success(),
        "a tampered tarball must not install"
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("EINTEGRITY") || stderr.contains("integrity"),
        "{stderr}"
    );
    assert!(!victim.join("node_modules/@b.localhost/lib").exists());
    drop(server);
}
