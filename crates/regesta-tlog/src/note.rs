//! c2sp.org/signed-note with Ed25519 (type `0x01`) signatures and
//! c2sp.org/tlog-cosignature `cosignature/v1` (type `0x04`, timestamped
//! Ed25519) witness signatures, plus the Go `note` key text formats.

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest as _, Sha256};

use crate::error::{Result, TlogError};

/// Signature type of plain Ed25519 note signatures.
pub const ALG_ED25519: u8 = 0x01;
/// Signature type of `cosignature/v1` witness signatures.
pub const ALG_COSIGNATURE_V1: u8 = 0x04;
/// Largest note accepted.
pub const MAX_NOTE_BYTES: usize = 64 * 1024;
/// Most signature lines accepted (the spec requires at least 16).
pub const MAX_SIGNATURES: usize = 100;

const DASH: &str = "\u{2014} ";

fn bad(what: &'static str, reason: &str) -> TlogError {
    TlogError::malformed(what, reason)
}

fn check_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.contains('+')
        || name.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(bad("key name", "must be non-empty, without spaces or +"));
    }
    Ok(())
}

/// `SHA-256(name ‖ "\n" ‖ type ‖ public key)[:4]`.
pub fn key_id(name: &str, alg: u8, public: &[u8; 32]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', alg]);
    h.update(public);
    let digest = h.finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

fn hex4(id: [u8; 4]) -> String {
    id.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// A key that signs notes (a log's checkpoints, or a witness's
/// cosignatures).
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    alg: u8,
    key: SigningKey,
    id: [u8; 4],
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NoteSigner({})", self.verifier_key())
    }
}

impl NoteSigner {
    /// A signer named `name` of type `alg` ([`ALG_ED25519`] or
    /// [`ALG_COSIGNATURE_V1`]).
    ///
    /// # Errors
    /// An invalid name or type.
    pub fn new(name: &str, alg: u8, key: SigningKey) -> Result<Self> {
        check_name(name)?;
        if alg != ALG_ED25519 && alg != ALG_COSIGNATURE_V1 {
            return Err(bad("signer", "unsupported signature type"));
        }
        let id = key_id(name, alg, key.verifying_key().as_bytes());
        Ok(Self {
            name: name.to_owned(),
            alg,
            key,
            id,
        })
    }

    /// Parses Go's signer key text, `PRIVATE+KEY+<name>+<hex id>+<base64(type ‖ seed)>`.
    ///
    /// # Errors
    /// Malformed text or an id that does not match.
    pub fn from_text(text: &str) -> Result<Self> {
        let rest = text
            .trim()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or_else(|| bad("signer key", "must start with PRIVATE+KEY+"))?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("signer key", "expected name+id+key"));
        };
        let raw = STANDARD
            .decode(key)
            .map_err(|_| bad("signer key", "key is not base64"))?;
        let (alg, seed) = raw
            .split_first()
            .ok_or_else(|| bad("signer key", "empty key"))?;
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| bad("signer key", "seed must be 32 bytes"))?;
        let signer = Self::new(name, *alg, SigningKey::from_bytes(&seed))?;
        if hex4(signer.id) != id {
            return Err(bad("signer key", "key id does not match"));
        }
        Ok(signer)
    }

    /// Go's signer key text (secret: store it like a password).
    pub fn to_text(&self) -> String {
        let mut raw = vec![self.alg];
        raw.extend_from_slice(self.key.as_bytes());
        format!(
            "PRIVATE+KEY+{}+{}+{}",
            self.name,
            hex4(self.id),
            STANDARD.encode(raw)
        )
    }

    /// The verifier key text: `<name>+<hex id>+<base64(type ‖ public key)>`.
    pub fn verifier_key(&self) -> String {
        let mut raw = vec![self.alg];
        raw.extend_from_slice(self.key.verifying_key().as_bytes());
        format!("{}+{}+{}", self.name, hex4(self.id), STANDARD.encode(raw))
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The matching verifier.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            alg: self.alg,
            key: self.key.verifying_key(),
            id: self.id,
        }
    }

    /// The signature line for note `text` (which must end in a newline).
    /// A cosigner signs `cosignature/v1\ntime <timestamp>\n` ‖ `text` and
    /// prefixes the signature with the timestamp; a plain signer ignores
    /// `timestamp`.
    ///
    /// # Errors
    /// `text` does not end in a newline.
    pub fn sign_line(&self, text: &str, timestamp: u64) -> Result<String> {
        if !text.ends_with('\n') {
            return Err(bad("note", "text must end with a newline"));
        }
        let mut blob = self.id.to_vec();
        if self.alg == ALG_COSIGNATURE_V1 {
            let message = cosigned_message(text, timestamp);
            blob.extend_from_slice(&timestamp.to_be_bytes());
            blob.extend_from_slice(&self.key.sign(message.as_bytes()).to_bytes());
        } else {
            blob.extend_from_slice(&self.key.sign(text.as_bytes()).to_bytes());
        }
        Ok(format!("{DASH}{} {}\n", self.name, STANDARD.encode(blob)))
    }

    /// `text` signed: the text, a blank line, one signature line.
    ///
    /// # Errors
    /// `text` does not end in a newline.
    pub fn sign(&self, text: &str, timestamp: u64) -> Result<String> {
        Ok(format!("{text}\n{}", self.sign_line(text, timestamp)?))
    }
}

