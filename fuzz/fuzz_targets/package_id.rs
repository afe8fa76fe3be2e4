//! Every accepted id round-trips through its URL path segment.
#![no_main]

use libfuzzer_sys::fuzz_target;
use regesta_protocol::PackageId;
use regesta_protocol::ids::decode_path_segment;

fuzz_target!(|data: &str| {
    let _ = decode_path_segment(data);
    if let Ok(id) = PackageId::parse(data) {
        let segment = id.to_path_segment();
        let decoded = decode_path_segment(&segment).expect("our encoding decodes");
        assert_eq!(PackageId::parse(&decoded).expect("round trip"), id);
        assert!(id.owner_domain().contains('.'));
    }
});
