//! Signed write intents, write authorizations and the authorization proofs
//! that accepted events keep.

use serde::Deserialize as _;
use serde_json::{Map, Value, json};

use crate::digest::Digest;
use crate::error::{ProtocolError, Result};
use crate::fields::Fields;
use crate::ids::{ChannelName, OwnerDomain, PackageId, Version};
use crate::json::{JsonError, canonical_value};
use crate::keys::{Ed25519Jwk, SshEd25519Key};
use crate::timestamp::Timestamp;

/// Bound on nonce and kid length (v0 sets none).
pub const MAX_TOKEN_LEN: usize = 256;
/// Bound on the number of artifacts one release may carry.
pub const MAX_ARTIFACTS: usize = 64;
/// Bound on an armored SSH signature's length.
pub const MAX_SSH_SIGNATURE_LEN: usize = 4096;

/// What a write intent asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOperation {
    /// `release.publish`
    ReleasePublish,
    /// `channel.update`
    ChannelUpdate,
    /// `channel.delete`
    ChannelDelete,
}

impl WriteOperation {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ReleasePublish => "release.publish",
            Self::ChannelUpdate => "channel.update",
            Self::ChannelDelete => "channel.delete",
        }
    }
}

/// The operation-specific part of a write intent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntentAction {
    /// Publish `version` and move `channel` (always `latest` in v0) to it.
    Publish {
        /// The release version.
        version: Version,
        /// The channel the publish moves.
        channel: ChannelName,
        /// `sha256(canonicalJson(config))`.
        config_digest: Digest,
        /// Digest of the source archive bytes.
        source_digest: Digest,
        /// Digests of the artifact bytes, in part order.
        artifact_digests: Vec<Digest>,
        /// `sha256(canonicalJson([descriptor…]))`.
        artifact_descriptor_digest: Digest,
    },
    /// Point `channel` at `version`, optionally only if it currently points
    /// at `previous_version`.
    ChannelUpdate {
        /// The channel to move.
        channel: ChannelName,
        /// The target release version.
        version: Version,
        /// The version the signer saw, for compare-and-swap.
        previous_version: Option<Version>,
    },
    /// Remove `channel`.
    ChannelDelete {
        /// The channel to delete.
        channel: ChannelName,
        /// The version the signer saw, for compare-and-swap.
        previous_version: Option<Version>,
    },
}

/// A `regesta.write-intent`: what the owner domain's key signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteIntent {
    /// The package written to.
    pub package: PackageId,
    /// Must equal the package's owner domain.
    pub domain: OwnerDomain,
    /// Client-chosen uniqueness token.
    pub nonce: String,
    /// When the client signed; checked against the server clock.
    pub timestamp: Timestamp,
    /// The operation and its fields.
    pub action: IntentAction,
}

impl WriteIntent {
    /// The operation kind.
    pub const fn operation(&self) -> WriteOperation {
        match self.action {
            IntentAction::Publish { .. } => WriteOperation::ReleasePublish,
            IntentAction::ChannelUpdate { .. } => WriteOperation::ChannelUpdate,
            IntentAction::ChannelDelete { .. } => WriteOperation::ChannelDelete,
        }
    }

    /// Parses and validates an intent object.
    ///
    /// # Errors
    /// Missing, malformed or unknown fields, or a domain that is not the
    /// package's owner domain.
    pub fn from_json(value: &Value) -> Result<Self> {
        let mut f = Fields::new(value, "Write intent")?;
        f.constant("object", "regesta.write-intent")?;
        let package = PackageId::parse(f.str("package")?)?;
        let domain = OwnerDomain::parse(f.str("domain")?)?;
        if domain.as_str() != package.owner_domain() {
            return Err(ProtocolError::invalid(
                "domain",
                "Write intent domain must equal the package owner domain",
            ));
        }
        let nonce = f.token("nonce", MAX_TOKEN_LEN)?.to_owned();
        let timestamp = Timestamp::parse(f.str("timestamp")?).map_err(|e| e.within("payload"))?;
        let action = match f.str("operation")? {
            "release.publish" => IntentAction::Publish {
                version: Version::parse(f.str("version")?)?,
                channel: ChannelName::parse(f.str("channel")?)?,
                config_digest: f.digest("configDigest")?,
                source_digest: f.digest("sourceDigest")?,
                artifact_digests: non_empty(f.digests("artifactDigests", MAX_ARTIFACTS)?)?,
                artifact_descriptor_digest: f.digest("artifactDescriptorDigest")?,
            },
            "channel.update" => IntentAction::ChannelUpdate {
                channel: ChannelName::parse(f.str("channel")?)?,
                version: Version::parse(f.str("version")?)?,
                previous_version: opt_version(&mut f)?,
            },
            "channel.delete" => IntentAction::ChannelDelete {
                channel: ChannelName::parse(f.str("channel")?)?,
                previous_version: opt_version(&mut f)?,
            },
            _ => {
                return Err(ProtocolError::invalid(
                    "operation",
                    "Unsupported write intent operation",
                ));
            }
        };
        f.finish()?;
        Ok(Self {
            package,
            domain,
            nonce,
            timestamp,
            action,
        })
    }

