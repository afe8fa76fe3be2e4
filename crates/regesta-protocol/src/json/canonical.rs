//! Canonical JSON (RFC 8785 / JCS) of a `serde_json::Value`, written
//! directly.
//!
//! `serde_json_canonicalizer` is exact but slow for hot paths: it boxes a
//! writer for every token, buffers every member of every object and parses
//! each key back from JSON to sort it. Event ids, manifests and envelopes
//! are canonicalized on every publish, page check and mirror, so this
//! writer walks the value once into one buffer. Numbers that are not safe
//! integers (fractions, huge integers) are still formatted by the crate,
//! whose ECMAScript number formatting is the part worth not repeating.

use serde_json::{Number, Value};

use super::{JsonError, MAX_SAFE_INTEGER};

/// Appends the canonical JSON of `value` to `out`.
///
/// # Errors
/// A number the crate cannot format (never for a parsed `Value`).
pub(super) fn write_value(value: &Value, out: &mut Vec<u8>) -> Result<(), JsonError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(number) => write_number(number, out)?,
        Value::String(text) => write_string(text, out),
        Value::Array(items) => {
            out.push(b'[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                write_value(item, out)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            // Members sorted by their keys' UTF-16 code units (for ASCII
            // keys, byte order). A map holds each key once, so the order
            // is total and an unstable sort is exact.
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_unstable_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push(b'{');
            for (n, (key, item)) in members.into_iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                write_string(key, out);
                out.push(b':');
                write_value(item, out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

/// A safe integer in decimal, as ECMAScript prints it; any other number
/// through the crate (as a double, ECMAScript's shortest form).
fn write_number(number: &Number, out: &mut Vec<u8>) -> Result<(), JsonError> {
    use std::io::Write as _;
    // Writing into a Vec cannot fail.
    if let Some(n) = number.as_u64().filter(|n| *n <= MAX_SAFE_INTEGER) {
        let _ = write!(out, "{n}");
    } else if let Some(n) = number
        .as_i64()
        .filter(|n| n.unsigned_abs() <= MAX_SAFE_INTEGER)
    {
        let _ = write!(out, "{n}");
    } else {
        let text = serde_json_canonicalizer::to_vec(number)
            .map_err(|e| JsonError::NotCanonicalizable(e.to_string()))?;
        out.extend_from_slice(&text);
    }
    Ok(())
}

/// A string as JCS writes it, which is `serde_json`'s escaping: `"` and `\`,
/// the short escapes `\b \f \n \r \t`, other control characters as
/// `\u00xx` (lowercase hex), everything else as is.
pub(super) fn write_string(text: &str, out: &mut Vec<u8>) {
    // Writing into a Vec cannot fail, and a str always serializes.
    let _ = serde_json::to_writer(&mut *out, text);
}
