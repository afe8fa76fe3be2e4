//! Storage errors. Conflicts are typed so core can map each to its v0 error
//! code; everything else is an adapter failure that becomes a 500.

use thiserror::Error;

/// Why a storage operation failed.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The version is already published for this package.
    #[error("release already exists")]
    ReleaseExists,
    /// Another package holds the publish's name key (its id is the
    /// payload).
    #[error("package name taken by {0}")]
    NameTaken(regesta_protocol::PackageId),
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
    /// The disk (or database) is full: the write was not made; reads go on.
    #[error("storage full: {0}")]
    Full(#[source] Cause),
    /// The adapter's backing store failed.
    #[error("storage failure: {0}")]
    Backend(#[source] Cause),
    /// Stored data could not be read back as written.
    #[error("stored data is corrupt: {0}")]
    Corrupt(#[source] Cause),
}

/// The underlying failure of a storage error, kept (not flattened to text)
/// so logs and callers can walk the whole chain.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

impl From<std::io::Error> for StoreError {
    fn from(error: std::io::Error) -> Self {
        match error.kind() {
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
                Self::Full(error.into())
            }
            _ => Self::Backend(error.into()),
        }
    }
}

/// A database error as a store error: "full" when the database says so
/// (SQLite `SQLITE_FULL`, PostgreSQL `53100 disk_full`), else a backend
/// failure.
pub(crate) fn database_error(error: sqlx::Error) -> StoreError {
    let code = error
        .as_database_error()
        .and_then(sqlx::error::DatabaseError::code);
    let full = matches!(code.as_deref(), Some("13" | "53100"))
        || matches!(&error, sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::StorageFull);
    if full {
        StoreError::Full(error.into())
    } else {
        StoreError::Backend(error.into())
    }
}

/// Result alias for this crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
