//! Transparency-log figures on this machine, printed with the baseline each
//! is compared to in the same run (shared machines are noisy; compare
//! ratios between runs, not times):
//!
//! - proof generation and verification at 10^6 entries, against one SHA-256
//!   leaf hash; proof sizes;
//! - sequencing throughput (payload check, hashing, tiles, signed
//!   checkpoint, store commit) on the memory store and on SQLite with
//!   `synchronous=FULL`, against committing the same events.
//!
//! `cargo bench -p regesta-core --bench tlog [-- <events>]`
#![expect(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::cast_precision_loss,
    reason = "a benchmark binary: setup failures abort it, results (approximate rates) go to stdout"
)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use regesta_core::log::LogConfig;
use regesta_core::{Clock, Registry};
use regesta_protocol::{ChannelName, Event, EventBody, PackageId, Timestamp, Version};
use regesta_store::memory::{MemoryBlobs, MemoryDb};
use regesta_store::sqlite::SqliteDb;
use regesta_store::{ChannelCommit, RegistryDb};
use regesta_tlog::note::ALG_ED25519;
use regesta_tlog::{
    Hash, HashReader, NoteSigner, TlogError, appended_hashes, consistency_proof, inclusion_proof,
    leaf_hash, tree_hash, verify_consistency, verify_inclusion,
};

struct Stored(HashMap<(u8, u64), Hash>);

impl HashReader for Stored {
    fn hash(&self, level: u8, index: u64) -> regesta_tlog::Result<Hash> {
        self.0
            .get(&(level, index))
            .copied()
            .ok_or(TlogError::MissingHash { level, index })
    }
}

fn per_op(total: Duration, n: u64) -> f64 {
    total.as_secs_f64() * 1e6 / n as f64
}

fn proofs_at_a_million() {
    const N: u64 = 1 << 20;
    let start = Instant::now();
    let leaves: Vec<Hash> = (0..N).map(|i| leaf_hash(&i.to_be_bytes())).collect();
    let leaf_us = per_op(start.elapsed(), N);
    let mut stored = Stored(HashMap::new());
    for (l, i, h) in appended_hashes(&stored, 0, &leaves).unwrap() {
        stored.0.insert((l, i), h);
    }
    let root = tree_hash(&stored, N - 3).unwrap();
    let size = N - 3;
    let samples = 2_000_u64;
    let pick = |k: u64| (k * 2_654_435_761) % size;
    let start = Instant::now();
    let proofs: Vec<Vec<Hash>> = (0..samples)
        .map(|k| inclusion_proof(&stored, pick(k), size).unwrap())
        .collect();
    let prove_us = per_op(start.elapsed(), samples);
    let start = Instant::now();
    for (k, proof) in (0..samples).zip(&proofs) {
        let i = pick(k);
        verify_inclusion(&leaves[usize::try_from(i).unwrap()], i, size, proof, &root).unwrap();
    }
    let verify_us = per_op(start.elapsed(), samples);
    let old = size / 3;
    let old_root = tree_hash(&stored, old).unwrap();
    let start = Instant::now();
    let consistency = consistency_proof(&stored, old, size).unwrap();
    let cons_prove_us = per_op(start.elapsed(), 1);
    let start = Instant::now();
    for _ in 0..samples {
        verify_consistency(old, size, &old_root, &root, &consistency).unwrap();
    }
    let cons_verify_us = per_op(start.elapsed(), samples);
    println!("proofs at {size} entries (baseline: one leaf hash = {leaf_us:.2} µs)");
    println!(
        "  inclusion: prove {prove_us:.1} µs ({:.0}x), verify {verify_us:.1} µs ({:.0}x), {} hashes = {} bytes",
        prove_us / leaf_us,
        verify_us / leaf_us,
        proofs[0].len(),
        proofs[0].len() * 32
    );
    println!(
        "  consistency {old} -> {size}: prove {cons_prove_us:.1} µs, verify {cons_verify_us:.1} µs ({:.0}x), {} hashes = {} bytes",
        cons_verify_us / leaf_us,
        consistency.len(),
        consistency.len() * 32
    );
}

struct Epoch;

impl Clock for Epoch {
    fn now(&self) -> Timestamp {
        Timestamp::UNIX_EPOCH
    }
}

fn registry(db: Arc<dyn RegistryDb>) -> Registry {
    Registry {
        db,
        blobs: Arc::new(MemoryBlobs::new()),
        bindings: Arc::new(regesta_trust::StaticBindings::new()),
        clock: Arc::new(Epoch),
        timestamp_tolerance_ms: 0,
        views: Arc::default(),
        write_limits: Arc::new(regesta_core::Unlimited),
        ecosystems: Arc::default(),
    }
}

/// Commits `n` real channel events; returns the time it took.
async fn commit_events(db: &dyn RegistryDb, n: u64) -> Duration {
    let package = PackageId::parse("npm:bench.test/pkg").unwrap();
    let channel = ChannelName::latest();
    let mut previous: Option<Version> = None;
    let start = Instant::now();
    for i in 0..n {
        let version = Version::parse(&format!("1.0.{i}")).unwrap();
        let event = Event {
            timestamp: Timestamp::from_unix_millis(1_700_000_000_000 + i64::try_from(i).unwrap())
                .unwrap(),
            authorization: None,
            body: EventBody::ChannelUpdated {
                package: package.clone(),
                channel: channel.clone(),
                version: version.clone(),
                previous_version: previous.clone(),
            },
        }
        .seal()
        .unwrap();
        db.commit_channel(&ChannelCommit {
            package: package.clone(),
            channel: channel.clone(),
            expected: previous.clone(),
            target: Some(version.clone()),
            timestamp: event.event.timestamp,
            event_id: event.id,
            event_bytes: Bytes::from(event.served_bytes().unwrap()),
            event_listing: Bytes::from_static(b"{}"),
            payload_digest: None,
        })
        .await
        .unwrap();
        previous = Some(version);
    }
    start.elapsed()
}

async fn sequencing(label: &str, db: Arc<dyn RegistryDb>, n: u64) {
    let committed = commit_events(db.as_ref(), n).await;
    let registry = registry(db);
    let key = ed25519_dalek::SigningKey::from_bytes(&[1; 32]);
    let log = LogConfig {
        origin: "bench.test/log/v1".into(),
        signer: NoteSigner::new("bench.test/log/v1", ALG_ED25519, key).unwrap(),
    };
    let start = Instant::now();
    let mut steps = 0;
    while registry.sequence(&log, 1024).await.unwrap().is_some() {
        steps += 1;
    }
    let sequenced = start.elapsed();
    let commit_rate = n as f64 / committed.as_secs_f64();
    let sequence_rate = n as f64 / sequenced.as_secs_f64();
    println!(
        "{label}: {n} events committed at {commit_rate:.0}/s, sequenced at {sequence_rate:.0}/s in {steps} steps ({:.1}x the commit rate; {:.1} ms per 1024-entry step)",
        sequence_rate / commit_rate,
        sequenced.as_secs_f64() * 1e3 / f64::from(steps)
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let n: u64 = std::env::args()
        .find_map(|a| a.parse().ok())
        .unwrap_or(20_000);
    proofs_at_a_million();
    sequencing("memory store", Arc::new(MemoryDb::new()), n * 10).await;
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDb::open(dir.path()).await.unwrap();
    sequencing("SQLite (synchronous=FULL)", Arc::new(db), n).await;
}
