//! Rendered views kept in memory, each valid only for the package head event
//! it was rendered at. A read first fetches the head (one row); a hit serves
//! the stored bytes with no rendering, and any newer event makes the entry
//! stale by construction, so replicas can never serve an outdated view they
//! have already seen superseded.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;

use bytes::Bytes;
use regesta_protocol::{Digest, PackageId};

/// Default bytes of rendered views kept ([`ViewCache::with_capacity`] sets
/// another); past it the view cache starts over
/// (cheap, and bounded in memory: one 10,000-version packument is ~4 MB, so
/// a count bound alone would not bound memory). A view larger than a
/// quarter of it is served but not kept.
pub const MAX_CACHED_VIEW_BYTES: usize = 64 * 1024 * 1024;

/// Default bytes of full event-log pages kept; past it the page cache starts
/// over.
pub const MAX_CACHED_PAGE_BYTES: usize = 64 * 1024 * 1024;

/// Default bytes of per-release parts kept ([`ViewCache::part_limit`]).
pub const MAX_CACHED_PART_BYTES: usize = 64 * 1024 * 1024;

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
#[derive(Debug)]
pub struct ViewCache {
    view_limit: usize,
    page_limit: usize,
    part_limit: usize,
    entries: Mutex<Views>,
    pages: Mutex<Pages>,
    locks: Vec<tokio::sync::Mutex<()>>,
    hasher: RandomState,
}

/// Striped render locks: bounded memory, and two packages rarely share one.
const RENDER_LOCKS: usize = 64;

impl Default for ViewCache {
    fn default() -> Self {
        Self::with_limits(
            MAX_CACHED_VIEW_BYTES,
            MAX_CACHED_PAGE_BYTES,
            MAX_CACHED_PART_BYTES,
        )
    }
}

impl ViewCache {
    /// A cache holding at most `bytes`: half for rendered documents, a
    /// quarter for event pages and a quarter for the per-release parts
    /// projections assemble documents from ([`Self::part_limit`]).
    #[must_use]
    pub fn with_capacity(bytes: usize) -> Self {
        let (pages, parts) = (bytes / 4, bytes / 4);
        Self::with_limits(bytes - pages - parts, pages, parts)
    }

    fn with_limits(view_limit: usize, page_limit: usize, part_limit: usize) -> Self {
        Self {
            view_limit,
            page_limit,
            part_limit,
            entries: Mutex::default(),
            pages: Mutex::default(),
            locks: (0..RENDER_LOCKS)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
            hasher: RandomState::new(),
        }
    }
}

/// What a kept view takes: its bytes, its key's id, and its slot in the
/// map twice over (a growing map keeps up to as many free slots as used).
/// A one-version packument is a few hundred bytes, so the slot matters.
fn view_weight(id: &PackageId, bytes: &Bytes) -> usize {
    bytes.len() + id.as_str().len() + 2 * size_of::<((&str, PackageId), Entry)>()
}

#[derive(Debug, Default)]
struct Views {
    bytes: usize,
    entries: HashMap<(&'static str, PackageId), Entry>,
}

impl ViewCache {
    /// The `kind` bytes rendered for `id` at `head`, if still cached.
    pub fn get(&self, kind: &'static str, id: &PackageId, head: &Digest) -> Option<Bytes> {
        let views = self.entries.lock().ok()?;
        views
            .entries
            .get(&(kind, id.clone()))
            .filter(|(at, _)| at == head)
            .map(|(_, bytes)| bytes.clone())
    }

    /// Remembers the `kind` bytes rendered for `id` at `head`.
    pub fn put(&self, kind: &'static str, id: &PackageId, head: Digest, bytes: Bytes) {
        let weight = view_weight(id, &bytes);
        if weight > self.view_limit / 4 {
            return;
        }
        if let Ok(mut views) = self.entries.lock() {
            let key = (kind, id.clone());
            if let Some((_, old)) = views.entries.remove(&key) {
                views.bytes -= view_weight(id, &old);
            }
            if views.bytes + weight > self.view_limit {
                views.entries.clear();
                views.bytes = 0;
            }
            views.bytes += weight;
            views.entries.insert(key, (head, bytes));
        }
    }

    /// Bytes a projection may keep of per-release parts of its documents
    /// (npm's serialized versions): part of this cache's budget, so that
    /// `REGESTA_CACHE_BYTES` bounds them too, not kept here since only the
    /// projection knows their shape.
    #[must_use]
    pub fn part_limit(&self) -> usize {
        self.part_limit
    }

    /// The lock serializing renders of `id`'s documents (single flight).
    pub fn render_lock(&self, id: &PackageId) -> &tokio::sync::Mutex<()> {
        let slot = self.hasher.hash_one(id.as_str()) % RENDER_LOCKS as u64;
        &self.locks[usize::try_from(slot).unwrap_or(0)]
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
        if body.len() > self.page_limit {
            return;
        }
        if let Ok(mut pages) = self.pages.lock() {
            if pages.bytes + body.len() > self.page_limit {
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
    fn views_are_bounded_in_bytes() {
        let cache = ViewCache::default();
        // A quarter of the bound with room for each entry's slot.
        let quarter = MAX_CACHED_VIEW_BYTES / 4 - 1024;
        let ids: Vec<PackageId> = (0..5)
            .map(|i| PackageId::parse(&format!("npm:a.b/p{i}")).unwrap())
            .collect();
        let head = Digest::of(b"h");
        for id in &ids[..4] {
            cache.put("doc", id, head, Bytes::from(vec![0; quarter]));
        }
        assert!(
            ids[..4]
                .iter()
                .all(|id| cache.get("doc", id, &head).is_some())
        );
        // Replacing an entry frees its bytes first.
        cache.put("doc", &ids[0], head, Bytes::from(vec![1; quarter]));
        assert!(cache.get("doc", &ids[3], &head).is_some());
        // One more does not fit: the cache starts over with it.
        cache.put("doc", &ids[4], head, Bytes::from(vec![0; quarter]));
        assert!(cache.get("doc", &ids[4], &head).is_some());
        assert!(cache.get("doc", &ids[1], &head).is_none());
        // A view bigger than a quarter of the bound is not kept.
        cache.put(
            "doc",
            &ids[1],
            head,
            Bytes::from(vec![0; MAX_CACHED_VIEW_BYTES / 4 + 1]),
        );
        assert!(cache.get("doc", &ids[1], &head).is_none());
        assert!(cache.get("doc", &ids[4], &head).is_some());
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
