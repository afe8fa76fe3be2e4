//! What verifiers and mirrors check of the transparency log: a checkpoint
//! signed by the log key, and the log's entries, authenticated by
//! recomputing the checkpoint's root from them before anything is trusted
//! or kept.

use anyhow::{Context as _, bail};
use futures_util::{StreamExt as _, TryStreamExt as _};
use regesta_client::http::RegistryClient;
use regesta_protocol::{Digest, SealedEvent};
use regesta_tlog::tile::{TILE_WIDTH, decode_entries};
use regesta_tlog::{
    Checkpoint, Hash, Note, NoteVerifier, ProofBundle, leaf_hash, node_hash, verify_inclusion,
};

/// A checkpoint verified with the log key.
pub(crate) struct SignedCheckpoint {
    /// The checkpoint.
    pub(crate) checkpoint: Checkpoint,
    /// Its signed note, verbatim.
    pub(crate) note: String,
    /// The verifier key it was checked with.
    pub(crate) key: String,
}

/// The log key to trust: `given`, else the one the registry serves.
async fn key_text(client: &RegistryClient, given: Option<&str>) -> anyhow::Result<String> {
    if let Some(key) = given {
        return Ok(key.trim().to_owned());
    }
    let reply = client.get("/log/key").await?;
    if reply.status != 200 {
        bail!("GET /log/key: {}", reply.error_message());
    }
    Ok(String::from_utf8_lossy(&reply.body).trim().to_owned())
}

/// Opens a signed checkpoint note with `key`.
pub(crate) fn open_checkpoint(note: &str, key: &NoteVerifier) -> anyhow::Result<Checkpoint> {
    let parsed = Note::parse(note.as_bytes()).context("checkpoint is not a signed note")?;
    parsed
        .verify(std::slice::from_ref(key))
        .context("checkpoint is not signed by the log key")?;
    Ok(Checkpoint::parse(&parsed.text)?)
}

/// RFC 9162's tree hash of `leaves`, computed directly.
pub(crate) fn root_of(leaves: &[Hash]) -> Hash {
    if leaves.is_empty() {
        return Hash::empty();
    }
    if leaves.len() == 1 {
        return leaves[0];
    }
    let k = 1 << (leaves.len() - 1).ilog2();
    node_hash(&root_of(&leaves[..k]), &root_of(&leaves[k..]))
}

/// Entry bundles fetched at once: a registry builds a bundle it has not
/// served before from its events, which takes a while per bundle.
const BUNDLES_IN_FLIGHT: usize = 8;

/// An entry bundle as served: its bytes (a well-formed bundle, so exactly
/// what re-encoding its entries would give) and its entries, slices of
/// those bytes rather than copies.
pub(crate) struct EntryBundle {
    /// The tile it is (`level: None`).
    pub(crate) tile: regesta_tlog::Tile,
    /// The bundle's bytes.
    pub(crate) bytes: bytes::Bytes,
    /// Its entries, in log order.
    pub(crate) entries: Vec<bytes::Bytes>,
}

/// Bundle `index` of a log of `size`, checked for form and count.
async fn entry_bundle(
    client: &RegistryClient,
    size: u64,
    index: u64,
) -> anyhow::Result<EntryBundle> {
    let width = (size - index * TILE_WIDTH).min(TILE_WIDTH);
    let tile = regesta_tlog::Tile {
        level: None,
        index,
        width: u16::try_from(width).unwrap_or(256),
    };
    let path = format!("/log/{}", tile.path());
    let bundle = client.get(&path).await?;
    if bundle.status != 200 {
        bail!("GET {path}: {}", bundle.error_message());
    }
    let bytes = bundle.body;
    let entries: Vec<bytes::Bytes> = decode_entries(&bytes)
        .with_context(|| format!("{path}: malformed"))?
        .into_iter()
        .map(|entry| bytes.slice_ref(entry))
        .collect();
    if entries.len() as u64 != width {
        bail!("{path}: {} entries, expected {width}", entries.len());
    }
    Ok(EntryBundle {
        tile,
        bytes,
        entries,
    })
}

/// The registry's signed checkpoint (note, key, parsed), or `None` when it
/// serves no log (yet). With `given_key` (a mirror's pinned key), only a
/// checkpoint signed by it is accepted.
///
/// # Errors
/// The registry could not be reached or its checkpoint does not verify.
pub(crate) async fn fetch_checkpoint(
    client: &RegistryClient,
    given_key: Option<&str>,
) -> anyhow::Result<Option<SignedCheckpoint>> {
    let reply = client.get("/log/checkpoint").await?;
    if reply.status == 404 {
        return Ok(None);
    }
    if reply.status != 200 {
        bail!("GET /log/checkpoint: {}", reply.error_message());
    }
    let note = String::from_utf8_lossy(&reply.body).into_owned();
    let key = key_text(client, given_key).await?;
    let verifier = NoteVerifier::from_text(&key).context("invalid log key")?;
    let checkpoint = open_checkpoint(&note, &verifier)?;
    Ok(Some(SignedCheckpoint {
        checkpoint,
        note,
        key,
    }))
}

