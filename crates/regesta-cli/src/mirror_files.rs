//! How `regesta mirror` puts files on disk: each file atomically (linked
//! into place once written, see `regesta_store::files`, so a static server
//! never serves half of one), many files per trip to the blocking pool, and all of them made
//! durable at once before the inventory or checkpoint that lists them (a
//! periodic save of the inventory runs beside the mirroring).

use std::collections::{BTreeSet, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use bytes::Bytes;
use futures_util::FutureExt as _;
use futures_util::future::{BoxFuture, Shared};

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
    write_undurable_via(path.parent().unwrap_or_else(|| Path::new(".")), path, bytes)
}

/// As [`write_undurable`], with the temporary file in `tmp`.
fn write_undurable_via(tmp: &Path, path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    regesta_server::files::write_undurable_via(tmp, path, bytes)
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

/// Batches written at once. Creating files is most of a mirror's own
/// work, mostly in the kernel, and one writer at a time left a core idle
/// while the other wrote.
const BATCHES_IN_FLIGHT: usize = 2;

/// A batch being written, awaitable from more than one place (the
/// writer, and a save that waits for what was queued before it).
type Batch = Shared<BoxFuture<'static, Result<(), Arc<anyhow::Error>>>>;

/// A batch being written and the paths it writes.
type Writing = (Batch, HashSet<PathBuf>);

/// Files fetched and checked, written in batches on the blocking pool
/// while the next fills: a trip to the pool per file costs more than
/// writing it (two thread wake-ups against one small write on a fast
/// disk). Two batches may be written at once, but never two that write
/// the same path, so a later write of a path always wins; within a batch,
/// files are written in the order queued (an event's own file after its
/// release's).
///
/// New files get no temporary name on Linux; the temporaries of the
/// others (replacements, or file systems without unnamed files) go to a
/// directory of their own, not beside their targets: an event or object
/// directory holds one entry per event or object, and creating, renaming
/// and removing a temporary name in a directory that size costs the file
/// system more than writing the file. Either way no half-written name
/// appears among the served files.
pub(crate) struct BatchWriter {
    tmp: Arc<Path>,
    queued: Vec<(PathBuf, Bytes)>,
    queued_bytes: usize,
    writing: VecDeque<Writing>,
}

impl BatchWriter {
    /// A writer whose temporary files go to `tmp` (on the same file
    /// system as every target; created when missing). Temporaries a
    /// crashed run left there are removed.
    ///
    /// # Errors
    /// `tmp` cannot be created or swept.
    pub(crate) fn new(tmp: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(tmp).with_context(|| format!("creating {}", tmp.display()))?;
        for entry in std::fs::read_dir(tmp)? {
            std::fs::remove_file(entry?.path())?;
        }
        Ok(Self {
            tmp: tmp.into(),
            queued: Vec::new(),
            queued_bytes: 0,
            writing: VecDeque::new(),
        })
    }

    /// Queues `files` (written in this order, after every earlier file of
    /// the same path), starting a batch when enough are queued.
    ///
    /// # Errors
    /// An earlier batch failed.
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
        while !self.writing.is_empty() {
            self.wait_oldest().await?;
        }
        Ok(())
    }

    /// Starts writing the queued files once fewer than
    /// [`BATCHES_IN_FLIGHT`] batches are being written and none of them
    /// writes any of the same paths.
    async fn start(&mut self) -> anyhow::Result<()> {
        let batch = std::mem::take(&mut self.queued);
        self.queued_bytes = 0;
        if batch.is_empty() {
            return Ok(());
        }
        let paths: HashSet<PathBuf> = batch.iter().map(|(path, _)| path.clone()).collect();
        while self.writing.len() >= BATCHES_IN_FLIGHT
            || self
                .writing
                .iter()
                .any(|(_, other)| !other.is_disjoint(&paths))
        {
            self.wait_oldest().await?;
        }
        let tmp = self.tmp.clone();
        let handle = tokio::task::spawn_blocking(move || {
            batch
                .iter()
                .try_for_each(|(path, bytes)| write_undurable_via(&tmp, path, bytes))
        });
        let batch = async move {
            match handle.await {
                Ok(written) => written.map_err(Arc::new),
                Err(failed) => Err(Arc::new(failed.into())),
            }
        };
        self.writing.push_back((batch.boxed().shared(), paths));
        Ok(())
    }

    /// Starts writing everything queued and gives what resolves once every
    /// file queued so far is on disk (not yet durable: see [`sync_all`]),
    /// while the writer goes on taking files: a save of the inventory waits
    /// on it without holding the mirror up.
    ///
    /// # Errors
    /// An earlier batch failed (the future reports a failing one).
    pub(crate) async fn written(
        &mut self,
    ) -> anyhow::Result<impl Future<Output = anyhow::Result<()>> + Send + 'static> {
        self.start().await?;
        let batches: Vec<Batch> = self.writing.iter().map(|(b, _)| b.clone()).collect();
        Ok(async move {
            for batch in batches {
                batch.await.map_err(|e| failure(&e))?;
            }
            Ok(())
        })
    }

    async fn wait_oldest(&mut self) -> anyhow::Result<()> {
        match self.writing.pop_front() {
            Some((writing, _)) => writing.await.map_err(|e| failure(&e)),
            None => Ok(()),
        }
    }
}

