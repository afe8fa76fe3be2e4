//! The core v0 routes. Handlers are thin: extract typed input, call one
//! registry use case, render.

use axum::Router;
use axum::extract::{RawPathParams, State};
use axum::http::header::HOST;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use regesta_protocol::ids::decode_path_segment;
use regesta_protocol::{ChannelName, PackageId, Version};

use crate::error::ApiError;
use crate::state::AppState;

mod events;
mod info;
pub(crate) use info::ready_response;
mod log;
mod objects;
mod packages;
mod publish;

/// Every route and its methods (GET routes also answer HEAD): the contract
/// that `openapi.json` and the router are both tested against.
pub const ROUTE_TABLE: &[(&str, &[&str])] = &[
    ("/", &["get"]),
    ("/health", &["get"]),
    ("/ready", &["get"]),
    ("/favicon.ico", &["get"]),
    ("/openapi.json", &["get"]),
    ("/releases", &["post"]),
    ("/packages/{id}", &["get"]),
    ("/packages/{id}/releases/{version}", &["get"]),
    ("/packages/{id}/releases/{version}/verification", &["get"]),
    (
        "/packages/{id}/channels/{channel}",
        &["get", "put", "delete"],
    ),
    ("/objects", &["get"]),
    ("/objects/{digest}", &["get"]),
    ("/objects/{algorithm}/{hex}", &["get"]),
    ("/events", &["get"]),
    ("/events/{algorithm}/{hex}", &["get"]),
    ("/log/checkpoint", &["get"]),
    ("/log/key", &["get"]),
    ("/log/tile/{path}", &["get"]),
    ("/log/proof/event/{algorithm}/{hex}", &["get"]),
    ("/log/proof/consistency/{old}/{new}", &["get"]),
];

/// Every core route.
pub(crate) fn core_routes() -> Router<AppState> {
    Router::new()
        .route("/", get(info::deployment_info))
        .route("/openapi.json", get(info::openapi))
        .route("/health", get(info::health))
        .route("/ready", get(info::ready))
        .route("/favicon.ico", get(info::favicon))
        .route("/releases", post(publish::publish))
        .route("/packages/{id}", get(packages::package_state))
        .route("/packages/{id}/releases/{version}", get(packages::release))
        .route(
            "/packages/{id}/releases/{version}/verification",
            get(packages::verification),
        )
        .route(
            "/packages/{id}/channels/{channel}",
            get(packages::channel_get)
                .put(packages::update_channel)
                .delete(packages::delete_channel),
        )
        .route("/objects", get(objects::inventory))
        .route("/objects/{digest}", get(objects::by_digest))
        .route("/objects/{algorithm}/{hex}", get(objects::by_parts))
        .route("/events", get(events::page))
        .route("/events/{algorithm}/{hex}", get(events::by_parts))
        .route("/log/checkpoint", get(log::checkpoint))
        .route("/log/key", get(log::key))
        .route("/log/tile/{*path}", get(log::tile))
        .route("/log/proof/event/{algorithm}/{hex}", get(log::inclusion))
        .route("/log/proof/consistency/{old}/{new}", get(log::consistency))
}

/// What a request no route matched gets: a GET or HEAD whose path ends in
/// `/` is redirected (301) to the same URL without it, as the reference
/// answers (`/packages/{id}/` → `/packages/{id}`); anything else is the
/// JSON 404. The redirect is absolute, built like the reference's from the
/// request's host (or the configured public URL, behind a proxy).
pub(crate) async fn unmatched(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let path = uri.path();
    let slashed = path.len() > 1 && path.ends_with('/');
    if !slashed || !(method == Method::GET || method == Method::HEAD) {
        return ApiError::route_not_found().into_response();
    }
    let trimmed = &path[..path.len() - 1];
    let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
    // HTTP/2 names the host in the URI's authority, not in `Host`.
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.authority().map(axum::http::uri::Authority::as_str));
    let base = match (&state.config().public_url, host) {
        (Some(public), _) => public.trim_end_matches('/').to_owned(),
        (None, Some(host)) => format!("http://{host}"),
        (None, None) => String::new(),
    };
    crate::http::moved_permanently(&format!("{base}{trimmed}{query}"))
}

pub(crate) use regesta_http::param;

pub(crate) fn package_id(params: &RawPathParams) -> Result<PackageId, ApiError> {
    let raw = param(params, "id")?;
    PackageId::parse(&raw).map_err(|e| {
        let reason = match e {
            regesta_protocol::ProtocolError::Invalid { reason, .. } => reason,
            other => other.to_string(),
        };
        ApiError::invalid("Invalid package id", vec![reason])
    })
}

pub(crate) fn version(params: &RawPathParams) -> Result<Version, ApiError> {
    Version::parse(&param(params, "version")?)
        .map_err(|e| ApiError::invalid("Invalid version", vec![e.said_of("Package version")]))
}

pub(crate) fn channel(params: &RawPathParams) -> Result<ChannelName, ApiError> {
    ChannelName::parse(&param(params, "channel")?)
        .map_err(|e| ApiError::invalid("Invalid channel", vec![e.said_of("Package channel")]))
}

/// Longest query string read (`after` and `limit` need under 100 bytes).
const MAX_QUERY_LEN: usize = 4096;

/// The query string as decoded key/value pairs; for a repeated key the
/// first value counts, as with the reference's query reader. A malformed
/// escape is kept as written, as the reference keeps it, so it fails the
/// value's own rule (`after: Must be a sha256 digest`) and never names a
/// different value.
pub(crate) fn query_values(
    raw: Option<&str>,
) -> Result<std::collections::HashMap<String, String>, ApiError> {
    let mut values = std::collections::HashMap::new();
    let Some(raw) = raw else { return Ok(values) };
    if raw.len() > MAX_QUERY_LEN {
        return Err(ApiError::invalid("Query string too long", Vec::new()));
    }
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| {
            let plus = s.replace('+', " ");
            decode_path_segment(&plus).unwrap_or(plus)
        };
        values.entry(decode(key)).or_insert_with(|| decode(value));
    }
    Ok(values)
}

/// The `?after=&limit=` query of a list route, validated with the v0 rules.
pub(crate) fn page_query(
    raw: Option<&str>,
    message: &'static str,
) -> Result<regesta_core::PageQuery, ApiError> {
    let values = query_values(raw)?;
    Ok(regesta_core::PageQuery::parse(
        values.get("after").map(String::as_str),
        values.get("limit").map(String::as_str),
        message,
    )?)
}

/// Handler result.
pub(crate) type ApiResult = Result<axum::response::Response, ApiError>;
