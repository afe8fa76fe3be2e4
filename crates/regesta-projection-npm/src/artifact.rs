//! The npm artifact processor: reads `package/package.json` from the
//! install tarball (streaming, bounded) and extracts the resolver fields the
//! reference keeps in `ecosystemMetadata.npm`. It also derives what npm
//! clients expect in `dist` — sha512 integrity, sha1 shasum, file count and
//! unpacked size — as [`NpmFacts`]: pure functions of the tarball bytes,
//! stored beside the release (not in the signed manifest, whose bytes stay
//! the reference's) and reproducible by any verifier.

use std::io::Read;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use flate2::read::GzDecoder;
use regesta_core::{ArtifactBytes, ArtifactProcessor, ArtifactRefusal, Processed};
use regesta_protocol::{PackageId, ReleaseConfig, Version};
use serde_json::{Map, Value, json};
use sha1::Sha1;
use sha2::{Digest as _, Sha512};

/// Most tar entries read before giving up (tar bombs).
pub const MAX_ENTRIES: usize = 20_000;
/// Most decompressed bytes read from one tarball (gzip bombs).
pub const MAX_UNPACKED_BYTES: u64 = 512 * 1024 * 1024;
/// Largest `package.json` accepted.
pub const MAX_PACKAGE_JSON_BYTES: u64 = 1024 * 1024;

/// What the processor learned from the tarball.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NpmMetadata {
    /// `description` from package.json.
    pub description: Option<String>,
    /// The allowlisted resolver fields, if any.
    pub fields: Option<Map<String, Value>>,
    /// What npm's `dist` carries, derived from the bytes.
    pub facts: Option<NpmFacts>,
}

impl NpmMetadata {
    /// Reconciles the release config with the tarball's `package.json`, as
    /// the reference's npm processor does when it learned anything (a
    /// description or resolver fields): a config description must equal
    /// the package.json one, and a config without one takes it, so the
    /// signed `configDigest` covers the description clients will show.
    ///
    /// # Errors
    /// The config's description differs from package.json's.
    pub fn reconcile(&self, config: ReleaseConfig) -> Result<ReleaseConfig, ArtifactRefusal> {
        if self.description.is_none() && self.fields.is_none() {
            return Ok(config);
        }
        match (&config.description, &self.description) {
            (Some(ours), theirs) if Some(ours) != theirs.as_ref() => Err(invalid(
                "regesta.json description must match npm package.json description",
            )),
            (None, Some(theirs)) => Ok(config.with_description(theirs.clone())),
            _ => Ok(config),
        }
    }
}

/// npm's `dist` facts of one tarball.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpmFacts {
    /// `sha512-<base64>` Subresource Integrity of the tarball.
    pub integrity: String,
    /// Lower-case hex sha1 of the tarball (npm's legacy `shasum`).
    pub shasum: String,
    /// Regular files in the tarball.
    pub file_count: u64,
    /// Sum of the regular files' sizes.
    pub unpacked_size: u64,
}

impl NpmFacts {
    /// The stored form: canonical JSON `{fileCount, integrity, shasum,
    /// unpackedSize}`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let value = json!({
            "fileCount": self.file_count,
            "integrity": self.integrity,
            "shasum": self.shasum,
            "unpackedSize": self.unpacked_size,
        });
        regesta_protocol::json::to_canonical_vec(&value).unwrap_or_default()
    }
}

/// The facts of `tarball` given its walk's counts.
fn facts(tarball: &[u8], walk: &Walk) -> NpmFacts {
    NpmFacts {
        integrity: format!("sha512-{}", STANDARD.encode(Sha512::digest(tarball))),
        shasum: hex::encode(Sha1::digest(tarball)),
        file_count: walk.files,
        unpacked_size: walk.unpacked,
    }
}

/// What one pass over the tarball found.
struct Walk {
    package_json: Vec<u8>,
    files: u64,
    unpacked: u64,
}

fn invalid(message: impl Into<String>) -> ArtifactRefusal {
    ArtifactRefusal::new(message)
}

