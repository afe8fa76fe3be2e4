//! When a running mirror makes its files durable and saves its inventory:
//! a sync every second or so, beside the mirroring, and the inventory
//! saved after a sync when due.

use std::path::Path;
use std::time::{Duration, Instant};

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
pub(crate) async fn save_behind(
    writer: &mut BatchWriter,
    dir: &Path,
    registry: &str,
    inventory: Option<Inventory>,
) -> anyhow::Result<tokio::task::JoinHandle<anyhow::Result<Option<Duration>>>> {
    let written = writer.written().await?;
    let (dir, registry) = (dir.to_path_buf(), registry.to_owned());
    Ok(tokio::spawn(async move {
        written.await?;
        sync_all(&dir).await?;
        let Some(inventory) = inventory else {
            return Ok(None);
        };
        tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            inventory.save(&dir, &registry, &[])?;
            Ok(Some(started.elapsed()))
        })
        .await?
    }))
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
}
