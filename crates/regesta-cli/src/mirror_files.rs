//! How `regesta mirror` puts files on disk: each file atomically (a
//! temporary file renamed into place, so a static server never serves half
//! of one), many files per trip to the blocking pool, and all of them made
//! durable at once before the inventory or checkpoint that lists them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use bytes::Bytes;
use tokio::task::JoinHandle;

/// The names (relative paths) of the files under `root`, none when it
/// does not exist.
///
/// # Errors
/// A directory cannot be read.
pub(crate) fn file_names(root: &Path) -> anyhow::Result<BTreeSet<String>> {
    let mut names = BTreeSet::new();
    if !root.is_dir() {
        return Ok(names);
    }
    let mut stack = vec![root.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                names.insert(path.strip_prefix(root)?.to_string_lossy().into_owned());
            }
        }
    }
    Ok(names)
}

/// Files queued before a batch is written.
const BATCH_FILES: usize = 512;
/// Bytes queued before a batch is written (large objects go out sooner).
const BATCH_BYTES: usize = 16 << 20;

/// Writes `bytes` to `path` atomically (temporary file, rename) but not
/// durably: a run's files are made durable together by [`sync_all`]
/// before the inventory (or checkpoint) that lists them is saved.
///
/// # Errors
/// Any IO failure.
pub(crate) fn write_undurable(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    regesta_server::files::write_undurable_via(dir, path, bytes)
        .with_context(|| format!("writing {}", path.display()))
}

/// Makes every file written so far under `dir` durable with one `syncfs`
/// (the file system's whole dirty state in one call) instead of two fsyncs
/// per file: a crash before it loses only files no saved inventory lists,
/// and a rerun re-checks and refetches them.
///
/// # Errors
/// The sync failed.
pub(crate) async fn sync_all(dir: &Path) -> anyhow::Result<()> {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let handle = std::fs::File::open(&dir)?;
        rustix::fs::syncfs(&handle).with_context(|| format!("syncing {}", dir.display()))?;
        Ok(())
    })
    .await?
}

/// Files fetched and checked, written in order in batches, one batch on
/// the blocking pool while the next fills: a trip to the pool per file
/// costs more than writing it (two thread wake-ups against one small
/// write on a fast disk).
#[derive(Default)]
pub(crate) struct BatchWriter {
    queued: Vec<(PathBuf, Bytes)>,
    queued_bytes: usize,
    writing: Option<JoinHandle<anyhow::Result<()>>>,
}

impl BatchWriter {
    /// Queues `files` (written in this order, after every file queued
    /// before them), starting a batch when enough are queued.
    ///
    /// # Errors
    /// The previous batch failed.
    pub(crate) async fn push(
        &mut self,
        files: impl IntoIterator<Item = (PathBuf, Bytes)>,
    ) -> anyhow::Result<()> {
        for (path, bytes) in files {
            self.queued_bytes += bytes.len();
            self.queued.push((path, bytes));
        }
        if self.queued.len() >= BATCH_FILES || self.queued_bytes >= BATCH_BYTES {
            self.start().await?;
        }
        Ok(())
    }

    /// Writes everything queued and waits until it is on disk (not yet
    /// durable: see [`sync_all`]).
    ///
    /// # Errors
    /// A write failed.
    pub(crate) async fn finish(&mut self) -> anyhow::Result<()> {
        self.start().await?;
        self.wait().await
    }

    /// Starts writing the queued files once the batch before is written.
    async fn start(&mut self) -> anyhow::Result<()> {
        self.wait().await?;
        let batch = std::mem::take(&mut self.queued);
        self.queued_bytes = 0;
        if !batch.is_empty() {
            self.writing = Some(tokio::task::spawn_blocking(move || {
                batch
                    .iter()
                    .try_for_each(|(path, bytes)| write_undurable(path, bytes))
            }));
        }
        Ok(())
    }

    async fn wait(&mut self) -> anyhow::Result<()> {
        match self.writing.take() {
            Some(writing) => writing.await?,
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn batches_write_every_file_in_order_creating_directories() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = BatchWriter::default();
        let path = |i: usize| dir.path().join(format!("d{}/f{i}", i % 3));
        for i in 0..BATCH_FILES + 10 {
            writer
                .push([(path(i), Bytes::from(format!("first {i}")))])
                .await
                .unwrap();
        }
        // A later write of the same path wins: batches keep their order.
        writer
            .push([(path(0), Bytes::from_static(b"second"))])
            .await
            .unwrap();
        writer.finish().await.unwrap();
        assert_eq!(std::fs::read(path(0)).unwrap(), b"second");
        assert_eq!(
            std::fs::read(path(BATCH_FILES + 9)).unwrap(),
            format!("first {}", BATCH_FILES + 9).as_bytes()
        );
        let temporaries = std::fs::read_dir(dir.path().join("d1"))
            .unwrap()
            .filter(|e| {
                !e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with('f')
            })
            .count();
        assert_eq!(temporaries, 0);
    }

    #[tokio::test]
    async fn a_failed_batch_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, b"not a directory").unwrap();
        let mut writer = BatchWriter::default();
        writer
            .push([(blocker.join("inside"), Bytes::from_static(b"x"))])
            .await
            .unwrap();
        assert!(writer.finish().await.is_err());
    }
}
