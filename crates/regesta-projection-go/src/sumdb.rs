//! Go's checksum database, derived from Regesta's log. Each Go release,
//! in log order, is one record: the two `go.sum` lines of the release
//! (`<path> <version> h1:…` and `<path> <version>/go.mod h1:…`). The
//! records form a Merkle tree hashed as RFC 6962 (and C2SP tlog-tiles)
//! hash, served in the exact formats of Go's `golang.org/x/mod/sumdb`
//! server: `/lookup/<module>@<version>`, `/latest` and `tile/8/…` paths.
//! The tree is a pure function of the log, so every replica derives the
//! same one, and its signed note is also a C2SP checkpoint whose origin
//! is `go.sum database tree`.

use std::collections::HashMap;

use regesta_tlog::hash::{Hash, leaf_hash, node_hash};
use regesta_tlog::tree::{inclusion_proof, tree_hash};
use regesta_tlog::{NoteSigner, TlogError};

/// The first line of every tree note, as Go's `tlog.FormatTree` writes it.
pub const TREE_ORIGIN: &str = "go.sum database tree";
/// Tile height of Go's checksum database (`tile/8/…`).
pub const HEIGHT: u8 = 8;
const WIDTH: u64 = 1 << HEIGHT;

/// A record: the two `go.sum` lines of one release.
pub fn record(path: &str, version: &str, zip_hash: &str, mod_hash: &str) -> String {
    format!("{path} {version} {zip_hash}\n{path} {version}/go.mod {mod_hash}\n")
}

/// A record as a lookup response or data tile carries it (Go's
/// `tlog.FormatRecord`): its id, its text, a blank line.
pub fn format_record(id: u64, text: &str) -> String {
    format!("{id}\n{text}\n")
}

/// What a tile path below `/tile/` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileRequest {
    /// Tile level (`None`: record data).
    pub level: Option<u8>,
    /// Index within the level.
    pub index: u64,
    /// Entries wanted, 1..=256.
    pub width: u16,
}

impl TileRequest {
    /// Its path below the database (`tile/8/0/x001/234.p/5`,
    /// `tile/8/data/000`): tlog-tiles' index and width encoding, with Go's
    /// height and name for record data.
    pub fn path(&self) -> String {
        let c2sp = regesta_tlog::Tile {
            level: Some(self.level.unwrap_or(0)),
            index: self.index,
            width: self.width,
        }
        .path();
        let rest = c2sp.strip_prefix("tile/").unwrap_or(&c2sp);
        let rest = rest.split_once('/').map_or(rest, |(_, r)| r);
        let name = self
            .level
            .map_or_else(|| "data".to_owned(), |l| l.to_string());
        format!("tile/{HEIGHT}/{name}/{rest}")
    }
}

/// Parses Go's tile path (`tile/8/<L>/<N>[.p/<W>]`, `tile/8/data/<N>…`),
/// whose index and width encoding is tlog-tiles'.
pub fn parse_tile(path: &str) -> Option<TileRequest> {
    let rest = path.strip_prefix("tile/8/")?;
    let c2sp = match rest.strip_prefix("data/") {
        Some(index) => format!("tile/entries/{index}"),
        None => format!("tile/{rest}"),
    };
    let tile = regesta_tlog::Tile::parse(&c2sp).ok()?;
    Some(TileRequest {
        level: tile.level,
        index: tile.index,
        width: tile.width,
    })
}

/// The derived tree: records in order, where each module version's record
/// is, and every complete subtree hash.
#[derive(Debug, Default, Clone)]
pub struct SumTree {
    records: Vec<String>,
    ids: HashMap<String, u64>,
    /// `levels[l][i]`: hash of the complete subtree of `2^l` leaves at `i`.
    levels: Vec<Vec<Hash>>,
}

impl SumTree {
    /// The number of records.
    pub fn size(&self) -> u64 {
        self.records.len() as u64
    }

