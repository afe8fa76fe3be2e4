//! Small objects kept in memory: object bytes never change under their
//! digest, so a cached copy is valid forever and needs no invalidation.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use regesta_protocol::Digest;

use super::entry_overhead;
use crate::error::Result;
use crate::traits::{BlobStore, ByteStream, ensure_digest};

#[derive(Debug, Clone, Copy)]
struct Weight;

impl quick_cache::Weighter<Digest, Bytes> for Weight {
    fn weight(&self, _key: &Digest, bytes: &Bytes) -> u64 {
        bytes.len() as u64 + entry_overhead::<Digest, Bytes>()
    }
}

/// A [`BlobStore`] that keeps objects up to `max_object` bytes in memory,
/// within `capacity` bytes in all.
pub struct CachedBlobs {
    inner: Arc<dyn BlobStore>,
    cache: quick_cache::sync::Cache<Digest, Bytes, Weight>,
    max_object: u64,
}

impl std::fmt::Debug for CachedBlobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedBlobs")
            .field("weight", &self.cache.weight())
            .field("max_object", &self.max_object)
            .finish_non_exhaustive()
    }
}

impl CachedBlobs {
    /// Caches `inner`'s objects of at most `max_object` bytes, within
    /// `capacity` bytes.
    #[must_use]
    pub fn new(inner: Arc<dyn BlobStore>, capacity: u64, max_object: u64) -> Self {
        let items = usize::try_from(capacity / 4096)
            .unwrap_or(usize::MAX)
            .max(16);
        Self {
            inner,
            cache: super::byte_bounded(items, capacity, Weight),
            max_object: max_object.min(capacity),
        }
    }

    /// Keeps `bytes` if small enough and right: a cached copy is served
    /// for as long as it stays, so it is checked against the digest first
    /// (not every store checks on read). Wrong bytes are passed on as read,
    /// uncached, so verification reports them as it always did.
    fn keep(&self, digest: &Digest, bytes: &Bytes) {
        if bytes.len() as u64 <= self.max_object && ensure_digest(digest, bytes).is_ok() {
            self.cache.insert(*digest, bytes.clone());
        }
    }
}

#[async_trait]
impl BlobStore for CachedBlobs {
    async fn put(&self, digest: &Digest, bytes: Bytes) -> Result<()> {
        self.inner.put(digest, bytes).await
    }

    async fn put_all(&self, objects: Vec<(Digest, Bytes)>) -> Result<()> {
        self.inner.put_all(objects).await
    }

    async fn get(&self, digest: &Digest) -> Result<Option<Bytes>> {
        if let Some(bytes) = self.cache.get(digest) {
            return Ok(Some(bytes));
        }
        let bytes = self.inner.get(digest).await?;
        if let Some(bytes) = &bytes {
            self.keep(digest, bytes);
        }
        Ok(bytes)
    }

    async fn peek(&self, digest: &Digest) -> Result<Option<Bytes>> {
        match self.cache.get(digest) {
            Some(bytes) => Ok(Some(bytes)),
            None => self.inner.get(digest).await,
        }
    }

    async fn open(&self, digest: &Digest) -> Result<Option<ByteStream>> {
        if let Some(bytes) = self.cache.get(digest) {
            return Ok(Some(Box::pin(futures_util::stream::iter([Ok(bytes)]))));
        }
        self.inner.open(digest).await
    }

    async fn get_range(&self, digest: &Digest, start: u64, end: u64) -> Result<Option<Bytes>> {
        if let Some(bytes) = self.cache.get(digest) {
            let range = usize::try_from(start).ok().zip(usize::try_from(end).ok());
            return Ok(range
                .filter(|(s, e)| s <= e && *e < bytes.len())
                .map(|(s, e)| bytes.slice(s..=e)));
        }
        self.inner.get_range(digest, start, end).await
    }

    async fn presigned_get(
        &self,
        digest: &Digest,
        ttl: std::time::Duration,
    ) -> Result<Option<String>> {
        self.inner.presigned_get(digest, ttl).await
    }

    async fn ping(&self) -> Result<()> {
        self.inner.ping().await
    }
}
