//! A mirror's `inventory.json`: every event (in log order), object,
//! package and release it holds, and where a rerun resumes.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context as _, bail};
use regesta_protocol::Digest;
use serde::ser::SerializeSeq as _;
use serde::{Deserialize, Serialize, Serializer};

use crate::write::now;

/// The `kind` of an inventory.
const KIND: &str = "regesta.local-mirror.inventory";

/// The inventory as lists (kept sorted; events in log order).
#[derive(Debug, Default, Clone)]
pub(crate) struct Inventory {
    pub(crate) events: Vec<Digest>,
    pub(crate) objects: BTreeSet<Digest>,
    pub(crate) packages: BTreeSet<String>,
    pub(crate) releases: BTreeSet<(String, String)>,
    /// `lastEventId` as written (checked against `events`).
    pub(crate) last_event: Option<String>,
}

/// `inventory.json` as read: typed, so loading a large one builds no
/// JSON tree beside the lists.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Stored {
    kind: Option<String>,
    #[serde(default)]
    events: Vec<Digest>,
    #[serde(default)]
    objects: Vec<Digest>,
    #[serde(default)]
    packages: Vec<String>,
    #[serde(default)]
    releases: Vec<StoredRelease>,
    last_event_id: Option<String>,
}

#[derive(Deserialize)]
struct StoredRelease {
    id: String,
    version: String,
}

/// `inventory.json` as written, borrowing the lists (members in the
/// order they were always written).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Saving<'a> {
    events: &'a [Digest],
    kind: &'static str,
    last_event_id: Option<&'a Digest>,
    mirrored_at: String,
    objects: &'a BTreeSet<Digest>,
    ok: bool,
    packages: &'a BTreeSet<String>,
    problems: &'a [String],
    registry: &'a str,
    releases: Releases<'a>,
}

/// The releases as `{"id", "version"}` objects.
struct Releases<'a>(&'a BTreeSet<(String, String)>);

impl Serialize for Releases<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Release<'a> {
            id: &'a str,
            version: &'a str,
        }
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for (id, version) in self.0 {
            seq.serialize_element(&Release { id, version })?;
        }
        seq.end()
    }
}

impl Inventory {
    pub(crate) fn load(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join("inventory.json");
        if !path.is_file() {
            return Ok(Self::default());
        }
        let file = std::fs::File::open(&path)?;
        let stored: Stored =
            serde_json::from_reader(std::io::BufReader::with_capacity(64 * 1024, file))
                .with_context(|| format!("{} is not a readable inventory", path.display()))?;
        if stored.kind.as_deref() != Some(KIND) {
            bail!("{} is not a Regesta mirror inventory", path.display());
        }
        Ok(Self {
            events: stored.events,
            objects: stored.objects.into_iter().collect(),
            packages: stored.packages.into_iter().collect(),
            releases: stored
                .releases
                .into_iter()
                .map(|r| (r.id, r.version))
                .collect(),
            last_event: stored.last_event_id,
        })
    }

    /// Writes `inventory.json` atomically and durably, streamed from the
    /// lists: it lists every event and object, so building it in memory
    /// first cost more than the lists themselves (about 50 MB at 100,000
    /// events) at every save.
    pub(crate) fn save(
        &self,
        dir: &Path,
        registry: &str,
        problems: &[String],
    ) -> anyhow::Result<()> {
        let path = dir.join("inventory.json");
        regesta_server::files::write_atomic_with(&path, false, |out| {
            self.write_to(out, registry, problems)
        })
        .with_context(|| format!("writing {}", path.display()))
    }

    /// Writes the inventory's JSON to `out`.
    ///
    /// # Errors
    /// Writing failed.
    pub(crate) fn write_to(
        &self,
        out: &mut dyn std::io::Write,
        registry: &str,
        problems: &[String],
    ) -> std::io::Result<()> {
        let saving = Saving {
            events: &self.events,
            kind: KIND,
            last_event_id: self.events.last(),
            mirrored_at: now().map_err(std::io::Error::other)?.to_string(),
            objects: &self.objects,
            ok: problems.is_empty(),
            packages: &self.packages,
            problems,
            registry,
            releases: Releases(&self.releases),
        };
        serde_json::to_writer(out, &saving).map_err(std::io::Error::other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(n: u8) -> Digest {
        Digest::of(&[n])
    }

    #[test]
    fn an_inventory_reads_back_as_saved_in_the_reference_layout() {
        let dir = tempfile::tempdir().unwrap();
        let inventory = Inventory {
            events: vec![digest(2), digest(1)],
            objects: [digest(3), digest(4)].into(),
            packages: ["npm:a.dev/x".to_owned()].into(),
            releases: [("npm:a.dev/x".to_owned(), "1.0.0".to_owned())].into(),
            last_event: None,
        };
        inventory
            .save(dir.path(), "http://registry.test", &[])
            .unwrap();
        let text = std::fs::read_to_string(dir.path().join("inventory.json")).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "events",
                "kind",
                "lastEventId",
                "mirroredAt",
                "objects",
                "ok",
                "packages",
                "problems",
                "registry",
                "releases"
            ]
        );
        assert_eq!(value["kind"], KIND);
        assert_eq!(value["lastEventId"], digest(1).to_string());
        assert_eq!(value["events"][0], digest(2).to_string());
        assert_eq!(value["ok"], true);
        assert_eq!(
            value["releases"],
            serde_json::json!([{"id": "npm:a.dev/x", "version": "1.0.0"}])
        );
        let loaded = Inventory::load(dir.path()).unwrap();
        assert_eq!(loaded.events, inventory.events);
        assert_eq!(loaded.objects, inventory.objects);
        assert_eq!(loaded.packages, inventory.packages);
        assert_eq!(loaded.releases, inventory.releases);
        assert_eq!(loaded.last_event, Some(digest(1).to_string()));
    }

    #[test]
    fn other_files_are_refused_and_a_missing_one_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Inventory::load(dir.path()).unwrap().events.is_empty());
        let path = dir.path().join("inventory.json");
        std::fs::write(&path, r#"{"kind":"something.else","events":[]}"#).unwrap();
        let error = Inventory::load(dir.path()).unwrap_err().to_string();
        assert!(error.contains("not a Regesta mirror inventory"), "{error}");
        std::fs::write(
            &path,
            r#"{"kind":"regesta.local-mirror.inventory","events":["x"]}"#,
        )
        .unwrap();
        assert!(Inventory::load(dir.path()).is_err(), "a malformed event id");
    }
}
