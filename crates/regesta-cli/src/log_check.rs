//! What verifiers and mirrors check of the transparency log: a checkpoint
//! signed by the log key, and the log's entries, authenticated by
//! recomputing the checkpoint's root from them before anything is trusted
//! or kept.

use anyhow::{Context as _, bail};
use futures_util::{StreamExt as _, TryStreamExt as _};
use regesta_client::http::RegistryClient;
use regesta_protocol::SealedEvent;
use regesta_tlog::tile::{TILE_WIDTH, decode_entries};
use regesta_tlog::{
    Checkpoint, Hash, Note, NoteVerifier, ProofBundle, leaf_hash, node_hash, verify_inclusion,
};

/// A verified checkpoint and the entries its tree holds.
pub(crate) struct LogView {
    /// The checkpoint.
    pub(crate) checkpoint: Checkpoint,
    /// Its signed note, verbatim.
    pub(crate) note: String,
    /// The verifier key it was checked with.
    pub(crate) key: String,
    /// Leaf `i`'s bytes (the canonical payload of event `i + 1`).
    pub(crate) entries: Vec<Vec<u8>>,
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

/// The registry's log, or `None` when it serves none (yet).
///
/// # Errors
/// A checkpoint that does not verify, or entries that do not hash to its
/// root.
/// Entry bundles fetched at once.
const BUNDLES_IN_FLIGHT: usize = 8;

/// The entries of bundle `index` of a log of `size`, checked for count.
async fn entry_bundle(
    client: &RegistryClient,
    size: u64,
    index: u64,
) -> anyhow::Result<Vec<Vec<u8>>> {
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
    let decoded = decode_entries(&bundle.body).with_context(|| format!("{path}: malformed"))?;
    if decoded.len() as u64 != width {
        bail!("{path}: {} entries, expected {width}", decoded.len());
    }
    Ok(decoded.iter().map(|e| e.to_vec()).collect())
}

pub(crate) async fn fetch_log(
    client: &RegistryClient,
    given_key: Option<&str>,
) -> anyhow::Result<Option<LogView>> {
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
    let size = checkpoint.size;
    // Several bundles in flight: a registry builds a bundle it has not
    // served before from its events, which takes a while per bundle.
    let bundles: Vec<Vec<Vec<u8>>> = futures_util::stream::iter(0..size.div_ceil(TILE_WIDTH))
        .map(|index| entry_bundle(client, size, index))
        .buffered(BUNDLES_IN_FLIGHT)
        .try_collect()
        .await?;
    let entries: Vec<Vec<u8>> = bundles.into_iter().flatten().collect();
    let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
    if root_of(&leaves) != checkpoint.root {
        bail!(
            "the log's entries do not hash to its signed root at size {}",
            checkpoint.size
        );
    }
    Ok(Some(LogView {
        checkpoint,
        note,
        key,
        entries,
    }))
}

/// Problems between the log's entries and `events` (the log may lag the
/// events; it may never hold other or more events).
pub(crate) fn entry_problems(log: &LogView, events: &[SealedEvent]) -> Vec<String> {
    let mut problems = Vec::new();
    if log.entries.len() > events.len() {
        problems.push(format!(
            "the log holds {} entries but the registry lists {} events",
            log.entries.len(),
            events.len()
        ));
    }
    for (i, (entry, event)) in log.entries.iter().zip(events).enumerate() {
        match event.event.canonical_payload() {
            Ok(payload) if &payload == entry => {}
            _ => problems.push(format!(
                "log entry {i} is not event {} (the log and the event list disagree)",
                event.id
            )),
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

    fn view(entries: Vec<Vec<u8>>) -> LogView {
        LogView {
            checkpoint: Checkpoint {
                origin: "o".into(),
                size: entries.len() as u64,
                root: Hash::empty(),
                extensions: vec![],
            },
            note: String::new(),
            key: String::new(),
            entries,
        }
    }

    #[test]
    fn the_log_may_lag_the_events_but_never_disagree_or_lead() {
        let events = [event(1), event(2)];
        let payload = |i: usize| events[i].event.canonical_payload().unwrap();
        assert!(entry_problems(&view(vec![payload(0)]), &events).is_empty());
        assert!(entry_problems(&view(vec![payload(0), payload(1)]), &events).is_empty());
        assert_eq!(entry_problems(&view(vec![payload(1)]), &events).len(), 1);
        let leading = view(vec![payload(0), payload(1), payload(1)]);
        assert_eq!(entry_problems(&leading, &events).len(), 1);
        assert_eq!(root_of(&[]), Hash::empty());
    }
}
