//! The Simple repository API's documents, rendered from a plain model: the
//! project list and a project's page, each in PEP 503 HTML and PEP 691 JSON
//! (API version 1.1: PEP 700's `versions`, `size` and `upload-time`), with
//! PEP 658/714 metadata and PEP 592 yank markers. Pure and deterministic:
//! the same model renders the same bytes, so a page can be rendered once
//! per package head and served as prepared bytes.

use std::fmt::Write as _;

use serde_json::{Map, Value, json};

use crate::negotiate::Format;

/// The Simple API version served (PEP 700).
pub const API_VERSION: &str = "1.1";

/// One distribution file of a project page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// The file name (`my_lib-1.0-py3-none-any.whl`).
    pub filename: String,
    /// Where to download it (relative or absolute).
    pub url: String,
    /// Its sha256, lowercase hex.
    pub sha256: String,
    /// `Requires-Python`, normalized, if any.
    pub requires_python: Option<String>,
    /// The sha256 (hex) of its core metadata file, when served at
    /// `<url>.metadata` (PEP 658).
    pub core_metadata_sha256: Option<String>,
    /// Its size in bytes.
    pub size: u64,
    /// When it was uploaded, `yyyy-mm-ddThh:mm:ss.ffffffZ`.
    pub upload_time: String,
    /// Why it is yanked (empty reason allowed), or `None`.
    pub yanked: Option<String>,
}

/// A project page: the normalized name, its versions (oldest first) and
/// its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectPage {
    /// The normalized project name.
    pub name: String,
    /// Every version, oldest first (PEP 700).
    pub versions: Vec<String>,
    /// Every file.
    pub files: Vec<FileEntry>,
}

/// Escapes `text` for HTML text and double-quoted attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

fn html_document(title: &str, links: &str) -> Vec<u8> {
    format!(
        "<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"{API_VERSION}\">\n    \
         <title>{title}</title>\n  </head>\n  <body>\n    <h1>{title}</h1>\n{links}  </body>\n</html>\n",
        title = escape(title),
    )
    .into_bytes()
}

fn json_document(mut body: Map<String, Value>) -> Vec<u8> {
    let mut document = Map::new();
    document.insert("meta".into(), json!({ "api-version": API_VERSION }));
    document.append(&mut body);
    let mut bytes = Value::Object(document).to_string().into_bytes();
    bytes.push(b'\n');
    bytes
}

/// The project list, linking each normalized name to `<name>/`.
pub fn render_index(names: &[&str], format: Format) -> Vec<u8> {
    match format {
        Format::Json => {
            let projects: Vec<Value> = names.iter().map(|n| json!({ "name": n })).collect();
            let mut body = Map::new();
            body.insert("projects".into(), Value::Array(projects));
            json_document(body)
        }
        Format::Html | Format::LegacyHtml => {
            let mut links = String::new();
            for name in names {
                // Writing to a String cannot fail.
                let _ = writeln!(links, "    <a href=\"{0}/\">{0}</a><br/>", escape(name));
            }
            html_document("Simple index", &links)
        }
    }
}

/// A project's page.
pub fn render_project(page: &ProjectPage, format: Format) -> Vec<u8> {
    match format {
        Format::Json => {
            let files: Vec<Value> = page.files.iter().map(json_file).collect();
            let mut body = Map::new();
            body.insert("name".into(), json!(page.name));
            body.insert("versions".into(), json!(page.versions));
            body.insert("files".into(), Value::Array(files));
            json_document(body)
        }
        Format::Html | Format::LegacyHtml => {
            let links: String = page.files.iter().map(html_file).collect();
            html_document(&format!("Links for {}", page.name), &links)
        }
    }
}

fn json_file(file: &FileEntry) -> Value {
    let mut entry = Map::new();
    entry.insert("filename".into(), json!(file.filename));
    entry.insert("url".into(), json!(file.url));
    entry.insert("hashes".into(), json!({ "sha256": file.sha256 }));
    if let Some(requires) = &file.requires_python {
        entry.insert("requires-python".into(), json!(requires));
    }
    let metadata = file
        .core_metadata_sha256
        .as_ref()
        .map_or(json!(false), |hash| json!({ "sha256": hash }));
    // PEP 714's key, and the PEP 658 key older clients read.
    entry.insert("core-metadata".into(), metadata.clone());
    entry.insert("dist-info-metadata".into(), metadata);
    entry.insert("size".into(), json!(file.size));
    entry.insert("upload-time".into(), json!(file.upload_time));
    let yanked = file.yanked.as_ref().map_or(json!(false), |reason| {
        if reason.is_empty() {
            json!(true)
        } else {
            json!(reason)
        }
    });
    entry.insert("yanked".into(), yanked);
    Value::Object(entry)
}

fn html_file(file: &FileEntry) -> String {
    // Writing to a String cannot fail.
    let mut attributes = String::new();
    if let Some(requires) = &file.requires_python {
        let _ = write!(attributes, " data-requires-python=\"{}\"", escape(requires));
    }
    if let Some(hash) = &file.core_metadata_sha256 {
        let value = format!("sha256={}", escape(hash));
        let _ = write!(
            attributes,
            " data-core-metadata=\"{value}\" data-dist-info-metadata=\"{value}\""
        );
    }
    if let Some(reason) = &file.yanked {
        let _ = write!(attributes, " data-yanked=\"{}\"", escape(reason));
    }
    format!(
        "    <a href=\"{}#sha256={}\"{attributes}>{}</a><br/>\n",
        escape(&file.url),
        escape(&file.sha256),
        escape(&file.filename)
    )
}
