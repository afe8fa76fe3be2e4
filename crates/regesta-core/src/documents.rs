//! Package documents rendered once per package head, for every projection.
//!
//! A projection declares its package documents by implementing
//! [`PackageDocuments`]: one render pass produces every document kind it
//! serves for a package (npm: packument, abbreviated packument, dist-tags).
//! [`Registry::package_document`] serves them: it reads the package head
//! (one row), answers from the byte-bounded view cache when the document was
//! rendered at that head, and otherwise renders once — concurrent first
//! readers of one package wait for that render instead of repeating it —
//! and keeps every kind the pass produced. The head event is the validator,
//! so a newer event makes every cached document stale by construction.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use regesta_protocol::{Digest, PackageId, Timestamp};
use regesta_store::{PackageRecord, PackageStamp};

use crate::error::CoreError;
use crate::registry::Registry;

/// What one render pass produced: each document kind with its bytes.
pub type Rendered = Vec<(&'static str, Bytes)>;

/// The future a render pass returns.
pub type RenderFuture<'a> = Pin<Box<dyn Future<Output = Result<Rendered, CoreError>> + Send + 'a>>;

/// A projection's package documents, rendered together from the package's
/// record at its head.
pub trait PackageDocuments: Send + Sync {
    /// Renders every document kind of `id` from `record` (reading release
    /// manifests through `registry` as needed). Kinds must be unique to the
    /// projection (`npm-packument`, not `packument`): every projection
    /// shares one cache.
    fn render<'a>(
        &'a self,
        registry: &'a Registry,
        id: &'a PackageId,
        record: &'a PackageRecord,
    ) -> RenderFuture<'a>;
}

/// A package document as served: the head it was rendered at (the ETag),
/// the head's time (`Last-Modified`) and the bytes.
#[derive(Debug, Clone)]
pub struct Document {
    /// The package head event.
    pub head: Digest,
    /// Its time.
    pub time: Timestamp,
    /// The rendered bytes.
    pub bytes: Bytes,
    /// Where the package's changes stood before its head was read: an
    /// answer made of these bytes stays true while the database handle's
    /// [`regesta_store::Changes::holds`] it (`None`: the handle does not
    /// count changes).
    pub stamp: Option<PackageStamp>,
}

impl Registry {
    /// The `kind` document of `id` at its current head, rendered by
    /// `documents` at most once per head.
    ///
    /// # Errors
    /// 404 `package_not_found` when nothing is published (or the pass did
    /// not produce `kind`), or what rendering failed with.
    pub async fn package_document(
        &self,
        id: &PackageId,
        kind: &'static str,
        documents: &dyn PackageDocuments,
    ) -> Result<Document, CoreError> {
        let stamp = self.package_stamp(id);
        let (head, time) = self.package_head(id).await?;
        if let Some(bytes) = self.views.get(kind, id, &head) {
            return Ok(Document {
                head,
                time,
                bytes,
                stamp,
            });
        }
        let _render = self.views.render_lock(id).lock().await;
        let (head, time) = self.package_head(id).await?;
        if let Some(bytes) = self.views.get(kind, id, &head) {
            return Ok(Document {
                head,
                time,
                bytes,
                stamp,
            });
        }
        let record = self.package_record(id).await?;
        let mut wanted = None;
        for (name, bytes) in documents.render(self, id, &record).await? {
            if name == kind {
                wanted = Some(bytes.clone());
            }
            self.views.put(name, id, record.head_event, bytes);
        }
        let bytes = wanted.ok_or_else(CoreError::package_not_found)?;
        Ok(Document {
            head: record.head_event,
            time: record.head_time,
            bytes,
            stamp,
        })
    }

    /// Where `id`'s changes stand, taken before reading what an answer
    /// about the package is made of (`None` when the database handle does
    /// not count changes).
    #[must_use]
    pub fn package_stamp(&self, id: &PackageId) -> Option<PackageStamp> {
        self.db
            .changes()
            .map(|changes| changes.package(id.as_str()))
    }
}

/// In a rendered table of sorted lines of space-separated fields (a
/// projection's download table), the fields after `key` on the line whose
/// first fields are `key`. A binary search over the bytes: each probe reads
/// the one line around its midpoint, so a download does not scan the
/// table. Fields hold no spaces, so byte order of lines is the order of
/// their field tuples. A damaged table is a miss, never a panic.
pub fn sorted_line<'a>(table: &'a [u8], key: &[&str]) -> Option<std::str::Split<'a, char>> {
    use std::cmp::Ordering;
    let (mut low, mut high) = (0, table.len());
    while low < high {
        let middle = low + (high - low) / 2;
        let start = table[low..middle]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(low, |i| low + i + 1);
        let end = table[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(table.len(), |i| start + i);
        let line = std::str::from_utf8(&table[start..end]).ok()?;
        let mut fields = line.split(' ');
        let mut order = Ordering::Equal;
        for wanted in key {
            order = fields.next()?.cmp(wanted);
            if order != Ordering::Equal {
                break;
            }
        }
        match order {
            Ordering::Less => low = end + 1,
            Ordering::Greater => high = start,
            Ordering::Equal => return Some(fields),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::sorted_line;

    #[test]
    fn lines_are_found_by_their_leading_fields() {
        let table = b"a 1 x\na 2 y\nb 1 z\n";
        let rest = |key: &[&str]| sorted_line(table, key).map(Iterator::collect::<Vec<_>>);
        assert_eq!(rest(&["a", "2"]), Some(vec!["y"]));
        assert_eq!(rest(&["b", "1"]), Some(vec!["z"]));
        assert_eq!(rest(&["a", "3"]), None);
        assert_eq!(rest(&["c"]), None);
        assert_eq!(sorted_line(&[0xff, b' '], &["a"]).map(|_| ()), None);
    }
}
