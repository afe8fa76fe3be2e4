//! The npm registry API: mounted under `/npm` on every host and at the root
//! of hosts whose first label is `npm` (`npm.example.com`). Package documents
//! (packument, abbreviated packument, dist-tags) are rendered together by
//! `regesta-projection-npm` once per package head and served as stored
//! bytes; version documents and tarballs read one release; tarballs
//! redirect to the core object URL, never proxied.

use axum::Router;
use axum::extract::{RawPathParams, State};
use axum::http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE, ETAG, LAST_MODIFIED};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use regesta_core::CoreError;
use regesta_projection_npm as npm;
use regesta_protocol::{Digest, PackageId, Timestamp, Version};

use crate::error::ApiError;
use crate::http::{
    IMMUTABLE, JSON_UTF8, bytes_response, http_date, is_head, matches_if_none_match, not_modified,
    redirect,
};
use crate::routes::param;
use crate::state::AppState;

/// View-cache kinds, rendered together from one package view.
const FULL: &str = "npm-packument";
const SHORT: &str = "npm-abbreviated";
const TAGS: &str = "npm-dist-tags";

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

/// The `kind` document of the package at its current head: the cached
/// bytes, or — on the first read after an event — every npm package
/// document rendered from one package view (one load, not one per kind)
/// and cached together.
async fn rendered(
    state: &AppState,
    id: &PackageId,
    kind: &'static str,
) -> Result<(Digest, Timestamp, Bytes), ApiError> {
    let registry = state.registry();
    let (head, time) = registry.package_head(id).await?;
    if let Some(bytes) = registry.views.get(kind, id, &head) {
        return Ok((head, time, bytes));
    }
    let view = registry.package_view(id).await?;
    let base = state.config().npm_base();
    let documents = [
        (FULL, npm::packument(id, &view, &base)),
        (SHORT, npm::abbreviated(id, &view, &base)),
        (TAGS, Some(npm::dist_tags(&view))),
    ];
    let mut wanted = None;
    for (name, document) in documents {
        let bytes =
            Bytes::from(serde_json::to_vec(&document.ok_or_else(not_found)?).unwrap_or_default());
        if name == kind {
            wanted = Some(bytes.clone());
        }
        registry.views.put(name, id, view.head_event, bytes);
    }
    let bytes = wanted.ok_or_else(not_found)?;
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

/// Two segments are `@scope/name`, or — when the first is an encoded full
/// name (`@scope%2fname`) — a name and a version or tag, which pnpm asks
/// for as `/@scope%2fname/latest`.
async fn packument(
    State(state): State<AppState>,
    params: RawPathParams,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let result = async {
        if let Some(first) = param(&params, "scope").ok().filter(|s| s.contains('/')) {
            let id = npm::package_id(&first).ok_or_else(not_found)?;
            let spec = param(&params, "name")?;
            return serve_version(&state, &id, &spec, &method, &headers).await;
        }
        serve_packument(&state, &package(&params)?, &method, &headers).await
    }
    .await;
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

/// Resolves `spec` (a dist-tag or a version) against the cached dist-tags
/// and reads that one release.
async fn release_for(
    state: &AppState,
    id: &PackageId,
    spec: &str,
) -> Result<(regesta_core::ReleaseView, bool), ApiError> {
    let (_, _, tags) = rendered(state, id, TAGS).await?;
    let tags: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&tags).unwrap_or_default();
    let tagged = tags.get(spec).and_then(|v| v.as_str());
    let release_not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "release_not_found",
            "Release not found",
        )
    };
    let version = Version::parse(tagged.unwrap_or(spec)).map_err(|_| release_not_found())?;
    let release = state.registry().release_view(id, &version).await?;
    Ok((release, tagged.is_some()))
}

async fn serve_version(
    state: &AppState,
    id: &PackageId,
    spec: &str,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let (release, by_tag) = release_for(state, id, spec).await?;
    let doc =
        npm::version_document(id, &release, &state.config().npm_base()).ok_or_else(not_found)?;
    let etag = format!("W/\"regesta.npm-version:{}\"", release.event_id);
    let cache = if by_tag { "no-cache" } else { IMMUTABLE };
    let response_headers = vec![
        (CACHE_CONTROL, cache.to_owned()),
        (CONTENT_TYPE, JSON_UTF8.to_owned()),
        (ETAG, etag.clone()),
        (LAST_MODIFIED, http_date(release.created_at)),
    ];
    if matches_if_none_match(headers, &etag) {
        return Ok(not_modified(&response_headers));
    }
    Ok(bytes_response(
        StatusCode::OK,
        Bytes::from(serde_json::to_vec(&doc).unwrap_or_default()),
        response_headers,
        !is_head(method),
    ))
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
        serve_version(&state, &id, &spec, &method, &headers).await
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
        let (_, _, body) = rendered(&state, &id, TAGS).await?;
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
            body,
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
        let registry = state.registry();
        registry.package_head(&id).await?;
        let object_not_found = || {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "object_not_found",
                "Object not found",
            )
        };
        let version = npm::tarball_version(&id, &file).ok_or_else(object_not_found)?;
        let release = match registry.release_view(&id, &version).await {
            Err(CoreError::NotFound { .. }) => return Err(object_not_found()),
            other => other?,
        };
        let digest = npm::install_digest(&release).ok_or_else(object_not_found)?;
        Ok(redirect(&format!(
            "{}/objects/{digest}",
            state.config().public_base()
        )))
    }
    .await;
    result.unwrap_or_else(npm_error)
}
