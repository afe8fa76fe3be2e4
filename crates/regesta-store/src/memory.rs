//! In-memory adapters for unit tests. They follow the same rules as the
//! durable adapters (the conformance suite proves it) but keep nothing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use regesta_protocol::{ChannelName, Digest, ObjectDescriptor, PackageId, Timestamp, Version};

use crate::error::{Result, StoreError};
use crate::log::{LogCheckpoint, LogCommit, LogIdentity, LogStore};
use crate::model::{
    ChannelCommit, ChannelRecord, LogHead, PackageRecord, PublishCommit, ReleaseDocuments,
    ReleaseRecord, Stats, StoredEvent,
};
use crate::traits::{BlobStore, RegistryDb, ensure_digest};

/// One package's view, so package reads touch only that package.
struct PackageView {
    releases: BTreeMap<Version, (ReleaseRecord, ReleaseDocuments)>,
    channels: BTreeMap<ChannelName, ChannelRecord>,
    head: (Digest, Timestamp),
}

#[derive(Default)]
struct State {
    events: Vec<StoredEvent>,
    event_index: HashMap<Digest, usize>,
    packages: HashMap<PackageId, PackageView>,
    release_count: u64,
    replay: HashSet<Digest>,
    /// `(package, version key)` of every release committed with a key.
    version_keys: HashSet<(PackageId, String)>,
    name_keys: HashMap<String, PackageId>,
    objects: BTreeMap<Digest, ObjectDescriptor>,
    log_tiles: HashMap<(u8, u64), Bytes>,
    log_checkpoints: Vec<LogCheckpoint>,
    log_cosigned: BTreeMap<u64, Bytes>,
    log_identity: Option<LogIdentity>,
    leases: HashMap<String, (String, i64)>,
}

impl State {
    fn channel(&self, id: &PackageId, channel: &ChannelName) -> Option<&ChannelRecord> {
        self.packages.get(id)?.channels.get(channel)
    }

    /// Appends an event and returns the package view it moved.
    fn push_event(
        &mut self,
        id: Digest,
        package: &PackageId,
        (bytes, listing): (&Bytes, &Bytes),
        time: Timestamp,
    ) -> (u64, &mut PackageView) {
        let seq = self.events.len() as u64 + 1;
        self.event_index.insert(id, self.events.len());
        self.events.push(StoredEvent {
            seq,
            id,
            package: package.clone(),
            bytes: bytes.clone(),
            listing: listing.clone(),
        });
        let view = self
            .packages
            .entry(package.clone())
            .or_insert_with(|| PackageView {
                releases: BTreeMap::new(),
                channels: BTreeMap::new(),
                head: (id, time),
            });
        view.head = (id, time);
        (seq, view)
    }
}

/// In-memory registry metadata.
#[derive(Default)]
pub struct MemoryDb {
    state: Mutex<State>,
    changes: crate::Changes,
}

impl std::fmt::Debug for MemoryDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryDb")
    }
}

impl MemoryDb {
    /// An empty database.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, State>> {
        self.state
            .lock()
            .map_err(|_| StoreError::Backend("memory store poisoned".into()))
    }
}

#[async_trait]
impl LogStore for MemoryDb {
    async fn events_from(&self, from: u64, limit: usize) -> Result<Vec<StoredEvent>> {
        let s = self.lock()?;
        let start = usize::try_from(from.saturating_sub(1)).unwrap_or(usize::MAX);
        Ok(s.events.iter().skip(start).take(limit).cloned().collect())
    }

    async fn log_checkpoint(&self) -> Result<Option<LogCheckpoint>> {
        Ok(self.lock()?.log_checkpoints.last().cloned())
    }

    async fn log_tile(&self, level: u8, index: u64) -> Result<Option<Bytes>> {
        Ok(self.lock()?.log_tiles.get(&(level, index)).cloned())
    }

    async fn commit_log(&self, c: &LogCommit) -> Result<()> {
        let mut s = self.lock()?;
        let current = s.log_checkpoints.last().map_or(0, |c| c.size);
        c.check_current(current)?;
        for (level, index, data) in &c.tiles {
            s.log_tiles.insert((*level, *index), data.clone());
        }
        s.log_checkpoints.push(c.checkpoint.clone());
        Ok(())
    }

    async fn log_cosign(&self, size: u64, note: &Bytes) -> Result<()> {
        let mut s = self.lock()?;
        if s.log_checkpoints.iter().any(|c| c.size == size) {
            s.log_cosigned.insert(size, note.clone());
        }
        Ok(())
    }

