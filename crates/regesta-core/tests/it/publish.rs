//! The publish use case reproduces the reference's captured publish.

use bytes::Bytes;
use regesta_core::CoreError;
use regesta_protocol::EventKeyOrder;
use regesta_store::RegistryDb;
use regesta_testkit::{read, vectors_dir};

use crate::support::{captured_request as captured, harness};

const DIR: &str = "publish/hello-regesta-0.0.5";

fn registry(
    dir: &std::path::Path,
    now: &str,
) -> (
    regesta_core::Registry,
    std::sync::Arc<regesta_store::memory::MemoryDb>,
) {
    let h = harness(dir, "dev-binding/domain-binding.json", now);
    (h.registry, h.db)
}

fn captured_request(dir: &std::path::Path) -> regesta_core::PublishRequest {
    captured(dir, DIR)
}

const SIGNED_AT: &str = "2026-11-25T19:13:01.867Z";

#[tokio::test]
async fn captured_publish_matches_the_reference_byte_for_byte() {
    let Some(dir) = vectors_dir() else { return };
    let (registry, db) = registry(&dir, SIGNED_AT);
    let published = registry.publish(captured_request(&dir)).await.unwrap();
    let body = serde_json::json!({
        "channel": published.channel.as_str(),
        "event": published.event.to_json(EventKeyOrder::Response),
        "manifest": published.manifest,
        "manifestDescriptor": published.manifest_descriptor,
    });
    assert_eq!(
        serde_json::to_vec(&body).unwrap(),
        read(&dir, &format!("{DIR}/response.json"))
    );
    let stored = db.event(&published.event.id).await.unwrap().unwrap();
    assert_eq!(
        stored.bytes.as_ref(),
        read(&dir, "wire/event-72242a80.json")
    );
    let manifest = registry
        .blobs
        .get(&published.manifest_descriptor.digest)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        manifest.as_ref(),
        read(&dir, "wire/object-manifest-28b3fe33.json")
    );
    let source = registry
        .blobs
        .get(&published.manifest.source.digest)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        source.as_ref(),
        read(&dir, "wire/object-source-026c2ac2.tgz")
    );
    assert_eq!(db.stats().await.unwrap().objects, 3);

    // The same signed request again is a replay: refused, nothing added.
    let again = registry.publish(captured_request(&dir)).await.unwrap_err();
    assert!(
        matches!(again, CoreError::ReleaseExists | CoreError::Replayed),
        "{again:?}"
    );
    assert_eq!(db.stats().await.unwrap().events, 1);
}

#[tokio::test]
async fn publish_outside_the_skew_window_is_refused_and_stores_nothing() {
    let Some(dir) = vectors_dir() else { return };
    let (registry, db) = registry(&dir, "2026-11-25T19:23:01.868Z");
    let err = registry.publish(captured_request(&dir)).await.unwrap_err();
    let CoreError::Unauthorized(trust) = err else {
        panic!("expected 401, got {err:?}")
    };
    assert_eq!(trust.message, "Write intent timestamp is outside window");
    assert_eq!(db.stats().await.unwrap(), regesta_store::Stats::default());
}

#[tokio::test]
async fn a_body_that_differs_from_the_signed_intent_is_refused() {
    let Some(dir) = vectors_dir() else { return };
    let (registry, db) = registry(&dir, SIGNED_AT);
    let mut request = captured_request(&dir);
    let mut source = request.source.to_vec();
    source.push(0);
    request.source = Bytes::from(source);
    let err = registry.publish(request).await.unwrap_err();
    let CoreError::Unauthorized(trust) = err else {
        panic!("expected 401, got {err:?}")
    };
    assert_eq!(trust.message, "Write authorization payload mismatch");
    assert_eq!(
        trust.issues,
        vec!["sourceDigest does not match the request"]
    );

    let mut request = captured_request(&dir);
    request.files[0].name = "artifact.9".into();
    assert!(matches!(
        registry.publish(request).await.unwrap_err(),
        CoreError::Invalid { .. }
    ));
    let mut request = captured_request(&dir);
    request.config = Bytes::from_static(br#"{"id":"npm:bad","source":{"include":["x"]}}"#);
    assert!(matches!(
        registry.publish(request).await.unwrap_err(),
        CoreError::Invalid { .. }
    ));
    let mut request = captured_request(&dir);
    request.authorization = Bytes::from_static(br#"{"alg":"EdDSA","alg":"EdDSA"}"#);
    assert!(matches!(
        registry.publish(request).await.unwrap_err(),
        CoreError::Unauthorized(_)
    ));
    assert_eq!(db.stats().await.unwrap(), regesta_store::Stats::default());
}
