//! Read caches in front of the storage ports, so a hot read whose answer did
//! not change does no database or disk work.
//!
//! [`CachedDb`] keeps package heads, channel rows, release documents, events
//! and object descriptors; [`CachedBlobs`] keeps small objects. Both are
//! bounded in bytes (weighted by what they hold) and evict with
//! `quick_cache`'s scan-resistant policy.
//!
//! What can change is only a package's head and its channels; everything
//! else cached is immutable once it exists (content-addressed, or a release
//! that can never be replaced), so only the package entries ever need
//! invalidating. Writes through this process invalidate at commit
//! (read-your-writes); writes by other replicas are picked up by
//! [`CachedDb::catch_up`], which follows the event sequence — the caller
//! runs it on an interval, which bounds how long a replica can serve a
//! head another replica has moved.

mod blobs;
mod db;

pub use blobs::CachedBlobs;
pub use db::CachedDb;

/// What one entry of a `quick_cache` of `K` to `V` costs beyond the heap
/// its key and value point to, for the byte bound: its slot in a shard's
/// slab (key and value inline, with state and links), the slab's spare
/// room as it grows by doubling, the ghost slots that remember recently
/// evicted keys (up to half as many as the entries, each a whole slot),
/// and its hash-table index. Counting only the data let many small entries
/// hold twice the bound (`tests/cache_memory.rs` measures it).
#[must_use]
pub const fn entry_overhead<K, V>() -> u64 {
    let slot = size_of::<(K, V)>() + 24;
    (slot * 3 + 16) as u64
}

/// The heap a value behind an `Arc` takes: the value and two counters.
#[must_use]
pub const fn shared<T>() -> usize {
    size_of::<T>() + 16
}

/// Shards of every byte-bounded cache: each holds a quarter of the bytes,
/// so an entry of up to an eighth of the bound (with its overhead) always
/// fits one. `quick_cache`'s default, four shards per core, makes shards so
/// small on a many-core host that large entries are silently never kept.
const SHARDS: usize = 4;

/// A `quick_cache` of at most `bytes` by `weighter`, for about `items`
/// entries, in [`SHARDS`] shards. The server's prepared responses use it
/// too.
pub fn byte_bounded<K, V, W>(
    items: usize,
    bytes: u64,
    weighter: W,
) -> quick_cache::sync::Cache<K, V, W>
where
    K: Eq + std::hash::Hash,
    V: Clone,
    W: quick_cache::Weighter<K, V> + Clone,
{
    let options = quick_cache::OptionsBuilder::new()
        .shards(SHARDS)
        .estimated_items_capacity(items)
        .weight_capacity(bytes.max(1))
        .build();
    match options {
        Ok(options) => quick_cache::sync::Cache::with_options(
            options,
            weighter,
            quick_cache::DefaultHashBuilder::default(),
            quick_cache::sync::DefaultLifecycle::default(),
        ),
        // Only reachable with options the builder refuses (none here).
        Err(_) => quick_cache::sync::Cache::with_weighter(items, bytes.max(1), weighter),
    }
}

/// How the byte budget of `REGESTA_CACHE_BYTES`-style settings splits
/// between the two store caches and what the largest cached object is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheBudget {
    /// Bytes for metadata (heads, channels, documents, events, descriptors).
    pub metadata: u64,
    /// Bytes for object bytes.
    pub objects: u64,
    /// The largest object kept in memory.
    pub max_object: u64,
}

impl CacheBudget {
    /// Splits `bytes` evenly between metadata and objects; an object may
    /// take up to an eighth of the object share, so one large object never
    /// flushes the rest.
    #[must_use]
    pub fn split(bytes: u64) -> Self {
        let objects = bytes / 2;
        Self {
            metadata: bytes - objects,
            objects,
            max_object: objects / 8,
        }
    }
}
