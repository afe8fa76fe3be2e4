//! The one place errors become HTTP: every failure is the v0 envelope
//! `{code, error, [issues], message}` (keys sorted, as the reference sends
//! them) with the status its code implies. A 500 is logged with its detail
//! and answered with a generic message.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use regesta_core::{CoreError, ErrorCode};
use serde_json::{Map, Value, json};

use crate::response::json_response;

/// An HTTP error response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// Status (the code's, except that the core's 404s keep theirs).
    pub status: StatusCode,
    /// v0 code, e.g. `request_invalid`.
    pub code: ErrorCode,
    /// Human message (also sent as `error`).
    pub message: String,
    /// Details.
    pub issues: Vec<String>,
    /// Seconds for `Retry-After` (429 only).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// 404 `package_not_found`, as core words it.
    #[must_use]
    pub fn package_not_found() -> Self {
        CoreError::package_not_found().into()
    }

    /// An error without issues, with the status its code implies.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::from_u16(code.status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code,
            message: message.into(),
            issues: Vec::new(),
            retry_after: None,
        }
    }

    /// 429 `rate_limited` with `Retry-After` (whole seconds, at least 1).
    pub fn rate_limited(message: &str, wait: std::time::Duration) -> Self {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        Self {
            retry_after: Some(seconds.max(1)),
            ..Self::new(ErrorCode::RateLimited, message)
        }
    }

    /// A 400 `request_invalid`.
    pub fn invalid(message: impl Into<String>, issues: Vec<String>) -> Self {
        Self {
            issues,
            ..Self::new(ErrorCode::RequestInvalid, message)
        }
    }

    /// 404 for unknown routes (the reference answers plain text here).
    pub fn route_not_found() -> Self {
        Self::new(ErrorCode::NotFound, "Not Found")
    }

    /// The JSON body bytes.
    pub fn body(&self) -> Vec<u8> {
        let mut m = Map::new();
        m.insert("code".into(), json!(self.code.as_str()));
        m.insert("error".into(), json!(self.message));
        if !self.issues.is_empty() {
            m.insert("issues".into(), json!(self.issues));
        }
        m.insert("message".into(), json!(self.message));
        serde_json::to_vec(&Value::Object(m)).unwrap_or_default()
    }
}

impl From<CoreError> for ApiError {
    fn from(error: CoreError) -> Self {
        match error {
            CoreError::Invalid { message, issues } => Self::invalid(message, issues),
            CoreError::Unauthorized(trust) => Self {
                issues: trust.issues,
                ..Self::new(ErrorCode::WriteAuthorizationInvalid, trust.message)
            },
            CoreError::Replayed(_) => {
                Self::new(ErrorCode::WriteAuthorizationReplayed, error.to_string())
            }
            CoreError::ReleaseExists { .. } | CoreError::EquivalentRelease { .. } => {
                Self::new(ErrorCode::ReleaseAlreadyExists, error.to_string())
            }
            CoreError::PackageNameConflict { .. } => {
                Self::new(ErrorCode::PackageNameConflict, error.to_string())
            }
            CoreError::ChannelConflict { .. } => {
                Self::new(ErrorCode::PackageChannelConflict, error.to_string())
            }
            CoreError::NotFound { code, message } => Self::new(code, message),
            CoreError::CursorNotFound { code, message } => Self::new(code, message),
            CoreError::StorageFull(detail) => {
                tracing::error!(target: "regesta.error", %detail, "storage full");
                Self::new(ErrorCode::InsufficientStorage, "Registry storage is full")
            }
            CoreError::RateLimited(wait) => {
                Self::rate_limited("Too many writes for this domain", wait)
            }
            CoreError::Store(_) | CoreError::Internal(_) => {
                tracing::error!(target: "regesta.error", error = %error, "internal error");
                Self::new(ErrorCode::InternalServerError, "Internal Server Error")
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let headers = self
            .retry_after
            .map(|s| (axum::http::header::RETRY_AFTER, s.to_string()))
            .into_iter()
            .collect();
        json_response(self.status, self.body(), headers, true)
    }
}
