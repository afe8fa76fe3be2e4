//! A counter of the registry changes a database handle has seen, so layers
//! above can keep answers "until the next change" without asking the
//! database whether anything changed.
//!
//! Besides the total, each package's changes are counted in one of
//! [`STRIPES`] counters picked by a hash of its id, so an answer about one
//! package (its state, its packument, its index file) stays servable while
//! other packages are published to: a publish then costs the answers of
//! the packages that share its stripe, about one in four thousand, instead
//! of every kept answer.

use std::hash::{DefaultHasher, Hash as _, Hasher as _};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Per-package counters: 32 KiB.
const STRIPES: usize = 4096;

/// Bumped after every commit made through the handle and every change it
/// learns of from other writers (a replica's catch-up), always after the
/// change is readable. An answer computed after reading `current()` is
/// still true while `current()` returns the same value; an answer about
/// one package computed after taking its [`PackageStamp`] is still true
/// while [`Changes::holds`] says so.
#[derive(Debug, Clone)]
pub struct Changes(Arc<Counts>);

struct Counts {
    total: AtomicU64,
    /// Changes of no known package: they move every package's stamp.
    unscoped: AtomicU64,
    packages: Box<[AtomicU64]>,
}

impl std::fmt::Debug for Counts {
    /// The totals, not the 4,096 stripes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Counts")
            .field("total", &self.total)
            .field("unscoped", &self.unscoped)
            .finish_non_exhaustive()
    }
}

/// Where one package's changes stood when an answer about it was begun.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackageStamp {
    stripe: usize,
    at: u64,
    unscoped: u64,
}

impl Default for Changes {
    fn default() -> Self {
        Self(Arc::new(Counts {
            total: AtomicU64::new(0),
            unscoped: AtomicU64::new(0),
            packages: (0..STRIPES).map(|_| AtomicU64::new(0)).collect(),
        }))
    }
}

/// The stripe of a package id: `SipHash` with fixed keys, so every clone
/// of a handle picks the same one.
fn stripe(package: &str) -> usize {
    let mut hasher = DefaultHasher::new();
    package.hash(&mut hasher);
    // The remainder is below STRIPES, so it fits.
    usize::try_from(hasher.finish() % STRIPES as u64).unwrap_or(0)
}

impl Changes {
    /// The current count.
    #[must_use]
    pub fn current(&self) -> u64 {
        self.0.total.load(Ordering::Acquire)
    }

    /// Records one change of no known package: every package's stamp
    /// moves (call after it is readable).
    pub fn bump(&self) {
        self.0.unscoped.fetch_add(1, Ordering::AcqRel);
        self.0.total.fetch_add(1, Ordering::AcqRel);
    }

    /// Records one change of `package` (call after it is readable).
    pub fn bump_package(&self, package: &str) {
        self.0.packages[stripe(package)].fetch_add(1, Ordering::AcqRel);
        self.0.total.fetch_add(1, Ordering::AcqRel);
    }

    /// Where `package`'s changes stand: take it before reading what an
    /// answer about the package is made of.
    #[must_use]
    pub fn package(&self, package: &str) -> PackageStamp {
        let stripe = stripe(package);
        PackageStamp {
            stripe,
            unscoped: self.0.unscoped.load(Ordering::Acquire),
            at: self.0.packages[stripe].load(Ordering::Acquire),
        }
    }

    /// Whether nothing that could change the package `stamp` was taken
    /// for has been recorded since.
    #[must_use]
    pub fn holds(&self, stamp: PackageStamp) -> bool {
        self.0.unscoped.load(Ordering::Acquire) == stamp.unscoped
            && self
                .0
                .packages
                .get(stamp.stripe)
                .is_some_and(|at| at.load(Ordering::Acquire) == stamp.at)
    }
}

#[cfg(test)]
mod tests {
    use super::Changes;

    #[test]
    fn clones_share_one_count() {
        let changes = Changes::default();
        let seen = changes.clone();
        let before = seen.current();
        changes.bump();
        assert_ne!(seen.current(), before);
    }

    #[test]
    fn a_package_stamp_moves_with_its_package_and_unscoped_changes_only() {
        let changes = Changes::default();
        let (a, b) = ("npm:a.dev/one", "npm:a.dev/two");
        assert_ne!(
            super::stripe(a),
            super::stripe(b),
            "pick ids of two stripes"
        );
        let stamp = changes.package(a);
        let total = changes.current();
        changes.bump_package(b);
        assert!(changes.holds(stamp), "another package moved");
        assert_ne!(changes.current(), total, "the total counts it");
        changes.bump_package(a);
        assert!(!changes.holds(stamp));
        let stamp = changes.package(a);
        changes.bump();
        assert!(!changes.holds(stamp), "a change of no known package");
    }
}
