//! Group commit for publishes on SQLite: concurrent publishes share one
//! transaction, so one WAL sync makes a whole group durable instead of one
//! sync each.
//!
//! Each publish queues its rows and takes the leader lock (FIFO). The
//! holder takes everything queued, writes each publish under its own
//! savepoint — a publish that fails (duplicate release, replayed
//! authorization) rolls back to it and fails alone — commits once, and only
//! then answers every publish of the group: nothing is acknowledged before
//! the commit that makes it durable, exactly as with one transaction each.
//! A publish that finds its answer already there when it gets the lock was
//! committed by an earlier leader. The group is written by a spawned task,
//! so a leader whose client goes away cannot abandon the others' commit.

use std::sync::Mutex;

use sqlx::SqlitePool;
use tokio::sync::oneshot;

use crate::error::{Result, StoreError};
use crate::model::PublishCommit;
use crate::sql::backend;

/// Most publishes written in one transaction.
const MAX_GROUP: usize = 64;

struct Queued {
    commit: PublishCommit,
    answer: oneshot::Sender<Result<u64>>,
}

/// The queue of publishes waiting for a commit, and the leader lock.
#[derive(Default)]
pub(super) struct GroupCommit {
    queued: Mutex<Vec<Queued>>,
    leader: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit").finish_non_exhaustive()
    }
}

fn gone() -> StoreError {
    StoreError::Backend("the group commit ended without an answer".into())
}

impl GroupCommit {
    /// Commits `commit` on the one-connection `writer` pool, grouped with
    /// whatever else is queued; its sequence number once durable.
    pub(super) async fn commit(&self, writer: &SqlitePool, commit: &PublishCommit) -> Result<u64> {
        let (answer, mut answered) = oneshot::channel();
        self.queued.lock().map_err(|_| gone())?.push(Queued {
            commit: commit.clone(),
            answer,
        });
        let _leader = self.leader.lock().await;
        if let Ok(result) = answered.try_recv() {
            return result;
        }
        let group: Vec<Queued> = {
            let mut queued = self.queued.lock().map_err(|_| gone())?;
            let take = queued.len().min(MAX_GROUP);
            queued.drain(..take).collect()
        };
        // Empty when an earlier leader left before its group's answers
        // (its client went away): that group is still being written, and
        // our answer comes from it.
        if !group.is_empty() {
            let _ = tokio::spawn(write_group(writer.clone(), group)).await;
        }
        answered.await.unwrap_or_else(|_| Err(gone()))
    }
}

/// `error` for each publish of a failed group, of the same kind (a full
/// disk stays a full disk, so each answer maps to the same status).
fn shared(error: &StoreError) -> StoreError {
    match error {
        StoreError::ReleaseExists => StoreError::ReleaseExists,
        StoreError::NameTaken(holder) => StoreError::NameTaken(holder.clone()),
        StoreError::Replayed => StoreError::Replayed,
        StoreError::StaleChannel => StoreError::StaleChannel,
        StoreError::StaleLog => StoreError::StaleLog,
        StoreError::CursorNotFound => StoreError::CursorNotFound,
        StoreError::Full(cause) => StoreError::Full(cause.to_string().into()),
        StoreError::Backend(cause) => StoreError::Backend(cause.to_string().into()),
        StoreError::Corrupt(cause) => StoreError::Corrupt(cause.to_string().into()),
    }
}

/// Writes `group` in one transaction and answers each publish.
async fn write_group(writer: SqlitePool, group: Vec<Queued>) {
    match write_rows(&writer, &group).await {
        Ok(outcomes) => {
            for (queued, outcome) in group.into_iter().zip(outcomes) {
                let _ = queued.answer.send(outcome);
            }
        }
        Err(error) => {
            for queued in group {
                let _ = queued.answer.send(Err(shared(&error)));
            }
        }
    }
}

/// Each publish under its own savepoint (one script each, see
/// [`super::publish`]), then one commit. `Err` when the transaction itself
/// failed (nothing of the group is written).
async fn write_rows(writer: &SqlitePool, group: &[Queued]) -> Result<Vec<Result<u64>>> {
    let mut tx = writer
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(backend)?;
    let mut outcomes = Vec::with_capacity(group.len());
    for queued in group {
        outcomes.push(super::publish::write(&mut tx, &queued.commit).await?);
    }
    tx.commit().await.map_err(backend)?;
    Ok(outcomes)
}
