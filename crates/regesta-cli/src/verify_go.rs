//! Go releases, re-derived: the server opens each module zip at publish
//! time and keeps its `h1:` hashes (the release's `go.sum` lines) and its
//! `.mod` file outside the publisher's signature. A verifier re-runs the
//! same processor on the fetched zip and requires the served `.mod` object
//! to be the derived one and, when the registry serves a Go checksum
//! database, its record of the release to be those `go.sum` lines, in the
//! tree its signed note commits to (an inclusion proof over its tiles).

use std::collections::HashMap;

use bytes::Bytes;
use regesta_client::http::RegistryClient;
use regesta_projection_go::paths::escape;
use regesta_projection_go::processor::GoProcessor;
use regesta_projection_go::sumdb::{TileRequest, record};
use regesta_protocol::{ArtifactDescriptor, ReleaseManifest};
use regesta_tlog::hash::{Hash, leaf_hash};
use regesta_tlog::tile::{TileHashes, decode_hashes};
use regesta_tlog::tree::{inclusion_proof, verify_inclusion};
use regesta_tlog::{Note, NoteVerifier, TlogError};
use serde_json::Value;

use crate::verify::{Findings, Rederived, rederive};

/// The record text and the `.mod` bytes of what the processor derives.
fn record_and_mod(manifest: &ReleaseManifest, derived: Rederived) -> (String, Bytes) {
    let facts = derived.facts;
    let hash = |key: &str| facts.get(key).and_then(Value::as_str).unwrap_or_default();
    let text = record(
        manifest.id.name(),
        manifest.version.as_str(),
        hash("zipHash"),
        hash("modHash"),
    );
    let go_mod = derived.derived.into_iter().next().unwrap_or_default();
    (text, go_mod)
}

/// A lookup response: record id, record text, signed tree note.
fn parse_lookup(body: &[u8]) -> Option<(u64, String, &[u8])> {
    let text = std::str::from_utf8(body).ok()?;
    let (id, rest) = text.split_once('\n')?;
    let (record, _) = rest.split_once("\n\n")?;
    let note_start = id.len() + 1 + record.len() + 2;
    Some((
        id.parse().ok()?,
        format!("{record}\n"),
        body.get(note_start..)?,
    ))
}

/// The tree size and root a signed tree note commits to.
pub(crate) fn tree_of(note: &Note) -> Option<(u64, Hash)> {
    let mut lines = note.text.lines();
    if lines.next()? != regesta_projection_go::sumdb::TREE_ORIGIN {
        return None;
    }
    let size = lines.next()?.parse().ok()?;
    let root = Hash::from_base64(lines.next()?).ok()?;
    Some((size, root))
}

/// The inclusion proof of `id` in the tree of `size`, read from the
/// database's tiles under `base`: the proof is computed over a tile cache,
/// and the tiles it misses are fetched until it completes.
async fn proof_from_tiles(
    client: &RegistryClient,
    base: &str,
    id: u64,
    size: u64,
) -> anyhow::Result<Vec<Hash>> {
    let mut tiles: HashMap<(u8, u64), Vec<Hash>> = HashMap::new();
    for _ in 0..64 {
        let missing = std::cell::RefCell::new(None);
        let reader = TileHashes::new(|level: u8, index: u64| {
            tiles.get(&(level, index)).cloned().ok_or_else(|| {
                *missing.borrow_mut() = Some((level, index));
                TlogError::MissingHash { level, index }
            })
        });
        match inclusion_proof(&reader, id, size) {
            Ok(proof) => return Ok(proof),
            Err(error) => {
                let Some((level, index)) = missing.take() else {
                    return Err(error.into());
                };
                let count = size >> (8 * u32::from(level));
                let width = count.saturating_sub(index * 256).min(256);
                let path = tile_path(base, Some(level), index, width);
                let reply = client.get(&path).await?;
                anyhow::ensure!(reply.status == 200, "{path}: status {}", reply.status);
                tiles.insert((level, index), decode_hashes(&reply.body)?);
            }
        }
    }
    anyhow::bail!("the inclusion proof needs more tiles than a tree can have")
}

/// The path of a tile of the database at `base`: hash tile `level`, or
/// data (`None`), index `index`, `width` entries.
pub(crate) fn tile_path(base: &str, level: Option<u8>, index: u64, width: u64) -> String {
    let request = TileRequest {
        level,
        index,
        width: u16::try_from(width).unwrap_or(256),
    };
    format!("{base}/{}", request.path())
}

/// Re-runs the Go processor on the release's module zip (its verified
/// bytes) and checks the derived `.mod` object and the checksum database.
pub(crate) async fn check_go_release(
    client: &RegistryClient,
    path: &str,
    manifest: &ReleaseManifest,
    files: Vec<(ArtifactDescriptor, Bytes)>,
    f: &mut Findings,
) -> anyhow::Result<()> {
    let owned = manifest.clone();
    let then = move |derived| Ok(record_and_mod(&owned, derived));
    let not = "the file is not a valid module zip";
    let release = (path, manifest, files);
    let Some((text, go_mod)) = rederive(&GoProcessor, release, not, then, f).await? else {
        return Ok(());
    };
    crate::verify::check_derived_object(client, path, (".mod", "zip"), &go_mod, f).await;
    let key = client.get("/go/sumdb-key").await?;
    if key.status != 200 {
        return Ok(());
    }
    let Ok(verifier) = NoteVerifier::from_text(String::from_utf8_lossy(&key.body).trim()) else {
        f.problem("/go/sumdb-key: not a note verifier key".to_owned());
        return Ok(());
    };
    let base = format!("/go/sumdb/{}", verifier.name());
    let lookup = format!(
        "{base}/lookup/{}@{}",
        escape(manifest.id.name()),
        escape(manifest.version.as_str())
    );
    let reply = client.get(&lookup).await?;
    let Some((id, served, note)) = (reply.status == 200)
        .then(|| parse_lookup(&reply.body))
        .flatten()
    else {
        f.problem(format!("{lookup}: no record (status {})", reply.status));
        return Ok(());
    };
    f.check(served == text, || {
        format!("{lookup}: the record differs from the zip's go.sum lines: served {served:?}, derived {text:?}")
    });
    let tree = Note::parse(note)
        .ok()
        .filter(|n| n.verify(std::slice::from_ref(&verifier)).is_ok())
        .and_then(|n| tree_of(&n));
    let Some((size, root)) = tree else {
        f.problem(format!(
            "{lookup}: the tree note is not signed by the database's key"
        ));
        return Ok(());
    };
    let proof = proof_from_tiles(client, &base, id, size).await;
    let included = proof.is_ok_and(|proof| {
        verify_inclusion(&leaf_hash(text.as_bytes()), id, size, &proof, &root).is_ok()
    });
    f.check(included, || {
        format!("{lookup}: record {id} is not in the signed tree of size {size}")
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_lookup;

    #[test]
    fn lookups_split_into_id_record_and_note() {
        let body = b"7\na v1 h1:x\na v1/go.mod h1:y\n\ngo.sum database tree\n8\nroot\n\n- sig\n";
        let (id, record, note) = parse_lookup(body).unwrap();
        assert_eq!(id, 7);
        assert_eq!(record, "a v1 h1:x\na v1/go.mod h1:y\n");
        assert!(note.starts_with(b"go.sum database tree\n"));
        assert_eq!(parse_lookup(b"x\n"), None);
    }
}
