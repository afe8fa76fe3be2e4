//! Byte ranges and object responses for the core's object routes, the
//! body-read deadline, and — re-exported — the response building blocks
//! every route shares ([`regesta_http::response`]).

use axum::body::Body;
use axum::http::header::{
    ACCEPT_RANGES, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG,
};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use regesta_core::ErrorCode;

pub use regesta_http::response::*;

/// An inclusive byte range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte.
    pub start: u64,
    /// Last byte (inclusive).
    pub end: u64,
}

/// What a `Range` header asks of a resource of `size` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeRequest {
    /// No usable range: serve the whole resource. RFC 9110 §14.2 lets a
    /// server ignore a malformed, reversed or multi-range header.
    Full,
    /// Serve one part (206).
    Part(ByteRange),
    /// Syntactically valid but unsatisfiable (416).
    Unsatisfiable,
}

/// Interprets a `Range` header value for a resource of `size` bytes.
pub fn parse_range(header: Option<&str>, size: u64) -> RangeRequest {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return RangeRequest::Full;
    };
    let spec = spec.trim();
    if spec.contains(',') {
        return RangeRequest::Full;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return RangeRequest::Full;
    };
    let number = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match (first.is_empty(), number(first), number(last)) {
        // `bytes=-N`: the last N bytes.
        (true, _, Some(n)) => {
            if n == 0 || size == 0 {
                RangeRequest::Unsatisfiable
            } else {
                RangeRequest::Part(ByteRange {
                    start: size.saturating_sub(n),
                    end: size - 1,
                })
            }
        }
        (false, Some(start), end) if last.is_empty() || end.is_some() => {
            let end = end.unwrap_or(u64::MAX);
            if end < start {
                RangeRequest::Full
            } else if start >= size {
                RangeRequest::Unsatisfiable
            } else {
                RangeRequest::Part(ByteRange {
                    start,
                    end: end.min(size - 1),
                })
            }
        }
        _ => RangeRequest::Full,
    }
}

/// Object bytes for [`object_response`]: the whole object, exactly the
/// part the request's range names (read by a ranged store read), or the
/// whole object as a stream.
pub enum ObjectBytes {
    /// All bytes.
    Whole(Bytes),
    /// The requested range's bytes only.
    Part(Bytes),
    /// All bytes, streamed from the store.
    Stream(regesta_store::ByteStream),
}

impl std::fmt::Debug for ObjectBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Whole(b) => write!(f, "Whole({} bytes)", b.len()),
            Self::Part(b) => write!(f, "Part({} bytes)", b.len()),
            Self::Stream(_) => f.write_str("Stream"),
        }
    }
}

/// Serves immutable object bytes (or only their headers for HEAD), with
/// ranges.
pub fn object_response(
    method: &Method,
    request: &HeaderMap,
    media_type: &str,
    etag: &str,
    size: u64,
    bytes: Option<ObjectBytes>,
) -> Response {
    let mut headers = vec![
        (ACCEPT_RANGES, "bytes".to_owned()),
        (CACHE_CONTROL, IMMUTABLE.to_owned()),
        (CONTENT_TYPE, media_type.to_owned()),
        (ETAG, etag.to_owned()),
    ];
    if matches_if_none_match(request, etag) {
        return not_modified(&headers);
    }
    let range = request
        .get(axum::http::header::RANGE)
        .and_then(|v| v.to_str().ok());
    match parse_range(range, size) {
        RangeRequest::Full => {
            headers.push((CONTENT_LENGTH, size.to_string()));
            let body = bytes
                .filter(|_| !is_head(method))
                .map_or_else(Body::empty, |b| match b {
                    ObjectBytes::Whole(b) | ObjectBytes::Part(b) => Body::from(b),
                    ObjectBytes::Stream(s) => Body::from_stream(s),
                });
            build(StatusCode::OK, &headers, body)
        }
        RangeRequest::Part(r) => {
            headers.push((CONTENT_LENGTH, (r.end - r.start + 1).to_string()));
            headers.push((CONTENT_RANGE, format!("bytes {}-{}/{size}", r.start, r.end)));
            let body = bytes
                .filter(|_| !is_head(method))
                .and_then(|b| match b {
                    ObjectBytes::Part(part) => Some(part),
                    // Only full reads are streamed.
                    ObjectBytes::Stream(_) => None,
                    ObjectBytes::Whole(b) => {
                        let start = usize::try_from(r.start).ok()?;
                        let end = usize::try_from(r.end).ok()?;
                        b.get(start..=end).map(|_| b.slice(start..=end))
                    }
                })
                .map_or_else(Body::empty, Body::from);
            build(StatusCode::PARTIAL_CONTENT, &headers, body)
        }
        RangeRequest::Unsatisfiable => build(
            StatusCode::RANGE_NOT_SATISFIABLE,
            &[
                (ACCEPT_RANGES, "bytes".to_owned()),
                (CONTENT_RANGE, format!("bytes */{size}")),
            ],
            Body::empty(),
        ),
    }
}

/// Runs a body read under `REGESTA_REQUEST_BODY_TIMEOUT_MS`: a client that
/// trickles its upload (slowloris) gets `408 request_timeout` instead of
/// holding a connection and a task forever.
///
/// # Errors
/// The read's own error, or 408 when the deadline passes first.
pub async fn within_body_deadline<T>(
    state: &crate::state::AppState,
    read: impl Future<Output = Result<T, crate::error::ApiError>>,
) -> Result<T, crate::error::ApiError> {
    let limit = std::time::Duration::from_millis(state.config().body_timeout_ms);
    tokio::time::timeout(limit, read).await.unwrap_or_else(|_| {
        Err(crate::error::ApiError::new(
            ErrorCode::RequestTimeout,
            "Request body not received in time",
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_follow_rfc_9110() {
        let part = |start, end| RangeRequest::Part(ByteRange { start, end });
        assert_eq!(parse_range(Some("bytes=0-9"), 754), part(0, 9));
        assert_eq!(parse_range(Some("bytes=750-"), 754), part(750, 753));
        assert_eq!(parse_range(Some("bytes=700-9999"), 754), part(700, 753));
        assert_eq!(parse_range(Some("bytes=-4"), 754), part(750, 753));
        assert_eq!(parse_range(Some("bytes=-9999"), 754), part(0, 753));
        assert_eq!(
            parse_range(Some("bytes=754-"), 754),
            RangeRequest::Unsatisfiable
        );
        assert_eq!(
            parse_range(Some("bytes=-0"), 754),
            RangeRequest::Unsatisfiable
        );
        for ignored in [
            "bytes=9-0",
            "bytes=0-1,4-5",
            "items=0-1",
            "bytes=a-b",
            "bytes=-",
            "bytes=1",
        ] {
            assert_eq!(
                parse_range(Some(ignored), 754),
                RangeRequest::Full,
                "{ignored}"
            );
        }
        assert_eq!(parse_range(None, 754), RangeRequest::Full);
    }
}
