//! A mirror's `inventory.json`: every event (in log order), object,
//! package and release it holds, and where a rerun resumes.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context as _, bail};
use regesta_protocol::Digest;
use serde_json::{Value, json};

use crate::mirror::write_atomic;
use crate::write::now;

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

    pub(crate) fn save(
        &self,
        dir: &Path,
        registry: &str,
        problems: &[String],
    ) -> anyhow::Result<()> {
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
