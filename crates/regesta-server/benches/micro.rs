//! Micro-benchmarks of the hot pure functions (criterion): canonical JSON,
//! digests, event verification and canonicalization, log entries of
//! stored events, npm packument assembly and rendering, and
//! transparency-log hashing. Inputs are the reference's captured vectors.
//!
//! `cargo bench -p regesta-server --bench micro`
#![expect(
    clippy::unwrap_used,
    reason = "a benchmark binary: setup failures abort it"
)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use regesta_core::ReleaseView;
use regesta_projection_npm::{Fragment, fragment, packument_bytes};
use regesta_protocol::event::payload_in_served;
use regesta_protocol::json::{canonical_value, parse_strict, to_canonical_vec};
use regesta_protocol::{
    ChannelName, Digest, EventKeyOrder, PackageId, ReleaseManifest, SealedEvent, Timestamp, Version,
};
use regesta_tlog::tile::subtree_root;
use regesta_tlog::{Hash, leaf_hash};

fn vectors() -> std::path::PathBuf {
    regesta_testkit::vectors_dir()
}

fn json_and_digests(c: &mut Criterion) {
    let dir = vectors();
    let manifest = regesta_testkit::read_json(&dir, "wire/object-manifest-28b3fe33.json");
    c.bench_function("canonical JSON of a release manifest", |b| {
        b.iter(|| to_canonical_vec(black_box(&manifest)).unwrap());
    });
    let event = regesta_testkit::read(&dir, "wire/event-72242a80.json");
    c.bench_function(
        "parse and verify an event (strict JSON, id recomputed)",
        |b| {
            b.iter(|| {
                let value = parse_strict(black_box(&event), event.len()).unwrap();
                SealedEvent::from_json(&value).unwrap()
            });
        },
    );
    let sealed = SealedEvent::from_json(&parse_strict(&event, event.len()).unwrap()).unwrap();
    c.bench_function(
        "canonical payload of an event (written from the typed event)",
        |b| {
            b.iter(|| black_box(&sealed.event).canonical_payload().unwrap());
        },
    );
    // What the payload cost before it was written directly; the served form
    // (with `id`) is the same work.
    c.bench_function("canonical JSON of an event through a JSON map", |b| {
        b.iter(|| canonical_value(&black_box(&sealed).to_json(EventKeyOrder::Response)).unwrap());
    });
    c.bench_function(
        "log entry of a stored event (payload cut from its bytes)",
        |b| {
            b.iter(|| payload_in_served(black_box(&event), &sealed.id).unwrap());
        },
    );
    let mib = vec![7_u8; 1 << 20];
    let mut group = c.benchmark_group("sha256");
    group.throughput(Throughput::Bytes(mib.len() as u64));
    group.bench_function("digest of 1 MiB", |b| {
        b.iter(|| Digest::of(black_box(&mib)));
    });
    group.finish();
}

fn npm(c: &mut Criterion) {
    let dir = vectors();
    let template: ReleaseManifest = serde_json::from_slice(&regesta_testkit::read(
        &dir,
        "wire/object-manifest-28b3fe33.json",
    ))
    .unwrap();
    let id = PackageId::parse("npm:dev.localhost/hello-regesta").unwrap();
    let release = |n: i64| {
        let mut manifest = template.clone();
        manifest.version = Version::parse(&format!("1.0.{n}")).unwrap();
        let at = Timestamp::from_unix_millis(1_700_000_000_000 + n * 1000).unwrap();
        manifest.created_at = at;
        ReleaseView {
            created_at: at,
            event_id: Digest::of(&n.to_be_bytes()),
            manifest,
            facts: None,
        }
    };
    let base = "http://npm.localhost:4321";
    let one = release(0);
    c.bench_function("npm: render one release's fragment", |b| {
        b.iter(|| fragment(&id, black_box(&one), base));
    });
    let fragments: Vec<Fragment> = (0..200).map(|n| fragment(&id, &release(n), base)).collect();
    let refs: Vec<&Fragment> = fragments.iter().collect();
    let channels = vec![(ChannelName::latest(), Version::parse("1.0.199").unwrap())];
    let head = Timestamp::from_unix_millis(1_700_000_300_000).unwrap();
    c.bench_function("npm: assemble a 200-version packument", |b| {
        b.iter(|| packument_bytes(&id, black_box(&refs), &channels, head).unwrap());
    });
}

fn tlog(c: &mut Criterion) {
    let entry = vec![1_u8; 1024];
    c.bench_function("tlog: leaf hash of a 1 KiB entry", |b| {
        b.iter(|| leaf_hash(black_box(&entry)));
    });
    let hashes: Vec<Hash> = (0..256_u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
    c.bench_function("tlog: root of a full 256-hash tile", |b| {
        b.iter(|| subtree_root(black_box(&hashes)).unwrap());
    });
}

criterion_group!(benches, json_and_digests, npm, tlog);
criterion_main!(benches);