    /// The intent as a JSON object (key order as the reference CLI writes
    /// it; signing always uses the canonical form).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("domain".into(), json!(self.domain.as_str()));
        m.insert("nonce".into(), json!(self.nonce));
        m.insert("object".into(), json!("regesta.write-intent"));
        m.insert("package".into(), json!(self.package.as_str()));
        m.insert("timestamp".into(), json!(self.timestamp.to_string()));
        match &self.action {
            IntentAction::Publish {
                version,
                channel,
                config_digest,
                source_digest,
                artifact_digests,
                artifact_descriptor_digest,
            } => {
                m.insert(
                    "artifactDescriptorDigest".into(),
                    json!(artifact_descriptor_digest.to_string()),
                );
                m.insert(
                    "artifactDigests".into(),
                    json!(
                        artifact_digests
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                    ),
                );
                m.insert("channel".into(), json!(channel.as_str()));
                m.insert("configDigest".into(), json!(config_digest.to_string()));
                m.insert("operation".into(), json!("release.publish"));
                m.insert("sourceDigest".into(), json!(source_digest.to_string()));
                m.insert("version".into(), json!(version.as_str()));
            }
            IntentAction::ChannelUpdate {
                channel,
                version,
                previous_version,
            } => {
                m.insert("channel".into(), json!(channel.as_str()));
                m.insert("operation".into(), json!("channel.update"));
                if let Some(previous) = previous_version {
                    m.insert("previousVersion".into(), json!(previous.as_str()));
                }
                m.insert("version".into(), json!(version.as_str()));
            }
            IntentAction::ChannelDelete {
                channel,
                previous_version,
            } => {
                m.insert("channel".into(), json!(channel.as_str()));
                m.insert("operation".into(), json!("channel.delete"));
                if let Some(previous) = previous_version {
                    m.insert("previousVersion".into(), json!(previous.as_str()));
                }
            }
        }
        Value::Object(m)
    }

    /// The exact bytes that are signed: canonical JSON, UTF-8, no newline.
    ///
    /// # Errors
    /// Never in practice (all fields are strings); kept for honesty.
    pub fn signing_bytes(&self) -> Result<Vec<u8>, JsonError> {
        canonical_value(&self.to_json())
    }

    /// `payloadDigest`: sha256 of [`Self::signing_bytes`]; also the replay
    /// marker.
    ///
    /// # Errors
    /// As [`Self::signing_bytes`].
    pub fn payload_digest(&self) -> Result<Digest, JsonError> {
        Ok(Digest::of(&self.signing_bytes()?))
    }
}

fn non_empty(digests: Vec<Digest>) -> Result<Vec<Digest>> {
    if digests.is_empty() {
        return Err(ProtocolError::invalid(
            "artifactDigests",
            "must not be empty",
        ));
    }
    Ok(digests)
}

fn opt_version(f: &mut Fields<'_>) -> Result<Option<Version>> {
    f.opt_str("previousVersion")?
        .map(|v| Version::parse(v).map_err(|e| e.within("previousVersion")))
        .transpose()
}

/// The signature of a write authorization, by key format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthSignature {
    /// `alg: EdDSA`: base64url Ed25519 signature (86 characters).
    EdDsa(String),
    /// `alg: ssh-ed25519`: armored OpenSSH SSHSIG, kept verbatim.
    SshEd25519(String),
}