    async fn log_cosigned(&self) -> Result<Option<LogCheckpoint>> {
        let s = self.lock()?;
        Ok(s.log_cosigned.iter().next_back().and_then(|(size, note)| {
            let plain = s.log_checkpoints.iter().find(|c| c.size == *size)?;
            Some(LogCheckpoint {
                note: note.clone(),
                ..plain.clone()
            })
        }))
    }

    async fn claim_log_identity(&self, identity: &LogIdentity) -> Result<LogIdentity> {
        let mut s = self.lock()?;
        Ok(s.log_identity
            .get_or_insert_with(|| identity.clone())
            .clone())
    }

    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<bool> {
        let mut s = self.lock()?;
        let free = s
            .leases
            .get(name)
            .is_none_or(|(h, expires)| h == holder || *expires <= now_ms);
        if free {
            s.leases.insert(
                name.to_owned(),
                (holder.to_owned(), now_ms.saturating_add(ttl_ms)),
            );
        }
        Ok(free)
    }
}

#[async_trait]
impl RegistryDb for MemoryDb {
    async fn commit_publish(&self, c: &PublishCommit) -> Result<u64> {
        let mut s = self.lock()?;
        let exists = s
            .packages
            .get(&c.package)
            .is_some_and(|p| p.releases.contains_key(&c.version));
        let key = c.version_key.clone().map(|key| (c.package.clone(), key));
        let equivalent = key.as_ref().is_some_and(|key| s.version_keys.contains(key));
        if exists || equivalent || s.event_index.contains_key(&c.event_id) {
            return Err(StoreError::ReleaseExists);
        }
        if c.payload_digest.is_some_and(|d| s.replay.contains(&d)) {
            return Err(StoreError::Replayed);
        }
        if let Some(holder) = c.name_key.as_ref().and_then(|k| s.name_keys.get(k))
            && *holder != c.package
        {
            return Err(StoreError::NameTaken(holder.clone()));
        }
        if let Some(name_key) = &c.name_key {
            s.name_keys.insert(name_key.clone(), c.package.clone());
        }
        if let Some(d) = c.payload_digest {
            s.replay.insert(d);
        }
        if let Some(key) = key {
            s.version_keys.insert(key);
        }
        for object in &c.objects {
            s.objects
                .entry(object.digest)
                .or_insert_with(|| object.clone());
        }
        s.release_count += 1;
        let (seq, view) = s.push_event(
            c.event_id,
            &c.package,
            (&c.event_bytes, &c.event_listing),
            c.created_at,
        );
        let record = ReleaseRecord {
            version: c.version.clone(),
            manifest_digest: c.manifest_digest,
            created_at: c.created_at,
            event_id: c.event_id,
            facts: c.facts.clone(),
        };
        view.releases
            .insert(c.version.clone(), (record, c.documents.clone()));
        view.channels.insert(
            c.channel.clone(),
            ChannelRecord {
                channel: c.channel.clone(),
                version: c.version.clone(),
                event_id: c.event_id,
            },
        );
        // Under the lock: a reader that saw the old count reads after us.
        self.changes.bump();
        Ok(seq)
    }

    async fn commit_channel(&self, c: &ChannelCommit) -> Result<u64> {
        let mut s = self.lock()?;
        let current = s.channel(&c.package, &c.channel).map(|r| &r.version);
        if current != c.expected.as_ref() {
            return Err(StoreError::StaleChannel);
        }
        if c.payload_digest.is_some_and(|d| s.replay.contains(&d)) {
            return Err(StoreError::Replayed);
        }
        if let Some(d) = c.payload_digest {
            s.replay.insert(d);
        }
        let (seq, view) = s.push_event(
            c.event_id,
            &c.package,
            (&c.event_bytes, &c.event_listing),
            c.timestamp,
        );
        match &c.target {
            Some(version) => {
                view.channels.insert(
                    c.channel.clone(),
                    ChannelRecord {
                        channel: c.channel.clone(),
                        version: version.clone(),
                        event_id: c.event_id,
                    },
                );
            }
            None => {
                view.channels.remove(&c.channel);
            }
        }
        self.changes.bump();
        Ok(seq)
    }

    async fn package_head(&self, id: &PackageId) -> Result<Option<(Digest, Timestamp)>> {
        Ok(self.lock()?.packages.get(id).map(|view| view.head))
    }

    async fn package_ids(&self, prefix: &str, limit: usize) -> Result<Arc<[PackageId]>> {
        let s = self.lock()?;
        let mut ids: Vec<PackageId> = s
            .packages
            .keys()
            .filter(|id| id.as_str().starts_with(prefix))
            .cloned()
            .collect();
        ids.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        ids.truncate(limit);
        Ok(ids.into())
    }

    async fn package_named(&self, name_key: &str) -> Result<Option<PackageId>> {
        Ok(self.lock()?.name_keys.get(name_key).cloned())
    }

