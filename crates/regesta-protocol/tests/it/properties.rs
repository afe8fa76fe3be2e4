use proptest::prelude::*;
use regesta_protocol::PackageId;
use regesta_protocol::ids::decode_path_segment;
use regesta_protocol::json::{canonical_value, parse_strict, to_canonical_string};
use regesta_protocol::reference_json::canonicalize_reference_text;
use serde_json::Value;

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-(1i64 << 53) + 1..(1i64 << 53)).prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite, non-integral", |f| f.is_finite()
                && f.fract() != 0.0)
            .prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("\\PC{0,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Any JSON value, including what [`json_value`] leaves out: control
/// characters, quotes and backslashes, characters outside the BMP (whose
/// UTF-16 order differs from their UTF-8 order) and integers beyond the
/// safe range.
fn wide_json_value() -> impl Strategy<Value = Value> {
    let text = || {
        prop_oneof![
            any::<String>(),
            "[\\x00-\\x1f\"\\\\/a\u{7f}\u{e000}-\u{ffff}\u{10000}-\u{10ffff}]{0,6}",
        ]
    };
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(text(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn shuffled(value: &Value, seed: u64) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            let n = entries.len();
            if n > 1 {
                entries.rotate_left(usize::try_from(seed).unwrap_or(0) % n);
                entries.reverse();
            }
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            shuffled(v, seed.wrapping_mul(31).wrapping_add(7)),
                        )
                    })
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| shuffled(v, seed + 1)).collect()),
        other => other.clone(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn canonical_output_is_stable_under_reparse(value in json_value()) {
        let once = to_canonical_string(&value).unwrap();
        let reparsed = parse_strict(once.as_bytes(), 1 << 20).unwrap();
        prop_assert_eq!(to_canonical_string(&reparsed).unwrap(), once);
    }

    #[test]
    fn key_order_never_matters(value in json_value(), seed in any::<u64>()) {
        prop_assert_eq!(
            to_canonical_string(&value).unwrap(),
            to_canonical_string(&shuffled(&value, seed)).unwrap()
        );
    }

    /// The direct writer is byte for byte the crate's canonical JSON.
    #[test]
    fn canonical_writer_agrees_with_the_crate(value in wide_json_value(), seed in any::<u64>()) {
        let expected = serde_json_canonicalizer::to_vec(&value).unwrap();
        prop_assert_eq!(&canonical_value(&value).unwrap(), &expected);
        prop_assert_eq!(&canonical_value(&shuffled(&value, seed)).unwrap(), &expected);
    }

    #[test]
    fn crate_canonicalizer_agrees_with_reference_reproduction(value in json_value()) {
        let text = serde_json::to_string(&value).unwrap();
        prop_assert_eq!(
            to_canonical_string(&value).unwrap(),
            canonicalize_reference_text(&text).unwrap()
        );
    }

    #[test]
    fn accepted_ids_round_trip_through_url_paths(
        eco in "[a-z0-9-]{1,8}",
        labels in prop::collection::vec("[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?", 2..4),
        segments in prop::collection::vec("[^/@\\x00-\\x1f\\x7f%][^/\\x00-\\x1f\\x7f]{0,10}", 1..4),
    ) {
        let raw = format!("{eco}:{}/{}", labels.join("."), segments.join("/"));
        // The generator only builds valid ids, so every case is checked.
        let id = PackageId::parse(&raw);
        prop_assert!(id.is_ok(), "generated id rejected: {raw:?}");
        let id = id.unwrap();
        let segment = id.to_path_segment();
        prop_assert!(!segment.contains('/'));
        let decoded = decode_path_segment(&segment).unwrap();
        prop_assert_eq!(PackageId::parse(&decoded).unwrap(), id);
    }
}
