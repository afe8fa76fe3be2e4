//! npm's package documents — packument, abbreviated packument, dist-tags —
//! on the core's rendered-documents mechanism: rendered together once per
//! package head and served as bytes.
//!
//! They are assembled from per-release fragments kept across package
//! changes: a release's documents never change, so after a publish only the
//! new release is read and serialized, and the package documents are
//! re-assembled from bytes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use regesta_core::{CoreError, PackageDocuments, PackageRecord, Registry, RenderFuture, Rendered};
use regesta_protocol::{ChannelName, Digest, PackageId, Version};

use crate::Fragment;

/// The view-cache kind of the full packument.
pub const FULL: &str = "npm-packument";
/// The view-cache kind of the abbreviated (install-v1) packument.
pub const SHORT: &str = "npm-abbreviated";
/// The view-cache kind of the dist-tags document.
pub const TAGS: &str = "npm-dist-tags";

/// Fragments by release event id, with the bytes they hold: at most
/// `budget` (past it the cache starts over; a miss only costs re-reading
/// manifests).
#[derive(Debug)]
struct Fragments {
    budget: usize,
    entries: Mutex<(HashMap<Digest, Arc<Fragment>>, usize)>,
}

impl Fragments {
    /// The fragments of the releases published by `events`, under one lock.
    fn get_all(&self, events: &[Digest]) -> Vec<Option<Arc<Fragment>>> {
        match self.entries.lock() {
            Ok(entries) => events.iter().map(|e| entries.0.get(e).cloned()).collect(),
            Err(_) => vec![None; events.len()],
        }
    }

    /// Keeps the fragment of the release published by `event`, unless it
    /// alone is over the budget.
    fn put(&self, event: Digest, fragment: Arc<Fragment>) {
        if fragment.weight() > self.budget {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            let (map, bytes) = &mut *entries;
            if *bytes + fragment.weight() > self.budget {
                map.clear();
                *bytes = 0;
            }
            *bytes += fragment.weight();
            if let Some(old) = map.insert(event, fragment) {
                *bytes = bytes.saturating_sub(old.weight());
            }
        }
    }
}

/// npm's package documents with tarball URLs under one base.
#[derive(Debug)]
pub struct NpmDocuments {
    tarball_base: String,
    fragments: Fragments,
}

impl NpmDocuments {
    /// Documents whose tarball URLs start with `tarball_base`.
    /// Fragments of releases are kept up to `fragment_bytes`
    /// ([`regesta_core::views::ViewCache::part_limit`]).
    pub fn new(tarball_base: String, fragment_bytes: usize) -> Self {
        Self {
            tarball_base,
            fragments: Fragments {
                budget: fragment_bytes,
                entries: Mutex::default(),
            },
        }
    }

    async fn render_all(
        &self,
        registry: &Registry,
        id: &PackageId,
        record: &PackageRecord,
    ) -> Result<Rendered, CoreError> {
        let events: Vec<Digest> = record.releases.iter().map(|r| r.event_id).collect();
        let mut fragments = Vec::with_capacity(record.releases.len());
        for (release, kept) in record.releases.iter().zip(self.fragments.get_all(&events)) {
            let fragment = if let Some(fragment) = kept {
                fragment
            } else {
                let view = registry.release_view_of(release).await?;
                let fragment = Arc::new(crate::fragment(id, &view, &self.tarball_base));
                self.fragments.put(release.event_id, fragment.clone());
                fragment
            };
            fragments.push(fragment);
        }
        let refs: Vec<&Fragment> = fragments.iter().map(AsRef::as_ref).collect();
        let versions: Vec<&Version> = refs.iter().map(|f| &f.version).collect();
        let channels: Vec<(ChannelName, Version)> = record
            .channels
            .iter()
            .map(|c| (c.channel.clone(), c.version.clone()))
            .collect();
        let documents = [
            (
                FULL,
                crate::packument_bytes(id, &refs, &channels, record.head_time),
            ),
            (
                SHORT,
                crate::abbreviated_bytes(id, &refs, &channels, record.head_time),
            ),
            (
                TAGS,
                serde_json::to_vec(&crate::dist_tags_of(&versions, &channels)).ok(),
            ),
        ];
        documents
            .into_iter()
            // Kept as long as the package head: no spare capacity.
            .map(|(kind, bytes)| {
                bytes.map(|mut b| {
                    b.shrink_to_fit();
                    (kind, Bytes::from(b))
                })
            })
            .collect::<Option<Rendered>>()
            .ok_or_else(CoreError::package_not_found)
    }
}

impl PackageDocuments for NpmDocuments {
    fn render<'a>(
        &'a self,
        registry: &'a Registry,
        id: &'a PackageId,
        record: &'a PackageRecord,
    ) -> RenderFuture<'a> {
        Box::pin(self.render_all(registry, id, record))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use regesta_protocol::{Digest, Timestamp, Version};

    use super::Fragments;
    use crate::Fragment;

    fn fragment(bytes: usize) -> Arc<Fragment> {
        Arc::new(Fragment {
            version: Version::parse("1.0.0").unwrap(),
            created_at: Timestamp::parse("2026-12-07T00:00:00.000Z").unwrap(),
            description: None,
            full: Some(vec![b' '; bytes]),
            short: None,
            time: Vec::new(),
        })
    }

    /// The fragments never hold more than their budget (the share of
    /// `REGESTA_CACHE_BYTES` they are given): past it they start over, and
    /// one larger than the whole budget is not kept.
    #[test]
    fn fragments_stay_within_their_budget() {
        let one = fragment(1000).weight();
        let fragments = Fragments {
            budget: 3 * one,
            entries: Mutex::default(),
        };
        for n in 0..10u8 {
            fragments.put(Digest::of(&[n]), fragment(1000));
            let (map, bytes) = &*fragments.entries.lock().unwrap();
            assert!(*bytes <= 3 * one, "{bytes}");
            assert_eq!(*bytes, map.len() * one);
        }
        let kept = fragments.get_all(&[Digest::of(&[9]), Digest::of(&[0])]);
        assert!(kept[0].is_some() && kept[1].is_none());
        fragments.put(Digest::of(b"big"), fragment(4 * 1000));
        assert!(fragments.get_all(&[Digest::of(b"big")])[0].is_none());
    }
}
