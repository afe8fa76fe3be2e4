//! `.crate` files, read from hostile bytes within fixed bounds. A `.crate`
//! is what `cargo package` writes: a gzip-compressed tar whose entries all
//! sit under `<name>-<version>/`, with the normalized `Cargo.toml` there
//! (and the author's `Cargo.toml.orig`, informational). It is accepted when
//! every entry is a plain file or directory at a safe path under that
//! directory and `Cargo.toml` names the release's crate and version.
//! Nothing is extracted.

use regesta_core::archive::{Limits, WalkError, walk_tar_gz};
use serde::Deserialize;

use crate::entry::Package;
use crate::names::CrateName;
use crate::versions::CrateVersion;

/// Largest `.crate` accepted (crates.io's default upload limit).
pub const MAX_CRATE_BYTES: usize = 10 * 1024 * 1024;
/// Most entries in one `.crate`.
pub const MAX_ENTRIES: usize = 50_000;
/// Most bytes the archive may unpack to (crates.io's limit).
pub const MAX_UNPACKED_BYTES: u64 = 512 * 1024 * 1024;
/// Largest `Cargo.toml` read.
pub const MAX_MANIFEST_BYTES: u64 = 1024 * 1024;

/// Why a `.crate` is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrateError {
    /// Over one of the size or count bounds.
    #[error("the .crate is too large: {0}")]
    TooLarge(String),
    /// Not a readable gzip-compressed tar archive.
    #[error("the .crate is not a readable .tar.gz: {0}")]
    Archive(String),
    /// An entry outside `<name>-<version>/`, or with an unsafe path.
    #[error("the .crate entry {0:?} is not a safe path under <name>-<version>/")]
    EntryPath(String),
    /// A link, device or other non-regular entry.
    #[error("the .crate entry {0} is not a plain file or directory")]
    EntryKind(String),
    /// No `<name>-<version>/Cargo.toml`.
    #[error("the .crate has no {0}/Cargo.toml")]
    Missing(String),
    /// `Cargo.toml` is not a manifest.
    #[error("the .crate's Cargo.toml: {0}")]
    Manifest(String),
    /// `Cargo.toml` names another crate or version than the release.
    #[error("the .crate's Cargo.toml is for {name} {version}, not this release")]
    Mismatch {
        /// The crate `Cargo.toml` names.
        name: String,
        /// The version it names.
        version: String,
    },
}

impl From<WalkError> for CrateError {
    fn from(error: WalkError) -> Self {
        match error {
            WalkError::Unreadable(detail) => Self::Archive(detail),
            WalkError::TooManyEntries(_)
            | WalkError::TooLarge(_)
            | WalkError::KeptTooLarge { .. } => Self::TooLarge(error.to_string()),
            WalkError::EntryPath(path) => Self::EntryPath(path),
            WalkError::EntryKind(path) => Self::EntryKind(path),
        }
    }
}

/// Only `[package]` is checked here; the index entry reads the rest.
#[derive(Debug, Deserialize)]
struct Manifest {
    package: Option<Package>,
}

/// What a `.crate` is, once accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrateFile {
    /// The normalized `Cargo.toml`, as it is.
    pub manifest: String,
    /// `package.links`.
    pub links: Option<String>,
    /// `package.rust-version`.
    pub rust_version: Option<String>,
    /// Regular files in the archive.
    pub files: usize,
}

/// Reads and checks the `.crate` `bytes` of `name` at `version`.
///
/// # Errors
/// Any bound exceeded or rule broken; see [`CrateError`].
pub fn read(
    bytes: &[u8],
    name: &CrateName,
    version: &CrateVersion,
) -> Result<CrateFile, CrateError> {
    if bytes.len() > MAX_CRATE_BYTES {
        return Err(CrateError::TooLarge(format!(
            "over {MAX_CRATE_BYTES} bytes"
        )));
    }
    let top = format!("{name}-{version}");
    let limits = Limits {
        max_entries: MAX_ENTRIES,
        max_unpacked: MAX_UNPACKED_BYTES,
        max_kept: MAX_MANIFEST_BYTES,
    };
    let mut walk = walk_tar_gz(bytes, &top, &["Cargo.toml"], limits)?;
    let manifest = walk
        .kept
        .remove("Cargo.toml")
        .ok_or_else(|| CrateError::Missing(top.clone()))?;
    let manifest =
        String::from_utf8(manifest).map_err(|_| CrateError::Manifest("not UTF-8".into()))?;
    let parsed: Manifest =
        toml::from_str(&manifest).map_err(|e| CrateError::Manifest(e.message().to_owned()))?;
    let package = parsed
        .package
        .ok_or_else(|| CrateError::Manifest("no [package] table".into()))?;
    if package.name != name.as_str() || package.version != version.to_string() {
        return Err(CrateError::Mismatch {
            name: package.name,
            version: package.version,
        });
    }
    Ok(CrateFile {
        manifest,
        links: package.links,
        rust_version: package.rust_version,
        files: walk.files,
    })
}
