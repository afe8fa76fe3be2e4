//! The prepared-response cache stays within its bound in what it really
//! allocates. A kept response is mostly headers when its body is small (a
//! download's redirect, a one-version packument), so a weight that counts
//! only key and body let such entries hold several times the bound.
//!
//! A counting allocator (`cap`) measures the heap the process holds before
//! and after filling the cache far past its bound with responses shaped
//! like the server's (the same headers and sizes). This binary holds one
//! test, so nothing else allocates meanwhile.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers panic on failure by design"
)]

use std::alloc::System;

use axum::body::Body;
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL, CONTENT_TYPE, ETAG, LAST_MODIFIED,
};
use axum::http::{Request, StatusCode};
use bytes::Bytes;
use regesta_http::{Validity, prepare};
use regesta_server::hot::{Key, PreparedCache};

#[global_allocator]
static ALLOCATOR: cap::Cap<System> = cap::Cap::new(System, usize::MAX);

/// Heap bytes the process holds.
fn held() -> isize {
    isize::try_from(ALLOCATOR.allocated()).unwrap()
}

/// The key of a GET of `path`, as a client sends it.
fn key(path: &str) -> Key {
    let request = Request::get(path)
        .header("host", "registry.example.com")
        .header("accept", "application/vnd.npm.install-v1+json")
        .header("accept-encoding", "gzip, deflate, br")
        .body(Body::empty())
        .unwrap();
    Key::of(&request).unwrap()
}

/// A packument of `size` bytes as the npm projection answers it.
fn document(n: usize, size: usize) -> axum::response::Response {
    let body = Bytes::from(vec![b' '; size]);
    let headers = vec![
        (CACHE_CONTROL, "no-cache".to_owned()),
        (CONTENT_TYPE, "application/json; charset=UTF-8".to_owned()),
        (
            ETAG,
            format!("W/\"regesta.npm-projection:sha256:{n:064x}\""),
        ),
        (LAST_MODIFIED, "Tue, 08 Dec 2026 01:33:40 GMT".to_owned()),
        (ACCESS_CONTROL_ALLOW_ORIGIN, "*".to_owned()),
    ];
    let response =
        regesta_http::response::bytes_response(StatusCode::OK, body.clone(), headers, true);
    prepare(response, body, Validity::Immutable)
}

/// A tarball's redirect to its object.
fn redirect(n: usize) -> axum::response::Response {
    let location = format!("http://registry.example.com/objects/sha256:{n:064x}");
    let mut response = regesta_http::response::prepared_redirect(&location, Validity::Immutable);
    response.headers_mut().insert(
        ACCESS_CONTROL_ALLOW_ORIGIN,
        axum::http::HeaderValue::from_static("*"),
    );
    response
}

#[test]
fn prepared_responses_hold_no_more_than_their_bound() {
    let bound: u64 = 1 << 20;
    let cache = PreparedCache::with_capacity(bound);
    let keys: Vec<(Key, Key)> = (0..20_000)
        .map(|n| {
            (
                key(&format!("/npm/@dev.localhost/package-{n}")),
                key(&format!(
                    "/npm/@dev.localhost/package-{n}/-/package-{n}-1.0.0.tgz"
                )),
            )
        })
        .collect();
    let before = held();
    for (n, (document_key, redirect_key)) in keys.iter().enumerate() {
        let mut response = document(n, 522);
        cache.keep(document_key.clone(), None, &mut response);
        drop(response);
        let mut response = redirect(n);
        cache.keep(redirect_key.clone(), None, &mut response);
    }
    let held = held() - before;
    assert!(cache.weight() <= bound);
    assert!(
        held <= isize::try_from(bound).unwrap() + 64 * 1024,
        "40,000 small responses through a {bound}-byte cache hold {held} bytes"
    );
}
