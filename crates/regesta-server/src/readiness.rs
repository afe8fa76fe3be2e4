//! `/ready` from a background probe: a load balancer may ask many times a
//! second, and each answer must not cost a database round trip and a
//! filesystem call. One task probes every adapter each [`PROBE_EVERY`]; a
//! request answers from the latest result, which is never older than about
//! that, and a failed probe shows at the next answer.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use regesta_core::Registry;

/// How often the background probe runs.
pub const PROBE_EVERY: Duration = Duration::from_secs(1);

/// The outcome of one probe of each adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    /// The registry database answered.
    pub database: bool,
    /// The object store answered.
    pub objects: bool,
}

impl Probe {
    /// Every adapter answered.
    #[must_use]
    pub fn ok(self) -> bool {
        self.database && self.objects
    }

    /// Probes each adapter independently, each bounded by `timeout`.
    pub async fn run(registry: &Registry, timeout: Duration) -> Self {
        let (database, objects) = tokio::join!(
            tokio::time::timeout(timeout, registry.db.ping()),
            tokio::time::timeout(timeout, registry.blobs.ping()),
        );
        Self {
            database: matches!(database, Ok(Ok(()))),
            objects: matches!(objects, Ok(Ok(()))),
        }
    }
}

/// The latest probe and when it finished.
#[derive(Debug, Default)]
pub struct Readiness {
    latest: Mutex<Option<(Instant, Probe)>>,
}

impl Readiness {
    /// The latest probe if it is fresh: younger than two probe periods
    /// plus the probe's own timeout, so a stalled prober is never trusted.
    pub fn fresh(&self, timeout: Duration) -> Option<Probe> {
        let latest = self.latest.lock().ok()?;
        latest
            .filter(|(at, _)| at.elapsed() < 2 * PROBE_EVERY + timeout)
            .map(|(_, probe)| probe)
    }

    /// Records a probe's outcome.
    pub fn record(&self, probe: Probe) {
        if let Ok(mut latest) = self.latest.lock() {
            *latest = Some((Instant::now(), probe));
        }
    }
}
