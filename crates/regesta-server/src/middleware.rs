//! Cross-cutting request handling: request ids, declared body size limits,
//! CORS, and host dispatch to projection hosts and the dev site.

use regesta_core::ErrorCode;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD,
    CONTENT_LENGTH, HOST, VARY,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;

use crate::error::ApiError;
use crate::state::AppState;

/// The request id header.
pub const REQUEST_ID: &str = "x-request-id";
/// Longest client-supplied request id kept; longer or odd ones are replaced.
pub const MAX_REQUEST_ID_LEN: usize = 128;

fn valid_request_id(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_REQUEST_ID_LEN
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// A fresh random (version 4) UUID for a request without a usable id. The
/// 122 random bits come from a keyed `SipHash` of a counter (keys drawn once per
/// thread from the OS), not a syscall per request: ids must be unique and
/// unguessable enough not to collide, not secret.
fn new_request_id() -> HeaderValue {
    use std::cell::Cell;
    use std::hash::{BuildHasher, RandomState};
    thread_local! {
        static STATE: (RandomState, Cell<u64>) = (RandomState::new(), Cell::new(0));
    }
    let bytes = STATE.with(|(keys, counter)| {
        let n = counter.get().wrapping_add(1);
        counter.set(n);
        let high = keys.hash_one((n, 0_u8));
        let low = keys.hash_one((n, 1_u8));
        (u128::from(high) << 64 | u128::from(low)).to_be_bytes()
    });
    let id = uuid::Builder::from_random_bytes(bytes).into_uuid();
    HeaderValue::from_str(
        id.hyphenated()
            .encode_lower(&mut uuid::Uuid::encode_buffer()),
    )
    .unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}

/// The request's id: the client's `x-request-id` when it is sane, else a
/// new UUID. The hot path ([`crate::hot`]) echoes it on the response and
/// writes it in the request's log line.
pub fn request_id(headers: &HeaderMap) -> HeaderValue {
    headers
        .get(REQUEST_ID)
        .filter(|v| v.to_str().is_ok_and(valid_request_id))
        .cloned()
        .unwrap_or_else(new_request_id)
}

/// Refuses a declared body larger than `REGESTA_MAX_REQUEST_BYTES` before
/// any handler runs (413), and a malformed `Content-Length` (400). The
/// actual streamed body is bounded again where it is read.
pub async fn declared_size(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let max = state.config().max_request_bytes;
    if let Some(value) = request.headers().get(CONTENT_LENGTH) {
        let parsed = value
            .to_str()
            .ok()
            .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|v| v.parse::<u64>().ok());
        match parsed {
            None => {
                return ApiError::new(
                    ErrorCode::RequestContentLengthInvalid,
                    "Invalid Content-Length header",
                )
                .into_response();
            }
            Some(n) if n > max => return too_large(max).into_response(),
            Some(_) => {}
        }
    }
    next.run(request).await
}

/// The 413 for a body over the configured limit.
pub fn too_large(max: u64) -> ApiError {
    ApiError {
        issues: vec![format!("content-length: Must be at most {max} bytes")],
        ..ApiError::new(ErrorCode::RequestTooLarge, "Request body too large")
    }
}

/// The hostname of a request as sent (compare it ignoring ASCII case),
/// without port; borrowed, so host dispatch allocates nothing per request.
pub fn request_host(request: &Request<Body>) -> &str {
    let host = request
        .headers()
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| request.uri().host())
        .unwrap_or_default();
    if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        host.split(':').next().unwrap_or_default()
    }
}

/// The first label of a dotted host (`npm` in `npm.example.com`), which
/// names the projection a projection host serves at its root.
pub fn host_label(host: &str) -> Option<&str> {
    host.split('.').next().filter(|_| host.contains('.'))
}

/// Whether requests for `host` reach the core routes: not the dev site's
/// host (when it is served) and not a projection host of `ecosystems`.
pub fn core_host(host: &str, ecosystems: &[&str], dev_site: bool) -> bool {
    let dev = dev_site && host.eq_ignore_ascii_case(DEV_HOST);
    let projection = host_label(host)
        .is_some_and(|label| ecosystems.iter().any(|e| e.eq_ignore_ascii_case(label)));
    !dev && !projection
}

/// The dev site's host name.
const DEV_HOST: &str = "dev.localhost";

/// Sends `Host: dev.localhost` requests to the dev site (dev mode only).
pub async fn dev_host(State(dev): State<axum::Router>, request: Request, next: Next) -> Response {
    if request_host(&request).eq_ignore_ascii_case(DEV_HOST) {
        return match dev.oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
    }
    next.run(request).await
}

/// CORS for a public, credential-free API: every response allows any
/// origin, and a preflight is answered 204 here, before size limits or
/// routing can refuse it.
pub async fn cors(request: Request, next: Next) -> Response {
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = if preflight {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NO_CONTENT;
        let headers = response.headers_mut();
        headers.insert(
            ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET,HEAD,POST,PUT,PATCH,DELETE,OPTIONS"),
        );
        if let Some(requested) = request.headers().get(ACCESS_CONTROL_REQUEST_HEADERS) {
            headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, requested.clone());
            headers.insert(
                VARY,
                HeaderValue::from_static("Access-Control-Request-Headers"),
            );
        }
        headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
        response
    } else {
        next.run(request).await
    };
    response
        .headers_mut()
        .insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

/// Applied outside the router: axum fills in `Content-Length: 0` for every
/// empty body, but on a 304 that would claim the representation is empty,
/// which RFC 9110 §8.6 forbids.
pub fn finish(mut response: Response) -> Response {
    if response.status() == StatusCode::NOT_MODIFIED {
        response.headers_mut().remove(CONTENT_LENGTH);
    }
    response
}

/// Each projection's routes at the root, by the host label that selects it.
pub type ProjectionHosts = std::sync::Arc<Vec<(&'static str, axum::Router)>>;

/// Sends requests for hosts whose first label names a projection
/// (`npm.example.com`) to that projection's routes at the root.
pub async fn projection_host(
    State(hosts): State<ProjectionHosts>,
    request: Request,
    next: Next,
) -> Response {
    let host = request_host(&request);
    let routes = host_label(host).and_then(|label| {
        hosts
            .iter()
            .find(|(eco, _)| eco.eq_ignore_ascii_case(label))
    });
    if let Some((_, routes)) = routes {
        return match routes.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_request_ids_are_distinct_version_4_uuids() {
        let ids: std::collections::HashSet<String> = (0..1000)
            .map(|_| new_request_id().to_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(ids.len(), 1000);
        for id in ids.iter().take(10) {
            let parsed = uuid::Uuid::parse_str(id).expect("a UUID");
            assert_eq!(parsed.get_version_num(), 4, "{id}");
            assert!(valid_request_id(id));
        }
    }
}
