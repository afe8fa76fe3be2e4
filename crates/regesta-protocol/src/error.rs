//! The one error type of the protocol layer.
//!
//! Every parser in this crate turns untrusted text into a typed value or into a
//! [`ProtocolError`] that names what was wrong. The server maps these to
//! `400 request_invalid` (or `401 write_authorization_invalid` for signature
//! problems) in one place; the protocol layer never decides HTTP status codes.

use thiserror::Error;

/// Why a piece of protocol input was rejected.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    /// The bytes are not acceptable JSON for a hashed or signed document.
    #[error(transparent)]
    Json(#[from] crate::json::JsonError),
    /// A field failed a protocol rule; `field` is a JSON-pointer-like path.
    #[error("{field}: {reason}")]
    Invalid {
        /// Which field or value failed, e.g. `package` or `keys[0].kid`.
        field: String,
        /// What rule it broke, in words a publisher can act on.
        reason: String,
    },
    /// A signature or key was malformed or did not verify.
    #[error("{0}")]
    Signature(String),
}

impl ProtocolError {
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Returns a copy whose field path is prefixed with `parent`, so nested
    /// validators can report `keys[1].publicKeyJwk.x` rather than just `x`.
    #[must_use]
    pub fn within(self, parent: &str) -> Self {
        match self {
            Self::Invalid { field, reason } => Self::Invalid {
                field: if field.is_empty() {
                    parent.to_owned()
                } else {
                    format!("{parent}.{field}")
                },
                reason,
            },
            other => other,
        }
    }

    /// The rule broken, said of `label` the way the reference's validators
    /// say it (`Package version must not include control characters`).
    pub fn said_of(&self, label: &str) -> String {
        match self {
            Self::Invalid { reason, .. } => format!("{label} {reason}"),
            other => other.to_string(),
        }
    }

    /// The error as one sentence, worded the way the reference words its
    /// write-authorization messages (`kid is required`, `Unsupported write
    /// intent operation`): the reason alone when it already says what it is
    /// about, else the field followed by the reason.
    pub fn sentence(&self) -> String {
        match self {
            Self::Invalid { field, reason }
                if field.is_empty()
                    || reason.starts_with(char::is_uppercase)
                    || reason.starts_with(field.as_str()) =>
            {
                reason.clone()
            }
            Self::Invalid { field, reason } => format!("{field} {reason}"),
            other => other.to_string(),
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = ProtocolError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::ProtocolError;

    #[test]
    fn rules_are_said_of_a_label() {
        assert_eq!(
            ProtocolError::invalid("version", "must not include control characters")
                .said_of("Package version"),
            "Package version must not include control characters"
        );
    }

    #[test]
    fn sentences_name_the_field_once() {
        assert_eq!(
            ProtocolError::invalid("kid", "is required").sentence(),
            "kid is required"
        );
        assert_eq!(
            ProtocolError::invalid("operation", "Unsupported write intent operation").sentence(),
            "Unsupported write intent operation"
        );
        assert_eq!(
            ProtocolError::invalid("configDigest", "configDigest must be a sha256 digest")
                .sentence(),
            "configDigest must be a sha256 digest"
        );
    }
}
