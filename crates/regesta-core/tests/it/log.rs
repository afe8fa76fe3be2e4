//! The transparency log over real events: sequencing in batches across tile
//! boundaries, signed checkpoints, inclusion bundles and consistency proofs,
//! and the served tiles verified by an independent implementation (the
//! `tlog_tiles` crate's tile reader).

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use regesta_core::log::LogConfig;
use regesta_core::{Clock, Registry};
use regesta_protocol::{ChannelName, Digest, Event, EventBody, PackageId, Timestamp, Version};
use regesta_store::memory::{MemoryBlobs, MemoryDb};
use regesta_store::{ChannelCommit, LogStore, RegistryDb};
use regesta_tlog::note::ALG_ED25519;
use regesta_tlog::{
    Checkpoint, Hash, Note, NoteSigner, Tile, leaf_hash, verify_consistency, verify_inclusion,
};

struct Epoch;

impl Clock for Epoch {
    fn now(&self) -> Timestamp {
        Timestamp::UNIX_EPOCH
    }
}

const ORIGIN: &str = "registry.test/log/v1";

fn setup() -> (Registry, Arc<MemoryDb>, LogConfig) {
    let db = Arc::new(MemoryDb::new());
    let registry = Registry {
        db: db.clone(),
        blobs: Arc::new(MemoryBlobs::new()),
        bindings: Arc::new(regesta_trust::StaticBindings::new()),
        clock: Arc::new(Epoch),
        timestamp_tolerance_ms: 0,
        views: Arc::default(),
        write_limits: Arc::new(regesta_core::Unlimited),
        ecosystems: Arc::default(),
    };
    let key = ed25519_dalek::SigningKey::from_bytes(&[42; 32]);
    let signer = NoteSigner::new(ORIGIN, ALG_ED25519, key).unwrap();
    let log = LogConfig {
        origin: ORIGIN.into(),
        signer,
    };
    (registry, db, log)
}

