//! The npm registry API: mounted under `/npm` on every host and at the root
//! of hosts whose first label is `npm` (`npm.example.com`). Documents are
//! rendered by `regesta-projection-npm` once per package head and served as
//! stored bytes; tarballs redirect to the core object URL, never proxied.

use axum::Router;
use axum::extract::{RawPathParams, State};
use axum::http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE, ETAG, LAST_MODIFIED, LOCATION};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use regesta_core::CoreError;
use regesta_projection_npm as npm;
use regesta_protocol::{Digest, PackageId};

use crate::error::ApiError;
use crate::http::{
    IMMUTABLE, JSON_UTF8, bytes_response, http_date, is_head, matches_if_none_match, not_modified,
};
use crate::routes::param;
use crate::state::AppState;

/// View-cache kinds.
const FULL: &str = "npm-packument";
const SHORT: &str = "npm-abbreviated";

/// The npm routes (relative to the mount point).
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(root))
        .route("/-/ping", get(ping))
        .route("/-/package/{name}/dist-tags", get(dist_tags_encoded))
        .route("/-/package/{scope}/{name}/dist-tags", get(dist_tags))
        .route("/{name}", get(packument_encoded))
        .route("/{scope}/{name}", get(packument))
        .route("/{scope}/{name}/{spec}", get(version))
        .route("/{scope}/{name}/-/{file}", get(tarball))
}

fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "package_not_found",
        "Package not found",
    )
}

/// npm errors carry `Cache-Control: no-cache` (clients retry soon).
fn npm_error(error: ApiError) -> Response {
    let mut response = error.into_response();
    if let Ok(value) = axum::http::HeaderValue::from_str("no-cache") {
        response.headers_mut().insert(CACHE_CONTROL, value);
    }
    response
}

fn json(body: Vec<u8>, method: &Method) -> Response {
    bytes_response(
        StatusCode::OK,
        Bytes::from(body),
        vec![
            (CACHE_CONTROL, "no-cache".to_owned()),
            (CONTENT_TYPE, JSON_UTF8.to_owned()),
        ],
        !is_head(method),
    )
}

async fn root(method: Method) -> Response {
    json(b"{}".to_vec(), &method)
}

async fn ping(method: Method) -> Response {
    json(br#"{"ping":"pong"}"#.to_vec(), &method)
}

/// `@scope/name` from one encoded segment (`@scope%2fname`) or two.
fn package(params: &RawPathParams) -> Result<PackageId, ApiError> {
    let name = match param(params, "scope") {
        Ok(scope) => format!("{scope}/{}", param(params, "name")?),
        Err(_) => param(params, "name")?,
    };
    npm::package_id(&name).ok_or_else(not_found)
}

fn core_error(error: CoreError) -> ApiError {
    ApiError::from(error)
}

/// The package view, rendered (`kind`) once per head and cached.
async fn rendered(
    state: &AppState,
    id: &PackageId,
    kind: &'static str,
) -> Result<(Digest, regesta_protocol::Timestamp, Bytes), ApiError> {
    let registry = state.registry();
    let (head, time) = registry.package_head(id).await.map_err(core_error)?;
    if let Some(bytes) = registry.views.get(kind, id, &head) {
        return Ok((head, time, bytes));
    }
    let view = registry.package_view(id).await.map_err(core_error)?;
    let base = state.config().npm_base();
    let doc = if kind == FULL {
        npm::packument(id, &view, &base)
    } else {
        npm::abbreviated(id, &view, &base)
    };
    let bytes = Bytes::from(serde_json::to_vec(&doc.ok_or_else(not_found)?).unwrap_or_default());
    registry.views.put(kind, id, view.head_event, bytes.clone());
    Ok((view.head_event, view.head_time, bytes))
}

fn wants_abbreviated(headers: &HeaderMap) -> bool {
    headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains(npm::ABBREVIATED_MEDIA_TYPE))
}

async fn serve_packument(
    state: &AppState,
    id: &PackageId,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let abbreviated = wants_abbreviated(headers);
    let kind = if abbreviated { SHORT } else { FULL };
    let (head, time, body) = rendered(state, id, kind).await?;
    let content_type = if abbreviated {
        npm::ABBREVIATED_MEDIA_TYPE
    } else {
        JSON_UTF8
    };
    let etag = format!("W/\"regesta.npm-projection:{head}\"");
    let response_headers = vec![
        (CACHE_CONTROL, "no-cache".to_owned()),
        (CONTENT_TYPE, content_type.to_owned()),
        (ETAG, etag.clone()),
        (LAST_MODIFIED, http_date(time)),
    ];
    if matches_if_none_match(headers, &etag) {
        return Ok(not_modified(&response_headers));
    }
    Ok(bytes_response(
        StatusCode::OK,
        body,
        response_headers,
        !is_head(method),
    ))
}

