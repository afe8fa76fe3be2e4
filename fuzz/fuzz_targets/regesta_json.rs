//! `regesta.json` (JSON5) parsing never panics, and an accepted config's
//! digest is stable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use regesta_protocol::ReleaseConfig;

fuzz_target!(|data: &str| {
    if let Ok(config) = ReleaseConfig::parse_json5(data) {
        let digest = config.digest().expect("digest");
        assert_eq!(config.digest().unwrap(), digest);
    }
});
