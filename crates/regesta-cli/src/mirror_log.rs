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
use regesta_tlog::tile::{TILE_WIDTH, Tile};
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
/// this run's events were built from them (`built`); the full bundles of
/// the log the mirror kept last time are not fetched again when its
/// leaves still hash to its kept checkpoint (see [`held_leaves`]); the
/// others holding events of earlier runs are fetched, compared entry by
/// entry and kept; the signed root over all their leaves then checks the
/// whole log. The key and checkpoint are staged in `last`; the log's size
/// and the tiles it holds are given (those of an earlier size are to be
/// removed once the checkpoint is placed). `None` when the registry has
/// no log.
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
    let fetched = built.fetched();
    let held = held_leaves(dir, &signed);
    // Without a kept log that checks out, every hash tile is written again
    // (a damaged one would otherwise be kept, and fail every later run).
    let repair = held.is_none();
    let (start, held) = match held {
        Some(held) => {
            let start = (held.len() as u64 / TILE_WIDTH).min(fetched);
            (start, held)
        }
        None => (0, Vec::new()),
    };
    let held_entries = usize::try_from(start * TILE_WIDTH)?;
    // Their events were compared with the log when it was kept.
    let mut digests: Vec<Digest> = events[..held_entries].to_vec();
    let mut names: BTreeSet<String> = (0..start).map(|index| full_bundle(index).path()).collect();
    let ids: std::sync::Arc<[Digest]> = events.into();
    let log = dir.join("log");
    let bundle_dir = log.clone();
    let mut leaves = held;
    leaves.truncate(held_entries);
    // Bundle by bundle, on the blocking pool: each is compared with the
    // mirrored events at its position and, when it holds exactly those,
    // written as served (a well-formed bundle is its entries' encoding);
    // nothing of it is kept but its digests.
    leaves.extend(
        crate::log_check::first_bundles(
            client,
            &signed.checkpoint,
            start..fetched,
            move |index, bundle| {
                let digests = crate::log_check::entry_digests(&bundle.entries);
                let at = usize::try_from(index * TILE_WIDTH)?;
                if ids.get(at..at + digests.len()) != Some(&digests[..]) {
                    return Ok((digests, None));
                }
                let name = bundle.tile.path();
                keep_tile(&bundle_dir, &name, &bundle.bytes, false)?;
                Ok((digests, Some(name)))
            },
            |_, (bundle, name)| {
                digests.extend(bundle);
                names.extend(name);
                Ok(())
            },
        )
        .await?,
    );
    let problems = crate::log_check::id_problems(&digests, events);
    if let Some(first) = problems.first() {
        bail!("refusing the registry's transparency log: {first}");
    }
    let built = built.finish();
    if let Some((name, bytes)) = &built.last {
        keep_tile(&log, name, bytes, false)?;
    }
    names.extend(built.names);
    leaves.extend(built.leaves);
    crate::log_check::check_root(&signed.checkpoint, &leaves)?;
    for (name, bytes) in crate::mirror_log::hash_tile_files(&leaves)? {
        keep_tile(&log, &name, &bytes, repair)?;
        names.insert(name);
    }
    // Placed once the tiles are durable (see `LastFiles`).
    last.stage(dir.join("log/key"), |out| writeln!(out, "{}", signed.key))?;
    last.stage(dir.join("log/checkpoint"), |out| {
        out.write_all(signed.note.as_bytes())
    })?;
    Ok(Some((size, names)))
}

/// Writes tile `<root>/<name>` (`root` a mirror's `log/` or `go-sumdb/`)
/// unless it is a full tile the mirror holds already and this is no
/// `repair` (full tiles never change; partial ones grow with the tree; a
/// repair rewrites a held tree that did not check out); not durably, the
/// caller syncs before writing the note that commits to it.
pub(crate) fn keep_tile(root: &Path, name: &str, bytes: &[u8], repair: bool) -> anyhow::Result<()> {
    let path = root.join(name);
    if !repair && !name.contains(".p/") && path.exists() {
        return Ok(());
    }
    write_undurable(&path, bytes)
}

/// Full entry bundle `index`.
fn full_bundle(index: u64) -> Tile {
    Tile {
        level: None,
        index,
        width: 256,
    }
}

