//! The read caches stay within their bound in what they really allocate,
//! not only in what their weights say. Many small entries are the hard
//! case: there a cache's own bookkeeping (its slots, its index, the keys it
//! remembers after evicting them) outweighs the data, and a weight that
//! counts only the data lets the heap grow to several times the bound.
//!
//! A counting allocator (`cap`) measures the heap the process holds before and
//! after filling each cache far past its bound. This binary holds one test,
//! so nothing else allocates meanwhile.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers panic on failure by design"
)]

use std::alloc::System;
use std::sync::Arc;

use bytes::Bytes;
use regesta_protocol::{Digest, PackageId};
use regesta_store::cached::{CachedBlobs, CachedDb};
use regesta_store::fs::FsBlobs;
use regesta_store::memory::MemoryDb;
use regesta_store::{BlobStore, RegistryDb};

#[global_allocator]
static ALLOCATOR: cap::Cap<System> = cap::Cap::new(System, usize::MAX);

/// Heap bytes the process holds.
fn held() -> isize {
    isize::try_from(ALLOCATOR.allocated()).unwrap()
}

/// What a cache of `bound` bytes may hold beyond its bound: the fixed
/// structures of its shards and rounding.
fn allowed(bound: u64) -> isize {
    isize::try_from(bound).unwrap() + 64 * 1024
}

/// Heads of 60,000 packages (absent ones are cached too) through a cache
/// of 1 MiB: every entry is a short key and a few bytes of answer.
async fn heads(bound: u64) -> isize {
    let db = CachedDb::open(Arc::new(MemoryDb::new()), bound)
        .await
        .unwrap();
    let ids: Vec<PackageId> = (0..60_000)
        .map(|n| PackageId::parse(&format!("npm:example.com/package-{n}")).unwrap())
        .collect();
    let before = held();
    for id in &ids {
        assert_eq!(db.package_head(id).await.unwrap(), None);
    }
    held() - before
}

/// 8,000 objects of 100 bytes through a cache of 256 KiB, read from the
/// file system (so each read is a fresh allocation the cache may keep).
async fn objects(bound: u64) -> isize {
    let dir = tempfile::tempdir().unwrap();
    let fs = Arc::new(FsBlobs::open(dir.path()).unwrap());
    let mut digests = Vec::new();
    for n in 0..8_000u32 {
        let mut bytes = vec![0u8; 100];
        bytes[..4].copy_from_slice(&n.to_be_bytes());
        let digest = Digest::of(&bytes);
        fs.put(&digest, Bytes::from(bytes)).await.unwrap();
        digests.push(digest);
    }
    let cache = CachedBlobs::new(fs, bound, bound / 8);
    let before = held();
    for digest in &digests {
        assert!(cache.get(digest).await.unwrap().is_some());
    }
    held() - before
}

#[test]
fn caches_hold_no_more_than_their_bound() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let bound = 1 << 20;
        let heads = heads(bound).await;
        assert!(
            heads <= allowed(bound),
            "60,000 heads through a {bound}-byte cache hold {heads} bytes"
        );
        let bound = 256 << 10;
        let objects = objects(bound).await;
        assert!(
            objects <= allowed(bound),
            "8,000 small objects through a {bound}-byte cache hold {objects} bytes"
        );
    });
}
