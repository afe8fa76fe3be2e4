//! Byte-exact reproduction of the reference implementation's
//! `canonicalJson(JSON.parse(text))`, including the JavaScript behaviours our
//! strict parser refuses: the last of duplicate keys wins, integers beyond
//! 2^53 round to the nearest double, and lone UTF-16 surrogates survive as
//! `\udxxx` escapes.
//!
//! Writers never use this; verifiers and mirrors use it to recompute digests
//! of documents another v0 implementation produced. Strings are kept as UTF-16
//! code units because that is what JavaScript sorts and escapes by.

use crate::json::{JsonError, MAX_DEPTH};

enum JsValue {
    Null,
    Bool(bool),
    Number(f64),
    String(Vec<u16>),
    Array(Vec<JsValue>),
    Object(Vec<(Vec<u16>, JsValue)>),
}

/// Canonicalizes arbitrary JSON text exactly as the reference's
/// `canonicalJson(JSON.parse(text))` does.
///
/// # Errors
/// Text `JSON.parse` rejects, nesting deeper than [`MAX_DEPTH`], or numbers
/// that overflow to infinity (which the reference rejects too).
pub fn canonicalize_reference_text(text: &str) -> Result<String, JsonError> {
    let mut parser = Parser {
        src: text.as_bytes(),
        pos: 0,
    };
    parser.skip_ws();
    let value = parser.value(0)?;
    parser.skip_ws();
    if parser.pos != parser.src.len() {
        return Err(parser.error("unexpected trailing characters"));
    }
    let mut out = String::with_capacity(text.len());
    write_value(&value, &mut out)?;
    Ok(out)
}

