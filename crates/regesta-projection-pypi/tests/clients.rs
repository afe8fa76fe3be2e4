//! The real pip and uv (installed by `scripts/install-test-clients`) read
//! the Simple API documents this crate renders: a plain loopback server
//! serves the rendered pages and the files, and the clients resolve,
//! download, check hashes and honour `Requires-Python`. The registry routes
//! that will serve these same documents are not wired yet; this proves the
//! documents themselves.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers panic on failure by design"
)]

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use regesta_projection_pypi::filename::DistFilename;
use regesta_projection_pypi::negotiate::{Format, negotiate};
use regesta_projection_pypi::simple::{FileEntry, ProjectPage, render_project};
use regesta_projection_pypi::wheel;
use sha2::{Digest as _, Sha256};

mod common;
use common::{build_wheel, build_wheel_with};

/// Where `scripts/install-test-clients` put pip and uv.
fn python_tools() -> PathBuf {
    #[expect(
        clippy::disallowed_methods,
        reason = "test-only location of installed clients, not configuration"
    )]
    let configured = std::env::var_os("REGESTA_TOOLS_DIR").map(PathBuf::from);
    let dir = configured
        .unwrap_or_else(|| {
            #[expect(
                clippy::disallowed_methods,
                reason = "test-only default cache location"
            )]
            let home = std::env::var_os("HOME").map(PathBuf::from).unwrap();
            home.join(".cache/regesta/tools")
        })
        .join("python/bin");
    assert!(
        dir.join("pip").is_file() && dir.join("uv").is_file(),
        "pip and uv missing in {}: run scripts/install-test-clients",
        dir.display()
    );
    dir
}

/// What the loopback index serves, and what it was asked.
struct Index {
    page: ProjectPage,
    /// File name → (bytes served, core metadata bytes).
    files: Vec<(String, Vec<u8>, Vec<u8>)>,
    /// Answer HTML whatever the client accepts.
    html_only: bool,
    /// Every request path with the format the page was answered in.
    log: Mutex<Vec<(String, Option<Format>)>>,
}

fn hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Index {
    /// An index of `wheels`, each checked by the wheel reader first; with
    /// `tamper`, the first one's bytes are swapped for another valid wheel
    /// of the same name after the page was rendered.
    fn new(wheels: &[(String, Vec<u8>)], html_only: bool, tamper: bool) -> Self {
        let mut files = Vec::new();
        let mut entries = Vec::new();
        for (index, (name, bytes)) in wheels.iter().enumerate() {
            let read = wheel::read(bytes, &DistFilename::parse(name).unwrap()).unwrap();
            entries.push(FileEntry {
                filename: name.clone(),
                url: format!("/files/{name}"),
                sha256: hex(bytes),
                requires_python: read
                    .metadata
                    .requires_python
                    .as_ref()
                    .map(regesta_projection_pypi::versions::RequiresPython::normalized),
                core_metadata_sha256: Some(hex(&read.metadata_bytes)),
                size: bytes.len() as u64,
                upload_time: "2026-12-05T12:00:00.000000Z".into(),
                yanked: None,
            });
            let served = if tamper && index == 0 {
                build_wheel_with("1.0", ">=3.8", "VERSION = 'tampered'\n").1
            } else {
                bytes.clone()
            };
            files.push((name.clone(), served, read.metadata_bytes));
        }
        Self {
            page: ProjectPage {
                name: "my-lib".into(),
                versions: wheels
                    .iter()
                    .map(|(n, _)| DistFilename::parse(n).unwrap().version.normalized())
                    .collect(),
                files: entries,
            },
            files,
            html_only,
            log: Mutex::new(Vec::new()),
        }
    }

    fn answer(&self, path: &str, accept: Option<&str>) -> (u16, &'static str, Vec<u8>) {
        let mut format = None;
        let reply = if path == "/simple/my-lib/" {
            format = if self.html_only {
                Some(Format::Html)
            } else {
                negotiate(accept)
            };
            match format {
                Some(f) => (200, f.content_type(), render_project(&self.page, f)),
                None => (406, "text/plain", b"not acceptable".to_vec()),
            }
        } else if let Some(file) = path.strip_prefix("/files/") {
            let found = self.files.iter().find_map(|(name, bytes, metadata)| {
                if file == name {
                    Some(bytes.clone())
                } else if file.strip_suffix(".metadata") == Some(name) {
                    Some(metadata.clone())
                } else {
                    None
                }
            });
            found.map_or((404, "text/plain", Vec::new()), |b| {
                (200, "application/octet-stream", b)
            })
        } else {
            (404, "text/plain", Vec::new())
        };
        self.log.lock().unwrap().push((path.to_owned(), format));
        reply
    }

    /// Serves on a loopback port until the test process ends.
    fn serve(self: &Arc<Self>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let index = Arc::clone(self);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                let path = request_line.split(' ').nth(1).unwrap_or("/").to_owned();
                let mut accept = None;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':')
                        && name.eq_ignore_ascii_case("accept")
                    {
                        accept = Some(value.trim().to_owned());
                    }
                }
                let (status, content_type, body) = index.answer(&path, accept.as_deref());
                let head = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nVary: Accept\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
            }
        });
        base
    }

    fn requested(&self, path: &str) -> bool {
        self.log.lock().unwrap().iter().any(|(p, _)| p == path)
    }
}

