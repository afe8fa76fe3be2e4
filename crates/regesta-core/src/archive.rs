//! A bounded walk over a gzip-compressed tar archive that keeps everything
//! under one top directory (Python sdists, Cargo `.crate` files): hostile
//! bytes are read once as a stream, never extracted, within fixed caps on
//! entries and unpacked bytes; every entry must be a plain file or
//! directory at a safe path under the top directory; and the few files an
//! ecosystem reads (`PKG-INFO`, `Cargo.toml`) are kept, each within its own
//! cap. Ecosystems map [`WalkError`] to their own refusals.

use std::collections::BTreeMap;
use std::io::Read as _;

/// The bounds of one walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most entries (files and directories).
    pub max_entries: usize,
    /// Most bytes the archive may unpack to (the tar stream, headers
    /// included).
    pub max_unpacked: u64,
    /// Largest file kept.
    pub max_kept: u64,
}

/// Why a walk stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalkError {
    /// Not a readable gzip-compressed tar archive.
    #[error("not a readable .tar.gz: {0}")]
    Unreadable(String),
    /// More entries than [`Limits::max_entries`].
    #[error("over {0} entries")]
    TooManyEntries(usize),
    /// Unpacks to more than [`Limits::max_unpacked`] bytes.
    #[error("unpacks to over {0} bytes")]
    TooLarge(u64),
    /// An entry outside the top directory, or with an unsafe path.
    #[error("the entry {0:?} is not a safe path under the top directory")]
    EntryPath(String),
    /// A link, device or other entry that is not a plain file or directory.
    #[error("the entry {0} is not a plain file or directory")]
    EntryKind(String),
    /// A file to keep is larger than [`Limits::max_kept`].
    #[error("{path} is over {max} bytes")]
    KeptTooLarge {
        /// The file, relative to the top directory.
        path: String,
        /// The cap.
        max: u64,
    },
}

/// What a walk found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Walk {
    /// Regular files in the archive.
    pub files: usize,
    /// The kept files by their path under the top directory.
    pub kept: BTreeMap<String, Vec<u8>>,
}

/// Whether `path` is `top` or a relative path under it that never climbs.
pub fn is_under(path: &str, top: &str) -> bool {
    let path = path.trim_end_matches('/');
    let mut parts = path.split('/');
    parts.next() == Some(top)
        && !path.contains(['\\', '\0'])
        && parts.all(|part| !part.is_empty() && part != "." && part != "..")
}

/// Walks the `.tar.gz` `bytes`, whose entries must all sit under `top/`,
/// keeping the files named in `keep` (paths under `top/`).
///
/// # Errors
/// See [`WalkError`]: the first rule broken or bound exceeded.
pub fn walk_tar_gz(
    bytes: &[u8],
    top: &str,
    keep: &[&str],
    limits: Limits,
) -> Result<Walk, WalkError> {
    // One byte past the bound tells a full stream from a cut-off one.
    let stream = flate2::read::GzDecoder::new(bytes).take(limits.max_unpacked + 1);
    let mut archive = tar::Archive::new(stream);
    let walked = entries(&mut archive, top, keep, limits);
    // A stream cut off at the bound usually surfaces as a read error inside
    // an entry: it is the bound that was hit.
    if archive.into_inner().limit() == 0 {
        return Err(WalkError::TooLarge(limits.max_unpacked));
    }
    walked
}

fn entries<R: std::io::Read>(
    archive: &mut tar::Archive<R>,
    top: &str,
    keep: &[&str],
    limits: Limits,
) -> Result<Walk, WalkError> {
    let unreadable = |e: &std::io::Error| WalkError::Unreadable(e.to_string());
    let mut walk = Walk::default();
    let mut entries = 0_usize;
    for entry in archive.entries().map_err(|e| unreadable(&e))? {
        let mut entry = entry.map_err(|e| unreadable(&e))?;
        entries += 1;
        if entries > limits.max_entries {
            return Err(WalkError::TooManyEntries(limits.max_entries));
        }
        let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if !is_under(&path, top) {
            return Err(WalkError::EntryPath(path));
        }
        match entry.header().entry_type() {
            tar::EntryType::Directory => continue,
            tar::EntryType::Regular | tar::EntryType::Continuous => walk.files += 1,
            _ => return Err(WalkError::EntryKind(path)),
        }
        let relative = path.get(top.len() + 1..).unwrap_or_default();
        if keep.contains(&relative) {
            if entry.size() > limits.max_kept {
                return Err(WalkError::KeptTooLarge {
                    path: relative.to_owned(),
                    max: limits.max_kept,
                });
            }
            let mut kept = Vec::new();
            entry
                .by_ref()
                .take(limits.max_kept)
                .read_to_end(&mut kept)
                .map_err(|e| unreadable(&e))?;
            walk.kept.insert(relative.to_owned(), kept);
        }
    }
    Ok(walk)
}

/// An entry's SHA-256 and, when kept, its bytes.
pub type HashedEntry = ([u8; 32], Option<Vec<u8>>);

/// One archive entry read through SHA-256 (a zip member: a wheel's file, a
/// Go module's file), never past `declared + 1` bytes: its hash and, when
/// `keep`, its bytes; `Ok(None)` when it is not exactly `declared` bytes
/// long (a header that lies about the size).
///
/// # Errors
/// The entry could not be read (a corrupt stream).
pub fn read_declared(
    reader: impl std::io::Read,
    declared: u64,
    keep: bool,
) -> std::io::Result<Option<HashedEntry>> {
    let mut hasher = regesta_protocol::DigestWriter::new();
    let mut kept = keep.then(Vec::new);
    let mut limited = reader.take(declared.saturating_add(1));
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let n = limited.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        let chunk = buffer.get(..n).unwrap_or_default();
        hasher.update(chunk);
        if let Some(kept) = &mut kept {
            kept.extend_from_slice(chunk);
        }
    }
    if hasher.len() != declared {
        return Ok(None);
    }
    Ok(Some((*hasher.finish().as_bytes(), kept)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_under_the_top_directory() {
        for ok in ["pkg-1.0", "pkg-1.0/", "pkg-1.0/a", "pkg-1.0/a/b.txt"] {
            assert!(is_under(ok, "pkg-1.0"), "{ok}");
        }
        for bad in [
            "other/a",
            "/pkg-1.0/a",
            "pkg-1.0/../x",
            "pkg-1.0/./a",
            "pkg-1.0//a",
            "pkg-1.0/a\\b",
            "pkg-1.0x/a",
            "",
        ] {
            assert!(!is_under(bad, "pkg-1.0"), "{bad}");
        }
    }
}