impl AuthSignature {
    /// The `alg` member.
    pub const fn alg(&self) -> &'static str {
        match self {
            Self::EdDsa(_) => "EdDSA",
            Self::SshEd25519(_) => "ssh-ed25519",
        }
    }

    /// The signature text as sent.
    pub fn text(&self) -> &str {
        match self {
            Self::EdDsa(s) | Self::SshEd25519(s) => s,
        }
    }
}

/// `{alg, kid, payload, signature}` as sent with every write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteAuthorization {
    /// Key id, looked up in the owner domain's binding.
    pub kid: String,
    /// The signed intent.
    pub payload: WriteIntent,
    /// The signature and its algorithm.
    pub signature: AuthSignature,
}

impl WriteAuthorization {
    /// Parses an authorization object.
    ///
    /// # Errors
    /// Shape errors in the authorization or its payload.
    pub fn from_json(value: &Value) -> Result<Self> {
        let mut f = Fields::new(value, "Write authorization")?;
        let alg = f.str("alg")?;
        let kid = f.token("kid", MAX_TOKEN_LEN)?.to_owned();
        let signature_text = f.str("signature")?;
        let signature = match alg {
            "EdDSA" => {
                let ok = signature_text.len() == 86
                    && signature_text
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if !ok {
                    return Err(ProtocolError::invalid(
                        "signature",
                        "must be a base64url Ed25519 signature",
                    ));
                }
                AuthSignature::EdDsa(signature_text.to_owned())
            }
            "ssh-ed25519" => {
                if signature_text.len() > MAX_SSH_SIGNATURE_LEN
                    || !signature_text.starts_with("-----BEGIN SSH SIGNATURE-----")
                    || !signature_text
                        .trim_end()
                        .ends_with("-----END SSH SIGNATURE-----")
                {
                    return Err(ProtocolError::invalid(
                        "signature",
                        "must be an armored OpenSSH signature",
                    ));
                }
                AuthSignature::SshEd25519(signature_text.to_owned())
            }
            _ => {
                return Err(ProtocolError::invalid(
                    "alg",
                    "Write authorization alg must be EdDSA or ssh-ed25519",
                ));
            }
        };
        let payload = WriteIntent::from_json(f.req("payload")?)?;
        f.finish()?;
        Ok(Self {
            kid,
            payload,
            signature,
        })
    }

    /// The authorization as JSON, in the reference CLI's key order.
    pub fn to_json(&self) -> Value {
        json!({
            "alg": self.signature.alg(),
            "kid": self.kid,
            "payload": self.payload.to_json(),
            "signature": self.signature.text(),
        })
    }
}

/// The public key recorded in a proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProofKey {
    /// `alg: EdDSA` with `publicKeyJwk`.
    Jwk(Ed25519Jwk),
    /// `alg: ssh-ed25519` with the normalized `publicKey` line.
    Ssh(SshEd25519Key),
}

impl ProofKey {
    /// The `alg` member of a proof holding this key.
    pub const fn alg(&self) -> &'static str {
        match self {
            Self::Jwk(_) => "EdDSA",
            Self::Ssh(_) => "ssh-ed25519",
        }
    }
}

/// A `regesta.authorization-proof`: what an accepted event keeps of the
/// write authorization, enough for anyone to re-verify the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationProof {
    /// The owner domain.
    pub domain: OwnerDomain,
    /// The key id used.
    pub kid: String,
    /// sha256 of the canonical signed payload.
    pub payload_digest: Digest,
    /// The verified key.
    pub key: ProofKey,
    /// The signature text, verbatim.
    pub signature: String,
    /// The intent's timestamp.
    pub signed_at: Timestamp,
    /// sha256 of the exact binding bytes fetched at write time.
    pub well_known_digest: Digest,
}

/// How a JSON rendering of a proof orders its keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofKeyOrder {
    /// Sorted: as in publish/channel responses.
    Sorted,
    /// `domain, kid, object, payloadDigest, signature, signedAt,
    /// wellKnownDigest, alg, publicKey*`: as stored and served in event pages.
    Stored,
}

