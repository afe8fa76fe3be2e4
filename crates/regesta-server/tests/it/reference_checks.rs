//! Checks the reference performs and answers in its own words, found by a
//! differential run against it: publish validation in the reference's
//! order, the exact error texts, and the 422 of verifying a missing
//! release. Each refusal changes nothing.

use axum::body::Body;
use axum::http::Request;
use regesta_store::RegistryDb;
use regesta_testkit::vectors_dir;
use serde_json::json;

use crate::signed::{Publish, SIGNED_AT, multipart_request, sign};
use crate::support::{Reply, TestApp, app, captured_publish, get, send};

const PKG: &str = "/packages/npm%3Adev.localhost%2Fhello-regesta";

fn fresh(dir: &std::path::Path) -> TestApp {
    app(dir, "dev-binding/domain-binding.json", SIGNED_AT, |_| {})
}

/// The reply is exactly the v0 error envelope with `status`, `code` and
/// `message`, and no `issues`.
fn assert_error(reply: &Reply, status: u16, code: &str, message: &str) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.text());
    let expected = json!({"code": code, "error": message, "message": message});
    assert_eq!(reply.text(), expected.to_string());
}

#[tokio::test]
async fn a_config_description_must_match_package_json() {
    let dir = vectors_dir();
    let t = fresh(&dir);
    // A package.json that carries a description.
    let described = || {
        let mut publish = Publish::new("described", "1.0.0");
        publish.package_json = json!({
            "name": "@dev.localhost/described",
            "version": "1.0.0",
            "description": "what package.json says",
        })
        .to_string();
        publish
    };
    let mut publish = described();
    publish.config["description"] = json!("what regesta.json says");
    let reply = send(&t.app, publish.request(&dir)).await;
    assert_error(
        &reply,
        400,
        "request_invalid",
        "regesta.json description must match npm package.json description",
    );
    assert_eq!(t.db.stats().await.unwrap(), regesta_store::Stats::default());

    // Without a config description, package.json's is taken (and signed).
    let publish = described();
    let reply = send(&t.app, publish.request(&dir)).await;
    assert_eq!(reply.status.as_u16(), 201, "{}", reply.text());
    assert_eq!(
        reply.json()["manifest"]["metadata"]["description"],
        "what package.json says"
    );
}

#[tokio::test]
async fn created_at_must_be_the_signed_time() {
    let dir = vectors_dir();
    let t = fresh(&dir);
    let mut publish = Publish::new("timed", "1.0.0");
    publish.created_at = Some("2026-11-25T19:13:02.000Z");
    let reply = send(&t.app, publish.request(&dir)).await;
    assert_error(
        &reply,
        400,
        "request_invalid",
        "Publish createdAt must match write authorization signedAt",
    );
    assert_eq!(t.db.stats().await.unwrap(), regesta_store::Stats::default());

    publish.created_at = Some(SIGNED_AT);
    let reply = send(&t.app, publish.request(&dir)).await;
    assert_eq!(reply.status.as_u16(), 201, "{}", reply.text());
    assert_eq!(reply.json()["manifest"]["createdAt"], SIGNED_AT);
}

#[tokio::test]
async fn an_authorization_part_that_is_not_a_json_object_is_a_bad_request() {
    let dir = vectors_dir();
    let t = fresh(&dir);
    for (authorization, message, issues) in [
        ("not json", "Invalid authorization JSON", json!(null)),
        (
            "[]",
            "Invalid authorization",
            json!(["Invalid type: Expected Object but received Array"]),
        ),
        (
            "\"text\"",
            "Invalid authorization",
            json!(["Invalid type: Expected Object but received \"text\""]),
        ),
    ] {
        let mut publish = Publish::new("x", "1.0.0");
        publish.authorization = Some(authorization);
        let request = publish.request(&dir);
        let reply = send(&t.app, request).await;
        assert_eq!(
            reply.status.as_u16(),
            400,
            "{authorization}: {}",
            reply.text()
        );
        let doc = reply.json();
        assert_eq!(doc["code"], "request_invalid");
        assert_eq!(doc["message"], message);
        assert_eq!(doc["issues"], issues, "{authorization}");
    }
    assert_eq!(t.db.stats().await.unwrap(), regesta_store::Stats::default());
}

