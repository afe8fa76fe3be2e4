//! The transparency log a mirror keeps under `log/`: which files it must
//! hold, rebuilt from the mirror's own events, and the check that its
//! checkpoint, key, entry bundles and hash tiles are exactly those.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::Context as _;
use regesta_protocol::json::parse_strict;
use regesta_protocol::{Digest, SealedEvent};
use regesta_tlog::{Hash, NoteVerifier, leaf_hash};

use crate::log_check::{open_checkpoint, root_of};

/// The hash tile files (`tile/…`, relative to `log/`) of the tree whose
/// leaf hashes are `leaves`: every full tile and the right-edge partial
/// ones, as tlog-tiles writes them.
///
/// # Errors
/// Never for a well-formed tree.
pub(crate) fn hash_tile_files(leaves: &[Hash]) -> anyhow::Result<BTreeMap<String, Vec<u8>>> {
    Ok(regesta_tlog::tile::hash_tiles(leaves)?
        .into_iter()
        .map(|(tile, bytes)| (tile.path(), bytes))
        .collect())
}

/// The names of the tile files under `dir/log` (relative to `log/`).
///
/// # Errors
/// The directory cannot be read.
fn held_tiles(dir: &Path) -> anyhow::Result<BTreeSet<String>> {
    Ok(crate::mirror_files::file_names(&dir.join("log/tile"))?
        .into_iter()
        .map(|name| format!("tile/{name}"))
        .collect())
}

/// Removes tile files under `dir/log` that a log of the current size does
/// not have (partial tiles of an earlier size), so two mirrors of one log
/// hold the same files however often each was updated.
///
/// # Errors
/// The directory cannot be read or a file removed.
pub(crate) fn prune_tiles(dir: &Path, keep: &BTreeSet<String>) -> anyhow::Result<()> {
    for name in held_tiles(dir)? {
        if !keep.contains(&name) {
            std::fs::remove_file(dir.join("log").join(&name))
                .with_context(|| format!("removing log/{name}"))?;
        }
    }
    Ok(())
}

/// The canonical payloads (log entries) of a mirror's events, in log
/// order, or the first event that cannot give one (a damaged event is
/// reported by the event check; the log cannot be rebuilt past it).
fn entries(dir: &Path, events: &[Digest]) -> Result<Vec<Vec<u8>>, Digest> {
    events
        .iter()
        .map(|id| {
            std::fs::read(crate::mirror::event_path(dir, id))
                .ok()
                .and_then(|bytes| parse_strict(&bytes, bytes.len()).ok())
                .and_then(|value| SealedEvent::from_json(&value).ok())
                .filter(|event| event.id == *id)
                .and_then(|event| event.event.canonical_payload().ok())
                .ok_or(*id)
        })
        .collect()
}

/// Problems with the log a mirror keeps: its checkpoint must be signed by
/// its key, its root must be the root of the mirror's first `size` events,
/// and `log/tile` must hold exactly the tiles of that tree. A mirror
/// without `log/` (the reference CLI keeps none) has no problems here.
///
/// # Errors
/// Unreadable files (a problem of the mirror, not a difference).
pub(crate) fn problems(dir: &Path, events: &[Digest]) -> anyhow::Result<Vec<String>> {
    let log = dir.join("log");
    if !log.is_dir() {
        return Ok(Vec::new());
    }
    let read = |name: &str| std::fs::read_to_string(log.join(name)).ok();
    let (Some(key), Some(note)) = (read("key"), read("checkpoint")) else {
        return Ok(vec!["log/key or log/checkpoint is missing".to_owned()]);
    };
    let Ok(verifier) = NoteVerifier::from_text(key.trim()) else {
        return Ok(vec!["log/key is not a note verifier key".to_owned()]);
    };
    let checkpoint = match open_checkpoint(&note, &verifier) {
        Ok(checkpoint) => checkpoint,
        Err(error) => return Ok(vec![format!("log/checkpoint: {error:#}")]),
    };
    let size = usize::try_from(checkpoint.size).unwrap_or(usize::MAX);
    if size > events.len() {
        return Ok(vec![format!(
            "log/checkpoint is at size {size} but the mirror holds {} events",
            events.len()
        )]);
    }
    // One bundle's worth of events at a time: the entries are read back,
    // compared with the bundle held and dropped; only leaf hashes are kept.
    let mut problems = Vec::new();
    let mut expected = BTreeSet::new();
    let mut leaves: Vec<Hash> = Vec::with_capacity(size);
    let width = usize::try_from(regesta_tlog::tile::TILE_WIDTH)?;
    for (index, ids) in (0_u64..).zip(events[..size].chunks(width)) {
        let entries = match entries(dir, ids) {
            Ok(entries) => entries,
            Err(id) => {
                return Ok(vec![format!(
                    "the log cannot be rebuilt: event {id} is missing or damaged"
                )]);
            }
        };
        leaves.extend(entries.iter().map(|e| leaf_hash(e)));
        let (tile, want) = regesta_tlog::tile::entry_tile(index, &entries)?;
        compare_tile(dir, &tile.path(), &want, &mut problems);
        expected.insert(tile.path());
    }
    if root_of(&leaves) != checkpoint.root {
        problems.insert(
            0,
            format!("log/checkpoint's root is not the root of the mirror's first {size} events"),
        );
    }
    for (name, want) in hash_tile_files(&leaves)? {
        compare_tile(dir, &name, &want, &mut problems);
        expected.insert(name);
    }
    for name in held_tiles(dir)? {
        if !expected.contains(&name) {
            problems.push(format!("log/{name} is not a tile of this log"));
        }
    }
    Ok(problems)
}

/// Compares the tile file `log/<name>` with `want`, noting a difference.
fn compare_tile(dir: &Path, name: &str, want: &[u8], problems: &mut Vec<String>) {
    match std::fs::read(dir.join("log").join(name)) {
        Ok(have) if have != want => {
            problems.push(format!("log/{name} is not the tile of the mirrored events"));
        }
        Ok(_) => {}
        Err(_) => problems.push(format!("log/{name} is missing")),
    }
}
