//! Write rate limits: per client IP on every write request, before its body
//! is read, and per owner domain on every *verified* write (core asks the
//! [`DomainLimits`] after the signature checked out, so naming a domain in
//! a forged request spends nothing of its allowance). Both are GCRA token
//! buckets from `governor`: `per_minute` writes a minute, bursts up to the
//! same number. They are per process: with several replicas behind a load
//! balancer each replica enforces its own share.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use regesta_core::WriteLimiter;
use regesta_protocol::OwnerDomain;

use crate::error::ApiError;
use crate::state::AppState;

/// Checks between sweeps of idle keys, so the key table stays bounded by
/// the clients seen within about one refill period.
const SWEEP_EVERY: u64 = 4096;

/// A keyed limiter that forgets idle keys now and then.
#[derive(Debug)]
struct Keyed<K: std::hash::Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
    checks: AtomicU64,
}

impl<K: std::hash::Hash + Eq + Clone> Keyed<K> {
    fn new(per_minute: NonZeroU32) -> Self {
        Self {
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute)),
            checks: AtomicU64::new(0),
        }
    }

    fn check(&self, key: &K) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// Per-domain limits on verified writes.
#[derive(Debug)]
pub struct DomainLimits(Keyed<String>);

impl DomainLimits {
    /// `per_minute` verified writes per owner domain.
    pub fn new(per_minute: NonZeroU32) -> Self {
        Self(Keyed::new(per_minute))
    }
}

impl WriteLimiter for DomainLimits {
    fn admit(&self, domain: &OwnerDomain) -> Result<(), Duration> {
        self.0.check(&domain.as_str().to_owned())
    }
}

/// Per-client-IP limits on write requests.
#[derive(Debug)]
pub struct IpLimits(Keyed<IpAddr>);

impl IpLimits {
    /// `per_minute` write requests per client address.
    pub fn new(per_minute: NonZeroU32) -> Self {
        Self(Keyed::new(per_minute))
    }

    /// Admits one write from `ip`. IPv6 clients are keyed by their /64,
    /// the block one subscriber usually holds, so rotating addresses within
    /// it does not multiply the allowance.
    ///
    /// # Errors
    /// How long to wait.
    pub fn admit(&self, ip: IpAddr) -> Result<(), Duration> {
        self.0.check(&client_key(ip))
    }
}

/// The key of a client address: IPv4 (or IPv4-mapped) as is, IPv6 by /64.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return IpAddr::V4(v4);
            }
            let mut segments = v6.segments();
            segments[4..].fill(0);
            IpAddr::from(segments)
        }
    }
}

fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Answers 429 to a write request from a client over its limit, before the
/// body is read. Requests without a peer address (in-process tests) pass.
pub async fn limit_writes_by_ip(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(limits) = state.ip_limits()
        && is_write(request.method())
        && let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>()
        && let Err(wait) = limits.admit(peer.ip())
    {
        return ApiError::rate_limited("Too many writes from this client", wait).into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_share_their_64_and_mapped_v4_is_v4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(other));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(client_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn a_domain_over_its_limit_waits_and_others_do_not() {
        let limits = DomainLimits::new(NonZeroU32::new(2).unwrap());
        let a = OwnerDomain::parse("a.example").unwrap();
        let b = OwnerDomain::parse("b.example").unwrap();
        assert!(limits.admit(&a).is_ok());
        assert!(limits.admit(&a).is_ok());
        let wait = limits.admit(&a).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        assert!(limits.admit(&b).is_ok());
    }
}
