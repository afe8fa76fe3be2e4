//! The two storage ports: registry metadata and content-addressed bytes.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use regesta_protocol::{ChannelName, Digest, ObjectDescriptor, PackageId, Timestamp, Version};

use crate::error::{Result, StoreError};
use crate::model::{
    ChannelCommit, ChannelRecord, LogHead, PackageRecord, PublishCommit, ReleaseDocuments,
    ReleaseRecord, Stats, StoredEvent,
};

/// Registry metadata: events, releases, channels, replay markers and the
/// object index, changed only through atomic commits.
#[async_trait]
pub trait RegistryDb: crate::log::LogStore + Send + Sync + 'static {
    /// Inserts release, channel pointer, event, replay marker and object
    /// index rows in ONE transaction; returns the event's sequence number.
    ///
    /// # Errors
    /// [`crate::StoreError::ReleaseExists`], [`crate::StoreError::Replayed`],
    /// or a backend failure; nothing is written on error.
    async fn commit_publish(&self, commit: &PublishCommit) -> Result<u64>;

    /// Moves or deletes a channel with its event in one transaction, only if
    /// the channel still points at `commit.expected`.
    ///
    /// # Errors
    /// [`crate::StoreError::StaleChannel`], [`crate::StoreError::Replayed`],
    /// or a backend failure; nothing is written on error.
    async fn commit_channel(&self, commit: &ChannelCommit) -> Result<u64>;

    /// The package's releases, channels and head event.
    async fn package(&self, id: &PackageId) -> Result<Option<PackageRecord>>;

    /// Only the package's head event and its time: one row, so validators
    /// and cache checks never load the whole package.
    async fn package_head(&self, id: &PackageId) -> Result<Option<(Digest, Timestamp)>>;

    /// The ids that start with `prefix` (`pypi:some.dev/`), in byte order,
    /// at most `limit` of them: a projection's list of the packages in one
    /// namespace. Shared, so a cache can hand out one listing to every
    /// reader.
    async fn package_ids(&self, prefix: &str, limit: usize) -> Result<Arc<[PackageId]>>;

    /// The package that holds `name_key` (see
    /// [`PublishCommit::name_key`]), if one does.
    async fn package_named(&self, name_key: &str) -> Result<Option<PackageId>>;

    /// One release.
    async fn release(&self, id: &PackageId, version: &Version) -> Result<Option<ReleaseRecord>>;

    /// The stored envelope documents of one release.
    async fn release_documents(
        &self,
        id: &PackageId,
        version: &Version,
    ) -> Result<Option<ReleaseDocuments>>;

    /// One channel.
    async fn channel(&self, id: &PackageId, channel: &ChannelName)
    -> Result<Option<ChannelRecord>>;

    /// Whether a write authorization with this payload digest was accepted
    /// before (its replay marker exists): the cheap check that lets a replay
    /// be refused as such before anything else is looked at.
    async fn replay_marked(&self, payload_digest: &Digest) -> Result<bool>;

    /// One event by id.
    async fn event(&self, id: &Digest) -> Result<Option<StoredEvent>>;

    /// Up to `limit` events in sequence order after the event `after`.
    ///
    /// # Errors
    /// [`crate::StoreError::CursorNotFound`] for an unknown cursor.
    async fn events_after(&self, after: Option<&Digest>, limit: usize) -> Result<Vec<StoredEvent>>;

    /// The newest event and the event count.
    async fn log_head(&self) -> Result<Option<LogHead>>;

    /// One indexed object.
    async fn object(&self, digest: &Digest) -> Result<Option<ObjectDescriptor>>;

    /// Up to `limit` indexed objects in digest order after `after`.
    ///
    /// # Errors
    /// [`crate::StoreError::CursorNotFound`] for an unknown cursor.
    async fn objects_after(
        &self,
        after: Option<&Digest>,
        limit: usize,
    ) -> Result<Vec<ObjectDescriptor>>;

    /// Counters for deployment info.
    async fn stats(&self) -> Result<Stats>;

    /// Readiness probe.
    async fn ping(&self) -> Result<()>;

    /// The counter this handle bumps after each change it makes or learns
    /// of, when it keeps one (the caching and memory adapters do; a bare
    /// SQL adapter does not know of other writers, so it has none).
    fn changes(&self) -> Option<crate::Changes> {
        None
    }
}

/// An object's bytes as a stream of chunks; a store error ends it.
pub type ByteStream =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<Bytes>> + Send + 'static>>;

