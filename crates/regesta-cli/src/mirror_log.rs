//! The transparency log a mirror keeps under `log/`: kept while mirroring
//! (checked against the mirrored events), which files it must hold,
//! rebuilt from the mirror's own events, and the check that its
//! checkpoint, key, entry bundles and hash tiles are exactly those.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context as _, bail};
use regesta_client::http::RegistryClient;
use regesta_protocol::json::parse_strict;
use regesta_protocol::{Digest, SealedEvent};
use regesta_tlog::{Hash, NoteVerifier, leaf_hash};

use crate::log_check::{SignedCheckpoint, open_checkpoint, root_of};
use crate::mirror_bundles::LocalBundles;
use crate::mirror_files::write_undurable;
use crate::mirror_saves::LastFiles;

/// Checks the registry's transparency log against the mirrored events —
/// every entry must be the mirrored event at its position — and keeps it
/// (checkpoint, key, entry bundles and hash tiles under `log/`) so the
/// mirror can be verified the same way, at `signed` (the checkpoint
/// fetched before the events, so a registry that keeps publishing meanwhile
/// cannot hold more entries than the mirror has events). The bundles of
/// this run's events were built from them (`built`); those holding events
/// of earlier runs are fetched, compared entry by entry and kept; the
/// signed root over all their leaves then checks the whole log. The key
/// and checkpoint are staged in `last`; the log's size and the tiles it
/// holds are given (those of an earlier size are to be removed once the
/// checkpoint is placed). `None` when the registry has no log.
pub(crate) async fn keep(
    client: &RegistryClient,
    dir: &Path,
    signed: Option<SignedCheckpoint>,
    events: &[Digest],
    built: LocalBundles,
    last: &mut LastFiles,
) -> anyhow::Result<Option<(u64, BTreeSet<String>)>> {
    let Some(signed) = signed else {
        return Ok(None);
    };
    let size = signed.checkpoint.size;
    if (events.len() as u64) < size {
        bail!(
            "refusing the registry's transparency log: it holds {size} entries but the registry lists {} events",
            events.len()
        );
    }
    // Bundle by bundle, on the blocking pool: each is compared with the
    // mirrored events at its position and, when it holds exactly those,
    // written as served (a well-formed bundle is its entries' encoding);
    // nothing of it is kept but its digests.
    let ids: std::sync::Arc<[Digest]> = events.into();
    let bundle_dir = dir.to_path_buf();
    let mut digests: Vec<Digest> = Vec::new();
    let mut names = BTreeSet::new();
    let mut leaves = crate::log_check::first_bundles(
        client,
        &signed.checkpoint,
        built.fetched(),
        move |index, bundle| {
            let digests = crate::log_check::entry_digests(&bundle.entries);
            let start = usize::try_from(index * regesta_tlog::tile::TILE_WIDTH)?;
            if ids.get(start..start + digests.len()) != Some(&digests[..]) {
                return Ok((digests, None));
            }
            let name = bundle.tile.path();
            keep_tile(&bundle_dir, &name, &bundle.bytes)?;
            Ok((digests, Some(name)))
        },
        |_, (bundle, name)| {
            digests.extend(bundle);
            names.extend(name);
            Ok(())
        },
    )
    .await?;
    let problems = crate::log_check::id_problems(&digests, events);
    if let Some(first) = problems.first() {
        bail!("refusing the registry's transparency log: {first}");
    }
    let built = built.finish();
    if let Some((name, bytes)) = &built.last {
        keep_tile(dir, name, bytes)?;
    }
    names.extend(built.names);
    leaves.extend(built.leaves);
    crate::log_check::check_root(&signed.checkpoint, &leaves)?;
    for (name, bytes) in crate::mirror_log::hash_tile_files(&leaves)? {
        keep_tile(dir, &name, &bytes)?;
        names.insert(name);
    }
    // Placed once the tiles are durable (see `LastFiles`).
    last.stage(dir.join("log/key"), |out| writeln!(out, "{}", signed.key))?;
    last.stage(dir.join("log/checkpoint"), |out| {
        out.write_all(signed.note.as_bytes())
    })?;
    Ok(Some((size, names)))
}

/// Writes tile `log/<name>` unless it is a full tile the mirror holds
/// already (full tiles never change; partial ones grow with the log); not
/// durably, the caller syncs before writing the checkpoint.
fn keep_tile(dir: &Path, name: &str, bytes: &[u8]) -> anyhow::Result<()> {
    let path = dir.join("log").join(name);
    if !name.contains(".p/") && path.exists() {
        return Ok(());
    }
    write_undurable(&path, bytes)
}

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

/// The names of the tile files under `root` (a mirror's `log/` or
/// `go-sumdb/`), relative to it (`tile/…`).
///
/// # Errors
/// The directory cannot be read.
fn held_tiles(root: &Path) -> anyhow::Result<BTreeSet<String>> {
    Ok(crate::mirror_files::file_names(&root.join("tile"))?
        .into_iter()
        .map(|name| format!("tile/{name}"))
        .collect())
}

/// Removes the tile files under `root` (a mirror's `log/` or `go-sumdb/`)
/// that a tree of the current size does not have (partial tiles of an
/// earlier size), so two mirrors of one tree hold the same files however
/// often each was updated.
///
/// # Errors
/// The directory cannot be read or a file removed.
pub(crate) fn prune_tiles(root: &Path, keep: &BTreeSet<String>) -> anyhow::Result<()> {
    for name in held_tiles(root)? {
        if !keep.contains(&name) {
            let path = root.join(&name);
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
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
    for name in held_tiles(&dir.join("log"))? {
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
