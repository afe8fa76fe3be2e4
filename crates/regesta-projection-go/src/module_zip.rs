//! Module zips read from hostile bytes, under the rules of Go's
//! `golang.org/x/mod/zip` (which the go command applies when it unzips a
//! download), and hashed as `golang.org/x/mod/sumdb/dirhash` hashes them
//! for `go.sum`. Everything is bounded: the zip, the entry count, the
//! unpacked bytes, `go.mod` and `LICENSE`.

use std::collections::HashMap;
use std::io::{Cursor, Read};

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

use crate::paths::{ModulePath, check_file_path};
use crate::versions::ModuleVersion;

/// Largest module zip, and largest total unpacked size (Go's `MaxZipFile`).
pub const MAX_ZIP_BYTES: u64 = 500 << 20;
/// Largest `go.mod` (Go's `MaxGoMod`).
pub const MAX_GO_MOD_BYTES: u64 = 16 << 20;
/// Largest `LICENSE` (Go's `MaxLICENSE`).
pub const MAX_LICENSE_BYTES: u64 = 16 << 20;
/// Most entries in one zip (our bound; Go sets none).
pub const MAX_ENTRIES: usize = 100_000;
/// Largest unpacked-to-packed ratio of an entry past 1 MiB: a zip bomb's
/// tell.
const MAX_RATIO: u64 = 200;
const RATIO_FREE_BYTES: u64 = 1 << 20;

/// Why a module zip is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZipError {
    /// Not a readable zip.
    #[error("not a readable zip file: {0}")]
    Unreadable(String),
    /// Over a size or count bound.
    #[error("module zip too large: {0}")]
    TooLarge(String),
    /// An entry outside `<module>@<version>/`.
    #[error("{name}: path does not have prefix {prefix:?}")]
    Prefix {
        /// The entry.
        name: String,
        /// The prefix every entry needs.
        prefix: String,
    },
    /// A file path the go command refuses.
    #[error("{0}")]
    FilePath(String),
    /// Two entries one case-blind file system cannot hold apart.
    #[error("{0}")]
    Collision(String),
    /// A `go.mod` not at the root, or not spelled `go.mod`.
    #[error("{0}")]
    GoMod(String),
    /// A file in a vendored package (the go command leaves them out).
    #[error("{0}: file is in vendor directory")]
    Vendored(String),
    /// A symbolic link.
    #[error("{0}: symbolic links are not allowed in a module zip")]
    Symlink(String),
    /// An entry whose bytes are not its declared size.
    #[error("{0}: uncompressed size differs from the declared size")]
    Size(String),
}

/// What a valid module zip gives: its `h1:` hash and its root `go.mod`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleZip {
    /// `h1:` hash of the zip's files, as `go.sum` records it.
    pub hash: String,
    /// The root `go.mod`, when the zip has one.
    pub go_mod: Option<Vec<u8>>,
}

/// `h1:` of `(name, sha256)` pairs: base64 of the SHA-256 of the lines
/// `<hex sha256>  <name>\n` sorted by name (dirhash `Hash1`).
pub fn hash1(mut files: Vec<(String, [u8; 32])>) -> String {
    files.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut summary = Sha256::new();
    for (name, sha) in &files {
        summary.update(hex(sha));
        summary.update(b"  ");
        summary.update(name.as_bytes());
        summary.update(b"\n");
    }
    format!(
        "h1:{}",
        base64::engine::general_purpose::STANDARD.encode(summary.finalize())
    )
}