impl AuthorizationProof {
    /// The proof as JSON with the given key order.
    pub fn to_json(&self, order: ProofKeyOrder) -> Value {
        let alg = self.key.alg();
        let (key_name, key_value) = match &self.key {
            ProofKey::Jwk(jwk) => (
                "publicKeyJwk",
                json!({"crv": "Ed25519", "kty": "OKP", "x": jwk.x()}),
            ),
            ProofKey::Ssh(key) => ("publicKey", json!(key.line())),
        };
        let mut m = Map::new();
        if order == ProofKeyOrder::Sorted {
            m.insert("alg".into(), json!(alg));
        }
        m.insert("domain".into(), json!(self.domain.as_str()));
        m.insert("kid".into(), json!(self.kid));
        m.insert("object".into(), json!("regesta.authorization-proof"));
        m.insert(
            "payloadDigest".into(),
            json!(self.payload_digest.to_string()),
        );
        if order == ProofKeyOrder::Sorted {
            m.insert(key_name.into(), key_value.clone());
        }
        m.insert("signature".into(), json!(self.signature));
        m.insert("signedAt".into(), json!(self.signed_at.to_string()));
        m.insert(
            "wellKnownDigest".into(),
            json!(self.well_known_digest.to_string()),
        );
        if order == ProofKeyOrder::Stored {
            m.insert("alg".into(), json!(alg));
            m.insert(key_name.into(), key_value);
        }
        Value::Object(m)
    }

    /// Parses a proof object.
    ///
    /// # Errors
    /// Shape errors.
    pub fn from_json(value: &Value) -> Result<Self> {
        let mut f = Fields::new(value, "Authorization proof")?;
        f.constant("object", "regesta.authorization-proof")?;
        let key = match f.str("alg")? {
            // Read in place: every parsed event carries its key, and a
            // copy of the member cost more than reading it.
            "EdDSA" => ProofKey::Jwk(
                Ed25519Jwk::deserialize(f.req("publicKeyJwk")?)
                    .map_err(|e| ProtocolError::invalid("publicKeyJwk", e.to_string()))?,
            ),
            "ssh-ed25519" => ProofKey::Ssh(SshEd25519Key::parse(f.str("publicKey")?)?),
            _ => return Err(ProtocolError::invalid("alg", "unsupported proof algorithm")),
        };
        let proof = Self {
            domain: OwnerDomain::parse(f.str("domain")?)?,
            kid: f.token("kid", MAX_TOKEN_LEN)?.to_owned(),
            payload_digest: f.digest("payloadDigest")?,
            key,
            signature: f.str("signature")?.to_owned(),
            signed_at: Timestamp::parse(f.str("signedAt")?)?,
            well_known_digest: f.digest("wellKnownDigest")?,
        };
        let sig_ok = match proof.key {
            ProofKey::Jwk(_) => proof.signature.len() == 86,
            ProofKey::Ssh(_) => proof.signature.starts_with("-----BEGIN SSH SIGNATURE-----"),
        };
        if !sig_ok {
            return Err(ProtocolError::invalid("signature", "malformed signature"));
        }
        f.finish()?;
        Ok(proof)
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;
    use serde_json::json;

    use super::{AuthorizationProof, ProofKey, ProofKeyOrder};
    use crate::digest::Digest;
    use crate::ids::OwnerDomain;
    use crate::keys::Ed25519Jwk;
    use crate::timestamp::Timestamp;

    fn proof() -> AuthorizationProof {
        AuthorizationProof {
            domain: OwnerDomain::parse("some.dev").unwrap(),
            kid: "k1".to_owned(),
            payload_digest: Digest::of(b"payload"),
            key: ProofKey::Jwk(Ed25519Jwk::from_key(
                SigningKey::from_bytes(&[7; 32]).verifying_key(),
            )),
            signature: "s".repeat(86),
            signed_at: Timestamp::from_unix_millis(1_700_000_000_000).unwrap(),
            well_known_digest: Digest::of(b"binding"),
        }
    }

    #[test]
    fn a_proof_reads_back_and_its_key_is_checked_in_place() {
        let good = proof().to_json(ProofKeyOrder::Stored);
        assert_eq!(AuthorizationProof::from_json(&good).unwrap(), proof());
        for (member, bad) in [
            ("x", json!("not base64url")),
            ("kty", json!("RSA")),
            ("extra", json!(1)),
        ] {
            let mut value = good.clone();
            value["publicKeyJwk"][member] = bad;
            let error = AuthorizationProof::from_json(&value).unwrap_err();
            assert!(
                error.to_string().contains("publicKeyJwk"),
                "{member}: {error}"
            );
        }
    }
}
