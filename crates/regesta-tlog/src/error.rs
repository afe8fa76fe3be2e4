//! The one error type of the log layer.

use thiserror::Error;

/// Why a log computation, proof or note was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TlogError {
    /// An index, size or range outside the tree.
    #[error("{0}")]
    Range(String),
    /// A hash the reader does not have.
    #[error("missing hash at level {level}, index {index}")]
    MissingHash {
        /// Tree level.
        level: u8,
        /// Index within the level.
        index: u64,
    },
    /// A proof that does not verify.
    #[error("invalid proof: {0}")]
    Proof(String),
    /// Malformed text (note, checkpoint, key, tile path, proof bundle).
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being parsed.
        what: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// A signature that does not verify, or no trusted signature at all.
    #[error("signature: {0}")]
    Signature(String),
}

impl TlogError {
    pub(crate) fn malformed(what: &'static str, reason: impl Into<String>) -> Self {
        Self::Malformed {
            what,
            reason: reason.into(),
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = TlogError> = std::result::Result<T, E>;
