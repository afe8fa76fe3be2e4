//! `POST /releases` through the real router on an in-memory registry: any
//! body (multipart framing, part names, sizes, JSON inside) gets a 4xx
//! JSON error, never a 5xx, a panic or a stored release. The first byte
//! picks the boundary so both well-framed and garbage bodies are explored.
#![no_main]

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::Request;
use libfuzzer_sys::fuzz_target;
use regesta_core::{Registry, Unlimited};
use regesta_server::{AppState, Config, DevSite, SystemClock, router};
use regesta_store::RegistryDb;
use regesta_store::memory::{MemoryBlobs, MemoryDb};
use tower::ServiceExt as _;

struct Harness {
    runtime: tokio::runtime::Runtime,
    app: regesta_server::App,
    db: Arc<MemoryDb>,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let site = DevSite::load(&[] as &[&str]).expect("built-in dev site");
        let db = Arc::new(MemoryDb::new());
        let registry = Registry {
            db: db.clone(),
            blobs: Arc::new(MemoryBlobs::new()),
            bindings: Arc::new(site.bindings.clone()),
            clock: Arc::new(SystemClock),
            timestamp_tolerance_ms: 600_000,
            views: Arc::default(),
            write_limits: Arc::new(Unlimited),
            ecosystems: Arc::new(regesta_server::ecosystems()),
        };
        let config = Config {
            dev: true,
            max_request_bytes: 1024 * 1024,
            ..Config::default()
        };
        let state = AppState::new(registry, config).expect("state");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        Harness {
            runtime,
            app: router(state, Some(&site)),
            db,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let h = harness();
    let (boundary, body) = match data.split_first() {
        Some((b, rest)) if b % 2 == 0 => ("x", rest),
        Some((_, rest)) => ("regesta-fuzz", rest),
        None => ("x", data),
    };
    let request = Request::post("/releases")
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(Body::from(body.to_vec()))
        .expect("request");
    let status = h.runtime.block_on(async {
        let response = h.app.clone().oneshot(request).await.expect("infallible");
        response.status()
    });
    assert!(status.is_client_error(), "status {status} for a fuzzed publish");
    let stats = h.runtime.block_on(h.db.stats()).expect("stats");
    assert_eq!(stats.releases, 0, "a fuzzed publish stored a release");
});
