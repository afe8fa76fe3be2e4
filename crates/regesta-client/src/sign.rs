//! Signing write intents with an owner domain's key.

use std::sync::Arc;

use ed25519_dalek::SigningKey;
use regesta_protocol::authorization::AuthSignature;
use regesta_protocol::keys::{sign_ed25519, sign_sshsig};
use regesta_protocol::{ProtocolError, WriteAuthorization, WriteIntent};

/// Produces an armored SSHSIG (namespace `regesta`) over a message, e.g. by
/// running `ssh-keygen -Y sign` so the key can stay in an agent or token.
pub type ExternalSshSign = Arc<dyn Fn(&[u8]) -> Result<String, String> + Send + Sync>;

/// A key that signs write intents.
#[derive(Clone)]
pub enum Signer {
    /// An Ed25519 key from a private-key JWK file.
    Ed25519 {
        /// Key id in the binding.
        kid: String,
        /// The key.
        key: Box<SigningKey>,
    },
    /// An OpenSSH `ssh-ed25519` private key (unencrypted).
    Ssh {
        /// Key id in the binding (`ssh-ed25519:<fingerprint>` by default).
        kid: String,
        /// The key.
        key: Box<ssh_key::PrivateKey>,
    },
    /// An `ssh-ed25519` key held by an external signing program.
    SshExternal {
        /// Key id in the binding.
        kid: String,
        /// The signing callback.
        sign: ExternalSshSign,
    },
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            Self::Ed25519 { .. } => "Ed25519",
            Self::Ssh { .. } => "Ssh",
            Self::SshExternal { .. } => "SshExternal",
        };
        write!(f, "Signer::{kind}({})", self.kid())
    }
}

impl Signer {
    /// The key id.
    pub fn kid(&self) -> &str {
        match self {
            Self::Ed25519 { kid, .. } | Self::Ssh { kid, .. } | Self::SshExternal { kid, .. } => {
                kid
            }
        }
    }

    /// Signs `intent` over its canonical bytes.
    ///
    /// # Errors
    /// SSH signing failure (encrypted key) or canonicalization failure.
    pub fn sign(&self, intent: WriteIntent) -> Result<WriteAuthorization, ProtocolError> {
        let message = intent.signing_bytes()?;
        let signature = match self {
            Self::Ed25519 { key, .. } => AuthSignature::EdDsa(sign_ed25519(key, &message)),
            Self::Ssh { key, .. } => AuthSignature::SshEd25519(sign_sshsig(key, &message)?),
            Self::SshExternal { sign, .. } => AuthSignature::SshEd25519(
                sign(&message)
                    .map_err(ProtocolError::Signature)?
                    .trim()
                    .to_owned(),
            ),
        };
        Ok(WriteAuthorization {
            kid: self.kid().to_owned(),
            payload: intent,
            signature,
        })
    }
}
