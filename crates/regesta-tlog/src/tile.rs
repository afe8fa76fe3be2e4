//! c2sp.org/tlog-tiles: the log as static files. Hash tiles at tile level
//! `L` hold up to 256 consecutive hashes of tree level `8·L`; entry bundles
//! hold up to 256 consecutive entries, each prefixed by its big-endian
//! `u16` length. A full tile never changes; a partial one (`.p/<W>`) is a
//! prefix of the tile it grows into.

use std::fmt::Write as _;

use crate::error::{Result, TlogError};
use crate::hash::{Hash, node_hash};
use crate::tree::HashReader;

/// Tree levels per tile.
pub const TILE_HEIGHT: u8 = 8;
/// Hashes (or entries) in a full tile.
pub const TILE_WIDTH: u64 = 256;
/// Largest entry an entry bundle can hold.
pub const MAX_ENTRY_BYTES: usize = u16::MAX as usize;

/// One tile: hash tile level `level` or the entry bundles (`level` =
/// `None`), index `index`, `width` entries (256 for a full tile).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tile {
    /// Tile level (`None`: entry bundle).
    pub level: Option<u8>,
    /// Index within the level.
    pub index: u64,
    /// Entries in it, 1..=256.
    pub width: u16,
}

fn bad_path(reason: &str) -> TlogError {
    TlogError::malformed("tile path", reason)
}

/// `N` as tlog-tiles writes it: zero-padded groups of three digits, all
/// but the last prefixed with `x` (`1234067` → `x001/x234/067`).
fn encode_index(n: u64) -> String {
    let mut groups = vec![format!("{:03}", n % 1000)];
    let mut rest = n / 1000;
    while rest > 0 {
        groups.push(format!("x{:03}", rest % 1000));
        rest /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

impl Tile {
    /// Whether it is full (immutable).
    pub fn is_full(&self) -> bool {
        u64::from(self.width) == TILE_WIDTH
    }

    /// The path below the log prefix: `tile/<L>/<N>[.p/<W>]` or
    /// `tile/entries/<N>[.p/<W>]`.
    pub fn path(&self) -> String {
        let level = self
            .level
            .map_or_else(|| "entries".to_owned(), |l| l.to_string());
        let mut path = format!("tile/{level}/{}", encode_index(self.index));
        if !self.is_full() {
            let _ = write!(path, ".p/{}", self.width);
        }
        path
    }

    /// Parses a path as [`Tile::path`] writes it (strictly: no leading
    /// zeros beyond the three-digit groups, widths 1..=255 for partial).
    ///
    /// # Errors
    /// Anything else.
    pub fn parse(path: &str) -> Result<Self> {
        let rest = path
            .strip_prefix("tile/")
            .ok_or_else(|| bad_path("must start with tile/"))?;
        let (level, rest) = rest
            .split_once('/')
            .ok_or_else(|| bad_path("missing index"))?;
        let level = match level {
            "entries" => None,
            digits => {
                let l: u8 = digits.parse().map_err(|_| bad_path("bad level"))?;
                if l.to_string() != digits || l > 7 {
                    return Err(bad_path("bad level"));
                }
                Some(l)
            }
        };
        let (index_part, width) = match rest.split_once(".p/") {
            Some((index, width)) => {
                let w: u16 = width.parse().map_err(|_| bad_path("bad width"))?;
                if w.to_string() != width || w == 0 || u64::from(w) >= TILE_WIDTH {
                    return Err(bad_path("partial width must be 1..255"));
                }
                (index, w)
            }
            None => (rest, 256),
        };
        let groups: Vec<&str> = index_part.split('/').collect();
        let mut index: u64 = 0;
        for (i, group) in groups.iter().enumerate() {
            let last = i + 1 == groups.len();
            let digits = if last {
                *group
            } else {
                group
                    .strip_prefix('x')
                    .ok_or_else(|| bad_path("non-final groups start with x"))?
            };
            if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad_path("groups are three digits"));
            }
            let value: u64 = digits.parse().map_err(|_| bad_path("bad group"))?;
            index = index
                .checked_mul(1000)
                .and_then(|n| n.checked_add(value))
                .ok_or_else(|| bad_path("index too large"))?;
        }
        let tile = Self {
            level,
            index,
            width,
        };
        if tile.path() != path {
            return Err(bad_path("not in canonical form"));
        }
        Ok(tile)
    }

    /// The tile (at `level`) holding the hash of tree level `tree_level`,
    /// index `index`, as it is in a tree of `size` leaves — `None` when the
    /// tree does not have that hash yet. Only levels that are multiples of
    /// [`TILE_HEIGHT`] are stored in tiles.
    pub fn for_hash(tree_level: u8, index: u64, size: u64) -> Option<Self> {
        if !tree_level.is_multiple_of(TILE_HEIGHT) {
            return None;
        }
        let hashes_at_level = size.checked_shr(u32::from(tree_level)).unwrap_or(0);
        if index >= hashes_at_level {
            return None;
        }
        let tile_index = index / TILE_WIDTH;
        let width = (hashes_at_level - tile_index * TILE_WIDTH).min(TILE_WIDTH);
        Some(Self {
            level: Some(tree_level / TILE_HEIGHT),
            index: tile_index,
            width: u16::try_from(width).unwrap_or(256),
        })
    }

    /// Whether this tile exists in a tree of `size` leaves (full, or partial
    /// with exactly the width the tree has).
    pub fn exists_at(&self, size: u64) -> bool {
        let tree_level = u32::from(self.level.unwrap_or(0)) * u32::from(TILE_HEIGHT);
        let available = size.checked_shr(tree_level).unwrap_or(0);
        let start = self.index.saturating_mul(TILE_WIDTH);
        let have = available.saturating_sub(start).min(TILE_WIDTH);
        if self.is_full() {
            have == TILE_WIDTH
        } else {
            have >= u64::from(self.width)
        }
    }
}