/// The leaf hashes of the log the mirror kept last time, read from its
/// level-0 hash tiles, when that log's checkpoint is signed by the key of
/// `signed`, is no larger, every full entry bundle of it is held, and the
/// leaves hash to its root: a mirror need not fetch those bundles again
/// (at a million entries, some 700 MB), as every one of them was compared
/// with its events when kept. `None` (fetch them all) otherwise: a mirror
/// that kept no log, or whose log files were damaged or removed.
fn held_leaves(dir: &Path, signed: &SignedCheckpoint) -> Option<Vec<Hash>> {
    let log = dir.join("log");
    let note = std::fs::read_to_string(log.join("checkpoint")).ok()?;
    let key = NoteVerifier::from_text(signed.key.trim()).ok()?;
    let held = open_checkpoint(&note, &key).ok()?;
    if held.size > signed.checkpoint.size {
        return None;
    }
    let mut leaves = Vec::with_capacity(usize::try_from(held.size).ok()?);
    for index in 0..held.size.div_ceil(TILE_WIDTH) {
        // The level-0 tile holding leaf `index * TILE_WIDTH` onwards.
        let tile = Tile::for_hash(0, index * TILE_WIDTH, held.size)?;
        let hashes = std::fs::read(log.join(tile.path())).ok()?;
        let hashes = regesta_tlog::tile::decode_hashes(&hashes).ok()?;
        if hashes.len() != usize::from(tile.width)
            || (tile.is_full() && !log.join(full_bundle(index).path()).is_file())
        {
            return None;
        }
        leaves.extend(hashes);
    }
    (root_of(&leaves) == held.root).then_some(leaves)
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

#[cfg(test)]
mod tests {
    use regesta_tlog::note::ALG_ED25519;
    use regesta_tlog::{Checkpoint, NoteSigner};

    use super::*;

    const ORIGIN: &str = "mirror.localhost/log";

    fn signer(seed: u8) -> NoteSigner {
        let key = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
        NoteSigner::new(ORIGIN, ALG_ED25519, key).unwrap()
    }

    fn checkpoint(signer: &NoteSigner, size: u64, root: Hash) -> SignedCheckpoint {
        let checkpoint = Checkpoint {
            origin: ORIGIN.to_owned(),
            size,
            root,
            extensions: Vec::new(),
        };
        SignedCheckpoint {
            note: signer.sign(&checkpoint.body(), 0).unwrap(),
            checkpoint,
            key: signer.verifier_key(),
        }
    }

    /// A mirror that kept a log of `size` leaves: its checkpoint, key,
    /// hash tiles and full entry bundles (their bytes do not matter here).
    fn kept(dir: &Path, signer: &NoteSigner, size: usize) -> Vec<Hash> {
        let leaves: Vec<Hash> = (0..size)
            .map(|i| leaf_hash(format!("entry {i}").as_bytes()))
            .collect();
        for (name, bytes) in hash_tile_files(&leaves).unwrap() {
            write_undurable(&dir.join("log").join(name), &bytes).unwrap();
        }
        for index in 0..size as u64 / TILE_WIDTH {
            write_undurable(&dir.join("log").join(full_bundle(index).path()), b"bundle").unwrap();
        }
        let kept = checkpoint(signer, size as u64, root_of(&leaves));
        std::fs::write(dir.join("log/checkpoint"), kept.note).unwrap();
        std::fs::write(dir.join("log/key"), kept.key).unwrap();
        leaves
    }

    /// The leaves of a kept log are read back from its tiles, so its full
    /// bundles need not be fetched again, but only while they hash to its
    /// checkpoint signed by the log's key, every full bundle is held and
    /// the registry's log is not smaller.
    #[test]
    fn held_leaves_are_those_of_an_intact_kept_log() {
        let dir = tempfile::tempdir().unwrap();
        let log = signer(1);
        let leaves = kept(dir.path(), &log, 600);
        let now = checkpoint(&log, 700, Hash::empty());
        assert_eq!(held_leaves(dir.path(), &now), Some(leaves.clone()));

        let smaller = checkpoint(&log, 599, Hash::empty());
        assert_eq!(held_leaves(dir.path(), &smaller), None, "a smaller log");
        let other_key = checkpoint(&signer(2), 700, Hash::empty());
        assert_eq!(held_leaves(dir.path(), &other_key), None, "another key");

        let bundle = dir.path().join("log").join(full_bundle(1).path());
        std::fs::remove_file(&bundle).unwrap();
        assert_eq!(held_leaves(dir.path(), &now), None, "a bundle missing");
        std::fs::write(&bundle, b"bundle").unwrap();
        assert_eq!(held_leaves(dir.path(), &now), Some(leaves));

        let tile = dir.path().join("log/tile/0/001");
        let mut bytes = std::fs::read(&tile).unwrap();
        bytes[0] ^= 1;
        std::fs::write(&tile, &bytes).unwrap();
        assert_eq!(held_leaves(dir.path(), &now), None, "a damaged tile");
        std::fs::remove_file(&tile).unwrap();
        assert_eq!(held_leaves(dir.path(), &now), None, "a missing tile");
    }

    /// Full tiles a mirror holds are not written again, but by a repair;
    /// partial ones and missing ones are.
    #[test]
    fn held_full_tiles_are_kept_and_partial_ones_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for name in ["tile/0/000", "tile/0/001.p/3"] {
            write_undurable(&root.join(name), b"held").unwrap();
        }
        for name in ["tile/0/000", "tile/0/001.p/3", "tile/1/000.p/1"] {
            keep_tile(root, name, b"new", false).unwrap();
        }
        let read = |name: &str| std::fs::read(root.join(name)).unwrap();
        assert_eq!(read("tile/0/000"), b"held");
        assert_eq!(read("tile/0/001.p/3"), b"new");
        assert_eq!(read("tile/1/000.p/1"), b"new");
        keep_tile(root, "tile/0/000", b"repaired", true).unwrap();
        assert_eq!(
            read("tile/0/000"),
            b"repaired",
            "a repair rewrites full tiles"
        );
    }

    /// A mirror that kept no log holds no leaves.
    #[test]
    fn a_mirror_without_a_log_holds_no_leaves() {
        let dir = tempfile::tempdir().unwrap();
        let now = checkpoint(&signer(1), 10, Hash::empty());
        assert_eq!(held_leaves(dir.path(), &now), None);
    }
}
