//! Package ids (`ecosystem:owner-domain/name`), owner domains, versions and
//! channel names, parsed with the exact v0 rules of the reference's
//! `packages/protocol/src/package-id.ts` and `package.ts`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{ProtocolError, Result};
use crate::text::{has_control_character, token_newtype};

/// A canonical package id: `ecosystem:owner-domain/name`.
///
/// The ecosystem is an open set of `[a-z0-9-]+` keys; the owner domain is a
/// lowercase DNS name with at least one dot; the name may contain `/` but no
/// empty segment, must not start with `@` (native syntax belongs to
/// projections) and has no control characters.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PackageId {
    raw: String,
    colon: usize,
    slash: usize,
}

impl PackageId {
    /// Longest accepted id in bytes (our bound; v0 sets none).
    pub const MAX_LEN: usize = 1024;

    /// Parses a package id.
    ///
    /// # Errors
    /// Any violation of the v0 id rules, with a message naming the rule.
    pub fn parse(value: &str) -> Result<Self> {
        let err = |reason: &str| ProtocolError::invalid("package", format!("{reason}: {value}"));
        if value.len() > Self::MAX_LEN {
            return Err(ProtocolError::invalid(
                "package",
                format!("package id must be at most {} bytes", Self::MAX_LEN),
            ));
        }
        let colon = match value.find(':') {
            Some(i) if i > 0 && i < value.len() - 1 => i,
            _ => return Err(err("Invalid package id")),
        };
        let ecosystem = &value[..colon];
        let name = &value[colon + 1..];
        if !ecosystem
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(err("Invalid package ecosystem"));
        }
        if has_control_character(name) {
            return Err(err("Invalid package name"));
        }
        if name.starts_with('@') {
            return Err(err("Package id must not include native package syntax"));
        }
        let Some(slash_in_name) = name.find('/').filter(|&i| i > 0) else {
            return Err(err("Package id must include an owner domain"));
        };
        let domain = &name[..slash_in_name];
        if !is_canonical_owner_domain(domain) {
            return Err(err("Package id owner must be a domain"));
        }
        if name[slash_in_name + 1..].split('/').any(str::is_empty) {
            return Err(err("Package id name must not contain empty segments"));
        }
        Ok(Self {
            raw: value.to_owned(),
            colon,
            slash: colon + 1 + slash_in_name,
        })
    }

    /// The whole id.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The ecosystem key, e.g. `npm`.
    pub fn ecosystem(&self) -> &str {
        &self.raw[..self.colon]
    }

    /// Everything after the colon: `owner-domain/name`. This is the manifest's
    /// and package state's `name` field.
    pub fn name(&self) -> &str {
        &self.raw[self.colon + 1..]
    }

    /// The owner domain whose `/.well-known/regesta.json` authorizes writes.
    pub fn owner_domain(&self) -> &str {
        &self.raw[self.colon + 1..self.slash]
    }

    /// The package name below the owner domain (`sdk` in `npm:some.dev/sdk`).
    pub fn local_name(&self) -> &str {
        &self.raw[self.slash + 1..]
    }

    /// The id as one URL path segment, encoded as ECMAScript's
    /// `encodeURIComponent` does (`npm%3Asome.dev%2Fsdk`), which is how every
    /// v0 client builds URLs.
    pub fn to_path_segment(&self) -> String {
        encode_uri_component(&self.raw)
    }
}

impl fmt::Display for PackageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl fmt::Debug for PackageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.raw, f)
    }
}

impl FromStr for PackageId {
    type Err = ProtocolError;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl Serialize for PackageId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.raw)
    }
}

impl<'de> Deserialize<'de> for PackageId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The v0 owner-domain rule: at most 253 bytes, at least one dot, every label
/// `[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?`.
pub fn is_canonical_owner_domain(value: &str) -> bool {
    value.len() <= 253
        && value.contains('.')
        && value.split('.').all(|label| {
            let bytes = label.as_bytes();
            let inner_ok = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-';
            let edge_ok = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
            !bytes.is_empty()
                && bytes.len() <= 63
                && bytes.iter().all(inner_ok)
                && bytes.first().is_some_and(edge_ok)
                && bytes.last().is_some_and(edge_ok)
        })
}

/// A canonical owner domain (see [`is_canonical_owner_domain`]).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OwnerDomain(String);

impl OwnerDomain {
    /// Parses a canonical owner domain.
    ///
    /// # Errors
    /// Not a canonical lowercase DNS name with at least one dot.
    pub fn parse(value: &str) -> Result<Self> {
        if is_canonical_owner_domain(value) {
            Ok(Self(value.to_owned()))
        } else {
            let shown: String = value.chars().take(80).collect();
            Err(ProtocolError::invalid(
                "domain",
                format!("must be a canonical lowercase DNS domain: {shown}"),
            ))
        }
    }

