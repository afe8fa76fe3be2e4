//! The module zip reader never panics on any bytes, stays within its
//! caps, and is deterministic: the same bytes give the same result (the
//! `h1:` hash a verifier recomputes).
#![no_main]

use libfuzzer_sys::fuzz_target;
use regesta_projection_go::module_zip;
use regesta_projection_go::paths::ModulePath;
use regesta_projection_go::versions::ModuleVersion;

fuzz_target!(|data: &[u8]| {
    let path = ModulePath::parse("acme.dev/greet").expect("valid path");
    let version = ModuleVersion::parse("v1.0.0", &path).expect("valid version");
    let first = module_zip::read(data, &path, &version);
    assert_eq!(first, module_zip::read(data, &path, &version));
});
