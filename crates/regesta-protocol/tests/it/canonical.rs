use regesta_protocol::event::payload_in_served;
use regesta_protocol::json::{JsonError, parse_strict, to_canonical_string};
use regesta_protocol::reference_json::canonicalize_reference_text;
use regesta_protocol::{Digest, SealedEvent};
use regesta_testkit::{read, read_json, vectors_dir};

#[test]
fn canonical_json_vectors_match_byte_for_byte() {
    let dir = vectors_dir();
    let cases = read_json(&dir, "canonical-json/canonical-json-vectors.json");
    let mut checked = 0;
    for case in cases.as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        if case.get("jsOnly").is_some() {
            continue;
        }
        let input = case["input"].as_str().unwrap();
        let reference = canonicalize_reference_text(input);
        let strict = parse_strict(input.as_bytes(), 1 << 20).and_then(|v| to_canonical_string(&v));
        if let Some(expected) = case.get("canonical").and_then(|c| c.as_str()) {
            let got = reference.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(got, expected, "{name}");
            assert_eq!(
                Digest::of(got.as_bytes()).to_string(),
                case["sha256"].as_str().unwrap(),
                "{name}"
            );
            let with_newline = format!("{got}\n");
            assert_eq!(
                Digest::of(with_newline.as_bytes()).to_string(),
                case["sha256WithNewline"].as_str().unwrap(),
                "{name}"
            );
            // The strict parser either agrees or refuses with a reason.
            match strict {
                Ok(s) => assert_eq!(s, expected, "{name} (strict)"),
                Err(
                    JsonError::DuplicateKey(_) | JsonError::UnsafeInteger(_) | JsonError::Syntax(_),
                ) => assert!(
                    ["duplicate", "2^53", "large-int", "surrogate", "max-double"]
                        .iter()
                        .any(|k| name.contains(k)),
                    "{name}: strict parser refused an ordinary case: {strict:?}"
                ),
                Err(other) => panic!("{name}: unexpected strict error {other}"),
            }
        } else {
            assert!(reference.is_err(), "{name} should fail");
            assert!(strict.is_err(), "{name} should fail strictly");
        }
        checked += 1;
    }
    assert!(checked >= 35, "only {checked} vectors checked");
}

#[test]
fn sha256_vectors_match() {
    let dir = vectors_dir();
    let cases = read_json(&dir, "canonical-json/sha256-vectors.json");
    let cases = cases.as_array().expect("array of cases");
    assert!(!cases.is_empty());
    for case in cases {
        let input = case["input"].as_str().unwrap();
        assert_eq!(
            Digest::of(input.as_bytes()).to_string(),
            case["sha256"].as_str().unwrap()
        );
    }
}

#[test]
fn event_id_vectors_reproduce_ids_and_served_bytes() {
    let dir = vectors_dir();
    let cases = read_json(&dir, "canonical-json/event-id-vectors.json");
    for case in cases.as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let mut with_id = case["payload"].clone();
        with_id["id"] = case["id"].clone();
        let sealed = SealedEvent::from_json(&with_id).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            sealed.id.to_string(),
            case["id"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(
            String::from_utf8(sealed.event.canonical_payload().unwrap()).unwrap(),
            case["canonicalPayload"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(
            String::from_utf8(sealed.served_bytes().unwrap()).unwrap(),
            case["servedEventBytes"].as_str().unwrap(),
            "{name}"
        );
        // The payload and served bytes made in one pass are the same.
        let (_, payload, served) = SealedEvent::from_json_with_bytes(&with_id).unwrap();
        assert_eq!(
            String::from_utf8(payload).unwrap(),
            case["canonicalPayload"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(
            String::from_utf8(served).unwrap(),
            case["servedEventBytes"].as_str().unwrap(),
            "{name}"
        );
        // The payload is found inside the served bytes, and only there.
        let served = case["servedEventBytes"].as_str().unwrap().as_bytes();
        assert_eq!(
            payload_in_served(served, &sealed.id).map(String::from_utf8),
            Some(Ok(case["canonicalPayload"].as_str().unwrap().to_owned())),
            "{name}"
        );
        assert_eq!(payload_in_served(served, &Digest::of(b"other")), None);
        let mut flipped = served.to_vec();
        let last = flipped.len() - 3;
        flipped[last] ^= 1;
        assert_eq!(payload_in_served(&flipped, &sealed.id), None, "{name}");
        // A tampered id is refused.
        with_id["id"] = serde_json::json!(Digest::of(b"other").to_string());
        assert!(SealedEvent::from_json(&with_id).is_err(), "{name}");
    }
}

#[test]
fn wire_event_page_is_reproduced_in_stored_key_order() {
    let dir = vectors_dir();
    let bytes = read(&dir, "wire/events-page-all.json");
    let page: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let events: Vec<serde_json::Value> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            SealedEvent::from_json(e)
                .unwrap()
                .to_json(regesta_protocol::EventKeyOrder::Stored)
        })
        .collect();
    let rebuilt = serde_json::json!({"events": events, "nextAfter": page["nextAfter"]});
    assert_eq!(
        serde_json::to_string(&rebuilt).unwrap().as_bytes(),
        &bytes[..]
    );
}
