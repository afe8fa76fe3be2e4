//! The npm ecosystem on Regesta's seam, in one crate: the tarball processor
//! ([`artifact`]), the registry documents rendered from the core model as
//! pure functions of a [`PackageView`] ([`documents`], rendered once per
//! package head), and the registry API the server mounts ([`http`]).
//!
//! Names map both ways: `npm:some.dev/sdk` ⇄ `@some.dev/sdk`.

pub mod artifact;
pub mod documents;
pub mod http;
pub mod project;
mod render;
pub mod upstream;

pub use artifact::NpmProcessor;
pub use documents::NpmDocuments;
pub use http::{NpmProjection, NpmSettings};
pub use project::NpmProject;

/// The ecosystem this crate projects: the first part of its package ids.
pub const ECOSYSTEM: &str = "npm";

pub use render::{Fragment, abbreviated_bytes, dist_tags_of, fragment, packument_bytes};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use regesta_core::{PackageView, ReleaseView};
use regesta_protocol::{ArtifactDescriptor, Digest, PackageId, Version};
use serde_json::{Map, Value, json};

/// The `Accept` media type of abbreviated packuments (npm install-v1).
pub const ABBREVIATED_MEDIA_TYPE: &str = "application/vnd.npm.install-v1+json";

/// Resolver fields copied from `ecosystemMetadata.npm` into documents.
const METADATA_FIELDS: &[&str] = &[
    "bin",
    "bundleDependencies",
    "bundledDependencies",
    "cpu",
    "dependencies",
    "devDependencies",
    "engines",
    "libc",
    "optionalDependencies",
    "os",
    "peerDependencies",
    "peerDependenciesMeta",
];

/// Fields the abbreviated form keeps (npm's install-v1 subset).
const ABBREVIATED_FIELDS: &[&str] = &[
    "bin",
    "bundleDependencies",
    "cpu",
    "dependencies",
    "engines",
    "libc",
    "optionalDependencies",
    "os",
    "peerDependencies",
    "peerDependenciesMeta",
];

/// `@domain/name` for an npm package id whose name has one segment.
pub fn npm_name(id: &PackageId) -> Option<String> {
    (id.ecosystem() == ECOSYSTEM && !id.local_name().contains('/'))
        .then(|| format!("@{}", id.name()))
}

/// The package id of an npm name `@domain/name`.
pub fn package_id(npm_name: &str) -> Option<PackageId> {
    let rest = npm_name.strip_prefix('@')?;
    let (scope, name) = rest.split_once('/')?;
    if name.contains('/') {
        return None;
    }
    PackageId::parse(&format!("npm:{scope}/{name}")).ok()
}

/// The tarball file name npm expects: `<name>-<version>.tgz`.
pub fn tarball_file(id: &PackageId, version: &str) -> String {
    format!("{}-{version}.tgz", id.local_name())
}

fn install_artifact(release: &ReleaseView) -> Option<&ArtifactDescriptor> {
    release
        .manifest
        .artifacts
        .iter()
        .find(|a| a.role.as_str() == "install")
}

/// `sha256-<base64>` Subresource Integrity of a digest (what the reference
/// serves; npm verifies it).
fn integrity(digest: &Digest) -> String {
    format!("sha256-{}", STANDARD.encode(digest.as_bytes()))
}

/// npm's `dist`: the tarball URL and the install facts recorded at publish
/// (sha512 `integrity`, `shasum`, `fileCount`, `unpackedSize`, as
/// registry.npmjs.org serves them), or — for releases stored before facts
/// were recorded — the artifact digest as `sha256` integrity, as the
/// reference serves. Keys sorted, as the reference's `dist`.
fn dist(release: &ReleaseView, artifact: &ArtifactDescriptor, tarball: &str) -> Value {
    let mut dist = Map::new();
    let facts = release.facts.as_ref();
    let fact = |key: &str| facts.and_then(|f| f.get(key)).cloned();
    if let Some(count) = fact("fileCount").filter(Value::is_u64) {
        dist.insert("fileCount".into(), count);
    }
    let sri = fact("integrity").filter(|v| v.as_str().is_some_and(|s| s.starts_with("sha512-")));
    dist.insert(
        "integrity".into(),
        sri.unwrap_or_else(|| json!(integrity(&artifact.digest))),
    );
    if let Some(shasum) = fact("shasum").filter(Value::is_string) {
        dist.insert("shasum".into(), shasum);
    }
    dist.insert("tarball".into(), json!(tarball));
    if let Some(size) = fact("unpackedSize").filter(Value::is_u64) {
        dist.insert("unpackedSize".into(), size);
    }
    Value::Object(dist)
}

fn description(release: &ReleaseView) -> Option<&str> {
    release
        .manifest
        .metadata
        .as_ref()
        .and_then(|m| m.description.as_deref())
}

fn npm_metadata(artifact: &ArtifactDescriptor) -> Option<&Map<String, Value>> {
    artifact
        .ecosystem_metadata
        .as_ref()?
        .get("npm")?
        .as_object()
}

