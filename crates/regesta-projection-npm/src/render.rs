//! Incremental rendering. A release's npm documents never change once
//! published, so each is serialized once into a [`Fragment`]; a package's
//! documents are then assembled by concatenating fragments with the few
//! package-level fields (dist-tags, time). After a new release only the new
//! release is read and serialized — the rest is a byte copy.

use regesta_core::ReleaseView;
use regesta_protocol::{ChannelName, PackageId, Timestamp, Version};
use serde_json::{Map, Value, json};

use crate::{ABBREVIATED_FIELDS, description, npm_name, version_document};

/// One release's npm documents, serialized once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment {
    /// The version.
    pub version: Version,
    /// Its publish time.
    pub created_at: Timestamp,
    /// Its description (the packument shows the newest release's).
    pub description: Option<String>,
    /// The version document, when the release has an install artifact.
    pub full: Option<Vec<u8>>,
    /// The abbreviated packument's entry for it.
    pub short: Option<Vec<u8>>,
    /// Its `time` entry, `"<version>":"<published>"`.
    pub time: Vec<u8>,
}

impl Fragment {
    /// Bytes held, for cache budgets: the buffers and strings, the
    /// fragment itself, its `Arc` and its slot in a map.
    pub fn weight(&self) -> usize {
        self.full.as_ref().map_or(0, Vec::len)
            + self.short.as_ref().map_or(0, Vec::len)
            + self.time.len()
            + self.version.as_str().len()
            + self.description.as_ref().map_or(0, String::len)
            + size_of::<Self>()
            + 64
    }
}

/// The fragment of `release` with tarball URLs under `tarball_base`.
pub fn fragment(id: &PackageId, release: &ReleaseView, tarball_base: &str) -> Fragment {
    let full = version_document(id, release, tarball_base);
    let short = full.as_ref().map(|full| {
        let mut short = Map::new();
        short.insert("name".into(), full["name"].clone());
        short.insert("version".into(), full["version"].clone());
        for field in ABBREVIATED_FIELDS {
            if let Some(value) = full.get(*field) {
                short.insert((*field).into(), value.clone());
            }
        }
        short.insert("dist".into(), full["dist"].clone());
        Value::Object(short)
    });
    // Kept for as long as the release is served: no spare capacity, which
    // the cache's weight would not count.
    let bytes = |v: Option<Value>| {
        v.and_then(|v| serde_json::to_vec(&v).ok()).map(|mut b| {
            b.shrink_to_fit();
            b
        })
    };
    let mut time = Vec::new();
    key(&mut time, release.manifest.version.as_str());
    time.extend_from_slice(
        &serde_json::to_vec(&release.created_at.to_string()).unwrap_or_default(),
    );
    time.shrink_to_fit();
    Fragment {
        time,
        version: release.manifest.version.clone(),
        created_at: release.created_at,
        description: description(release).map(str::to_owned),
        full: bytes(full),
        short: bytes(short),
    }
}

/// The dist-tags: the package's channels that point at known versions, or
/// `latest` → the newest release when there are none.
pub fn dist_tags_of(versions: &[&Version], channels: &[(ChannelName, Version)]) -> Value {
    let known = |v: &Version| versions.contains(&v);
    let mut tags = Map::new();
    for (channel, version) in channels {
        if known(version) {
            tags.insert(channel.as_str().into(), json!(version.as_str()));
        }
    }
    if tags.is_empty()
        && let Some(last) = versions.last()
    {
        tags.insert("latest".into(), json!(last.as_str()));
    }
    Value::Object(tags)
}

fn tags(fragments: &[&Fragment], channels: &[(ChannelName, Version)]) -> Value {
    let versions: Vec<&Version> = fragments.iter().map(|f| &f.version).collect();
    dist_tags_of(&versions, channels)
}

