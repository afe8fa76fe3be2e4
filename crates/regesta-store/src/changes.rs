//! A counter of the registry changes a database handle has seen, so layers
//! above can keep answers "until the next change" without asking the
//! database whether anything changed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bumped after every commit made through the handle and every change it
/// learns of from other writers (a replica's catch-up), always after the
/// change is readable. An answer computed after reading `current()` is
/// still true while `current()` returns the same value.
#[derive(Debug, Clone, Default)]
pub struct Changes(Arc<AtomicU64>);

impl Changes {
    /// The current count.
    #[must_use]
    pub fn current(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    /// Records one change (call after it is readable).
    pub fn bump(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
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
}
