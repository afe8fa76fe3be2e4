//! `regesta mirror`, `compare-mirrors` and `compare-logs`.
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
async fn fetch(client: &RegistryClient, path: &str) -> anyhow::Result<Reply> {
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
fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    regesta_server::files::write_atomic(path, bytes, false)
        .with_context(|| format!("writing {}", path.display()))
}

fn object_path(dir: &Path, digest: &Digest) -> PathBuf {
    dir.join("objects/sha256").join(digest.hex())
}

pub(crate) fn event_path(dir: &Path, id: &Digest) -> PathBuf {
    dir.join("events/sha256").join(format!("{}.json", id.hex()))
}

fn release_path(dir: &Path, id: &str, version: &str) -> PathBuf {
    dir.join("releases")
        .join(regesta_protocol::ids::encode_uri_component(id))
        .join(format!(
            "{}.json",
            regesta_protocol::ids::encode_uri_component(version)
        ))
}

/// The inventory as lists (kept sorted; events in log order).
#[derive(Debug, Default)]
struct Inventory {
    events: Vec<Digest>,
    objects: BTreeSet<Digest>,
    packages: BTreeSet<String>,
    releases: BTreeSet<(String, String)>,
    /// `lastEventId` as written (checked against `events`).
    last_event: Option<String>,
}