/// The root of the subtree whose bottom row is `hashes` (a power-of-two
/// count): what a full hash tile contributes one level up.
pub fn subtree_root(hashes: &[Hash]) -> Option<Hash> {
    if hashes.is_empty() || !hashes.len().is_power_of_two() {
        return None;
    }
    let mut row = hashes.to_vec();
    while row.len() > 1 {
        row = row.chunks(2).map(|p| node_hash(&p[0], &p[1])).collect();
    }
    row.first().copied()
}

/// Hash tile bytes: the hashes, concatenated.
pub fn encode_hashes(hashes: &[Hash]) -> Vec<u8> {
    hashes.iter().flat_map(|h| h.0).collect()
}

/// Splits hash tile bytes into hashes.
///
/// # Errors
/// A length that is not a multiple of 32.
pub fn decode_hashes(bytes: &[u8]) -> Result<Vec<Hash>> {
    if !bytes.len().is_multiple_of(32) {
        return Err(TlogError::malformed(
            "hash tile",
            "length not a multiple of 32",
        ));
    }
    Ok(bytes
        .chunks_exact(32)
        .map(|c| {
            let mut h = [0_u8; 32];
            h.copy_from_slice(c);
            Hash(h)
        })
        .collect())
}

/// Appends one entry (`u16` big-endian length, then the bytes) to an entry
/// bundle.
///
/// # Errors
/// The entry is larger than 65,535 bytes.
pub fn push_entry(bundle: &mut Vec<u8>, entry: &[u8]) -> Result<()> {
    let len = u16::try_from(entry.len())
        .map_err(|_| TlogError::malformed("entry", "larger than 65535 bytes"))?;
    bundle.extend_from_slice(&len.to_be_bytes());
    bundle.extend_from_slice(entry);
    Ok(())
}

/// The entries of a bundle.
///
/// # Errors
/// A truncated bundle or more than 256 entries.
pub fn decode_entries(bundle: &[u8]) -> Result<Vec<&[u8]>> {
    let mut entries = Vec::new();
    let mut rest = bundle;
    while !rest.is_empty() {
        let (len, tail) = rest
            .split_first_chunk::<2>()
            .ok_or_else(|| TlogError::malformed("entry bundle", "truncated length"))?;
        let len = usize::from(u16::from_be_bytes(*len));
        if tail.len() < len {
            return Err(TlogError::malformed("entry bundle", "truncated entry"));
        }
        let (entry, tail) = tail.split_at(len);
        entries.push(entry);
        rest = tail;
        if entries.len() as u64 > TILE_WIDTH {
            return Err(TlogError::malformed(
                "entry bundle",
                "more than 256 entries",
            ));
        }
    }
    Ok(entries)
}

