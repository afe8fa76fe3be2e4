//! A crate's sparse index file on the core's rendered-documents mechanism:
//! one line per release in publish order, rendered once per package head
//! from the index entry the processor stored with each release and the
//! release's time (`pubtime`). No manifest or object is read.

use bytes::Bytes;
use regesta_core::documents::sorted_line;
use regesta_core::{CoreError, PackageDocuments, PackageRecord, Registry, RenderFuture};
use regesta_protocol::{PackageId, Timestamp};
use serde_json::Value;

use crate::entry::index_line;

/// The view-cache kind of a crate's index file.
pub const INDEX: &str = "cargo-index";
/// The view-cache kind of the download table: `<version> <cksum>` lines,
/// sorted.
pub const FILES: &str = "cargo-files";

/// `pubtime` as crates.io writes it: RFC 3339 to the second, UTC.
pub fn pubtime(at: Timestamp) -> String {
    let text = at.to_string();
    match text.split_once('.') {
        Some((seconds, _)) => format!("{seconds}Z"),
        None => text,
    }
}

/// The index file and download table of a crate's record.
pub fn render(record: &PackageRecord) -> (String, String) {
    let mut index = String::new();
    let mut files = Vec::new();
    for release in &record.releases {
        let facts: Option<Value> = release
            .facts
            .as_ref()
            .and_then(|bytes| serde_json::from_slice(bytes).ok());
        let Some(entry) = facts
            .as_ref()
            .and_then(|f| f.get("entry"))
            .and_then(Value::as_object)
        else {
            continue;
        };
        let line = index_line(entry, &pubtime(release.created_at));
        index.push_str(&String::from_utf8_lossy(&line));
        index.push('\n');
        let cksum = entry.get("cksum").and_then(Value::as_str).unwrap_or("");
        files.push(format!("{} {cksum}\n", release.version));
    }
    files.sort_unstable();
    (index, files.concat())
}

/// The download table's checksum of `version` (a binary search).
pub fn cksum<'a>(files: &'a [u8], version: &str) -> Option<&'a str> {
    sorted_line(files, &[version])?.next()
}

/// The sparse index documents of Cargo crates.
#[derive(Debug, Default)]
pub struct CargoDocuments;

impl PackageDocuments for CargoDocuments {
    fn render<'a>(
        &'a self,
        _registry: &'a Registry,
        _id: &'a PackageId,
        record: &'a PackageRecord,
    ) -> RenderFuture<'a> {
        Box::pin(async move {
            let (index, files) = render(record);
            if index.is_empty() {
                return Err(CoreError::package_not_found());
            }
            Ok(vec![
                (INDEX, Bytes::from(index)),
                (FILES, Bytes::from(files)),
            ])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pubtime_is_to_the_second() {
        let at = Timestamp::parse("2026-12-05T10:11:12.345Z").unwrap();
        assert_eq!(pubtime(at), "2026-12-05T10:11:12Z");
    }

    #[test]
    fn checksums_are_found_by_version() {
        let files = b"0.1.0 aa\n0.2.0 bb\n";
        assert_eq!(cksum(files, "0.2.0"), Some("bb"));
        assert_eq!(cksum(files, "0.3.0"), None);
        assert_eq!(cksum(&[0xff], "0.1.0"), None);
    }
}
