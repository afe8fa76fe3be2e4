//! Dev-only helpers shared by Regesta's tests.
//!
//! The wire vectors produced by the reference implementation are vendored
//! in this crate (`vectors/`, see its `PROVENANCE.md`), so every vector test
//! runs from any clone; `REGESTA_VECTORS_DIR` points tests at another copy.
//! `scripts/test` checks that the vendored copy equals the shared
//! development copy of the vectors wherever that exists.

use std::path::{Path, PathBuf};

/// The vectors directory: `REGESTA_VECTORS_DIR`, else the vendored copy.
///
/// # Panics
/// When the directory has no vectors (a broken checkout is a failure,
/// never a skip).
pub fn vectors_dir() -> PathBuf {
    #[expect(
        clippy::disallowed_methods,
        reason = "test-only location of fixtures, not configuration"
    )]
    let configured = std::env::var_os("REGESTA_VECTORS_DIR").map(PathBuf::from);
    let dir =
        configured.unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors"));
    assert!(
        dir.join("README.md").is_file(),
        "wire vectors not found at {}",
        dir.display()
    );
    dir
}

/// Reads a vector file as bytes.
///
/// # Panics
/// When the file cannot be read (a broken vectors directory is a test failure).
pub fn read(dir: &Path, relative: &str) -> Vec<u8> {
    std::fs::read(dir.join(relative))
        .unwrap_or_else(|e| panic!("cannot read vector {relative}: {e}"))
}

/// Reads and parses a JSON vector file.
///
/// # Panics
/// When the file is missing or not JSON.
pub fn read_json(dir: &Path, relative: &str) -> serde_json::Value {
    serde_json::from_slice(&read(dir, relative))
        .unwrap_or_else(|e| panic!("vector {relative} is not JSON: {e}"))
}

pub mod arrows;

/// The npm `dist` keys Regesta adds or changes on purpose (see
/// `docs/compatibility.md`): sha512 `integrity`, `shasum`, `fileCount`,
/// `unpackedSize`.
pub const NPM_DIST_DIFFERENCES: &[&str] = &["fileCount", "integrity", "shasum", "unpackedSize"];

/// An npm document (packument, abbreviated packument or version document)
/// with the intended `dist` differences removed, re-serialized in its own
/// key order: what must equal the reference's bytes where the formats
/// overlap. Returns each removed `dist` (by version, `""` for a version
/// document) so callers can check those values too.
///
/// # Panics
/// `text` is not JSON.
pub fn npm_overlap(text: &str) -> (String, Vec<(String, serde_json::Value)>) {
    let mut doc: serde_json::Value = serde_json::from_str(text).expect("npm document is JSON");
    let mut removed = Vec::new();
    let mut strip = |version: String, dist: &mut serde_json::Value| {
        if let Some(dist) = dist.as_object_mut() {
            let mut taken = serde_json::Map::new();
            for key in NPM_DIST_DIFFERENCES {
                if let Some(value) = dist.remove(*key) {
                    taken.insert((*key).to_owned(), value);
                }
            }
            removed.push((version, serde_json::Value::Object(taken)));
        }
    };
    if let Some(versions) = doc.get_mut("versions").and_then(|v| v.as_object_mut()) {
        for (version, manifest) in versions.iter_mut() {
            if let Some(dist) = manifest.get_mut("dist") {
                strip(version.clone(), dist);
            }
        }
    } else if let Some(dist) = doc.get_mut("dist") {
        strip(String::new(), dist);
    }
    (serde_json::to_string(&doc).expect("serializable"), removed)
}

/// The PostgreSQL server `scripts/test` starts (`REGESTA_TEST_DATABASE_URL`),
/// or `None` (after a loud note) when it is not set outside CI.
///
/// # Panics
/// When it is not set and `CI=true`.
pub fn test_database_url() -> Option<String> {
    #[expect(
        clippy::disallowed_methods,
        reason = "test-only location of a test service, not configuration"
    )]
    let url = std::env::var("REGESTA_TEST_DATABASE_URL").ok();
    #[expect(clippy::disallowed_methods, reason = "CI detection for the skip rule")]
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true");
    if url.is_some() {
        return url;
    }
    assert!(
        !in_ci,
        "REGESTA_TEST_DATABASE_URL is not set (scripts/test starts PostgreSQL); CI must not skip it"
    );
    #[expect(clippy::print_stderr, reason = "a skip must be loud")]
    {
        eprintln!("SKIPPED: REGESTA_TEST_DATABASE_URL is not set (scripts/test starts PostgreSQL)");
    }
    None
}