fn run(command: &mut Command) -> Output {
    command.output().unwrap()
}

fn pip_download(tools: &Path, base: &str, into: &Path) -> Output {
    run(Command::new(tools.join("pip"))
        .args([
            "download",
            "--no-deps",
            "--no-cache-dir",
            "--disable-pip-version-check",
        ])
        .arg("--index-url")
        .arg(format!("{base}/simple/"))
        .arg("-d")
        .arg(into)
        .arg("my-lib"))
}

/// `uv pip install my-lib` into `target`, with a cache of its own.
fn uv_install(tools: &Path, base: &str, target: &Path) -> Output {
    let cache = tempfile::tempdir().unwrap();
    run(Command::new(tools.join("uv"))
        .args(["pip", "install", "--no-config", "--python"])
        .arg(tools.join("python"))
        .arg("--cache-dir")
        .arg(cache.path())
        .arg("--target")
        .arg(target)
        .arg("--index-url")
        .arg(format!("{base}/simple/"))
        .arg("my-lib"))
}

fn wheels() -> Vec<(String, Vec<u8>)> {
    // 2.0 needs a Python no interpreter has: clients must skip it.
    vec![build_wheel("1.0", ">=3.8"), build_wheel("2.0", ">=4")]
}

#[test]
fn pip_reads_the_json_and_html_pages_and_uses_core_metadata() {
    let tools = python_tools();
    for html_only in [false, true] {
        let index = Arc::new(Index::new(&wheels(), html_only, false));
        let base = index.serve();
        let dir = tempfile::tempdir().unwrap();
        let out = pip_download(&tools, &base, dir.path());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got = std::fs::read(dir.path().join("my_lib-1.0-py3-none-any.whl")).unwrap();
        assert_eq!(
            got,
            wheels()[0].1,
            "pip downloaded 1.0, skipping 2.0 (Requires-Python)"
        );
        let expected = if html_only {
            Format::Html
        } else {
            Format::Json
        };
        let log = index.log.lock().unwrap().clone();
        assert!(
            log.iter()
                .any(|(p, f)| p == "/simple/my-lib/" && *f == Some(expected)),
            "{log:?}"
        );
        assert!(
            index.requested("/files/my_lib-1.0-py3-none-any.whl.metadata"),
            "pip read the PEP 658 metadata: {log:?}"
        );
        // 2.0 is skipped on the page's Requires-Python alone: neither its
        // metadata nor the wheel is fetched.
        for skipped in [
            "my_lib-2.0-py3-none-any.whl",
            "my_lib-2.0-py3-none-any.whl.metadata",
        ] {
            assert!(!index.requested(&format!("/files/{skipped}")), "{log:?}");
        }
    }
}

#[test]
fn uv_installs_from_the_page() {
    let tools = python_tools();
    let index = Arc::new(Index::new(&wheels(), false, false));
    let base = index.serve();
    let target = tempfile::tempdir().unwrap();
    let out = uv_install(&tools, &base, target.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let installed = std::fs::read_to_string(target.path().join("my_lib/__init__.py")).unwrap();
    assert_eq!(installed, "VERSION = \"1.0\"\n");
}

#[test]
fn both_clients_refuse_a_file_that_does_not_match_its_hash() {
    let tools = python_tools();
    let index = Arc::new(Index::new(&wheels(), false, true));
    let base = index.serve();
    let dir = tempfile::tempdir().unwrap();
    let out = pip_download(&tools, &base, dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(!out.status.success() && stderr.contains("hash"), "{stderr}");
    let out = uv_install(&tools, &base, &dir.path().join("target"));
    let stderr = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(!out.status.success() && stderr.contains("hash"), "{stderr}");
}
