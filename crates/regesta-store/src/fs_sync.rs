//! Group sync for the file blob store: objects written by concurrent
//! publishes are made durable by one file-system sync instead of two
//! fsyncs per file (the file and its directory).
//!
//! A writer finishes its writes, then asks for a sync that *started after*
//! them. Syncs are numbered as they start; a writer that saw `n` syncs
//! started needs sync `n + 1` or later to have completed. One writer at a
//! time (the leader lock) runs a sync that covers every write finished
//! before it began, so writers that arrive while a sync runs are all
//! covered by the next one. A failed sync completes nothing: each waiter
//! then runs its own and gets its own error.
//!
//! Writers call it on the blocking pool, right after their writes, in the
//! same trip: waiting for the leader lock there costs no extra thread
//! wake-up, and no request that goes away can leave a sync half-owned.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

/// Numbered syncs of the file system holding `dir`.
#[derive(Debug)]
pub(crate) struct GroupSync {
    dir: PathBuf,
    started: AtomicU64,
    completed: AtomicU64,
    leader: Mutex<()>,
}

impl GroupSync {
    /// Syncs of the file system that holds `dir`.
    pub(crate) fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            started: AtomicU64::new(0),
            completed: AtomicU64::new(0),
            leader: Mutex::new(()),
        }
    }

    /// Returns once a sync that began after this call has completed, so
    /// every write finished before the call is durable. `written` names
    /// the files (and their directories) to fsync one by one where the
    /// platform has no whole-file-system sync. Blocks: call it on a
    /// blocking thread.
    ///
    /// # Errors
    /// The sync failed.
    pub(crate) fn after_writes(&self, written: &[PathBuf]) -> std::io::Result<()> {
        let needed = self.started.load(Ordering::SeqCst) + 1;
        let _leader = self.leader.lock().unwrap_or_else(PoisonError::into_inner);
        if self.completed.load(Ordering::SeqCst) >= needed {
            return Ok(());
        }
        let number = self.started.fetch_add(1, Ordering::SeqCst) + 1;
        sync_file_system(&self.dir, written)?;
        self.completed.fetch_max(number, Ordering::SeqCst);
        Ok(())
    }
}

/// One `syncfs` of the file system holding `dir`: its dirty data and
/// metadata, renames included, in one journal commit.
#[cfg(target_os = "linux")]
fn sync_file_system(dir: &Path, _written: &[PathBuf]) -> std::io::Result<()> {
    let handle = std::fs::File::open(dir)?;
    rustix::fs::syncfs(&handle)?;
    Ok(())
}

/// Without `syncfs`: each file, then each distinct directory. Only the
/// caller's own files are covered, which is all its durability needs.
#[cfg(not(target_os = "linux"))]
fn sync_file_system(_dir: &Path, written: &[PathBuf]) -> std::io::Result<()> {
    let mut dirs = std::collections::BTreeSet::new();
    for path in written {
        std::fs::File::open(path)?.sync_all()?;
        if let Some(parent) = path.parent() {
            dirs.insert(parent.to_path_buf());
        }
    }
    for dir in dirs {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::GroupSync;
    use std::sync::Arc;

    #[test]
    fn every_writer_returns_after_a_completed_sync() {
        let dir = tempfile::tempdir().unwrap();
        let sync = Arc::new(GroupSync::new(dir.path()));
        let writers: Vec<_> = (0..32)
            .map(|i| {
                let sync = Arc::clone(&sync);
                let path = dir.path().join(format!("f{i}"));
                std::thread::spawn(move || {
                    std::fs::write(&path, b"bytes").unwrap();
                    sync.after_writes(&[path])
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap().unwrap();
        }
        let started = sync.started.load(std::sync::atomic::Ordering::SeqCst);
        assert!((1..=32).contains(&started), "{started} syncs");
        assert_eq!(
            sync.completed.load(std::sync::atomic::Ordering::SeqCst),
            started
        );
    }

    #[test]
    fn a_writer_after_a_sync_gets_a_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let sync = GroupSync::new(dir.path());
        sync.after_writes(&[]).unwrap();
        sync.after_writes(&[]).unwrap();
        assert_eq!(sync.started.load(std::sync::atomic::Ordering::SeqCst), 2);
    }
}