/// Reads the tarball's `package.json` and checks its name and version
/// against the release.
///
/// # Errors
/// Unreadable or hostile tarball, missing or invalid package.json, name or
/// version mismatch.
pub fn process(
    id: &PackageId,
    version: &Version,
    tarball: &[u8],
) -> Result<NpmMetadata, ArtifactRefusal> {
    let walk = walk(tarball, MAX_ENTRIES, MAX_UNPACKED_BYTES)?;
    let value: Value = serde_json::from_slice(&walk.package_json)
        .map_err(|e| ArtifactRefusal::caused_by("npm package.json must be valid JSON", e))?;
    let Value::Object(pkg) = value else {
        return Err(invalid("npm package.json must be an object"));
    };
    let expected_name = format!("@{}", id.name());
    match pkg.get("name").and_then(Value::as_str) {
        None => return Err(invalid("npm package.json name is required")),
        Some(name) if name != expected_name => {
            return Err(invalid(format!(
                "npm package.json name must match package id projection: {expected_name}"
            )));
        }
        Some(_) => {}
    }
    match pkg.get("version").and_then(Value::as_str) {
        None => return Err(invalid("npm package.json version is required")),
        Some(v) if v != version.as_str() => {
            return Err(invalid(format!(
                "npm package.json version must match release version: {version}"
            )));
        }
        Some(_) => {}
    }
    let mut fields = Map::new();
    for name in [
        "dependencies",
        "optionalDependencies",
        "devDependencies",
        "peerDependencies",
        "engines",
    ] {
        if let Some(map) = string_map(&pkg, name)? {
            fields.insert(name.into(), Value::Object(map));
        }
    }
    if let Some(meta) = peer_meta(&pkg)? {
        fields.insert("peerDependenciesMeta".into(), Value::Object(meta));
    }
    for name in ["os", "cpu", "libc", "bundledDependencies"] {
        if let Some(list) = string_list(&pkg, name)? {
            fields.insert(name.into(), Value::Array(list));
        }
    }
    match pkg.get("bundleDependencies") {
        None => {}
        Some(Value::Bool(b)) => {
            fields.insert("bundleDependencies".into(), Value::Bool(*b));
        }
        Some(_) => {
            if let Some(list) = string_list(&pkg, "bundleDependencies")? {
                fields.insert("bundleDependencies".into(), Value::Array(list));
            }
        }
    }
    match pkg.get("bin") {
        None => {}
        Some(Value::String(s)) => {
            fields.insert("bin".into(), Value::String(s.clone()));
        }
        Some(_) => {
            if let Some(map) = string_map(&pkg, "bin")? {
                fields.insert("bin".into(), Value::Object(map));
            }
        }
    }
    Ok(NpmMetadata {
        description: pkg
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_owned),
        fields: (!fields.is_empty()).then_some(fields),
        facts: Some(facts(tarball, &walk)),
    })
}

fn string_map(
    pkg: &Map<String, Value>,
    field: &str,
) -> Result<Option<Map<String, Value>>, ArtifactRefusal> {
    match pkg.get(field) {
        None => Ok(None),
        Some(Value::Object(map)) => {
            if let Some((key, _)) = map.iter().find(|(_, v)| !v.is_string()) {
                return Err(invalid(format!(
                    "npm package.json {field}.{key} must be a string"
                )));
            }
            Ok((!map.is_empty()).then(|| map.clone()))
        }
        Some(_) => Err(invalid(format!(
            "npm package.json {field} must be an object"
        ))),
    }
}

fn string_list(
    pkg: &Map<String, Value>,
    field: &str,
) -> Result<Option<Vec<Value>>, ArtifactRefusal> {
    match pkg.get(field) {
        None => Ok(None),
        Some(Value::Array(items)) => {
            if items.iter().any(|v| !v.is_string()) {
                return Err(invalid(format!(
                    "npm package.json {field} must contain only strings"
                )));
            }
            Ok((!items.is_empty()).then(|| items.clone()))
        }
        Some(_) => Err(invalid(format!(
            "npm package.json {field} must be an array"
        ))),
    }
}

