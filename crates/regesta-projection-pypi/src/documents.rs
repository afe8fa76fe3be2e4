//! A project's Simple API documents on the core's rendered-documents
//! mechanism: the JSON and HTML pages and the file table the download
//! routes read, rendered together once per package head from the facts the
//! processor stored with each release (no manifest or object is read).

use std::fmt::Write as _;

use bytes::Bytes;
use regesta_core::{CoreError, ErrorCode, PackageDocuments, PackageRecord, Registry, RenderFuture};
use regesta_protocol::{PackageId, Timestamp};
use serde_json::Value;

use crate::negotiate::Format;
use crate::simple::{FileEntry, ProjectPage, render_project};

/// The view-cache kind of a project page in PEP 691 JSON.
pub const JSON: &str = "pypi-project-json";
/// The view-cache kind of a project page in PEP 503 HTML.
pub const HTML: &str = "pypi-project-html";
/// The view-cache kind of the file table: one line per distribution,
/// `<version> <filename> <sha256> <core metadata sha256>`.
pub const FILES: &str = "pypi-files";

/// A distribution's download path below a project page
/// (`simple/<name>/`): relative, so pages work under `/pypi/<domain>/` and
/// on a `pypi.*` host alike.
fn file_url(name: &str, version: &str, filename: &str) -> String {
    format!("../../files/{name}/{version}/{filename}")
}

/// PEP 700's `upload-time`: microseconds, from a millisecond timestamp.
fn upload_time(at: Timestamp) -> String {
    let text = at.to_string();
    let stem = text.strip_suffix('Z').unwrap_or(&text);
    format!("{stem}000Z")
}

/// One file of a release's facts; `None` when a field is missing (a
/// release not made by this processor contributes nothing).
fn file_entry(name: &str, version: &str, at: Timestamp, fact: &Value) -> Option<FileEntry> {
    let text = |key: &str| fact.get(key).and_then(Value::as_str).map(str::to_owned);
    let filename = text("filename")?;
    Some(FileEntry {
        url: file_url(name, version, &filename),
        sha256: text("sha256")?,
        requires_python: text("requiresPython"),
        core_metadata_sha256: text("coreMetadataSha256"),
        size: fact.get("size").and_then(Value::as_u64)?,
        upload_time: upload_time(at),
        yanked: None,
        filename,
    })
}

/// The page model of `id` from its record (releases in publish order,
/// each with the files its facts list) and its file table ([`FILES`]).
pub fn project_page(id: &PackageId, record: &PackageRecord) -> (ProjectPage, String) {
    let name = id.local_name().to_owned();
    let mut page = ProjectPage {
        name: name.clone(),
        versions: Vec::with_capacity(record.releases.len()),
        files: Vec::new(),
    };
    let mut table = String::new();
    for release in &record.releases {
        let version = release.version.as_str();
        let facts: Option<Value> = release
            .facts
            .as_ref()
            .and_then(|bytes| serde_json::from_slice(bytes).ok());
        let files = facts
            .as_ref()
            .and_then(|f| f.get("files"))
            .and_then(Value::as_array);
        let Some(files) = files else { continue };
        page.versions.push(version.to_owned());
        for fact in files {
            if let Some(file) = file_entry(&name, version, release.created_at, fact) {
                let metadata = file.core_metadata_sha256.as_deref().unwrap_or("-");
                // Writing to a String cannot fail.
                let _ = writeln!(
                    table,
                    "{version} {} {} {metadata}",
                    file.filename, file.sha256
                );
                page.files.push(file);
            }
        }
    }
    (page, table)
}

/// What the file table says about `filename` of `version`: its sha256 and
/// its core metadata's, both hex.
pub fn lookup<'a>(
    table: &'a [u8],
    version: &str,
    filename: &str,
) -> Option<(&'a str, Option<&'a str>)> {
    let table = std::str::from_utf8(table).ok()?;
    table.lines().find_map(|line| {
        let mut parts = line.split(' ');
        let (v, f, sha, meta) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        (v == version && f == filename).then_some((sha, (meta != "-").then_some(meta)))
    })
}

/// The Simple API documents of PyPI projects.
#[derive(Debug, Default)]
pub struct PypiDocuments;

impl PackageDocuments for PypiDocuments {
    fn render<'a>(
        &'a self,
        _registry: &'a Registry,
        id: &'a PackageId,
        record: &'a PackageRecord,
    ) -> RenderFuture<'a> {
        Box::pin(async move {
            let (page, table) = project_page(id, record);
            if page.files.is_empty() {
                return Err(CoreError::not_found(
                    ErrorCode::PackageNotFound,
                    "Package not found",
                ));
            }
            Ok(vec![
                (JSON, Bytes::from(render_project(&page, Format::Json))),
                (HTML, Bytes::from(render_project(&page, Format::Html))),
                (FILES, Bytes::from(table)),
            ])
        })
    }
}
