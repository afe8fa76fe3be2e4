//! After replaying the captured publish through HTTP, every read returns the
//! reference's status, headers and bytes.

use axum::body::Body;
use axum::http::Request;
use regesta_testkit::{read, vectors_dir};

use crate::support::{TestApp, app, assert_headers, captured_publish, get, send};

const PKG: &str = "/packages/npm%3Adev.localhost%2Fhello-regesta";
const EVENT: &str = "sha256:72242a80c8f7313a873299ca8634adee0d0cecc7f6c258612c20b56b513c28e4";

/// A server after replaying the captured publish (asserting its 201).
async fn published(dir: &std::path::Path) -> TestApp {
    let t = app(
        dir,
        "dev-binding/domain-binding.json",
        "2026-11-25T19:13:01.867Z",
        |_| {},
    );
    let published = send(&t.app, captured_publish(dir, "publish/hello-regesta-0.0.5")).await;
    assert_eq!(published.status.as_u16(), 201, "{}", published.text());
    assert_eq!(
        published.body.as_ref(),
        read(dir, "publish/hello-regesta-0.0.5/response.json")
    );
    assert_eq!(
        published.header("content-type"),
        Some("application/json; charset=UTF-8")
    );
    assert_eq!(published.header("access-control-allow-origin"), Some("*"));
    assert!(published.header("x-request-id").is_some());
    t
}

#[tokio::test]
async fn captured_publish_and_reads_match_the_reference_on_the_wire() {
    let dir = vectors_dir();
    let t = published(&dir).await;
    let cases: Vec<(String, &str)> = vec![
        (PKG.into(), "wire/package-state.json"),
        (format!("{PKG}/releases/0.0.5"), "wire/release-0.0.5.json"),
        (
            format!("{PKG}/releases/0.0.5/verification"),
            "wire/release-0.0.5-verification.json",
        ),
        (format!("{PKG}/channels/latest"), "wire/channel-latest.json"),
        ("/events".into(), "wire/events-page.json"),
        (
            format!("/events?after={EVENT}"),
            "wire/events-after-last.json",
        ),
        (
            format!("/events/sha256/{}", &EVENT[7..]),
            "wire/event-72242a80.json",
        ),
        ("/objects".into(), "wire/objects-inventory.json"),
        (
            "/objects/sha256:28b3fe3307e30609c044fcef04e68f122d36ba789c0a2d35862cdc1edb81a9ad"
                .into(),
            "wire/object-manifest-28b3fe33.json",
        ),
        (
            "/objects/sha256:5a344dd31d26c05e239101a877301b5d8a4d502a59354b1b6819ecdabb829e31"
                .into(),
            "wire/object-tarball-5a344dd3.tgz",
        ),
        (
            "/objects/sha256/026c2ac209fab53a4f7a366cc3c4690fbcaf1f4623918034890b75973320a4e1"
                .into(),
            "wire/object-source-026c2ac2.tgz",
        ),
        (
            "/packages/npm%3Adev.localhost%2Fmissing".into(),
            "wire/package-notfound.json",
        ),
        (
            format!("{PKG}/releases/9.9.9"),
            "wire/release-notfound.json",
        ),
        ("/packages/npm%3Abad".into(), "wire/bad-package-id.json"),
    ];
    // The second round is answered by the hot path's prepared responses,
    // which must be the same bytes and headers.
    for round in ["rendered", "prepared"] {
        for (uri, file) in &cases {
            let reply = get(&t.app, uri).await;
            assert_eq!(
                reply.text(),
                String::from_utf8_lossy(&read(&dir, file)),
                "{round} {uri}"
            );
            let what = format!("{round} {uri}");
            assert_headers(&reply, &read(&dir, &format!("{file}.headers")), &what);
        }
    }
}

