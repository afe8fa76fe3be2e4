//! The npm registry API over HTTP, mounted by the server under `/npm` and at
//! the root of hosts whose first label is `npm` (`npm.example.com`).
//! Package documents (packument, abbreviated packument, dist-tags) are
//! rendered together once per package head ([`crate::documents`]) and
//! served as stored bytes; version documents and tarballs read one release;
//! tarballs redirect to the core object URL, never proxied. Packages not
//! hosted here are answered from the upstream registry when fallback is on
//! ([`fallback`]), and 404 otherwise.

mod fallback;

use std::sync::Arc;

use axum::Router;
use axum::extract::{RawPathParams, State};
use axum::http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE, ETAG, LAST_MODIFIED};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use regesta_core::{CoreError, Document, ErrorCode, Registry};
use regesta_http::response::{
    IMMUTABLE, JSON_UTF8, bytes_response, http_date, is_head, matches_if_none_match, not_modified,
    not_modified_since, prepared_conditional, prepared_redirect, redirect,
};
use regesta_http::{ApiError, Projection, Validity, param};
use regesta_protocol::{Digest, PackageId, Timestamp, Version};

use crate as npm;
use crate::documents::{FULL, SHORT, TAGS};
use crate::upstream::{self as paths, UpstreamDocument};
use crate::{ECOSYSTEM, NpmDocuments};

use fallback::NpmUpstream;
pub use fallback::{FallbackError, FallbackSettings};

/// Where the npm projection lives and what it falls back to.
#[derive(Debug, Clone)]
pub struct NpmSettings {
    /// The registry's public base URL (core object URLs start with it).
    pub public_base: String,
    /// The npm projection's public base URL (tarball URLs start with it).
    pub npm_base: String,
    /// The upstream registry answering for packages not hosted here, if any.
    pub fallback: Option<FallbackSettings>,
}

/// The npm projection of one registry: its routes and the state they
/// share (rendered documents, the upstream client).
#[derive(Debug, Clone)]
pub struct NpmProjection {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    registry: Registry,
    documents: NpmDocuments,
    upstream: Option<NpmUpstream>,
    npm_base: String,
    public_base: String,
}

impl NpmProjection {
    /// The projection of `registry` with `settings`.
    ///
    /// # Errors
    /// The upstream HTTP client cannot be built (TLS set-up).
    pub fn new(registry: Registry, settings: NpmSettings) -> Result<Self, FallbackError> {
        let upstream = settings
            .fallback
            .as_ref()
            .map(NpmUpstream::new)
            .transpose()?;
        Ok(Self {
            inner: Arc::new(Inner {
                documents: NpmDocuments::new(
                    settings.npm_base.clone(),
                    registry.views.part_limit(),
                ),
                registry,
                upstream,
                npm_base: settings.npm_base,
                public_base: settings.public_base,
            }),
        })
    }

    fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    fn upstream(&self) -> Option<&NpmUpstream> {
        self.inner.upstream.as_ref()
    }
}

impl Projection for NpmProjection {
    fn ecosystem(&self) -> &'static str {
        ECOSYSTEM
    }

    fn router(&self) -> Router {
        Router::new()
            .route("/", get(root))
            .route("/-/ping", get(ping))
            .route("/-/package/{name}/dist-tags", get(dist_tags_encoded))
            .route("/-/package/{scope}/{name}/dist-tags", get(dist_tags))
            .route("/{name}", get(packument_encoded))
            .route("/{scope}/{name}", get(packument))
            .route("/{scope}/{name}/{spec}", get(version))
            .route("/{scope}/{name}/-/{file}", get(tarball))
            .with_state(self.clone())
    }
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

/// The npm name a route names: `@scope/name` from two segments, or one
/// (percent-decoded) segment (`@scope%2fname`, `lodash`).
fn npm_name(params: &RawPathParams) -> Result<String, ApiError> {
    Ok(match param(params, "scope") {
        Ok(scope) => format!("{scope}/{}", param(params, "name")?),
        Err(_) => param(params, "name")?,
    })
}

/// A local package id for an npm name; unscoped names are never local.
fn local_id(name: &str) -> Result<PackageId, ApiError> {
    npm::package_id(name).ok_or_else(ApiError::package_not_found)
}

/// Whether `error` means the package is not hosted here, so the upstream
/// registry may answer. A hosted package missing a version is not: local
/// packages are authoritative.
fn not_hosted(error: &ApiError) -> bool {
    error.code == ErrorCode::PackageNotFound
}

/// The local answer, or — for a package not hosted here, when fallback is
/// on — the upstream registry's validated `kind` document at `path`.
async fn or_upstream(
    state: &NpmProjection,
    name: &str,
    kind: UpstreamDocument,
    path: impl FnOnce() -> String,
    request: (&Method, &HeaderMap),
    local: Result<Response, ApiError>,
) -> Response {
    match (local, state.upstream()) {
        (Ok(response), _) => response,
        (Err(error), Some(upstream)) if not_hosted(&error) && paths::is_upstream_name(name) => {
            upstream.document(kind, &path(), request.0, request.1).await
        }
        (Err(error), _) => npm_error(error),
    }
}

