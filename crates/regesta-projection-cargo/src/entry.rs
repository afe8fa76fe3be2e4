//! A version's line in the sparse index, derived from the normalized
//! `Cargo.toml` of its `.crate` as crates.io derives it: each dependency
//! with its requirement (normalized as Cargo prints it), features,
//! optionality, default features, target, kind, registry and original
//! package name; the features split into `features` and `features2` (those
//! using `dep:` or `?/`, which older Cargo cannot read, with `v: 2`);
//! `links`, `rust_version`, and `cksum`, the `.crate`'s sha256.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Why a manifest has no index entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// Not a Cargo manifest.
    #[error("Cargo.toml: {0}")]
    Manifest(String),
    /// A dependency that cannot be published.
    #[error("dependency {name}: {problem}")]
    Dependency {
        /// The dependency's key.
        name: String,
        /// What is wrong.
        problem: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Manifest {
    package: Package,
    #[serde(flatten)]
    deps: Tables,
    #[serde(default)]
    target: BTreeMap<String, Tables>,
    #[serde(default)]
    features: BTreeMap<String, Vec<String>>,
}

/// `[package]`: what the index line (and the `.crate` check) reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct Package {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) links: Option<String>,
    pub(crate) rust_version: Option<String>,
}

/// The three dependency tables, at the top level or under
/// `[target.<cfg>]`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Tables {
    #[serde(default)]
    dependencies: BTreeMap<String, Dep>,
    #[serde(default)]
    dev_dependencies: BTreeMap<String, Dep>,
    #[serde(default)]
    build_dependencies: BTreeMap<String, Dep>,
}

