//! Registry metadata kept in memory, invalidated per package.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use async_trait::async_trait;
use bytes::Bytes;
use regesta_protocol::{ChannelName, Digest, ObjectDescriptor, PackageId, Timestamp, Version};

use super::{entry_overhead, shared};
use crate::error::Result;
use crate::log::{LogCheckpoint, LogCommit, LogIdentity, LogStore};
use crate::model::{
    ChannelCommit, ChannelRecord, LogHead, PackageRecord, PublishCommit, ReleaseDocuments,
    ReleaseRecord, Stats, StoredEvent,
};
use crate::traits::RegistryDb;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Head(PackageId),
    Channel(PackageId, ChannelName),
    Release(PackageId, Version),
    Event(Digest),
    Object(Digest),
    /// The listing of one namespace (`<ecosystem>:<domain>/`).
    Namespace(String),
}

#[derive(Debug, Clone)]
enum Value {
    /// The package head; `None` caches "nothing published" too.
    Head(Option<(Digest, Timestamp)>),
    /// A channel row read while the package head was `at`: valid only
    /// while the cached head still is `at` (every channel move is a package
    /// event, so it moves the head).
    Channel {
        at: Digest,
        record: Option<Arc<ChannelRecord>>,
    },
    // The larger values are behind an `Arc`: every slot of the cache, its
    // ghost slots too, is as large as the largest variant, and a hit
    // clones only a pointer.
    Release(Arc<ReleaseDocuments>),
    Event(Arc<StoredEvent>),
    Object(ObjectDescriptor),
    /// A namespace listing read with `limit`.
    Namespace {
        limit: usize,
        ids: Arc<[PackageId]>,
    },
}

#[derive(Debug, Clone, Copy)]
struct Weight;

impl quick_cache::Weighter<Key, Value> for Weight {
    fn weight(&self, key: &Key, value: &Value) -> u64 {
        let key = match key {
            Key::Head(id) => id.as_str().len(),
            Key::Channel(id, c) => id.as_str().len() + c.as_str().len(),
            Key::Release(id, v) => id.as_str().len() + v.as_str().len(),
            Key::Event(_) | Key::Object(_) => 32,
            Key::Namespace(prefix) => prefix.len(),
        };
        let value = match value {
            Value::Head(_) => 0,
            Value::Object(object) => object.media_type.as_str().len(),
            Value::Channel { record, .. } => record.as_ref().map_or(0, |r| {
                shared::<ChannelRecord>() + r.channel.as_str().len() + r.version.as_str().len()
            }),
            Value::Release(docs) => {
                shared::<ReleaseDocuments>() + docs.envelope.len() + docs.listing.len()
            }
            Value::Event(event) => {
                shared::<StoredEvent>()
                    + event.package.as_str().len()
                    + event.bytes.len()
                    + event.listing.len()
            }
            Value::Namespace { ids, .. } => ids.iter().map(|id| id.as_str().len() + 16).sum(),
        };
        (key + value) as u64 + entry_overhead::<Key, Value>()
    }
}

/// A [`RegistryDb`] that answers repeated reads from memory.
///
/// Filling races invalidation safely: a reader notes the invalidation
/// epoch before it reads the database and keeps what it read only if no
/// invalidation happened since, checked under the same lock an
/// invalidation takes, so a value read before a write can never be cached
/// after that write's invalidation.
pub struct CachedDb {
    inner: Arc<dyn RegistryDb>,
    cache: quick_cache::sync::Cache<Key, Value, Weight>,
    epoch: RwLock<u64>,
    changes: crate::Changes,
    /// The next event sequence number [`CachedDb::catch_up`] reads.
    next_seq: AtomicU64,
    /// Events committed through this handle, invalidated as they were
    /// made: [`CachedDb::catch_up`] skips them, since invalidating their
    /// packages again a refresh later would only drop answers still true.
    own: Mutex<BTreeSet<u64>>,
}

/// Most own events remembered; past it they are forgotten, and catch-up
/// invalidates their packages a second time, which is only wasteful.
const MAX_OWN: usize = 65_536;

impl std::fmt::Debug for CachedDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedDb")
            .field("weight", &self.cache.weight())
            .field("next_seq", &self.next_seq)
            .finish_non_exhaustive()
    }
}

/// The namespace of a package id or id prefix: everything up to and
/// including its first `/` (`pypi:some.dev/`), or all of it without one.
fn namespace(id: &str) -> &str {
    id.find('/').map_or(id, |slash| &id[..=slash])
}

/// Events read per [`CachedDb::catch_up`] query.
const CATCH_UP_PAGE: usize = 999;

impl CachedDb {
    /// Caches `inner` within `capacity` bytes. Reads the log head first, so
    /// every event committed from now on is seen by [`CachedDb::catch_up`].
    ///
    /// # Errors
    /// The log head cannot be read.
    pub async fn open(inner: Arc<dyn RegistryDb>, capacity: u64) -> Result<Self> {
        let next = inner.log_head().await?.map_or(1, |head| head.count + 1);
        let items = usize::try_from(capacity / 256)
            .unwrap_or(usize::MAX)
            .max(16);
        Ok(Self {
            inner,
            cache: super::byte_bounded(items, capacity, Weight),
            epoch: RwLock::new(0),
            changes: crate::Changes::default(),
            next_seq: AtomicU64::new(next),
            own: Mutex::default(),
        })
    }