/// The `kind` document of the package at its current head, rendered once
/// per head on the core's shared mechanism.
async fn rendered(
    state: &NpmProjection,
    id: &PackageId,
    kind: &'static str,
) -> Result<Document, ApiError> {
    Ok(state
        .registry()
        .package_document(id, kind, &state.inner.documents)
        .await?)
}

/// Whether the client's copy is current: `If-None-Match` matches, or —
/// without one — `If-Modified-Since` is not older than `modified`.
fn fresh(headers: &HeaderMap, etag: &str, modified: Option<Timestamp>) -> bool {
    if headers.contains_key(axum::http::header::IF_NONE_MATCH) {
        return matches_if_none_match(headers, etag);
    }
    modified.is_some_and(|m| not_modified_since(headers, m))
}

fn wants_abbreviated(headers: &HeaderMap) -> bool {
    headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains(npm::ABBREVIATED_MEDIA_TYPE))
}

async fn serve_packument(
    state: &NpmProjection,
    id: &PackageId,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let abbreviated = wants_abbreviated(headers);
    let kind = if abbreviated { SHORT } else { FULL };
    let Document {
        head,
        time,
        bytes: body,
        stamp,
    } = rendered(state, id, kind).await?;
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
    if fresh(headers, &etag, Some(time)) {
        return Ok(not_modified(&response_headers));
    }
    let response = bytes_response(
        StatusCode::OK,
        body.clone(),
        response_headers,
        !is_head(method),
    );
    Ok(regesta_http::prepare(
        response,
        body,
        Validity::of_package(stamp),
    ))
}

/// Two segments are `@scope/name`, or — when the first is an encoded full
/// name (`@scope%2fname`, which pnpm sends) or an unscoped one (`lodash`) —
/// a name and a version or tag.
async fn packument(
    State(state): State<NpmProjection>,
    params: RawPathParams,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let first = param(&params, "scope").ok();
    if let Some(first) = first.filter(|s| s.contains('/') || !s.starts_with('@')) {
        return match param(&params, "name") {
            Ok(spec) => version_of(&state, &first, &spec, &method, &headers).await,
            Err(error) => npm_error(error),
        };
    }
    let name = match npm_name(&params) {
        Ok(name) => name,
        Err(error) => return npm_error(error),
    };
    let local = match local_id(&name) {
        Ok(id) => serve_packument(&state, &id, &method, &headers).await,
        Err(error) => Err(error),
    };
    let path = || paths::packument_path(&name);
    let kind = UpstreamDocument::Packument;
    or_upstream(&state, &name, kind, path, (&method, &headers), local).await
}

async fn packument_encoded(
    state: State<NpmProjection>,
    params: RawPathParams,
    method: Method,
    headers: HeaderMap,
) -> Response {
    packument(state, params, method, headers).await
}

/// Resolves `spec` (a dist-tag or a version) against the cached dist-tags
/// and reads that one release.
async fn release_for(
    state: &NpmProjection,
    id: &PackageId,
    spec: &str,
) -> Result<(regesta_core::ReleaseView, bool), ApiError> {
    let tags = rendered(state, id, TAGS).await?.bytes;
    let tags: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&tags).unwrap_or_default();
    let tagged = tags.get(spec).and_then(|v| v.as_str());
    let version_not_found = || {
        ApiError::new(
            ErrorCode::PackageVersionNotFound,
            "Package version not found",
        )
    };
    let version = Version::parse(tagged.unwrap_or(spec)).map_err(|_| version_not_found())?;
    let release = match state.registry().release_view(id, &version).await {
        Err(CoreError::NotFound { .. }) => return Err(version_not_found()),
        other => other?,
    };
    Ok((release, tagged.is_some()))
}

async fn serve_version(
    state: &NpmProjection,
    id: &PackageId,
    spec: &str,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let (release, by_tag) = release_for(state, id, spec).await?;
    let doc = npm::version_document(id, &release, &state.inner.npm_base)
        .ok_or_else(ApiError::package_not_found)?;
    let etag = format!("W/\"regesta.npm-version:{}\"", release.event_id);
    let cache = if by_tag { "no-cache" } else { IMMUTABLE };
    let mut response_headers = vec![
        (CACHE_CONTROL, cache.to_owned()),
        (CONTENT_TYPE, JSON_UTF8.to_owned()),
        (ETAG, etag.clone()),
    ];
    // A tag's document changes when the tag moves, so only an exact
    // version carries its release time as a validator (as in v0).
    let modified = (!by_tag).then_some(release.created_at);
    if let Some(time) = modified {
        response_headers.push((LAST_MODIFIED, http_date(time)));
    }
    if fresh(headers, &etag, modified) {
        return Ok(not_modified(&response_headers));
    }
    Ok(bytes_response(
        StatusCode::OK,
        Bytes::from(serde_json::to_vec(&doc).unwrap_or_default()),
        response_headers,
        !is_head(method),
    ))
}

