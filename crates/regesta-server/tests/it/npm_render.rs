//! The npm package documents after a change: assembled from per-release
//! fragments, so a new release reads one manifest, not all of them; equal to
//! a full render from the loaded view; and one render serves concurrent
//! first readers.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use axum::body::Body;
use axum::http::Request;
use bytes::Bytes;
use regesta_core::Registry;
use regesta_protocol::{ChannelName, Digest, PackageId, ReleaseManifest, Timestamp, Version};
use regesta_server::{App, AppState, Config, SystemClock, router};
use regesta_store::memory::{MemoryBlobs, MemoryDb};
use regesta_store::{BlobStore, PublishCommit, RegistryDb, ReleaseDocuments};
use regesta_testkit::{read, vectors_dir};

use crate::support::send;

const PACKAGE: &str = "npm:dev.localhost/hello-regesta";

/// Memory blobs that count reads.
#[derive(Default)]
struct CountingBlobs {
    inner: MemoryBlobs,
    reads: AtomicUsize,
}

#[async_trait]
impl BlobStore for CountingBlobs {
    async fn put(&self, digest: &Digest, bytes: Bytes) -> regesta_store::Result<()> {
        self.inner.put(digest, bytes).await
    }

    async fn get(&self, digest: &Digest) -> regesta_store::Result<Option<Bytes>> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.get(digest).await
    }

    async fn ping(&self) -> regesta_store::Result<()> {
        self.inner.ping().await
    }
}

struct Fixture {
    app: App,
    registry: Registry,
    db: Arc<MemoryDb>,
    blobs: Arc<CountingBlobs>,
    template: ReleaseManifest,
    releases: i64,
}

impl Fixture {
    fn new(template: ReleaseManifest) -> Self {
        let db = Arc::new(MemoryDb::new());
        let blobs = Arc::new(CountingBlobs::default());
        let registry = Registry {
            db: db.clone(),
            blobs: blobs.clone(),
            bindings: Arc::new(regesta_trust::StaticBindings::new()),
            clock: Arc::new(SystemClock),
            timestamp_tolerance_ms: 600_000,
            views: Arc::default(),
            write_limits: Arc::new(regesta_core::Unlimited),
            ecosystems: Arc::new(regesta_server::ecosystems()),
        };
        let app = router(
            AppState::new(registry.clone(), Config::default()).unwrap(),
            None,
        );
        Self {
            app,
            registry,
            db,
            blobs,
            template,
            releases: 0,
        }
    }

    /// Commits release `1.0.<n>` (with an `n`-th description) as a publish
    /// would.
    async fn add_release(&mut self) {
        let n = self.releases;
        self.releases += 1;
        let version = Version::parse(&format!("1.0.{n}")).unwrap();
        let at = Timestamp::from_unix_millis(1_700_000_000_000 + n * 1000).unwrap();
        let mut manifest = self.template.clone();
        manifest.version = version.clone();
        manifest.created_at = at;
        if let Some(metadata) = manifest.metadata.as_mut() {
            metadata.description = Some(format!("release {n}"));
        }
        let bytes = Bytes::from(serde_json::to_vec(&manifest).unwrap());
        let digest = Digest::of(&bytes);
        self.blobs.put(&digest, bytes).await.unwrap();
        let event_id = Digest::of(format!("event {n}").as_bytes());
        let facts = format!(
            r#"{{"fileCount":{n},"integrity":"sha512-{n}","shasum":"{n}","unpackedSize":{n}}}"#
        );
        self.db
            .commit_publish(&PublishCommit {
                package: PackageId::parse(PACKAGE).unwrap(),
                version,
                manifest_digest: digest,
                created_at: at,
                channel: ChannelName::latest(),
                event_id,
                event_bytes: Bytes::from_static(b"{}"),
                event_listing: Bytes::from_static(b"{}"),
                documents: ReleaseDocuments {
                    event_id,
                    envelope: Bytes::from_static(b"{}"),
                    listing: Bytes::from_static(b"{}"),
                },
                payload_digest: None,
                objects: Vec::new(),
                facts: Some(Bytes::from(facts)),
                version_key: None,
                name_key: None,
            })
            .await
            .unwrap();
    }

    async fn get(&self, accept: &str) -> String {
        let request = Request::get("/npm/@dev.localhost/hello-regesta")
            .header("accept", accept)
            .body(Body::empty())
            .unwrap();
        let reply = send(&self.app, request).await;
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.text());
        reply.text()
    }

    fn reads(&self) -> usize {
        self.blobs.reads.load(Ordering::SeqCst)
    }

    /// Both packuments rendered from scratch from the loaded view.
    async fn full_render(&self) -> (String, String) {
        let id = PackageId::parse(PACKAGE).unwrap();
        let view = self.registry.package_view(&id).await.unwrap();
        let base = Config::default().npm_base();
        let text = |v| serde_json::to_string(&v).unwrap();
        (
            text(regesta_projection_npm::packument(&id, &view, &base).unwrap()),
            text(regesta_projection_npm::abbreviated(&id, &view, &base).unwrap()),
        )
    }
}

fn template() -> ReleaseManifest {
    let dir = vectors_dir();
    serde_json::from_slice(&read(&dir, "wire/object-manifest-28b3fe33.json")).unwrap()
}

const SHORT: &str = "application/vnd.npm.install-v1+json";

#[tokio::test]
async fn a_new_release_reads_one_manifest_and_equals_a_full_render() {
    let template = template();
    let mut t = Fixture::new(template);
    for _ in 0..20 {
        t.add_release().await;
    }
    let first = t.get("application/json").await;
    assert_eq!(t.reads(), 20, "the first render reads every manifest once");
    assert!(t.get(SHORT).await.len() < first.len());
    assert_eq!(t.reads(), 20, "both forms come from one render");

    t.add_release().await;
    let before = t.reads();
    let full = t.get("application/json").await;
    let short = t.get(SHORT).await;
    assert_eq!(
        t.reads() - before,
        1,
        "only the new release's manifest is read"
    );
    let (expected_full, expected_short) = t.full_render().await;
    assert_eq!(full, expected_full);
    assert_eq!(short, expected_short);
    let doc: serde_json::Value = serde_json::from_str(&full).unwrap();
    assert_eq!(doc["versions"].as_object().unwrap().len(), 21);
    assert_eq!(doc["description"], "release 20", "the newest release's");
    assert_eq!(doc["dist-tags"]["latest"], "1.0.20");
    assert_eq!(doc["versions"]["1.0.7"]["dist"]["unpackedSize"], 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_reads_share_one_render() {
    let template = template();
    let mut t = Fixture::new(template);
    for _ in 0..50 {
        t.add_release().await;
    }
    let t = Arc::new(t);
    let readers: Vec<_> = (0..16)
        .map(|i| {
            let t = t.clone();
            tokio::spawn(async move {
                let accept = if i % 2 == 0 {
                    "application/json"
                } else {
                    SHORT
                };
                t.get(accept).await
            })
        })
        .collect();
    for reader in readers {
        reader.await.unwrap();
    }
    assert_eq!(t.reads(), 50, "16 concurrent readers, one render");
}
