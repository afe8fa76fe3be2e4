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

/// The bytes of a stored object.
async fn object(registry: &regesta_core::Registry, digest: &regesta_protocol::Digest) -> Bytes {
    registry.blobs.get(digest).await.unwrap().unwrap()
}

#[tokio::test]
async fn captured_publish_matches_the_reference_byte_for_byte() {
    let dir = vectors_dir();
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
    let manifest = object(&registry, &published.manifest_descriptor.digest).await;
    assert_eq!(
        manifest.as_ref(),
        read(&dir, "wire/object-manifest-28b3fe33.json")
    );
    let source = object(&registry, &published.manifest.source.digest).await;
    assert_eq!(
        source.as_ref(),
        read(&dir, "wire/object-source-026c2ac2.tgz")
    );
    assert_eq!(db.stats().await.unwrap().objects, 3);

    // The same signed request again is a replay, reported as one before the
    // release conflict (the reference's order): refused, nothing added.
    let again = registry.publish(captured_request(&dir)).await.unwrap_err();
    assert!(matches!(again, CoreError::Replayed(_)), "{again:?}");
    assert_eq!(
        again.to_string(),
        "Write authorization already used: \
         sha256:61c1c676993c3f8418b831a598b81906a81983666942ab435ca6562d32967975"
    );
    assert_eq!(db.stats().await.unwrap().events, 1);
}

#[tokio::test]
async fn publish_outside_the_skew_window_is_refused_and_stores_nothing() {
    let dir = vectors_dir();
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
    let dir = vectors_dir();
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
    assert!(trust.issues.is_empty(), "the reference sends no issues");

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

#[tokio::test]
async fn a_domain_without_a_binding_cannot_publish() {
    let dir = vectors_dir();
    let h = harness(&dir, "dev-binding/domain-binding.json", SIGNED_AT);
    let registry = regesta_core::Registry {
        bindings: std::sync::Arc::new(regesta_trust::StaticBindings::new()),
        ..h.registry
    };
    let err = registry.publish(captured_request(&dir)).await.unwrap_err();
    let CoreError::Unauthorized(trust) = err else {
        panic!("expected 401, got {err:?}")
    };
    assert_eq!(trust.message, "Domain binding not found");
    assert_eq!(h.db.stats().await.unwrap(), regesta_store::Stats::default());
}

fn with_binding(h: &crate::support::Harness, binding: &str) -> regesta_core::Registry {
    let mut bindings = regesta_trust::StaticBindings::new();
    bindings
        .insert(
            &regesta_protocol::OwnerDomain::parse("dev.localhost").unwrap(),
            Bytes::from(binding.to_owned()),
        )
        .unwrap();
    regesta_core::Registry {
        bindings: std::sync::Arc::new(bindings),
        ..h.registry.clone()
    }
}

#[tokio::test]
async fn bindings_that_do_not_vouch_for_the_signature_refuse_the_publish() {
    let dir = vectors_dir();
    let h = harness(&dir, "dev-binding/domain-binding.json", SIGNED_AT);
    let other_key = "kVWgM5g2--WMnqrbDn2t-_xke3DEEFn0-OJ2NylBgj0";
    let binding = |kid: &str, x: &str, extra: &str| {
        format!(
            r#"{{"domain":"dev.localhost","keys":[{{"alg":"EdDSA","kid":"{kid}","publicKeyJwk":{{"crv":"Ed25519","kty":"OKP","x":"{x}"}},"use":"regesta-write"{extra}}}],"object":"regesta.domain-binding"}}"#
        )
    };
    let real = "1qPiOT_-xbOiQV7WdcuD4HrJyt6rKwSyY7YHI4goLoE";
    let cases = [
        (
            binding("ed25519:dev-localhost", other_key, ""),
            "Invalid write authorization signature",
        ),
        (
            binding("ed25519:other", real, ""),
            "Domain binding key not found or inactive",
        ),
        (
            binding(
                "ed25519:dev-localhost",
                real,
                r#","expiresAt":"2026-01-01T00:00:00.000Z""#,
            ),
            "Domain binding key not found or inactive",
        ),
        (
            binding(
                "ed25519:dev-localhost",
                real,
                r#","createdAt":"2027-01-01T00:00:00.000Z""#,
            ),
            "Domain binding key not found or inactive",
        ),
        (
            binding("ed25519:dev-localhost", real, "").replace("dev.localhost", "other.localhost"),
            "Domain binding domain mismatch",
        ),
        ("not json".to_owned(), "Domain binding JSON is invalid"),
    ];
    for (bytes, message) in cases {
        let err = with_binding(&h, &bytes)
            .publish(captured_request(&dir))
            .await
            .unwrap_err();
        let CoreError::Unauthorized(trust) = err else {
            panic!("expected 401, got {err:?}")
        };
        assert_eq!(trust.message, message, "{bytes}");
    }
    assert_eq!(h.db.stats().await.unwrap(), regesta_store::Stats::default());
}

/// npm's processor plus one derived object, recording what it was shown.
struct Deriving {
    seen: std::sync::Mutex<Vec<(String, Option<String>, usize)>>,
}

impl regesta_core::ArtifactProcessor for Deriving {
    fn ecosystem(&self) -> &'static str {
        "npm"
    }

    fn process(
        &self,
        config: &regesta_protocol::ReleaseConfig,
        version: &regesta_protocol::Version,
        artifacts: &[regesta_core::ArtifactBytes<'_>],
    ) -> Result<regesta_core::Processed, regesta_core::ArtifactRefusal> {
        self.seen.lock().unwrap().extend(artifacts.iter().map(|a| {
            (
                a.role.to_owned(),
                a.filename.map(str::to_owned),
                a.bytes.len(),
            )
        }));
        let mut processed =
            regesta_projection_npm::NpmProcessor.process(config, version, artifacts)?;
        processed.derived.push(regesta_core::DerivedObject {
            media_type: regesta_protocol::Text::parse("text/plain").unwrap(),
            bytes: Bytes::from_static(b"derived from the artifacts\n"),
        });
        Ok(processed)
    }
}

#[tokio::test]
async fn a_processor_sees_every_artifact_and_its_derived_objects_are_committed() {
    let dir = vectors_dir();
    let mut h = harness(&dir, "dev-binding/domain-binding.json", SIGNED_AT);
    let deriving = std::sync::Arc::new(Deriving {
        seen: std::sync::Mutex::default(),
    });
    h.registry.ecosystems =
        std::sync::Arc::new(regesta_core::Ecosystems::new().with(deriving.clone()));
    let request = captured_request(&dir);
    let artifact_len = request.files[0].bytes.len();
    let published = h.registry.publish(request).await.unwrap();

    let seen = deriving.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!((seen[0].0.as_str(), seen[0].2), ("install", artifact_len));
    // The signed release is unchanged by what the processor derived.
    let manifest = object(&h.registry, &published.manifest_descriptor.digest).await;
    assert_eq!(
        manifest.as_ref(),
        read(&dir, "wire/object-manifest-28b3fe33.json")
    );
    // The derived object is stored and known, committed with the release.
    let digest = regesta_protocol::Digest::of(b"derived from the artifacts\n");
    let stored = object(&h.registry, &digest).await;
    assert_eq!(stored.as_ref(), b"derived from the artifacts\n");
    let descriptor = h.db.object(&digest).await.unwrap().unwrap();
    assert_eq!(
        (descriptor.media_type.as_str(), descriptor.size),
        ("text/plain", 27)
    );
    assert_eq!(h.db.stats().await.unwrap().objects, 4);
}
