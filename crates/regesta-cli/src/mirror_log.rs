//! The transparency log a mirror keeps under `log/`: which files it must
//! hold, rebuilt from the mirror's own events, and the check that its
//! checkpoint, key, entry bundles and hash tiles are exactly those.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use regesta_protocol::json::parse_strict;
use regesta_protocol::{Digest, SealedEvent};
use regesta_tlog::{Hash, NoteVerifier, leaf_hash};

use crate::log_check::{open_checkpoint, root_of};

/// The tile files (`tile/…`, relative to `log/`) a log of `entries` has:
/// every full tile and the right-edge partial ones, as tlog-tiles writes
/// them.
///
/// # Errors
/// An entry larger than a tile entry can hold.
pub(crate) fn tile_files(entries: &[Vec<u8>]) -> anyhow::Result<BTreeMap<String, Vec<u8>>> {
    let entries: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
    Ok(regesta_tlog::tile::all_tiles(&entries)?
        .into_iter()
        .map(|(tile, bytes)| (tile.path(), bytes))
        .collect())
}

/// Removes tile files under `dir/log` that a log of the current size does
/// not have (partial tiles of an earlier size), so two mirrors of one log
/// hold the same files however often each was updated.
///
/// # Errors
/// The directory cannot be read or a file removed.
pub(crate) fn prune_tiles(dir: &Path, keep: &BTreeMap<String, Vec<u8>>) -> anyhow::Result<()> {
    let log = dir.join("log");
    for (name, _) in crate::mirror::files(dir, "log/tile")? {
        let relative = format!("tile/{name}");
        if !keep.contains_key(&relative) {
            std::fs::remove_file(log.join(&relative))
                .with_context(|| format!("removing log/{relative}"))?;
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
    let entries = match entries(dir, &events[..size]) {
        Ok(entries) => entries,
        Err(id) => {
            return Ok(vec![format!(
                "the log cannot be rebuilt: event {id} is missing or damaged"
            )]);
        }
    };
    let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
    let mut problems = Vec::new();
    if root_of(&leaves) != checkpoint.root {
        problems.push(format!(
            "log/checkpoint's root is not the root of the mirror's first {size} events"
        ));
    }
    let expected = tile_files(&entries)?;
    let held: BTreeMap<String, Vec<u8>> = crate::mirror::files(dir, "log/tile")?
        .into_iter()
        .map(|(name, bytes)| (format!("tile/{name}"), bytes))
        .collect();
    let names: std::collections::BTreeSet<&String> = expected.keys().chain(held.keys()).collect();
    for name in names {
        match (expected.get(name), held.get(name)) {
            (Some(want), Some(have)) if want != have => {
                problems.push(format!("log/{name} is not the tile of the mirrored events"));
            }
            (Some(_), None) => problems.push(format!("log/{name} is missing")),
            (None, Some(_)) => problems.push(format!("log/{name} is not a tile of this log")),
            _ => {}
        }
    }
    Ok(problems)
}
