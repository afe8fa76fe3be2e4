//! `regesta compare-mirrors` and `compare-logs`: differences between two
//! mirrors (each also checked on its own) or two registries' event logs,
//! classified by the lowest layer that disagrees.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use regesta_client::http::RegistryClient;
use regesta_protocol::json::parse_strict;
use regesta_protocol::{Digest, SealedEvent};
use serde_json::{Value, json};

use crate::mirror::{event_path, fetch, files, object_path, release_path};
use crate::mirror_inventory::Inventory;
use crate::printer::Printer;

/// One difference between two mirrors or logs, classified by the lowest
/// layer that disagrees.
fn difference(list: &mut Vec<Value>, layer: &str, detail: impl Into<String>) {
    let detail: String = detail.into();
    list.push(json!({"layer": layer, "detail": detail}));
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
