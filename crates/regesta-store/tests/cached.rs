//! The read caches: what they keep, and when they let go of it.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers panic on failure by design"
)]

use std::sync::Arc;

use bytes::Bytes;
use regesta_protocol::{ChannelName, Digest, PackageId, Version};
use regesta_store::cached::{CacheBudget, CachedBlobs, CachedDb};
use regesta_store::conformance::{sample_channel, sample_publish};
use regesta_store::fs::FsBlobs;
use regesta_store::memory::MemoryDb;
use regesta_store::{BlobStore, RegistryDb};

/// The id `sample_publish(name, …)` publishes under.
fn id(name: &str) -> PackageId {
    PackageId::parse(&format!("npm:example.com/{name}")).unwrap()
}

async fn head(db: &dyn RegistryDb, name: &str) -> Option<Digest> {
    db.package_head(&id(name)).await.unwrap().map(|(h, _)| h)
}

#[tokio::test]
async fn writes_through_the_cache_are_read_back_at_once() {
    let inner = Arc::new(MemoryDb::new());
    let db = CachedDb::open(inner.clone(), 1 << 20).await.unwrap();
    let name = "pkg";
    assert_eq!(
        head(&db, name).await,
        None,
        "an absent package is cached too"
    );
    let first = sample_publish(name, "1.0.0", 1);
    db.commit_publish(&first).await.unwrap();
    assert_eq!(head(&db, name).await, Some(first.event_id));
    let latest = ChannelName::latest();
    assert_eq!(
        db.channel(&id(name), &latest)
            .await
            .unwrap()
            .unwrap()
            .version,
        Version::parse("1.0.0").unwrap()
    );
    db.commit_publish(&sample_publish(name, "2.0.0", 2))
        .await
        .unwrap();
    let moved = sample_channel(name, "latest", Some("2.0.0"), Some("1.0.0"), "back");
    db.commit_channel(&moved).await.unwrap();
    assert_eq!(head(&db, name).await, Some(moved.event_id));
    assert_eq!(
        db.channel(&id(name), &latest)
            .await
            .unwrap()
            .unwrap()
            .event_id,
        moved.event_id,
        "a channel row is valid only at the head it was read at"
    );
}

#[tokio::test]
async fn other_replicas_writes_show_after_catching_up() {
    let inner: Arc<dyn RegistryDb> = Arc::new(MemoryDb::new());
    let name = "pkg";
    let first = sample_publish(name, "1.0.0", 1);
    inner.commit_publish(&first).await.unwrap();
    let db = CachedDb::open(inner.clone(), 1 << 20).await.unwrap();
    assert_eq!(head(&db, name).await, Some(first.event_id));
    assert_eq!(db.catch_up().await.unwrap(), 0, "nothing new since open");
    // Another replica writes straight to the shared database.
    let second = sample_publish(name, "2.0.0", 2);
    inner.commit_publish(&second).await.unwrap();
    assert_eq!(
        head(&db, name).await,
        Some(first.event_id),
        "served from memory until the next catch-up"
    );
    assert_eq!(db.catch_up().await.unwrap(), 1);
    assert_eq!(head(&db, name).await, Some(second.event_id));
    // An absent package that appears elsewhere shows up the same way.
    let other = "other";
    assert_eq!(head(&db, other).await, None);
    let third = sample_publish(other, "1.0.0", 3);
    inner.commit_publish(&third).await.unwrap();
    db.catch_up().await.unwrap();
    assert_eq!(head(&db, other).await, Some(third.event_id));
}

/// A change is counted once for its package: when made through the handle
/// (catch-up then skips it), when found by catch-up otherwise; other
/// packages' stamps hold throughout.
#[tokio::test]
async fn changes_are_counted_once_for_their_package() {
    let inner: Arc<dyn RegistryDb> = Arc::new(MemoryDb::new());
    let db = CachedDb::open(inner.clone(), 1 << 20).await.unwrap();
    let changes = db.changes().unwrap();
    let (mine, other) = (id("mine").to_string(), id("other").to_string());
    db.commit_publish(&sample_publish("mine", "1.0.0", 1))
        .await
        .unwrap();
    let kept = changes.package(&mine);
    let others = changes.package(&other);
    assert_eq!(db.catch_up().await.unwrap(), 1);
    assert!(changes.holds(kept), "catch-up skips the handle's own event");
    // Another replica's write is counted when catch-up finds it.
    inner
        .commit_publish(&sample_publish("mine", "2.0.0", 2))
        .await
        .unwrap();
    assert!(changes.holds(kept), "not known before catch-up");
    assert_eq!(db.catch_up().await.unwrap(), 1);
    assert!(!changes.holds(kept));
    assert!(changes.holds(others), "another package's stamp holds");
}

#[tokio::test]
async fn immutable_reads_are_served_from_memory() {
    let inner: Arc<dyn RegistryDb> = Arc::new(MemoryDb::new());
    let db = CachedDb::open(inner.clone(), 1 << 20).await.unwrap();
    let commit = sample_publish("pkg", "1.0.0", 1);
    db.commit_publish(&commit).await.unwrap();
    let version = Version::parse("1.0.0").unwrap();
    let docs = db
        .release_documents(&commit.package, &version)
        .await
        .unwrap();
    assert_eq!(docs, Some(commit.documents.clone()));
    let event = db.event(&commit.event_id).await.unwrap().unwrap();
    assert_eq!(event.bytes, commit.event_bytes);
    let object = &commit.objects[0];
    assert_eq!(
        db.object(&object.digest).await.unwrap().as_ref(),
        Some(object)
    );
    assert!(
        db.release_documents(&commit.package, &Version::parse("9.0.0").unwrap())
            .await
            .unwrap()
            .is_none(),
        "absent releases are not cached: they may be published"
    );
}

