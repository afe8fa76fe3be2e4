//! The production binding source: `GET https://<domain>/.well-known/regesta.json`.
//!
//! The fetch is attacker-influenced (anyone can name any domain in a package
//! id), so it is locked down: no redirects, no cookies or credentials, no
//! proxy, no caching, a total timeout, a JSON content type, a 64 KiB cap on
//! the declared and the actual body, and an address policy applied to the
//! resolved IPs *before* connecting, so a domain that resolves to loopback,
//! private, link-local, CGNAT, multicast or other non-public space is
//! refused (SSRF). Checking after resolution, inside the connector's
//! resolver, also defeats DNS rebinding between check and connect.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use regesta_protocol::OwnerDomain;
use regesta_protocol::binding::MAX_BINDING_BYTES;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{ACCEPT, CONTENT_TYPE};

use crate::source::BindingSource;
use crate::verify::TrustError;

/// Whether `ip` is a public unicast address a binding may be fetched from.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            is_public_v6(v6)
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..=127).contains(&b)) // 100.64/10 CGNAT
        || (a == 192 && b == 0 && c == 0) // 192.0.0/24 IETF assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (first & 0xffc0) == 0xfec0 // site-local (deprecated)
        || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation
        || first == 0x0064 && ip.segments()[1] == 0xff9b // NAT64 well-known prefix
        || ip.to_ipv4().is_some()) // IPv4-compatible ::a.b.c.d
}

/// Which resolved addresses may be contacted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressPolicy {
    /// Production: public unicast addresses only.
    PublicOnly,
    /// Tests: loopback allowed too (never configurable by users).
    AllowLoopback,
}

impl AddressPolicy {
    fn allows(self, ip: IpAddr) -> bool {
        is_public(ip) || (self == Self::AllowLoopback && ip.is_loopback())
    }
}

/// A resolver that drops every address the policy forbids and fails when
/// none is left.
#[derive(Debug, Clone)]
struct FilteringResolver {
    policy: AddressPolicy,
}

impl Resolve for FilteringResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| policy.allows(a.ip()))
                .collect();
            if allowed.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

/// Settings of the HTTPS fetcher.
#[derive(Debug, Clone)]
pub struct FetchSettings {
    /// Total time for connect, TLS, headers and body.
    pub timeout: Duration,
    /// Address policy.
    pub policy: AddressPolicy,
    /// `https` in production; tests against a loopback server use `http`.
    pub scheme: &'static str,
    /// Port override (tests only; production uses the scheme's default).
    pub port: Option<u16>,
}

impl FetchSettings {
    /// Production settings with the given timeout.
    pub fn production(timeout: Duration) -> Self {
        Self {
            timeout,
            policy: AddressPolicy::PublicOnly,
            scheme: "https",
            port: None,
        }
    }
}

/// Fetches bindings from the owner domains themselves.
#[derive(Debug, Clone)]
pub struct HttpsBindings {
    client: reqwest::Client,
    settings: FetchSettings,
}

fn fetch_error(message: &str, detail: impl Into<String>) -> TrustError {
    TrustError::with_issues(message, vec![detail.into()])
}

impl HttpsBindings {
    /// A fetcher with `settings`.
    ///
    /// # Errors
    /// The TLS stack could not be initialised.
    pub fn new(settings: FetchSettings) -> Result<Self, TrustError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .user_agent(concat!("regesta/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(FilteringResolver {
                policy: settings.policy,
            }))
            .build()
            .map_err(|e| fetch_error("Domain binding client unavailable", e.to_string()))?;
        Ok(Self { client, settings })
    }

    /// The URL fetched for `domain`.
    pub fn url(&self, domain: &OwnerDomain) -> String {
        match self.settings.port {
            Some(port) => format!(
                "{}://{domain}:{port}/.well-known/regesta.json",
                self.settings.scheme
            ),
            None => format!(
                "{}://{domain}/.well-known/regesta.json",
                self.settings.scheme
            ),
        }
    }
}

fn is_json(content_type: &str) -> bool {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    media == "application/json" || media.ends_with("+json")
}

#[async_trait]
impl BindingSource for HttpsBindings {
    async fn fetch(&self, domain: &OwnerDomain) -> Result<Bytes, TrustError> {
        let url = reqwest::Url::parse(&self.url(domain))
            .map_err(|e| fetch_error("Domain binding fetch failed", e.to_string()))?;
        // URL parsing turns IP-like domains (`127.0.0.1`, `0x7f.1`) into IP
        // hosts that never reach the resolver, so the policy applies here too.
        let literal = url
            .host_str()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
            .and_then(|h| h.parse::<IpAddr>().ok());
        if let Some(ip) = literal
            && !self.settings.policy.allows(ip)
        {
            return Err(fetch_error(
                "Domain binding fetch failed",
                format!("{domain} is not a public address"),
            ));
        }
        let response = self
            .client
            .get(url)
            .header(ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| fetch_error("Domain binding fetch failed", e.to_string()))?;
        if !response.status().is_success() {
            return Err(fetch_error(
                "Domain binding not found",
                format!("status {}", response.status().as_u16()),
            ));
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !is_json(content_type) {
            return Err(fetch_error(
                "Domain binding response must be JSON",
                format!("content-type {content_type:?}"),
            ));
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_BINDING_BYTES as u64)
        {
            return Err(TrustError::new("Domain binding response is too large"));
        }
        let mut body = BytesMut::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk =
                chunk.map_err(|e| fetch_error("Domain binding read failed", e.to_string()))?;
            if body.len() + chunk.len() > MAX_BINDING_BYTES {
                return Err(TrustError::new("Domain binding response is too large"));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_unicast_addresses_are_allowed() {
        for blocked in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "240.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "2001:db8::1",
            "64:ff9b::a00:1",
            "::127.0.0.1",
        ] {
            assert!(
                !is_public(blocked.parse().unwrap()),
                "{blocked} must be refused"
            );
        }
        for allowed in [
            "1.1.1.1",
            "93.184.216.34",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(
                is_public(allowed.parse().unwrap()),
                "{allowed} must be allowed"
            );
        }
    }

    #[tokio::test]
    async fn the_resolver_drops_forbidden_addresses() {
        use std::str::FromStr;
        let strict = FilteringResolver {
            policy: AddressPolicy::PublicOnly,
        };
        let name = Name::from_str("localhost").unwrap();
        assert!(strict.resolve(name).await.is_err());
        let loose = FilteringResolver {
            policy: AddressPolicy::AllowLoopback,
        };
        let addrs: Vec<SocketAddr> = loose
            .resolve(Name::from_str("localhost").unwrap())
            .await
            .unwrap()
            .collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()) && !addrs.is_empty());
    }

    #[test]
    fn json_content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/vnd.regesta+json"));
        assert!(!is_json("text/html"));
        assert!(!is_json(""));
    }
}