    async fn package(&self, id: &PackageId) -> Result<Option<PackageRecord>> {
        let s = self.lock()?;
        Ok(s.packages.get(id).map(|view| {
            let mut releases: Vec<ReleaseRecord> =
                view.releases.values().map(|(r, _)| r.clone()).collect();
            releases.sort_by(|a, b| {
                a.created_at
                    .cmp(&b.created_at)
                    .then_with(|| a.version.as_str().cmp(b.version.as_str()))
            });
            PackageRecord {
                releases,
                channels: view.channels.values().cloned().collect(),
                head_event: view.head.0,
                head_time: view.head.1,
            }
        }))
    }

    async fn release(&self, id: &PackageId, version: &Version) -> Result<Option<ReleaseRecord>> {
        let s = self.lock()?;
        Ok(s.packages
            .get(id)
            .and_then(|p| p.releases.get(version))
            .map(|(r, _)| r.clone()))
    }

    async fn replay_marked(&self, payload_digest: &Digest) -> Result<bool> {
        Ok(self.lock()?.replay.contains(payload_digest))
    }

    async fn release_documents(
        &self,
        id: &PackageId,
        version: &Version,
    ) -> Result<Option<ReleaseDocuments>> {
        let s = self.lock()?;
        Ok(s.packages
            .get(id)
            .and_then(|p| p.releases.get(version))
            .map(|(_, d)| d.clone()))
    }

    async fn channel(
        &self,
        id: &PackageId,
        channel: &ChannelName,
    ) -> Result<Option<ChannelRecord>> {
        Ok(self.lock()?.channel(id, channel).cloned())
    }

    async fn event(&self, id: &Digest) -> Result<Option<StoredEvent>> {
        let s = self.lock()?;
        Ok(s.event_index.get(id).map(|&i| s.events[i].clone()))
    }

    async fn events_after(&self, after: Option<&Digest>, limit: usize) -> Result<Vec<StoredEvent>> {
        let s = self.lock()?;
        let start = match after {
            None => 0,
            Some(d) => *s.event_index.get(d).ok_or(StoreError::CursorNotFound)? + 1,
        };
        Ok(s.events.iter().skip(start).take(limit).cloned().collect())
    }

    async fn log_head(&self) -> Result<Option<LogHead>> {
        let s = self.lock()?;
        Ok(s.events.last().map(|e| LogHead {
            last: e.id,
            count: e.seq,
        }))
    }

    async fn object(&self, digest: &Digest) -> Result<Option<ObjectDescriptor>> {
        Ok(self.lock()?.objects.get(digest).cloned())
    }

    async fn objects_after(
        &self,
        after: Option<&Digest>,
        limit: usize,
    ) -> Result<Vec<ObjectDescriptor>> {
        use std::ops::Bound::{Excluded, Unbounded};
        let s = self.lock()?;
        let lower = match after {
            None => Unbounded,
            Some(d) if s.objects.contains_key(d) => Excluded(*d),
            Some(_) => return Err(StoreError::CursorNotFound),
        };
        Ok(s.objects
            .range((lower, Unbounded))
            .take(limit)
            .map(|(_, v)| v.clone())
            .collect())
    }

    async fn stats(&self) -> Result<Stats> {
        let s = self.lock()?;
        Ok(Stats {
            packages: s.packages.len() as u64,
            releases: s.release_count,
            events: s.events.len() as u64,
            objects: s.objects.len() as u64,
        })
    }

    async fn ping(&self) -> Result<()> {
        self.lock().map(|_| ())
    }

    fn changes(&self) -> Option<crate::Changes> {
        Some(self.changes.clone())
    }
}

/// In-memory blobs.
#[derive(Default)]
pub struct MemoryBlobs {
    blobs: Mutex<HashMap<Digest, Bytes>>,
}

impl std::fmt::Debug for MemoryBlobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryBlobs")
    }
}

impl MemoryBlobs {
    /// An empty blob store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl BlobStore for MemoryBlobs {
    async fn put(&self, digest: &Digest, bytes: Bytes) -> Result<()> {
        ensure_digest(digest, &bytes)?;
        self.blobs
            .lock()
            .map_err(|_| StoreError::Backend("poisoned".into()))?
            .entry(*digest)
            .or_insert(bytes);
        Ok(())
    }

    async fn get(&self, digest: &Digest) -> Result<Option<Bytes>> {
        Ok(self
            .blobs
            .lock()
            .map_err(|_| StoreError::Backend("poisoned".into()))?
            .get(digest)
            .cloned())
    }

    async fn ping(&self) -> Result<()> {
        Ok(())
    }
}