/// A failed batch's error, as its own (it is shared with every waiter).
fn failure(error: &Arc<anyhow::Error>) -> anyhow::Error {
    anyhow::anyhow!("{error:#}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn batches_write_every_file_in_order_creating_directories() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = BatchWriter::new(&dir.path().join(".tmp")).unwrap();
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

    /// Batches written at once never race on a path: a path last in a
    /// long batch and again in the next short one ends with the later
    /// bytes, every time.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_batches_keep_the_later_write_of_a_path() {
        let dir = tempfile::tempdir().unwrap();
        for round in 0..20 {
            let mut writer = BatchWriter::new(&dir.path().join(".tmp")).unwrap();
            let shared = dir.path().join(format!("shared-{round}"));
            for i in 0..BATCH_FILES - 1 {
                let path = dir.path().join(format!("r{round}/f{i}"));
                writer
                    .push([(path, Bytes::from_static(b"x"))])
                    .await
                    .unwrap();
            }
            writer
                .push([(shared.clone(), Bytes::from_static(b"earlier"))])
                .await
                .unwrap();
            writer
                .push([(shared.clone(), Bytes::from_static(b"later"))])
                .await
                .unwrap();
            writer.finish().await.unwrap();
            assert_eq!(std::fs::read(&shared).unwrap(), b"later", "round {round}");
        }
    }

    /// Temporaries go to their own directory, which a finished writer
    /// leaves empty, and a new writer sweeps what a crashed run left.
    #[tokio::test]
    async fn temporaries_stay_in_their_directory_and_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let tmp = dir.path().join(".tmp");
        std::fs::create_dir_all(&tmp).unwrap();
        std::fs::write(tmp.join(".tmpCRASH"), b"half").unwrap();
        let mut writer = BatchWriter::new(&tmp).unwrap();
        assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
        let target = dir.path().join("objects/sha256");
        for i in 0..BATCH_FILES * 2 + 3 {
            let file = (target.join(format!("{i}")), Bytes::from(format!("{i}")));
            writer.push([file]).await.unwrap();
        }
        writer.finish().await.unwrap();
        assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
        assert_eq!(
            std::fs::read_dir(&target).unwrap().count(),
            BATCH_FILES * 2 + 3
        );
    }

    /// What was queued before `written` is on disk once its future
    /// resolves, while the writer goes on taking (and writing) files.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn written_resolves_once_what_was_queued_is_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = BatchWriter::new(&dir.path().join(".tmp")).unwrap();
        let path = |i: usize| dir.path().join(format!("d{}/f{i}", i % 3));
        // The second round queues less than a batch, so nothing waits on
        // the first round's batches before `written` does.
        let (first, second) = (BATCH_FILES + 5, 2 * BATCH_FILES + 4);
        for i in 0..first {
            let file = (path(i), Bytes::from(format!("{i}")));
            writer.push([file]).await.unwrap();
        }
        let written = writer.written().await.unwrap();
        for i in first..second {
            let file = (path(i), Bytes::from(format!("{i}")));
            writer.push([file]).await.unwrap();
        }
        written.await.unwrap();
        for i in 0..first {
            assert_eq!(std::fs::read(path(i)).unwrap(), format!("{i}").as_bytes());
        }
        writer.finish().await.unwrap();
        for i in first..second {
            assert_eq!(std::fs::read(path(i)).unwrap(), format!("{i}").as_bytes());
        }
    }

    /// A writer whose one queued file cannot be written: its directory
    /// is a file.
    async fn failing_writer(dir: &Path) -> BatchWriter {
        let blocker = dir.join("file");
        std::fs::write(&blocker, b"not a directory").unwrap();
        let mut writer = BatchWriter::new(&dir.join(".tmp")).unwrap();
        writer
            .push([(blocker.join("inside"), Bytes::from_static(b"x"))])
            .await
            .unwrap();
        writer
    }

    #[tokio::test]
    async fn a_failed_batch_is_reported_to_a_waiting_save() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = failing_writer(dir.path()).await;
        let written = writer.written().await.unwrap();
        let error = written.await.unwrap_err();
        assert!(format!("{error:#}").contains("inside"), "{error:#}");
        assert!(writer.finish().await.is_err());
    }

    #[tokio::test]
    async fn a_failed_batch_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = failing_writer(dir.path()).await;
        assert!(writer.finish().await.is_err());
    }
}
