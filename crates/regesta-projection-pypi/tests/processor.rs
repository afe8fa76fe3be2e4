//! The PyPI processor on the seam: a release's distributions are checked
//! against its id and version, and each one's core metadata becomes a
//! derived object and a line of the facts.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers panic on failure by design"
)]

use regesta_core::{ArtifactBytes, ArtifactProcessor as _};
use regesta_projection_pypi::PypiProcessor;
use regesta_protocol::{ReleaseConfig, Version};

mod common;
use common::{build_sdist, build_wheel};

fn config(id: &str) -> ReleaseConfig {
    ReleaseConfig::from_json(serde_json::json!({ "id": id, "source": { "include": ["src"] } }))
        .unwrap()
}

fn artifacts(files: &[(String, Vec<u8>)]) -> Vec<ArtifactBytes<'_>> {
    files
        .iter()
        .map(|(name, bytes)| ArtifactBytes {
            role: "install",
            filename: Some(name),
            media_type: "application/octet-stream",
            bytes,
        })
        .collect()
}

fn process(
    id: &str,
    version: &str,
    files: &[(String, Vec<u8>)],
) -> Result<regesta_core::Processed, String> {
    PypiProcessor
        .process(
            &config(id),
            &Version::parse(version).unwrap(),
            &artifacts(files),
        )
        .map_err(|e| e.message().to_owned())
}

#[test]
fn a_wheel_and_an_sdist_give_facts_and_their_core_metadata() {
    let files = vec![build_wheel("1.0", ">=3.8"), build_sdist("1.0", ">=3.8")];
    let processed = process("pypi:a.localhost/my-lib", "1.0", &files).unwrap();
    assert_eq!(processed.derived.len(), 2);
    assert!(
        processed.derived[0]
            .bytes
            .starts_with(b"Metadata-Version: 2.1\nName: my-lib\n")
    );
    assert_eq!(
        processed.derived[0].media_type.as_str(),
        "text/plain; charset=utf-8"
    );
    let facts: serde_json::Value =
        serde_json::from_slice(processed.facts.as_ref().unwrap()).unwrap();
    let lines = facts["files"].as_array().unwrap();
    assert_eq!(lines[0]["filename"], "my_lib-1.0-py3-none-any.whl");
    assert_eq!(lines[0]["kind"], "wheel");
    assert_eq!(lines[0]["requiresPython"], ">=3.8");
    assert_eq!(lines[0]["size"], files[0].1.len());
    assert_eq!(lines[1]["kind"], "sdist");
    assert_eq!(
        lines[0]["coreMetadataSha256"],
        regesta_protocol::Digest::of(&processed.derived[0].bytes).hex()
    );
    // Deterministic: verifiers recompute the same bytes.
    let again = process("pypi:a.localhost/my-lib", "1.0", &files).unwrap();
    assert_eq!(again.facts, processed.facts);
}

#[test]
fn releases_that_are_not_their_distributions_are_refused() {
    let wheel = vec![build_wheel("1.0", ">=3.8")];
    let refused = |id: &str, version: &str, files: &[(String, Vec<u8>)]| {
        process(id, version, files).unwrap_err()
    };
    assert!(refused("pypi:a.localhost/My_Lib", "1.0", &wheel).contains("normalized project name"));
    assert!(
        refused("pypi:a.localhost/my-lib", "1.0.0", &wheel)
            .contains("not a distribution of my-lib 1.0.0")
    );
    assert!(
        refused("pypi:a.localhost/my-lib", "1.0RC1", &wheel).contains("normalized form: 1.0rc1")
    );
    assert!(refused("pypi:a.localhost/my-lib", "latest", &wheel).contains("PEP 440"));
    assert!(
        refused("pypi:a.localhost/other", "1.0", &wheel).contains("not a distribution of other")
    );
    assert!(refused("pypi:a.localhost/my-lib", "1.0", &[]).contains("1 to 256 distributions"));
    let twice = vec![build_wheel("1.0", ">=3.8"), build_wheel("1.0", ">=3.8")];
    assert!(refused("pypi:a.localhost/my-lib", "1.0", &twice).contains("given twice"));
    let not_a_dist = vec![("notes.txt".to_owned(), b"x".to_vec())];
    assert!(refused("pypi:a.localhost/my-lib", "1.0", &not_a_dist).contains("notes.txt"));
    let mut broken = build_wheel("1.0", ">=3.8");
    broken.1.truncate(broken.1.len() / 2);
    assert!(refused("pypi:a.localhost/my-lib", "1.0", &[broken]).contains("not a readable zip"));
    let unnamed = build_wheel("1.0", ">=3.8");
    let without_name = [ArtifactBytes {
        role: "install",
        filename: None,
        media_type: "application/zip",
        bytes: &unnamed.1,
    }];
    let refusal = PypiProcessor
        .process(
            &config("pypi:a.localhost/my-lib"),
            &Version::parse("1.0").unwrap(),
            &without_name,
        )
        .unwrap_err();
    assert!(refusal.message().contains("file name"));
}
