//! The log's entry bundles a mirror builds from the events it takes,
//! instead of fetching them: an entry is the canonical payload an event's
//! id is the digest of, which the mirror has in hand for every listed
//! event, so a bundle of this run's events is those payloads encoded as
//! tlog-tiles does. Only their leaf hashes are kept (32 bytes an entry);
//! the signed root over them and the fetched earlier leaves then checks
//! that the registry's log holds exactly the mirrored events, as checking
//! fetched bundles entry by entry did. Fetching them cost a second
//! download of every event's bytes at the end of a run.

use std::collections::BTreeSet;

use regesta_tlog::tile::{TILE_WIDTH, Tile, push_entry};
use regesta_tlog::{Hash, leaf_hash};

/// Entry bundles built from the entries at positions `first..size`, taken
/// one position at a time from the mirror's first new event on.
pub(crate) struct LocalBundles {
    /// The position of the next entry taken.
    next: u64,
    /// The first position built here, a bundle boundary: the bundle
    /// holding events of an earlier run is fetched.
    first: u64,
    /// The log's size at the checkpoint the mirror keeps.
    size: u64,
    /// The leaf hashes of the entries built so far.
    leaves: Vec<Hash>,
    /// The bundle being filled and its entry count.
    bundle: Vec<u8>,
    width: u16,
    /// The tile paths of the bundles built.
    names: BTreeSet<String>,
}

/// What [`LocalBundles::finish`] leaves.
pub(crate) struct Built {
    /// The last, partial bundle, if any, as its tile path and bytes.
    pub(crate) last: Option<(String, Vec<u8>)>,
    /// The leaf hashes of every entry taken.
    pub(crate) leaves: Vec<Hash>,
    /// The tile paths of every bundle built, the last included.
    pub(crate) names: BTreeSet<String>,
}

impl LocalBundles {
    /// Bundles for a log of `size` entries whose first `held` entries
    /// (the events of earlier runs) the mirror already holds.
    pub(crate) fn new(held: u64, size: u64) -> Self {
        let first = held.div_ceil(TILE_WIDTH) * TILE_WIDTH;
        Self {
            next: held,
            first,
            size,
            leaves: Vec::new(),
            bundle: Vec::new(),
            width: 0,
            names: BTreeSet::new(),
        }
    }

    /// How many bundles, from the first, are not built here.
    pub(crate) fn fetched(&self) -> u64 {
        (self.first / TILE_WIDTH).min(self.size.div_ceil(TILE_WIDTH))
    }

    /// Takes the entry at the next position; a bundle it completes, as its
    /// tile path (below `log/`) and bytes.
    ///
    /// # Errors
    /// An entry too large for a bundle (the registry could not log it).
    pub(crate) fn push(&mut self, entry: &[u8]) -> anyhow::Result<Option<(String, Vec<u8>)>> {
        let position = self.next;
        self.next += 1;
        if position < self.first || position >= self.size {
            return Ok(None);
        }
        push_entry(&mut self.bundle, entry)?;
        self.leaves.push(leaf_hash(entry));
        self.width += 1;
        Ok((u64::from(self.width) == TILE_WIDTH).then(|| self.take(position)))
    }

    /// The last, partial bundle (if any) and the leaf hashes of every entry
    /// taken; fewer than the log holds when the registry listed fewer
    /// events than it logged.
    pub(crate) fn finish(mut self) -> Built {
        let last = (self.width > 0).then(|| self.take(self.next.min(self.size) - 1));
        Built {
            last,
            leaves: self.leaves,
            names: self.names,
        }
    }

    /// The bundle being filled, whose last entry is at `position`.
    fn take(&mut self, position: u64) -> (String, Vec<u8>) {
        let tile = Tile {
            level: None,
            index: position / TILE_WIDTH,
            width: std::mem::take(&mut self.width),
        };
        let name = tile.path();
        self.names.insert(name.clone());
        (name, std::mem::take(&mut self.bundle))
    }
}

#[cfg(test)]
mod tests {
    use super::LocalBundles;
    use regesta_tlog::leaf_hash;
    use regesta_tlog::tile::entry_tile;

    fn entries(n: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| format!("{{\"n\":{i}}}").into_bytes())
            .collect()
    }

    /// Built from the first entry, the bundles are the log's own: full
    /// ones as they fill, the partial last at the end, none past the size.
    #[test]
    fn bundles_are_the_logs_from_the_first_entry() {
        let all = entries(700);
        let mut local = LocalBundles::new(0, 600);
        assert_eq!(local.fetched(), 0);
        let mut built = Vec::new();
        for entry in &all {
            built.extend(local.push(entry).unwrap());
        }
        let done = local.finish();
        built.extend(done.last);
        let leaves = done.leaves;
        let want: Vec<_> = [(0, 0..256), (1, 256..512), (2, 512..600)]
            .into_iter()
            .map(|(index, range)| {
                let (tile, bytes) = entry_tile(index, &all[range]).unwrap();
                (tile.path(), bytes)
            })
            .collect();
        assert_eq!(built, want);
        assert_eq!(built[2].0, "tile/entries/002.p/88");
        let names: Vec<_> = built.iter().map(|b| b.0.clone()).collect();
        assert_eq!(done.names.into_iter().collect::<Vec<_>>(), names);
        let want: Vec<_> = all[..600].iter().map(|e| leaf_hash(e)).collect();
        assert_eq!(leaves, want);
    }

    /// After earlier runs, the bundle holding their last events is
    /// fetched; building starts at the next bundle boundary.
    #[test]
    fn building_starts_at_the_bundle_after_the_held_events() {
        let all = entries(600);
        let mut local = LocalBundles::new(300, 600);
        assert_eq!(local.fetched(), 2);
        let mut built = Vec::new();
        for entry in &all[300..] {
            built.extend(local.push(entry).unwrap());
        }
        let done = local.finish();
        assert!(built.is_empty());
        let (tile, bytes) = entry_tile(2, &all[512..600]).unwrap();
        assert_eq!(done.last, Some((tile.path(), bytes)));
        assert_eq!(done.leaves.len(), 88);
        // Held events on a boundary: nothing to fetch past them.
        assert_eq!(LocalBundles::new(512, 600).fetched(), 2);
        // A log that lags the held events is fetched whole.
        assert_eq!(LocalBundles::new(300, 200).fetched(), 1);
    }

    /// Fewer events than the log holds leave leaves missing, for the
    /// caller to refuse; an entry too large for a bundle is an error.
    #[test]
    fn short_listings_and_oversized_entries_show() {
        let mut local = LocalBundles::new(0, 10);
        for entry in &entries(4) {
            assert!(local.push(entry).unwrap().is_none());
        }
        let done = local.finish();
        assert_eq!(done.leaves.len(), 4);
        assert!(done.last.unwrap().0.ends_with(".p/4"));
        let mut local = LocalBundles::new(0, 10);
        assert!(local.push(&vec![b'x'; 70_000]).is_err());
    }
}
