//! The registry service: the ports core works through.

use std::sync::Arc;

use regesta_protocol::Timestamp;
use regesta_store::{BlobStore, RegistryDb};
use regesta_trust::BindingSource;

use crate::views::ViewCache;

/// The server clock, injectable so tests can replay captured requests at
/// the instant they were signed.
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> Timestamp;
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
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("timestamp_tolerance_ms", &self.timestamp_tolerance_ms)
            .finish_non_exhaustive()
    }
}
