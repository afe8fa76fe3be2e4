//! Response building blocks shared by the core routes and every
//! projection: exact `Content-Length`, HEAD without a body, weak/strong
//! validator matching and HTTP dates (RFC 9110).

use axum::body::Body;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH,
    LAST_MODIFIED, LOCATION,
};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use regesta_protocol::Timestamp;

/// `Content-Type` of mutable JSON views (the reference's casing).
pub const JSON_UTF8: &str = "application/json; charset=UTF-8";
/// `Content-Type` of immutable canonical JSON (the reference's casing).
pub const JSON_CANONICAL: &str = "application/json; charset=utf-8";
/// `Cache-Control` of immutable responses.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// A response header list.
pub type Headers = Vec<(HeaderName, String)>;

/// A response of `status` with `headers` (values that are not valid header
/// text are dropped) and `body`, exactly as given.
pub fn build(status: StatusCode, headers: &[(HeaderName, String)], body: Body) -> Response {
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

/// A `302 Found` to `location` that the hot path may answer again from
/// memory while `validity` holds: a release's download, whose object never
/// changes once published, redirects to the same URL forever.
#[must_use]
pub fn prepared_redirect(location: &str, validity: crate::Validity) -> Response {
    crate::prepare(redirect(location), Bytes::new(), validity)
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

/// A document with validator `etag` and the full response's `headers`
/// (content type, cache policy, the `ETag` itself): a 304 carrying those
/// headers when `If-None-Match` matches, else a 200 (no body for HEAD).
/// Every projection's conditional page goes through here.
pub fn conditional(
    method: &Method,
    request: &HeaderMap,
    body: Bytes,
    headers: Headers,
    etag: &str,
) -> Response {
    if matches_if_none_match(request, etag) {
        return not_modified(&headers);
    }
    bytes_response(StatusCode::OK, body, headers, !is_head(method))
}

/// [`conditional`], its `200` marked [`Prepared`](crate::Prepared) with
/// `validity`, so the server's hot path may serve it again from memory.
pub fn prepared_conditional(
    method: &Method,
    request: &HeaderMap,
    body: Bytes,
    headers: Headers,
    etag: &str,
    validity: crate::Validity,
) -> Response {
    let response = conditional(method, request, body.clone(), headers, etag);
    crate::prepare(response, body, validity)
}

/// Serves a mutable JSON view with 304 support; a view of the registry's
/// data, so it stays true until the next event.
pub fn mutable_json(method: &Method, request: &HeaderMap, body: Bytes, etag: &str) -> Response {
    package_json(method, request, body, etag, None)
}

/// As [`mutable_json`], for a view of one package: with the package's
/// stamp (taken before the view was read) it stays true until that
/// package's next event, not every package's.
pub fn package_json(
    method: &Method,
    request: &HeaderMap,
    body: Bytes,
    etag: &str,
    stamp: Option<regesta_core::PackageStamp>,
) -> Response {
    let headers = mutable_headers(etag, None);
    let validity = crate::Validity::of_package(stamp);
    prepared_conditional(method, request, body, headers, etag, validity)
}

/// Serves immutable canonical JSON (release envelopes, single events),
/// which never changes.
pub fn immutable_json(method: &Method, request: &HeaderMap, body: Bytes, etag: &str) -> Response {
    let headers = vec![
        (CACHE_CONTROL, IMMUTABLE.to_owned()),
        (CONTENT_TYPE, JSON_CANONICAL.to_owned()),
        (ETAG, etag.to_owned()),
    ];
    prepared_conditional(
        method,
        request,
        body,
        headers,
        etag,
        crate::Validity::Immutable,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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
