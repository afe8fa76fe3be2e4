//! Strict parse → canonical output must be a fixed point, and must agree
//! with the reference-compatible canonicalizer on every input both accept.
#![no_main]

use libfuzzer_sys::fuzz_target;
use regesta_protocol::json::{parse_strict, to_canonical_string};
use regesta_protocol::reference_json::canonicalize_reference_text;

fuzz_target!(|data: &[u8]| {
    let reference = std::str::from_utf8(data)
        .ok()
        .map(canonicalize_reference_text);
    let Ok(value) = parse_strict(data, 1 << 16) else {
        return;
    };
    let canonical = to_canonical_string(&value).expect("strict values canonicalize");
    let again = parse_strict(canonical.as_bytes(), 1 << 17).expect("canonical output parses");
    assert_eq!(to_canonical_string(&again).unwrap(), canonical);
    if let Some(Ok(reference)) = reference {
        assert_eq!(reference, canonical);
    }
});
