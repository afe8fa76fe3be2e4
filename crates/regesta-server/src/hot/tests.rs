//! The hot path against a counting stand-in for the router: what it
//! answers from memory, what it must leave to the router, and when a kept
//! answer stops being served.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use http_body_util::BodyExt as _;
use regesta_http::{Validity, prepare};
use regesta_store::RegistryDb as _;
use regesta_store::memory::{MemoryBlobs, MemoryDb};
use tower::ServiceExt as _;

use super::Hot;
use crate::{AppState, Config, SystemClock};

/// A router stand-in: answers every request with a body naming the call
/// number, marked as `validity` says (`None`: not marked), with `status`.
#[derive(Clone)]
struct Counting {
    calls: Arc<AtomicUsize>,
    validity: Option<Validity>,
    status: StatusCode,
    size: usize,
    /// Each call answers once it gets a permit.
    gate: Arc<tokio::sync::Semaphore>,
}

impl tower::Service<Request<Body>> for Counting {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = futures_util::future::BoxFuture<'static, Result<Response, Self::Error>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let mut text = format!("call {n}").into_bytes();
        text.resize(self.size.max(text.len()), b' ');
        let body = Bytes::from(text);
        let headers = vec![
            (axum::http::header::ETAG, "W/\"v1\"".to_owned()),
            (axum::http::header::CACHE_CONTROL, "no-cache".to_owned()),
        ];
        let mut response = regesta_http::response::bytes_response(
            self.status,
            body.clone(),
            headers,
            request.method() != axum::http::Method::HEAD,
        );
        if let Some(validity) = self.validity {
            response = prepare(response, body, validity);
        }
        let gate = Arc::clone(&self.gate);
        Box::pin(async move {
            drop(gate.acquire().await.expect("gate open"));
            Ok(response)
        })
    }
}

struct Fixture {
    hot: Hot<Counting>,
    calls: Arc<AtomicUsize>,
    gate: Arc<tokio::sync::Semaphore>,
    db: Arc<MemoryDb>,
    state: AppState,
}

