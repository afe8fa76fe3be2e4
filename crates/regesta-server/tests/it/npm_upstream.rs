//! The npm upstream fallback against a fake upstream registry on loopback:
//! what is forwarded, what comes back, every failure as 502, and that
//! nothing reaches core state.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use regesta_testkit::vectors_dir;

use crate::support::{TestApp, app, captured_publish, get, send};

/// What the fake upstream saw: method, path and query, headers.
type Seen = Arc<Mutex<Vec<(String, String, HeaderMap)>>>;

const MANIFEST: &str = r#"{"name":"left","version":"1.0.0","dist":{"tarball":"https://up.example/left/-/left-1.0.0.tgz"}}"#;

/// A packument with odd spacing, so "unchanged" is visible byte for byte.
fn packument() -> String {
    format!(
        "{{ \"name\" : \"left\", \"dist-tags\": {{\"latest\":\"1.0.0\"}},\n \"versions\": {{\"1.0.0\": {MANIFEST}}} }}"
    )
}

async fn upstream_reply(
    method: axum::http::Method,
    uri: Uri,
    headers: HeaderMap,
    seen: Seen,
) -> Response {
    let path = uri.path().to_owned();
    seen.lock()
        .unwrap()
        .push((method.to_string(), path.clone(), headers.clone()));
    let json = |status: StatusCode, body: String| {
        (
            status,
            [
                ("content-type", "application/json"),
                ("cache-control", "public, max-age=300"),
                ("etag", "\"up-1\""),
                ("last-modified", "Tue, 24 Nov 2026 10:00:00 GMT"),
                ("set-cookie", "session=secret"),
                ("www-authenticate", "Bearer"),
                ("x-upstream-extension", "1"),
            ],
            body,
        )
            .into_response()
    };
    match path.as_str() {
        "/left" | "/%40up%2Fscoped"
            if headers
                .get("if-none-match")
                .is_some_and(|v| v == "\"up-1\"") =>
        {
            (StatusCode::NOT_MODIFIED, [("etag", "\"up-1\"")]).into_response()
        }
        "/left" | "/%40up%2Fscoped" => json(StatusCode::OK, packument()),
        "/left/1.0.0" | "/left/latest" => json(StatusCode::OK, MANIFEST.to_owned()),
        "/-/package/left/dist-tags" => json(StatusCode::OK, r#"{"latest":"1.0.0"}"#.to_owned()),
        "/missing" => json(StatusCode::NOT_FOUND, r#"{"error":"Not found"}"#.to_owned()),
        "/broken" => json(StatusCode::INTERNAL_SERVER_ERROR, "oops".to_owned()),
        "/notjson" => json(StatusCode::OK, "<html>".to_owned()),
        "/wrongshape" => json(StatusCode::OK, r#"{"name":"wrongshape"}"#.to_owned()),
        "/huge" => json(
            StatusCode::OK,
            format!("{{\"name\":\"{}\"}}", "x".repeat(4096)),
        ),
        "/moved" => (StatusCode::FOUND, [("location", "http://127.0.0.1:9/")]).into_response(),
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            json(StatusCode::OK, packument())
        }
        _ => StatusCode::IM_A_TEAPOT.into_response(),
    }
}

async fn fake_upstream() -> (SocketAddr, Seen) {
    let seen: Seen = Arc::default();
    let state = seen.clone();
    let router = axum::Router::new()
        .fallback(move |method, uri, headers| upstream_reply(method, uri, headers, state.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (addr, seen)
}

async fn with_fallback(dir: &std::path::Path, upstream: &str) -> TestApp {
    let upstream = upstream.to_owned();
    let t = app(
        dir,
        "dev-binding/domain-binding.json",
        "2026-11-25T19:13:01.867Z",
        move |c| {
            c.public_url = Some("http://localhost:4321".into());
            c.npm_upstream_fallback = true;
            c.npm_upstream_url = upstream;
            c.npm_upstream_timeout_ms = 500;
            c.npm_upstream_max_bytes = 1024;
        },
    );
    let reply = send(&t.app, captured_publish(dir, "publish/hello-regesta-0.0.5")).await;
    assert_eq!(reply.status.as_u16(), 201, "{}", reply.text());
    t
}

fn request(uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::get(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn upstream_documents_come_back_unchanged_with_only_allowlisted_headers() {
    let dir = vectors_dir();
    let (addr, seen) = fake_upstream().await;
    let t = with_fallback(&dir, &format!("http://{addr}")).await;
    let secret_headers = [
        ("authorization", "Bearer npm_SECRET"),
        ("cookie", "sid=SECRET"),
        ("npm-auth-type", "web"),
        ("npm-otp", "123456"),
        ("x-forwarded-for", "10.0.0.1"),
        ("user-agent", "npm/11"),
        ("accept", "application/vnd.npm.install-v1+json"),
        ("if-modified-since", "Mon, 23 Nov 2026 10:00:00 GMT"),
    ];
    let reply = send(&t.app, request("/npm/left", &secret_headers)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.text(), packument(), "bytes are passed on unchanged");
    assert_eq!(reply.header("etag"), Some("\"up-1\""));
    assert_eq!(reply.header("cache-control"), Some("public, max-age=300"));
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(
        reply.header("last-modified"),
        Some("Tue, 24 Nov 2026 10:00:00 GMT")
    );
    for dropped in ["set-cookie", "www-authenticate", "x-upstream-extension"] {
        assert_eq!(reply.header(dropped), None, "{dropped} is not returned");
    }
    let (method, path, forwarded) = seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!((method.as_str(), path.as_str()), ("GET", "/left"));
    assert_eq!(
        forwarded.get("accept").unwrap(),
        "application/vnd.npm.install-v1+json"
    );
    assert_eq!(
        forwarded.get("if-modified-since").unwrap(),
        "Mon, 23 Nov 2026 10:00:00 GMT"
    );
    for never in [
        "authorization",
        "cookie",
        "npm-auth-type",
        "npm-otp",
        "x-forwarded-for",
    ] {
        assert!(
            forwarded.get(never).is_none(),
            "{never} must not be forwarded"
        );
    }
    assert_ne!(forwarded.get("user-agent").unwrap(), "npm/11");

    // No Accept from the client: JSON is asked for.
    send(&t.app, request("/npm/left", &[])).await;
    let accept = seen
        .lock()
        .unwrap()
        .last()
        .unwrap()
        .2
        .get("accept")
        .cloned();
    assert_eq!(accept.unwrap(), "application/json");

    // Validators pass through both ways.
    let cached = send(
        &t.app,
        request("/npm/left", &[("if-none-match", "\"up-1\"")]),
    )
    .await;
    assert_eq!(cached.status, StatusCode::NOT_MODIFIED);
    assert!(cached.body.is_empty());

    // Scoped names go upstream as one encoded segment, on the npm host too.
    let scoped = send(&t.app, request("/npm/@up%2fscoped", &[])).await;
    assert_eq!(scoped.text(), packument());
    let on_host = send(
        &t.app,
        request("/@up/scoped", &[("host", "npm.localhost:4321")]),
    )
    .await;
    assert_eq!(on_host.text(), packument());
    assert_eq!(seen.lock().unwrap().last().unwrap().1, "/%40up%2Fscoped");

    for (uri, body) in [
        ("/npm/left/1.0.0", MANIFEST),
        ("/npm/left/latest", MANIFEST),
        ("/npm/-/package/left/dist-tags", r#"{"latest":"1.0.0"}"#),
    ] {
        let reply = send(&t.app, request(uri, &[])).await;
        assert_eq!(
            (reply.status, reply.text().as_str()),
            (StatusCode::OK, body),
            "{uri}"
        );
    }

    let head = send(
        &t.app,
        Request::head("/npm/left").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());
    assert_eq!(seen.lock().unwrap().last().unwrap().0, "HEAD");
}

#[tokio::test]
async fn hosted_packages_never_go_upstream() {
    let dir = vectors_dir();
    let (addr, seen) = fake_upstream().await;
    let t = with_fallback(&dir, &format!("http://{addr}")).await;
    let local = get(&t.app, "/npm/@dev.localhost/hello-regesta").await;
    assert_eq!(local.status, StatusCode::OK);
    assert!(local.text().contains("hello-regesta"));
    let missing_version = get(&t.app, "/npm/@dev.localhost/hello-regesta/9.9.9").await;
    assert_eq!(missing_version.status, StatusCode::NOT_FOUND);
    assert_eq!(missing_version.json()["code"], "package_version_not_found");
    let tarball = get(
        &t.app,
        "/npm/@dev.localhost/hello-regesta/-/hello-regesta-0.0.5.tgz",
    )
    .await;
    assert!(
        tarball
            .header("location")
            .unwrap()
            .starts_with("http://localhost:4321/objects/sha256:")
    );
    assert!(seen.lock().unwrap().is_empty(), "no upstream request");
}

#[tokio::test]
async fn tarball_misses_redirect_upstream_only_with_fallback_on() {
    let dir = vectors_dir();
    let (addr, seen) = fake_upstream().await;
    let t = with_fallback(&dir, &format!("http://{addr}/")).await;
    for (uri, location) in [
        ("/npm/left/-/left-1.0.0.tgz", "/left/-/left-1.0.0.tgz"),
        (
            "/npm/@up/scoped/-/scoped-2.0.0.tgz",
            "/%40up%2Fscoped/-/scoped-2.0.0.tgz",
        ),
        (
            "/npm/@up%2fscoped/-/scoped-2.0.0.tgz",
            "/%40up%2Fscoped/-/scoped-2.0.0.tgz",
        ),
        (
            "/npm/@dev.localhost/hello-regesta/-/hello-regesta-9.9.9.tgz",
            "/%40dev.localhost%2Fhello-regesta/-/hello-regesta-9.9.9.tgz",
        ),
    ] {
        let reply = get(&t.app, uri).await;
        assert_eq!(reply.status, StatusCode::FOUND, "{uri}");
        assert_eq!(
            reply.header("location"),
            Some(format!("http://{addr}{location}").as_str()),
            "{uri}"
        );
        assert!(reply.body.is_empty(), "never proxied");
    }
    assert!(seen.lock().unwrap().is_empty(), "redirects fetch nothing");

    // Fallback off: the same misses are 404s.
    let off = app(
        &dir,
        "dev-binding/domain-binding.json",
        "2026-11-25T19:13:01.867Z",
        |_| {},
    );
    for (uri, code) in [
        ("/npm/left/-/left-1.0.0.tgz", "package_not_found"),
        ("/npm/left", "package_not_found"),
        ("/npm/left/1.0.0", "package_not_found"),
        ("/npm/-/package/left/dist-tags", "package_not_found"),
    ] {
        let reply = get(&off.app, uri).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(reply.json()["code"], code, "{uri}");
    }
}

#[tokio::test]
async fn upstream_failures_are_502_and_change_nothing() {
    let dir = vectors_dir();
    let (addr, seen) = fake_upstream().await;
    let t = with_fallback(&dir, &format!("http://{addr}")).await;
    let events_before = get(&t.app, "/events").await.text();
    let stats_before = get(&t.app, "/").await.json();
    for uri in [
        "/npm/broken",
        "/npm/notjson",
        "/npm/wrongshape",
        "/npm/huge",
        "/npm/moved",
        "/npm/slow",
    ] {
        let reply = get(&t.app, uri).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_GATEWAY,
            "{uri}: {}",
            reply.text()
        );
        assert_eq!(
            reply.json()["code"],
            "upstream_npm_registry_unavailable",
            "{uri}"
        );
    }
    // An upstream 404 is the upstream's answer, passed on.
    let missing = get(&t.app, "/npm/missing").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    // Names that are not npm names never leave the registry.
    let requests = seen.lock().unwrap().len();
    for uri in ["/npm/.hidden", "/npm/a%20b", "/npm/%40x%2Fy%2Fz/1.0.0"] {
        let reply = get(&t.app, uri).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{uri}");
    }
    assert_eq!(seen.lock().unwrap().len(), requests);

    assert_eq!(get(&t.app, "/events").await.text(), events_before);
    assert_eq!(get(&t.app, "/").await.json(), stats_before);

    // A registry that is down.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = closed.local_addr().unwrap();
    drop(closed);
    let t = with_fallback(&dir, &format!("http://{dead}")).await;
    let reply = get(&t.app, "/npm/left").await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
    assert_eq!(reply.json()["code"], "upstream_npm_registry_unavailable");
}
