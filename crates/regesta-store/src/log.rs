//! The transparency log's storage port. The event table is the log's
//! source of truth (event `seq` = log index + 1); this port keeps what the
//! sequencer derives from it — hash tiles and signed checkpoints — and the
//! lease that makes one sequencer run at a time.

use async_trait::async_trait;
use bytes::Bytes;

use crate::error::{Result, StoreError};
use crate::model::StoredEvent;

/// A signed checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogCheckpoint {
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: [u8; 32],
    /// The signed checkpoint note, verbatim.
    pub note: Bytes,
}

/// Who the log is: its origin (the checkpoint's first line and the key's
/// name) and the verifier key its checkpoints are signed with, recorded
/// once, when the log is created, so every replica signs as the same log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogIdentity {
    /// The origin, e.g. `registry.example/log`.
    pub origin: String,
    /// The note verifier key text (`<origin>+<id>+<key>`).
    pub verifier_key: String,
}

/// One sequencing step, committed atomically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogCommit {
    /// The size the step started from; the commit fails if the stored
    /// checkpoint is no longer at it.
    pub old_size: u64,
    /// The new checkpoint.
    pub checkpoint: LogCheckpoint,
    /// Hash tiles written by the step, whole: `(tile level, index, data)`.
    pub tiles: Vec<(u8, u64, Bytes)>,
}

impl LogCommit {
    /// The compare-and-swap every adapter applies inside its commit: the
    /// step must start from the stored size `current` and grow the log
    /// (the empty checkpoint may be re-signed at size 0).
    ///
    /// # Errors
    /// [`StoreError::StaleLog`] when another sequencer moved the log.
    pub fn check_current(&self, current: u64) -> Result<()> {
        let grows = self.checkpoint.size > current || current == 0;
        if current == self.old_size && grows {
            Ok(())
        } else {
            Err(StoreError::StaleLog)
        }
    }
}

/// Transparency-log storage, implemented by every registry database.
#[async_trait]
pub trait LogStore: Send + Sync + 'static {
    /// Up to `limit` events from sequence number `from` (1-based) on.
    async fn events_from(&self, from: u64, limit: usize) -> Result<Vec<StoredEvent>>;

    /// The latest checkpoint.
    async fn log_checkpoint(&self) -> Result<Option<LogCheckpoint>>;

    /// A stored hash tile (at most 256 hashes).
    async fn log_tile(&self, level: u8, index: u64) -> Result<Option<Bytes>>;

    /// Writes the tiles and the checkpoint in one transaction, only if the
    /// latest checkpoint still has `commit.old_size` leaves (0: none yet).
    ///
    /// # Errors
    /// [`crate::StoreError::StaleLog`] when another sequencer moved the log,
    /// or a backend failure; nothing is written on error.
    async fn commit_log(&self, commit: &LogCommit) -> Result<()>;

    /// Records the checkpoint of `size` with witness cosignatures added.
    async fn log_cosign(&self, size: u64, note: &Bytes) -> Result<()>;

    /// The latest checkpoint that has been cosigned, with its cosignatures.
    async fn log_cosigned(&self) -> Result<Option<LogCheckpoint>>;

    /// Records `identity` as the log's if none is recorded yet, and returns
    /// the identity on record: `identity` itself, or the one a replica
    /// recorded before (which the caller must then match).
    async fn claim_log_identity(&self, identity: &LogIdentity) -> Result<LogIdentity>;

    /// Takes or renews the lease `name` for `holder` until `now_ms + ttl_ms`;
    /// false while another holder's lease has not expired.
    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<bool>;
}
