//! Core errors, one variant per v0 outcome; the server maps each to a
//! status and error code in one place.

use std::borrow::Cow;

use regesta_protocol::{ChannelName, Digest, PackageId, ProtocolError, Version};

pub use crate::error_code::ErrorCode;
use regesta_store::StoreError;
use regesta_trust::TrustError;
use thiserror::Error;

/// Why a use case failed.
#[derive(Debug, Error)]
pub enum CoreError {
    /// 400 `request_invalid`.
    #[error("{message}")]
    Invalid {
        /// Summary.
        message: String,
        /// Details.
        issues: Vec<String>,
    },
    /// 401 `write_authorization_invalid`.
    #[error(transparent)]
    Unauthorized(#[from] TrustError),
    /// 409 `write_authorization_replayed`: the authorization's payload
    /// digest was accepted before.
    #[error("Write authorization already used: {0}")]
    Replayed(Digest),
    /// 409 `release_already_exists`.
    #[error("Release already exists: {package}@{version}")]
    ReleaseExists {
        /// The package.
        package: PackageId,
        /// The version already published.
        version: Version,
    },
    /// 409 `release_already_exists`: another spelling of the version is
    /// published, and the ecosystem's clients take both for one version.
    #[error("Release already exists: {package}@{existing} is the same version as {version}")]
    EquivalentRelease {
        /// The package.
        package: PackageId,
        /// The version being published.
        version: Version,
        /// The published version it equals.
        existing: Version,
    },
    /// 409 `package_name_conflict`: the ecosystem's clients take the
    /// package's name for the name of another package of its namespace
    /// (Cargo: `foo-bar` and `foo_bar`).
    #[error("Package name conflict: {package} is the same name as {existing} to its clients")]
    PackageNameConflict {
        /// The package being published.
        package: PackageId,
        /// The package whose name it equals.
        existing: PackageId,
    },
    /// 404 with a specific code.
    #[error("{message}")]
    NotFound {
        /// `package_not_found`, `release_not_found`, `channel_not_found`, …
        code: ErrorCode,
        /// v0 message (some name the missing thing, as the reference's do).
        message: Cow<'static, str>,
    },
    /// 404 for a pagination cursor naming nothing; the code depends on the
    /// list (`event_cursor_not_found`, `object_cursor_not_found`).
    #[error("{message}")]
    CursorNotFound {
        /// v0 code.
        code: ErrorCode,
        /// v0 message.
        message: &'static str,
    },
    /// 409 `package_channel_conflict`: the channel moved between the read
    /// the intent was checked against and the commit.
    #[error("Package channel changed before commit: {package}#{channel}")]
    ChannelConflict {
        /// The package.
        package: PackageId,
        /// The channel that moved.
        channel: ChannelName,
    },
    /// 507 `insufficient_storage`: the disk or database is full; nothing
    /// was committed.
    #[error("registry storage is full: {0}")]
    StorageFull(#[source] StoreError),
    /// 429 `rate_limited`: the owner domain wrote more than its limit;
    /// retry after the duration.
    #[error("Too many writes for this domain")]
    RateLimited(std::time::Duration),
    /// 500: storage failed.
    #[error(transparent)]
    Store(StoreError),
    /// 500: an invariant broke (a document we built failed to serialize).
    #[error("internal error: {0}")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl CoreError {
    /// A 400 with issues.
    pub fn invalid(message: impl Into<String>, issues: Vec<String>) -> Self {
        Self::Invalid {
            message: message.into(),
            issues,
        }
    }

    /// A 500 for a broken invariant, keeping its cause; the detail is
    /// logged, never sent.
    pub fn internal(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Internal(cause.into())
    }

    /// A 404 with `code` and `message`.
    pub fn not_found(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self::NotFound {
            code,
            message: message.into(),
        }
    }

    /// 404 `package_not_found`, worded as the reference words it: what
    /// every read and every projection answers for a package not hosted.
    #[must_use]
    pub fn package_not_found() -> Self {
        Self::not_found(ErrorCode::PackageNotFound, "Package not found")
    }

    /// 404 `release_not_found` naming the release, as the reference's
    /// write paths do (`Release not found: <id>@<version>`).
    pub fn release_not_found(package: &PackageId, version: &Version) -> Self {
        Self::not_found(
            ErrorCode::ReleaseNotFound,
            format!("Release not found: {package}@{version}"),
        )
    }

    /// A 400 from a protocol parse failure.
    pub fn from_protocol(message: &str, error: &ProtocolError) -> Self {
        Self::invalid(message, vec![error.to_string()])
    }
}

/// Storage failures; commit conflicts (`ReleaseExists`, `Replayed`,
/// `StaleChannel`) are mapped by the use case that committed, which knows
/// what to name in the message.
impl From<StoreError> for CoreError {
    fn from(error: StoreError) -> Self {
        match error {
            full @ StoreError::Full(_) => Self::StorageFull(full),
            other => Self::Store(other),
        }
    }
}