fn peer_meta(pkg: &Map<String, Value>) -> Result<Option<Map<String, Value>>, ArtifactRefusal> {
    match pkg.get("peerDependenciesMeta") {
        None => Ok(None),
        Some(Value::Object(map)) => {
            let mut out = Map::new();
            for (name, meta) in map {
                let Value::Object(meta) = meta else {
                    return Err(invalid(
                        "npm package.json peerDependenciesMeta entries must be objects",
                    ));
                };
                let mut entry = Map::new();
                match meta.get("optional") {
                    None => {}
                    Some(Value::Bool(b)) => {
                        entry.insert("optional".into(), Value::Bool(*b));
                    }
                    Some(_) => {
                        return Err(invalid(
                            "npm package.json peerDependenciesMeta optional must be a boolean",
                        ));
                    }
                }
                out.insert(name.clone(), Value::Object(entry));
            }
            Ok((!out.is_empty()).then_some(out))
        }
        Some(_) => Err(invalid(
            "npm package.json peerDependenciesMeta must be an object",
        )),
    }
}

/// Whether a link at `path` to `target` points outside the archive root:
/// absolute, or climbing above the root once resolved (relative to the
/// link's directory for symlinks, to the root for hard links).
fn escapes(path: &str, target: &str, symlink: bool) -> bool {
    if target.is_empty() || target.starts_with('/') {
        return true;
    }
    let mut depth: Vec<&str> = if symlink {
        let mut parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        parts.pop();
        parts
    } else {
        Vec::new()
    };
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if depth.pop().is_none() {
                    return true;
                }
            }
            name => depth.push(name),
        }
    }
    false
}

/// Streams the tarball once, walking entries ourselves (never `unpack`) with
/// caps on entries, sizes and decompressed bytes: the root `package.json`,
/// and the regular files' count and total size.
fn walk(tarball: &[u8], max_entries: usize, max_unpacked: u64) -> Result<Walk, ArtifactRefusal> {
    let unreadable = |e: std::io::Error| {
        ArtifactRefusal::caused_by("npm install artifact must be a readable tarball", e)
    };
    let gz = GzDecoder::new(tarball).take(max_unpacked);
    let mut archive = tar::Archive::new(gz);
    let entries = archive.entries().map_err(unreadable)?;
    let mut found = None;
    let (mut files, mut unpacked) = (0_u64, 0_u64);
    for (count, entry) in entries.enumerate() {
        if count >= max_entries {
            return Err(invalid("npm install artifact has too many entries"));
        }
        let mut entry = entry.map_err(unreadable)?;
        let path = entry.path_bytes().into_owned();
        let path = String::from_utf8_lossy(&path).into_owned();
        if path.starts_with('/') || path.split('/').any(|s| s == "..") {
            return Err(invalid(format!(
                "npm install artifact has an unsafe path: {path}"
            )));
        }
        let kind = entry.header().entry_type();
        if kind.is_symlink() || kind.is_hard_link() {
            let target = entry
                .link_name_bytes()
                .map(|t| String::from_utf8_lossy(&t).into_owned())
                .unwrap_or_default();
            if escapes(&path, &target, kind.is_symlink()) {
                return Err(invalid(format!(
                    "npm install artifact has a link out of the package: {path} -> {target}"
                )));
            }
        }
        if kind.is_file() {
            files += 1;
            unpacked = unpacked.saturating_add(entry.size());
        }
        if path == "package/package.json" || path == "package.json" {
            if entry.header().entry_type().is_symlink() || entry.size() > MAX_PACKAGE_JSON_BYTES {
                return Err(invalid(
                    "npm package.json must be a regular file under 1 MiB",
                ));
            }
            let mut raw = Vec::new();
            entry
                .by_ref()
                .take(MAX_PACKAGE_JSON_BYTES)
                .read_to_end(&mut raw)
                .map_err(unreadable)?;
            found = Some(raw);
        }
    }
    let package_json =
        found.ok_or_else(|| invalid("npm install artifact must include package/package.json"))?;
    Ok(Walk {
        package_json,
        files,
        unpacked,
    })
}

