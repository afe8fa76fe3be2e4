//! `sha256:<hex>` digests, the addresses of every object and event.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

use crate::error::{ProtocolError, Result};

/// A SHA-256 digest written as `sha256:` followed by 64 lowercase hex digits.
///
/// v0 knows only SHA-256; keeping the raw bytes (not the string) makes
/// equality, ordering and hashing cheap and makes a malformed digest
/// unrepresentable past the boundary.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest([u8; 32]);

impl Digest {
    /// The algorithm prefix of the string form.
    pub const PREFIX: &'static str = "sha256:";
    /// The algorithm name used in `/objects/{alg}/{hex}` and `/events/{alg}/{hex}`.
    pub const ALGORITHM: &'static str = "sha256";

    /// Hashes `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// Wraps raw digest bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Parses the full `sha256:<hex>` form with the v0 rule (lowercase only).
    ///
    /// # Errors
    /// Anything but `sha256:` and exactly 64 lowercase hex digits.
    pub fn parse(value: &str) -> Result<Self> {
        value
            .strip_prefix(Self::PREFIX)
            .and_then(|hex| Self::parse_hex(hex).ok())
            .ok_or_else(|| invalid(value))
    }

    /// Parses the bare 64-hex-digit form used in `/objects/sha256/{hex}`.
    ///
    /// # Errors
    /// Anything but exactly 64 lowercase hex digits.
    pub fn parse_hex(hex: &str) -> Result<Self> {
        // One pass, digit by digit: mirrors and servers parse several
        // digests per event, hundreds of thousands in a large log.
        let digits = hex.as_bytes();
        if digits.len() != 64 {
            return Err(invalid(hex));
        }
        let mut out = [0u8; 32];
        for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
            let &[high, low] = pair else {
                return Err(invalid(hex));
            };
            match (nibble(high), nibble(low)) {
                (Some(high), Some(low)) => *byte = (high << 4) | low,
                _ => return Err(invalid(hex)),
            }
        }
        Ok(Self(out))
    }

    /// The raw 32 bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 64 lowercase hex digits without the prefix.
    pub fn hex(&self) -> String {
        String::from_utf8_lossy(&self.hex_digits()).into_owned()
    }

    /// The hex digits on the stack: digests are formatted on every read
    /// (cache keys, ETags, query parameters), and `hex::encode` builds its
    /// string one `char` at a time.
    fn hex_digits(&self) -> [u8; 64] {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0; 64];
        for (pair, byte) in out.chunks_exact_mut(2).zip(self.0) {
            pair[0] = DIGITS[usize::from(byte >> 4)];
            pair[1] = DIGITS[usize::from(byte & 0x0f)];
        }
        out
    }
}

fn invalid(value: &str) -> ProtocolError {
    let shown: String = value.chars().take(80).collect();
    ProtocolError::invalid("digest", format!("invalid sha256 digest: {shown}"))
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.hex_digits();
        f.write_str(Self::PREFIX)?;
        f.write_str(std::str::from_utf8(&digits).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Digest {
    type Err = ProtocolError;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Incremental SHA-256 for streamed bodies, so large uploads are hashed
/// without being held in memory twice.
#[derive(Debug, Clone, Default)]
pub struct DigestWriter {
    hasher: Sha256,
    len: u64,
}

impl DigestWriter {
    /// A fresh hasher.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds more bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        self.len += bytes.len() as u64;
    }

    /// Bytes hashed so far.
    pub const fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was hashed yet.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The digest of everything fed.
    pub fn finish(self) -> Digest {
        Digest(self.hasher.finalize().into())
    }
}

/// The value of a lowercase hex digit.
const fn nibble(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_of_empty_input_matches_known_value() {
        assert_eq!(
            Digest::of(b"").to_string(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn parse_rejects_uppercase_short_and_wrong_prefix() {
        let hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert!(Digest::parse(&format!("sha256:{hex}")).is_ok());
        assert!(Digest::parse(&format!("sha256:{}", hex.to_uppercase())).is_err());
        assert!(Digest::parse(&format!("sha512:{hex}")).is_err());
        assert!(Digest::parse(&format!("sha256:{}", &hex[1..])).is_err());
        assert!(Digest::parse(hex).is_err());
        assert!(Digest::parse("sha256:").is_err());
        for (at, digit) in [
            (0, 'g'),
            (63, 'G'),
            (31, 'A'),
            (10, ' '),
            (40, '/'),
            (5, ':'),
        ] {
            let mut bad = hex.to_owned();
            bad.replace_range(at..=at, &digit.to_string());
            assert!(Digest::parse_hex(&bad).is_err(), "{bad}");
        }
        assert!(Digest::parse_hex(&format!("{}é", &hex[..62])).is_err());
    }

    #[test]
    fn hex_and_display_round_trip_every_byte_value() {
        for seed in 0..=255u8 {
            let digest = Digest::of(&[seed; 3]);
            assert_eq!(digest.hex(), hex::encode(digest.as_bytes()));
            assert_eq!(Digest::parse(&digest.to_string()).unwrap(), digest);
        }
        let every: Vec<u8> = (0..=255u8).collect();
        let mut raw = [0u8; 32];
        for chunk in every.chunks(32) {
            raw.copy_from_slice(chunk);
            let digest = Digest::parse_hex(&hex::encode(raw)).unwrap();
            assert_eq!(digest.hex(), hex::encode(raw));
        }
    }

    #[test]
    fn writer_matches_one_shot_hash() {
        let mut writer = DigestWriter::new();
        writer.update(b"hello ");
        writer.update(b"world");
        assert_eq!(writer.len(), 11);
        assert_eq!(writer.finish(), Digest::of(b"hello world"));
    }
}
