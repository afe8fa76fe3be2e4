//! `regesta.domain-binding`: the document an owner domain publishes at
//! `https://<domain>/.well-known/regesta.json` to name its write keys.

use serde::Deserialize as _;
use serde_json::Value;

use crate::authorization::{AuthSignature, MAX_TOKEN_LEN, ProofKey};
use crate::error::{ProtocolError, Result};
use crate::fields::Fields;
use crate::ids::OwnerDomain;
use crate::json::parse_strict;
use crate::keys::{Ed25519Jwk, SshEd25519Key};
use crate::timestamp::Timestamp;

/// Largest binding document accepted (the reference's limit too).
pub const MAX_BINDING_BYTES: usize = 64 * 1024;
/// Most keys one binding may list.
pub const MAX_BINDING_KEYS: usize = 64;

/// One `regesta-write` key of a binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingKey {
    /// Key id, matched by string equality.
    pub kid: String,
    /// The public key and its algorithm.
    pub key: ProofKey,
    /// Not valid before this instant.
    pub created_at: Option<Timestamp>,
    /// Not valid at or after this instant.
    pub expires_at: Option<Timestamp>,
}

impl BindingKey {
    /// Whether the key is valid at `now`.
    pub fn is_active_at(&self, now: Timestamp) -> bool {
        self.created_at.is_none_or(|c| c <= now) && self.expires_at.is_none_or(|e| now < e)
    }

    /// Whether this key can check `signature` (same algorithm).
    pub const fn matches_alg(&self, signature: &AuthSignature) -> bool {
        matches!(
            (&self.key, signature),
            (ProofKey::Jwk(_), AuthSignature::EdDsa(_))
                | (ProofKey::Ssh(_), AuthSignature::SshEd25519(_))
        )
    }
}

/// A parsed domain binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainBinding {
    /// The domain the binding speaks for.
    pub domain: OwnerDomain,
    /// Its write keys.
    pub keys: Vec<BindingKey>,
}

impl DomainBinding {
    /// Parses binding bytes exactly as fetched and checks they speak for
    /// `expected_domain`.
    ///
    /// # Errors
    /// Too large, not strict JSON, wrong shape, or another domain.
    pub fn parse(bytes: &[u8], expected_domain: &OwnerDomain) -> Result<Self> {
        let value = parse_strict(bytes, MAX_BINDING_BYTES)?;
        let binding = Self::from_json(&value)?;
        if &binding.domain != expected_domain {
            return Err(ProtocolError::invalid(
                "domain",
                "Domain binding domain mismatch",
            ));
        }
        Ok(binding)
    }

    /// Parses a binding object.
    ///
    /// # Errors
    /// Wrong shape.
    pub fn from_json(value: &Value) -> Result<Self> {
        let mut f = Fields::new(value, "Domain binding")?;
        f.constant("object", "regesta.domain-binding")?;
        let domain = OwnerDomain::parse(f.str("domain")?)?;
        let Value::Array(items) = f.req("keys")? else {
            return Err(ProtocolError::invalid(
                "keys",
                "Domain binding keys must be an array",
            ));
        };
        if items.is_empty() || items.len() > MAX_BINDING_KEYS {
            return Err(ProtocolError::invalid(
                "keys",
                format!("must list 1 to {MAX_BINDING_KEYS} keys"),
            ));
        }
        let keys = items
            .iter()
            .enumerate()
            .map(|(i, item)| parse_key(item).map_err(|e| e.within(&format!("keys[{i}]"))))
            .collect::<Result<Vec<_>>>()?;
        f.finish()?;
        Ok(Self { domain, keys })
    }

    /// The key named `kid` that is active at `now`, if any.
    pub fn active_key(&self, kid: &str, now: Timestamp) -> Option<&BindingKey> {
        self.keys
            .iter()
            .find(|k| k.kid == kid && k.is_active_at(now))
    }
}

fn parse_key(value: &Value) -> Result<BindingKey> {
    let mut f = Fields::new(value, "Domain binding key")?;
    f.constant("use", "regesta-write")?;
    let kid = f.token("kid", MAX_TOKEN_LEN)?.to_owned();
    let key = match f.str("alg")? {
        "EdDSA" => ProofKey::Jwk(
            Ed25519Jwk::deserialize(f.req("publicKeyJwk")?)
                .map_err(|e| ProtocolError::invalid("publicKeyJwk", e.to_string()))?,
        ),
        "ssh-ed25519" => ProofKey::Ssh(SshEd25519Key::parse(f.str("publicKey")?)?),
        _ => {
            return Err(ProtocolError::invalid(
                "alg",
                "Domain binding key alg must be EdDSA or ssh-ed25519",
            ));
        }
    };
    let created_at = f.opt_str("createdAt")?.map(Timestamp::parse).transpose()?;
    let expires_at = f.opt_str("expiresAt")?.map(Timestamp::parse).transpose()?;
    if let (Some(c), Some(e)) = (created_at, expires_at)
        && e <= c
    {
        return Err(ProtocolError::invalid(
            "expiresAt",
            "must be after createdAt",
        ));
    }
    f.finish()?;
    Ok(BindingKey {
        kid,
        key,
        created_at,
        expires_at,
    })
}
