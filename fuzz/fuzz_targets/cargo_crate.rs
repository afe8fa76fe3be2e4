//! The `.crate` reader never panics on any bytes, stays within its caps,
//! and is deterministic: the same bytes give the same result.
#![no_main]

use libfuzzer_sys::fuzz_target;
use regesta_projection_cargo::crate_file;
use regesta_projection_cargo::names::CrateName;
use regesta_projection_cargo::versions::CrateVersion;

fuzz_target!(|data: &[u8]| {
    let name = CrateName::parse("lib-a").expect("valid name");
    let version = CrateVersion::parse("0.1.0").expect("valid version");
    let first = crate_file::read(data, &name, &version);
    assert_eq!(first, crate_file::read(data, &name, &version));
});
