//! A module's proxy documents on the core's rendered-documents mechanism,
//! rendered once per package head from the facts the processor stored with
//! each release: the version list, the `@latest` info, and a sorted file
//! table (`<version> <zip sha256> <mod sha256> <time>`) that `.info`,
//! `.mod` and `.zip` requests find their line in by binary search. No
//! manifest or object is read.

use bytes::Bytes;
use regesta_core::documents::sorted_line;
use regesta_core::{CoreError, PackageDocuments, PackageRecord, Registry, RenderFuture};
use regesta_protocol::{Digest, PackageId, Timestamp};
use serde_json::Value;

use crate::paths::ModulePath;
use crate::versions::ModuleVersion;

/// The view-cache kind of `@v/list`.
pub const LIST: &str = "go-list";
/// The view-cache kind of `@latest`.
pub const LATEST: &str = "go-latest";
/// The view-cache kind of the file table.
pub const FILES: &str = "go-files";

/// A version's `.info` document, as the go command reads it.
pub fn info(version: &str, time: &str) -> String {
    serde_json::json!({ "Version": version, "Time": time }).to_string()
}

/// One release's line of the file table, from its facts.
fn file_line(version: &str, facts: &Value, time: Timestamp) -> Option<String> {
    let hex = |key: &str| {
        facts
            .get(key)
            .and_then(Value::as_str)
            .and_then(|d| Digest::parse(d).ok())
            .map(|d| d.hex())
    };
    Some(format!(
        "{version} {} {} {time}\n",
        hex("zip")?,
        hex("mod")?
    ))
}

/// The documents of a module's record: `(list, latest, files)`; `None`
/// when it has no Go release.
pub fn render(id: &PackageId, record: &PackageRecord) -> Option<(String, String, String)> {
    let module = ModulePath::from_id(id).ok()?;
    let mut versions = Vec::new();
    let mut files = Vec::new();
    for release in &record.releases {
        let facts: Option<Value> = release
            .facts
            .as_ref()
            .and_then(|bytes| serde_json::from_slice(bytes).ok());
        let (Some(facts), Ok(version)) = (
            facts,
            ModuleVersion::parse(release.version.as_str(), &module),
        ) else {
            continue;
        };
        let Some(line) = file_line(version.as_str(), &facts, release.created_at) else {
            continue;
        };
        files.push(line);
        versions.push((version, release.created_at));
    }
    if versions.is_empty() {
        return None;
    }
    versions.sort_by(|a, b| a.0.precedence(&b.0));
    let list = versions.iter().fold(String::new(), |mut list, (v, _)| {
        list.push_str(v.as_str());
        list.push('\n');
        list
    });
    let latest = versions
        .iter()
        .rev()
        .find(|(v, _)| !v.is_prerelease())
        .or_else(|| versions.last())
        .map(|(v, time)| info(v.as_str(), &time.to_string()))?;
    files.sort_unstable();
    Some((list, latest, files.concat()))
}

/// A version's line in the file table: zip and mod digests (hex) and time.
pub fn file<'a>(files: &'a [u8], version: &str) -> Option<(&'a str, &'a str, &'a str)> {
    let mut fields = sorted_line(files, &[version])?;
    Some((fields.next()?, fields.next()?, fields.next()?))
}

/// The proxy documents of Go modules.
#[derive(Debug, Default)]
pub struct GoDocuments;

impl PackageDocuments for GoDocuments {
    fn render<'a>(
        &'a self,
        _registry: &'a Registry,
        id: &'a PackageId,
        record: &'a PackageRecord,
    ) -> RenderFuture<'a> {
        Box::pin(async move {
            let Some((list, latest, files)) = render(id, record) else {
                return Err(CoreError::package_not_found());
            };
            Ok(vec![
                (LIST, Bytes::from(list)),
                (LATEST, Bytes::from(latest)),
                (FILES, Bytes::from(files)),
            ])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_lines_are_found_by_version() {
        let files = b"v1.0.0 aa bb 2026-12-06T00:00:00Z\nv1.1.0 cc dd 2026-12-07T00:00:00Z\n";
        assert_eq!(
            file(files, "v1.1.0"),
            Some(("cc", "dd", "2026-12-07T00:00:00Z"))
        );
        assert_eq!(file(files, "v1.2.0"), None);
    }

    #[test]
    fn info_is_the_go_commands_shape() {
        assert_eq!(
            info("v1.0.0", "2026-12-06T00:00:00Z"),
            r#"{"Version":"v1.0.0","Time":"2026-12-06T00:00:00Z"}"#
        );
    }
}