#[tokio::test]
async fn a_cache_of_zero_bytes_keeps_nothing() {
    let inner: Arc<dyn RegistryDb> = Arc::new(MemoryDb::new());
    let name = "pkg";
    let db = CachedDb::open(inner.clone(), 0).await.unwrap();
    assert_eq!(head(&db, name).await, None);
    let commit = sample_publish(name, "1.0.0", 1);
    inner.commit_publish(&commit).await.unwrap();
    assert_eq!(
        head(&db, name).await,
        Some(commit.event_id),
        "no catch-up needed"
    );
}

#[test]
fn budgets_split_and_bound_objects() {
    let budget = CacheBudget::split(64 << 20);
    assert_eq!(budget.metadata + budget.objects, 64 << 20);
    assert_eq!(budget.max_object, budget.objects / 8);
}

/// The largest object the budget allows (an eighth of the object share)
/// is kept, whatever the host's core count: the cache's shards are sized
/// for it.
#[tokio::test]
async fn the_largest_allowed_object_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let fs = Arc::new(FsBlobs::open(dir.path()).unwrap());
    let budget = CacheBudget::split(8 << 20);
    let blobs = CachedBlobs::new(fs, budget.objects, budget.max_object);
    let size = usize::try_from(budget.max_object).unwrap();
    let bytes = Bytes::from(vec![7_u8; size]);
    let digest = Digest::of(&bytes);
    blobs.put(&digest, bytes.clone()).await.unwrap();
    assert_eq!(blobs.get(&digest).await.unwrap(), Some(bytes.clone()));
    let hex = digest.hex();
    std::fs::remove_file(dir.path().join("objects/sha256").join(&hex[..2]).join(&hex)).unwrap();
    assert_eq!(
        blobs.get(&digest).await.unwrap(),
        Some(bytes),
        "served from memory"
    );
}

#[tokio::test]
async fn cached_objects_are_checked_and_outlive_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let fs = Arc::new(FsBlobs::open(dir.path()).unwrap());
    let blobs = CachedBlobs::new(fs.clone(), 1 << 20, 1 << 10);
    let bytes = Bytes::from_static(b"small object bytes");
    let digest = Digest::of(&bytes);
    blobs.put(&digest, bytes.clone()).await.unwrap();
    let hex = digest.hex();
    let path = dir.path().join("objects/sha256").join(&hex[..2]).join(&hex);

    // Damaged on disk before the first read: passed on as read (so a
    // verification reports it) but never kept.
    std::fs::write(&path, b"tampered object bytes").unwrap();
    assert_eq!(
        blobs.get(&digest).await.unwrap().as_deref(),
        Some(&b"tampered object bytes"[..])
    );
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(blobs.get(&digest).await.unwrap(), Some(bytes.clone()));

    // Kept once right: later damage on disk does not reach readers.
    std::fs::write(&path, b"tampered object bytes").unwrap();
    assert_eq!(blobs.get(&digest).await.unwrap(), Some(bytes.clone()));
    assert_eq!(
        blobs.get_range(&digest, 0, 4).await.unwrap().as_deref(),
        Some(&b"small"[..])
    );

    // Larger than the per-object bound: always read from the store.
    let large = Bytes::from(vec![7u8; 2048]);
    let large_digest = Digest::of(&large);
    blobs.put(&large_digest, large.clone()).await.unwrap();
    assert_eq!(blobs.get(&large_digest).await.unwrap(), Some(large));
    let hex = large_digest.hex();
    std::fs::remove_file(dir.path().join("objects/sha256").join(&hex[..2]).join(&hex)).unwrap();
    assert_eq!(blobs.get(&large_digest).await.unwrap(), None);
}

/// A peek (a render reading each manifest once) is answered from memory
/// when the object is kept, and otherwise read from the store without
/// keeping a copy.
#[tokio::test]
async fn a_peek_reads_through_without_keeping() {
    let dir = tempfile::tempdir().unwrap();
    let fs = Arc::new(FsBlobs::open(dir.path()).unwrap());
    let blobs = CachedBlobs::new(fs, 1 << 20, 1 << 10);
    let path = |digest: &Digest| {
        let hex = digest.hex();
        dir.path().join("objects/sha256").join(&hex[..2]).join(&hex)
    };
    let peeked = Bytes::from_static(b"a manifest read once");
    let digest = Digest::of(&peeked);
    blobs.put(&digest, peeked.clone()).await.unwrap();
    assert_eq!(blobs.peek(&digest).await.unwrap(), Some(peeked));
    std::fs::remove_file(path(&digest)).unwrap();
    assert_eq!(blobs.get(&digest).await.unwrap(), None, "nothing was kept");

    let kept = Bytes::from_static(b"an object read before");
    let digest = Digest::of(&kept);
    blobs.put(&digest, kept.clone()).await.unwrap();
    assert_eq!(blobs.get(&digest).await.unwrap(), Some(kept.clone()));
    std::fs::remove_file(path(&digest)).unwrap();
    assert_eq!(
        blobs.peek(&digest).await.unwrap(),
        Some(kept),
        "served from memory"
    );
}