struct Parser<'a> {
    src: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn error(&self, what: &str) -> JsonError {
        JsonError::Syntax(format!("{what} at byte {}", self.pos))
    }

    fn skip_ws(&mut self) {
        while matches!(self.src.get(self.pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, literal: &[u8]) -> bool {
        if self.src[self.pos..].starts_with(literal) {
            self.pos += literal.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<JsValue, JsonError> {
        if depth > MAX_DEPTH {
            return Err(JsonError::TooDeep);
        }
        match self.src.get(self.pos) {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => Ok(JsValue::String(self.string()?)),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ if self.eat(b"null") => Ok(JsValue::Null),
            _ if self.eat(b"true") => Ok(JsValue::Bool(true)),
            _ if self.eat(b"false") => Ok(JsValue::Bool(false)),
            _ => Err(self.error("unexpected token")),
        }
    }

    fn object(&mut self, depth: usize) -> Result<JsValue, JsonError> {
        self.pos += 1;
        let mut members: Vec<(Vec<u16>, JsValue)> = Vec::new();
        self.skip_ws();
        if self.eat(b"}") {
            return Ok(JsValue::Object(members));
        }
        loop {
            self.skip_ws();
            if self.src.get(self.pos) != Some(&b'"') {
                return Err(self.error("expected a string key"));
            }
            let key = self.string()?;
            self.skip_ws();
            if !self.eat(b":") {
                return Err(self.error("expected ':'"));
            }
            self.skip_ws();
            let value = self.value(depth + 1)?;
            if let Some(slot) = members.iter_mut().find(|(k, _)| *k == key) {
                slot.1 = value;
            } else {
                members.push((key, value));
            }
            self.skip_ws();
            if self.eat(b",") {
                continue;
            }
            if self.eat(b"}") {
                return Ok(JsValue::Object(members));
            }
            return Err(self.error("expected ',' or '}'"));
        }
    }

    fn array(&mut self, depth: usize) -> Result<JsValue, JsonError> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.eat(b"]") {
            return Ok(JsValue::Array(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            if self.eat(b",") {
                continue;
            }
            if self.eat(b"]") {
                return Ok(JsValue::Array(items));
            }
            return Err(self.error("expected ',' or ']'"));
        }
    }

    fn number(&mut self) -> Result<JsValue, JsonError> {
        let start = self.pos;
        let digits = |p: &mut Self| {
            let s = p.pos;
            while p.src.get(p.pos).is_some_and(u8::is_ascii_digit) {
                p.pos += 1;
            }
            p.pos - s
        };
        self.eat(b"-");
        if self.eat(b"0") {
            // A leading zero may not be followed by more digits.
        } else if digits(self) == 0 {
            return Err(self.error("invalid number"));
        }
        if self.eat(b".") && digits(self) == 0 {
            return Err(self.error("invalid number"));
        }
        if matches!(self.src.get(self.pos), Some(b'e' | b'E')) {
            self.pos += 1;
            let _ = self.eat(b"+") || self.eat(b"-");
            if digits(self) == 0 {
                return Err(self.error("invalid number"));
            }
        }
        let literal = std::str::from_utf8(&self.src[start..self.pos])
            .map_err(|_| self.error("invalid number"))?;
        let value: f64 = literal.parse().map_err(|_| self.error("invalid number"))?;
        Ok(JsValue::Number(value))
    }

    fn hex4(&mut self) -> Result<u16, JsonError> {
        let hex = self
            .src
            .get(self.pos..self.pos + 4)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .ok_or_else(|| self.error("invalid \\u escape"))?;
        let text = std::str::from_utf8(hex).map_err(|_| self.error("invalid \\u escape"))?;
        let unit = u16::from_str_radix(text, 16).map_err(|_| self.error("invalid \\u escape"))?;
        self.pos += 4;
        Ok(unit)
    }

    fn string(&mut self) -> Result<Vec<u16>, JsonError> {
        self.pos += 1;
        let mut units = Vec::new();
        loop {
            let Some(&byte) = self.src.get(self.pos) else {
                return Err(self.error("unterminated string"));
            };
            match byte {
                b'"' => {
                    self.pos += 1;
                    return Ok(units);
                }
                b'\\' => {
                    self.pos += 1;
                    let Some(&esc) = self.src.get(self.pos) else {
                        return Err(self.error("unterminated escape"));
                    };
                    self.pos += 1;
                    let unit = match esc {
                        b'"' => 0x22,
                        b'\\' => 0x5c,
                        b'/' => 0x2f,
                        b'b' => 0x08,
                        b'f' => 0x0c,
                        b'n' => 0x0a,
                        b'r' => 0x0d,
                        b't' => 0x09,
                        b'u' => self.hex4()?,
                        _ => return Err(self.error("invalid escape")),
                    };
                    units.push(unit);
                }
                0x00..=0x1f => return Err(self.error("control character in string")),
                _ => {
                    // The input is a &str, so a full UTF-8 character starts here.
                    let rest = std::str::from_utf8(&self.src[self.pos..])
                        .map_err(|_| self.error("invalid UTF-8"))?;
                    let ch = rest
                        .chars()
                        .next()
                        .ok_or_else(|| self.error("invalid UTF-8"))?;
                    let mut buf = [0u16; 2];
                    units.extend_from_slice(ch.encode_utf16(&mut buf));
                    self.pos += ch.len_utf8();
                }
            }
        }
    }
}

fn write_value(value: &JsValue, out: &mut String) -> Result<(), JsonError> {
    match value {
        JsValue::Null => out.push_str("null"),
        JsValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        JsValue::Number(n) => write_number(*n, out)?,
        JsValue::String(units) => write_string(units, out),
        JsValue::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out)?;
            }
            out.push(']');
        }
        JsValue::Object(members) => {
            let mut sorted: Vec<&(Vec<u16>, JsValue)> = members.iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            out.push('{');
            for (i, (key, item)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(key, out);
                out.push(':');
                write_value(item, out)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

/// ECMAScript `Number.prototype.toString` (shortest round-trip), as RFC 8785
/// requires.
fn write_number(n: f64, out: &mut String) -> Result<(), JsonError> {
    if !n.is_finite() {
        return Err(JsonError::NotCanonicalizable(
            "Canonical JSON does not support non-finite numbers".into(),
        ));
    }
    if n == 0.0 {
        out.push('0');
    } else {
        out.push_str(ryu_js::Buffer::new().format_finite(n));
    }
    Ok(())
}

/// `JSON.stringify` string escaping (well-formed variant): short escapes for
/// `\b \f \n \r \t`, `\u00xx` for other controls, `\udxxx` for lone
/// surrogates, everything else literal.
fn write_string(units: &[u16], out: &mut String) {
    out.push('"');
    for item in char::decode_utf16(units.iter().copied()) {
        match item {
            Ok('"') => out.push_str("\\\""),
            Ok('\\') => out.push_str("\\\\"),
            Ok('\u{8}') => out.push_str("\\b"),
            Ok('\u{c}') => out.push_str("\\f"),
            Ok('\n') => out.push_str("\\n"),
            Ok('\r') => out.push_str("\\r"),
            Ok('\t') => out.push_str("\\t"),
            Ok(c) if c < '\u{20}' => push_unit_escape(u32::from(c), out),
            Ok(c) => out.push(c),
            Err(lone) => push_unit_escape(u32::from(lone.unpaired_surrogate()), out),
        }
    }
    out.push('"');
}

/// Appends `\uXXXX` with lowercase hex, as `JSON.stringify` writes it.
fn push_unit_escape(unit: u32, out: &mut String) {
    use std::fmt::Write as _;
    let _ = write!(out, "\\u{unit:04x}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn javascript_quirks_are_reproduced() {
        assert_eq!(
            canonicalize_reference_text(r#"{"a":1,"a":2}"#).unwrap(),
            r#"{"a":2}"#
        );
        assert_eq!(
            canonicalize_reference_text("9007199254740993").unwrap(),
            "9007199254740992"
        );
        assert_eq!(
            canonicalize_reference_text(r#""\ud800""#).unwrap(),
            r#""\ud800""#
        );
        assert_eq!(canonicalize_reference_text("[-0]").unwrap(), "[0]");
        assert!(canonicalize_reference_text("1e400").is_err());
        assert!(canonicalize_reference_text("01").is_err());
        assert!(canonicalize_reference_text("[1,]").is_err());
    }
}
