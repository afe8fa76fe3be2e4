//! In-memory adapters for unit tests. They follow the same rules as the
//! durable adapters (the conformance suite proves it) but keep nothing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

use async_trait::async_trait;
use bytes::Bytes;
use regesta_protocol::{ChannelName, Digest, ObjectDescriptor, PackageId, Timestamp, Version};

use crate::error::{Result, StoreError};
use crate::model::{
    ChannelCommit, ChannelRecord, LogHead, PackageRecord, PublishCommit, ReleaseRecord, Stats,
    StoredEvent,
};
use crate::traits::{BlobStore, RegistryDb};

#[derive(Default)]
struct State {
    events: Vec<StoredEvent>,
    event_index: HashMap<Digest, usize>,
    releases: BTreeMap<(PackageId, Version), ReleaseRecord>,
    channels: BTreeMap<(PackageId, ChannelName), ChannelRecord>,
    heads: HashMap<PackageId, (Digest, Timestamp)>,
    replay: HashSet<Digest>,
    objects: BTreeMap<Digest, ObjectDescriptor>,
}

/// In-memory registry metadata.
#[derive(Default)]
pub struct MemoryDb {
    state: Mutex<State>,
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

fn push_event(
    state: &mut State,
    id: Digest,
    package: &PackageId,
    bytes: &Bytes,
    time: Timestamp,
) -> u64 {
    let seq = state.events.len() as u64 + 1;
    state.event_index.insert(id, state.events.len());
    state.events.push(StoredEvent {
        seq,
        id,
        package: package.clone(),
        bytes: bytes.clone(),
    });
    state.heads.insert(package.clone(), (id, time));
    seq
}

#[async_trait]
impl RegistryDb for MemoryDb {
    async fn commit_publish(&self, c: &PublishCommit) -> Result<u64> {
        let mut s = self.lock()?;
        if s.releases
            .contains_key(&(c.package.clone(), c.version.clone()))
        {
            return Err(StoreError::ReleaseExists);
        }
        if c.payload_digest.is_some_and(|d| s.replay.contains(&d)) {
            return Err(StoreError::Replayed);
        }
        if s.event_index.contains_key(&c.event_id) {
            return Err(StoreError::ReleaseExists);
        }
        let seq = push_event(&mut s, c.event_id, &c.package, &c.event_bytes, c.created_at);
        s.releases.insert(
            (c.package.clone(), c.version.clone()),
            ReleaseRecord {
                version: c.version.clone(),
                manifest_digest: c.manifest_digest,
                created_at: c.created_at,
                event_id: c.event_id,
            },
        );
        s.channels.insert(
            (c.package.clone(), c.channel.clone()),
            ChannelRecord {
                channel: c.channel.clone(),
                version: c.version.clone(),
                event_id: c.event_id,
            },
        );
        if let Some(d) = c.payload_digest {
            s.replay.insert(d);
        }
        for object in &c.objects {
            s.objects
                .entry(object.digest)
                .or_insert_with(|| object.clone());
        }
        Ok(seq)
    }

    async fn commit_channel(&self, c: &ChannelCommit) -> Result<u64> {
        let mut s = self.lock()?;
        let key = (c.package.clone(), c.channel.clone());
        let current = s.channels.get(&key).map(|r| r.version.clone());
        if current != c.expected {
            return Err(StoreError::StaleChannel);
        }
        if c.payload_digest.is_some_and(|d| s.replay.contains(&d)) {
            return Err(StoreError::Replayed);
        }
        let seq = push_event(&mut s, c.event_id, &c.package, &c.event_bytes, c.timestamp);
        match &c.target {
            Some(version) => {
                s.channels.insert(
                    key,
                    ChannelRecord {
                        channel: c.channel.clone(),
                        version: version.clone(),
                        event_id: c.event_id,
                    },
                );
            }
            None => {
                s.channels.remove(&key);
            }
        }
        if let Some(d) = c.payload_digest {
            s.replay.insert(d);
        }
        Ok(seq)
    }

    async fn package(&self, id: &PackageId) -> Result<Option<PackageRecord>> {
        let s = self.lock()?;
        let Some((head_event, head_time)) = s.heads.get(id).copied() else {
            return Ok(None);
        };
        let mut releases: Vec<ReleaseRecord> = s
            .releases
            .iter()
            .filter(|((p, _), _)| p == id)
            .map(|(_, r)| r.clone())
            .collect();
        releases.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.version.as_str().cmp(b.version.as_str()))
        });
        let channels = s
            .channels
            .iter()
            .filter(|((p, _), _)| p == id)
            .map(|(_, r)| r.clone())
            .collect();
        Ok(Some(PackageRecord {
            releases,
            channels,
            head_event,
            head_time,
        }))
    }

    async fn release(&self, id: &PackageId, version: &Version) -> Result<Option<ReleaseRecord>> {
        Ok(self
            .lock()?
            .releases
            .get(&(id.clone(), version.clone()))
            .cloned())
    }

    async fn channel(
        &self,
        id: &PackageId,
        channel: &ChannelName,
    ) -> Result<Option<ChannelRecord>> {
        Ok(self
            .lock()?
            .channels
            .get(&(id.clone(), channel.clone()))
            .cloned())
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
        let s = self.lock()?;
        if let Some(d) = after
            && !s.objects.contains_key(d)
        {
            return Err(StoreError::CursorNotFound);
        }
        let iter: Box<dyn Iterator<Item = &ObjectDescriptor>> = match after {
            None => Box::new(s.objects.values()),
            Some(d) => Box::new(
                s.objects
                    .range((std::ops::Bound::Excluded(*d), std::ops::Bound::Unbounded))
                    .map(|(_, v)| v),
            ),
        };
        Ok(iter.take(limit).cloned().collect())
    }

    async fn stats(&self) -> Result<Stats> {
        let s = self.lock()?;
        Ok(Stats {
            packages: s.heads.len() as u64,
            releases: s.releases.len() as u64,
            events: s.events.len() as u64,
            objects: s.objects.len() as u64,
        })
    }

    async fn ping(&self) -> Result<()> {
        self.lock().map(|_| ())
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
        if Digest::of(&bytes) != *digest {
            return Err(StoreError::Corrupt(format!(
                "bytes do not hash to {digest}"
            )));
        }
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