async fn packument(
    State(state): State<AppState>,
    params: RawPathParams,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let result =
        async { serve_packument(&state, &package(&params)?, &method, &headers).await }.await;
    result.unwrap_or_else(npm_error)
}

async fn packument_encoded(
    state: State<AppState>,
    params: RawPathParams,
    method: Method,
    headers: HeaderMap,
) -> Response {
    packument(state, params, method, headers).await
}

async fn version(
    State(state): State<AppState>,
    params: RawPathParams,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let id = package(&params)?;
        let spec = param(&params, "spec")?;
        let view = state
            .registry()
            .package_view(&id)
            .await
            .map_err(core_error)?;
        let tags = npm::dist_tags(&view);
        let version = tags
            .get(&spec)
            .and_then(|v| v.as_str())
            .map_or(spec.clone(), str::to_owned);
        let release = view
            .releases
            .iter()
            .find(|r| r.manifest.version.as_str() == version)
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    "release_not_found",
                    "Release not found",
                )
            })?;
        let doc = npm::version_document(&id, release, &state.config().npm_base())
            .ok_or_else(not_found)?;
        let etag = format!("W/\"regesta.npm-version:{}\"", release.event_id);
        let response_headers = vec![
            (
                CACHE_CONTROL,
                if tags.get(&spec).is_some() {
                    "no-cache".to_owned()
                } else {
                    IMMUTABLE.to_owned()
                },
            ),
            (CONTENT_TYPE, JSON_UTF8.to_owned()),
            (ETAG, etag.clone()),
            (LAST_MODIFIED, http_date(release.created_at)),
        ];
        if matches_if_none_match(&headers, &etag) {
            return Ok(not_modified(&response_headers));
        }
        Ok(bytes_response(
            StatusCode::OK,
            Bytes::from(serde_json::to_vec(&doc).unwrap_or_default()),
            response_headers,
            !is_head(&method),
        ))
    }
    .await;
    result.unwrap_or_else(npm_error)
}

async fn dist_tags(
    State(state): State<AppState>,
    params: RawPathParams,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let id = package(&params)?;
        let view = state
            .registry()
            .package_view(&id)
            .await
            .map_err(core_error)?;
        let body = serde_json::to_vec(&npm::dist_tags(&view)).unwrap_or_default();
        let etag = format!("W/\"regesta.npm-dist-tags:{}\"", Digest::of(&body));
        let response_headers = vec![
            (CACHE_CONTROL, "no-cache".to_owned()),
            (CONTENT_TYPE, JSON_UTF8.to_owned()),
            (ETAG, etag.clone()),
        ];
        if matches_if_none_match(&headers, &etag) {
            return Ok(not_modified(&response_headers));
        }
        Ok(bytes_response(
            StatusCode::OK,
            Bytes::from(body),
            response_headers,
            !is_head(&method),
        ))
    }
    .await;
    result.unwrap_or_else(npm_error)
}

async fn dist_tags_encoded(
    state: State<AppState>,
    params: RawPathParams,
    method: Method,
    headers: HeaderMap,
) -> Response {
    dist_tags(state, params, method, headers).await
}

async fn tarball(State(state): State<AppState>, params: RawPathParams) -> Response {
    let result = async {
        let id = package(&params)?;
        let file = param(&params, "file")?;
        let view = state
            .registry()
            .package_view(&id)
            .await
            .map_err(core_error)?;
        let digest = npm::tarball_digest(&id, &view, &file).ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "object_not_found",
                "Object not found",
            )
        })?;
        let location = format!("{}/objects/{digest}", state.config().public_base());
        let mut response = Response::new(axum::body::Body::empty());
        *response.status_mut() = StatusCode::FOUND;
        for (name, value) in [(LOCATION, location), (CACHE_CONTROL, "no-cache".to_owned())] {
            if let Ok(value) = axum::http::HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, value);
            }
        }
        Ok(response)
    }
    .await;
    result.unwrap_or_else(npm_error)
}