    fn epoch(&self) -> u64 {
        self.epoch.read().map_or(u64::MAX, |e| *e)
    }

    /// Keeps `value` unless an invalidation happened since `epoch`.
    fn fill(&self, epoch: u64, key: Key, value: Value) {
        if let Ok(current) = self.epoch.read()
            && *current == epoch
        {
            self.cache.insert(key, value);
        }
    }

    /// Forgets `id`'s head (and so its channel rows) and its namespace's
    /// listing (the event may have created the package).
    pub fn invalidate(&self, id: &PackageId) {
        if let Ok(mut epoch) = self.epoch.write() {
            *epoch += 1;
            self.cache.remove(&Key::Head(id.clone()));
            self.cache
                .remove(&Key::Namespace(namespace(id.as_str()).to_owned()));
        } else {
            self.cache.clear();
        }
        self.changes.bump_package(id.as_str());
    }

    /// Reads the events committed since the last call (by any replica) and
    /// invalidates their packages. Returns how many there were.
    ///
    /// # Errors
    /// The database cannot be read; nothing is skipped, the next call
    /// retries from the same place.
    pub async fn catch_up(&self) -> Result<usize> {
        let mut seen = 0;
        loop {
            let from = self.next_seq.load(Ordering::Acquire);
            let events = self.inner.events_from(from, CATCH_UP_PAGE).await?;
            for event in &events {
                if !self.own_event(event.seq) {
                    self.invalidate(&event.package);
                }
            }
            seen += events.len();
            let Some(last) = events.last() else {
                return Ok(seen);
            };
            self.next_seq.store(last.seq + 1, Ordering::Release);
            // What was remembered after catch-up had passed it.
            let mut own = self.own.lock().unwrap_or_else(PoisonError::into_inner);
            *own = own.split_off(&(last.seq + 1));
            if events.len() < CATCH_UP_PAGE {
                return Ok(seen);
            }
        }
    }

    /// Remembers that event `seq` was committed through this handle (call
    /// before invalidating its package).
    fn remember_own(&self, seq: u64) {
        let mut own = self.own.lock().unwrap_or_else(PoisonError::into_inner);
        if own.len() >= MAX_OWN {
            own.clear();
        }
        own.insert(seq);
    }

    /// Whether event `seq` was committed through this handle, forgetting it.
    fn own_event(&self, seq: u64) -> bool {
        self.own
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&seq)
    }

    async fn head(&self, id: &PackageId) -> Result<Option<(Digest, Timestamp)>> {
        let key = Key::Head(id.clone());
        if let Some(Value::Head(head)) = self.cache.get(&key) {
            return Ok(head);
        }
        let epoch = self.epoch();
        let head = self.inner.package_head(id).await?;
        self.fill(epoch, key, Value::Head(head));
        Ok(head)
    }
}

#[async_trait]
impl RegistryDb for CachedDb {
    async fn commit_publish(&self, commit: &PublishCommit) -> Result<u64> {
        let result = self.inner.commit_publish(commit).await;
        if let Ok(seq) = result {
            self.remember_own(seq);
        }
        // Also on error: a failed acknowledgement may still have committed.
        self.invalidate(&commit.package);
        result
    }

    async fn commit_channel(&self, commit: &ChannelCommit) -> Result<u64> {
        let result = self.inner.commit_channel(commit).await;
        if let Ok(seq) = result {
            self.remember_own(seq);
        }
        self.invalidate(&commit.package);
        result
    }

    async fn package(&self, id: &PackageId) -> Result<Option<PackageRecord>> {
        self.inner.package(id).await
    }

    async fn package_named(&self, name_key: &str) -> Result<Option<PackageId>> {
        self.inner.package_named(name_key).await
    }

    async fn package_head(&self, id: &PackageId) -> Result<Option<(Digest, Timestamp)>> {
        self.head(id).await
    }

    async fn package_ids(&self, prefix: &str, limit: usize) -> Result<Arc<[PackageId]>> {
        // Only whole namespaces are cached: those are what invalidation
        // names.
        if namespace(prefix) != prefix {
            return self.inner.package_ids(prefix, limit).await;
        }
        let key = Key::Namespace(prefix.to_owned());
        if let Some(Value::Namespace { limit: at, ids }) = self.cache.get(&key)
            && at == limit
        {
            return Ok(ids);
        }
        let epoch = self.epoch();
        let ids = self.inner.package_ids(prefix, limit).await?;
        self.fill(
            epoch,
            key,
            Value::Namespace {
                limit,
                ids: Arc::clone(&ids),
            },
        );
        Ok(ids)
    }

    async fn release(&self, id: &PackageId, version: &Version) -> Result<Option<ReleaseRecord>> {
        self.inner.release(id, version).await
    }