/// One version document (`GET /@scope/name/<version>`), key order as the
/// reference: description, dist, resolver fields, name, version.
pub fn version_document(
    id: &PackageId,
    release: &ReleaseView,
    tarball_base: &str,
) -> Option<Value> {
    let name = npm_name(id)?;
    let artifact = install_artifact(release)?;
    let version = release.manifest.version.as_str();
    let mut doc = Map::new();
    if let Some(d) = description(release) {
        doc.insert("description".into(), json!(d));
    }
    let tarball = format!(
        "{}/{name}/-/{}",
        tarball_base.trim_end_matches('/'),
        tarball_file(id, version)
    );
    doc.insert("dist".into(), dist(release, artifact, &tarball));
    if let Some(meta) = npm_metadata(artifact) {
        for field in METADATA_FIELDS {
            if let Some(value) = meta.get(*field) {
                doc.insert((*field).into(), value.clone());
            }
        }
    }
    doc.insert("name".into(), json!(name));
    doc.insert("version".into(), json!(version));
    Some(Value::Object(doc))
}

/// The dist-tags: the package's channels that point at known versions, or
/// `latest` → the newest release when there are none.
pub fn dist_tags(view: &PackageView) -> Value {
    let versions: Vec<&Version> = view.releases.iter().map(|r| &r.manifest.version).collect();
    render::dist_tags_of(&versions, &view.channels)
}

fn fragments(id: &PackageId, view: &PackageView, tarball_base: &str) -> Vec<Fragment> {
    view.releases
        .iter()
        .map(|r| render::fragment(id, r, tarball_base))
        .collect()
}

fn parsed(bytes: Option<Vec<u8>>) -> Option<Value> {
    serde_json::from_slice(&bytes?).ok()
}

/// The full packument (`GET /@scope/name`), from a loaded view (the
/// transport assembles cached [`Fragment`]s with [`packument_bytes`]).
pub fn packument(id: &PackageId, view: &PackageView, tarball_base: &str) -> Option<Value> {
    let all = fragments(id, view, tarball_base);
    let refs: Vec<&Fragment> = all.iter().collect();
    parsed(packument_bytes(id, &refs, &view.channels, view.head_time))
}

/// The abbreviated packument for `Accept: application/vnd.npm.install-v1+json`:
/// only what installers need, plus `time` (pnpm's `minimumReleaseAge` reads
/// it) and `modified`.
pub fn abbreviated(id: &PackageId, view: &PackageView, tarball_base: &str) -> Option<Value> {
    let all = fragments(id, view, tarball_base);
    let refs: Vec<&Fragment> = all.iter().collect();
    parsed(abbreviated_bytes(id, &refs, &view.channels, view.head_time))
}

/// The version a tarball file name (`<name>-<version>.tgz`) names, for a
/// point lookup without loading the whole package.
pub fn tarball_version(id: &PackageId, file: &str) -> Option<Version> {
    let version = file
        .strip_prefix(id.local_name())?
        .strip_prefix('-')?
        .strip_suffix(".tgz")?;
    Version::parse(version).ok()
}

/// The digest of a release's install artifact (what its tarball serves).
pub fn install_digest(release: &ReleaseView) -> Option<Digest> {
    install_artifact(release).map(|a| a.digest)
}

/// The install artifact a tarball file name refers to, within a loaded view.
pub fn tarball_digest(id: &PackageId, view: &PackageView, file: &str) -> Option<Digest> {
    let version = tarball_version(id, file)?;
    view.releases
        .iter()
        .find(|r| r.manifest.version == version)
        .and_then(install_digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_both_ways() {
        let id = PackageId::parse("npm:some.dev/sdk").unwrap();
        assert_eq!(npm_name(&id).as_deref(), Some("@some.dev/sdk"));
        assert_eq!(package_id("@some.dev/sdk"), Some(id));
        assert!(package_id("left-pad").is_none());
        assert!(package_id("@scope/pkg").is_none());
        assert!(npm_name(&PackageId::parse("npm:a.b/c/d").unwrap()).is_none());
        assert!(npm_name(&PackageId::parse("pypi:a.b/c").unwrap()).is_none());
    }

    #[test]
    fn tarball_file_names_round_trip_to_versions() {
        let id = PackageId::parse("npm:some.dev/sdk").unwrap();
        let file = tarball_file(&id, "1.2.3-rc.1");
        assert_eq!(file, "sdk-1.2.3-rc.1.tgz");
        assert_eq!(tarball_version(&id, &file).unwrap().as_str(), "1.2.3-rc.1");
        for bad in [
            "sdk-.tgz",
            "sdk-1.0.0.tar",
            "other-1.0.0.tgz",
            "sdk1.0.0.tgz",
        ] {
            assert!(tarball_version(&id, bad).is_none(), "{bad}");
        }
    }
}