    /// Appends the record of `path@version` (a version already recorded is
    /// left alone: the log never holds two releases of one version).
    pub fn push(&mut self, path: &str, version: &str, text: String) {
        let key = format!("{path}@{version}");
        if self.ids.contains_key(&key) {
            return;
        }
        let id = self.size();
        self.ids.insert(key, id);
        let mut hash = leaf_hash(text.as_bytes());
        self.records.push(text);
        let mut level = 0;
        let mut index = id;
        loop {
            if self.levels.len() <= level {
                self.levels.push(Vec::new());
            }
            self.levels[level].push(hash);
            if index.is_multiple_of(2) {
                break;
            }
            hash = node_hash(&self.levels[level][self.levels[level].len() - 2], &hash);
            level += 1;
            index /= 2;
        }
    }

    fn reader(&self) -> impl Fn(u8, u64) -> Result<Hash, TlogError> + '_ {
        move |level: u8, index: u64| {
            self.levels
                .get(usize::from(level))
                .and_then(|row| row.get(usize::try_from(index).ok()?))
                .copied()
                .ok_or(TlogError::MissingHash { level, index })
        }
    }

    /// The root hash at `size`.
    ///
    /// # Errors
    /// `size` is past the tree.
    pub fn root(&self, size: u64) -> Result<Hash, TlogError> {
        if size == 0 {
            return Ok(Hash::empty());
        }
        tree_hash(&self.reader(), size)
    }

    /// The id and text of `path@version`'s record.
    pub fn lookup(&self, path: &str, version: &str) -> Option<(u64, &str)> {
        let id = *self.ids.get(&format!("{path}@{version}"))?;
        Some((id, self.records.get(usize::try_from(id).ok()?)?))
    }

    /// The proof that record `id` is in the tree of `size`.
    ///
    /// # Errors
    /// `id` or `size` is past the tree.
    pub fn inclusion(&self, id: u64, size: u64) -> Result<Vec<Hash>, TlogError> {
        inclusion_proof(&self.reader(), id, size)
    }

    /// The bytes of tile `request`, when the tree holds all of it: hash
    /// tiles are the stored hashes at level `8·L`, data tiles the
    /// formatted records.
    pub fn tile(&self, request: TileRequest) -> Option<Vec<u8>> {
        let start = request.index.checked_mul(WIDTH)?;
        let end = start + u64::from(request.width);
        match request.level {
            None => {
                let records = self
                    .records
                    .get(usize::try_from(start).ok()?..usize::try_from(end).ok()?)?;
                Some(
                    (start..)
                        .zip(records)
                        .map(|(id, text)| format_record(id, text))
                        .collect::<String>()
                        .into_bytes(),
                )
            }
            Some(level) => {
                let row = self.levels.get(usize::from(level) * usize::from(HEIGHT))?;
                let hashes = row.get(usize::try_from(start).ok()?..usize::try_from(end).ok()?)?;
                Some(hashes.iter().flat_map(|h| h.0).collect())
            }
        }
    }

    /// Every tile of the tree at its current size, by its path below the
    /// database (`tile/8/0/000`, `tile/8/data/001.p/7`): full tiles and the
    /// partial right edge of each level, what a mirror keeps.
    pub fn tiles(&self) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        let size = self.size();
        let mut levels: Vec<(Option<u8>, u64)> = vec![(None, size)];
        for level in 0_u8.. {
            let count = size >> (u32::from(level) * u32::from(HEIGHT));
            if count == 0 || level > 7 {
                break;
            }
            levels.push((Some(level), count));
        }
        for (level, count) in levels {
            for index in 0..count.div_ceil(WIDTH) {
                let width = (count - index * WIDTH).min(WIDTH);
                let request = TileRequest {
                    level,
                    index,
                    width: u16::try_from(width).unwrap_or(256),
                };
                if let Some(bytes) = self.tile(request) {
                    out.push((request.path(), bytes));
                }
            }
        }
        out
    }

    /// The signed tree note at the current size (Go's `tlog.FormatTree`
    /// text, signed by `signer`).
    ///
    /// # Errors
    /// The note cannot be signed.
    pub fn signed(&self, signer: &NoteSigner) -> Result<String, TlogError> {
        let size = self.size();
        let text = format!("{TREE_ORIGIN}\n{size}\n{}\n", self.root(size)?.to_base64());
        signer.sign(&text, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(n: u64) -> SumTree {
        let mut tree = SumTree::default();
        for i in 0..n {
            let version = format!("v1.0.{i}");
            tree.push(
                "acme.dev/m",
                &version,
                record("acme.dev/m", &version, "h1:a", "h1:b"),
            );
        }
        tree
    }

    /// A naive recursive root, RFC 6962.
    fn naive(leaves: &[Hash]) -> Hash {
        if leaves.len() == 1 {
            return leaves[0];
        }
        let k = 1 << (leaves.len() - 1).ilog2();
        node_hash(&naive(&leaves[..k]), &naive(&leaves[k..]))
    }

    #[test]
    fn roots_match_the_tlog_crate() {
        for n in [1_u64, 2, 3, 7, 8, 255, 256, 257, 600] {
            let tree = tree(n);
            let entries: Vec<Vec<u8>> =
                tree.records.iter().map(|r| r.as_bytes().to_vec()).collect();
            let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
            assert_eq!(tree.root(n).unwrap(), naive(&leaves), "{n}");
            assert_eq!(
                tree.root(n / 2 + 1).unwrap(),
                naive(&leaves[..usize::try_from(n / 2 + 1).unwrap()])
            );
        }
    }

    #[test]
    fn lookups_tiles_and_notes_have_gos_shapes() {
        let mut tree = tree(300);
        let (id, text) = tree.lookup("acme.dev/m", "v1.0.7").unwrap();
        assert_eq!(id, 7);
        assert_eq!(
            text,
            "acme.dev/m v1.0.7 h1:a\nacme.dev/m v1.0.7/go.mod h1:b\n"
        );
        // A second push of one version changes nothing.
        tree.push("acme.dev/m", "v1.0.7", "other\n".into());
        assert_eq!(tree.size(), 300);

        let full = parse_tile("tile/8/0/000").unwrap();
        assert_eq!(tree.tile(full).unwrap().len(), 256 * 32);
        let partial = parse_tile("tile/8/0/001.p/44").unwrap();
        assert_eq!(tree.tile(partial).unwrap().len(), 44 * 32);
        assert_eq!(tree.tile(parse_tile("tile/8/0/001.p/45").unwrap()), None);
        let upper = parse_tile("tile/8/1/000.p/1").unwrap();
        assert_eq!(tree.tile(upper).unwrap(), tree.levels[8][0].0.to_vec());
        let data = tree
            .tile(parse_tile("tile/8/data/001.p/2").unwrap())
            .unwrap();
        assert!(
            String::from_utf8(data)
                .unwrap()
                .starts_with("256\nacme.dev/m v1.0.256 h1:a\n")
        );
        for bad in [
            "tile/8/0/1",
            "tile/4/0/000",
            "tile/8/0/000.p/256",
            "tile/8/x/000",
        ] {
            assert_eq!(parse_tile(bad), None, "{bad}");
        }

        let tiles = tree.tiles();
        let paths: Vec<&str> = tiles.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "tile/8/data/000",
                "tile/8/data/001.p/44",
                "tile/8/0/000",
                "tile/8/0/001.p/44",
                "tile/8/1/000.p/1"
            ]
        );
        for (path, bytes) in &tiles {
            assert_eq!(
                tree.tile(parse_tile(path).unwrap()).as_ref(),
                Some(bytes),
                "{path}"
            );
        }
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let signer = NoteSigner::new("sum.example", regesta_tlog::note::ALG_ED25519, key).unwrap();
        let note = tree.signed(&signer).unwrap();
        assert!(note.starts_with("go.sum database tree\n300\n"), "{note}");
        let parsed = regesta_tlog::Note::parse(note.as_bytes()).unwrap();
        parsed.verify(&[signer.verifier()]).unwrap();
        let proof = tree.inclusion(7, 300).unwrap();
        let root = tree.root(300).unwrap();
        let leaf = leaf_hash(text_of(&tree, 7).as_bytes());
        regesta_tlog::tree::verify_inclusion(&leaf, 7, 300, &proof, &root).unwrap();
    }

    fn text_of(tree: &SumTree, id: usize) -> String {
        tree.records[id].clone()
    }
}