fn cosigned_message(text: &str, timestamp: u64) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{text}")
}

/// A trusted public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    alg: u8,
    key: VerifyingKey,
    id: [u8; 4],
}

impl NoteVerifier {
    /// Parses verifier key text `<name>+<hex id>+<base64(type ‖ key)>`.
    ///
    /// # Errors
    /// Malformed text, an unsupported type or an id that does not match.
    pub fn from_text(text: &str) -> Result<Self> {
        let mut parts = text.trim().splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("verifier key", "expected name+id+key"));
        };
        check_name(name)?;
        let raw = STANDARD
            .decode(key)
            .map_err(|_| bad("verifier key", "key is not base64"))?;
        let (alg, public) = raw
            .split_first()
            .ok_or_else(|| bad("verifier key", "empty key"))?;
        if *alg != ALG_ED25519 && *alg != ALG_COSIGNATURE_V1 {
            return Err(bad("verifier key", "unsupported signature type"));
        }
        let public: [u8; 32] = public
            .try_into()
            .map_err(|_| bad("verifier key", "public key must be 32 bytes"))?;
        let expected = key_id(name, *alg, &public);
        if hex4(expected) != id {
            return Err(bad("verifier key", "key id does not match"));
        }
        let key = VerifyingKey::from_bytes(&public)
            .map_err(|_| bad("verifier key", "not an Ed25519 public key"))?;
        Ok(Self {
            name: name.to_owned(),
            alg: *alg,
            key,
            id: expected,
        })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this is a witness (cosignature) key.
    pub fn is_cosigner(&self) -> bool {
        self.alg == ALG_COSIGNATURE_V1
    }

    /// The verifier key text.
    pub fn to_text(&self) -> String {
        let mut raw = vec![self.alg];
        raw.extend_from_slice(self.key.as_bytes());
        format!("{}+{}+{}", self.name, hex4(self.id), STANDARD.encode(raw))
    }

    /// Checks `blob` (key id stripped) over `text`: the timestamp for a
    /// cosignature, 0 for a plain signature.
    fn verify(&self, text: &str, blob: &[u8]) -> Result<u64> {
        let fail = || TlogError::Signature(format!("signature by {} does not verify", self.name));
        if self.alg == ALG_COSIGNATURE_V1 {
            let (stamp, sig) = blob.split_at_checked(8).ok_or_else(fail)?;
            let timestamp = u64::from_be_bytes(stamp.try_into().map_err(|_| fail())?);
            if timestamp > i64::MAX as u64 {
                return Err(fail());
            }
            let sig = Signature::from_slice(sig).map_err(|_| fail())?;
            let message = cosigned_message(text, timestamp);
            self.key
                .verify_strict(message.as_bytes(), &sig)
                .map_err(|_| fail())?;
            Ok(timestamp)
        } else {
            let sig = Signature::from_slice(blob).map_err(|_| fail())?;
            self.key
                .verify_strict(text.as_bytes(), &sig)
                .map_err(|_| fail())?;
            Ok(0)
        }
    }
}

