//! `regesta mirror` (comparing mirrors and logs is `compare`).
//!
//! A mirror is a directory any static web server can serve back:
//! `events/sha256/<hex>.json` (the served event bytes),
//! `objects/sha256/<hex>` (raw object bytes),
//! `releases/<id>/<version>.json` (release envelopes) and `inventory.json`
//! (the reference CLI's `regesta.local-mirror.inventory` layout). Everything
//! is verified before it is written, files are written atomically, and a
//! second run resumes after the inventory's `lastEventId`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use futures_util::StreamExt as _;
use regesta_client::http::{RegistryClient, Reply};
use regesta_protocol::json::parse_strict;
use regesta_protocol::{Digest, EventBody, ObjectDescriptor, ReleaseManifest, SealedEvent};
use serde_json::{Value, json};

use crate::printer::Printer;
use crate::write::now;

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

/// Writes `bytes` to `path` atomically and durably (the server's helper).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    regesta_server::files::write_atomic(path, bytes, false)
        .with_context(|| format!("writing {}", path.display()))
}

/// Writes `bytes` to `path` atomically (temporary file, rename) but not
/// durably, on the blocking pool: a page's files are made durable together
/// by [`sync_page`] before the inventory that lists them is saved.
async fn write_atomic_off(path: PathBuf, bytes: bytes::Bytes) -> anyhow::Result<()> {
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        use std::io::Write as _;
        let dir = path.parent().unwrap_or_else(|| Path::new("."));
        std::fs::create_dir_all(dir)?;
        let mut file = tempfile::NamedTempFile::new_in(dir)?;
        file.write_all(&bytes)?;
        file.persist(&path)
            .map_err(|e| e.error)
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    })
    .await?
}

/// Makes every file written so far under `dir` durable with one `syncfs`
/// (the file system's whole dirty state in one call) instead of two fsyncs
/// per file: a crash before it loses only files no saved inventory lists,
/// and a rerun re-checks and refetches them.
async fn sync_page(dir: &Path) -> anyhow::Result<()> {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let handle = std::fs::File::open(&dir)?;
        rustix::fs::syncfs(&handle).with_context(|| format!("syncing {}", dir.display()))?;
        Ok(())
    })
    .await?
}

/// Events mirrored at once within a page.
const EVENTS_IN_FLIGHT: usize = 16;

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

/// The inventory as lists (kept sorted; events in log order).
#[derive(Debug, Default)]
pub(crate) struct Inventory {
    pub(crate) events: Vec<Digest>,
    pub(crate) objects: BTreeSet<Digest>,
    pub(crate) packages: BTreeSet<String>,
    pub(crate) releases: BTreeSet<(String, String)>,
    /// `lastEventId` as written (checked against `events`).
    pub(crate) last_event: Option<String>,
}

impl Inventory {
    pub(crate) fn load(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join("inventory.json");
        if !path.is_file() {
            return Ok(Self::default());
        }
        let value: Value =
            serde_json::from_slice(&std::fs::read(&path)?).context("inventory.json is not JSON")?;
        if value["kind"] != "regesta.local-mirror.inventory" {
            bail!("{} is not a Regesta mirror inventory", path.display());
        }
        let digests = |key: &str| -> anyhow::Result<Vec<Digest>> {
            value[key].as_array().map_or_else(
                || Ok(Vec::new()),
                |a| {
                    a.iter()
                        .map(|d| Ok(Digest::parse(d.as_str().unwrap_or_default())?))
                        .collect()
                },
            )
        };
        Ok(Self {
            events: digests("events")?,
            objects: digests("objects")?.into_iter().collect(),
            packages: value["packages"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p.as_str().map(str::to_owned))
                .collect(),
            releases: value["releases"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| {
                    Some((
                        r["id"].as_str()?.to_owned(),
                        r["version"].as_str()?.to_owned(),
                    ))
                })
                .collect(),
            last_event: value["lastEventId"].as_str().map(str::to_owned),
        })
    }

    fn save(&self, dir: &Path, registry: &str, problems: &[String]) -> anyhow::Result<()> {
        let value = json!({
            "events": self.events.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "kind": "regesta.local-mirror.inventory",
            "lastEventId": self.events.last().map(ToString::to_string),
            "mirroredAt": now()?.to_string(),
            "objects": self.objects.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "ok": problems.is_empty(),
            "packages": self.packages,
            "problems": problems,
            "registry": registry,
            "releases": self.releases.iter().map(|(id, v)| json!({"id": id, "version": v})).collect::<Vec<_>>(),
        });
        write_atomic(
            &dir.join("inventory.json"),
            serde_json::to_string(&value)?.as_bytes(),
        )
    }
}

