use regesta_protocol::keys::{sign_ed25519, signing_key_from_d};
use regesta_protocol::manifest::{SignedArtifactDescriptor, artifact_descriptor_digest};
use regesta_protocol::{
    Digest, DomainBinding, EventKeyOrder, IntentAction, OwnerDomain, ProofKey, ReleaseConfig,
    ReleaseManifest, SealedEvent, Timestamp, WriteAuthorization, WriteIntent,
};
use regesta_testkit::{read, read_json, vectors_dir};

const PUBLISH: &str = "publish/hello-regesta-0.0.5";

#[test]
fn captured_publish_authorization_verifies_against_the_dev_binding() {
    let dir = vectors_dir();
    let auth_json = read_json(&dir, &format!("{PUBLISH}/part-authorization.json"));
    let auth = WriteAuthorization::from_json(&auth_json).unwrap();
    let binding_bytes = read(&dir, "wire/dev-localhost-well-known.json");
    let domain = OwnerDomain::parse("dev.localhost").unwrap();
    let binding = DomainBinding::parse(&binding_bytes, &domain).unwrap();
    let key = binding
        .active_key(&auth.kid, auth.payload.timestamp)
        .expect("kid is in the binding");
    let ProofKey::Jwk(jwk) = &key.key else {
        panic!("expected a JWK key")
    };
    let message = auth.payload.signing_bytes().unwrap();
    assert_eq!(
        message,
        read(
            &dir,
            &format!("{PUBLISH}/authorization-payload.canonical.json")
        )
    );
    jwk.verify(&message, auth.signature.text()).unwrap();
    let mut tampered = message.clone();
    tampered[10] ^= 1;
    assert!(jwk.verify(&tampered, auth.signature.text()).is_err());

    let response = read_json(&dir, &format!("{PUBLISH}/response.json"));
    assert_eq!(
        auth.payload.payload_digest().unwrap().to_string(),
        response["event"]["authorization"]["payloadDigest"]
    );
    assert_eq!(
        Digest::of(&binding_bytes).to_string(),
        response["event"]["authorization"]["wellKnownDigest"]
    );
}

#[test]
fn protocol_digest_vectors_reproduce() {
    let dir = vectors_dir();
    let v = read_json(&dir, "canonical-json/protocol-digest-vectors.json");

    let manifest_text = v["manifestDigest"]["manifestCanonicalPlusNewline"]
        .as_str()
        .unwrap();
    let manifest: ReleaseManifest = serde_json::from_str(manifest_text.trim_end()).unwrap();
    let (descriptor, bytes) = manifest.descriptor().unwrap();
    assert_eq!(bytes, manifest_text.as_bytes());
    assert_eq!(
        descriptor.digest.to_string(),
        v["manifestDigest"]["expected"]
    );

    let config = ReleaseConfig::from_json(v["configDigest"]["config"].clone()).unwrap();
    assert_eq!(
        config.digest().unwrap().to_string(),
        v["configDigest"]["expected"]
    );

    let descriptors: Vec<SignedArtifactDescriptor> = v["artifactDescriptorDigest"]["descriptors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| SignedArtifactDescriptor {
            compatibility: None,
            digest: Digest::parse(d["digest"].as_str().unwrap()).unwrap(),
            filename: d["filename"].as_str().map(|s| s.parse().unwrap()),
            format: d["format"].as_str().map(|s| s.parse().unwrap()),
            media_type: d["mediaType"].as_str().unwrap().parse().unwrap(),
            role: d["role"].as_str().unwrap().parse().unwrap(),
        })
        .collect();
    assert_eq!(
        artifact_descriptor_digest(&descriptors)
            .unwrap()
            .to_string(),
        v["artifactDescriptorDigest"]["expected"]
    );

    let intent = WriteIntent::from_json(&v["writeIntentPayload"]["payload"]).unwrap();
    assert_eq!(
        String::from_utf8(intent.signing_bytes().unwrap()).unwrap(),
        v["writeIntentPayload"]["canonical"].as_str().unwrap()
    );
    assert_eq!(
        intent.payload_digest().unwrap().to_string(),
        v["writeIntentPayload"]["expected"]
    );
}

#[test]
fn deterministic_authorization_is_reproduced_with_the_demo_key() {
    let dir = vectors_dir();
    let v = read_json(&dir, "canonical-json/protocol-digest-vectors.json");
    let det = &v["deterministicSignedWriteAuthorization"];
    let private = read_json(&dir, "dev-binding/private-key.json");
    let key = signing_key_from_d(private["privateKeyJwk"]["d"].as_str().unwrap()).unwrap();
    let intent = WriteIntent::from_json(&det["intent"]).unwrap();
    let message = intent.signing_bytes().unwrap();
    assert_eq!(
        String::from_utf8(message.clone()).unwrap(),
        det["canonicalPayload"].as_str().unwrap()
    );
    assert_eq!(
        sign_ed25519(&key, &message),
        det["authorization"]["signature"]
    );
    let auth = WriteAuthorization::from_json(&det["authorization"]).unwrap();
    assert_eq!(auth.payload, intent);
    assert_eq!(
        intent.payload_digest().unwrap().to_string(),
        det["payloadDigest"]
    );
}

#[test]
fn publish_response_event_and_manifest_render_in_reference_key_order() {
    let dir = vectors_dir();
    let raw = read(&dir, &format!("{PUBLISH}/response.json"));
    let response: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    let event = SealedEvent::from_json(&response["event"]).unwrap();
    let manifest: ReleaseManifest = serde_json::from_value(response["manifest"].clone()).unwrap();
    let (descriptor, _) = manifest.descriptor().unwrap();
    let rebuilt = serde_json::json!({
        "channel": "latest",
        "event": event.to_json(EventKeyOrder::Response),
        "manifest": manifest,
        "manifestDescriptor": descriptor,
    });
    assert_eq!(
        serde_json::to_string(&rebuilt).unwrap().as_bytes(),
        &raw[..]
    );
}

#[test]
fn write_intents_reject_mismatched_domain_and_unknown_fields() {
    let dir = vectors_dir();
    let auth = read_json(&dir, &format!("{PUBLISH}/part-authorization.json"));
    let mut payload = auth["payload"].clone();
    payload["domain"] = serde_json::json!("other.localhost");
    assert!(WriteIntent::from_json(&payload).is_err());
    let mut payload = auth["payload"].clone();
    payload["extra"] = serde_json::json!(1);
    assert!(WriteIntent::from_json(&payload).is_err());
    let mut payload = auth["payload"].clone();
    payload["artifactDigests"] = serde_json::json!([]);
    assert!(WriteIntent::from_json(&payload).is_err());
    let mut payload = auth["payload"].clone();
    payload["timestamp"] = serde_json::json!("2026-11-25T19:13:01Z");
    assert!(WriteIntent::from_json(&payload).is_err());
    let ok = WriteIntent::from_json(&auth["payload"]).unwrap();
    assert!(matches!(ok.action, IntentAction::Publish { .. }));
    assert_eq!(
        ok.timestamp,
        Timestamp::parse("2026-11-25T19:13:01.867Z").unwrap()
    );
}
