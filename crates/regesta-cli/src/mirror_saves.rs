//! When a running mirror makes its files durable and saves its inventory:
//! a sync every second or so, beside the mirroring, and the inventory
//! saved after a sync when due; at the end, the files that commit to
//! everything else written last, together.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::mirror_files::{BatchWriter, sync_all};
use crate::mirror_inventory::Inventory;

/// How often a running mirror makes its files durable (and at the end),
/// and saves its inventory, at most.
const SAVE_EVERY: Duration = Duration::from_secs(1);

/// An inventory is saved at least this many times as long after the last
/// as writing that one took, so writing it takes at most a twentieth of a
/// run: it lists every event, so it grows with the log. Syncs are not
/// spaced: each writes back only what was written since the last.
const SAVE_SPACING: u32 = 20;

/// A sync (and save) running beside the mirroring; it resolves to how
/// long writing the inventory took, if it was written.
type Saving = tokio::task::JoinHandle<anyhow::Result<Option<Duration>>>;

/// The syncs and saves of one mirror run. Never two at once: a sync still
/// running when the next is due delays it.
pub(crate) struct Saves {
    next_sync: Instant,
    next_save: Instant,
    saving: Option<Saving>,
}

impl Saves {
    /// The schedule of a run starting now.
    pub(crate) fn new() -> Self {
        let next_sync = Instant::now() + SAVE_EVERY;
        Self {
            next_sync,
            next_save: next_sync,
            saving: None,
        }
    }

    /// Starts a sync of every file queued on `writer` so far when one is
    /// due and none runs, saving `inventory` (as it is now) after it when
    /// that is due too. Whether it started a save.
    ///
    /// # Errors
    /// The last sync or save, or an earlier write, failed.
    pub(crate) async fn tick(
        &mut self,
        writer: &mut BatchWriter,
        dir: &Path,
        registry: &str,
        inventory: &Inventory,
    ) -> anyhow::Result<bool> {
        let now = Instant::now();
        if now < self.next_sync || !self.saving.as_ref().is_none_or(Saving::is_finished) {
            return Ok(false);
        }
        if let Some(saved) = self.saving.take()
            && let Some(took) = saved.await??
        {
            self.next_save = self.next_save.max(now + took * SAVE_SPACING);
        }
        let save = now >= self.next_save;
        let inventory = save.then(|| inventory.clone());
        self.saving = Some(save_behind(writer, dir, registry, inventory).await?);
        self.next_sync = now + SAVE_EVERY;
        if save {
            self.next_save = now + SAVE_EVERY;
        }
        Ok(save)
    }

    /// Waits for the sync or save in progress, if any.
    ///
    /// # Errors
    /// It failed.
    pub(crate) async fn finish(&mut self) -> anyhow::Result<()> {
        if let Some(saved) = self.saving.take() {
            saved.await??;
        }
        Ok(())
    }
}

/// Makes every file queued on `writer` so far durable and then, when
/// given, saves `inventory`, in a task of its own, so the mirror goes on
/// while the file system syncs (a `syncfs` held both cores idle for up to
/// half a second); its files go on being written meanwhile, and are
/// listed by a later save. Syncing often keeps the last sync of a run
/// short: the file system writes nothing back by itself for the first
/// half minute, and a sync of several seconds' files took two.
/// Resolves to how long writing the inventory took, if it was written.
///
/// # Errors
/// An earlier write failed.
async fn save_behind(
    writer: &mut BatchWriter,
    dir: &Path,
    registry: &str,
    inventory: Option<Inventory>,
) -> anyhow::Result<Saving> {
    let written = writer.written().await?;
    let (dir, registry) = (dir.to_path_buf(), registry.to_owned());
    Ok(tokio::spawn(async move {
        written.await?;
        sync_all(&dir).await?;
        let Some(inventory) = inventory else {
            return Ok(None);
        };
        tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            inventory.save(&dir, &registry, &[])?;
            Ok(Some(started.elapsed()))
        })
        .await?
    }))
}

