//! The npm processor never panics on any bytes, stays within its caps, and
//! is deterministic: the same bytes give the same metadata and facts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use regesta_projection_npm::artifact::process;
use regesta_protocol::{PackageId, Version};

fuzz_target!(|data: &[u8]| {
    let id = PackageId::parse("npm:a.localhost/pkg").expect("valid id");
    let version = Version::parse("1.0.0").expect("valid version");
    let first = process(&id, &version, data);
    assert_eq!(first, process(&id, &version, data));
    if let Ok(meta) = first {
        let facts = meta.facts.expect("accepted tarballs have facts");
        assert!(facts.integrity.starts_with("sha512-"));
    }
});
