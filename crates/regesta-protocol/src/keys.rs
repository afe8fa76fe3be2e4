//! Signature primitives for the two v0 key formats: Ed25519 JWK (RFC 8037)
//! with base64url signatures over the canonical payload bytes, and OpenSSH
//! `ssh-ed25519` keys with armored SSHSIG signatures in namespace `regesta`.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use ssh_key::{HashAlg, LineEnding, PrivateKey, PublicKey, SshSig};

use crate::digest::Digest;
use crate::error::{ProtocolError, Result};

/// The SSHSIG namespace every Regesta signature uses, so a `git` or `file`
/// signature made with the same key can never be replayed as a registry write.
pub const SSHSIG_NAMESPACE: &str = "regesta";

fn sig_err(message: impl Into<String>) -> ProtocolError {
    ProtocolError::Signature(message.into())
}

/// Keys remembered by [`verifying_key`]; past this many it starts over.
const KNOWN_KEYS: usize = 1024;

/// The Ed25519 key `bytes` encode, if they are a valid point. Decompressing
/// a point costs about as much as hashing a few kilobytes, every parsed
/// event carries its signer's key, and a registry's events are signed by
/// few keys, so valid keys are remembered (a bounded set).
fn verifying_key(bytes: &[u8; 32]) -> Option<VerifyingKey> {
    use std::collections::HashMap;
    use std::sync::{LazyLock, Mutex, PoisonError};
    static KEYS: LazyLock<Mutex<HashMap<[u8; 32], VerifyingKey>>> = LazyLock::new(Mutex::default);
    let known = KEYS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(bytes)
        .copied();
    if known.is_some() {
        return known;
    }
    let key = VerifyingKey::from_bytes(bytes).ok()?;
    let mut keys = KEYS.lock().unwrap_or_else(PoisonError::into_inner);
    if keys.len() >= KNOWN_KEYS {
        keys.clear();
    }
    keys.insert(*bytes, key);
    Some(key)
}

/// An Ed25519 public key as an OKP JWK: `{"crv":"Ed25519","kty":"OKP","x":…}`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, try_from = "RawJwk", into = "RawJwk")]
pub struct Ed25519Jwk {
    key: VerifyingKey,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJwk {
    crv: String,
    kty: String,
    x: String,
}

impl TryFrom<RawJwk> for Ed25519Jwk {
    type Error = ProtocolError;
    fn try_from(raw: RawJwk) -> Result<Self> {
        if raw.kty != "OKP" {
            return Err(ProtocolError::invalid("publicKeyJwk.kty", "must be OKP"));
        }
        if raw.crv != "Ed25519" {
            return Err(ProtocolError::invalid(
                "publicKeyJwk.crv",
                "must be Ed25519",
            ));
        }
        Self::from_x(&raw.x)
    }
}

impl From<Ed25519Jwk> for RawJwk {
    fn from(jwk: Ed25519Jwk) -> Self {
        Self {
            crv: "Ed25519".into(),
            kty: "OKP".into(),
            x: jwk.x(),
        }
    }
}

impl std::fmt::Debug for Ed25519Jwk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ed25519Jwk({})", self.x())
    }
}

impl Ed25519Jwk {
    /// Parses the `x` member: 43 base64url characters encoding 32 bytes.
    ///
    /// # Errors
    /// Wrong length, wrong alphabet, or not a valid curve point.
    pub fn from_x(x: &str) -> Result<Self> {
        let bad = || ProtocolError::invalid("publicKeyJwk.x", "must be a base64url 32-byte key");
        if x.len() != 43 {
            return Err(bad());
        }
        let bytes: [u8; 32] = URL_SAFE_NO_PAD
            .decode(x)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(bad)?;
        let key = verifying_key(&bytes).ok_or_else(bad)?;
        Ok(Self { key })
    }

    /// Wraps a verifying key.
    pub const fn from_key(key: VerifyingKey) -> Self {
        Self { key }
    }

    /// The base64url `x` member.
    pub fn x(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.key.as_bytes())
    }

    /// Verifies a base64url (no padding) Ed25519 signature over `message`.
    ///
    /// Uses strict verification (rejects non-canonical signatures and weak
    /// keys), so one signed intent has exactly one accepted signature.
    ///
    /// # Errors
    /// A malformed or non-verifying signature.
    pub fn verify(&self, message: &[u8], signature: &str) -> Result<()> {
        let bytes: [u8; 64] = (signature.len() == 86)
            .then(|| URL_SAFE_NO_PAD.decode(signature).ok())
            .flatten()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| sig_err("Invalid write authorization signature"))?;
        self.key
            .verify_strict(message, &Signature::from_bytes(&bytes))
            .map_err(|_| sig_err("Invalid write authorization signature"))
    }
}

