//! Storage errors. Conflicts are typed so core can map each to its v0 error
//! code; everything else is an adapter failure that becomes a 500.

use thiserror::Error;

/// Why a storage operation failed.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The version is already published for this package.
    #[error("release already exists")]
    ReleaseExists,
    /// The write authorization's payload digest was used before.
    #[error("write authorization replayed")]
    Replayed,
    /// The channel moved since the writer read it (compare-and-swap lost).
    #[error("channel changed concurrently")]
    StaleChannel,
    /// The transparency log moved since the sequencer read it.
    #[error("log checkpoint changed concurrently")]
    StaleLog,
    /// A pagination cursor names nothing we know.
    #[error("cursor not found")]
    CursorNotFound,
    /// The adapter's backing store failed.
    #[error("storage failure: {0}")]
    Backend(String),
    /// Stored data could not be read back as written.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl From<std::io::Error> for StoreError {
    fn from(error: std::io::Error) -> Self {
        Self::Backend(error.to_string())
    }
}

/// Result alias for this crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