/// `chunks` of the object `expected`, hashed as they go by: after the last
/// chunk, a mismatch becomes an error item, which aborts the response
/// mid-body (its declared length is then never reached, so clients
/// notice).
pub(crate) fn checked_stream(
    chunks: impl futures_util::Stream<Item = Result<Bytes>> + Send + 'static,
    expected: Digest,
) -> ByteStream {
    use futures_util::StreamExt as _;
    let mut hasher = Some(regesta_protocol::DigestWriter::new());
    let checked = chunks
        .map(Some)
        .chain(futures_util::stream::iter([None]))
        .filter_map(move |item| {
            let out = match item {
                Some(Ok(bytes)) => {
                    if let Some(h) = hasher.as_mut() {
                        h.update(&bytes);
                    }
                    Some(Ok(bytes))
                }
                Some(Err(e)) => Some(Err(e)),
                None => hasher.take().and_then(|h| {
                    let got = h.finish();
                    (got != expected).then(|| {
                        Err(crate::StoreError::Corrupt(
                            format!("object {expected} hashes to {got}").into(),
                        ))
                    })
                }),
            };
            std::future::ready(out)
        });
    Box::pin(checked)
}

/// Content-addressed, immutable bytes.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Stores `bytes` under `digest` durably; idempotent.
    ///
    /// # Errors
    /// Backend failure, or `bytes` not hashing to `digest`.
    async fn put(&self, digest: &Digest, bytes: Bytes) -> Result<()>;

    /// Stores every object durably, as [`BlobStore::put`] each; the
    /// objects of one publish, so a store can make them durable together
    /// (the file store syncs once for the batch). The default puts them
    /// concurrently.
    ///
    /// # Errors
    /// As [`BlobStore::put`]; some objects may be stored when one fails.
    async fn put_all(&self, objects: Vec<(Digest, Bytes)>) -> Result<()> {
        let puts = objects
            .iter()
            .map(|(digest, bytes)| self.put(digest, bytes.clone()));
        futures_util::future::try_join_all(puts).await?;
        Ok(())
    }

    /// The bytes, if present.
    async fn get(&self, digest: &Digest) -> Result<Option<Bytes>>;

    /// The bytes like [`BlobStore::get`], for a caller that keeps what it
    /// derives from them (a package document's render reads every
    /// release's manifest once): a cache in front of the store answers
    /// from memory when it can, but keeps no copy of what it reads.
    async fn peek(&self, digest: &Digest) -> Result<Option<Bytes>> {
        self.get(digest).await
    }

    /// The object as a stream, if present, so large objects are never
    /// held in memory whole. The default streams the whole object as one
    /// chunk; the S3 store hashes while it streams and ends the stream
    /// with an error when the bytes do not match the digest; the file
    /// store streams its file as it is, as [`BlobStore::get`] reads it.
    async fn open(&self, digest: &Digest) -> Result<Option<ByteStream>> {
        Ok(self
            .get(digest)
            .await?
            .map(|bytes| -> ByteStream { Box::pin(futures_util::stream::iter([Ok(bytes)])) }))
    }

    /// Bytes `start..=end` of the object, if present. The default reads
    /// the whole object (digest-checked) and slices it; stores that can
    /// read a range (S3) fetch only it — a part cannot be checked against
    /// the digest, the client checks the whole object.
    async fn get_range(&self, digest: &Digest, start: u64, end: u64) -> Result<Option<Bytes>> {
        let Some(bytes) = self.get(digest).await? else {
            return Ok(None);
        };
        let range = usize::try_from(start).ok().zip(usize::try_from(end).ok());
        Ok(range
            .filter(|(s, e)| s <= e && *e < bytes.len())
            .map(|(s, e)| bytes.slice(s..=e)))
    }

    /// A URL that serves the object's bytes directly for `ttl` (a presigned
    /// GET), when the store can make one; `None` otherwise.
    async fn presigned_get(
        &self,
        _digest: &Digest,
        _ttl: std::time::Duration,
    ) -> Result<Option<String>> {
        Ok(None)
    }

    /// Readiness probe.
    async fn ping(&self) -> Result<()>;
}

/// The content-address rule every [`BlobStore::put`] enforces: the bytes
/// must hash to the digest they are stored under. Checked at the storage
/// boundary so no adapter can ever serve bytes under a wrong address.
///
/// # Errors
/// [`StoreError::Corrupt`] when the digest does not match.
pub fn ensure_digest(digest: &Digest, bytes: &[u8]) -> Result<()> {
    if Digest::of(bytes) == *digest {
        Ok(())
    } else {
        Err(StoreError::Corrupt(
            format!("bytes do not hash to {digest}").into(),
        ))
    }
}