/// Appends `n` real channel events; returns their canonical payloads.
async fn append_events(db: &MemoryDb, from: u64, n: u64) -> Vec<Vec<u8>> {
    let package = PackageId::parse("npm:log.test/pkg").unwrap();
    let channel = ChannelName::latest();
    let mut payloads = Vec::new();
    let mut previous = db
        .channel(&package, &channel)
        .await
        .unwrap()
        .map(|c| c.version);
    for i in from..from + n {
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
        payloads.push(event.event.canonical_payload().unwrap());
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
    payloads
}

fn checkpoint_of(note: &[u8], log: &LogConfig) -> Checkpoint {
    let note = Note::parse(note).unwrap();
    note.verify(&[log.signer.verifier()]).unwrap();
    Checkpoint::parse(&note.text).unwrap()
}

/// The root of `payloads` computed without the log code under test.
fn independent_root(payloads: &[Vec<u8>]) -> Hash {
    /// RFC 6962's definition: split at the largest power of two below n.
    fn mth(hashes: &[Hash]) -> Hash {
        if hashes.len() == 1 {
            return hashes[0];
        }
        let k = 1 << (hashes.len() - 1).ilog2();
        regesta_tlog::node_hash(&mth(&hashes[..k]), &mth(&hashes[k..]))
    }
    let leaves: Vec<Hash> = payloads.iter().map(|p| leaf_hash(p)).collect();
    mth(&leaves)
}

#[tokio::test]
async fn sequencing_extends_a_verifiable_log_across_tiles() {
    let (registry, db, log) = setup();
    // An empty log gets its signed size-0 checkpoint (the empty tree's
    // root) once; after that an idle step has nothing to do.
    assert_eq!(
        registry.sequence(&log, 1024).await.unwrap(),
        Some(regesta_core::log::Sequenced {
            old_size: 0,
            size: 0
        })
    );
    let empty = checkpoint_of(&registry.log_checkpoint().await.unwrap().note, &log);
    assert_eq!((empty.size, empty.root), (0, Hash::empty()));
    assert!(
        registry.sequence(&log, 1024).await.unwrap().is_none(),
        "nothing to do"
    );
    let mut payloads = append_events(&db, 0, 300).await;
    let mut sizes = Vec::new();
    // Uneven batches cross the first tile boundary mid-batch.
    for max in [100, 100, 100] {
        let step = registry.sequence(&log, max).await.unwrap().unwrap();
        sizes.push(step.size);
    }
    assert_eq!(sizes, vec![100, 200, 300]);
    payloads.extend(append_events(&db, 300, 5).await);
    assert_eq!(
        registry.sequence(&log, 1024).await.unwrap().unwrap().size,
        305
    );
    assert!(registry.sequence(&log, 1024).await.unwrap().is_none());

    let stored = registry.log_checkpoint().await.unwrap();
    let checkpoint = checkpoint_of(&stored.note, &log);
    assert_eq!((checkpoint.origin.as_str(), checkpoint.size), (ORIGIN, 305));
    assert_eq!(checkpoint.root, independent_root(&payloads));

    // Every event's tlog-proof bundle verifies offline.
    let events = db.events_from(1, 1000).await.unwrap();
    for (i, event) in events.iter().enumerate().step_by(37) {
        let bundle = registry.log_inclusion(&event.id).await.unwrap();
        let parsed = regesta_tlog::ProofBundle::parse(&bundle.encode()).unwrap();
        assert_eq!(parsed.index, i as u64);
        let cp = checkpoint_of(parsed.checkpoint.as_bytes(), &log);
        verify_inclusion(
            &leaf_hash(&payloads[i]),
            parsed.index,
            cp.size,
            &parsed.proof,
            &cp.root,
        )
        .unwrap();
    }
    // Consistency between every step's tree and the latest.
    for old in [100, 200, 256, 300] {
        let proof = registry.log_consistency(old, 305).await.unwrap();
        let old_root = independent_root(&payloads[..usize::try_from(old).unwrap()]);
        verify_consistency(old, 305, &old_root, &checkpoint.root, &proof).unwrap();
    }
    assert!(registry.log_consistency(10, 306).await.is_err());
    assert!(registry.log_inclusion(&Digest::of(b"nope")).await.is_err());

    // Tiles: full ones immutable, partial ones exactly as wide as the tree.
    let full = registry
        .log_tile(Tile::parse("tile/0/000").unwrap())
        .await
        .unwrap();
    assert!(full.immutable);
    assert_eq!(full.bytes.len(), 256 * 32);
    let partial = registry
        .log_tile(Tile::parse("tile/0/001.p/49").unwrap())
        .await
        .unwrap();
    assert_eq!(partial.bytes.len(), 49 * 32);
    let older = registry
        .log_tile(Tile::parse("tile/0/001.p/10").unwrap())
        .await
        .unwrap();
    assert_eq!(
        &older.bytes[..],
        &partial.bytes[..320],
        "a partial tile is a prefix"
    );
    assert!(
        registry
            .log_tile(Tile::parse("tile/0/001.p/50").unwrap())
            .await
            .is_err()
    );
    assert!(
        registry
            .log_tile(Tile::parse("tile/0/001").unwrap())
            .await
            .is_err()
    );
    let entries = registry
        .log_tile(Tile::parse("tile/entries/001.p/49").unwrap())
        .await
        .unwrap();
    let decoded = regesta_tlog::tile::decode_entries(&entries.bytes).unwrap();
    assert_eq!(decoded.len(), 49);
    assert_eq!(decoded[0], payloads[256].as_slice());
}

/// What `tlog_tiles` needs to read our tiles.
struct Served {
    tiles: HashMap<String, Vec<u8>>,
}

impl tlog_tiles::TileReader for Served {
    fn height(&self) -> u8 {
        8
    }

    fn read_tiles(&self, tiles: &[tlog_tiles::Tile]) -> Result<Vec<Vec<u8>>, tlog_tiles::Error> {
        tiles
            .iter()
            .map(|t| {
                self.tiles
                    .get(&t.path())
                    .cloned()
                    .ok_or_else(|| tlog_tiles::Error::InvalidInput(format!("no {}", t.path())))
            })
            .collect()
    }

    fn save_tiles(&self, _tiles: &[tlog_tiles::Tile], _data: &[Vec<u8>]) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100k_event_log_is_verified_by_tlog_tiles() {
    let (registry, db, log) = setup();
    let total = 100_000_u64;
    let mut payloads = Vec::new();
    let mut done = 0;
    while done < total {
        let n = (total - done).min(20_000);
        payloads.extend(append_events(&db, done, n).await);
        done += n;
        while registry.sequence(&log, 1024).await.unwrap().is_some() {}
    }
    let stored = registry.log_checkpoint().await.unwrap();
    let checkpoint = checkpoint_of(&stored.note, &log);
    assert_eq!(checkpoint.size, total);
    assert_eq!(checkpoint.root, independent_root(&payloads));

    // Serve every tile the tree has at its size, as tlog-tiles paths.
    let mut served = Served {
        tiles: HashMap::new(),
    };
    // tlog_tiles writes Go's sumdb paths (`tile/8/<L>/<N>`); tlog-tiles
    // drops the height (`tile/<L>/<N>`).
    for tile in tlog_tiles::Tile::new_tiles(8, 0, total) {
        let ours = Tile::parse(&tile.path().replacen("tile/8/", "tile/", 1)).unwrap();
        let bytes = registry.log_tile(ours).await.unwrap().bytes;
        served.tiles.insert(tile.path(), bytes.to_vec());
    }
    let root = tlog_tiles::Hash(checkpoint.root.0);
    let reader = tlog_tiles::TileHashReader::new(total, root, &served);
    assert_eq!(tlog_tiles::tree_hash(total, &reader).unwrap(), root);
    for index in [0, 1, 255, 256, 65_535, 65_536, 99_999] {
        let proof = tlog_tiles::prove_record(total, index, &reader).unwrap();
        let leaf = tlog_tiles::record_hash(&payloads[usize::try_from(index).unwrap()]);
        tlog_tiles::check_record(&proof, total, root, index, leaf).unwrap();
    }
}
