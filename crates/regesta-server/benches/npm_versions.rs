//! Does serving a package's npm documents cost more per request as the
//! package grows? Fills an in-memory registry with one package of 10 and of
//! 10,000 releases (the reference's captured manifest, one per version),
//! then times each npm read through the real router, and the first
//! packument read after one more release (the render, paid once per change).
//! Figures are printed as ratios against `/npm/-/ping` of the same run.
//!
//! `cargo bench -p regesta-server --bench npm_versions` (needs the wire
//! vectors, see regesta-testkit).
#![expect(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "a benchmark binary: setup failures abort it, results go to stdout"
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use bytes::Bytes;
use http_body_util::BodyExt;
use regesta_core::Registry;
use regesta_protocol::{ChannelName, Digest, PackageId, ReleaseManifest, Timestamp, Version};
use regesta_server::{App, AppState, Config, SystemClock, router};
use regesta_store::memory::{MemoryBlobs, MemoryDb};
use regesta_store::{BlobStore, PublishCommit, RegistryDb, ReleaseDocuments};
use regesta_trust::StaticBindings;
use tower::ServiceExt;

const PACKAGE: &str = "npm:dev.localhost/hello-regesta";
const REQUESTS: u32 = 300;

struct Bench {
    app: App,
    db: Arc<MemoryDb>,
    blobs: Arc<MemoryBlobs>,
    template: ReleaseManifest,
    releases: u64,
}

impl Bench {
    async fn new(template: ReleaseManifest, releases: u64) -> Self {
        let db = Arc::new(MemoryDb::new());
        let blobs = Arc::new(MemoryBlobs::new());
        let registry = Registry {
            db: db.clone(),
            blobs: blobs.clone(),
            bindings: Arc::new(StaticBindings::new()),
            clock: Arc::new(SystemClock),
            timestamp_tolerance_ms: 600_000,
            views: Arc::default(),
            write_limits: Arc::new(regesta_core::Unlimited),
            ecosystems: Arc::new(regesta_server::ecosystems()),
        };
        let app = router(AppState::new(registry, Config::default()).unwrap(), None);
        let mut bench = Self {
            app,
            db,
            blobs,
            template,
            releases: 0,
        };
        for _ in 0..releases {
            bench.add_release().await;
        }
        bench
    }

    /// Commits release `1.0.<n>` with its manifest, as a publish would.
    async fn add_release(&mut self) {
        let n = self.releases;
        self.releases += 1;
        let version = Version::parse(&format!("1.0.{n}")).unwrap();
        let at = Timestamp::from_unix_millis(1_700_000_000_000 + i64::try_from(n).unwrap() * 1000)
            .unwrap();
        let mut manifest = self.template.clone();
        manifest.version = version.clone();
        manifest.created_at = at;
        let bytes = Bytes::from(serde_json::to_vec(&manifest).unwrap());
        let digest = Digest::of(&bytes);
        self.blobs.put(&digest, bytes).await.unwrap();
        let event_id = Digest::of(format!("event {n}").as_bytes());
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
                facts: None,
                version_key: None,
                name_key: None,
            })
            .await
            .unwrap();
    }

    async fn get(&self, path: &str, accept: &str) -> usize {
        let request = Request::get(path)
            .header("accept", accept)
            .body(Body::empty())
            .unwrap();
        let response = self.app.clone().oneshot(request).await.unwrap();
        assert!(
            response.status().as_u16() < 400,
            "{path}: {}",
            response.status()
        );
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .len()
    }

    /// Mean time of one request, after a warm-up request.
    async fn time(&self, path: &str, accept: &str) -> Duration {
        self.get(path, accept).await;
        let start = Instant::now();
        for _ in 0..REQUESTS {
            self.get(path, accept).await;
        }
        start.elapsed() / REQUESTS
    }

    /// Mean time of the first packument read after one more release.
    async fn render_after_change(&mut self) -> Duration {
        let mut total = Duration::ZERO;
        for _ in 0..5 {
            self.add_release().await;
            let start = Instant::now();
            self.get("/npm/@dev.localhost/hello-regesta", "application/json")
                .await;
            total += start.elapsed();
        }
        total / 5
    }
}

const ROUTES: &[(&str, &str, &str)] = &[
    ("ping", "/npm/-/ping", "application/json"),
    (
        "packument",
        "/npm/@dev.localhost/hello-regesta",
        "application/json",
    ),
    (
        "abbreviated",
        "/npm/@dev.localhost/hello-regesta",
        "application/vnd.npm.install-v1+json",
    ),
    (
        "version",
        "/npm/@dev.localhost/hello-regesta/1.0.7",
        "application/json",
    ),
    (
        "tag",
        "/npm/@dev.localhost/hello-regesta/latest",
        "application/json",
    ),
    (
        "dist-tags",
        "/npm/-/package/@dev.localhost/hello-regesta/dist-tags",
        "application/json",
    ),
    (
        "tarball",
        "/npm/@dev.localhost/hello-regesta/-/hello-regesta-1.0.7.tgz",
        "*/*",
    ),
];

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let dir = regesta_testkit::vectors_dir();
    let template: ReleaseManifest = serde_json::from_slice(&regesta_testkit::read(
        &dir,
        "wire/object-manifest-28b3fe33.json",
    ))
    .unwrap();
    let mut small = Bench::new(template.clone(), 10).await;
    let mut large = Bench::new(template, 10_000).await;
    println!(
        "{:<22} {:>12} {:>12} {:>10}",
        "request", "10 versions", "10,000", "10k / 10"
    );
    let (ping_small, ping_large) = (
        small.time("/npm/-/ping", "*/*").await,
        large.time("/npm/-/ping", "*/*").await,
    );
    let ratio = |d: Duration, base: Duration| d.as_secs_f64() / base.as_secs_f64();
    for (name, path, accept) in ROUTES {
        let a = ratio(small.time(path, accept).await, ping_small);
        let b = ratio(large.time(path, accept).await, ping_large);
        println!("{name:<22} {a:>11.1}x {b:>11.1}x {:>9.2}", b / a);
    }
    let a = ratio(small.render_after_change().await, ping_small);
    let b = ratio(large.render_after_change().await, ping_large);
    println!(
        "{:<22} {a:>11.1}x {b:>11.1}x {:>9.2}",
        "render after release",
        b / a
    );
    let size = large
        .get("/npm/@dev.localhost/hello-regesta", "application/json")
        .await;
    println!("(ratios against /npm/-/ping of the same registry; 10k packument is {size} bytes)");
}