/// `h1:` of a `go.mod` as the go command hashes `.mod` files.
pub fn go_mod_hash(bytes: &[u8]) -> String {
    hash1(vec![("go.mod".to_owned(), Sha256::digest(bytes).into())])
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Whether `name` lies in a vendored package: Go's `isVendoredPackage`,
/// including its historical offset quirk (module hashes depend on it).
pub(crate) fn vendored(name: &str) -> bool {
    let skip = if name.starts_with("vendor/") {
        "vendor/".len()
    } else if name.contains("/vendor/") {
        // Go skips len("/vendor/") from the start, not from the match.
        "/vendor/".len()
    } else {
        return false;
    };
    name.as_bytes()
        .get(skip..)
        .is_some_and(|rest| rest.contains(&b'/'))
}

/// Case-folded form for collision checks (a close stand-in for Go's
/// `strToFold`: full lowercase per character).
fn fold(path: &str) -> String {
    path.chars().flat_map(char::to_lowercase).collect()
}

/// Finds case-blind collisions and paths that are both file and directory,
/// as Go's `collisionChecker` does (parents are checked as directories).
#[derive(Default)]
struct Collisions(HashMap<String, (String, bool)>);

impl Collisions {
    fn check(&mut self, path: &str, dir: bool) -> Result<(), ZipError> {
        let mut path = path.to_owned();
        let mut dir = dir;
        loop {
            match self.0.get(&fold(&path)) {
                Some((other, other_dir)) => {
                    if *other != path {
                        return Err(ZipError::Collision(format!(
                            "case-insensitive file name collision: {other:?} and {path:?}"
                        )));
                    }
                    if *other_dir != dir {
                        return Err(ZipError::Collision(format!(
                            "entry {path:?} is both a file and a directory"
                        )));
                    }
                    if !dir {
                        return Err(ZipError::Collision(format!(
                            "multiple entries for file {path:?}"
                        )));
                    }
                }
                None => {
                    self.0.insert(fold(&path), (path.clone(), dir));
                }
            }
            match path.rsplit_once('/') {
                Some((parent, _)) => {
                    path = parent.to_owned();
                    dir = true;
                }
                None => return Ok(()),
            }
        }
    }
}

fn unreadable(error: &zip::result::ZipError) -> ZipError {
    ZipError::Unreadable(error.to_string())
}

/// One entry read through SHA-256, failing unless it is `declared` bytes;
/// the bytes are kept when `keep`.
fn read_entry(
    reader: impl Read,
    name: &str,
    declared: u64,
    keep: bool,
) -> Result<regesta_core::archive::HashedEntry, ZipError> {
    regesta_core::archive::read_declared(reader, declared, keep)
        .map_err(|e| ZipError::Unreadable(format!("{name}: {e}")))?
        .ok_or_else(|| ZipError::Size(name.to_owned()))
}

/// Checks one entry's name (below the prefix) as Go's `checkZip` does.
fn check_name(name: &str, dir: bool, collisions: &mut Collisions) -> Result<(), ZipError> {
    // Refuses `.`, `..` and empty elements, so a passing name is clean.
    check_file_path(name).map_err(ZipError::FilePath)?;
    collisions.check(name, dir)?;
    if dir {
        return Ok(());
    }
    let base = name.rsplit('/').next().unwrap_or(name);
    if base.eq_ignore_ascii_case("go.mod") {
        if base != name {
            return Err(ZipError::GoMod(format!(
                "{name}: go.mod file not in module root directory (nested modules are published on their own)"
            )));
        }
        if name != "go.mod" {
            return Err(ZipError::GoMod(format!(
                "{name}: go.mod files must have lowercase names"
            )));
        }
    }
    if vendored(name) {
        return Err(ZipError::Vendored(name.to_owned()));
    }
    Ok(())
}

/// Reads and checks the module zip `bytes` of `module` at `version`.
///
/// # Errors
/// Any bound exceeded or rule broken; see [`ZipError`].
pub fn read(
    bytes: &[u8],
    module: &ModulePath,
    version: &ModuleVersion,
) -> Result<ModuleZip, ZipError> {
    if bytes.len() as u64 > MAX_ZIP_BYTES {
        return Err(ZipError::TooLarge(format!("over {MAX_ZIP_BYTES} bytes")));
    }
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| unreadable(&e))?;
    if archive.len() > MAX_ENTRIES {
        return Err(ZipError::TooLarge(format!("over {MAX_ENTRIES} entries")));
    }
    let prefix = format!("{module}@{version}/");
    let mut collisions = Collisions::default();
    let mut unpacked = 0_u64;
    // First pass, headers only.
    let mut entries = Vec::with_capacity(archive.len());
    for index in 0..archive.len() {
        let entry = archive.by_index_raw(index).map_err(|e| unreadable(&e))?;
        let full = entry.name().map_err(|e| unreadable(&e))?.into_owned();
        let Some(name) = full.strip_prefix(&prefix) else {
            return Err(ZipError::Prefix { name: full, prefix });
        };
        let dir = name.ends_with('/');
        let name = name.strip_suffix('/').unwrap_or(name).to_owned();
        if entry.is_symlink() {
            return Err(ZipError::Symlink(full));
        }
        let size = entry.size();
        if !name.is_empty() {
            check_name(&name, dir, &mut collisions)?;
        }
        if size > RATIO_FREE_BYTES && size / entry.compressed_size().max(1) > MAX_RATIO {
            return Err(ZipError::TooLarge(format!(
                "{full} unpacks over {MAX_RATIO} times its packed size"
            )));
        }
        unpacked = unpacked.saturating_add(size);
        if unpacked > MAX_ZIP_BYTES {
            return Err(ZipError::TooLarge(format!(
                "unpacks to over {MAX_ZIP_BYTES} bytes"
            )));
        }
        let cap = match name.as_str() {
            "go.mod" => Some(MAX_GO_MOD_BYTES),
            "LICENSE" => Some(MAX_LICENSE_BYTES),
            _ => None,
        };
        if cap.is_some_and(|cap| size > cap) {
            return Err(ZipError::TooLarge(format!(
                "{name} is over {} bytes",
                cap.unwrap_or(0)
            )));
        }
        entries.push((index, full, name, size, dir));
    }
    // Second pass: every entry hashed under its full name, as dirhash's
    // HashZip does (directory entries hash as empty files).
    let mut hashed = Vec::with_capacity(entries.len());
    let mut go_mod = None;
    for (index, full, name, size, dir) in entries {
        let keep = !dir && name == "go.mod";
        let entry = archive.by_index(index).map_err(|e| unreadable(&e))?;
        let (sha, kept) = read_entry(entry, &full, size, keep)?;
        if keep {
            go_mod = kept;
        }
        hashed.push((full, sha));
    }
    Ok(ModuleZip {
        hash: hash1(hashed),
        go_mod,
    })
}
