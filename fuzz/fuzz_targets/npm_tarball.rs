//! The npm processor never panics on any bytes, stays within its caps, and
//! is deterministic: the same bytes give the same metadata and facts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use regesta_projection_npm::artifact::process;
use regesta_protocol::{PackageId, Version};

fuzz_target!(|data: &[u8]| {
    let id = PackageId::parse("npm:a.localhost/pkg").expect("valid id");
    let version = Version::parse("1.0.0").expect("valid version");
    let run = || process(&id, &version, data).map_err(|refusal| refusal.to_string());
    let first = run();
    assert_eq!(first, run());
    if let Ok(meta) = first {
        let facts = meta.facts.expect("accepted tarballs have facts");
        assert!(facts.integrity.starts_with("sha512-"));
    }
});
