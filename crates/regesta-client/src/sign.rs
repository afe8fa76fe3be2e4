//! Signing write intents with an owner domain's key.

use std::sync::Arc;

use ed25519_dalek::SigningKey;
use regesta_protocol::authorization::AuthSignature;
use regesta_protocol::keys::{sign_ed25519, sign_sshsig};
use regesta_protocol::{ProtocolError, WriteAuthorization, WriteIntent};
use thiserror::Error;

/// Produces an armored SSHSIG (namespace `regesta`) over a message, e.g. by
/// running `ssh-keygen -Y sign` so the key can stay in an agent or token.
pub type ExternalSshSign = Arc<dyn Fn(&[u8]) -> Result<String, ExternalSignError> + Send + Sync>;

/// Why an external signing program produced no signature. The variants keep
/// the underlying error so `--verbose` output can show its chain.
#[derive(Debug, Error)]
pub enum ExternalSignError {
    /// The message or public key could not be staged in a temporary file.
    #[error("cannot stage the message for {program}")]
    Stage {
        /// The signing program.
        program: String,
        /// The file-system failure.
        #[source]
        source: std::io::Error,
    },
    /// The program could not be started.
    #[error("cannot run {program}")]
    Spawn {
        /// The signing program.
        program: String,
        /// Why it did not start.
        #[source]
        source: std::io::Error,
    },
    /// The program ran and reported failure.
    #[error("{program} failed: {stderr}")]
    Failed {
        /// The signing program.
        program: String,
        /// What it wrote to standard error, trimmed.
        stderr: String,
    },
    /// The program's signature was not UTF-8 text.
    #[error("{program} wrote a signature that is not UTF-8")]
    NotText {
        /// The signing program.
        program: String,
        /// The decoding failure.
        #[source]
        source: std::string::FromUtf8Error,
    },
}

/// Why a write intent could not be signed.
#[derive(Debug, Error)]
pub enum SignError {
    /// The intent has no canonical form (cannot happen for parsed intents).
    #[error(transparent)]
    Json(#[from] regesta_protocol::json::JsonError),
    /// The SSH signature itself failed (an encrypted key).
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// The external signing program failed.
    #[error("external SSH signer")]
    External(#[from] ExternalSignError),
}

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
    /// SSH signing failure (encrypted key), an external signer's failure or
    /// canonicalization failure.
    pub fn sign(&self, intent: WriteIntent) -> Result<WriteAuthorization, SignError> {
        let message = intent.signing_bytes()?;
        let signature = match self {
            Self::Ed25519 { key, .. } => AuthSignature::EdDsa(sign_ed25519(key, &message)),
            Self::Ssh { key, .. } => AuthSignature::SshEd25519(sign_sshsig(key, &message)?),
            Self::SshExternal { sign, .. } => {
                AuthSignature::SshEd25519(sign(&message)?.trim().to_owned())
            }
        };
        Ok(WriteAuthorization {
            kid: self.kid().to_owned(),
            payload: intent,
            signature,
        })
    }
}