/// Walks the log's entry bundles up to `checkpoint` without keeping them:
/// bundles are fetched eight at a time, each is reduced on the blocking
/// pool by `reduce` (given its index and entries) while its leaf hashes
/// are computed, and the results reach `visit` in log order. Only the leaf
/// hashes (32 bytes per entry) are kept, to check the signed root at the
/// end, so a verifier or mirror does not hold the log in memory. The leaf
/// hashes, once the root checked.
///
/// # Errors
/// A bundle could not be fetched or is malformed, `visit` failed, or the
/// entries do not hash to the checkpoint's root.
pub(crate) async fn each_bundle<T, R, V>(
    client: &RegistryClient,
    checkpoint: &Checkpoint,
    reduce: R,
    visit: V,
) -> anyhow::Result<Vec<Hash>>
where
    T: Send + 'static,
    R: Fn(u64, &EntryBundle) -> anyhow::Result<T> + Clone + Send + 'static,
    V: FnMut(u64, T) -> anyhow::Result<()>,
{
    let all = checkpoint.size.div_ceil(TILE_WIDTH);
    let leaves = first_bundles(client, checkpoint, 0..all, reduce, visit).await?;
    check_root(checkpoint, &leaves)?;
    Ok(leaves)
}

/// As [`each_bundle`] for the bundles at indexes `bundles` only (those
/// past the log's size are none), whose leaf hashes it gives unchecked:
/// the caller has the others' leaves (a mirror holds those of its earlier
/// runs and builds the bundles of its new events) and checks the root
/// over all.
///
/// # Errors
/// A bundle could not be fetched or is malformed, or `visit` failed.
pub(crate) async fn first_bundles<T, R, V>(
    client: &RegistryClient,
    checkpoint: &Checkpoint,
    bundles: std::ops::Range<u64>,
    reduce: R,
    mut visit: V,
) -> anyhow::Result<Vec<Hash>>
where
    T: Send + 'static,
    R: Fn(u64, &EntryBundle) -> anyhow::Result<T> + Clone + Send + 'static,
    V: FnMut(u64, T) -> anyhow::Result<()>,
{
    let size = checkpoint.size;
    let mut index = bundles.start;
    let mut bundles =
        futures_util::stream::iter(bundles.start..bundles.end.min(size.div_ceil(TILE_WIDTH)))
            .map(|index| {
                let reduce = reduce.clone();
                async move {
                    let bundle = entry_bundle(client, size, index).await?;
                    tokio::task::spawn_blocking(move || {
                        let leaves: Vec<Hash> =
                            bundle.entries.iter().map(|e| leaf_hash(e)).collect();
                        anyhow::Ok((leaves, reduce(index, &bundle)?))
                    })
                    .await?
                }
            })
            .buffered(BUNDLES_IN_FLIGHT);
    let mut leaves = Vec::new();
    while let Some((bundle_leaves, reduced)) = bundles.try_next().await? {
        leaves.extend(bundle_leaves);
        visit(index, reduced)?;
        index += 1;
    }
    Ok(leaves)
}

/// Checks that `leaves` are the log's at `checkpoint`: as many as it holds
/// and hashing to its signed root.
///
/// # Errors
/// They are not.
pub(crate) fn check_root(checkpoint: &Checkpoint, leaves: &[Hash]) -> anyhow::Result<()> {
    if leaves.len() as u64 != checkpoint.size || root_of(leaves) != checkpoint.root {
        bail!(
            "the log's entries do not hash to its signed root at size {}",
            checkpoint.size
        );
    }
    Ok(())
}

/// The digests of a bundle's entries: an entry's digest is the id of the
/// event it logs.
pub(crate) fn entry_digests<E: AsRef<[u8]>>(entries: &[E]) -> Vec<Digest> {
    entries.iter().map(|e| Digest::of(e.as_ref())).collect()
}

/// Checks the registry's log against `ids` (the event ids in log order),
/// holding 64 bytes per entry (its leaf hash and digest), not the entries.
/// `None` when the registry serves no log; else the problems (see
/// [`id_problems`]).
///
/// # Errors
/// A checkpoint that does not verify, or entries that do not hash to its
/// root.
pub(crate) async fn check_log_ids(
    client: &RegistryClient,
    ids: &[Digest],
) -> anyhow::Result<Option<Vec<String>>> {
    let Some(signed) = fetch_checkpoint(client, None).await? else {
        return Ok(None);
    };
    let mut digests = Vec::new();
    each_bundle(
        client,
        &signed.checkpoint,
        |_, bundle| Ok(entry_digests(&bundle.entries)),
        |_, bundle| {
            digests.extend(bundle);
            Ok(())
        },
    )
    .await?;
    Ok(Some(id_problems(&digests, ids)))
}

