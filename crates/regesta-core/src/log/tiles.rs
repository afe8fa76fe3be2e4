//! Hash tiles loaded from the store on demand. The tree algorithms are pure
//! and synchronous; when one needs a hash whose tile is not loaded yet it
//! fails with `MissingHash`, the tile is fetched, and the computation is
//! retried — a handful of round trips, one per tile the answer touches.

use std::collections::HashMap;

use regesta_store::RegistryDb;
use regesta_tlog::tile::{TILE_HEIGHT, TILE_WIDTH, decode_hashes, encode_hashes, subtree_root};
use regesta_tlog::{Hash, HashReader, TlogError};

use crate::error::CoreError;

/// Tiles by `(tile level, index)`, as far as the tree has them.
#[derive(Debug, Default)]
pub(crate) struct TileCache {
    pub(crate) tiles: HashMap<(u8, u64), Vec<Hash>>,
}

/// The tile holding the hashes a tree-level hash is computed from.
pub(crate) fn holding(level: u8, index: u64) -> (u8, u64) {
    let base = level - level % TILE_HEIGHT;
    let first = index << (level - base);
    (base / TILE_HEIGHT, first / TILE_WIDTH)
}

impl HashReader for TileCache {
    fn hash(&self, level: u8, index: u64) -> regesta_tlog::Result<Hash> {
        let missing = TlogError::MissingHash { level, index };
        let base = level - level % TILE_HEIGHT;
        let span = 1_usize << (level - base);
        let (tile_level, tile_index) = holding(level, index);
        let tile = self
            .tiles
            .get(&(tile_level, tile_index))
            .ok_or(missing.clone())?;
        let first =
            usize::try_from((index << (level - base)) % TILE_WIDTH).map_err(|_| missing.clone())?;
        let row = tile.get(first..first + span).ok_or(missing.clone())?;
        subtree_root(row).ok_or(missing)
    }
}

impl TileCache {
    /// Loads tile `(level, index)` from the store (empty when not stored).
    pub(crate) async fn load(
        &mut self,
        db: &dyn RegistryDb,
        level: u8,
        index: u64,
    ) -> Result<(), CoreError> {
        let hashes = match db.log_tile(level, index).await? {
            Some(data) => decode_hashes(&data).map_err(CoreError::internal)?,
            None => Vec::new(),
        };
        self.tiles.insert((level, index), hashes);
        Ok(())
    }

    /// The bytes of tile `(level, index)`.
    pub(crate) fn bytes(&self, level: u8, index: u64) -> Vec<u8> {
        self.tiles
            .get(&(level, index))
            .map(|t| encode_hashes(t))
            .unwrap_or_default()
    }
}

/// Runs `f` against the tiles, loading each missing tile and retrying.
pub(crate) async fn with_tiles<T>(
    db: &dyn RegistryDb,
    cache: &mut TileCache,
    f: impl Fn(&TileCache) -> regesta_tlog::Result<T>,
) -> Result<T, CoreError> {
    loop {
        match f(cache) {
            Err(TlogError::MissingHash { level, index }) => {
                let (tile_level, tile_index) = holding(level, index);
                if cache.tiles.contains_key(&(tile_level, tile_index)) {
                    return Err(CoreError::internal(format!(
                        "log tile {tile_level}/{tile_index} lacks the hash at level {level}, index {index}"
                    )));
                }
                cache.load(db, tile_level, tile_index).await?;
            }
            other => return other.map_err(CoreError::internal),
        }
    }
}
