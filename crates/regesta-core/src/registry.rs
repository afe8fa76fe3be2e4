//! The registry service: the ports core works through.

use std::sync::Arc;
use std::time::Duration;

use regesta_protocol::{AuthorizationProof, OwnerDomain, Timestamp, WriteAuthorization};
use regesta_store::{BlobStore, RegistryDb};
use regesta_trust::BindingSource;

use crate::error::CoreError;
use crate::views::ViewCache;

/// The server clock, injectable so tests can replay captured requests at
/// the instant they were signed.
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> Timestamp;
}

/// Admission of verified writes per owner domain (rate limiting). Asked
/// only after the signature verified, so nobody can spend another domain's
/// allowance by naming it in unsigned or badly signed requests.
pub trait WriteLimiter: Send + Sync + 'static {
    /// `Ok` to go on, or how long to wait before the next write.
    ///
    /// # Errors
    /// The wait, when `domain` is over its limit.
    fn admit(&self, domain: &OwnerDomain) -> Result<(), Duration>;
}

/// No write limits (dev mode, tests, tools).
#[derive(Debug, Clone, Copy, Default)]
pub struct Unlimited;

impl WriteLimiter for Unlimited {
    fn admit(&self, _domain: &OwnerDomain) -> Result<(), Duration> {
        Ok(())
    }
}

/// Everything a use case needs.
#[derive(Clone)]
pub struct Registry {
    /// Metadata.
    pub db: Arc<dyn RegistryDb>,
    /// Object bytes.
    pub blobs: Arc<dyn BlobStore>,
    /// Domain bindings.
    pub bindings: Arc<dyn BindingSource>,
    /// Server time.
    pub clock: Arc<dyn Clock>,
    /// Allowed skew between a write intent's timestamp and the clock.
    pub timestamp_tolerance_ms: i64,
    /// Rendered package-state views, keyed by head event.
    pub views: Arc<ViewCache>,
    /// Per-domain admission of verified writes.
    pub write_limits: Arc<dyn WriteLimiter>,
    /// The ecosystems whose artifacts publish processes.
    pub ecosystems: Arc<crate::ecosystem::Ecosystems>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("timestamp_tolerance_ms", &self.timestamp_tolerance_ms)
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// Fetches the owner domain's binding and verifies `auth` against it at
    /// the server's now: the one authorization step every write shares.
    ///
    /// # Errors
    /// 401 for any binding or signature problem.
    pub(crate) async fn authorize(
        &self,
        auth: &WriteAuthorization,
    ) -> Result<AuthorizationProof, CoreError> {
        let binding = self.bindings.fetch(&auth.payload.domain).await?;
        let proof = regesta_trust::verify_authorization(
            auth,
            &binding,
            self.clock.now(),
            self.timestamp_tolerance_ms,
        )?;
        self.write_limits
            .admit(&auth.payload.domain)
            .map_err(CoreError::RateLimited)?;
        Ok(proof)
    }

    /// 409 `write_authorization_replayed` when the verified authorization
    /// was accepted before. The reference checks this first after the
    /// signature, so a byte-identical replay is reported as a replay, not
    /// as whatever else it collides with; the commit's replay marker still
    /// decides races.
    ///
    /// # Errors
    /// Replayed, or storage failure.
    pub(crate) async fn refuse_replay(&self, proof: &AuthorizationProof) -> Result<(), CoreError> {
        if self.db.replay_marked(&proof.payload_digest).await? {
            return Err(CoreError::Replayed(proof.payload_digest));
        }
        Ok(())
    }
}