/// The S3 server `scripts/test` starts (`REGESTA_TEST_S3` =
/// `<endpoint> <access key> <secret key> <bucket>`: s3s-fs), or `None`
/// (after a loud note) when it is not set outside CI.
///
/// # Panics
/// When it is not set (or malformed) and `CI=true`.
pub fn test_s3() -> Option<[String; 4]> {
    s3_server("REGESTA_TEST_S3", "s3s-fs")
}

/// The Ceph RGW `scripts/test` starts (`REGESTA_TEST_S3_CEPH`, same form),
/// or `None` (after a loud note) when it is not set outside CI.
///
/// # Panics
/// When it is not set (or malformed) and `CI=true`.
pub fn test_s3_ceph() -> Option<[String; 4]> {
    s3_server("REGESTA_TEST_S3_CEPH", "Ceph RGW")
}

fn s3_server(variable: &str, what: &str) -> Option<[String; 4]> {
    #[expect(
        clippy::disallowed_methods,
        reason = "test-only location of a test service, not configuration"
    )]
    let value = std::env::var(variable).ok();
    #[expect(clippy::disallowed_methods, reason = "CI detection for the skip rule")]
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let parsed = value.as_deref().and_then(|v| {
        let parts: Vec<String> = v.split_whitespace().map(str::to_owned).collect();
        <[String; 4]>::try_from(parts).ok()
    });
    if parsed.is_some() {
        return parsed;
    }
    assert!(
        !in_ci,
        "{variable} is not set (scripts/test starts {what}); CI must not skip it"
    );
    #[expect(clippy::print_stderr, reason = "a skip must be loud")]
    {
        eprintln!("SKIPPED: {variable} is not set (scripts/test starts {what})");
    }
    None
}

/// The 3-node Garage cluster `scripts/test` starts (`REGESTA_TEST_GARAGE` =
/// `<endpoint> <access key> <secret key> <bucket> <region> <pid of a node a
/// test may kill>`), or `None` (after a loud note) when it is not set
/// outside CI.
///
/// # Panics
/// When it is not set (or malformed) and `CI=true`.
pub fn test_garage() -> Option<[String; 6]> {
    #[expect(
        clippy::disallowed_methods,
        reason = "test-only location of a test service, not configuration"
    )]
    let value = std::env::var("REGESTA_TEST_GARAGE").ok();
    #[expect(clippy::disallowed_methods, reason = "CI detection for the skip rule")]
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let parsed = value.as_deref().and_then(|v| {
        let parts: Vec<String> = v.split_whitespace().map(str::to_owned).collect();
        <[String; 6]>::try_from(parts).ok()
    });
    if parsed.is_some() {
        return parsed;
    }
    assert!(
        !in_ci,
        "REGESTA_TEST_GARAGE is not set (scripts/test starts Garage); CI must not skip it"
    );
    #[expect(clippy::print_stderr, reason = "a skip must be loud")]
    {
        eprintln!("SKIPPED: REGESTA_TEST_GARAGE is not set (scripts/test starts Garage)");
    }
    None
}

/// How many SIGKILL rounds the crash-consistency tests run:
/// `REGESTA_TORTURE_KILLS` (the long `scripts/torture` profile sets 200),
/// else `default`.
pub fn torture_kills(default: usize) -> usize {
    #[expect(
        clippy::disallowed_methods,
        reason = "test-only knob of the torture profile, not configuration"
    )]
    let set = std::env::var("REGESTA_TORTURE_KILLS").ok();
    set.and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Whether this is a CI run (`CI=true`), where tests must not skip.
pub fn in_ci() -> bool {
    #[expect(clippy::disallowed_methods, reason = "CI detection for the skip rule")]
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    ci
}
