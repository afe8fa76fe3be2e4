//! Write-authorization verification against a domain binding.

use regesta_protocol::json::JsonError;
use regesta_protocol::{
    AuthSignature, AuthorizationProof, Digest, DomainBinding, ProofKey, ProtocolError, Timestamp,
    WriteAuthorization,
};
use thiserror::Error;

/// The reference's default skew window: ±10 minutes.
pub const DEFAULT_TIMESTAMP_TOLERANCE_MS: i64 = 10 * 60 * 1000;

/// Why a write authorization was refused. Always `401
/// write_authorization_invalid` on the wire; `message` is the v0 text.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("{message}")]
pub struct TrustError {
    /// The v0 error message, e.g. `Invalid write authorization signature`.
    pub message: String,
    /// Details a publisher can act on.
    pub issues: Vec<String>,
}

impl TrustError {
    /// An error without issues.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            issues: Vec::new(),
        }
    }

    /// An error with issues.
    pub fn with_issues(message: impl Into<String>, issues: Vec<String>) -> Self {
        Self {
            message: message.into(),
            issues,
        }
    }
}

/// Verifies `auth` against the exact binding bytes fetched for its domain,
/// at server time `now`, and returns the proof to store on the event.
///
/// The caller has already checked that the signed intent matches the
/// request. Order of checks follows the reference: timestamp window, binding
/// shape and domain, active key by kid, algorithm, signature.
///
/// # Errors
/// Any failed check, with the reference's message.
pub fn verify_authorization(
    auth: &WriteAuthorization,
    binding_bytes: &[u8],
    now: Timestamp,
    tolerance_ms: i64,
) -> Result<AuthorizationProof, TrustError> {
    let signed = auth.payload.timestamp;
    if (now.unix_millis() - signed.unix_millis()).abs() > tolerance_ms {
        return Err(TrustError::new("Write intent timestamp is outside window"));
    }
    let binding =
        DomainBinding::parse(binding_bytes, &auth.payload.domain).map_err(|e| match e {
            ProtocolError::Json(JsonError::Syntax(_)) => {
                TrustError::new("Domain binding JSON is invalid")
            }
            other => TrustError::new(other.sentence()),
        })?;
    let key = binding
        .active_key(&auth.kid, now)
        .ok_or_else(|| TrustError::new("Domain binding key not found or inactive"))?;
    if !key.matches_alg(&auth.signature) {
        return Err(TrustError::new("Write authorization algorithm mismatch"));
    }
    let message = auth
        .payload
        .signing_bytes()
        .map_err(|e| TrustError::new(e.to_string()))?;
    let verified = match (&key.key, &auth.signature) {
        (ProofKey::Jwk(jwk), AuthSignature::EdDsa(sig)) => jwk.verify(&message, sig),
        (ProofKey::Ssh(ssh), AuthSignature::SshEd25519(sig)) => ssh.verify(&message, sig),
        _ => return Err(TrustError::new("Write authorization algorithm mismatch")),
    };
    verified.map_err(|_| TrustError::new("Invalid write authorization signature"))?;
    Ok(AuthorizationProof {
        domain: auth.payload.domain.clone(),
        kid: auth.kid.clone(),
        payload_digest: Digest::of(&message),
        key: key.key.clone(),
        signature: auth.signature.text().to_owned(),
        signed_at: signed,
        well_known_digest: Digest::of(binding_bytes),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use regesta_protocol::{AuthorizationProof, ProofKeyOrder};
    use regesta_testkit::{read, read_json, vectors_dir};

    fn captured() -> (WriteAuthorization, Vec<u8>, serde_json::Value) {
        let dir = vectors_dir();
        let auth = WriteAuthorization::from_json(&read_json(
            &dir,
            "publish/hello-regesta-0.0.5/part-authorization.json",
        ))
        .unwrap();
        let binding = read(&dir, "wire/dev-localhost-well-known.json");
        let response = read_json(&dir, "publish/hello-regesta-0.0.5/response.json");
        (auth, binding, response)
    }

    #[test]
    fn captured_publish_yields_the_reference_proof() {
        let (auth, binding, response) = captured();
        let proof = verify_authorization(&auth, &binding, auth.payload.timestamp, 600_000).unwrap();
        let expected = AuthorizationProof::from_json(&response["event"]["authorization"]).unwrap();
        assert_eq!(proof, expected);
        assert_eq!(
            proof.to_json(ProofKeyOrder::Sorted),
            response["event"]["authorization"]
        );
    }

    #[test]
    fn stale_clock_wrong_kid_and_tampered_signature_are_refused() {
        let (auth, binding, _) = captured();
        let refusal = |auth: &WriteAuthorization, now| {
            verify_authorization(auth, &binding, now, 600_000)
                .unwrap_err()
                .message
        };
        let later =
            Timestamp::from_unix_millis(auth.payload.timestamp.unix_millis() + 600_001).unwrap();
        assert_eq!(
            refusal(&auth, later),
            "Write intent timestamp is outside window"
        );
        let now = auth.payload.timestamp;
        let mut wrong_kid = auth.clone();
        wrong_kid.kid = "ed25519:other".into();
        assert_eq!(
            refusal(&wrong_kid, now),
            "Domain binding key not found or inactive"
        );
        let mut tampered = auth.clone();
        let mut sig = auth.signature.text().to_owned();
        sig.replace_range(0..1, if sig.starts_with('A') { "B" } else { "A" });
        tampered.signature = AuthSignature::EdDsa(sig);
        assert_eq!(
            refusal(&tampered, now),
            "Invalid write authorization signature"
        );
        let mut other_bytes = binding.clone();
        other_bytes.extend_from_slice(b" ");
        let proof = verify_authorization(&auth, &other_bytes, now, 600_000).unwrap();
        assert_ne!(
            proof.well_known_digest,
            Digest::of(&binding),
            "digest is of exact bytes"
        );
        assert!(verify_authorization(&auth, b"{}", now, 600_000).is_err());
    }
}
