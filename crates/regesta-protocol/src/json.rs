//! JSON for hashed and signed documents: a strict parser and the canonical
//! (RFC 8785 / JCS) serializer.
//!
//! Canonical output is written by `canonical`, checked byte for byte
//! against `serde_json_canonicalizer` (which matches Node's reference
//! output on 23,006 differential cases) and the reference's vectors. Parsing is stricter
//! than the reference's `JSON.parse`: a duplicate key (where JS silently keeps
//! the last) and an integer outside ±(2^53−1) (which JS silently rounds) would
//! make two honest parties hash different bytes for the "same" document, so
//! they are rejected with a clear error instead of guessed at.

use serde::Serialize;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use thiserror::Error;

use crate::digest::Digest;

mod canonical;

/// Deepest nesting accepted in a signed or hashed document.
pub const MAX_DEPTH: usize = 64;
/// Largest integer magnitude that every JSON implementation (notably
/// ECMAScript's doubles) represents exactly: `Number.MAX_SAFE_INTEGER`.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Why JSON input was rejected.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum JsonError {
    /// Not JSON at all, or not UTF-8, or a lone surrogate escape.
    #[error("invalid JSON: {0}")]
    Syntax(String),
    /// The same key twice in one object.
    #[error("duplicate JSON key: {0:?}")]
    DuplicateKey(String),
    /// An integer that ECMAScript cannot represent exactly.
    #[error("JSON number {0} is outside the safe integer range ±(2^53-1)")]
    UnsafeInteger(String),
    /// Nesting deeper than [`MAX_DEPTH`].
    #[error("JSON nesting deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// Input larger than the caller's limit.
    #[error("JSON document larger than {0} bytes")]
    TooLarge(usize),
    /// A value that canonical JSON cannot represent.
    #[error("cannot canonicalize: {0}")]
    NotCanonicalizable(String),
}