#[tokio::test]
async fn a_replayed_publish_is_a_replay_and_names_the_payload() {
    let dir = vectors_dir();
    let t = fresh(&dir);
    let first = send(
        &t.app,
        captured_publish(&dir, "publish/hello-regesta-0.0.5"),
    )
    .await;
    assert_eq!(first.status.as_u16(), 201);
    let before = t.db.stats().await.unwrap();
    let again = send(
        &t.app,
        captured_publish(&dir, "publish/hello-regesta-0.0.5"),
    )
    .await;
    assert_error(
        &again,
        409,
        "write_authorization_replayed",
        "Write authorization already used: \
         sha256:61c1c676993c3f8418b831a598b81906a81983666942ab435ca6562d32967975",
    );
    assert_eq!(t.db.stats().await.unwrap(), before);

    // The same release under a fresh authorization is the release conflict.
    let mut other = Publish::new("hello-regesta", "0.0.5");
    other.nonce = "nonce-2";
    let t2 = fresh(&dir);
    assert_eq!(
        send(
            &t2.app,
            Publish::new("hello-regesta", "0.0.5").request(&dir)
        )
        .await
        .status
        .as_u16(),
        201
    );
    let conflict = send(&t2.app, other.request(&dir)).await;
    assert_error(
        &conflict,
        409,
        "release_already_exists",
        "Release already exists: npm:dev.localhost/hello-regesta@0.0.5",
    );
}

/// A signed `channel.update` body for the captured package.
fn channel_body(dir: &std::path::Path, version: &str, previous: Option<&str>) -> Vec<u8> {
    let mut intent = json!({
        "channel": "beta",
        "domain": "dev.localhost",
        "nonce": format!("move-{version}-{previous:?}"),
        "object": "regesta.write-intent",
        "operation": "channel.update",
        "package": "npm:dev.localhost/hello-regesta",
        "timestamp": SIGNED_AT,
        "version": version,
    });
    if let Some(p) = previous {
        intent["previousVersion"] = json!(p);
    }
    json!({"authorization": sign(dir, &intent), "version": version})
        .to_string()
        .into_bytes()
}