/// npm on the ecosystem seam: the processor core runs when an `npm:`
/// release is published.
#[derive(Debug, Clone, Copy, Default)]
pub struct NpmProcessor;

impl ArtifactProcessor for NpmProcessor {
    fn ecosystem(&self) -> &'static str {
        crate::ECOSYSTEM
    }

    /// npm installs one tarball: the `install` artifact. A release without
    /// one is published as it is.
    fn process(
        &self,
        config: &ReleaseConfig,
        version: &Version,
        artifacts: &[ArtifactBytes<'_>],
    ) -> Result<Processed, ArtifactRefusal> {
        let Some(install) = ArtifactBytes::install(artifacts) else {
            return Ok(Processed::default());
        };
        let derived = process(&config.id, version, install.bytes)?;
        let config = derived.reconcile(config.clone())?;
        Ok(Processed {
            config: Some(config),
            metadata: derived.fields,
            facts: derived.facts.map(|f| Bytes::from(f.to_bytes())),
            derived: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;

    fn tarball(entries: &[(&str, &[u8])]) -> Vec<u8> {
        regesta_testkit::npm_tarball(entries)
    }

    fn id() -> (PackageId, Version) {
        (
            PackageId::parse("npm:a.localhost/pkg").unwrap(),
            Version::parse("1.0.0").unwrap(),
        )
    }

    #[test]
    fn extracts_the_allowlisted_fields_only() {
        let (id, version) = id();
        let pkg = br#"{"name":"@a.localhost/pkg","version":"1.0.0","description":"d",
            "dependencies":{"x":"^1"},"scripts":{"postinstall":"evil"},"bin":"cli.js","os":[]}"#;
        let meta = process(&id, &version, &tarball(&[("package/package.json", pkg)])).unwrap();
        assert_eq!(meta.description.as_deref(), Some("d"));
        let fields = meta.fields.unwrap();
        assert_eq!(
            fields.keys().collect::<Vec<_>>(),
            vec!["dependencies", "bin"],
            "scripts and empty lists are dropped"
        );
    }

    #[test]
    fn rejects_hostile_or_mismatched_tarballs() {
        let (id, version) = id();
        let good = br#"{"name":"@a.localhost/pkg","version":"1.0.0"}"#;
        for (entries, why) in [
            (
                vec![("../evil", &b"x"[..]), ("package/package.json", good)],
                "traversal",
            ),
            (vec![("/etc/passwd", &b"x"[..])], "absolute path"),
            (vec![("package/index.js", &b"x"[..])], "no package.json"),
            (
                vec![(
                    "package/package.json",
                    &br#"{"name":"@b.localhost/pkg","version":"1.0.0"}"#[..],
                )],
                "name mismatch",
            ),
            (
                vec![(
                    "package/package.json",
                    &br#"{"name":"@a.localhost/pkg","version":"2.0.0"}"#[..],
                )],
                "version mismatch",
            ),
            (
                vec![("package/package.json", &b"not json"[..])],
                "invalid json",
            ),
            (
                vec![(
                    "package/package.json",
                    &br#"{"name":"@a.localhost/pkg","version":"1.0.0","dependencies":{"x":1}}"#[..],
                )],
                "non-string dependency",
            ),
        ] {
            assert!(process(&id, &version, &tarball(&entries)).is_err(), "{why}");
        }
        assert!(process(&id, &version, b"not a tarball").is_err());
        assert!(process(&id, &version, &tarball(&[("package/package.json", good)])).is_ok());
    }

    #[test]
    fn facts_are_deterministic_functions_of_the_bytes() {
        let (id, version) = id();
        let pkg = br#"{"name":"@a.localhost/pkg","version":"1.0.0"}"#;
        let bytes = tarball(&[("package/package.json", pkg), ("package/a.js", b"12345")]);
        let facts = process(&id, &version, &bytes).unwrap().facts.unwrap();
        assert_eq!(facts.file_count, 2);
        assert_eq!(facts.unpacked_size, pkg.len() as u64 + 5);
        assert!(facts.integrity.starts_with("sha512-"));
        assert_eq!(facts.integrity.len(), "sha512-".len() + 88);
        assert_eq!(facts.shasum.len(), 40);
        assert!(
            facts
                .shasum
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        let again = process(&id, &version, &bytes).unwrap().facts.unwrap();
        assert_eq!(again, facts);
        assert_eq!(
            String::from_utf8(facts.to_bytes()).unwrap(),
            format!(
                r#"{{"fileCount":2,"integrity":"{}","shasum":"{}","unpackedSize":{}}}"#,
                facts.integrity, facts.shasum, facts.unpacked_size
            )
        );
        let other = tarball(&[("package/package.json", pkg), ("package/a.js", b"12346")]);
        let changed = process(&id, &version, &other).unwrap().facts.unwrap();
        assert_ne!(changed.integrity, facts.integrity);
        assert_ne!(changed.shasum, facts.shasum);
    }

    fn with_link(link: &str, target: &str, hard: bool) -> Vec<u8> {
        let good = br#"{"name":"@a.localhost/pkg","version":"1.0.0"}"#;
        let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
        let mut header = tar::Header::new_gnu();
        header.set_size(good.len() as u64);
        header.set_mode(0o644);
        builder
            .append_data(&mut header, "package/package.json", &good[..])
            .unwrap();
        let mut link_header = tar::Header::new_gnu();
        link_header.set_entry_type(if hard {
            tar::EntryType::Link
        } else {
            tar::EntryType::Symlink
        });
        link_header.set_size(0);
        // Raw names, so hostile targets reach the reader unchanged.
        let raw = link_header.as_old_mut();
        raw.name[..link.len()].copy_from_slice(link.as_bytes());
        raw.linkname[..target.len()].copy_from_slice(target.as_bytes());
        link_header.set_cksum();
        builder.append(&link_header, &[][..]).unwrap();
        builder.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn links_out_of_the_package_are_refused() {
        let (id, version) = id();
        for (link, target, hard) in [
            ("package/evil", "/etc/passwd", false),
            ("package/evil", "../../etc/passwd", false),
            ("package/a/evil", "../../../x", false),
            ("package/evil", "../outside", true),
            ("package/evil", "/etc/shadow", true),
        ] {
            let refused = process(&id, &version, &with_link(link, target, hard));
            assert!(refused.is_err(), "{link} -> {target}");
        }
        for (link, target, hard) in [
            ("package/bin/cli", "../index.js", false),
            ("package/alias", "package/package.json", true),
        ] {
            let accepted = process(&id, &version, &with_link(link, target, hard)).unwrap();
            assert_eq!(accepted.facts.unwrap().file_count, 1, "links are not files");
        }
    }

    #[test]
    fn tar_and_gzip_bombs_hit_the_caps() {
        let good = br#"{"name":"@a.localhost/pkg","version":"1.0.0"}"#;
        let zeros = vec![0_u8; 1024 * 1024];
        let bomb = tarball(&[("package/package.json", good), ("package/zeros", &zeros)]);
        assert!(bomb.len() < 16 * 1024, "compresses well");
        assert!(walk(&bomb, MAX_ENTRIES, 64 * 1024).is_err(), "gzip bomb");
        assert!(walk(&bomb, MAX_ENTRIES, 4 * 1024 * 1024).is_ok());
        let many: Vec<(String, &[u8])> = (0..50)
            .map(|i| (format!("package/f{i}"), &b""[..]))
            .collect();
        let mut entries: Vec<(&str, &[u8])> = vec![("package/package.json", good)];
        entries.extend(many.iter().map(|(p, b)| (p.as_str(), *b)));
        let wide = tarball(&entries);
        assert!(walk(&wide, 20, MAX_UNPACKED_BYTES).is_err(), "tar bomb");
        assert_eq!(walk(&wide, 100, MAX_UNPACKED_BYTES).unwrap().files, 51);
    }
}