/// A [`HashReader`] over hash tiles: `fetch(level, index)` returns the
/// hashes of tile `(level, index)` as far as the tree has them. Levels
/// between tile levels are computed from the tile below.
pub struct TileHashes<F> {
    fetch: F,
}

impl<F> std::fmt::Debug for TileHashes<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TileHashes")
    }
}

impl<F: Fn(u8, u64) -> Result<Vec<Hash>>> TileHashes<F> {
    /// Reads tiles through `fetch`.
    pub fn new(fetch: F) -> Self {
        Self { fetch }
    }
}

impl<F: Fn(u8, u64) -> Result<Vec<Hash>>> HashReader for TileHashes<F> {
    fn hash(&self, level: u8, index: u64) -> Result<Hash> {
        let base = level - level % TILE_HEIGHT;
        let span = 1_u64 << (level - base);
        let first = index
            .checked_mul(span)
            .ok_or(TlogError::MissingHash { level, index })?;
        let tile_index = first / TILE_WIDTH;
        let hashes = (self.fetch)(base / TILE_HEIGHT, tile_index)?;
        let start = usize::try_from(first % TILE_WIDTH).unwrap_or(usize::MAX);
        let end = start.saturating_add(usize::try_from(span).unwrap_or(usize::MAX));
        let row = hashes
            .get(start..end)
            .ok_or(TlogError::MissingHash { level, index })?;
        subtree_root(row).ok_or(TlogError::MissingHash { level, index })
    }
}

/// Every tile (hash tiles and entry bundles) of the tree of `entries`, as
/// the log serves them at that size: full tiles and, at each level, the
/// partial right-edge tile. What a mirror keeps so it can be verified like
/// the log.
///
/// # Errors
/// An entry larger than 65,535 bytes.
pub fn all_tiles(entries: &[&[u8]]) -> Result<Vec<(Tile, Vec<u8>)>> {
    let leaves: Vec<Hash> = entries.iter().map(|e| crate::hash::leaf_hash(e)).collect();
    let mut tiles = hash_tiles(&leaves)?;
    for (index, chunk) in (0_u64..).zip(entries.chunks(256)) {
        tiles.push(entry_tile(index, chunk)?);
    }
    Ok(tiles)
}

/// The hash tiles (no entry bundles) of the tree whose leaf hashes are
/// `leaves`: what [`all_tiles`] holds besides the bundles, for a caller
/// that streams the entries and keeps only their leaf hashes.
///
/// # Errors
/// Never for a well-formed tree (the tree is built from `leaves` alone).
pub fn hash_tiles(leaves: &[Hash]) -> Result<Vec<(Tile, Vec<u8>)>> {
    use std::collections::HashMap;
    let none =
        |level: u8, index: u64| -> Result<Hash> { Err(TlogError::MissingHash { level, index }) };
    let made = crate::tree::appended_hashes(&none, 0, leaves)?;
    let mut rows: HashMap<u8, Vec<Hash>> = HashMap::new();
    for (level, _, hash) in made {
        if level.is_multiple_of(TILE_HEIGHT) {
            rows.entry(level / TILE_HEIGHT).or_default().push(hash);
        }
    }
    let mut tiles = Vec::new();
    let mut levels: Vec<_> = rows.into_iter().collect();
    levels.sort_by_key(|(l, _)| *l);
    for (level, row) in levels {
        for (index, chunk) in (0_u64..).zip(row.chunks(256)) {
            let tile = Tile {
                level: Some(level),
                index,
                width: u16::try_from(chunk.len()).unwrap_or(256),
            };
            tiles.push((tile, encode_hashes(chunk)));
        }
    }
    Ok(tiles)
}

/// Entry bundle `index` holding `entries` (at most 256), as the log
/// serves it.
///
/// # Errors
/// An entry larger than 65,535 bytes.
pub fn entry_tile<E: AsRef<[u8]>>(index: u64, entries: &[E]) -> Result<(Tile, Vec<u8>)> {
    let mut bundle = Vec::new();
    for entry in entries {
        push_entry(&mut bundle, entry.as_ref())?;
    }
    let tile = Tile {
        level: None,
        index,
        width: u16::try_from(entries.len()).unwrap_or(256),
    };
    Ok((tile, bundle))
}
