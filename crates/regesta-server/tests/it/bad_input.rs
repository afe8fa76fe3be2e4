//! Every route answers bad input with a structured 4xx and changes nothing.

use axum::body::Body;
use axum::http::Request;
use regesta_store::{RegistryDb, Stats};
use regesta_testkit::vectors_dir;

use crate::support::{Reply, app, captured_publish, get, send};

fn code(reply: &Reply) -> String {
    reply.json()["code"].as_str().unwrap_or_default().to_owned()
}

const DIGEST: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

#[tokio::test]
async fn malformed_reads_are_400_or_404_with_codes() {
    let dir = vectors_dir();
    let t = app(
        &dir,
        "dev-binding/domain-binding.json",
        "2026-11-25T19:13:01.867Z",
        |_| {},
    );
    let cases = [
        ("/packages/npm%3Abad", 400, "request_invalid"),
        ("/packages/NPM%3Aa.b%2Fc", 400, "request_invalid"),
        ("/packages/npm%3A%40a.b%2Fc", 400, "request_invalid"),
        ("/packages/npm%ZZ", 400, "request_invalid"),
        (
            "/packages/npm%3Aa.b%2Fc/releases/%00",
            400,
            "request_invalid",
        ),
        (
            "/packages/npm%3Aa.b%2Fc/channels/%7F",
            400,
            "request_invalid",
        ),
        ("/objects/sha256:XYZ", 400, "request_invalid"),
        ("/objects/md5/00", 400, "request_invalid"),
        ("/objects/sha256/ABC", 400, "request_invalid"),
        ("/events/sha256:0000", 404, "not_found"),
        ("/events/sha256/short", 400, "request_invalid"),
        ("/events?limit=0", 400, "request_invalid"),
        ("/events?limit=1000", 400, "request_invalid"),
        (
            "/events?limit=99999999999999999999999",
            400,
            "request_invalid",
        ),
        ("/events?after=junk", 400, "request_invalid"),
        ("/events?after=%ZZ", 400, "request_invalid"),
        ("/objects?limit=-1", 400, "request_invalid"),
        ("/packages/npm%3Aa.b%2Fc", 404, "package_not_found"),
        (
            "/packages/npm%3Aa.b%2Fc/channels/latest",
            404,
            "channel_not_found",
        ),
        (&*format!("/objects/{DIGEST}"), 404, "object_not_found"),
        (
            &*format!("/events/sha256/{}", &DIGEST[7..]),
            404,
            "event_not_found",
        ),
        (
            &*format!("/events?after={DIGEST}"),
            404,
            "event_cursor_not_found",
        ),
        (
            &*format!("/objects?after={DIGEST}"),
            404,
            "object_cursor_not_found",
        ),
        ("/no/such/route", 404, "not_found"),
    ];
    for (uri, status, expected) in cases {
        let reply = get(&t.app, uri).await;
        assert_eq!(reply.status.as_u16(), status, "{uri}: {}", reply.text());
        assert_eq!(code(&reply), expected, "{uri}");
        assert_eq!(
            reply.header("content-type"),
            Some("application/json; charset=UTF-8"),
            "{uri}"
        );
        assert_eq!(reply.json()["message"], reply.json()["error"], "{uri}");
    }
    let wrong_method = send(
        &t.app,
        Request::delete("/objects").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(
        (wrong_method.status.as_u16(), code(&wrong_method)),
        (404, "not_found".into())
    );
}

fn multipart(parts: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "XBOUNDARYX";
    let mut body = Vec::new();
    for (name, bytes) in parts {
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"f\"\r\n\r\n").as_bytes());
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn post(t: &crate::support::TestApp, content_type: &str, body: Vec<u8>) -> Reply {
    let len = body.len();
    send(
        &t.app,
        Request::post("/releases")
            .header("content-type", content_type)
            .header("content-length", len)
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn malformed_publishes_are_refused_and_store_nothing() {
    let dir = vectors_dir();
    let t = app(
        &dir,
        "dev-binding/domain-binding.json",
        "2026-11-25T19:13:01.867Z",
        |c| {
            c.max_request_bytes = 64 * 1024;
            c.max_artifact_bytes = 1024;
        },
    );
    let config = br#"{"id":"npm:dev.localhost/x","source":{"include":["a"]},"version":"1.0.0"}"#;
    let cases: Vec<(String, Vec<u8>, u16, &str)> = vec![
        (
            "text/plain".into(),
            b"hello".to_vec(),
            400,
            "request_invalid",
        ),
        (
            "multipart/form-data".into(),
            b"--x--".to_vec(),
            400,
            "request_invalid",
        ),
        {
            let (ct, body) = multipart(&[("config", config)]);
            (ct, body, 400, "request_invalid")
        },
        {
            let (ct, body) = multipart(&[("config", config), ("config", config)]);
            (ct, body, 400, "request_invalid")
        },
        {
            let big = vec![b'x'; 2048];
            let (ct, body) = multipart(&[("artifact.0", &big)]);
            (ct, body, 400, "request_invalid")
        },
        {
            let (ct, body) = multipart(&[
                ("config", b"{\"id\":1}"),
                ("source", b"s"),
                ("artifacts", b"[]"),
                ("authorization", b"{}"),
            ]);
            (ct, body, 400, "request_invalid")
        },
        {
            let (ct, body) = multipart(&[
                ("config", config),
                ("source", b"s"),
                (
                    "artifacts",
                    br#"[{"part":"artifact.0","mediaType":"application/gzip","role":"install"}]"#,
                ),
                ("artifact.0", b"a"),
                ("authorization", br#"{"alg":"EdDSA","alg":"EdDSA"}"#),
            ]);
            (ct, body, 401, "write_authorization_invalid")
        },
    ];
    for (content_type, body, status, expected) in cases {
        let reply = post(&t, &content_type, body).await;
        assert_eq!(
            reply.status.as_u16(),
            status,
            "{content_type}: {}",
            reply.text()
        );
        assert_eq!(code(&reply), expected);
    }

    let huge = send(
        &t.app,
        Request::post("/releases")
            .header("content-type", "multipart/form-data; boundary=x")
            .header("content-length", "99999999")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        (huge.status.as_u16(), code(&huge)),
        (413, "request_too_large".into())
    );
    assert_eq!(
        huge.json()["issues"][0],
        "content-length: Must be at most 65536 bytes"
    );
    assert_eq!(t.db.stats().await.unwrap(), Stats::default());
}

#[tokio::test]
async fn oversized_streams_are_stopped_and_preflight_passes_limits() {
    let dir = vectors_dir();
    let t = app(
        &dir,
        "dev-binding/domain-binding.json",
        "2026-11-25T19:13:01.867Z",
        |c| c.max_request_bytes = 64 * 1024,
    );
    // A body larger than the limit with no declared length is stopped while
    // streaming.
    let (content_type, body) = multipart(&[("source", &vec![b'x'; 100 * 1024])]);
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = body
        .chunks(4096)
        .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
        .collect();
    let streamed = send(
        &t.app,
        Request::post("/releases")
            .header("content-type", content_type)
            .body(Body::from_stream(futures_stream(chunks)))
            .unwrap(),
    )
    .await;
    assert_eq!(
        (streamed.status.as_u16(), code(&streamed)),
        (413, "request_too_large".into())
    );

    let preflight = send(
        &t.app,
        Request::options("/releases")
            .header("origin", "https://example.com")
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .header("content-length", "99999999")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(preflight.status.as_u16(), 204);
    assert_eq!(preflight.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        preflight.header("access-control-allow-headers"),
        Some("content-type")
    );

    assert_eq!(t.db.stats().await.unwrap(), Stats::default());
}

fn futures_stream(
    chunks: Vec<Result<bytes::Bytes, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>> {
    futures_util::stream::iter(chunks)
}

#[tokio::test]
async fn bad_channel_writes_are_refused_and_store_nothing() {
    let dir = vectors_dir();
    let t = app(
        &dir,
        "dev-binding/domain-binding.json",
        "2026-11-25T19:13:01.867Z",
        |_| {},
    );
    let published = send(
        &t.app,
        captured_publish(&dir, "publish/hello-regesta-0.0.5"),
    )
    .await;
    assert_eq!(published.status.as_u16(), 201);
    let before = t.db.stats().await.unwrap();
    let uri = "/packages/npm%3Adev.localhost%2Fhello-regesta/channels/beta";
    let cases: [(&str, &[u8], u16, &str); 6] = [
        ("PUT", b"not json", 400, "request_invalid"),
        ("PUT", b"{}", 400, "request_invalid"),
        (
            "PUT",
            br#"{"authorization":{},"version":"1.0.0"}"#,
            401,
            "write_authorization_invalid",
        ),
        (
            "PUT",
            br#"{"authorization":{},"version":"1.0.0","x":1}"#,
            400,
            "request_invalid",
        ),
        (
            "DELETE",
            br#"{"authorization":{"alg":"none"}}"#,
            401,
            "write_authorization_invalid",
        ),
        ("DELETE", b"[]", 400, "request_invalid"),
    ];
    for (method, body, status, expected) in cases {
        let reply = send(
            &t.app,
            Request::builder()
                .method(method)
                .uri(uri)
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
        assert_eq!(
            reply.status.as_u16(),
            status,
            "{method} {}: {}",
            String::from_utf8_lossy(body),
            reply.text()
        );
        assert_eq!(code(&reply), expected);
    }
    let replay = send(
        &t.app,
        captured_publish(&dir, "publish/hello-regesta-0.0.5"),
    )
    .await;
    assert_eq!(
        (replay.status.as_u16(), code(&replay)),
        (409, "write_authorization_replayed".into())
    );
    assert_eq!(t.db.stats().await.unwrap(), before);
    let info = get(&t.app, "/").await;
    assert_eq!(info.json()["statistics"]["releases"], 1);
}
