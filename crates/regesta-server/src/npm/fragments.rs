//! Per-release npm fragments, kept across package changes: a release's
//! documents never change, so after a publish only the new release is read
//! and serialized, and the package documents are re-assembled from bytes.
//! Renders of one package are single-flight: concurrent first reads after a
//! change wait for one render instead of each doing it.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};

use regesta_projection_npm::Fragment;
use regesta_protocol::{Digest, PackageId};

/// Bytes of fragments kept; past it the cache starts over (bounded, and a
/// miss only costs re-reading manifests).
pub(crate) const FRAGMENT_BUDGET: usize = 256 * 1024 * 1024;

/// Striped render locks: bounded memory, and two packages rarely share one.
const LOCKS: usize = 64;

/// Fragments by release event id, plus the render locks.
#[derive(Debug)]
pub(crate) struct Fragments {
    entries: Mutex<(HashMap<Digest, Arc<Fragment>>, usize)>,
    locks: Vec<tokio::sync::Mutex<()>>,
    hasher: RandomState,
}

impl Default for Fragments {
    fn default() -> Self {
        Self {
            entries: Mutex::default(),
            locks: (0..LOCKS).map(|_| tokio::sync::Mutex::new(())).collect(),
            hasher: RandomState::new(),
        }
    }
}

impl Fragments {
    /// The fragments of the releases published by `events`, under one lock.
    pub(crate) fn get_all(&self, events: &[Digest]) -> Vec<Option<Arc<Fragment>>> {
        match self.entries.lock() {
            Ok(entries) => events.iter().map(|e| entries.0.get(e).cloned()).collect(),
            Err(_) => vec![None; events.len()],
        }
    }

    /// Keeps the fragment of the release published by `event`.
    pub(crate) fn put(&self, event: Digest, fragment: Arc<Fragment>) {
        if let Ok(mut entries) = self.entries.lock() {
            let (map, bytes) = &mut *entries;
            if *bytes + fragment.weight() > FRAGMENT_BUDGET {
                map.clear();
                *bytes = 0;
            }
            *bytes += fragment.weight();
            if let Some(old) = map.insert(event, fragment) {
                *bytes = bytes.saturating_sub(old.weight());
            }
        }
    }

    /// The lock serializing renders of `id`.
    pub(crate) fn render_lock(&self, id: &PackageId) -> &tokio::sync::Mutex<()> {
        let slot = usize::try_from(self.hasher.hash_one(id.as_str()) % LOCKS as u64).unwrap_or(0);
        &self.locks[slot]
    }
}