#[tokio::test]
async fn object_ranges_follow_the_reference_and_rfc_9110() {
    let dir = vectors_dir();
    let t = published(&dir).await;
    let tarball =
        "/objects/sha256:5a344dd31d26c05e239101a877301b5d8a4d502a59354b1b6819ecdabb829e31";
    let range = send(
        &t.app,
        Request::get(tarball)
            .header("range", "bytes=0-9")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        range.body.as_ref(),
        read(&dir, "wire/object-tarball-range.bin")
    );
    assert_headers(
        &range,
        &read(&dir, "wire/object-tarball-range.bin.headers"),
        "range",
    );
    let unsatisfiable = send(
        &t.app,
        Request::get(tarball)
            .header("range", "bytes=754-")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_headers(
        &unsatisfiable,
        &read(&dir, "wire/object-range-416.bin.headers"),
        "416",
    );
    // RFC 9110: a malformed or multi-range header is ignored (the reference
    // answers 416; see docs/compatibility.md).
    let ignored = send(
        &t.app,
        Request::get(tarball)
            .header("range", "bytes=9-0")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!((ignored.status.as_u16(), ignored.body.len()), (200, 754));
}

#[tokio::test]
async fn head_and_conditional_requests_match_the_reference() {
    let dir = vectors_dir();
    let t = published(&dir).await;
    let head = send(&t.app, Request::head(PKG).body(Body::empty()).unwrap()).await;
    assert!(head.body.is_empty());
    assert_headers(
        &head,
        &read(&dir, "wire/package-state-head.txt.headers"),
        "HEAD state",
    );
    let etag = format!("W/\"{EVENT}\"");
    let not_modified = send(
        &t.app,
        Request::get(PKG)
            .header("if-none-match", &etag)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_headers(
        &not_modified,
        &read(&dir, "wire/package-state-304.txt.headers"),
        "304 state",
    );
    assert!(not_modified.body.is_empty(), "{:?}", not_modified.headers);
    assert!(
        not_modified.header("content-length").is_none(),
        "{:?}",
        not_modified.headers
    );
    let since = send(
        &t.app,
        Request::get(PKG)
            .header("if-modified-since", "Wed, 25 Nov 2026 19:13:01 GMT")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(since.status.as_u16(), 304);
    let head_release = send(
        &t.app,
        Request::head(format!("{PKG}/releases/0.0.5"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(head_release.body.is_empty());
    assert_headers(
        &head_release,
        &read(&dir, "wire/release-head.txt.headers"),
        "HEAD release",
    );
    let cached = send(
        &t.app,
        Request::get(format!("{PKG}/releases/0.0.5"))
            .header("if-none-match", &etag)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(cached.status.as_u16(), 304);
    let binding = send(
        &t.app,
        Request::get("/.well-known/regesta.json")
            .header("host", "dev.localhost:4321")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        binding.body.as_ref(),
        read(&dir, "wire/dev-localhost-well-known.json")
    );
    assert_eq!(binding.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn ssh_signed_writes_are_stored_and_served() {
    let dir = vectors_dir();
    let t = app(
        &dir,
        "publish-ssh/domain-binding.json",
        "2026-11-25T20:45:35.100Z",
        |_| {},
    );
    let published = send(&t.app, captured_publish(&dir, "publish-ssh")).await;
    assert_eq!(
        published.body.as_ref(),
        read(&dir, "publish-ssh/response.json"),
        "{}",
        published.text()
    );
    let page = get(&t.app, "/events").await;
    assert_eq!(page.status.as_u16(), 200);
    let release = get(
        &t.app,
        "/packages/npm%3Adev.localhost%2Fssh-vector/releases/1.0.0",
    )
    .await;
    assert_eq!(
        release.body.as_ref(),
        read(&dir, "publish-ssh/release-1.0.0.json")
    );
    assert_headers(
        &release,
        &read(&dir, "publish-ssh/release-1.0.0.json.headers"),
        "ssh release",
    );
}

#[tokio::test]
async fn ssh_signed_channel_write_over_http_matches_the_patched_reference() {
    let dir = vectors_dir();
    // Both captured writes lie within the skew window of this instant.
    let t = app(
        &dir,
        "publish-ssh/domain-binding.json",
        "2026-11-25T20:45:36.000Z",
        |_| {},
    );
    let published = send(&t.app, captured_publish(&dir, "publish-ssh")).await;
    assert_eq!(published.status.as_u16(), 201, "{}", published.text());
    // Read before the write, so the hot path holds these answers: the
    // write must replace them (read-your-writes).
    let before = ["/packages/npm%3Adev.localhost%2Fssh-vector", "/events"];
    let mut stale = Vec::new();
    for uri in before {
        let reply = get(&t.app, uri).await;
        assert_eq!(reply.status.as_u16(), 200, "{uri}");
        stale.push(reply.text());
    }
    let meta =
        regesta_testkit::read_json(&dir, "publish-ssh/channel-beta-create.request.meta.json");
    let write = send(
        &t.app,
        Request::put(meta["url"].as_str().unwrap())
            .header("content-type", "application/json")
            .body(Body::from(read(
                &dir,
                "publish-ssh/channel-beta-create.request.json",
            )))
            .unwrap(),
    )
    .await;
    assert_eq!(
        write.text(),
        String::from_utf8_lossy(&read(&dir, "publish-ssh/channel-beta-create.response.json"))
    );
    let expected =
        regesta_testkit::read_json(&dir, "publish-ssh/channel-beta-create.response.meta.json");
    assert_eq!(
        u64::from(write.status.as_u16()),
        expected["status"].as_u64().unwrap()
    );
    let reads = [
        (
            "/packages/npm%3Adev.localhost%2Fssh-vector/channels/beta",
            "publish-ssh/channel-beta.json",
        ),
        (
            "/packages/npm%3Adev.localhost%2Fssh-vector",
            "publish-ssh/package-state.json",
        ),
        ("/events", "publish-ssh/events-page.json"),
        (
            "/events/sha256/0d1356551cd3a1eff06648ff62219219f2d39703740685c7f6b18216339e61b3",
            "publish-ssh/event-channel-0d135655.json",
        ),
        (
            "/packages/npm%3Adev.localhost%2Fssh-vector/releases/1.0.0/verification",
            "publish-ssh/release-1.0.0-verification.json",
        ),
    ];
    for (uri, file) in reads {
        let reply = get(&t.app, uri).await;
        assert_eq!(
            reply.text(),
            String::from_utf8_lossy(&read(&dir, file)),
            "{uri}"
        );
        assert_headers(&reply, &read(&dir, &format!("{file}.headers")), uri);
        assert!(
            !stale.contains(&reply.text()),
            "{uri} changed with the write"
        );
    }
}

#[tokio::test]
async fn request_ids_are_kept_when_sane_and_replaced_otherwise() {
    let dir = vectors_dir();
    let t = app(
        &dir,
        "dev-binding/domain-binding.json",
        "2026-11-25T19:13:01.867Z",
        |_| {},
    );
    let kept = send(
        &t.app,
        Request::get("/health")
            .header("x-request-id", "abc-123.X:y_z")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(kept.header("x-request-id"), Some("abc-123.X:y_z"));
    for bad in ["has space", "é", &"a".repeat(129)] {
        let replaced = send(
            &t.app,
            Request::get("/health")
                .header("x-request-id", bad)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        let id = replaced.header("x-request-id").unwrap();
        assert!(id != bad && uuid_like(id), "{bad:?} -> {id}");
    }
    let fresh = get(&t.app, "/health").await;
    assert!(uuid_like(fresh.header("x-request-id").unwrap()));
}

fn uuid_like(id: &str) -> bool {
    id.len() == 36 && id.bytes().filter(|b| *b == b'-').count() == 4
}

/// A small object whose file is damaged is sent as read (the client's
/// digest check refuses it) but never kept as a prepared response: once
/// the file is repaired, the right bytes are served.
#[tokio::test]
async fn damaged_objects_are_sent_as_read_but_never_kept() {
    let dir = vectors_dir();
    let data = tempfile::tempdir().unwrap();
    let blobs = regesta_store::fs::FsBlobs::open(data.path()).unwrap();
    let t = crate::support::app_with_blobs(
        &dir,
        "dev-binding/domain-binding.json",
        "2026-11-25T19:13:01.867Z",
        |_| {},
        std::sync::Arc::new(blobs),
    );
    let published = send(
        &t.app,
        captured_publish(&dir, "publish/hello-regesta-0.0.5"),
    )
    .await;
    assert_eq!(published.status.as_u16(), 201, "{}", published.text());
    let hex = "5a344dd31d26c05e239101a877301b5d8a4d502a59354b1b6819ecdabb829e31";
    let file = data.path().join("objects/sha256").join(&hex[..2]).join(hex);
    let good = std::fs::read(&file).unwrap();
    let mut damaged = good.clone();
    damaged[0] ^= 0xff;
    std::fs::write(&file, &damaged).unwrap();
    let uri = format!("/objects/sha256:{hex}");
    for _ in 0..2 {
        let reply = get(&t.app, &uri).await;
        assert_eq!(reply.body.as_ref(), damaged.as_slice(), "sent as read");
    }
    std::fs::write(&file, &good).unwrap();
    let repaired = get(&t.app, &uri).await;
    assert_eq!(
        repaired.body.as_ref(),
        good.as_slice(),
        "the damaged copy was not kept"
    );
    assert_eq!(
        get(&t.app, &uri).await.body.as_ref(),
        read(&dir, "wire/object-tarball-5a344dd3.tgz").as_slice()
    );
}