impl Inventory {
    fn load(dir: &Path) -> anyhow::Result<Self> {
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
    if path.is_file() && Digest::of(&std::fs::read(&path)?) == descriptor.digest {
        return Ok((descriptor.digest, false));
    }
    let reply = fetch(client, &format!("/objects/{}", descriptor.digest)).await?;
    if Digest::of(&reply.body) != descriptor.digest || reply.body.len() as u64 != descriptor.size {
        bail!("object {} does not match its descriptor", descriptor.digest);
    }
    write_atomic(&path, &reply.body)?;
    Ok((descriptor.digest, true))
}

/// Mirrors the release an event publishes (envelope and objects), after
/// checking it matches the event; returns how many objects were fetched.
async fn mirror_release(
    client: &RegistryClient,
    dir: &Path,
    event: &SealedEvent,
    inventory: &mut Inventory,
) -> anyhow::Result<usize> {
    let mut new_objects = 0;
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
            let (digest, fetched) = result?;
            new_objects += usize::from(fetched);
            inventory.objects.insert(digest);
        }
        if manifest.object_bytes()? != std::fs::read(object_path(dir, manifest_digest))? {
            bail!("manifest object of {package}@{version} differs from its envelope");
        }
        write_atomic(
            &release_path(dir, package.as_str(), version.as_str()),
            &release.body,
        )?;
        inventory
            .releases
            .insert((package.to_string(), version.to_string()));
    }
    Ok(new_objects)
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
        for item in &items {
            let listed = SealedEvent::from_json(item)
                .with_context(|| format!("{path}: an event's id does not match its content"))?;
            let own = fetch(&client, &format!("/events/sha256/{}", listed.id.hex())).await?;
            let event = parse_strict(&own.body, own.body.len())
                .ok()
                .and_then(|v| SealedEvent::from_json(&v).ok());
            let Some(event) = event
                .filter(|e| *e == listed && e.served_bytes().is_ok_and(|b| b == own.body.as_ref()))
            else {
                bail!(
                    "event {} differs between the log and its own URL",
                    listed.id
                );
            };
            new_objects += mirror_release(&client, dir, &event, &mut inventory).await?;
            inventory.packages.insert(event.event.package().to_string());
            write_atomic(&event_path(dir, &event.id), &own.body)?;
            inventory.events.push(event.id);
            new_events += 1;
            printer.detail(&format!("mirrored event {}", event.id));
        }
        // Save after every page so an interrupted run resumes here.
        inventory.save(dir, client.base(), &[])?;
        spinner.set_message(format!(
            "{} events mirrored, {new_objects} new objects",
            inventory.events.len()
        ));
    }
    inventory.save(dir, client.base(), &[])?;
    let logged = keep_log(&client, dir, &inventory).await?;
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
    inventory: &Inventory,
) -> anyhow::Result<Option<u64>> {
    let pinned = std::fs::read_to_string(dir.join("log/key")).ok();
    let Some(log) = crate::log_check::fetch_log(client, pinned.as_deref()).await? else {
        return Ok(None);
    };
    let mut events = Vec::with_capacity(inventory.events.len());
    for id in &inventory.events {
        let bytes = std::fs::read(event_path(dir, id))?;
        let value = parse_strict(&bytes, bytes.len())?;
        events.push(SealedEvent::from_json(&value)?);
    }
    let problems = crate::log_check::entry_problems(&log, &events);
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

/// One difference between two mirrors or logs, classified by the lowest
/// layer that disagrees.
fn difference(list: &mut Vec<Value>, layer: &str, detail: impl Into<String>) {
    let detail: String = detail.into();
    list.push(json!({"layer": layer, "detail": detail}));
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

/// Checks a mirror's own files: objects hash to their names, events'
/// ids match their names and content, and the kept log is exactly the log
/// of the mirrored events, signed by its key.
fn self_check(
    dir: &Path,
    label: &str,
    inventory: &Inventory,
    diffs: &mut Vec<Value>,
) -> anyhow::Result<()> {
    let events = &inventory.events;
    for problem in crate::mirror_log::problems(dir, events)? {
        difference(diffs, "log", format!("{label}: {problem}"));
    }
    for problem in inventory_problems(dir, inventory)? {
        difference(diffs, "inventory", format!("{label}: {problem}"));
    }
    for (name, bytes) in files(dir, "objects/sha256")? {
        if Digest::of(&bytes).hex() != name {
            difference(
                diffs,
                "object",
                format!("{label}: object {name} does not hash to its name"),
            );
        }
    }
    for (name, bytes) in files(dir, "events/sha256")? {
        let ok = parse_strict(&bytes, bytes.len())
            .ok()
            .and_then(|v| SealedEvent::from_json(&v).ok())
            .is_some_and(|e| {
                format!("{}.json", e.id.hex()) == name && e.served_bytes().is_ok_and(|b| b == bytes)
            });
        if !ok {
            difference(
                diffs,
                "event-mutation",
                format!("{label}: event {name} does not match its id"),
            );
        }
    }
    Ok(())
}

/// Problems between a mirror's inventory and its files: every event,
/// object and release it lists is there, and nothing else is.
fn inventory_problems(dir: &Path, inventory: &Inventory) -> anyhow::Result<Vec<String>> {
    let listed = |names: BTreeSet<PathBuf>, sub: &str| -> anyhow::Result<Vec<String>> {
        let held: BTreeSet<PathBuf> = files(dir, sub)?
            .into_keys()
            .map(|name| dir.join(sub).join(name))
            .collect();
        let mut problems = Vec::new();
        for path in names.symmetric_difference(&held) {
            let shown = path.strip_prefix(dir).unwrap_or(path).display();
            if held.contains(path) {
                problems.push(format!("{shown} is not in inventory.json"));
            } else {
                problems.push(format!("{shown} is listed in inventory.json but missing"));
            }
        }
        Ok(problems)
    };
    let mut problems = listed(
        inventory
            .events
            .iter()
            .map(|id| event_path(dir, id))
            .collect(),
        "events/sha256",
    )?;
    if inventory.last_event != inventory.events.last().map(ToString::to_string) {
        problems.push("lastEventId is not the last listed event".to_owned());
    }
    problems.extend(listed(
        inventory
            .objects
            .iter()
            .map(|d| object_path(dir, d))
            .collect(),
        "objects/sha256",
    )?);
    problems.extend(listed(
        inventory
            .releases
            .iter()
            .map(|(id, version)| release_path(dir, id, version))
            .collect(),
        "releases",
    )?);
    Ok(problems)
}

/// `regesta compare-mirrors <a> <b>`: exit 0 when equal, 1 otherwise.
pub(crate) fn compare_mirrors(a: &Path, b: &Path, printer: &Printer) -> anyhow::Result<u8> {
    let mut diffs = Vec::new();
    let mut load = |dir: &Path, label: &str| {
        Inventory::load(dir).unwrap_or_else(|error| {
            difference(&mut diffs, "inventory", format!("{label}: {error:#}"));
            Inventory::default()
        })
    };
    let (ia, ib) = (load(a, "a"), load(b, "b"));
    self_check(a, "a", &ia, &mut diffs)?;
    self_check(b, "b", &ib, &mut diffs)?;
    let common = ia
        .events
        .iter()
        .zip(&ib.events)
        .take_while(|(x, y)| x == y)
        .count();
    if common < ia.events.len().min(ib.events.len()) {
        difference(
            &mut diffs,
            "event-divergence",
            format!(
                "logs diverge at event #{}: {} vs {}",
                common + 1,
                ia.events[common],
                ib.events[common]
            ),
        );
    } else if ia.events.len() != ib.events.len() {
        difference(
            &mut diffs,
            "event-divergence",
            format!(
                "one log is a prefix of the other ({} vs {} events)",
                ia.events.len(),
                ib.events.len()
            ),
        );
    }
    let mut layers = vec![
        ("events/sha256", "event-mutation"),
        ("objects/sha256", "object"),
        ("releases", "release"),
    ];
    // The log is compared file by file when both mirrors keep one (a
    // mirror made by the reference CLI keeps none).
    if a.join("log").is_dir() && b.join("log").is_dir() {
        layers.push(("log", "log"));
    }
    for (sub, layer) in layers {
        let (fa, fb) = (files(a, sub)?, files(b, sub)?);
        for name in fa.keys().chain(fb.keys()).collect::<BTreeSet<_>>() {
            match (fa.get(name), fb.get(name)) {
                (Some(x), Some(y)) if x != y => {
                    difference(&mut diffs, layer, format!("{sub}/{name} differs"));
                }
                (Some(_), None) => difference(&mut diffs, layer, format!("{sub}/{name} only in a")),
                (None, Some(_)) => difference(&mut diffs, layer, format!("{sub}/{name} only in b")),
                _ => {}
            }
        }
    }
    if ia.packages != ib.packages || ia.releases != ib.releases {
        difference(
            &mut diffs,
            "state",
            "package or release lists differ".to_owned(),
        );
    }
    Ok(report(
        &diffs,
        &format!("{} vs {}", a.display(), b.display()),
        printer,
    ))
}

fn report(diffs: &[Value], subject: &str, printer: &Printer) -> u8 {
    let equal = diffs.is_empty();
    let human = if equal {
        format!("{} {subject}: identical", printer.ok("ok"))
    } else {
        let mut lines = vec![format!("{} difference(s) in {subject}:", diffs.len())];
        lines.extend(diffs.iter().map(|d| {
            format!(
                "  {} [{}] {}",
                printer.problem_prefix(),
                d["layer"].as_str().unwrap_or_default(),
                d["detail"].as_str().unwrap_or_default()
            )
        }));
        lines.join("\n")
    };
    printer.result(
        &human,
        &json!({"subject": subject, "equal": equal, "differences": diffs}),
    );
    u8::from(!equal)
}

async fn log_ids(client: &RegistryClient) -> anyhow::Result<Vec<Digest>> {
    let mut ids = Vec::new();
    loop {
        let path = match ids.last() {
            Some(last) => format!("/events?after={last}"),
            None => "/events".to_owned(),
        };
        let page = fetch(client, &path).await?;
        let page = parse_strict(&page.body, page.body.len())?;
        let items = page["events"].as_array().cloned().unwrap_or_default();
        if items.is_empty() {
            return Ok(ids);
        }
        for item in &items {
            ids.push(
                SealedEvent::from_json(item)
                    .with_context(|| {
                        format!(
                            "{} {path}: an event's id does not match its content",
                            client.base()
                        )
                    })?
                    .id,
            );
        }
    }
}

/// `regesta compare-logs <a> <b>`: two registries' event logs; exit 0 when
/// one is a prefix of the other (a mirror may lag), 1 when they diverge.
pub(crate) async fn compare_logs(a: &str, b: &str, printer: &Printer) -> anyhow::Result<u8> {
    let (ca, cb) = (RegistryClient::new(a)?, RegistryClient::new(b)?);
    let (la, lb) = (log_ids(&ca).await?, log_ids(&cb).await?);
    let common = la.iter().zip(&lb).take_while(|(x, y)| x == y).count();
    let mut diffs = Vec::new();
    if common < la.len().min(lb.len()) {
        difference(
            &mut diffs,
            "event-divergence",
            format!(
                "logs diverge at event #{}: {} vs {}",
                common + 1,
                la[common],
                lb[common]
            ),
        );
    }
    let subject = format!("{a} ({} events) vs {b} ({} events)", la.len(), lb.len());
    Ok(report(&diffs, &subject, printer))
}