impl Tables {
    /// Every dependency with its index kind, for `target` (`None`: all).
    fn entries(&self, target: Option<&str>) -> Result<Vec<Value>, EntryError> {
        let tables = [
            ("normal", &self.dependencies),
            ("dev", &self.dev_dependencies),
            ("build", &self.build_dependencies),
        ];
        let mut deps = Vec::new();
        for (kind, table) in tables {
            for (name, dep) in table {
                deps.push(dependency(name, dep, kind, target)?);
            }
        }
        Ok(deps)
    }
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Dep {
    Version(String),
    Detailed(Detail),
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Detail {
    version: Option<String>,
    #[serde(default)]
    features: Vec<String>,
    #[serde(default)]
    optional: bool,
    default_features: Option<bool>,
    package: Option<String>,
    registry_index: Option<String>,
}

fn dependency(
    name: &str,
    dep: &Dep,
    kind: &str,
    target: Option<&str>,
) -> Result<Value, EntryError> {
    let refuse = |problem: &str| EntryError::Dependency {
        name: name.to_owned(),
        problem: problem.to_owned(),
    };
    let detail = match dep {
        Dep::Version(version) => &Detail {
            version: Some(version.clone()),
            ..Detail::default()
        },
        Dep::Detailed(detail) => detail,
    };
    let version = detail.version.as_deref().ok_or_else(|| {
        refuse("has no version requirement (path and git dependencies cannot be published)")
    })?;
    let req = semver::VersionReq::parse(version)
        .map_err(|e| refuse(&format!("not a version requirement: {e}")))?;
    let mut features = detail.features.clone();
    features.sort();
    Ok(json!({
        "name": name,
        "req": req.to_string(),
        "features": features,
        "optional": detail.optional,
        "default_features": detail.default_features.unwrap_or(true),
        "target": target,
        "kind": kind,
        "registry": detail.registry_index,
        "package": detail.package,
    }))
}

/// Whether a feature's values need Cargo 1.60's syntax (`dep:`, `?/`).
fn is_new_syntax(values: &[String]) -> bool {
    values
        .iter()
        .any(|v| v.starts_with("dep:") || v.contains("?/"))
}

/// The index entry of the `.crate` whose normalized `Cargo.toml` is
/// `manifest` and sha256 `cksum`: every field but `pubtime`, which is the
/// release's time and not the file's (so the processor, which must be a
/// function of the bytes, can derive the rest).
///
/// # Errors
/// Not a manifest, or a dependency that cannot be published.
pub fn index_entry(manifest: &str, cksum: &str) -> Result<Map<String, Value>, EntryError> {
    let m: Manifest =
        toml::from_str(manifest).map_err(|e| EntryError::Manifest(e.message().to_owned()))?;
    let mut deps = m.deps.entries(None)?;
    for (cfg, target) in &m.target {
        deps.extend(target.entries(Some(cfg))?);
    }
    // crates.io lists dependencies by name.
    deps.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    let (mut features, mut features2) = (Map::new(), Map::new());
    for (name, values) in m.features {
        let split = if is_new_syntax(&values) {
            &mut features2
        } else {
            &mut features
        };
        split.insert(name, json!(values));
    }
    let mut entry = Map::new();
    entry.insert("name".into(), json!(m.package.name));
    entry.insert("vers".into(), json!(m.package.version));
    entry.insert("deps".into(), Value::Array(deps));
    entry.insert("cksum".into(), json!(cksum));
    entry.insert("features".into(), Value::Object(features));
    entry.insert("yanked".into(), json!(false));
    entry.insert("links".into(), json!(m.package.links));
    if !features2.is_empty() {
        entry.insert("v".into(), json!(2));
        entry.insert("features2".into(), Value::Object(features2));
    }
    if let Some(rust_version) = m.package.rust_version {
        entry.insert("rust_version".into(), json!(rust_version));
    }
    Ok(entry)
}

/// The fields of an index line, in crates.io's order.
const LINE_ORDER: [&str; 11] = [
    "name",
    "vers",
    "deps",
    "cksum",
    "features",
    "yanked",
    "links",
    "v",
    "features2",
    "rust_version",
    "pubtime",
];

/// The index line (one JSON object, no newline) of `entry` published at
/// `pubtime` (RFC 3339), its fields in crates.io's order whatever order
/// `entry` holds them in (stored facts are canonical JSON, keys sorted).
pub fn index_line(entry: &Map<String, Value>, pubtime: &str) -> Vec<u8> {
    let mut line = Map::new();
    for key in LINE_ORDER {
        if key == "pubtime" {
            line.insert(key.into(), json!(pubtime));
        } else if let Some(value) = entry.get(key) {
            line.insert(key.into(), value.clone());
        }
    }
    // Serializing a map of JSON values cannot fail.
    serde_json::to_vec(&Value::Object(line)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"
[package]
edition = "2021"
name = "lib-a"
version = "0.2.0"
rust-version = "1.70"

[dependencies.serde]
version = "1.0"
features = ["derive", "alloc"]
optional = true
default-features = false

[dependencies.other]
version = "=0.3.1"
package = "real-other"
registry-index = "sparse+http://127.0.0.1:4321/cargo/b.localhost/index/"

[dev-dependencies]
tempfile = "3"

[target."cfg(unix)".build-dependencies.cc]
version = ">=1.0, <2"

[features]
default = ["fast"]
fast = []
serde = ["dep:serde"]
"#;

    fn entry(manifest: &str) -> Value {
        let entry = index_entry(manifest, "ab12").unwrap();
        serde_json::from_slice(&index_line(&entry, "2026-12-05T00:00:00Z")).unwrap()
    }

    #[test]
    fn the_line_is_what_crates_io_would_list() {
        let line = entry(MANIFEST);
        assert_eq!(
            line,
            json!({
                "name": "lib-a", "vers": "0.2.0", "cksum": "ab12", "yanked": false,
                "links": null, "v": 2, "rust_version": "1.70",
                "pubtime": "2026-12-05T00:00:00Z",
                "features": {"default": ["fast"], "fast": []},
                "features2": {"serde": ["dep:serde"]},
                "deps": [
                    {"name": "cc", "req": ">=1.0, <2", "features": [], "optional": false,
                     "default_features": true, "target": "cfg(unix)", "kind": "build",
                     "registry": null, "package": null},
                    {"name": "other", "req": "=0.3.1", "features": [], "optional": false,
                     "default_features": true, "target": null, "kind": "normal",
                     "registry": "sparse+http://127.0.0.1:4321/cargo/b.localhost/index/",
                     "package": "real-other"},
                    {"name": "serde", "req": "^1.0", "features": ["alloc", "derive"],
                     "optional": true, "default_features": false, "target": null,
                     "kind": "normal", "registry": null, "package": null},
                    {"name": "tempfile", "req": "^3", "features": [], "optional": false,
                     "default_features": true, "target": null, "kind": "dev",
                     "registry": null, "package": null},
                ],
            })
        );
        let keys: Vec<&String> = line.as_object().unwrap().keys().collect();
        assert_eq!(
            keys[..4],
            ["name", "vers", "deps", "cksum"],
            "crates.io's order"
        );
    }

    #[test]
    fn without_new_feature_syntax_there_is_no_v2() {
        let plain = MANIFEST.replace("serde = [\"dep:serde\"]", "extra = [\"fast\"]");
        let line = entry(&plain);
        assert!(
            line.get("v").is_none() && line.get("features2").is_none(),
            "{line}"
        );
        assert_eq!(line["features"]["extra"], json!(["fast"]));
    }

    #[test]
    fn unpublishable_dependencies_are_refused() {
        let path_only =
            "[package]\nname = \"a\"\nversion = \"0.1.0\"\n[dependencies.b]\npath = \"../b\"\n";
        assert!(matches!(
            index_entry(path_only, "x"),
            Err(EntryError::Dependency { name, .. }) if name == "b"
        ));
        let bad_req =
            "[package]\nname = \"a\"\nversion = \"0.1.0\"\n[dependencies]\nb = \"not a req\"\n";
        assert!(matches!(
            index_entry(bad_req, "x"),
            Err(EntryError::Dependency { .. })
        ));
        assert!(matches!(
            index_entry("[package", "x"),
            Err(EntryError::Manifest(_))
        ));
    }
}
