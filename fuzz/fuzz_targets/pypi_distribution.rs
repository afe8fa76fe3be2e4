//! The PyPI processor never panics on any bytes given as a wheel or an
//! sdist, stays within its caps, and is deterministic: the same bytes give
//! the same facts and the same derived core metadata (verifiers recompute
//! both).
#![no_main]

use libfuzzer_sys::fuzz_target;
use regesta_core::{ArtifactBytes, ArtifactProcessor};
use regesta_projection_pypi::processor::PypiProcessor;
use regesta_protocol::{ReleaseConfig, Version};

fuzz_target!(|data: &[u8]| {
    let Some((&choice, bytes)) = data.split_first() else {
        return;
    };
    let (filename, media_type) = if choice % 2 == 0 {
        ("my_lib-1.0-py3-none-any.whl", "application/zip")
    } else {
        ("my_lib-1.0.tar.gz", "application/gzip")
    };
    let config = ReleaseConfig::parse_publish_part(br#"{"id":"pypi:a.localhost/my-lib"}"#)
        .expect("valid config");
    let version = Version::parse("1.0").expect("valid version");
    let artifact = ArtifactBytes {
        role: "install",
        filename: Some(filename),
        media_type,
        bytes,
    };
    let run = || {
        PypiProcessor
            .process(&config, &version, &[artifact])
            .map(|p| (p.facts, p.derived))
            .map_err(|refusal| refusal.to_string())
    };
    let first = run();
    assert_eq!(first, run());
    if let Ok((facts, derived)) = first {
        assert!(facts.is_some(), "accepted distributions have facts");
        assert_eq!(derived.len(), 1, "one core metadata object per file");
    }
});
