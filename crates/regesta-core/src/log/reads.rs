//! Reading the log: the latest checkpoint, hash tiles and entry bundles
//! (tlog-tiles), inclusion proofs as tlog-proof bundles, consistency proofs.

use bytes::Bytes;
use regesta_protocol::Digest;
use regesta_store::LogCheckpoint;
use regesta_tlog::tile::{TILE_WIDTH, push_entry};
use regesta_tlog::{Hash, ProofBundle, Tile, consistency_proof, inclusion_proof};

use super::sequencer::entry;
use super::tiles::{TileCache, with_tiles};
use crate::error::CoreError;
use crate::registry::Registry;

/// A tile's bytes and whether they can never change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogTile {
    /// Hash tile or entry bundle bytes.
    pub bytes: Bytes,
    /// Full tiles are immutable.
    pub immutable: bool,
}

impl Registry {
    /// The latest signed checkpoint.
    ///
    /// # Errors
    /// 404 `log_checkpoint_not_found` before the first sequencing step.
    pub async fn log_checkpoint(&self) -> Result<LogCheckpoint, CoreError> {
        self.db.log_checkpoint().await?.ok_or_else(|| {
            CoreError::not_found(
                crate::error::ErrorCode::LogCheckpointNotFound,
                "Log checkpoint not found",
            )
        })
    }

    /// The checkpoint to publish: with witnesses, the latest one that
    /// reached the cosignature quorum (cosignatures included); without, the
    /// latest.
    ///
    /// # Errors
    /// 404 `log_checkpoint_not_found` while there is none.
    pub async fn published_checkpoint(&self, witnessed: bool) -> Result<LogCheckpoint, CoreError> {
        if !witnessed {
            return self.log_checkpoint().await;
        }
        self.db.log_cosigned().await?.ok_or_else(|| {
            CoreError::not_found(
                crate::error::ErrorCode::LogCheckpointNotFound,
                "Log checkpoint not found",
            )
        })
    }

    /// A hash tile or entry bundle, as the latest checkpoint's tree has it.
    ///
    /// # Errors
    /// 404 `log_tile_not_found` for a tile the tree does not have (yet).
    pub async fn log_tile(&self, tile: Tile) -> Result<LogTile, CoreError> {
        let missing = || {
            CoreError::not_found(
                crate::error::ErrorCode::LogTileNotFound,
                "Log tile not found",
            )
        };
        let size = self.db.log_checkpoint().await?.map_or(0, |c| c.size);
        if !tile.exists_at(size) {
            return Err(missing());
        }
        let width = usize::from(tile.width);
        let bytes = if let Some(level) = tile.level {
            let data = self
                .db
                .log_tile(level, tile.index)
                .await?
                .ok_or_else(missing)?;
            data.slice(..(width * 32).min(data.len()))
        } else {
            let first = tile.index * TILE_WIDTH + 1;
            let events = self.db.events_from(first, width).await?;
            if events.len() != width {
                return Err(missing());
            }
            // Each entry is shorter than the event's served bytes.
            let mut bundle = Vec::with_capacity(events.iter().map(|e| e.bytes.len() + 2).sum());
            for event in &events {
                push_entry(&mut bundle, &entry(event)?).map_err(CoreError::internal)?;
            }
            Bytes::from(bundle)
        };
        if tile.level.is_some() && bytes.len() != width * 32 {
            return Err(missing());
        }
        Ok(LogTile {
            bytes,
            immutable: tile.is_full(),
        })
    }

    /// A tlog-proof bundle of the event `id` in the latest checkpoint.
    ///
    /// # Errors
    /// 404 `event_not_found`, or 404 `log_entry_not_found` while the event
    /// is not sequenced yet.
    pub async fn log_inclusion(&self, id: &Digest) -> Result<ProofBundle, CoreError> {
        let event = self.db.event(id).await?.ok_or_else(|| {
            CoreError::not_found(crate::error::ErrorCode::EventNotFound, "Event not found")
        })?;
        let checkpoint = self.db.log_checkpoint().await?;
        let index = event.seq - 1;
        let checkpoint = checkpoint.filter(|c| index < c.size).ok_or_else(|| {
            CoreError::not_found(
                crate::error::ErrorCode::LogEntryNotFound,
                "Event not in the log yet",
            )
        })?;
        let mut cache = TileCache::default();
        let size = checkpoint.size;
        let proof = with_tiles(self.db.as_ref(), &mut cache, |r| {
            inclusion_proof(r, index, size)
        })
        .await?;
        Ok(ProofBundle {
            extra: None,
            index,
            proof,
            checkpoint: String::from_utf8_lossy(&checkpoint.note).into_owned(),
        })
    }

    /// The consistency proof between tree sizes `old` and `new`.
    ///
    /// # Errors
    /// 400 when `old > new`; 404 `log_size_not_found` past the latest
    /// checkpoint.
    pub async fn log_consistency(&self, old: u64, new: u64) -> Result<Vec<Hash>, CoreError> {
        if old > new {
            return Err(CoreError::invalid(
                "The old size must not exceed the new size",
                Vec::new(),
            ));
        }
        let size = self.db.log_checkpoint().await?.map_or(0, |c| c.size);
        if new > size {
            return Err(CoreError::not_found(
                crate::error::ErrorCode::LogSizeNotFound,
                "Log size not reached",
            ));
        }
        let mut cache = TileCache::default();
        with_tiles(self.db.as_ref(), &mut cache, |r| {
            consistency_proof(r, old, new)
        })
        .await
    }
}