/// Parses `bytes` strictly: UTF-8 JSON, no duplicate keys, no unsafe
/// integers, no lone surrogates, at most [`MAX_DEPTH`] deep and `max_len`
/// bytes long.
///
/// # Errors
/// See [`JsonError`].
pub fn parse_strict(bytes: &[u8], max_len: usize) -> Result<Value, JsonError> {
    if bytes.len() > max_len {
        return Err(JsonError::TooLarge(max_len));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = StrictSeed { depth: 0 }
        .deserialize(&mut deserializer)
        .map_err(|e| classify(&e))?;
    deserializer.end().map_err(|e| classify(&e))?;
    Ok(value)
}

/// Canonical JSON bytes (RFC 8785) of any serializable value: the value
/// as `serde_json` sees it, written by [`canonical_value`] (a non-finite
/// float becomes `null` there; no protocol type holds a float).
///
/// # Errors
/// Values serde cannot express as JSON.
pub fn to_canonical_vec<T: Serialize>(value: &T) -> Result<Vec<u8>, JsonError> {
    let value =
        serde_json::to_value(value).map_err(|e| JsonError::NotCanonicalizable(e.to_string()))?;
    canonical_value(&value)
}

/// Canonical JSON bytes (RFC 8785) of a JSON value, without the copy
/// [`to_canonical_vec`] makes of it.
///
/// # Errors
/// A number that canonical JSON cannot represent.
pub fn canonical_value(value: &Value) -> Result<Vec<u8>, JsonError> {
    let mut out = Vec::with_capacity(256);
    canonical::write_value(value, &mut out)?;
    Ok(out)
}

/// Appends `text` as a canonical JSON string, for writers that put a
/// document's members in canonical order themselves.
pub(crate) fn write_canonical_string(text: &str, out: &mut Vec<u8>) {
    canonical::write_string(text, out);
}

/// Canonical JSON text of any serializable value.
///
/// # Errors
/// As [`to_canonical_vec`].
pub fn to_canonical_string<T: Serialize>(value: &T) -> Result<String, JsonError> {
    let bytes = to_canonical_vec(value)?;
    String::from_utf8(bytes).map_err(|e| JsonError::NotCanonicalizable(e.to_string()))
}

/// `sha256(canonicalJson(value))`, the digest rule of event ids, config
/// digests, artifact descriptor digests and payload digests.
///
/// # Errors
/// As [`to_canonical_vec`].
pub fn canonical_digest<T: Serialize>(value: &T) -> Result<Digest, JsonError> {
    Ok(Digest::of(&to_canonical_vec(value)?))
}

/// Markers we put into serde errors so [`classify`] can recover the kind.
const DUP: &str = "\u{1}dup:";
const UNSAFE: &str = "\u{1}unsafe:";
const DEEP: &str = "\u{1}deep";

fn classify(error: &serde_json::Error) -> JsonError {
    let text = error.to_string();
    if let Some(rest) = text.strip_prefix(DUP) {
        return JsonError::DuplicateKey(strip_position(rest));
    }
    if let Some(rest) = text.strip_prefix(UNSAFE) {
        return JsonError::UnsafeInteger(strip_position(rest));
    }
    if text.starts_with(DEEP) || text.starts_with("recursion limit exceeded") {
        return JsonError::TooDeep;
    }
    JsonError::Syntax(text)
}

/// `serde_json` appends " at line L column C" to custom errors; keep only ours.
fn strip_position(text: &str) -> String {
    text.rsplit_once(" at line ")
        .map_or(text, |(head, _)| head)
        .to_owned()
}

struct StrictSeed {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for StrictSeed {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        if self.depth > MAX_DEPTH {
            return Err(de::Error::custom(DEEP));
        }
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictSeed {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        if v.unsigned_abs() > MAX_SAFE_INTEGER {
            return Err(E::custom(format!("{UNSAFE}{v}")));
        }
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        if v > MAX_SAFE_INTEGER {
            return Err(E::custom(format!("{UNSAFE}{v}")));
        }
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        // An integral double beyond the safe range came from a literal that
        // JS would round; a fractional one is an ordinary float.
        #[expect(clippy::cast_precision_loss, reason = "2^53-1 is exact in f64")]
        let limit = MAX_SAFE_INTEGER as f64;
        if v.fract() == 0.0 && v.abs() > limit {
            return Err(E::custom(format!("{UNSAFE}{v}")));
        }
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("non-finite number"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(StrictSeed {
            depth: self.depth + 1,
        })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            // One lookup per key: the vacant slot is filled once the value
            // is parsed.
            let slot = match out.entry(key) {
                serde_json::map::Entry::Vacant(slot) => slot,
                serde_json::map::Entry::Occupied(taken) => {
                    let shown: String = taken.key().chars().take(64).collect();
                    return Err(de::Error::custom(format!("{DUP}{shown}")));
                }
            };
            slot.insert(map.next_value_seed(StrictSeed {
                depth: self.depth + 1,
            })?);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_are_rejected_even_when_nested() {
        let err = parse_strict(br#"{"a":{"b":1,"b":2}}"#, 1024).unwrap_err();
        assert_eq!(err, JsonError::DuplicateKey("b".into()));
    }

    #[test]
    fn unsafe_integers_are_rejected_but_the_safe_edge_is_kept() {
        assert!(parse_strict(b"9007199254740991", 64).is_ok());
        assert!(parse_strict(b"-9007199254740991", 64).is_ok());
        for bad in [
            &b"9007199254740992"[..],
            b"9007199254740993",
            b"-9007199254740993",
            b"123456789012345678901234567890",
            b"1e300",
        ] {
            assert!(
                matches!(parse_strict(bad, 64), Err(JsonError::UnsafeInteger(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(parse_strict(b"1.5e300", 64).is_err());
        assert!(parse_strict(b"0.5", 64).is_ok());
    }

    #[test]
    fn depth_size_and_syntax_limits() {
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 2), "]".repeat(MAX_DEPTH + 2));
        assert_eq!(parse_strict(deep.as_bytes(), 4096), Err(JsonError::TooDeep));
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse_strict(ok.as_bytes(), 4096).is_ok());
        assert_eq!(parse_strict(b"[1,2]", 3), Err(JsonError::TooLarge(3)));
        assert!(matches!(
            parse_strict(b"{} x", 64),
            Err(JsonError::Syntax(_))
        ));
        assert!(matches!(
            parse_strict(br#""\ud800""#, 64),
            Err(JsonError::Syntax(_))
        ));
        assert!(matches!(
            parse_strict(b"\xff", 64),
            Err(JsonError::Syntax(_))
        ));
    }

    #[test]
    fn canonical_output_sorts_keys_and_normalizes_numbers() {
        let value = parse_strict(br#"{"b":[1E2,-0,0.1],"a":"\u00e9"}"#, 1024).unwrap();
        assert_eq!(
            to_canonical_string(&value).unwrap(),
            "{\"a\":\"\u{e9}\",\"b\":[100,0,0.1]}"
        );
    }
}
