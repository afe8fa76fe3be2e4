//! `pypi:` releases through `regesta serve`: the PyPI processor checks each
//! distribution against the release before anything is stored, and keeps
//! each one's core metadata as an object (for PEP 658).

use std::path::Path;

use crate::cli::{make_keys, stderr};
use crate::support::{regesta, start_with};

/// A wheel of `my-lib` 1.0 built with Python's `zipfile` (its `METADATA`
/// is [`METADATA`]).
fn fixture_wheel() -> std::path::PathBuf {
    regesta_testkit::workspace_root()
        .join("crates/regesta-cli/tests/fixtures/my_lib-1.0-py3-none-any.whl")
}

const METADATA: &[u8] =
    b"Metadata-Version: 2.1\nName: my-lib\nVersion: 1.0\nRequires-Python: >=3.8\nSummary: A test library\n";

fn publish(
    base: &str,
    key: &Path,
    project: &Path,
    version: &str,
    wheel: &Path,
) -> std::process::Output {
    regesta(&[
        "publish",
        project.to_str().unwrap(),
        "--registry",
        base,
        "--auth-key",
        key.to_str().unwrap(),
        "--id",
        "pypi:pkg.localhost/my-lib",
        "--version",
        version,
        "--artifact",
        wheel.to_str().unwrap(),
        "--format",
        "wheel",
        "--media-type",
        "application/zip",
    ])
}

#[tokio::test]
async fn pypi_releases_are_checked_and_keep_their_core_metadata() {
    let tmp = tempfile::tempdir().unwrap();
    let keys = make_keys(tmp.path());
    let key = keys.join("private-key.json");
    let binding = keys.join("domain-binding.json");
    let server = start_with(
        &tmp.path().join("data"),
        &[("REGESTA_DEV_BINDINGS", binding.to_str().unwrap())],
    );
    let project = tmp.path().join("my-lib");
    std::fs::create_dir_all(project.join("my_lib")).unwrap();
    std::fs::write(
        project.join("regesta.json"),
        r#"{"source":{"include":["my_lib"]}}"#,
    )
    .unwrap();
    std::fs::write(project.join("my_lib/__init__.py"), "VERSION = \"1.0\"\n").unwrap();
    let client = reqwest::Client::new();
    let status = |path: String| {
        let client = client.clone();
        async move { client.get(path).send().await.unwrap().status().as_u16() }
    };
    let release = |version: &str| {
        format!(
            "{}/packages/pypi%3Apkg.localhost%2Fmy-lib/releases/{version}",
            server.base
        )
    };

    // Refused before anything is stored: not a wheel, and a wheel of
    // another version.
    let fake = tmp.path().join("my_lib-2.0-py3-none-any.whl");
    std::fs::write(&fake, b"PK\x03\x04 not really a wheel").unwrap();
    let out = publish(&server.base, &key, &project, "2.0", &fake);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not a readable zip archive"),
        "{}",
        stderr(&out)
    );
    let out = publish(&server.base, &key, &project, "1.0.0", &fixture_wheel());
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not a distribution of my-lib 1.0.0"),
        "{}",
        stderr(&out)
    );
    for version in ["2.0", "1.0.0"] {
        assert_eq!(status(release(version)).await, 404, "{version}");
    }

    // Accepted: the real wheel, and its core metadata is an object.
    let out = publish(&server.base, &key, &project, "1.0", &fixture_wheel());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(status(release("1.0")).await, 200);
    let metadata = regesta_protocol::Digest::of(METADATA);
    let object = client
        .get(format!("{}/objects/{metadata}", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(object.status().as_u16(), 200);
    assert_eq!(object.bytes().await.unwrap().as_ref(), METADATA);
}