async fn put_beta(t: &TestApp, body: Vec<u8>) -> Reply {
    send(
        &t.app,
        Request::put(format!("{PKG}/channels/beta"))
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn channel_write_refusals_use_the_reference_texts() {
    let dir = vectors_dir();
    let t = fresh(&dir);
    assert_eq!(
        send(
            &t.app,
            captured_publish(&dir, "publish/hello-regesta-0.0.5")
        )
        .await
        .status
        .as_u16(),
        201
    );
    let before = t.db.stats().await.unwrap();
    let missing = put_beta(&t, channel_body(&dir, "9.9.9", None)).await;
    assert_error(
        &missing,
        404,
        "release_not_found",
        "Release not found: npm:dev.localhost/hello-regesta@9.9.9",
    );
    // A stale previousVersion: the reference's 401 has no `issues`.
    let stale = put_beta(&t, channel_body(&dir, "0.0.5", Some("0.0.1"))).await;
    assert_eq!(
        stale.body.as_ref(),
        regesta_testkit::read(&dir, "channel/03-put-beta-stale-rejected.response.json")
    );
    assert_eq!(t.db.stats().await.unwrap(), before);

    let created = put_beta(&t, channel_body(&dir, "0.0.5", None)).await;
    assert_eq!(created.status.as_u16(), 200, "{}", created.text());
    // A move that leaves the channel where it was can be sent again with
    // its intent still matching: the second time it is a replay.
    let same = channel_body(&dir, "0.0.5", Some("0.0.5"));
    assert_eq!(put_beta(&t, same.clone()).await.status.as_u16(), 200);
    let replayed = put_beta(&t, same).await;
    assert_eq!(replayed.status.as_u16(), 409, "{}", replayed.text());
    assert_eq!(replayed.json()["code"], "write_authorization_replayed");
    assert!(
        replayed.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("Write authorization already used: sha256:")
    );
}

#[tokio::test]
async fn verifying_a_missing_release_is_a_failed_verification() {
    let dir = vectors_dir();
    let t = fresh(&dir);
    let reply = get(&t.app, &format!("{PKG}/releases/9.9.9/verification")).await;
    assert_eq!(reply.status.as_u16(), 422);
    assert_eq!(
        reply.text(),
        r#"{"ok":false,"problems":["Release not found: npm:dev.localhost/hello-regesta@9.9.9"]}"#
    );
    assert_eq!(reply.header("cache-control"), Some("no-cache"));
    assert_eq!(
        reply.header("content-type"),
        Some("application/json; charset=UTF-8")
    );
}

#[tokio::test]
async fn a_malformed_escape_in_a_page_query_is_an_invalid_query() {
    let dir = vectors_dir();
    let t = fresh(&dir);
    for (uri, message, issue) in [
        (
            "/events?after=%ZZ",
            "Invalid event log query",
            "after: Must be a sha256 digest",
        ),
        (
            "/events?limit=%ZZ",
            "Invalid event log query",
            "limit: Must be an integer from 1 to 999",
        ),
        (
            "/objects?after=%E0%A4%A",
            "Invalid object inventory query",
            "after: Must be a sha256 digest",
        ),
    ] {
        let reply = get(&t.app, uri).await;
        assert_eq!(reply.status.as_u16(), 400, "{uri}");
        let doc = reply.json();
        assert_eq!(doc["message"], message, "{uri}");
        assert_eq!(doc["issues"], json!([issue]), "{uri}");
    }
    // An escape in a key the route does not read changes nothing.
    assert_eq!(get(&t.app, "/events?x=%ZZ").await.status.as_u16(), 200);
}

/// The manifest a read served, re-serialized in its served key order: the
/// nested `ecosystemMetadata` must already be canonical.
fn served_metadata(doc: &serde_json::Value) -> (String, String) {
    let metadata = &doc["manifest"]["artifacts"][0]["ecosystemMetadata"];
    let served = serde_json::to_string(metadata).unwrap();
    let canonical =
        String::from_utf8(regesta_protocol::json::to_canonical_vec(metadata).unwrap()).unwrap();
    (served, canonical)
}

#[test]
fn every_read_that_embeds_a_manifest_serves_it_canonical() {
    use proptest::prelude::{Just, Strategy};
    let dir = vectors_dir();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let names = vec!["zeta", "alpha", "Mu", "beta-x", "a", "@scope/pkg", "é"];
    let orders = Just(names).prop_shuffle();
    let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
        cases: 12,
        ..proptest::test_runner::Config::default()
    });
    runner
        .run(&orders, |order| {
            runtime.block_on(async {
                let t = fresh(&dir);
                let mut publish = Publish::new("ordered", "1.0.0");
                let mut package = serde_json::Map::new();
                package.insert("name".into(), json!("@dev.localhost/ordered"));
                package.insert("version".into(), json!("1.0.0"));
                let deps: serde_json::Map<String, serde_json::Value> = order
                    .iter()
                    .map(|n| ((*n).to_owned(), json!("^1.0.0")))
                    .collect();
                package.insert(
                    "dependencies".into(),
                    serde_json::Value::Object(deps.clone()),
                );
                package.insert("peerDependencies".into(), serde_json::Value::Object(deps));
                publish.package_json = serde_json::Value::Object(package).to_string();
                let published = send(&t.app, publish.request(&dir)).await;
                assert_eq!(published.status.as_u16(), 201, "{}", published.text());
                let digest = published.json()["manifestDescriptor"]["digest"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                let pkg = "/packages/npm%3Adev.localhost%2Fordered";
                let object = get(&t.app, &format!("/objects/{digest}")).await;
                let wrapped = json!({"manifest": object.json()});
                for (route, doc) in [
                    (
                        "release",
                        get(&t.app, &format!("{pkg}/releases/1.0.0")).await.json(),
                    ),
                    (
                        "channel",
                        get(&t.app, &format!("{pkg}/channels/latest")).await.json(),
                    ),
                    (
                        "verification",
                        get(&t.app, &format!("{pkg}/releases/1.0.0/verification"))
                            .await
                            .json(),
                    ),
                    ("manifest object", wrapped),
                ] {
                    let (served, canonical) = served_metadata(&doc);
                    assert_eq!(served, canonical, "{route} for {order:?}");
                }
            });
            Ok(())
        })
        .unwrap();
}

#[tokio::test]
async fn a_trailing_slash_on_a_get_redirects_to_the_slashless_url() {
    let dir = vectors_dir();
    let t = fresh(&dir);
    for (path, location) in [
        ("/packages/", "http://localhost:4321/packages"),
        ("/health/", "http://localhost:4321/health"),
        (
            "/packages/npm%3Adev.localhost%2Fhello-regesta/?a=1",
            "http://localhost:4321/packages/npm%3Adev.localhost%2Fhello-regesta?a=1",
        ),
        (
            "/npm/@dev.localhost/x/",
            "http://localhost:4321/npm/@dev.localhost/x",
        ),
    ] {
        for method in ["GET", "HEAD"] {
            let reply = send(
                &t.app,
                Request::builder()
                    .method(method)
                    .uri(path)
                    .header("host", "localhost:4321")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
            assert_eq!(reply.status.as_u16(), 301, "{method} {path}");
            assert_eq!(reply.header("location"), Some(location), "{method} {path}");
            assert!(reply.body.is_empty());
        }
    }
    // Over HTTP/2 the host is the URI's authority; there is no `Host`.
    let h2 = send(
        &t.app,
        Request::get("http://localhost:4321/health/")
            .version(axum::http::Version::HTTP_2)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(h2.header("location"), Some("http://localhost:4321/health"));
    // Other methods, and the root, keep the JSON 404.
    let post = send(
        &t.app,
        Request::post("/releases/").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(post.status.as_u16(), 404);
    assert_eq!(post.json()["code"], "not_found");
}

#[tokio::test]
async fn bad_versions_and_channels_are_worded_as_the_reference() {
    let dir = vectors_dir();
    let t = fresh(&dir);
    for (uri, message, issue) in [
        (
            format!("{PKG}/releases/1.0%0A"),
            "Invalid version",
            "Package version must not include control characters",
        ),
        (
            format!("{PKG}/channels/be%7Fta"),
            "Invalid channel",
            "Package channel must not include control characters",
        ),
    ] {
        let reply = get(&t.app, &uri).await;
        assert_eq!(reply.status.as_u16(), 400, "{uri}");
        assert_eq!(
            reply.text(),
            json!({"code": "request_invalid", "error": message, "issues": [issue], "message": message})
                .to_string()
        );
    }
}

#[tokio::test]
async fn missing_publish_parts_are_named_as_the_reference_names_them() {
    let dir = vectors_dir();
    let t = fresh(&dir);
    let part = |name: &str, bytes: &[u8]| (name.to_owned(), bytes.to_vec());
    let config = br#"{"id":"npm:dev.localhost/x","source":{"include":["a"]},"version":"1.0.0"}"#;
    let artifacts = br#"[{"mediaType":"application/gzip","part":"artifact.0","role":"install"}]"#;
    let text = "Invalid type: Expected (string | File) but received undefined";
    for (parts, field, issue) in [
        (vec![part("source", b"s")], "config", text),
        (vec![part("config", config)], "artifacts", text),
        (
            vec![
                part("config", config),
                part("artifacts", artifacts),
                part("source", b"s"),
                part("authorization", b"{}"),
            ],
            "artifact.0",
            "Must be a file",
        ),
        (
            vec![
                part("config", config),
                part("artifacts", artifacts),
                part("artifact.0", b"a"),
            ],
            "source",
            "Must be a file",
        ),
        (
            vec![
                part("config", config),
                part("artifacts", artifacts),
                part("artifact.0", b"a"),
                part("source", b"s"),
            ],
            "authorization",
            text,
        ),
    ] {
        let parts: Vec<(&str, Vec<u8>)> = parts
            .iter()
            .map(|(name, bytes)| (name.as_str(), bytes.clone()))
            .collect();
        let request = multipart_request(&parts);
        let reply = send(&t.app, request).await;
        let message = format!("Invalid publish request field {field}");
        assert_eq!(
            reply.text(),
            json!({"code": "request_invalid", "error": message, "issues": [issue], "message": message})
                .to_string(),
            "{field}"
        );
    }
    assert_eq!(t.db.stats().await.unwrap(), regesta_store::Stats::default());
}
