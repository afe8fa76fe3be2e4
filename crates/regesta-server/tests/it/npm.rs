//! The npm projection over HTTP, against the reference's npm captures.

use axum::body::Body;
use axum::http::Request;
use regesta_testkit::{npm_overlap, read, vectors_dir};

/// sha512 SRI of the captured tarball (`openssl dgst -sha512 -binary | base64`).
const VECTOR_SHA512: &str = "sha512-RBrR0iB15dxzKS2t8fLDKhF1wJgyBZMmga9EyPTzSuJA3Kfs0fjZFtvt3sgV8i0DD2qWxx9V1jlMc/sFSoj0ug==";

use crate::support::{TestApp, app, assert_headers, captured_publish, send};

async fn published(dir: &std::path::Path) -> TestApp {
    let t = app(
        dir,
        "dev-binding/domain-binding.json",
        "2026-11-25T19:13:01.867Z",
        |c| {
            c.public_url = Some("http://localhost:4321".into());
            c.npm_public_url = Some("http://npm.localhost:4321".into());
        },
    );
    let reply = send(&t.app, captured_publish(dir, "publish/hello-regesta-0.0.5")).await;
    assert_eq!(reply.status.as_u16(), 201, "{}", reply.text());
    t
}

fn on_npm_host(uri: &str) -> Request<Body> {
    Request::get(uri)
        .header("host", "npm.localhost:4321")
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn npm_documents_match_the_reference_on_the_npm_host_and_under_npm() {
    let dir = vectors_dir();
    let t = published(&dir).await;
    let cases = [
        ("/@dev.localhost/hello-regesta", "wire/npm-packument.json"),
        ("/@dev.localhost%2fhello-regesta", "wire/npm-packument.json"),
        (
            "/@dev.localhost/hello-regesta/0.0.5",
            "wire/npm-version-0.0.5.json",
        ),
        (
            "/-/package/@dev.localhost/hello-regesta/dist-tags",
            "wire/npm-dist-tags.json",
        ),
        ("/-/ping", "wire/npm-ping.json"),
        (
            "/@dev.localhost/missing",
            "wire/npm-packument-notfound.json",
        ),
    ];
    for (path, file) in cases {
        for request in [
            on_npm_host(path),
            Request::get(format!("/npm{path}"))
                .body(Body::empty())
                .unwrap(),
        ] {
            let reply = send(&t.app, request).await;
            let expected = String::from_utf8_lossy(&read(&dir, file)).into_owned();
            let headers = read(&dir, &format!("{file}.headers"));
            if file.contains("npm-packument.json") || file.contains("npm-version") {
                // Published now, the release has npm's sha512 `dist` facts:
                // the rest is the reference's bytes, and so are the headers
                // but the length.
                let (ours, dists) = npm_overlap(&reply.text());
                assert_eq!(ours, npm_overlap(&expected).0, "{path}");
                assert_eq!(dists[0].1["integrity"], VECTOR_SHA512, "{path}");
                assert_eq!(dists[0].1["fileCount"], 4, "{path}");
                let text = String::from_utf8_lossy(&headers);
                let headers = text
                    .lines()
                    .filter(|l| !l.starts_with("content-length"))
                    .collect::<Vec<_>>()
                    .join("\n");
                assert_headers(&reply, headers.as_bytes(), path);
            } else {
                assert_eq!(reply.text(), expected, "{path}");
                assert_headers(&reply, &headers, path);
            }
        }
    }
    let latest = send(&t.app, on_npm_host("/@dev.localhost/hello-regesta/latest")).await;
    assert_eq!(
        npm_overlap(&latest.text()).0,
        npm_overlap(&String::from_utf8_lossy(&read(
            &dir,
            "wire/npm-version-0.0.5.json"
        )))
        .0
    );
    assert_eq!(
        latest.header("cache-control"),
        Some("no-cache"),
        "a tag moves"
    );
    // pnpm asks for a tag with the name in one encoded segment.
    let encoded = send(
        &t.app,
        on_npm_host("/@dev.localhost%2fhello-regesta/latest"),
    )
    .await;
    assert_eq!(encoded.text(), latest.text());
    let root = send(&t.app, on_npm_host("/")).await;
    assert_eq!(root.text(), "{}");
}

#[tokio::test]
async fn tarballs_redirect_to_the_core_object_and_abbreviated_packuments_negotiate() {
    let dir = vectors_dir();
    let t = published(&dir).await;
    let tarball = "/@dev.localhost/hello-regesta/-/hello-regesta-0.0.5.tgz";
    let before = t.app.cached_bytes();
    let redirect = send(&t.app, on_npm_host(tarball)).await;
    let expected = read(&dir, "wire/npm-tarball-redirect.txt.headers");
    assert_headers(&redirect, &expected, "tarball");
    assert!(redirect.body.is_empty(), "tarballs are never proxied");
    // A release never changes, so its redirect is kept: the next one is
    // answered from memory with the same bytes.
    let kept = t.app.cached_bytes();
    assert!(kept > before, "the redirect is kept");
    let again = send(&t.app, on_npm_host(tarball)).await;
    assert_headers(&again, &expected, "tarball from memory");
    assert!(again.body.is_empty());
    assert_eq!(t.app.cached_bytes(), kept);
    let missing = send(
        &t.app,
        on_npm_host("/@dev.localhost/hello-regesta/-/hello-regesta-9.9.9.tgz"),
    )
    .await;
    assert_eq!(t.app.cached_bytes(), kept, "a miss is not kept");
    // A missing version or a wrong file name is the reference's
    // `package_not_found`, with its bytes.
    assert_eq!(missing.status.as_u16(), 404);
    assert_eq!(
        missing.body.as_ref(),
        read(&dir, "wire/npm-packument-notfound.json")
    );
    for (path, code) in [
        (
            "/@dev.localhost/hello-regesta/-/other-0.0.5.tgz",
            "package_not_found",
        ),
        (
            "/@dev.localhost/nothing/-/nothing-1.0.0.tgz",
            "package_not_found",
        ),
        (
            "/@dev.localhost%2fhello-regesta/9.9.9",
            "package_version_not_found",
        ),
        ("/@dev.localhost%2fa%2fb/latest", "package_not_found"),
    ] {
        let reply = send(&t.app, on_npm_host(path)).await;
        assert_eq!(reply.status.as_u16(), 404, "{path}");
        assert_eq!(reply.json()["code"], code, "{path}");
    }

    let short = send(
        &t.app,
        Request::get("/npm/@dev.localhost/hello-regesta")
            .header(
                "accept",
                "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8",
            )
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        short.header("content-type"),
        Some("application/vnd.npm.install-v1+json")
    );
    let doc = short.json();
    assert_eq!(doc["modified"], "2026-11-25T19:13:01.867Z");
    assert_eq!(doc["time"]["0.0.5"], "2026-11-25T19:13:01.867Z");
    assert!(doc["versions"]["0.0.5"].get("devDependencies").is_none());
    let etag = short.header("etag").unwrap().to_owned();
    let cached = send(
        &t.app,
        Request::get("/npm/@dev.localhost/hello-regesta")
            .header("if-none-match", &etag)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(cached.status.as_u16(), 304);
}