fn fixture(validity: Option<Validity>, status: StatusCode, size: usize) -> Fixture {
    let db = Arc::new(MemoryDb::new());
    let registry = regesta_core::Registry {
        db: db.clone(),
        blobs: Arc::new(MemoryBlobs::new()),
        bindings: Arc::new(regesta_trust::StaticBindings::new()),
        clock: Arc::new(SystemClock),
        timestamp_tolerance_ms: 600_000,
        views: Arc::default(),
        write_limits: Arc::new(regesta_core::Unlimited),
        ecosystems: Arc::new(crate::ecosystems()),
    };
    let state = AppState::new(registry, Config::default()).expect("state");
    let calls = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(tokio::sync::Semaphore::new(
        tokio::sync::Semaphore::MAX_PERMITS,
    ));
    let inner = Counting {
        calls: calls.clone(),
        validity,
        status,
        size,
        gate: gate.clone(),
    };
    Fixture {
        hot: Hot::new(inner, state.clone(), 1 << 20, true),
        calls,
        gate,
        db,
        state,
    }
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

async fn send(hot: &Hot<Counting>, request: Request<Body>) -> Reply {
    let Ok(response) = hot.clone().oneshot(request).await;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    Reply {
        status,
        headers,
        body,
    }
}

fn get(uri: &str) -> axum::http::request::Builder {
    Request::get(uri).header("host", "registry.example")
}

async fn fetch(hot: &Hot<Counting>, uri: &str) -> Reply {
    send(hot, get(uri).body(Body::empty()).expect("request")).await
}

#[tokio::test]
async fn a_marked_answer_is_served_again_until_the_next_change() {
    let f = fixture(Some(Validity::UntilNextEvent), StatusCode::OK, 0);
    let first = fetch(&f.hot, "/doc").await;
    let second = fetch(&f.hot, "/doc").await;
    assert_eq!(
        f.calls.load(Ordering::SeqCst),
        1,
        "the second came from memory"
    );
    assert_eq!(first.body, second.body);
    assert_eq!(first.headers.get("etag"), second.headers.get("etag"));
    assert_eq!(second.headers.get("content-length").unwrap(), "6");
    let (a, b) = (
        &first.headers["x-request-id"],
        &second.headers["x-request-id"],
    );
    assert_ne!(a, b, "every answer has its own request id");
    // A change the database reports ends it.
    f.db.changes().expect("memory counts changes").bump();
    let third = fetch(&f.hot, "/doc").await;
    assert_eq!(f.calls.load(Ordering::SeqCst), 2);
    assert_eq!(third.body.as_ref(), b"call 2");
}

#[tokio::test]
async fn immutable_answers_outlive_changes() {
    let f = fixture(Some(Validity::Immutable), StatusCode::OK, 0);
    fetch(&f.hot, "/objects/x").await;
    f.db.changes().expect("memory counts changes").bump();
    let again = fetch(&f.hot, "/objects/x").await;
    assert_eq!(f.calls.load(Ordering::SeqCst), 1);
    assert_eq!(again.body.as_ref(), b"call 1");
}

#[tokio::test]
async fn conditional_and_head_requests_are_answered_from_the_kept_headers() {
    let f = fixture(Some(Validity::UntilNextEvent), StatusCode::OK, 0);
    fetch(&f.hot, "/doc").await;
    let request = get("/doc")
        .header("if-none-match", "\"v1\"")
        .body(Body::empty())
        .expect("request");
    let not_modified = send(&f.hot, request).await;
    assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
    assert!(not_modified.body.is_empty());
    assert!(not_modified.headers.get("content-length").is_none());
    assert_eq!(not_modified.headers["etag"], "W/\"v1\"");
    let request = get("/doc")
        .header("if-none-match", "\"other\"")
        .body(Body::empty())
        .expect("request");
    assert_eq!(send(&f.hot, request).await.status, StatusCode::OK);
    let request = Request::head("/doc")
        .header("host", "registry.example")
        .body(Body::empty())
        .expect("request");
    let head = send(&f.hot, request).await;
    assert!(head.body.is_empty());
    assert_eq!(head.headers["content-length"], "6");
    assert_eq!(f.calls.load(Ordering::SeqCst), 1, "all from memory");
}

#[tokio::test]
async fn the_key_is_host_accept_encoding_path_and_query() {
    let f = fixture(Some(Validity::UntilNextEvent), StatusCode::OK, 0);
    fetch(&f.hot, "/doc?a=1").await;
    let upper = Request::get("/doc?a=1")
        .header("host", "REGISTRY.example")
        .body(Body::empty())
        .expect("request");
    send(&f.hot, upper).await;
    assert_eq!(
        f.calls.load(Ordering::SeqCst),
        1,
        "hosts compare without case"
    );
    fetch(&f.hot, "/doc?a=2").await;
    let other_host = Request::get("/doc?a=1")
        .header("host", "npm.registry.example")
        .body(Body::empty())
        .expect("request");
    send(&f.hot, other_host).await;
    let abbreviated = get("/doc?a=1")
        .header("accept", "application/vnd.npm.install-v1+json")
        .body(Body::empty())
        .expect("request");
    send(&f.hot, abbreviated).await;
    let gzip = get("/doc?a=1")
        .header("accept-encoding", "gzip")
        .body(Body::empty())
        .expect("request");
    send(&f.hot, gzip).await;
    assert_eq!(f.calls.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn ranges_date_preconditions_and_writes_always_reach_the_router() {
    let f = fixture(Some(Validity::Immutable), StatusCode::OK, 0);
    fetch(&f.hot, "/doc").await;
    let requests = [
        get("/doc").header("range", "bytes=0-1"),
        get("/doc").header("if-modified-since", "Wed, 25 Nov 2026 19:13:01 GMT"),
        get("/doc").header("if-match", "\"v1\""),
        Request::post("/doc").header("host", "registry.example"),
    ];
    let sent = requests.len();
    for request in requests {
        send(&f.hot, request.body(Body::empty()).expect("request")).await;
    }
    assert_eq!(f.calls.load(Ordering::SeqCst), 1 + sent);
}

/// A download's redirect is kept as a redirect: same status and headers,
/// and validators do not turn it into a `304`.
#[tokio::test]
async fn a_marked_redirect_is_served_again_as_the_redirect() {
    let f = fixture(Some(Validity::Immutable), StatusCode::FOUND, 0);
    let first = fetch(&f.hot, "/download").await;
    let second = fetch(&f.hot, "/download").await;
    let request = get("/download")
        .header("if-none-match", "W/\"v1\"")
        .body(Body::empty())
        .expect("request");
    let validated = send(&f.hot, request).await;
    let head = Request::head("/download")
        .header("host", "registry.example")
        .body(Body::empty())
        .expect("request");
    let head = send(&f.hot, head).await;
    assert_eq!(f.calls.load(Ordering::SeqCst), 1);
    for reply in [&first, &second, &validated, &head] {
        assert_eq!(reply.status, StatusCode::FOUND);
        assert_eq!(reply.headers["cache-control"], "no-cache");
    }
    assert_eq!((&second.body, &validated.body), (&first.body, &first.body));
    assert!(head.body.is_empty());
}

#[tokio::test]
async fn unmarked_failed_and_oversized_answers_are_not_kept() {
    for (validity, status, size) in [
        (None, StatusCode::OK, 0),
        (None, StatusCode::FOUND, 0),
        (Some(Validity::Immutable), StatusCode::NOT_FOUND, 0),
        (Some(Validity::Immutable), StatusCode::MOVED_PERMANENTLY, 0),
        // More than an eighth of the 1 MiB cache.
        (Some(Validity::Immutable), StatusCode::OK, (1 << 17) + 1),
    ] {
        let f = fixture(validity, status, size);
        fetch(&f.hot, "/doc").await;
        fetch(&f.hot, "/doc").await;
        assert_eq!(
            f.calls.load(Ordering::SeqCst),
            2,
            "{validity:?} {status} {size}"
        );
    }
    let f = fixture(Some(Validity::Immutable), StatusCode::OK, 1 << 17);
    fetch(&f.hot, "/doc").await;
    fetch(&f.hot, "/doc").await;
    assert_eq!(f.calls.load(Ordering::SeqCst), 1, "an eighth fits");
    assert!(f.hot.cached_bytes() > 1 << 17);
}

#[tokio::test]
async fn ready_is_answered_from_the_probe_on_core_hosts_only() {
    let f = fixture(None, StatusCode::OK, 0);
    // Before any probe the router answers (and starts the prober).
    fetch(&f.hot, "/ready").await;
    assert_eq!(f.calls.load(Ordering::SeqCst), 1);
    assert!(f.state.readiness().await.ok());
    let ready = fetch(&f.hot, "/ready").await;
    assert_eq!(f.calls.load(Ordering::SeqCst), 1, "from the probe");
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(ready.headers["access-control-allow-origin"], "*");
    assert_eq!(ready.headers["cache-control"], "no-store");
    let body: serde_json::Value = serde_json::from_slice(&ready.body).expect("json");
    assert_eq!(body["ok"], true);
    // The dev site's host and projection hosts have their own routes.
    for host in ["dev.localhost", "npm.registry.example"] {
        let request = Request::get("/ready")
            .header("host", host)
            .body(Body::empty())
            .expect("request");
        send(&f.hot, request).await;
    }
    assert_eq!(f.calls.load(Ordering::SeqCst), 3);
}

/// Runs the spawned requests until each has reached the router or is
/// waiting (the test runtime has one thread: spawned tasks run only while
/// the test yields).
async fn settle() {
    for _ in 0..16 {
        tokio::task::yield_now().await;
    }
}

/// `n` GETs of `/doc`, each on a task of its own.
fn spawn_fetches(hot: &Hot<Counting>, n: usize) -> Vec<tokio::task::JoinHandle<Reply>> {
    (0..n)
        .map(|_| {
            let hot = hot.clone();
            tokio::spawn(async move { fetch(&hot, "/doc").await })
        })
        .collect()
}

/// Requests for a missing answer that arrive while the first one is asking
/// the router wait for its answer instead of asking again.
#[tokio::test]
async fn concurrent_misses_ask_the_router_once() {
    let f = fixture(Some(Validity::UntilNextEvent), StatusCode::OK, 0);
    let closed = f.gate.forget_permits(usize::MAX);
    assert!(closed > 0);
    let requests = spawn_fetches(&f.hot, 8);
    settle().await;
    assert_eq!(f.calls.load(Ordering::SeqCst), 1, "one asks, seven wait");
    assert_eq!(f.hot.shared.flights.in_air(), 1);
    f.gate.add_permits(closed);
    for request in requests {
        let reply = request.await.expect("request");
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.body.as_ref(), b"call 1");
    }
    assert_eq!(f.calls.load(Ordering::SeqCst), 1);
    assert_eq!(f.hot.shared.flights.in_air(), 0, "the flight has landed");
}

/// An answer that is not kept sends every waiter to the router itself,
/// once: a waiter waits for one handler run, never a chain of them.
#[tokio::test]
async fn waiters_ask_the_router_when_the_answer_is_not_kept() {
    let f = fixture(None, StatusCode::OK, 0);
    let closed = f.gate.forget_permits(usize::MAX);
    let requests = spawn_fetches(&f.hot, 4);
    settle().await;
    assert_eq!(f.calls.load(Ordering::SeqCst), 1);
    f.gate.add_permits(closed);
    let mut bodies = Vec::new();
    for request in requests {
        bodies.push(request.await.expect("request").body);
    }
    bodies.sort();
    assert_eq!(bodies, ["call 1", "call 2", "call 3", "call 4"]);
}

/// A request that goes away while asking the router releases the ones
/// waiting for it: they ask the router themselves.
#[tokio::test]
async fn a_dropped_request_releases_its_waiters() {
    let f = fixture(Some(Validity::Immutable), StatusCode::OK, 0);
    let closed = f.gate.forget_permits(usize::MAX);
    let lead = spawn_fetches(&f.hot, 1).remove(0);
    settle().await;
    let waiter = spawn_fetches(&f.hot, 1).remove(0);
    settle().await;
    assert_eq!(f.calls.load(Ordering::SeqCst), 1, "the second one waits");
    lead.abort();
    settle().await;
    assert_eq!(f.calls.load(Ordering::SeqCst), 2, "and then asks itself");
    f.gate.add_permits(closed);
    assert_eq!(waiter.await.expect("waiter").body.as_ref(), b"call 2");
    assert_eq!(f.hot.shared.flights.in_air(), 0);
}