/// Downloads and verifies one object unless the mirror has it already.
async fn mirror_object(
    client: &RegistryClient,
    dir: &Path,
    descriptor: ObjectDescriptor,
) -> anyhow::Result<(Digest, bool)> {
    let path = object_path(dir, &descriptor.digest);
    let (check, digest) = (path.clone(), descriptor.digest);
    let present = tokio::task::spawn_blocking(move || {
        check.is_file() && std::fs::read(&check).is_ok_and(|b| Digest::of(&b) == digest)
    })
    .await?;
    if present {
        return Ok((descriptor.digest, false));
    }
    let reply = fetch(client, &format!("/objects/{}", descriptor.digest)).await?;
    if Digest::of(&reply.body) != descriptor.digest || reply.body.len() as u64 != descriptor.size {
        bail!("object {} does not match its descriptor", descriptor.digest);
    }
    write_atomic_off(path, reply.body).await?;
    Ok((descriptor.digest, true))
}

/// What mirroring one event wrote, for the inventory.
struct Mirrored {
    event: SealedEvent,
    /// `(package, version)` of the release it publishes, if any.
    release: Option<(String, String)>,
    /// Every object of that release, and whether it was fetched now.
    objects: Vec<(Digest, bool)>,
}

/// Mirrors a listed event's release (if it publishes one) and writes the
/// event's canonical bytes (its id was recomputed from them). With
/// `refetch`, first checks the event's own URL serves exactly those bytes:
/// the mirror spot-checks one event per page, since a request per event
/// would make a large registry slow to mirror.
async fn mirror_event(
    client: &RegistryClient,
    dir: &Path,
    listed: SealedEvent,
    refetch: bool,
) -> anyhow::Result<Mirrored> {
    let bytes = bytes::Bytes::from(listed.served_bytes()?);
    if refetch {
        let own = fetch(client, &format!("/events/sha256/{}", listed.id.hex())).await?;
        if own.body != bytes {
            bail!(
                "event {} differs between the log and its own URL",
                listed.id
            );
        }
    }
    let (release, objects) = mirror_release(client, dir, &listed).await?;
    write_atomic_off(event_path(dir, &listed.id), bytes).await?;
    Ok(Mirrored {
        event: listed,
        release,
        objects,
    })
}

/// The release `(package, version)` an event publishes and its objects
/// (each with whether it was fetched now), if it publishes one.
type MirroredRelease = (Option<(String, String)>, Vec<(Digest, bool)>);

/// Mirrors the release an event publishes (envelope and objects), after
/// checking it matches the event.
async fn mirror_release(
    client: &RegistryClient,
    dir: &Path,
    event: &SealedEvent,
) -> anyhow::Result<MirroredRelease> {
    let mut objects = Vec::new();
    if let EventBody::ReleasePublished {
        package,
        version,
        manifest_digest,
        ..
    } = &event.event.body
    {
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
        let manifest: ReleaseManifest = serde_json::from_value(envelope["manifest"].clone())?;
        let descriptor: ObjectDescriptor =
            serde_json::from_value(envelope["manifestDescriptor"].clone())?;
        if descriptor.digest != *manifest_digest
            || SealedEvent::from_json(&envelope["event"]).ok().as_ref() != Some(event)
        {
            bail!("release {package}@{version} does not match its event");
        }
        let mut wanted = vec![descriptor, manifest.source.clone()];
        wanted.extend(manifest.artifacts.iter().map(|a| ObjectDescriptor {
            digest: a.digest,
            media_type: a.media_type.clone(),
            size: a.size,
        }));
        let results: Vec<anyhow::Result<(Digest, bool)>> =
            futures_util::stream::iter(wanted.into_iter().map(|d| mirror_object(client, dir, d)))
                .buffer_unordered(CONCURRENCY)
                .collect()
                .await;
        for result in results {
            objects.push(result?);
        }
        if manifest.object_bytes()? != std::fs::read(object_path(dir, manifest_digest))? {
            bail!("manifest object of {package}@{version} differs from its envelope");
        }
        write_atomic_off(
            release_path(dir, package.as_str(), version.as_str()),
            release.body,
        )
        .await?;
        return Ok((Some((package.to_string(), version.to_string())), objects));
    }
    Ok((None, objects))
}