/// `time` as bytes: `created` (first release), `modified` (newest release
/// or event), then each version's stored entry. Returns `modified` too.
fn times(fragments: &[&Fragment], head_time: Timestamp) -> (Vec<u8>, String) {
    let modified = fragments
        .iter()
        .map(|f| f.created_at)
        .chain(std::iter::once(head_time))
        .max()
        .unwrap_or(head_time)
        .to_string();
    let created = fragments
        .first()
        .map_or_else(|| modified.clone(), |f| f.created_at.to_string());
    let weight: usize = fragments.iter().map(|f| f.time.len() + 1).sum();
    let mut out = Vec::with_capacity(weight + 96);
    out.push(b'{');
    field(&mut out, "created", &json!(created));
    key(&mut out, "modified");
    out.extend_from_slice(&serde_json::to_vec(&modified).unwrap_or_default());
    for fragment in fragments {
        out.push(b',');
        out.extend_from_slice(&fragment.time);
    }
    out.push(b'}');
    (out, modified)
}

/// Appends `"key":` to `out`.
fn key(out: &mut Vec<u8>, key: &str) {
    out.extend_from_slice(&serde_json::to_vec(key).unwrap_or_default());
    out.push(b':');
}

/// Appends `"key":value,` to `out`.
fn field(out: &mut Vec<u8>, name: &str, value: &Value) {
    key(out, name);
    out.extend_from_slice(&serde_json::to_vec(value).unwrap_or_default());
    out.push(b',');
}

/// Appends `"versions":{"<v>":<bytes>,…}}` (closing the document).
fn versions<'a>(out: &mut Vec<u8>, entries: impl Iterator<Item = (&'a Version, &'a [u8])>) {
    key(out, "versions");
    out.push(b'{');
    let mut first = true;
    for (version, bytes) in entries {
        if !first {
            out.push(b',');
        }
        first = false;
        key(out, version.as_str());
        out.extend_from_slice(bytes);
    }
    out.extend_from_slice(b"}}");
}

/// The bytes of the `time` entries and of the `versions` entries `part`
/// picks, so a document is written into one allocation close to its size:
/// a kept document keeps its whole allocation.
fn entries_len(fragments: &[&Fragment], part: impl Fn(&Fragment) -> Option<&[u8]>) -> usize {
    fragments
        .iter()
        .map(|f| f.time.len() + 1 + part(f).map_or(0, |p| f.version.as_str().len() + 4 + p.len()))
        .sum()
}

/// The full packument's bytes: `dist-tags`, `description` (the newest
/// release's), `name`, `time`, `versions`, in the reference's key order.
pub fn packument_bytes(
    id: &PackageId,
    fragments: &[&Fragment],
    channels: &[(ChannelName, Version)],
    head_time: Timestamp,
) -> Option<Vec<u8>> {
    let name = npm_name(id)?;
    let description = fragments.last().and_then(|f| f.description.as_deref());
    let entries = entries_len(fragments, |f| f.full.as_deref());
    let mut out = Vec::with_capacity(entries + description.map_or(0, str::len) + 512);
    out.push(b'{');
    field(&mut out, "dist-tags", &tags(fragments, channels));
    if let Some(d) = description {
        field(&mut out, "description", &json!(d));
    }
    field(&mut out, "name", &json!(name));
    key(&mut out, "time");
    out.extend_from_slice(&times(fragments, head_time).0);
    out.push(b',');
    let entries = fragments
        .iter()
        .filter_map(|f| Some((&f.version, f.full.as_deref()?)));
    versions(&mut out, entries);
    Some(out)
}

/// The abbreviated packument's bytes: `dist-tags`, `modified`, `name`,
/// `time`, `versions`.
pub fn abbreviated_bytes(
    id: &PackageId,
    fragments: &[&Fragment],
    channels: &[(ChannelName, Version)],
    head_time: Timestamp,
) -> Option<Vec<u8>> {
    let name = npm_name(id)?;
    let (time, modified) = times(fragments, head_time);
    let mut out = Vec::with_capacity(entries_len(fragments, |f| f.short.as_deref()) + 512);
    out.push(b'{');
    field(&mut out, "dist-tags", &tags(fragments, channels));
    field(&mut out, "modified", &json!(modified));
    field(&mut out, "name", &json!(name));
    key(&mut out, "time");
    out.extend_from_slice(&time);
    out.push(b',');
    let entries = fragments
        .iter()
        .filter_map(|f| Some((&f.version, f.short.as_deref()?)));
    versions(&mut out, entries);
    Some(out)
}
