//! `regesta mirror` (comparing mirrors and logs is `compare`).
//!
//! A mirror is a directory any static web server can serve back:
//! `events/sha256/<hex>.json` (the served event bytes),
//! `objects/sha256/<hex>` (raw object bytes),
//! `releases/<id>/<version>.json` (release envelopes) and `inventory.json`
//! (the reference CLI's `regesta.local-mirror.inventory` layout). Everything
//! is verified before it is written, files are written atomically, and a
//! second run resumes after the inventory's `lastEventId`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use futures_util::{StreamExt as _, TryStreamExt as _};
use regesta_client::http::{RegistryClient, Reply};
use regesta_protocol::json::parse_strict;
use regesta_protocol::{Digest, EventBody, ObjectDescriptor, ReleaseManifest, SealedEvent};
use serde::Deserialize as _;
use serde_json::{Value, json};

use crate::mirror_bundles::LocalBundles;
use crate::mirror_files::BatchWriter;
use crate::mirror_inventory::Inventory;
use crate::mirror_saves::{LastFiles, Saves};
use crate::printer::Printer;

/// Object downloads in flight at once.
const CONCURRENCY: usize = 8;
/// Attempts per request on transient failures (transport errors, 5xx).
const ATTEMPTS: u32 = 4;

/// GET with retries and exponential backoff on transient failures.
pub(crate) async fn fetch(client: &RegistryClient, path: &str) -> anyhow::Result<Reply> {
    let mut delay = Duration::from_millis(200);
    for attempt in 1..=ATTEMPTS {
        match client.get(path).await {
            Ok(reply) if reply.status == 200 => return Ok(reply),
            Ok(reply) if reply.status < 500 || attempt == ATTEMPTS => {
                bail!("GET {path}: {}", reply.error_message())
            }
            Err(error) if attempt == ATTEMPTS => return Err(error.into()),
            _ => {
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
        }
    }
    bail!("GET {path}: gave up")
}

/// Where a mirror's files are written before they are renamed into place.
const TMP: &str = ".tmp";

/// Events mirrored at once. Each waits on two or three requests in a row
/// (its release, then its objects), so on two busy cores 64 left both
/// idle a fifth of the time; 256 cost about 15 MiB more at the peak.
const EVENTS_IN_FLIGHT: usize = 256;

pub(crate) fn object_path(dir: &Path, digest: &Digest) -> PathBuf {
    dir.join("objects/sha256").join(digest.hex())
}

pub(crate) fn event_path(dir: &Path, id: &Digest) -> PathBuf {
    dir.join("events/sha256").join(format!("{}.json", id.hex()))
}

pub(crate) fn release_path(dir: &Path, id: &str, version: &str) -> PathBuf {
    dir.join("releases")
        .join(regesta_protocol::ids::encode_uri_component(id))
        .join(format!(
            "{}.json",
            regesta_protocol::ids::encode_uri_component(version)
        ))
}

/// Whether the mirror holds the object `digest` intact (a damaged or
/// half-written one is fetched again).
fn holds_object(dir: &Path, digest: &Digest) -> bool {
    std::fs::read(object_path(dir, digest)).is_ok_and(|b| Digest::of(&b) == *digest)
}

/// Downloads one object and checks it against its descriptor. With
/// `known` (bytes the registry served inside another document), those
/// are checked instead of downloading the object again.
async fn fetch_object(
    client: &RegistryClient,
    descriptor: &ObjectDescriptor,
    known: Option<bytes::Bytes>,
) -> anyhow::Result<(Digest, bytes::Bytes)> {
    let body = match known {
        Some(bytes) => bytes,
        None => {
            fetch(client, &format!("/objects/{}", descriptor.digest))
                .await?
                .body
        }
    };
    if Digest::of(&body) != descriptor.digest || body.len() as u64 != descriptor.size {
        bail!("object {} does not match its descriptor", descriptor.digest);
    }
    Ok((descriptor.digest, body))
}

/// What one event adds to the mirror, fetched and checked, not yet
/// written: its files and, for the inventory, its release and objects.
#[derive(Default)]
struct Fetched {
    /// The files to write, in order.
    files: Vec<(PathBuf, bytes::Bytes)>,
    /// `(package, version)` of the release it publishes, if any.
    release: Option<(String, String)>,
    /// Every object of that release, and whether it was fetched now.
    objects: Vec<(Digest, bool)>,
    /// The event's log entry: the canonical payload its id is the digest of.
    entry: bytes::Bytes,
}

/// Mirrors a listed event's release (if it publishes one) and writes the
/// event's canonical `bytes` (its id was recomputed from them). With
/// `refetch`, first checks the event's own URL serves exactly those bytes:
/// the mirror spot-checks one event per page, since a request per event
/// would make a large registry slow to mirror. The event's files are
/// returned, not written, the event's own file last. With `check_held`,
/// objects the mirror holds intact are not fetched again.
async fn mirror_event(
    client: &RegistryClient,
    dir: &Path,
    (listed, entry, bytes): Listed,
    refetch: bool,
    check_held: bool,
) -> anyhow::Result<(SealedEvent, Fetched)> {
    if refetch {
        let own = fetch(client, &format!("/events/sha256/{}", listed.id.hex())).await?;
        if own.body != bytes {
            bail!(
                "event {} differs between the log and its own URL",
                listed.id
            );
        }
    }
    let mut fetched = fetch_release(client, dir, &listed, &bytes, check_held).await?;
    fetched.files.push((event_path(dir, &listed.id), bytes));
    fetched.entry = entry;
    Ok((listed, fetched))
}

/// Fetches and checks the release an event publishes, if it does: its
/// envelope (whose event must be `event`, served as `served`) and the
/// objects the mirror does not hold yet.
async fn fetch_release(
    client: &RegistryClient,
    dir: &Path,
    event: &SealedEvent,
    served: &[u8],
    check_held: bool,
) -> anyhow::Result<Fetched> {
    let EventBody::ReleasePublished {
        package,
        version,
        manifest_digest,
        ..
    } = &event.event.body
    else {
        return Ok(Fetched::default());
    };
    let release = fetch(
        client,
        &format!(
            "/packages/{}/releases/{}",
            package.to_path_segment(),
            regesta_protocol::ids::encode_uri_component(version.as_str())
        ),
    )
    .await?;
    let envelope = parse_strict(&release.body, release.body.len())?;
    // Read in place: the envelope's members are not copied out.
    let manifest = ReleaseManifest::deserialize(&envelope["manifest"])?;
    let descriptor = ObjectDescriptor::deserialize(&envelope["manifestDescriptor"])?;
    if descriptor.digest != *manifest_digest || !is_served_event(&envelope["event"], served) {
        bail!("release {package}@{version} does not match its event");
    }
    // The manifest object's bytes are the envelope's manifest (canonical
    // JSON and a newline), checked against its descriptor, not downloaded
    // a second time.
    let mut manifest_bytes = regesta_protocol::json::canonical_value(&envelope["manifest"])?;
    manifest_bytes.push(b'\n');
    let manifest_bytes = bytes::Bytes::from(manifest_bytes);
    if Digest::of(&manifest_bytes) != descriptor.digest {
        bail!("manifest of {package}@{version} does not match its descriptor");
    }
    let mut wanted = vec![
        (descriptor, Some(manifest_bytes)),
        (manifest.source.clone(), None),
    ];
    wanted.extend(manifest.artifacts.iter().map(|a| {
        let descriptor = ObjectDescriptor {
            digest: a.digest,
            media_type: a.media_type.clone(),
            size: a.size,
        };
        (descriptor, None)
    }));
    let (check, digests) = (
        dir.to_path_buf(),
        wanted.iter().map(|w| w.0.digest).collect::<Vec<_>>(),
    );
    let held: Vec<bool> = if check_held {
        tokio::task::spawn_blocking(move || {
            digests.iter().map(|d| holds_object(&check, d)).collect()
        })
        .await?
    } else {
        vec![false; digests.len()]
    };
    let mut out = Fetched::default();
    let mut missing = Vec::new();
    for ((descriptor, known), held) in wanted.into_iter().zip(held) {
        out.objects.push((descriptor.digest, !held));
        if !held {
            missing.push((descriptor, known));
        }
    }
    let bodies: Vec<(Digest, bytes::Bytes)> = futures_util::stream::iter(missing)
        .map(|(descriptor, known)| async move { fetch_object(client, &descriptor, known).await })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    out.files.extend(
        bodies
            .into_iter()
            .map(|(d, body)| (object_path(dir, &d), body)),
    );
    out.files.push((
        release_path(dir, package.as_str(), version.as_str()),
        release.body,
    ));
    out.release = Some((package.to_string(), version.to_string()));
    Ok(out)
}

/// Whether `value` is the event served as `served`: the same when its
/// canonical form is those bytes (the served event's id was checked, so
/// this one's holds too), without parsing and hashing it again.
fn is_served_event(value: &Value, served: &[u8]) -> bool {
    regesta_protocol::json::canonical_value(value)
        .is_ok_and(|canonical| served.strip_suffix(b"\n") == Some(&canonical[..]))
}

/// `regesta mirror <dir>`.
pub(crate) async fn mirror(dir: &Path, registry: &str, printer: &Printer) -> anyhow::Result<u8> {
    let client = RegistryClient::multiplexed(registry).await?;
    let mut inventory = Inventory::load(dir)?;
    let (mut new_events, mut new_objects) = (0usize, 0usize);
    let spinner = printer.spinner();
    let mut saves = Saves::new();
    let before = inventory.events.len();
    let mut go_releases = Vec::new();
    let mut writer = BatchWriter::new(&dir.join(TMP))?;
    // The log is kept at the checkpoint of before the events: the log lags
    // the events, so every entry it holds is then mirrored below. The log
    // key is pinned in the mirror; a checkpoint signed by another refused.
    let pinned = std::fs::read_to_string(dir.join("log/key")).ok();
    let checkpoint = crate::log_check::fetch_checkpoint(&client, pinned.as_deref()).await?;
    // A mirror without objects holds none to reuse: nothing to check.
    let check_held = dir.join("objects").exists();
    // The log's entry bundles of this run's events are built from them,
    // not fetched (see `mirror_bundles`).
    let logged = checkpoint.as_ref().map_or(0, |c| c.checkpoint.size);
    let mut bundles = LocalBundles::new(before as u64, logged);
    // One stream of events across pages (fetched ahead, see
    // `pages_ahead`), mirrored EVENTS_IN_FLIGHT at a time and taken in log
    // order, so the inventory's events stay the log's prefix.
    let mut mirrored = std::pin::pin!(
        pages_ahead(client.clone(), inventory.events.last().copied())
            .map_ok(|listed| futures_util::stream::iter(listed.into_iter().enumerate().map(Ok)))
            .try_flatten()
            .map_ok(|(n, event)| {
                // A task per event, so a multi-threaded runtime spreads the
                // requests, parsing and hashing over every core.
                let (client, dir) = (client.clone(), dir.to_path_buf());
                async move {
                    tokio::spawn(async move {
                        mirror_event(&client, &dir, event, n == 0, check_held).await
                    })
                    .await?
                }
            })
            .try_buffered(EVENTS_IN_FLIGHT)
    );
    while let Some((event, mut done)) = mirrored.try_next().await? {
        if let Some((name, bytes)) = bundles.push(&done.entry)? {
            done.files.push((dir.join("log").join(name), bytes.into()));
        }
        writer.push(done.files).await?;
        for (digest, fetched) in done.objects {
            new_objects += usize::from(inventory.objects.insert(digest) && fetched);
        }
        if let Some(release) = done.release {
            inventory.releases.insert(release);
        }
        go_releases.extend(crate::sumdb_check::go_release(&event));
        inventory.packages.insert(event.event.package().to_string());
        inventory.events.push(event.id);
        new_events += 1;
        printer.detail(&format!("mirrored event {}", event.id));
        // Durable every second or so, the inventory saved with it when
        // due, so an interrupted run resumes near here.
        if saves
            .tick(&mut writer, dir, client.base(), &inventory)
            .await?
        {
            spinner.set_message(format!(
                "{} events mirrored, {new_objects} new objects",
                inventory.events.len()
            ));
        }
    }
    writer.finish().await?;
    // The inventory, then the log's and the checksum database's notes,
    // each staged once checked and placed together at the end; what was
    // staged is placed even when a later check fails. The last sync of
    // the mirroring runs meanwhile.
    let mut last = LastFiles::new(&dir.join(TMP));
    last.stage(dir.join("inventory.json"), |out| {
        inventory.write_to(out, client.base(), &[])
    })?;
    let mut earlier = crate::sumdb_check::mirrored_go_releases(
        dir,
        &inventory.events[..before],
        &inventory.releases,
    )?;
    earlier.append(&mut go_releases);
    let go_releases = earlier;
    let kept = async {
        let log = crate::mirror_log::keep(
            &client,
            dir,
            checkpoint,
            &inventory.events,
            bundles,
            &mut last,
        )
        .await?;
        let sumdb = crate::sumdb_check::keep(&client, dir, &go_releases, &mut last).await?;
        anyhow::Ok((log, sumdb))
    }
    .await;
    saves.finish().await?;
    last.commit(dir).await?;
    // Every temporary was placed: nothing to leave behind.
    std::fs::remove_dir(dir.join(TMP))?;
    let (log, sumdb) = kept?;
    // Tiles of earlier sizes go once the notes of this one are on disk.
    if let Some((size, tiles)) = sumdb {
        crate::mirror_log::prune_tiles(&dir.join("go-sumdb"), &tiles)?;
        printer.detail(&format!("kept the Go checksum database at size {size}"));
    }
    spinner.finish_and_clear();
    if let Some((size, tiles)) = log {
        crate::mirror_log::prune_tiles(&dir.join("log"), &tiles)?;
        printer.detail(&format!("kept the transparency log at size {size}"));
    }
    printer.result(
        &format!("{} {} new events, {new_objects} new objects ({} events, {} objects in {})", printer.ok("mirrored"), new_events, inventory.events.len(), inventory.objects.len(), dir.display()),
        &json!({"newEvents": new_events, "newObjects": new_objects, "events": inventory.events.len(), "objects": inventory.objects.len()}),
    );
    Ok(0)
}

/// Pages of events fetched ahead of the events being mirrored.
const PAGES_AHEAD: usize = 2;

/// The log's pages after `after`, in order, each fetched and checked by a
/// task of its own up to [`PAGES_AHEAD`] pages ahead of the consumer. A
/// page is a thousand events, checked one id at a time: fetched only once
/// the previous page's events had drained, the events in flight ran dry
/// while it was fetched and checked, and both cores idled.
fn pages_ahead(
    client: RegistryClient,
    mut after: Option<Digest>,
) -> impl futures_util::Stream<Item = anyhow::Result<Vec<Listed>>> {
    let (sender, receiver) = tokio::sync::mpsc::channel(PAGES_AHEAD);
    tokio::spawn(async move {
        loop {
            let page = fetch_page(&client, after).await;
            if let Ok(listed) = &page {
                match listed.last() {
                    Some((last, _, _)) => after = Some(last.id),
                    None => break,
                }
            }
            let failed = page.is_err();
            // A consumer that stopped (failed or done) stops the fetching.
            if sender.send(page).await.is_err() || failed {
                break;
            }
        }
    });
    futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|page| (page, receiver))
    })
}

