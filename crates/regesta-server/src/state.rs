//! Shared application state: the registry, configuration and the small
//! caches the transport keeps.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use regesta_core::Registry;
use regesta_http::Projection;
use regesta_store::Stats;

use crate::config::{Config, ConfigError};

/// What every handler can reach.
#[derive(Clone, Debug)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    registry: Registry,
    config: Config,
    statistics: Mutex<Option<(Instant, Stats)>>,
    projections: Vec<Arc<dyn Projection>>,
    log: Option<regesta_core::log::LogConfig>,
    witnessed: bool,
    ip_limits: Option<crate::ratelimit::IpLimits>,
    readiness: crate::readiness::Readiness,
    prober: std::sync::Once,
}

impl AppState {
    /// Wraps a registry and its configuration, with the projections the
    /// configuration turns on.
    ///
    /// # Errors
    /// A projection cannot be set up (the npm upstream client).
    pub fn new(registry: Registry, config: Config) -> Result<Self, ConfigError> {
        Self::with_go_sumdb(registry, config, None)
    }

    /// As [`AppState::new`], the Go projection also serving the checksum
    /// database `go_sumdb` signs.
    ///
    /// # Errors
    /// A projection cannot be set up (the npm upstream client).
    pub fn with_go_sumdb(
        registry: Registry,
        config: Config,
        go_sumdb: Option<regesta_tlog::NoteSigner>,
    ) -> Result<Self, ConfigError> {
        let projections = crate::projections(&registry, &config, go_sumdb)?;
        let ip_limits = config.ip_write_rate().map(crate::ratelimit::IpLimits::new);
        Ok(Self {
            inner: Arc::new(Inner {
                ip_limits,
                registry,
                config,
                statistics: Mutex::new(None),
                projections,
                log: None,
                witnessed: false,
                readiness: crate::readiness::Readiness::default(),
                prober: std::sync::Once::new(),
            }),
        })
    }

    /// The same state serving the transparency log `log` (its key at
    /// `/log/key`). Call before cloning.
    #[must_use]
    pub fn with_log(mut self, log: regesta_core::log::LogConfig, witnessed: bool) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.log = Some(log);
            inner.witnessed = witnessed;
        }
        self
    }

    /// Whether only witness-cosigned checkpoints are published.
    pub(crate) fn witnessed(&self) -> bool {
        self.inner.witnessed
    }

    /// The transparency log's identity, when it runs.
    pub(crate) fn log(&self) -> Option<&regesta_core::log::LogConfig> {
        self.inner.log.as_ref()
    }

    /// The per-client-IP write limits, when on.
    pub(crate) fn ip_limits(&self) -> Option<&crate::ratelimit::IpLimits> {
        self.inner.ip_limits.as_ref()
    }

    /// The ecosystem projections served (mounted by [`crate::router`]).
    pub(crate) fn projections(&self) -> &[Arc<dyn Projection>] {
        &self.inner.projections
    }

    /// The registry use cases.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The background probe's latest result while it is fresh; `None`
    /// before the first probe or when the prober stalled (then
    /// [`Self::readiness`] probes now).
    pub fn fresh_readiness(&self) -> Option<crate::readiness::Probe> {
        let timeout = Duration::from_millis(self.inner.config.readiness_timeout_ms);
        self.inner.readiness.fresh(timeout)
    }

    /// Whether every adapter answers: the background probe's latest
    /// result, or — before the first, or when the prober stalled — a probe
    /// run now. The first call starts the prober, which ends with the
    /// state.
    pub async fn readiness(&self) -> crate::readiness::Probe {
        use crate::readiness::{PROBE_EVERY, Probe};
        let timeout = Duration::from_millis(self.inner.config.readiness_timeout_ms);
        if let Some(probe) = self.inner.readiness.fresh(timeout) {
            return probe;
        }
        let probe = Probe::run(&self.inner.registry, timeout).await;
        self.inner.readiness.record(probe);
        self.inner.prober.call_once(|| {
            let state = Arc::downgrade(&self.inner);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(PROBE_EVERY).await;
                    let Some(inner) = state.upgrade() else { return };
                    let probe = Probe::run(&inner.registry, timeout).await;
                    inner.readiness.record(probe);
                }
            });
        });
        probe
    }

    /// Deployment statistics, cached for `REGESTA_STATISTICS_CACHE_TTL_MS`
    /// (0 disables the cache).
    ///
    /// # Errors
    /// Storage failure.
    pub async fn statistics(&self) -> Result<Stats, regesta_core::CoreError> {
        let ttl = Duration::from_millis(self.inner.config.statistics_ttl_ms);
        if let Ok(cached) = self.inner.statistics.lock()
            && let Some((at, stats)) = *cached
            && at.elapsed() < ttl
        {
            return Ok(stats);
        }
        let stats = self.inner.registry.db.stats().await?;
        if let Ok(mut cached) = self.inner.statistics.lock() {
            *cached = Some((Instant::now(), stats));
        }
        Ok(stats)
    }
}