/// The version or tag document `spec` of the package `name`, local or
/// upstream.
async fn version_of(
    state: &NpmProjection,
    name: &str,
    spec: &str,
    method: &Method,
    headers: &HeaderMap,
) -> Response {
    let local = match local_id(name) {
        Ok(id) => serve_version(state, &id, spec, method, headers).await,
        Err(error) => Err(error),
    };
    if !paths::is_upstream_spec(spec) {
        return local.unwrap_or_else(npm_error);
    }
    let path = || paths::version_path(name, spec);
    let kind = UpstreamDocument::Version;
    or_upstream(state, name, kind, path, (method, headers), local).await
}

/// Three segments: `@scope/name/<spec>`, or a tarball of a one-segment
/// name (`@scope%2fname/-/<file>`, `lodash/-/<file>`).
async fn version(
    State(state): State<NpmProjection>,
    params: RawPathParams,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let parts = (|| {
        let spec = param(&params, "spec")?;
        let second = param(&params, "name")?;
        let first = param(&params, "scope")?;
        Ok::<_, ApiError>((first, second, spec))
    })();
    match parts {
        Ok((first, second, file)) if second == "-" => serve_tarball(&state, &first, &file).await,
        Ok((first, second, spec)) => {
            let name = format!("{first}/{second}");
            version_of(&state, &name, &spec, &method, &headers).await
        }
        Err(error) => npm_error(error),
    }
}

async fn dist_tags(
    State(state): State<NpmProjection>,
    params: RawPathParams,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let name = match npm_name(&params) {
        Ok(name) => name,
        Err(error) => return npm_error(error),
    };
    let local = async {
        let id = local_id(&name)?;
        let Document {
            bytes: body, stamp, ..
        } = rendered(&state, &id, TAGS).await?;
        let etag = format!("W/\"regesta.npm-dist-tags:{}\"", Digest::of(&body));
        let response_headers = vec![
            (CACHE_CONTROL, "no-cache".to_owned()),
            (CONTENT_TYPE, JSON_UTF8.to_owned()),
            (ETAG, etag.clone()),
        ];
        let validity = Validity::of_package(stamp);
        Ok(prepared_conditional(
            &method,
            &headers,
            body,
            response_headers,
            &etag,
            validity,
        ))
    }
    .await;
    let path = || paths::dist_tags_path(&name);
    let kind = UpstreamDocument::DistTags;
    or_upstream(&state, &name, kind, path, (&method, &headers), local).await
}

async fn dist_tags_encoded(
    state: State<NpmProjection>,
    params: RawPathParams,
    method: Method,
    headers: HeaderMap,
) -> Response {
    dist_tags(state, params, method, headers).await
}

async fn tarball(State(state): State<NpmProjection>, params: RawPathParams) -> Response {
    match (npm_name(&params), param(&params, "file")) {
        (Ok(name), Ok(file)) => serve_tarball(&state, &name, &file).await,
        (Err(error), _) | (_, Err(error)) => npm_error(error),
    }
}

/// Redirects to the core object holding a hosted release's tarball; a miss
/// redirects to the upstream tarball when fallback is on (v0: "missing
/// packages and versions"), and is a 404 otherwise. Never proxied.
async fn serve_tarball(state: &NpmProjection, name: &str, file: &str) -> Response {
    let local = async {
        let id = local_id(name)?;
        let registry = state.registry();
        registry.package_head(&id).await?;
        // A missing version or a file name that names no release is the
        // reference's `package_not_found`, like an unknown package.
        let version = npm::tarball_version(&id, file).ok_or_else(ApiError::package_not_found)?;
        let release = match registry.release_view(&id, &version).await {
            Err(CoreError::NotFound { .. }) => return Err(ApiError::package_not_found()),
            other => other?,
        };
        let digest = npm::install_digest(&release).ok_or_else(ApiError::package_not_found)?;
        // A published release never changes, so neither does where its
        // tarball is: served from memory from now on.
        Ok(prepared_redirect(
            &format!("{}/objects/{digest}", state.inner.public_base),
            Validity::Immutable,
        ))
    }
    .await;
    match (local, state.upstream()) {
        (Ok(response), _) => response,
        (Err(error), Some(upstream))
            if error.status == StatusCode::NOT_FOUND && paths::is_upstream_name(name) =>
        {
            redirect(&upstream.url(&paths::tarball_path(name, file)))
        }
        (Err(error), _) => npm_error(error),
    }
}
