//! A project's Simple API documents on the core's rendered-documents
//! mechanism: the JSON and HTML pages and the file table the download
//! routes read, rendered together once per package head from the facts the
//! processor stored with each release (no manifest or object is read).

use bytes::Bytes;
use regesta_core::documents::sorted_line;
use regesta_core::{CoreError, PackageDocuments, PackageRecord, Registry, RenderFuture};
use regesta_protocol::{PackageId, Timestamp};
use serde_json::Value;

use crate::negotiate::Format;
use crate::simple::{FileEntry, ProjectPage, render_project};

/// The view-cache kind of a project page in PEP 691 JSON.
pub const JSON: &str = "pypi-project-json";
/// The view-cache kind of a project page in PEP 503 HTML.
pub const HTML: &str = "pypi-project-html";
/// The view-cache kind of the file table: one line per distribution,
/// `<filename> <version> <sha256> <core metadata sha256 or ->`, sorted so
/// a download finds its line by binary search.
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
    let mut lines = Vec::new();
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
                lines.push(format!(
                    "{} {version} {} {metadata}\n",
                    file.filename, file.sha256
                ));
                page.files.push(file);
            }
        }
    }
    lines.sort_unstable();
    (page, lines.concat())
}

/// What the file table says about `filename` of `version`: its sha256 and
/// its core metadata's, both hex (a binary search, not a scan).
pub fn lookup<'a>(
    table: &'a [u8],
    version: &str,
    filename: &str,
) -> Option<(&'a str, Option<&'a str>)> {
    let mut rest = sorted_line(table, &[filename, version])?;
    let (sha, meta) = (rest.next()?, rest.next()?);
    Some((sha, (meta != "-").then_some(meta)))
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
                return Err(CoreError::package_not_found());
            }
            Ok(vec![
                (JSON, Bytes::from(render_project(&page, Format::Json))),
                (HTML, Bytes::from(render_project(&page, Format::Html))),
                (FILES, Bytes::from(table)),
            ])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::lookup;

    /// The table as `project_page` writes it: sorted lines.
    fn table(rows: &[(String, String)]) -> String {
        let mut lines: Vec<String> = rows
            .iter()
            .enumerate()
            .map(|(i, (file, version))| {
                let meta = if i % 2 == 0 {
                    format!("{i:064x}")
                } else {
                    "-".into()
                };
                format!("{file} {version} {:064x} {meta}\n", i + 1000)
            })
            .collect();
        lines.sort_unstable();
        lines.concat()
    }

    #[test]
    fn every_row_is_found_and_nothing_else() {
        for count in [0_usize, 1, 2, 3, 7, 100] {
            let rows: Vec<(String, String)> = (0..count)
                .map(|i| {
                    (
                        format!("p-{i}.{}-py3-none-any.whl", i % 3),
                        format!("{i}.{}", i % 3),
                    )
                })
                .collect();
            let text = table(&rows);
            for (i, (file, version)) in rows.iter().enumerate() {
                let (sha, meta) = lookup(text.as_bytes(), version, file).unwrap();
                assert_eq!(sha, format!("{:064x}", i + 1000));
                assert_eq!(meta.is_some(), i % 2 == 0);
                assert_eq!(lookup(text.as_bytes(), "9.9", file), None);
            }
            for missing in ["", "a", "p-5", "zz.whl", "p-1.1-py3-none-any.whl0"] {
                assert_eq!(lookup(text.as_bytes(), "1.1", missing), None, "{missing}");
            }
        }
    }

    #[test]
    fn a_damaged_table_is_a_miss_not_a_panic() {
        for text in [
            "\n\n",
            "a",
            "a b",
            "a b c\n",
            "\u{e9} \u{e9}\n\u{e9}",
            "x 1 s m",
        ] {
            let _ = lookup(text.as_bytes(), "1", "a");
            let _ = lookup(text.as_bytes(), "1", "x");
        }
        assert_eq!(lookup(b"x 1 s m", "1", "x"), Some(("s", Some("m"))));
        assert_eq!(lookup(&[0xff, b' '], "1", "x"), None);
    }
}
