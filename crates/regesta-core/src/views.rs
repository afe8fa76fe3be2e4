//! Rendered views kept in memory, each valid only for the package head event
//! it was rendered at. A read first fetches the head (one row); a hit serves
//! the stored bytes with no rendering, and any newer event makes the entry
//! stale by construction, so replicas can never serve an outdated view they
//! have already seen superseded.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;
use regesta_protocol::{Digest, PackageId};

/// Most packages kept; past it the cache starts over (cheap, and bounded).
pub const MAX_CACHED_VIEWS: usize = 10_000;

/// Package-state bytes by package and head event.
#[derive(Debug, Default)]
pub struct ViewCache {
    entries: Mutex<HashMap<PackageId, (Digest, Bytes)>>,
}

impl ViewCache {
    /// The bytes rendered for `id` at `head`, if still cached.
    pub fn get(&self, id: &PackageId, head: &Digest) -> Option<Bytes> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(id)
            .filter(|(at, _)| at == head)
            .map(|(_, bytes)| bytes.clone())
    }

    /// Remembers the bytes rendered for `id` at `head`.
    pub fn put(&self, id: &PackageId, head: Digest, bytes: Bytes) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_CACHED_VIEWS && !entries.contains_key(id) {
                entries.clear();
            }
            entries.insert(id.clone(), (head, bytes));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_valid_only_for_their_head() {
        let cache = ViewCache::default();
        let id = PackageId::parse("npm:a.b/c").unwrap();
        let (h1, h2) = (Digest::of(b"1"), Digest::of(b"2"));
        cache.put(&id, h1, Bytes::from_static(b"one"));
        assert_eq!(cache.get(&id, &h1).as_deref(), Some(&b"one"[..]));
        assert!(cache.get(&id, &h2).is_none());
        cache.put(&id, h2, Bytes::from_static(b"two"));
        assert!(cache.get(&id, &h1).is_none());
    }
}
