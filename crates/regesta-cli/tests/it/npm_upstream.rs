//! The real `npm` installs a Regesta-hosted package whose dependency lives
//! only on the upstream registry (a fake one on loopback), through
//! `REGESTA_NPM_UPSTREAM_FALLBACK`: the upstream packument is passed on
//! unchanged, the npm token configured for Regesta never reaches upstream,
//! and nothing upstream becomes Regesta state.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::npm_clients::{Registry, consumer, installed_version, package, run};
use crate::support::ok;

type Routes = Arc<Mutex<HashMap<String, (String, Vec<u8>)>>>;

/// A minimal HTTP/1.1 static server that records every request head.
struct FakeUpstream {
    base: String,
    routes: Routes,
    seen: Arc<Mutex<Vec<String>>>,
}

fn answer(mut stream: TcpStream, routes: &Routes, seen: &Mutex<Vec<String>>) {
    let mut head = Vec::new();
    let mut byte = [0_u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 65_536 {
        if stream.read(&mut byte).unwrap_or(0) == 0 {
            return;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut words = head.split_whitespace();
    let method = words.next().unwrap_or_default().to_owned();
    let path = words.next().unwrap_or_default().to_owned();
    seen.lock().unwrap().push(head);
    let found = routes.lock().unwrap().get(&path).cloned();
    let (status, content_type, body) = match found {
        Some((content_type, body)) => ("200 OK", content_type, body),
        None => (
            "404 Not Found",
            "application/json".to_owned(),
            br#"{"error":"Not found"}"#.to_vec(),
        ),
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    if method != "HEAD" {
        let _ = stream.write_all(&body);
    }
}

impl FakeUpstream {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let routes: Routes = Arc::default();
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let (r, s) = (routes.clone(), seen.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (r, s) = (r.clone(), s.clone());
                std::thread::spawn(move || answer(stream, &r, &s));
            }
        });
        Self { base, routes, seen }
    }

    fn serve(&self, path: &str, content_type: &str, body: Vec<u8>) {
        self.routes
            .lock()
            .unwrap()
            .insert(path.to_owned(), (content_type.to_owned(), body));
    }
}

/// Packs `leftish@1.0.0` with npm and serves its packument and tarball;
/// returns the tarball's sha512 integrity.
fn upstream_leftish(upstream: &FakeUpstream, root: &Path) -> String {
    let dir = root.join("leftish");
    package(&dir, "leftish", "1.0.0", "");
    let packed = ok(&run(
        "npm",
        &[
            "pack",
            "--json",
            "--pack-destination",
            root.to_str().unwrap(),
        ],
        &dir,
    ));
    let packed: serde_json::Value = serde_json::from_str(&packed).unwrap();
    let integrity = packed[0]["integrity"].as_str().unwrap().to_owned();
    let file = packed[0]["filename"].as_str().unwrap();
    let tarball = format!("{}/leftish/-/leftish-1.0.0.tgz", upstream.base);
    let packument = serde_json::json!({
        "name": "leftish",
        "dist-tags": {"latest": "1.0.0"},
        "versions": {"1.0.0": {
            "name": "leftish",
            "version": "1.0.0",
            "dist": {"tarball": tarball, "integrity": integrity, "shasum": packed[0]["shasum"]},
        }},
    });
    upstream.serve(
        "/leftish",
        "application/json",
        serde_json::to_vec(&packument).unwrap(),
    );
    upstream.serve(
        "/leftish/-/leftish-1.0.0.tgz",
        "application/octet-stream",
        std::fs::read(root.join(file)).unwrap(),
    );
    integrity
}

#[test]
#[ignore = "needs the npm client (Node.js): run scripts/test"]
fn npm_installs_upstream_dependencies_through_the_fallback() {
    let tmp = tempfile::tempdir().unwrap();
    let upstream = FakeUpstream::start();
    let integrity = upstream_leftish(&upstream, tmp.path());
    let registry = Registry::start_with(
        tmp.path(),
        &[
            ("REGESTA_NPM_UPSTREAM_FALLBACK", "true"),
            ("REGESTA_NPM_UPSTREAM_URL", upstream.base.as_str()),
        ],
    );
    let lib = tmp.path().join("lib");
    package(&lib, "@b.localhost/lib", "1.0.0", r#""leftish":"^1""#);
    registry.publish(&lib, "b.localhost");

    let project = tmp.path().join("consumer");
    consumer(&project, "consumer");
    let host = registry.base.trim_start_matches("http:");
    let token = format!("--{host}/npm/:_authToken=npm_SECRET_TOKEN");
    ok(&registry.npm(
        &["install", "@b.localhost/lib", &token],
        &project,
        "npm-cache",
    ));
    assert_eq!(installed_version(&project, "leftish"), "1.0.0");
    let loaded = ok(&run(
        "node",
        &["-p", "require('@b.localhost/lib')"],
        &project,
    ));
    assert_eq!(loaded.trim(), "@b.localhost/lib@1.0.0 -> leftish@1.0.0");

    let lock: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(project.join("package-lock.json")).unwrap())
            .unwrap();
    let locked = &lock["packages"]["node_modules/leftish"];
    assert_eq!(locked["integrity"], integrity.as_str(), "{locked}");
    // npm 11 may leave `resolved` out; when present it is the upstream
    // tarball URL, passed on unchanged.
    let tarball = format!("{}/leftish/-/leftish-1.0.0.tgz", upstream.base);
    if let Some(resolved) = locked["resolved"].as_str() {
        assert_eq!(resolved, tarball, "{locked}");
    }

    let seen = upstream.seen.lock().unwrap().clone();
    for wanted in ["GET /leftish ", "GET /leftish/-/leftish-1.0.0.tgz "] {
        assert!(seen.iter().any(|head| head.starts_with(wanted)), "{seen:?}");
    }
    for head in &seen {
        let lower = head.to_ascii_lowercase();
        assert!(!lower.contains("npm_secret_token"), "{head}");
        assert!(!lower.contains("authorization"), "{head}");
        assert!(!lower.contains("npm-session"), "{head}");
    }
    let url = format!("{}/events", registry.base);
    let body = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(async { reqwest::get(url).await.unwrap().bytes().await.unwrap() });
    let events: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        events["events"].as_array().unwrap().len(),
        1,
        "only lib's release is Regesta state: {events}"
    );
}