/// The files a run writes last, each committing to files written before
/// it: the inventory (to the mirrored files), the log's key and
/// checkpoint (to its tiles) and the Go checksum database's key and note
/// (to its tiles). Each is staged under a temporary name, one sync makes
/// them and everything written before durable, they are renamed into
/// place in the order staged, and one more sync makes the renames
/// durable: two syncs in all, where writing each durably took two fsyncs
/// a file (each a journal commit; ten of them were a third of a second at
/// the end of every run). A crash leaves each file old or new, never torn
/// or committing to a file not on disk; on a journaling file system the
/// renames also reach the disk in their order.
pub(crate) struct LastFiles {
    tmp: PathBuf,
    staged: Vec<(PathBuf, PathBuf)>,
}

impl LastFiles {
    /// Files staged in `tmp` (created when missing; on the file system of
    /// every target). A later run's writer sweeps what a crash left there.
    pub(crate) fn new(tmp: &Path) -> Self {
        Self {
            tmp: tmp.to_path_buf(),
            staged: Vec::new(),
        }
    }

    /// Stages `target`, its bytes written by `write` (through a buffer).
    ///
    /// # Errors
    /// Writing failed.
    pub(crate) fn stage(
        &mut self,
        target: PathBuf,
        write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
    ) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.tmp)?;
        let staged = self.tmp.join(format!("last-{}", self.staged.len()));
        let file = std::fs::File::create(&staged)?;
        let mut out = std::io::BufWriter::with_capacity(64 * 1024, file);
        write(&mut out)
            .and_then(|()| out.flush())
            .with_context(|| format!("writing {}", target.display()))?;
        self.staged.push((staged, target));
        Ok(())
    }

    /// Makes every file under `dir` durable, then places the staged files
    /// in order, durably.
    ///
    /// # Errors
    /// A sync or rename failed.
    pub(crate) async fn commit(self, dir: &Path) -> anyhow::Result<()> {
        sync_all(dir).await?;
        for (staged, target) in &self.staged {
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::rename(staged, target)
                .with_context(|| format!("placing {}", target.display()))?;
        }
        sync_all(dir).await
    }
}

#[cfg(test)]
mod tests {
    use super::{SAVE_EVERY, Saves};
    use crate::mirror_files::BatchWriter;
    use crate::mirror_inventory::Inventory;

    /// Nothing is synced or saved before a sync is due; a due one writes
    /// what was queued, then the inventory listing it, which `finish`
    /// waits for.
    #[tokio::test]
    async fn a_due_tick_syncs_then_saves_and_finish_waits_for_it() {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        let mut writer = BatchWriter::new(&dir.join(".tmp")).unwrap();
        let mut saves = Saves::new();
        let mut inventory = Inventory::load(dir).unwrap();
        inventory.packages.insert("npm:a.example/pkg".to_owned());
        let file = dir.join("events/one.json");
        writer
            .push(vec![(file.clone(), bytes::Bytes::from_static(b"{}"))])
            .await
            .unwrap();
        let registry = "http://registry.example";
        assert!(
            !saves
                .tick(&mut writer, dir, registry, &inventory)
                .await
                .unwrap()
        );
        assert!(!dir.join("inventory.json").exists());
        tokio::time::sleep(SAVE_EVERY).await;
        assert!(
            saves
                .tick(&mut writer, dir, registry, &inventory)
                .await
                .unwrap()
        );
        saves.finish().await.unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"{}");
        let listed = Inventory::load(dir).unwrap();
        assert_eq!(listed.packages, inventory.packages);
        // Not again before the next second.
        assert!(
            !saves
                .tick(&mut writer, dir, registry, &inventory)
                .await
                .unwrap()
        );
    }

    /// Staged files appear only once committed, in full, and leave no
    /// temporary behind.
    #[tokio::test]
    async fn last_files_appear_only_once_committed() {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        let tmp = dir.join(".tmp");
        let mut last = super::LastFiles::new(&tmp);
        let (one, two) = (dir.join("inventory.json"), dir.join("log/checkpoint"));
        std::fs::write(&one, b"old").unwrap();
        last.stage(one.clone(), |out| out.write_all(b"new"))
            .unwrap();
        last.stage(two.clone(), |out| out.write_all(b"note"))
            .unwrap();
        assert_eq!(std::fs::read(&one).unwrap(), b"old");
        assert!(!two.exists());
        last.commit(dir).await.unwrap();
        assert_eq!(std::fs::read(&one).unwrap(), b"new");
        assert_eq!(std::fs::read(&two).unwrap(), b"note");
        assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
    }
}