/// `regesta mirror <dir>`.
pub(crate) async fn mirror(dir: &Path, registry: &str, printer: &Printer) -> anyhow::Result<u8> {
    let client = RegistryClient::new(registry)?;
    let mut inventory = Inventory::load(dir)?;
    let (mut new_events, mut new_objects) = (0usize, 0usize);
    let spinner = printer.spinner();
    loop {
        let path = match inventory.events.last() {
            Some(last) => format!("/events?after={last}"),
            None => "/events".to_owned(),
        };
        let page = fetch(&client, &path).await?;
        let page = parse_strict(&page.body, page.body.len())
            .with_context(|| format!("{path}: not strict JSON"))?;
        let items = page["events"].as_array().cloned().unwrap_or_default();
        if items.is_empty() {
            break;
        }
        let mut listed = Vec::with_capacity(items.len());
        for item in &items {
            listed
                .push(SealedEvent::from_json(item).with_context(|| {
                    format!("{path}: an event's id does not match its content")
                })?);
        }
        let mirrored: Vec<anyhow::Result<Mirrored>> = futures_util::stream::iter(listed)
            .enumerate()
            .map(|(n, event)| mirror_event(&client, dir, event, n == 0))
            .buffered(EVENTS_IN_FLIGHT)
            .collect()
            .await;
        // In log order, so the inventory's events stay the log's prefix.
        for result in mirrored {
            let done = result?;
            for (digest, fetched) in done.objects {
                new_objects += usize::from(fetched);
                inventory.objects.insert(digest);
            }
            if let Some(release) = done.release {
                inventory.releases.insert(release);
            }
            inventory
                .packages
                .insert(done.event.event.package().to_string());
            inventory.events.push(done.event.id);
            new_events += 1;
            printer.detail(&format!("mirrored event {}", done.event.id));
        }
        // Durable, then saved after every page so an interrupted run
        // resumes here.
        sync_page(dir).await?;
        inventory.save(dir, client.base(), &[])?;
        spinner.set_message(format!(
            "{} events mirrored, {new_objects} new objects",
            inventory.events.len()
        ));
    }
    inventory.save(dir, client.base(), &[])?;
    let events = mirrored_events(dir, &inventory)?;
    let logged = keep_log(&client, dir, &events).await?;
    if let Some(size) = crate::sumdb_check::keep(&client, dir, &events).await? {
        printer.detail(&format!("kept the Go checksum database at size {size}"));
    }
    spinner.finish_and_clear();
    if let Some(size) = logged {
        printer.detail(&format!("kept the transparency log at size {size}"));
    }
    printer.result(
        &format!("{} {} new events, {new_objects} new objects ({} events, {} objects in {})", printer.ok("mirrored"), new_events, inventory.events.len(), inventory.objects.len(), dir.display()),
        &json!({"newEvents": new_events, "newObjects": new_objects, "events": inventory.events.len(), "objects": inventory.objects.len()}),
    );
    Ok(0)
}

/// Checks the registry's transparency log against the mirrored events —
/// every entry must be the mirrored event at its position — and keeps it
/// (checkpoint, key, entry bundles and hash tiles under `log/`) so the
/// mirror can be verified the same way. The log key is pinned in the
/// mirror; a different one is refused. `None` when the registry has no log.
async fn keep_log(
    client: &RegistryClient,
    dir: &Path,
    events: &[SealedEvent],
) -> anyhow::Result<Option<u64>> {
    let pinned = std::fs::read_to_string(dir.join("log/key")).ok();
    let Some(log) = crate::log_check::fetch_log(client, pinned.as_deref()).await? else {
        return Ok(None);
    };
    let problems = crate::log_check::entry_problems(&log, events);
    if let Some(first) = problems.first() {
        bail!("refusing the registry's transparency log: {first}");
    }
    let tiles = crate::mirror_log::tile_files(&log.entries)?;
    for (name, bytes) in &tiles {
        let path = dir.join("log").join(name);
        if !name.contains(".p/") && path.exists() {
            continue;
        }
        write_atomic(&path, bytes)?;
    }
    write_atomic(&dir.join("log/key"), format!("{}\n", log.key).as_bytes())?;
    write_atomic(&dir.join("log/checkpoint"), log.note.as_bytes())?;
    crate::mirror_log::prune_tiles(dir, &tiles)?;
    Ok(Some(log.checkpoint.size))
}

/// The mirrored events, in log order, read back from the mirror.
///
/// # Errors
/// An event file is missing or damaged.
fn mirrored_events(dir: &Path, inventory: &Inventory) -> anyhow::Result<Vec<SealedEvent>> {
    let mut events = Vec::with_capacity(inventory.events.len());
    for id in &inventory.events {
        let bytes = std::fs::read(event_path(dir, id))?;
        let value = parse_strict(&bytes, bytes.len())?;
        events.push(SealedEvent::from_json(&value)?);
    }
    Ok(events)
}

/// Files of one kind in a mirror, by name, with their bytes.
pub(crate) fn files(dir: &Path, sub: &str) -> anyhow::Result<BTreeMap<String, Vec<u8>>> {
    let mut out = BTreeMap::new();
    let root = dir.join(sub);
    if !root.is_dir() {
        return Ok(out);
    }
    let mut stack = vec![root.clone()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let name = path.strip_prefix(&root)?.to_string_lossy().into_owned();
                out.insert(name, std::fs::read(&path)?);
            }
        }
    }
    Ok(out)
}
