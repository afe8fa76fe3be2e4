//! Dev-only helpers shared by Regesta's tests.
//!
//! The wire vectors produced by the reference implementation are vendored
//! in this crate (`vectors/`, see its `PROVENANCE.md`), so every vector test
//! runs from any clone; `REGESTA_VECTORS_DIR` points tests at another copy.
//! `scripts/test` checks that the vendored copy equals the shared
//! development copy of the vectors wherever that exists.

use std::path::{Path, PathBuf};

/// The root of the checkout the tests run from.
///
/// Found from the `CARGO_MANIFEST_DIR` cargo and nextest set when they run a
/// test, not the one compiled in: cargo does not rebuild an unchanged crate
/// when the checkout moves (or when two checkouts share a target dir), so a
/// compiled-in path may name another checkout, or none.
pub fn workspace_root() -> PathBuf {
    #[expect(
        clippy::disallowed_methods,
        reason = "test-only location of fixtures, not configuration"
    )]
    let running = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
    let compiled = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    running
        .and_then(|dir| {
            dir.ancestors()
                .find(|d| d.join("Cargo.lock").is_file() && d.join("crates").is_dir())
                .map(Path::to_path_buf)
        })
        .unwrap_or(compiled)
}

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
    let dir = configured.unwrap_or_else(|| workspace_root().join("crates/regesta-testkit/vectors"));
    assert!(
        dir.join("README.md").is_file(),
        "wire vectors not found at {}",
        dir.display()
    );
    dir
}

/// A gzipped tarball holding `entries` (path, bytes), as npm packs them.
/// Names are written raw (at most 100 bytes), so tests can hand hostile
/// paths (`../x`, `/etc/x`) to an unpacker unchanged.
///
/// # Panics
/// A name longer than 100 bytes.
pub fn npm_tarball(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    for (path, bytes) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        let name = &mut header.as_old_mut().name;
        assert!(path.len() <= name.len(), "tar name too long: {path}");
        name[..path.len()].copy_from_slice(path.as_bytes());
        header.set_cksum();
        builder.append(&header, *bytes).expect("tar to memory");
    }
    builder
        .into_inner()
        .and_then(flate2::write::GzEncoder::finish)
        .expect("gzip to memory")
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

/// What a service test says when its service is missing: such tests are
/// `#[ignore]`d, so only a run that asked for them (`scripts/test`, which
/// starts every service) gets here.
fn missing(variable: &str, what: &str) -> ! {
    panic!("{variable} is not set: this test needs {what}; run it with scripts/test")
}

fn service(variable: &str) -> Option<String> {
    #[expect(
        clippy::disallowed_methods,
        reason = "test-only location of a test service, not configuration"
    )]
    let value = std::env::var(variable).ok();
    value
}

/// The PostgreSQL server `scripts/test` starts (`REGESTA_TEST_DATABASE_URL`).
///
/// # Panics
/// When it is not set.
pub fn test_database_url() -> String {
    service("REGESTA_TEST_DATABASE_URL")
        .unwrap_or_else(|| missing("REGESTA_TEST_DATABASE_URL", "PostgreSQL"))
}

/// The S3 server `scripts/test` starts (`REGESTA_TEST_S3` =
/// `<endpoint> <access key> <secret key> <bucket>`: s3s-fs).
///
/// # Panics
/// When it is not set or malformed.
pub fn test_s3() -> [String; 4] {
    fields("REGESTA_TEST_S3", "s3s-fs")
}

/// The Ceph RGW `scripts/test` starts (`REGESTA_TEST_S3_CEPH`, same form).
///
/// # Panics
/// When it is not set or malformed.
pub fn test_s3_ceph() -> [String; 4] {
    fields("REGESTA_TEST_S3_CEPH", "Ceph RGW")
}

/// The 3-node Garage cluster `scripts/test` starts (`REGESTA_TEST_GARAGE` =
/// `<endpoint> <access key> <secret key> <bucket> <region> <pid of a node a
/// test may kill>`).
///
/// # Panics
/// When it is not set or malformed.
pub fn test_garage() -> [String; 6] {
    fields("REGESTA_TEST_GARAGE", "a Garage cluster")
}

fn fields<const N: usize>(variable: &str, what: &str) -> [String; N] {
    service(variable)
        .and_then(|v| {
            let parts: Vec<String> = v.split_whitespace().map(str::to_owned).collect();
            <[String; N]>::try_from(parts).ok()
        })
        .unwrap_or_else(|| missing(variable, what))
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
