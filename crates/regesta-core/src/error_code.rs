//! The v0 error codes: the one list every API error response is built
//! from, each with the HTTP status it implies.

/// Every error code the v0 API answers with, and the status each implies:
/// the one list every error response is built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// 400: a malformed request.
    RequestInvalid,
    /// 400: a malformed `Content-Length`.
    RequestContentLengthInvalid,
    /// 401: the write authorization does not authorize this write.
    WriteAuthorizationInvalid,
    /// 404: no route.
    NotFound,
    /// 404.
    PackageNotFound,
    /// 404 (npm projection).
    PackageVersionNotFound,
    /// 404.
    ReleaseNotFound,
    /// 404.
    ChannelNotFound,
    /// 404.
    EventNotFound,
    /// 404.
    ObjectNotFound,
    /// 404: a page cursor that names no event.
    EventCursorNotFound,
    /// 404: a page cursor that names no object.
    ObjectCursorNotFound,
    /// 404: no checkpoint (yet).
    LogCheckpointNotFound,
    /// 404: a tile the tree does not have.
    LogTileNotFound,
    /// 404: an event not sequenced yet.
    LogEntryNotFound,
    /// 404: a tree size past the latest checkpoint.
    LogSizeNotFound,
    /// 408: the request body did not arrive in time.
    RequestTimeout,
    /// 409.
    ReleaseAlreadyExists,
    /// 409.
    WriteAuthorizationReplayed,
    /// 409.
    PackageChannelConflict,
    /// 409: another package of the namespace has the same name to the
    /// ecosystem's clients (a Regesta extension; v0 has no such rule).
    PackageNameConflict,
    /// 413.
    RequestTooLarge,
    /// 429.
    RateLimited,
    /// 500.
    InternalServerError,
    /// 502 (npm projection, upstream fallback).
    UpstreamNpmRegistryUnavailable,
    /// 507.
    InsufficientStorage,
}

impl ErrorCode {
    /// The wire code, e.g. `package_not_found`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RequestInvalid => "request_invalid",
            Self::RequestContentLengthInvalid => "request_content_length_invalid",
            Self::WriteAuthorizationInvalid => "write_authorization_invalid",
            Self::NotFound => "not_found",
            Self::PackageNotFound => "package_not_found",
            Self::PackageVersionNotFound => "package_version_not_found",
            Self::ReleaseNotFound => "release_not_found",
            Self::ChannelNotFound => "channel_not_found",
            Self::EventNotFound => "event_not_found",
            Self::ObjectNotFound => "object_not_found",
            Self::EventCursorNotFound => "event_cursor_not_found",
            Self::ObjectCursorNotFound => "object_cursor_not_found",
            Self::LogCheckpointNotFound => "log_checkpoint_not_found",
            Self::LogTileNotFound => "log_tile_not_found",
            Self::LogEntryNotFound => "log_entry_not_found",
            Self::LogSizeNotFound => "log_size_not_found",
            Self::RequestTimeout => "request_timeout",
            Self::ReleaseAlreadyExists => "release_already_exists",
            Self::WriteAuthorizationReplayed => "write_authorization_replayed",
            Self::PackageChannelConflict => "package_channel_conflict",
            Self::PackageNameConflict => "package_name_conflict",
            Self::RequestTooLarge => "request_too_large",
            Self::RateLimited => "rate_limited",
            Self::InternalServerError => "internal_server_error",
            Self::UpstreamNpmRegistryUnavailable => "upstream_npm_registry_unavailable",
            Self::InsufficientStorage => "insufficient_storage",
        }
    }

    /// The HTTP status the code implies.
    pub fn status(self) -> u16 {
        match self {
            Self::RequestInvalid | Self::RequestContentLengthInvalid => 400,
            Self::WriteAuthorizationInvalid => 401,
            Self::NotFound
            | Self::PackageNotFound
            | Self::PackageVersionNotFound
            | Self::ReleaseNotFound
            | Self::ChannelNotFound
            | Self::EventNotFound
            | Self::ObjectNotFound
            | Self::EventCursorNotFound
            | Self::ObjectCursorNotFound
            | Self::LogCheckpointNotFound
            | Self::LogTileNotFound
            | Self::LogEntryNotFound
            | Self::LogSizeNotFound => 404,
            Self::RequestTimeout => 408,
            Self::ReleaseAlreadyExists
            | Self::WriteAuthorizationReplayed
            | Self::PackageChannelConflict
            | Self::PackageNameConflict => 409,
            Self::RequestTooLarge => 413,
            Self::RateLimited => 429,
            Self::InternalServerError => 500,
            Self::UpstreamNpmRegistryUnavailable => 502,
            Self::InsufficientStorage => 507,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorCode;

    #[test]
    fn every_code_is_distinct_and_not_found_codes_are_404s() {
        let all = [
            ErrorCode::RequestInvalid,
            ErrorCode::RequestContentLengthInvalid,
            ErrorCode::WriteAuthorizationInvalid,
            ErrorCode::NotFound,
            ErrorCode::PackageNotFound,
            ErrorCode::PackageVersionNotFound,
            ErrorCode::ReleaseNotFound,
            ErrorCode::ChannelNotFound,
            ErrorCode::EventNotFound,
            ErrorCode::ObjectNotFound,
            ErrorCode::EventCursorNotFound,
            ErrorCode::ObjectCursorNotFound,
            ErrorCode::LogCheckpointNotFound,
            ErrorCode::LogTileNotFound,
            ErrorCode::LogEntryNotFound,
            ErrorCode::LogSizeNotFound,
            ErrorCode::RequestTimeout,
            ErrorCode::ReleaseAlreadyExists,
            ErrorCode::WriteAuthorizationReplayed,
            ErrorCode::PackageChannelConflict,
            ErrorCode::PackageNameConflict,
            ErrorCode::RequestTooLarge,
            ErrorCode::RateLimited,
            ErrorCode::InternalServerError,
            ErrorCode::UpstreamNpmRegistryUnavailable,
            ErrorCode::InsufficientStorage,
        ];
        let names: std::collections::BTreeSet<&str> = all.iter().map(|c| c.as_str()).collect();
        assert_eq!(names.len(), all.len());
        for code in all {
            assert_eq!(
                code.as_str().ends_with("not_found"),
                code.status() == 404,
                "{code}"
            );
        }
    }
}
