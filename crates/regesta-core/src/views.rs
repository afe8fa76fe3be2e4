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

/// Bytes of full event-log pages kept; past it the page cache starts over.
pub const MAX_CACHED_PAGE_BYTES: usize = 64 * 1024 * 1024;

/// A cached rendering: the head event it was rendered at, and its bytes.
type Entry = (Digest, Bytes);

/// A full event-log page by (cursor, limit): its body and ETag.
type PageKey = (Option<Digest>, usize);

#[derive(Debug, Default)]
struct Pages {
    bytes: usize,
    entries: HashMap<PageKey, (Bytes, String)>,
}

/// Rendered views by (view kind, package) and head event. The kind names
/// the document (`package-state`, `npm-packument`, …) so every projection
/// shares one bounded cache.
#[derive(Debug, Default)]
pub struct ViewCache {
    entries: Mutex<HashMap<(&'static str, PackageId), Entry>>,
    pages: Mutex<Pages>,
}

impl ViewCache {
    /// The `kind` bytes rendered for `id` at `head`, if still cached.
    pub fn get(&self, kind: &'static str, id: &PackageId, head: &Digest) -> Option<Bytes> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(&(kind, id.clone()))
            .filter(|(at, _)| at == head)
            .map(|(_, bytes)| bytes.clone())
    }

    /// Remembers the `kind` bytes rendered for `id` at `head`.
    pub fn put(&self, kind: &'static str, id: &PackageId, head: Digest, bytes: Bytes) {
        if let Ok(mut entries) = self.entries.lock() {
            let key = (kind, id.clone());
            if entries.len() >= MAX_CACHED_VIEWS && !entries.contains_key(&key) {
                entries.clear();
            }
            entries.insert(key, (head, bytes));
        }
    }

    /// A full event-log page after `after` with `limit` events, if cached.
    pub fn page(&self, after: Option<&Digest>, limit: usize) -> Option<(Bytes, String)> {
        let pages = self.pages.lock().ok()?;
        pages.entries.get(&(after.copied(), limit)).cloned()
    }

    /// Remembers a *full* page (exactly `limit` events): the log is
    /// append-only and sequence numbers are gap-free in commit order, so a
    /// full page never changes, on any replica.
    pub fn put_page(&self, after: Option<&Digest>, limit: usize, body: Bytes, etag: String) {
        if let Ok(mut pages) = self.pages.lock() {
            if pages.bytes + body.len() > MAX_CACHED_PAGE_BYTES {
                pages.entries.clear();
                pages.bytes = 0;
            }
            pages.bytes += body.len();
            pages.entries.insert((after.copied(), limit), (body, etag));
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
        cache.put("state", &id, h1, Bytes::from_static(b"one"));
        assert_eq!(cache.get("state", &id, &h1).as_deref(), Some(&b"one"[..]));
        assert!(cache.get("state", &id, &h2).is_none());
        assert!(cache.get("other", &id, &h1).is_none(), "kinds do not mix");
        cache.put("state", &id, h2, Bytes::from_static(b"two"));
        assert!(cache.get("state", &id, &h1).is_none());
    }

    #[test]
    fn pages_are_keyed_by_cursor_and_limit_and_bounded() {
        let cache = ViewCache::default();
        let after = Digest::of(b"cursor");
        cache.put_page(Some(&after), 2, Bytes::from_static(b"page"), "e".into());
        assert_eq!(cache.page(Some(&after), 2).unwrap().0.as_ref(), b"page");
        assert!(cache.page(Some(&after), 3).is_none());
        assert!(cache.page(None, 2).is_none());
        let big = Bytes::from(vec![0; MAX_CACHED_PAGE_BYTES]);
        cache.put_page(None, 1, big, "big".into());
        assert!(
            cache.page(Some(&after), 2).is_none(),
            "over the bound starts over"
        );
        assert!(cache.page(None, 1).is_some());
    }
}
