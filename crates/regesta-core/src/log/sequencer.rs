//! One sequencing step: the events committed since the last checkpoint
//! become leaves; the subtree hashes they complete are appended to the hash
//! tiles; the new root is signed; tiles and checkpoint are committed in one
//! transaction guarded by the old size. A crash before the commit leaves
//! the previous checkpoint and its tiles untouched; the next step redoes
//! the work from the event table, so the log never forks, skips or repeats.

use std::collections::BTreeSet;

use bytes::Bytes;
use regesta_protocol::SealedEvent;
use regesta_protocol::json::parse_strict;
use regesta_store::{LogCheckpoint, LogCommit, StoreError, StoredEvent};
use regesta_tlog::tile::{TILE_HEIGHT, TILE_WIDTH};
use regesta_tlog::{Checkpoint, Hash, appended_hashes, leaf_hash, tree_hash};

use super::LogConfig;
use super::tiles::{TileCache, with_tiles};
use crate::error::CoreError;
use crate::registry::Registry;

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sequenced {
    /// Tree size before.
    pub old_size: u64,
    /// Tree size after.
    pub size: u64,
}

/// The log entry of a stored event: its canonical payload (the bytes its id
/// hashes), checked against the id.
pub(crate) fn entry(event: &StoredEvent) -> Result<Vec<u8>, CoreError> {
    // The payload is the stored bytes without their id when that hashes
    // to the id; anything else is parsed, and refused if it does not.
    if let Some(payload) = regesta_protocol::event::payload_in_served(&event.bytes, &event.id) {
        return Ok(payload);
    }
    let value = parse_strict(&event.bytes, event.bytes.len()).map_err(CoreError::internal)?;
    // Parsing checks the id in the bytes against the payload's digest.
    let (sealed, payload) =
        SealedEvent::from_json_with_payload(&value).map_err(CoreError::internal)?;
    if sealed.id != event.id {
        return Err(CoreError::internal(format!(
            "event {} does not hash to its id",
            event.id
        )));
    }
    Ok(payload)
}

impl Registry {
    /// Sequences up to `max` events committed after the latest checkpoint.
    /// `None` when there is nothing new.
    ///
    /// # Errors
    /// Storage failure, a gap in the event sequence, or
    /// [`StoreError::StaleLog`] (as an internal error) when another
    /// sequencer moved the log meanwhile.
    pub async fn sequence(
        &self,
        log: &LogConfig,
        max: usize,
    ) -> Result<Option<Sequenced>, CoreError> {
        let db = self.db.as_ref();
        let latest = db.log_checkpoint().await?;
        let old_size = latest.as_ref().map_or(0, |c| c.size);
        let events = db.events_from(old_size + 1, max).await?;
        if events.is_empty() {
            if latest.is_none() {
                // An empty log still has a signed checkpoint (size 0, the
                // empty tree's root), so clients and witnesses can start
                // from it instead of a 404.
                return self.commit_empty(log).await;
            }
            return Ok(None);
        }
        let mut leaves = Vec::with_capacity(events.len());
        for (offset, event) in (1_u64..).zip(&events) {
            if event.seq != old_size + offset {
                return Err(CoreError::internal(format!(
                    "event sequence gap at {}",
                    old_size + offset
                )));
            }
            leaves.push(leaf_hash(&entry(event)?));
        }
        let size = old_size + leaves.len() as u64;
        let mut cache = TileCache::default();
        let made = with_tiles(db, &mut cache, |r| appended_hashes(r, old_size, &leaves)).await?;
        let stored: Vec<(u8, u64, Hash)> = made
            .into_iter()
            .filter(|(level, _, _)| level % TILE_HEIGHT == 0)
            .collect();
        let mut dirty = BTreeSet::new();
        for (level, index, _) in &stored {
            let key = (level / TILE_HEIGHT, index / TILE_WIDTH);
            if index % TILE_WIDTH != 0 && !cache.tiles.contains_key(&key) {
                cache.load(db, key.0, key.1).await?;
            }
            dirty.insert(key);
        }
        for (level, index, hash) in stored {
            let key = (level / TILE_HEIGHT, index / TILE_WIDTH);
            let tile = cache.tiles.entry(key).or_default();
            if tile.len() as u64 != index % TILE_WIDTH {
                return Err(CoreError::internal(format!(
                    "log tile {}/{} has {} hashes, expected {}",
                    key.0,
                    key.1,
                    tile.len(),
                    index % TILE_WIDTH
                )));
            }
            tile.push(hash);
        }
        let root = with_tiles(db, &mut cache, |r| tree_hash(r, size)).await?;
        let tiles = dirty
            .into_iter()
            .map(|(level, index)| (level, index, Bytes::from(cache.bytes(level, index))))
            .collect();
        self.commit_checkpoint(log, old_size, size, root, tiles)
            .await
            .map(Some)
    }

    /// Commits the signed size-0 checkpoint of a log with no entries.
    async fn commit_empty(&self, log: &LogConfig) -> Result<Option<Sequenced>, CoreError> {
        self.commit_checkpoint(log, 0, 0, Hash::empty(), Vec::new())
            .await
            .map(Some)
    }

    /// Signs the checkpoint of `size` with `root` and commits it with
    /// `tiles`, guarded by `old_size`.
    async fn commit_checkpoint(
        &self,
        log: &LogConfig,
        old_size: u64,
        size: u64,
        root: Hash,
        tiles: Vec<(u8, u64, Bytes)>,
    ) -> Result<Sequenced, CoreError> {
        let body = Checkpoint {
            origin: log.origin.clone(),
            size,
            root,
            extensions: Vec::new(),
        }
        .body();
        let note = log.signer.sign(&body, 0).map_err(CoreError::internal)?;
        let commit = LogCommit {
            old_size,
            checkpoint: LogCheckpoint {
                size,
                root: root.0,
                note: Bytes::from(note),
            },
            tiles,
        };
        match self.db.commit_log(&commit).await {
            Ok(()) => Ok(Sequenced { old_size, size }),
            Err(StoreError::StaleLog) => Err(CoreError::internal(
                "another sequencer moved the log; this step was discarded",
            )),
            Err(other) => Err(other.into()),
        }
    }
}