/// Problems between the log's entry digests and `ids`, the listed events'
/// ids in log order. An event id is the digest of its canonical payload,
/// which is what the log holds, so equal digests are equal entries. The
/// log may lag the events; it may never hold other or more events.
pub(crate) fn id_problems(entries: &[Digest], ids: &[Digest]) -> Vec<String> {
    let mut problems = Vec::new();
    if entries.len() > ids.len() {
        problems.push(format!(
            "the log holds {} entries but the registry lists {} events",
            entries.len(),
            ids.len()
        ));
    }
    for (i, (entry, id)) in entries.iter().zip(ids).enumerate() {
        if entry != id {
            problems.push(format!(
                "log entry {i} is not event {id} (the log and the event list disagree)"
            ));
        }
    }
    problems
}

/// Why an event's tlog-proof bundle does not prove it is in the log: a
/// finding to report, not a failure to reach the registry.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProofProblem {
    /// The bundle's checkpoint is not signed by the log key or does not parse.
    #[error("{path}: {source:#}")]
    Checkpoint {
        /// The proof route.
        path: String,
        /// What failed.
        #[source]
        source: anyhow::Error,
    },
    /// The inclusion proof does not verify against the checkpoint.
    #[error("{path}: {source}")]
    Inclusion {
        /// The proof route.
        path: String,
        /// What failed.
        #[source]
        source: regesta_tlog::TlogError,
    },
}

/// Checks one event's tlog-proof bundle: `Ok(None)` when the registry has
/// no log or has not sequenced it yet, else the event's log index or the
/// problem with its proof.
pub(crate) async fn check_event_proof(
    client: &RegistryClient,
    event: &SealedEvent,
    given_key: Option<&str>,
) -> anyhow::Result<Option<Result<u64, ProofProblem>>> {
    let path = format!("/log/proof/event/sha256/{}", event.id.hex());
    let reply = client.get(&path).await?;
    if reply.status == 404 {
        return Ok(None);
    }
    if reply.status != 200 {
        bail!("GET {path}: {}", reply.error_message());
    }
    let bundle = ProofBundle::parse(&String::from_utf8_lossy(&reply.body))
        .with_context(|| format!("{path}: not a tlog-proof bundle"))?;
    let key = NoteVerifier::from_text(&key_text(client, given_key).await?)?;
    let checkpoint = match open_checkpoint(&bundle.checkpoint, &key) {
        Ok(c) => c,
        Err(source) => return Ok(Some(Err(ProofProblem::Checkpoint { path, source }))),
    };
    let leaf = leaf_hash(&event.event.canonical_payload()?);
    Ok(Some(
        verify_inclusion(
            &leaf,
            bundle.index,
            checkpoint.size,
            &bundle.proof,
            &checkpoint.root,
        )
        .map(|()| bundle.index)
        .map_err(|source| ProofProblem::Inclusion { path, source }),
    ))
}

#[cfg(test)]
mod tests {
    use regesta_protocol::{ChannelName, Event, EventBody, PackageId, Timestamp, Version};

    use super::*;

    fn event(n: i64) -> SealedEvent {
        Event {
            timestamp: Timestamp::from_unix_millis(n).unwrap(),
            authorization: None,
            body: EventBody::ChannelUpdated {
                package: PackageId::parse("npm:a.localhost/pkg").unwrap(),
                channel: ChannelName::latest(),
                version: Version::parse("1.0.0").unwrap(),
                previous_version: None,
            },
        }
        .seal()
        .unwrap()
    }

    #[test]
    fn the_log_may_lag_the_events_but_never_disagree_or_lead() {
        let events = [event(1), event(2)];
        let payload = |i: usize| events[i].event.canonical_payload().unwrap();
        let log = |n: &[usize]| entry_digests(&n.iter().map(|&i| payload(i)).collect::<Vec<_>>());
        let ids = [events[0].id, events[1].id];
        assert!(id_problems(&log(&[0]), &ids).is_empty());
        assert!(id_problems(&log(&[0, 1]), &ids).is_empty());
        assert_eq!(id_problems(&log(&[1]), &ids).len(), 1);
        assert_eq!(id_problems(&log(&[0, 1, 1]), &ids).len(), 1);
        assert_eq!(root_of(&[]), Hash::empty());
    }

    /// Leaves are the log's only when there are as many as it holds and
    /// they hash to its root: a missing, extra or changed one is refused.
    #[test]
    fn leaves_must_be_all_the_logs_and_hash_to_its_root() {
        let leaves: Vec<Hash> = (0..5_u8).map(|n| leaf_hash(&[n])).collect();
        let at = |n: usize| Checkpoint {
            origin: "example.test/log".to_owned(),
            size: n as u64,
            root: root_of(&leaves[..n]),
            extensions: Vec::new(),
        };
        assert!(check_root(&at(5), &leaves).is_ok());
        assert!(check_root(&at(0), &[]).is_ok());
        assert!(check_root(&at(4), &leaves).is_err());
        assert!(check_root(&at(5), &leaves[..4]).is_err());
        let mut changed = leaves.clone();
        changed[2] = leaf_hash(b"other");
        assert!(check_root(&at(5), &changed).is_err());
    }
}
