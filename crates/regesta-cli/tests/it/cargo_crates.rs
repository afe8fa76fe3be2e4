//! `cargo:` releases through `regesta serve`: the Cargo processor checks
//! the `.crate` the real `cargo package` writes before anything is stored,
//! and refuses a second release of one version (build metadata aside); the
//! sparse index serves what was accepted (the real cargo is in
//! `cargo_clients`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::cli::{make_keys, stderr};
use crate::support::{regesta, start_with};

/// `cargo package` of a crate named `lib-a` at `version` in `dir`; the
/// path of the `.crate`.
fn package(dir: &Path, version: &str) -> PathBuf {
    package_named(dir, "lib-a", version)
}

/// `cargo package` of the crate `name` at `version` in `dir`.
fn package_named(dir: &Path, name: &str, version: &str) -> PathBuf {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"{version}\"\nedition = \"2021\"\n\
             description = \"a test crate\"\nlicense = \"MIT\"\n\n[workspace]\n"
        ),
    )
    .unwrap();
    std::fs::write(dir.join("src/lib.rs"), "pub fn a() -> u8 { 1 }\n").unwrap();
    let output = Command::new("cargo")
        .args([
            "package",
            "--no-verify",
            "--allow-dirty",
            "--offline",
            "--quiet",
        ])
        .current_dir(dir)
        .env("CARGO_HOME", dir.join("cargo-home"))
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    dir.join(format!("target/package/{name}-{version}.crate"))
}

fn publish(base: &str, key: &Path, project: &Path, version: &str, file: &Path) -> Output {
    regesta(&[
        "publish",
        project.to_str().unwrap(),
        "--registry",
        base,
        "--auth-key",
        key.to_str().unwrap(),
        "--id",
        "cargo:pkg.localhost/lib-a",
        "--version",
        version,
        "--artifact",
        file.to_str().unwrap(),
        "--format",
        "crate",
        "--media-type",
        "application/gzip",
    ])
}

/// Runs everywhere the tests run: cargo is what runs them.
#[tokio::test]
async fn cargo_releases_are_checked_against_their_crate() {
    let tmp = tempfile::tempdir().unwrap();
    let keys = make_keys(tmp.path());
    let key = keys.join("private-key.json");
    let binding = keys.join("domain-binding.json");
    let server = start_with(
        &tmp.path().join("data"),
        &[("REGESTA_DEV_BINDINGS", binding.to_str().unwrap())],
    );
    let project = tmp.path().join("lib-a");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("regesta.json"),
        r#"{"source":{"include":["src"]}}"#,
    )
    .unwrap();
    let status = |version: &str| {
        let url = format!(
            "{}/packages/cargo%3Apkg.localhost%2Flib-a/releases/{}",
            server.base,
            version.replace('+', "%2B")
        );
        async move { reqwest::get(url).await.unwrap().status().as_u16() }
    };

    // Refused before anything is stored: not a .crate, and 0.1.0's crate
    // offered as 0.2.0.
    let first = package(&project, "0.1.0");
    let junk = tmp.path().join("lib-a-0.2.0.crate");
    std::fs::write(&junk, b"not a crate").unwrap();
    let out = publish(&server.base, &key, &project, "0.2.0", &junk);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not a readable .tar.gz"),
        "{}",
        stderr(&out)
    );
    let out = publish(&server.base, &key, &project, "0.2.0", &first);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("lib-a-0.2.0.crate"),
        "{}",
        stderr(&out)
    );
    assert_eq!(status("0.2.0").await, 404);

    // Accepted: regesta publish in the crate's directory runs cargo
    // package itself and infers cargo:<domain>/lib-a.
    let out = regesta(&[
        "publish",
        project.to_str().unwrap(),
        "--domain",
        "pkg.localhost",
        "--registry",
        &server.base,
        "--auth-key",
        key.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(status("0.1.0").await, 200);

    // 0.1.0+build is 0.1.0 to cargo: refused, naming the release in the way.
    let again = package(&project, "0.1.0+build");
    let out = publish(&server.base, &key, &project, "0.1.0+build", &again);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cargo:pkg.localhost/lib-a@0.1.0 is the same version as 0.1.0+build"),
        "{}",
        stderr(&out)
    );
    assert_eq!(status("0.1.0+build").await, 404);

    // lib_a is lib-a to cargo: refused in the same domain, naming it.
    let snake = tmp.path().join("lib_a");
    std::fs::create_dir_all(&snake).unwrap();
    let crate_file = package_named(&snake, "lib_a", "0.1.0");
    let out = regesta(&[
        "publish",
        snake.to_str().unwrap(),
        "--registry",
        &server.base,
        "--auth-key",
        key.to_str().unwrap(),
        "--id",
        "cargo:pkg.localhost/lib_a",
        "--version",
        "0.1.0",
        "--artifact",
        crate_file.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out)
            .contains("cargo:pkg.localhost/lib_a is the same name as cargo:pkg.localhost/lib-a"),
        "{}",
        stderr(&out)
    );
    let snake_status = reqwest::get(format!(
        "{}/packages/cargo%3Apkg.localhost%2Flib_a",
        server.base
    ))
    .await
    .unwrap()
    .status();
    assert_eq!(snake_status.as_u16(), 404);

    sparse_index(&server.base).await;
}

/// `config.json`, the index file at Cargo's path (with validators), and
/// the download redirect to the object holding the `.crate`, whose bytes
/// hash to the line's `cksum`.
async fn sparse_index(base: &str) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let index = format!("{base}/cargo/pkg.localhost/index");
    let config: serde_json::Value = serde_json::from_slice(
        &client
            .get(format!("{index}/config.json"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
    )
    .unwrap();
    let dl = format!("{base}/cargo/pkg.localhost/files/{{crate}}/{{version}}/download");
    assert_eq!(config["dl"], dl.as_str());
    let response = client
        .get(format!("{index}/li/b-/lib-a"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let text = response.text().await.unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert_eq!(lines[0]["vers"], "0.1.0");
    let cksum = lines[0]["cksum"].as_str().unwrap().to_owned();
    let again = client
        .get(format!("{index}/li/b-/lib-a"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 304);
    for missing in ["li/b-/nope", "xx/yy/lib-a", "3/l/lib-a"] {
        let response = client
            .get(format!("{index}/{missing}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 404, "{missing}");
    }
    let download = client
        .get(format!(
            "{base}/cargo/pkg.localhost/files/lib-a/0.1.0/download"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(download.status().as_u16(), 302);
    let location = download.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(location, format!("{base}/objects/sha256:{cksum}"));
    let bytes = client
        .get(location)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(regesta_protocol::Digest::of(&bytes).hex(), cksum);
}
