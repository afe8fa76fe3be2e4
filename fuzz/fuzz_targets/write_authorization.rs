//! Write authorizations and events parse without panics; accepted intents
//! re-parse to themselves.
#![no_main]

use libfuzzer_sys::fuzz_target;
use regesta_protocol::json::parse_strict;
use regesta_protocol::{SealedEvent, WriteAuthorization};

fuzz_target!(|data: &[u8]| {
    let Ok(value) = parse_strict(data, 1 << 16) else {
        return;
    };
    if let Ok(auth) = WriteAuthorization::from_json(&value) {
        let again = WriteAuthorization::from_json(&auth.to_json()).expect("re-parse");
        assert_eq!(again, auth);
    }
    let _ = SealedEvent::from_json(&value);
});