/// One signature line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// Key name.
    pub name: String,
    /// Key id.
    pub id: [u8; 4],
    /// The signature bytes after the key id.
    pub blob: Vec<u8>,
}

/// A parsed (not yet verified) signed note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The text, including its final newline.
    pub text: String,
    /// The signature lines.
    pub signatures: Vec<NoteSignature>,
}

impl Note {
    /// Parses a signed note.
    ///
    /// # Errors
    /// Too large, not UTF-8, control characters, no blank line before the
    /// signatures, malformed or too many signature lines.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_NOTE_BYTES {
            return Err(bad("note", "too large"));
        }
        let all = std::str::from_utf8(bytes).map_err(|_| bad("note", "not UTF-8"))?;
        if all.chars().any(|c| c.is_control() && c != '\n') {
            return Err(bad("note", "control characters"));
        }
        if !all.ends_with('\n') {
            return Err(bad("note", "must end with a newline"));
        }
        let split = all
            .rfind("\n\n")
            .ok_or_else(|| bad("note", "no blank line before the signatures"))?;
        let text = &all[..=split];
        let lines = &all[split + 2..];
        let mut signatures = Vec::new();
        for line in lines.lines() {
            let rest = line
                .strip_prefix(DASH)
                .ok_or_else(|| bad("note", "signature lines start with an em dash"))?;
            let (name, blob) = rest
                .split_once(' ')
                .ok_or_else(|| bad("note", "signature line needs a name and a signature"))?;
            check_name(name)?;
            let raw = STANDARD
                .decode(blob)
                .map_err(|_| bad("note", "signature is not base64"))?;
            let (id, blob) = raw
                .split_first_chunk::<4>()
                .ok_or_else(|| bad("note", "signature too short"))?;
            signatures.push(NoteSignature {
                name: name.to_owned(),
                id: *id,
                blob: blob.to_vec(),
            });
            if signatures.len() > MAX_SIGNATURES {
                return Err(bad("note", "too many signatures"));
            }
        }
        if signatures.is_empty() {
            return Err(bad("note", "no signatures"));
        }
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }

    /// Verifies the signatures of known keys (unknown ones are ignored).
    /// Returns the verifying keys' names with the cosignature timestamps (0
    /// for plain signatures).
    ///
    /// # Errors
    /// A known key's signature fails, or no known key signed.
    pub fn verify(&self, verifiers: &[NoteVerifier]) -> Result<Vec<(String, u64)>> {
        let mut verified = Vec::new();
        for signature in &self.signatures {
            let Some(key) = verifiers
                .iter()
                .find(|v| v.name == signature.name && v.id == signature.id)
            else {
                continue;
            };
            let timestamp = key.verify(&self.text, &signature.blob)?;
            if !verified.iter().any(|(n, _)| n == &key.name) {
                verified.push((key.name.clone(), timestamp));
            }
        }
        if verified.is_empty() {
            return Err(TlogError::Signature("no signature by a known key".into()));
        }
        Ok(verified)
    }

    /// The note with `line` (a signature line) added.
    pub fn render(&self) -> String {
        let mut out = format!("{}\n", self.text);
        for s in &self.signatures {
            let mut raw = s.id.to_vec();
            raw.extend_from_slice(&s.blob);
            let _ = writeln!(out, "{DASH}{} {}", s.name, STANDARD.encode(raw));
        }
        out
    }
}