    async fn release_documents(
        &self,
        id: &PackageId,
        version: &Version,
    ) -> Result<Option<ReleaseDocuments>> {
        let key = Key::Release(id.clone(), version.clone());
        if let Some(Value::Release(docs)) = self.cache.get(&key) {
            return Ok(Some(ReleaseDocuments::clone(&docs)));
        }
        let docs = self.inner.release_documents(id, version).await?;
        if let Some(docs) = &docs {
            // A release never changes once it exists.
            self.cache
                .insert(key, Value::Release(Arc::new(docs.clone())));
        }
        Ok(docs)
    }

    async fn channel(
        &self,
        id: &PackageId,
        channel: &ChannelName,
    ) -> Result<Option<ChannelRecord>> {
        let epoch = self.epoch();
        let Some((head, _)) = self.head(id).await? else {
            return self.inner.channel(id, channel).await;
        };
        let key = Key::Channel(id.clone(), channel.clone());
        if let Some(Value::Channel { at, record }) = self.cache.get(&key)
            && at == head
        {
            return Ok(record.as_deref().cloned());
        }
        let record = self.inner.channel(id, channel).await?;
        let value = Value::Channel {
            at: head,
            record: record.clone().map(Arc::new),
        };
        self.fill(epoch, key, value);
        Ok(record)
    }

    async fn replay_marked(&self, payload_digest: &Digest) -> Result<bool> {
        self.inner.replay_marked(payload_digest).await
    }

    async fn event(&self, id: &Digest) -> Result<Option<StoredEvent>> {
        let key = Key::Event(*id);
        if let Some(Value::Event(event)) = self.cache.get(&key) {
            return Ok(Some(StoredEvent::clone(&event)));
        }
        let event = self.inner.event(id).await?;
        if let Some(event) = &event {
            self.cache
                .insert(key, Value::Event(Arc::new(event.clone())));
        }
        Ok(event)
    }

    async fn events_after(&self, after: Option<&Digest>, limit: usize) -> Result<Vec<StoredEvent>> {
        self.inner.events_after(after, limit).await
    }

    async fn log_head(&self) -> Result<Option<LogHead>> {
        self.inner.log_head().await
    }

    async fn object(&self, digest: &Digest) -> Result<Option<ObjectDescriptor>> {
        let key = Key::Object(*digest);
        if let Some(Value::Object(object)) = self.cache.get(&key) {
            return Ok(Some(object));
        }
        let object = self.inner.object(digest).await?;
        if let Some(object) = &object {
            self.cache.insert(key, Value::Object(object.clone()));
        }
        Ok(object)
    }

    async fn objects_after(
        &self,
        after: Option<&Digest>,
        limit: usize,
    ) -> Result<Vec<ObjectDescriptor>> {
        self.inner.objects_after(after, limit).await
    }

    async fn stats(&self) -> Result<Stats> {
        self.inner.stats().await
    }

    async fn ping(&self) -> Result<()> {
        self.inner.ping().await
    }

    fn changes(&self) -> Option<crate::Changes> {
        Some(self.changes.clone())
    }
}

#[async_trait]
impl LogStore for CachedDb {
    async fn events_from(&self, from: u64, limit: usize) -> Result<Vec<StoredEvent>> {
        self.inner.events_from(from, limit).await
    }

    async fn log_checkpoint(&self) -> Result<Option<LogCheckpoint>> {
        self.inner.log_checkpoint().await
    }

    async fn log_tile(&self, level: u8, index: u64) -> Result<Option<Bytes>> {
        self.inner.log_tile(level, index).await
    }

    async fn commit_log(&self, commit: &LogCommit) -> Result<()> {
        self.inner.commit_log(commit).await
    }

    async fn log_cosign(&self, size: u64, note: &Bytes) -> Result<()> {
        self.inner.log_cosign(size, note).await
    }

    async fn log_cosigned(&self) -> Result<Option<LogCheckpoint>> {
        self.inner.log_cosigned().await
    }

    async fn claim_log_identity(&self, identity: &LogIdentity) -> Result<LogIdentity> {
        self.inner.claim_log_identity(identity).await
    }

    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<bool> {
        self.inner.acquire_lease(name, holder, now_ms, ttl_ms).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_read_from_before_an_invalidation_is_not_kept() {
        let inner = Arc::new(crate::memory::MemoryDb::new());
        let db = CachedDb::open(inner, 1 << 20).await.expect("opens");
        let id = PackageId::parse("npm:example.com/raced").expect("valid id");
        let key = Key::Head(id.clone());
        // A reader took the epoch, then a write invalidated, then the
        // reader came back with what it read before the write.
        let before = db.epoch();
        db.invalidate(&id);
        db.fill(before, key.clone(), Value::Head(None));
        assert!(db.cache.get(&key).is_none(), "a stale read is dropped");
        let now = db.epoch();
        db.fill(now, key.clone(), Value::Head(None));
        assert!(db.cache.get(&key).is_some());
    }
}
