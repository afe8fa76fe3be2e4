//! An in-process server over memory adapters, with the reference's dev
//! binding loaded and a settable clock.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use bytes::Bytes;
use http_body_util::BodyExt;
use regesta_core::{Clock, Registry};
use regesta_protocol::Timestamp;
use regesta_server::{AppState, Config, DevSite, router};
use regesta_store::memory::{MemoryBlobs, MemoryDb};
use tower::ServiceExt;

pub(crate) struct FixedClock(AtomicI64);

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_unix_millis(self.0.load(Ordering::SeqCst)).unwrap()
    }
}

pub(crate) struct TestApp {
    pub(crate) app: regesta_server::App,
    pub(crate) db: Arc<MemoryDb>,
    pub(crate) registry: Registry,
}

/// The transparency log every test app serves (a fixed key).
pub(crate) fn test_log() -> regesta_core::log::LogConfig {
    let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let origin = "localhost:4321/log/v1";
    regesta_core::log::LogConfig {
        origin: origin.into(),
        signer: regesta_tlog::NoteSigner::new(origin, regesta_tlog::note::ALG_ED25519, key)
            .unwrap(),
    }
}

/// A server whose `dev.localhost` binding is the vectors' `binding` file,
/// with the clock at `now` and `config` adjusted by `tweak`.
pub(crate) fn app(
    dir: &Path,
    binding: &str,
    now: &str,
    tweak: impl FnOnce(&mut Config),
) -> TestApp {
    app_with_blobs(dir, binding, now, tweak, Arc::new(MemoryBlobs::new()))
}

/// As [`app`], with the objects in `blobs`.
pub(crate) fn app_with_blobs(
    dir: &Path,
    binding: &str,
    now: &str,
    tweak: impl FnOnce(&mut Config),
    blobs: Arc<dyn regesta_store::BlobStore>,
) -> TestApp {
    let site = DevSite::load(&[dir.join(binding)]).unwrap();
    let db = Arc::new(MemoryDb::new());
    let registry = Registry {
        db: db.clone(),
        blobs,
        bindings: Arc::new(site.bindings.clone()),
        clock: Arc::new(FixedClock(AtomicI64::new(
            Timestamp::parse(now).unwrap().unix_millis(),
        ))),
        timestamp_tolerance_ms: 600_000,
        views: Arc::default(),
        write_limits: Arc::new(regesta_core::Unlimited),
        ecosystems: Arc::new(regesta_server::ecosystems()),
    };
    let mut config = Config {
        dev: true,
        statistics_ttl_ms: 0,
        ..Config::default()
    };
    tweak(&mut config);
    let state = AppState::new(registry.clone(), config)
        .unwrap()
        .with_log(test_log(), false);
    TestApp {
        app: router(state, Some(&site)),
        db,
        registry,
    }
}

pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Reply {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub(crate) async fn send(app: &regesta_server::App, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body,
    }
}

pub(crate) async fn get(app: &regesta_server::App, uri: &str) -> Reply {
    send(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

/// The exact captured publish request, replayed.
pub(crate) fn captured_publish(dir: &Path, prefix: &str) -> Request<Body> {
    let meta = regesta_testkit::read_json(dir, &format!("{prefix}/request.headers.json"));
    let content_type = meta["headers"]["content-type"].as_str().unwrap().to_owned();
    let body = regesta_testkit::read(dir, &format!("{prefix}/request.multipart"));
    Request::post("/releases")
        .header("content-type", content_type)
        .header("content-length", body.len())
        .body(Body::from(body))
        .unwrap()
}

/// The status and the headers a captured `.headers` file shows, minus
/// per-request and hop-by-hop ones.
pub(crate) fn expected_headers(raw: &[u8]) -> (u16, Vec<(String, String)>) {
    let text = String::from_utf8_lossy(raw);
    let mut lines = text.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap();
    let skip = [
        "date",
        "x-request-id",
        "connection",
        "keep-alive",
        "transfer-encoding",
    ];
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .filter(|(k, _)| !skip.contains(&k.as_str()))
        .collect();
    (status, headers)
}

/// Asserts the reply has the captured status and every captured header.
pub(crate) fn assert_headers(reply: &Reply, raw: &[u8], what: &str) {
    let (status, headers) = expected_headers(raw);
    assert_eq!(reply.status.as_u16(), status, "{what}: status");
    for (name, value) in headers {
        assert_eq!(
            reply.header(&name),
            Some(value.as_str()),
            "{what}: header {name}"
        );
    }
}
