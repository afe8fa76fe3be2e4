//! Where domain bindings come from.

use std::collections::HashMap;

use async_trait::async_trait;
use bytes::Bytes;
use regesta_protocol::OwnerDomain;

use crate::verify::TrustError;

/// Fetches the exact bytes of `https://<domain>/.well-known/regesta.json`.
/// The bytes are hashed into the proof's `wellKnownDigest`, so a source must
/// return them unmodified.
#[async_trait]
pub trait BindingSource: Send + Sync + 'static {
    /// The binding bytes for `domain`.
    ///
    /// # Errors
    /// Not found, unreachable, or refused by policy.
    async fn fetch(&self, domain: &OwnerDomain) -> Result<Bytes, TrustError>;
}

/// Bindings served from memory: dev mode's `*.localhost` binding files.
#[derive(Debug, Clone, Default)]
pub struct StaticBindings {
    bindings: HashMap<String, Bytes>,
}

impl StaticBindings {
    /// No bindings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the binding bytes of a `*.localhost` domain.
    ///
    /// # Errors
    /// The domain is not `localhost` or below it: dev bindings must never
    /// speak for a real domain.
    pub fn insert(&mut self, domain: &OwnerDomain, bytes: Bytes) -> Result<(), TrustError> {
        if !domain.is_localhost() {
            return Err(TrustError::new(
                "Dev bindings may only be loaded for *.localhost domains",
            ));
        }
        self.bindings.insert(domain.as_str().to_owned(), bytes);
        Ok(())
    }

    /// The binding bytes of `domain`, if loaded.
    pub fn get(&self, domain: &OwnerDomain) -> Option<&Bytes> {
        self.bindings.get(domain.as_str())
    }
}

#[async_trait]
impl BindingSource for StaticBindings {
    async fn fetch(&self, domain: &OwnerDomain) -> Result<Bytes, TrustError> {
        self.get(domain)
            .cloned()
            .ok_or_else(|| TrustError::new("Domain binding not found"))
    }
}

/// Dev mode's source: `*.localhost` from local files, every other domain
/// from its real well-known URL.
#[derive(Debug, Clone)]
pub struct LocalFirst<R> {
    local: StaticBindings,
    remote: R,
}

impl<R> LocalFirst<R> {
    /// Serves `local` for `*.localhost` and asks `remote` for the rest.
    pub const fn new(local: StaticBindings, remote: R) -> Self {
        Self { local, remote }
    }
}

#[async_trait]
impl<R: BindingSource> BindingSource for LocalFirst<R> {
    async fn fetch(&self, domain: &OwnerDomain) -> Result<Bytes, TrustError> {
        if domain.is_localhost() {
            self.local.fetch(domain).await
        } else {
            self.remote.fetch(domain).await
        }
    }
}
