//! Source distributions (`.tar.gz`, PEP 625), read from hostile bytes
//! within fixed bounds. An sdist is accepted when every entry sits under
//! the one top directory its file name promises (its stem), is a
//! plain file or directory with a safe path, and `PKG-INFO` there names the
//! file's project and version. Nothing is extracted.

use regesta_core::archive::{Limits, WalkError, walk_tar_gz};

use crate::filename::{DistFilename, DistKind};
use crate::metadata::{CoreMetadata, MAX_METADATA_BYTES, MetadataError};

/// Largest sdist accepted (compressed).
pub const MAX_SDIST_BYTES: usize = 256 * 1024 * 1024;
/// Most entries in one sdist.
pub const MAX_ENTRIES: usize = 50_000;
/// Most bytes the archive may unpack to (the tar stream, headers included).
pub const MAX_UNPACKED_BYTES: u64 = 1024 * 1024 * 1024;

/// Why an sdist is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdistError {
    /// The file name is not an sdist's.
    #[error("not an sdist file name")]
    NotAnSdist,
    /// Over one of the size or count bounds.
    #[error("the sdist is too large: {0}")]
    TooLarge(String),
    /// Not a readable gzip-compressed tar archive.
    #[error("the sdist is not a readable .tar.gz: {0}")]
    Archive(String),
    /// An entry outside `{name}-{version}/`, or with an unsafe path.
    #[error("the sdist entry {0:?} is not a safe path under the sdist's top directory")]
    EntryPath(String),
    /// A link, device or other non-regular entry.
    #[error("the sdist entry {0} is not a plain file or directory")]
    EntryKind(String),
    /// No `{name}-{version}/PKG-INFO`.
    #[error("the sdist has no {0}/PKG-INFO")]
    Missing(String),
    /// `PKG-INFO` is refused.
    #[error("the sdist's PKG-INFO: {0}")]
    Metadata(#[from] MetadataError),
    /// `PKG-INFO` names another project or version than the file name.
    #[error("the sdist's PKG-INFO is for {name} {version}, not the file name's")]
    Mismatch {
        /// The project `PKG-INFO` names.
        name: String,
        /// The version it names.
        version: String,
    },
}

/// What an sdist is, once accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sdist {
    /// The `PKG-INFO` bytes as they are.
    pub metadata_bytes: Vec<u8>,
    /// `PKG-INFO`, parsed.
    pub metadata: CoreMetadata,
    /// Regular files in the archive.
    pub files: usize,
}

impl From<WalkError> for SdistError {
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

/// Reads and checks the sdist `bytes` uploaded as `file`.
///
/// # Errors
/// Any bound exceeded or rule broken; see [`SdistError`].
pub fn read(bytes: &[u8], file: &DistFilename) -> Result<Sdist, SdistError> {
    if file.kind != DistKind::Sdist {
        return Err(SdistError::NotAnSdist);
    }
    if bytes.len() > MAX_SDIST_BYTES {
        return Err(SdistError::TooLarge(format!(
            "over {MAX_SDIST_BYTES} bytes"
        )));
    }
    // PEP 625: the top directory is the file name's stem, as spelled.
    let top = file.file.trim_end_matches(".tar.gz").to_owned();
    let limits = Limits {
        max_entries: MAX_ENTRIES,
        max_unpacked: MAX_UNPACKED_BYTES,
        max_kept: MAX_METADATA_BYTES as u64,
    };
    let mut walk = walk_tar_gz(bytes, &top, &["PKG-INFO"], limits)?;
    let metadata_bytes = walk
        .kept
        .remove("PKG-INFO")
        .ok_or(SdistError::Missing(top))?;
    let metadata = CoreMetadata::parse(&metadata_bytes)?;
    if let Some((name, version)) = metadata.differs_from(file) {
        return Err(SdistError::Mismatch { name, version });
    }
    Ok(Sdist {
        metadata_bytes,
        metadata,
        files: walk.files,
    })
}
