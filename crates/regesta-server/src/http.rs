//! Response building blocks shared by every route: exact `Content-Length`,
//! HEAD without a body, weak/strong validator matching, HTTP dates and byte
//! ranges (RFC 9110).

use axum::body::Body;
use axum::http::header::{
    ACCEPT_RANGES, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG,
    IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, LOCATION,
};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use regesta_core::ErrorCode;
use regesta_protocol::Timestamp;

/// `Content-Type` of mutable JSON views (the reference's casing).
pub const JSON_UTF8: &str = "application/json; charset=UTF-8";
/// `Content-Type` of immutable canonical JSON (the reference's casing).
pub const JSON_CANONICAL: &str = "application/json; charset=utf-8";
/// `Cache-Control` of immutable responses.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// A response header list.
pub type Headers = Vec<(HeaderName, String)>;

fn build(status: StatusCode, headers: &[(HeaderName, String)], body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let map = response.headers_mut();
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            map.insert(name.clone(), value);
        }
    }
    response
}

/// A JSON response with `Content-Type: application/json; charset=UTF-8` and
/// an exact `Content-Length`; `with_body: false` answers HEAD.
pub fn json_response(
    status: StatusCode,
    body: Vec<u8>,
    mut headers: Headers,
    with_body: bool,
) -> Response {
    headers.push((CONTENT_TYPE, JSON_UTF8.to_owned()));
    bytes_response(status, Bytes::from(body), headers, with_body)
}

/// A response of `body` with the given headers plus `Content-Length`.
pub fn bytes_response(
    status: StatusCode,
    body: Bytes,
    mut headers: Headers,
    with_body: bool,
) -> Response {
    headers.push((CONTENT_LENGTH, body.len().to_string()));
    build(
        status,
        &headers,
        if with_body {
            Body::from(body)
        } else {
            Body::empty()
        },
    )
}

/// A 304 with the validators and cache headers of the full response (never a
/// `Content-Length`).
pub fn not_modified(headers: &[(HeaderName, String)]) -> Response {
    build(StatusCode::NOT_MODIFIED, headers, Body::empty())
}

/// A `302 Found` to `location` that clients must not cache (what it points
/// at may move with the package), with no body and no `Content-Length`, as
/// the reference answers.
pub fn redirect(location: &str) -> Response {
    build(
        StatusCode::FOUND,
        &[
            (CACHE_CONTROL, "no-cache".to_owned()),
            (LOCATION, location.to_owned()),
        ],
        Body::empty(),
    )
}

/// A `301 Moved Permanently` to `location`, with no body, as the
/// reference's trailing-slash rule answers.
pub fn moved_permanently(location: &str) -> Response {
    build(
        StatusCode::MOVED_PERMANENTLY,
        &[(LOCATION, location.to_owned())],
        Body::empty(),
    )
}

/// Whether the request is a HEAD (no body is sent).
pub fn is_head(method: &Method) -> bool {
    method == Method::HEAD
}

/// `If-None-Match` against `etag`, with weak comparison and `*`, as the
/// reference does.
pub fn matches_if_none_match(request: &HeaderMap, etag: &str) -> bool {
    let strip = |v: &str| v.strip_prefix("W/").unwrap_or(v).to_owned();
    let wanted = strip(etag);
    request
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|candidate| candidate == "*" || strip(candidate) == wanted)
}

/// An HTTP date (`Wed, 25 Nov 2026 19:13:01 GMT`) for a timestamp.
pub fn http_date(at: Timestamp) -> String {
    let secs = u64::try_from(at.unix_millis().div_euclid(1000)).unwrap_or(0);
    httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
}

/// Whether `If-Modified-Since` covers `last_modified` (second precision).
pub fn not_modified_since(request: &HeaderMap, last_modified: Timestamp) -> bool {
    request
        .get(IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
        .and_then(|since| since.duration_since(std::time::UNIX_EPOCH).ok())
        .is_some_and(|since| {
            u64::try_from(last_modified.unix_millis().div_euclid(1000))
                .is_ok_and(|modified| modified <= since.as_secs())
        })
}

/// The headers every validator-bearing mutable JSON view carries.
pub fn mutable_headers(etag: &str, last_modified: Option<Timestamp>) -> Headers {
    let mut headers = vec![
        (CACHE_CONTROL, "no-cache".to_owned()),
        (CONTENT_TYPE, JSON_UTF8.to_owned()),
        (ETAG, etag.to_owned()),
    ];
    if let Some(at) = last_modified {
        headers.push((LAST_MODIFIED, http_date(at)));
    }
    headers
}

/// Serves a mutable JSON view with 304 support.
pub fn mutable_json(method: &Method, request: &HeaderMap, body: Bytes, etag: &str) -> Response {
    let headers = mutable_headers(etag, None);
    if matches_if_none_match(request, etag) {
        return not_modified(&headers);
    }
    bytes_response(StatusCode::OK, body, headers, !is_head(method))
}

/// Serves immutable canonical JSON (release envelopes, single events).
pub fn immutable_json(method: &Method, request: &HeaderMap, body: Bytes, etag: &str) -> Response {
    let headers = vec![
        (CACHE_CONTROL, IMMUTABLE.to_owned()),
        (CONTENT_TYPE, JSON_CANONICAL.to_owned()),
        (ETAG, etag.to_owned()),
    ];
    if matches_if_none_match(request, etag) {
        return not_modified(&headers);
    }
    bytes_response(StatusCode::OK, body, headers, !is_head(method))
}

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

    #[test]
    fn validators_match_weakly_and_by_star() {
        let mut h = HeaderMap::new();
        h.insert(
            IF_NONE_MATCH,
            HeaderValue::from_static("\"x\", W/\"sha256:a\""),
        );
        assert!(matches_if_none_match(&h, "W/\"sha256:a\""));
        assert!(matches_if_none_match(&h, "\"sha256:a\""));
        assert!(!matches_if_none_match(&h, "W/\"sha256:b\""));
        h.insert(IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(matches_if_none_match(&h, "anything"));
    }

    #[test]
    fn http_dates_round_down_to_seconds() {
        let at = Timestamp::parse("2026-11-25T19:13:01.867Z").unwrap();
        assert_eq!(http_date(at), "Wed, 25 Nov 2026 19:13:01 GMT");
        let mut h = HeaderMap::new();
        h.insert(
            IF_MODIFIED_SINCE,
            HeaderValue::from_static("Wed, 25 Nov 2026 19:13:01 GMT"),
        );
        assert!(not_modified_since(&h, at));
        h.insert(
            IF_MODIFIED_SINCE,
            HeaderValue::from_static("Wed, 25 Nov 2026 19:13:00 GMT"),
        );
        assert!(!not_modified_since(&h, at));
    }
}