    /// The domain text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is `localhost` or below it, the only domains dev mode may
    /// serve from local files.
    pub fn is_localhost(&self) -> bool {
        self.0 == "localhost" || self.0.ends_with(".localhost")
    }
}

impl fmt::Display for OwnerDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for OwnerDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl Serialize for OwnerDomain {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for OwnerDomain {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

token_newtype!(
    /// A release version: any non-empty string without control characters
    /// (v0 leaves version syntax to each ecosystem's projection).
    Version,
    "version",
    256
);

token_newtype!(
    /// A channel (dist-tag) name such as `latest` or `beta`.
    ChannelName,
    "channel",
    256
);

impl ChannelName {
    /// The channel every publish moves: `latest`.
    pub fn latest() -> Self {
        Self("latest".to_owned())
    }
}

/// ECMAScript `encodeURIComponent`: everything but `A-Z a-z 0-9 - _ . ! ~ * ' ( )`
/// is percent-encoded as UTF-8 with uppercase hex.
pub fn encode_uri_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    for byte in value.bytes() {
        let keep = byte.is_ascii_alphanumeric()
            || matches!(
                byte,
                b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')'
            );
        if keep {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(byte >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(byte & 15)]));
        }
    }
    out
}

/// Strict percent-decoding of one URL path segment. Unlike lenient decoders it
/// rejects a `%` not followed by two hex digits and any decoding that is not
/// UTF-8, so `%ZZ` is a clear 400 instead of a silently different id.
///
/// # Errors
/// A malformed escape or invalid UTF-8 after decoding.
pub fn decode_path_segment(value: &str) -> Result<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| {
                    u8::from_str_radix(h, 16)
                        .ok()
                        .filter(|_| h.bytes().all(|b| b.is_ascii_hexdigit()))
                });
            let Some(byte) = hex else {
                return Err(ProtocolError::invalid("path", "malformed percent-encoding"));
            };
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map_err(|_| ProtocolError::invalid("path", "percent-encoding is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_parts_of_a_valid_id() {
        let id = PackageId::parse("npm:some.dev/sdk/extra").unwrap();
        assert_eq!(id.ecosystem(), "npm");
        assert_eq!(id.owner_domain(), "some.dev");
        assert_eq!(id.name(), "some.dev/sdk/extra");
        assert_eq!(id.local_name(), "sdk/extra");
        assert_eq!(id.to_path_segment(), "npm%3Asome.dev%2Fsdk%2Fextra");
    }

    #[test]
    fn rejects_ids_that_break_v0_rules() {
        for bad in [
            "",
            ":a.b/c",
            "npm:",
            "npm",
            "NPM:a.b/c",
            "npm:@a.b/c",
            "npm:a.b",
            "npm:a.b/",
            "npm:a.b//c",
            "npm:a.b/c/",
            "npm:localhost/c",
            "npm:A.b/c",
            "npm:-a.b/c",
            "npm:a-.b/c",
            "npm:a..b/c",
            "npm:a.b/c\u{7f}",
            "npm:a.b/c\n",
            "npm:a_b.c/d",
        ] {
            assert!(PackageId::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn accepts_edge_cases_the_reference_accepts() {
        for good in [
            "npm:a.b/c",
            "x-y:a.b/@c",
            "pypi:a.b/c:d",
            "go:example.com/mod/v2",
            "npm:a.b/ü",
            "0:1.2/3",
        ] {
            assert!(
                PackageId::parse(good).is_ok(),
                "{good:?} should be accepted"
            );
        }
    }

    #[test]
    fn owner_domain_label_limits() {
        let label63 = "a".repeat(63);
        assert!(is_canonical_owner_domain(&format!("{label63}.dev")));
        assert!(!is_canonical_owner_domain(&format!("a{label63}.dev")));
        let long = format!("{}.dev", ["a"; 125].join("."));
        assert!(long.len() <= 253 && is_canonical_owner_domain(&long));
        let too_long = format!("{}.dev", ["a"; 126].join("."));
        assert!(!is_canonical_owner_domain(&too_long));
    }

    #[test]
    fn path_segment_decoding_is_strict() {
        assert_eq!(decode_path_segment("npm%3Aa.b%2Fc").unwrap(), "npm:a.b/c");
        assert!(decode_path_segment("%ZZ").is_err());
        assert!(decode_path_segment("%4").is_err());
        assert!(decode_path_segment("%+1").is_err());
        assert!(decode_path_segment("%FF").is_err());
    }

    #[test]
    fn versions_and_channels_reject_control_characters() {
        assert!(Version::parse("1.0.0").is_ok());
        assert!(Version::parse("").is_err());
        assert!(Version::parse("1.0\t").is_err());
        assert!(ChannelName::parse("beta").is_ok());
        assert!(ChannelName::parse(&"x".repeat(257)).is_err());
    }
}
