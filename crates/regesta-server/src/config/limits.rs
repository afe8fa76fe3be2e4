//! The resource limits of `regesta serve`: write rates (per client IP, per
//! owner domain), the slow-client deadlines and the read caches' memory.

use std::num::NonZeroU32;

use super::{Config, ConfigError, integer};

/// Writes a minute allowed by default (per IP and per domain) outside dev
/// mode: generous for a CI job publishing a monorepo, a wall for floods.
pub const DEFAULT_WRITE_RATE: u32 = 600;

/// The resource limits: write rates, slow-client deadlines, cache memory.
pub(super) fn load_limits(
    config: &mut Config,
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    if let Some(v) = get("REGESTA_WRITE_RATE_PER_IP") {
        config.write_rate_per_ip = Some(integer("REGESTA_WRITE_RATE_PER_IP", &v, false)?);
    }
    if let Some(v) = get("REGESTA_WRITE_RATE_PER_DOMAIN") {
        config.write_rate_per_domain = Some(integer("REGESTA_WRITE_RATE_PER_DOMAIN", &v, false)?);
    }
    if let Some(v) = get("REGESTA_HEADER_READ_TIMEOUT_MS") {
        config.header_timeout_ms = integer("REGESTA_HEADER_READ_TIMEOUT_MS", &v, true)?;
    }
    if let Some(v) = get("REGESTA_REQUEST_BODY_TIMEOUT_MS") {
        config.body_timeout_ms = integer("REGESTA_REQUEST_BODY_TIMEOUT_MS", &v, true)?;
    }
    if let Some(v) = get("REGESTA_CACHE_BYTES") {
        config.cache_bytes = integer("REGESTA_CACHE_BYTES", &v, false)?;
    }
    if let Some(v) = get("REGESTA_CACHE_REFRESH_MS") {
        config.cache_refresh_ms = integer("REGESTA_CACHE_REFRESH_MS", &v, true)?;
    }
    Ok(())
}

impl Config {
    fn write_rate(&self, set: Option<u64>) -> Option<NonZeroU32> {
        match set {
            Some(n) => NonZeroU32::new(u32::try_from(n).unwrap_or(u32::MAX)),
            None if self.dev => None,
            None => NonZeroU32::new(DEFAULT_WRITE_RATE),
        }
    }

    /// The per-IP write limit in effect, if any.
    pub fn ip_write_rate(&self) -> Option<NonZeroU32> {
        self.write_rate(self.write_rate_per_ip)
    }

    /// The per-domain write limit in effect, if any.
    pub fn domain_write_rate(&self) -> Option<NonZeroU32> {
        self.write_rate(self.write_rate_per_domain)
    }
}