/// A listed event, its id recomputed: the event, its canonical payload
/// (its log entry) and its served bytes.
type Listed = (SealedEvent, bytes::Bytes, bytes::Bytes);

/// The page of events after `after` (from the start without one), each
/// event's id recomputed from its listed bytes; empty at the log's end.
async fn fetch_page(client: &RegistryClient, after: Option<Digest>) -> anyhow::Result<Vec<Listed>> {
    let path = match after {
        Some(last) => format!("/events?after={last}"),
        None => "/events".to_owned(),
    };
    let page = fetch(client, &path).await?;
    let page = parse_strict(&page.body, page.body.len())
        .with_context(|| format!("{path}: not strict JSON"))?;
    page["events"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|item| {
            let (event, payload, served) = SealedEvent::from_json_with_bytes(item)
                .with_context(|| format!("{path}: an event's id does not match its content"))?;
            Ok((event, payload.into(), served.into()))
        })
        .collect()
}

/// Files of one kind in a mirror, by name, with their bytes.
pub(crate) fn files(dir: &Path, sub: &str) -> anyhow::Result<BTreeMap<String, Vec<u8>>> {
    let root = dir.join(sub);
    crate::mirror_files::file_names(&root)?
        .into_iter()
        .map(|name| {
            let bytes = std::fs::read(root.join(&name))?;
            Ok((name, bytes))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::is_served_event;
    use regesta_protocol::SealedEvent;
    use serde_json::Value;

    /// Two events of the reference's vectors, as listed (with `id`).
    fn listed() -> Vec<Value> {
        let vectors: Value = serde_json::from_str(include_str!(
            "../../regesta-testkit/vectors/canonical-json/event-id-vectors.json"
        ))
        .unwrap();
        vectors
            .as_array()
            .unwrap()
            .iter()
            .take(2)
            .map(|case| {
                let mut event = case["payload"].clone();
                event["id"] = case["id"].clone();
                event
            })
            .collect()
    }

    #[test]
    fn an_envelope_holds_the_listed_event_only_when_it_is_the_same_json() {
        let events = listed();
        let (_, _, served) = SealedEvent::from_json_with_bytes(&events[0]).unwrap();
        // The same event, in any key order, is the listed one.
        assert!(is_served_event(&events[0], &served));
        let reordered: serde_json::Map<String, Value> = events[0]
            .as_object()
            .unwrap()
            .clone()
            .into_iter()
            .rev()
            .collect();
        assert!(is_served_event(&Value::Object(reordered), &served));
        // Another event, or this one changed anywhere, is not.
        assert!(!is_served_event(&events[1], &served));
        let mut changed = events[0].clone();
        changed["timestamp"] = Value::from("2030-01-01T00:00:00.000Z");
        assert!(!is_served_event(&changed, &served));
        let mut extra = events[0].clone();
        extra["extra"] = Value::from(1);
        assert!(!is_served_event(&extra, &served));
        assert!(!is_served_event(&Value::Null, &served));
    }
}
