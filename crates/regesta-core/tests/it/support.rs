//! A registry over memory adapters with a settable clock and loaded dev
//! bindings.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use bytes::Bytes;
use regesta_core::{Clock, FilePart, PublishRequest, Registry};
use regesta_protocol::keys::{sign_ed25519, signing_key_from_d};
use regesta_protocol::{OwnerDomain, Timestamp, WriteAuthorization, WriteIntent};
use regesta_store::memory::{MemoryBlobs, MemoryDb};
use regesta_testkit::{read, read_json};
use regesta_trust::StaticBindings;

pub(crate) struct SettableClock(AtomicI64);

impl SettableClock {
    pub(crate) fn set(&self, at: &str) {
        self.0.store(
            Timestamp::parse(at).unwrap().unix_millis(),
            Ordering::SeqCst,
        );
    }
}

impl Clock for SettableClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_unix_millis(self.0.load(Ordering::SeqCst)).unwrap()
    }
}

pub(crate) struct Harness {
    pub(crate) registry: Registry,
    pub(crate) db: Arc<MemoryDb>,
    pub(crate) clock: Arc<SettableClock>,
}

/// A registry whose `dev.localhost` binding is the file `binding` (relative
/// to the vectors dir), with the clock at `now`.
pub(crate) fn harness(dir: &Path, binding: &str, now: &str) -> Harness {
    let mut bindings = StaticBindings::new();
    bindings
        .insert(
            &OwnerDomain::parse("dev.localhost").unwrap(),
            Bytes::from(read(dir, binding)),
        )
        .unwrap();
    let db = Arc::new(MemoryDb::new());
    let clock = Arc::new(SettableClock(AtomicI64::new(0)));
    clock.set(now);
    let registry = Registry {
        db: db.clone(),
        blobs: Arc::new(MemoryBlobs::new()),
        bindings: Arc::new(bindings),
        clock: clock.clone(),
        timestamp_tolerance_ms: 600_000,
        views: Arc::default(),
        write_limits: Arc::new(regesta_core::Unlimited),
        ecosystems: Arc::new(
            regesta_core::Ecosystems::new().with(Arc::new(regesta_projection_npm::NpmProcessor)),
        ),
    };
    Harness {
        registry,
        db,
        clock,
    }
}

/// The multipart parts of a captured publish under `dir/prefix`.
pub(crate) fn captured_request(dir: &Path, prefix: &str) -> PublishRequest {
    let part = |name: &str| Bytes::from(read(dir, &format!("{prefix}/{name}")));
    PublishRequest {
        config: part("part-config.json"),
        source: part("part-source.tgz"),
        artifacts: part("part-artifacts.json"),
        authorization: part("part-authorization.json"),
        files: vec![FilePart {
            name: "artifact.0".into(),
            bytes: part("part-artifact.0.bin"),
        }],
        created_at: None,
    }
}

/// Signs `intent` (JSON) with the reference's public demo key, returning a
/// channel write body `{authorization, version?}`.
pub(crate) fn signed_channel_body(
    dir: &Path,
    intent: &serde_json::Value,
    version: Option<&str>,
) -> Vec<u8> {
    let private = read_json(dir, "dev-binding/private-key.json");
    let key = signing_key_from_d(private["privateKeyJwk"]["d"].as_str().unwrap()).unwrap();
    let intent = WriteIntent::from_json(intent).unwrap();
    let signature = sign_ed25519(&key, &intent.signing_bytes().unwrap());
    let auth = WriteAuthorization::from_json(&serde_json::json!({
        "alg": "EdDSA",
        "kid": "ed25519:dev-localhost",
        "payload": intent.to_json(),
        "signature": signature,
    }))
    .unwrap();
    let mut body = serde_json::json!({ "authorization": auth.to_json() });
    if let Some(v) = version {
        body["version"] = serde_json::json!(v);
    }
    serde_json::to_vec(&body).unwrap()
}