/// Signs `message` with an Ed25519 key and returns base64url without padding.
pub fn sign_ed25519(key: &SigningKey, message: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(key.sign(message).to_bytes())
}

/// Parses a private key JWK's `d` member into a signing key.
///
/// # Errors
/// Not 32 base64url-encoded bytes.
pub fn signing_key_from_d(d: &str) -> Result<SigningKey> {
    let bytes: [u8; 32] = URL_SAFE_NO_PAD
        .decode(d)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            ProtocolError::invalid("privateKeyJwk.d", "must be a base64url 32-byte key")
        })?;
    Ok(SigningKey::from_bytes(&bytes))
}

/// An `ssh-ed25519` public key, kept in its normalized one-line form
/// `ssh-ed25519 <base64 blob>` (no comment), which is what bindings and
/// proofs carry.
#[derive(Clone, PartialEq, Eq)]
pub struct SshEd25519Key {
    key: PublicKey,
    line: String,
    /// The decoded key blob (SSH wire encoding), hashed for the kid.
    blob: Vec<u8>,
}

impl std::fmt::Debug for SshEd25519Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SshEd25519Key({})", self.line)
    }
}

impl SshEd25519Key {
    /// Parses an OpenSSH public key line; a trailing comment is allowed and
    /// dropped.
    ///
    /// # Errors
    /// Not an `ssh-ed25519` key line.
    pub fn parse(line: &str) -> Result<Self> {
        let bad = || ProtocolError::invalid("publicKey", "must be an ssh-ed25519 public key line");
        let mut parts = line.trim().split_ascii_whitespace();
        let (Some("ssh-ed25519"), Some(blob)) = (parts.next(), parts.next()) else {
            return Err(bad());
        };
        let key = PublicKey::from_openssh(&format!("ssh-ed25519 {blob}")).map_err(|_| bad())?;
        if key.algorithm() != ssh_key::Algorithm::Ed25519 {
            return Err(bad());
        }
        let raw_blob = STANDARD.decode(blob).map_err(|_| bad())?;
        Ok(Self {
            line: format!("ssh-ed25519 {blob}"),
            key,
            blob: raw_blob,
        })
    }

    /// The normalized `ssh-ed25519 <base64>` line.
    pub fn line(&self) -> &str {
        &self.line
    }

    /// The v0 kid: `ssh-ed25519:` + base64url(no padding) of SHA-256 of the
    /// public key blob, i.e. OpenSSH's `SHA256:` fingerprint in the URL-safe
    /// alphabet.
    pub fn kid(&self) -> String {
        format!(
            "ssh-ed25519:{}",
            URL_SAFE_NO_PAD.encode(Digest::of(&self.blob).as_bytes())
        )
    }

    /// Verifies an armored SSHSIG over `message` in namespace `regesta`,
    /// made by this key (any hash the format allows).
    ///
    /// # Errors
    /// Malformed armor, other namespace, other key, or a bad signature.
    pub fn verify(&self, message: &[u8], armored: &str) -> Result<()> {
        let sig = SshSig::from_pem(armored.trim().as_bytes())
            .map_err(|_| sig_err("Invalid SSH signature encoding"))?;
        if sig.public_key() != self.key.key_data() {
            return Err(sig_err("SSH signature was made by a different key"));
        }
        self.key
            .verify(SSHSIG_NAMESPACE, message, &sig)
            .map_err(|_| sig_err("Invalid write authorization signature"))
    }
}

/// Signs `message` with an OpenSSH private key (SHA-512, namespace
/// `regesta`) and returns the armored signature with LF line breaks and no
/// trailing newline, as the reference CLI sends it.
///
/// # Errors
/// An encrypted or non-Ed25519 key, or an encoding failure.
pub fn sign_sshsig(key: &PrivateKey, message: &[u8]) -> Result<String> {
    if key.is_encrypted() {
        return Err(sig_err(
            "encrypted SSH private keys are not supported; use --ssh-signing-program",
        ));
    }
    let sig = key
        .sign(SSHSIG_NAMESPACE, HashAlg::Sha512, message)
        .map_err(|e| sig_err(format!("SSH signing failed: {e}")))?;
    let pem = sig
        .to_pem(LineEnding::LF)
        .map_err(|e| sig_err(format!("SSH signature encoding failed: {e}")))?;
    Ok(pem.trim_end().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ed25519_round_trip_and_tamper_detection() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let jwk = Ed25519Jwk::from_key(key.verifying_key());
        let sig = sign_ed25519(&key, b"payload");
        assert!(jwk.verify(b"payload", &sig).is_ok());
        assert!(jwk.verify(b"payloaD", &sig).is_err());
        assert!(jwk.verify(b"payload", &sig[1..]).is_err());
        assert!(Ed25519Jwk::from_x(&jwk.x()).is_ok());
        assert!(Ed25519Jwk::from_x("short").is_err());
    }
}
