//! The Simple repository API over HTTP, mounted by the server under
//! `/pypi` and at the root of hosts whose first label is `pypi`. Each owner
//! domain is its own index (`<domain>/simple/`). Project pages are rendered
//! once per package head ([`crate::documents`]) and served as stored bytes
//! in the format the `Accept` header picks; downloads and PEP 658 metadata
//! redirect to the core objects, never proxied. Every URL a page holds is
//! relative, so the pages are the same under either mount.

use std::sync::Arc;

use axum::Router;
use axum::extract::{RawPathParams, State};
use axum::http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE, ETAG, LAST_MODIFIED, VARY};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use regesta_core::Registry;
use regesta_http::response::{
    http_date, moved_permanently, prepared_conditional, prepared_redirect,
};
use regesta_http::{ApiError, Projection, Validity, param};
use regesta_protocol::{Digest, PackageId};

use crate::ECOSYSTEM;
use crate::documents::{FILES, HTML, JSON, PypiDocuments, lookup};
use crate::index::{IndexPage, IndexPages};
use crate::names::{ProjectName, normalize};
use crate::negotiate::{Format, negotiate};

/// The PyPI projection of one registry: its routes and the state they
/// share.
#[derive(Debug, Clone)]
pub struct PypiProjection {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    registry: Registry,
    documents: PypiDocuments,
    index: IndexPages,
    public_base: String,
}

impl PypiProjection {
    /// The projection of `registry`; downloads redirect to core object
    /// URLs under `public_base`.
    pub fn new(registry: Registry, public_base: String) -> Self {
        Self {
            inner: Arc::new(Inner {
                registry,
                documents: PypiDocuments,
                index: IndexPages::default(),
                public_base,
            }),
        }
    }
}

impl Projection for PypiProjection {
    fn ecosystem(&self) -> &'static str {
        ECOSYSTEM
    }

    fn router(&self) -> Router {
        Router::new()
            .route("/{domain}/simple", get(index_slash))
            .route("/{domain}/simple/", get(index))
            .route("/{domain}/simple/{project}", get(project_slash))
            .route("/{domain}/simple/{project}/", get(project))
            .route("/{domain}/files/{project}/{version}/{file}", get(file))
            .with_state(self.clone())
    }
}

/// PyPI's answer to an `Accept` it serves nothing for.
fn not_acceptable() -> Response {
    let body = "Not Acceptable: the Simple API is served as \
                application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html \
                and text/html\n";
    let mut response = (StatusCode::NOT_ACCEPTABLE, body).into_response();
    if let Ok(value) = "Accept".parse() {
        response.headers_mut().insert(VARY, value);
    }
    response
}

fn format_of(headers: &HeaderMap) -> Option<Format> {
    negotiate(headers.get(ACCEPT).and_then(|v| v.to_str().ok()))
}

/// A Simple API page in `format`, with a validator that names both the
/// state it was rendered from and the format.
fn page(
    format: Format,
    (body, validity): (&Bytes, Validity),
    etag: &str,
    modified: Option<regesta_protocol::Timestamp>,
    method: &Method,
    headers: &HeaderMap,
) -> Response {
    let mut response_headers = vec![
        (CACHE_CONTROL, "max-age=0, must-revalidate".to_owned()),
        (CONTENT_TYPE, format.content_type().to_owned()),
        (ETAG, etag.to_owned()),
        (VARY, "Accept".to_owned()),
    ];
    if let Some(time) = modified {
        response_headers.push((LAST_MODIFIED, http_date(time)));
    }
    prepared_conditional(
        method,
        headers,
        body.clone(),
        response_headers,
        etag,
        validity,
    )
}

/// The package id of `project` in `domain`'s index, when both are valid
/// and the name is normalized.
fn package_id(domain: &str, project: &str) -> Result<PackageId, ApiError> {
    let name = ProjectName::parse_id_name(project).map_err(|_| ApiError::package_not_found())?;
    PackageId::parse(&format!("{ECOSYSTEM}:{domain}/{name}"))
        .map_err(|_| ApiError::package_not_found())
}

async fn index_slash() -> Response {
    moved_permanently("simple/")
}

async fn index(
    State(state): State<PypiProjection>,
    params: RawPathParams,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let Some(format) = format_of(&headers) else {
        return not_acceptable();
    };
    let domain = match param(&params, "domain") {
        Ok(domain) => domain,
        Err(error) => return error.into_response(),
    };
    let inner = &state.inner;
    let listing = match inner.registry.namespace_packages(ECOSYSTEM, &domain).await {
        Ok(listing) => listing,
        Err(error) => return ApiError::from(error).into_response(),
    };
    let IndexPage { body, etag } = inner.index.page(&domain, format, &listing);
    // The index lists every project of the domain: any event may move it.
    let validity = Validity::UntilNextEvent;
    page(format, (&body, validity), &etag, None, &method, &headers)
}

async fn project_slash(params: RawPathParams) -> Response {
    match param(&params, "project") {
        Ok(project) => moved_permanently(&format!("{}/", normalize(&project))),
        Err(error) => error.into_response(),
    }
}

async fn project(
    State(state): State<PypiProjection>,
    params: RawPathParams,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let (domain, project) = match (param(&params, "domain"), param(&params, "project")) {
        (Ok(domain), Ok(project)) => (domain, project),
        (Err(error), _) | (_, Err(error)) => return error.into_response(),
    };
    let normalized = normalize(&project);
    if normalized != project {
        return moved_permanently(&format!("../{normalized}/"));
    }
    let Some(format) = format_of(&headers) else {
        return not_acceptable();
    };
    let kind = if format == Format::Json { JSON } else { HTML };
    let served = async {
        let id = package_id(&domain, &project)?;
        let inner = &state.inner;
        Ok::<_, ApiError>(
            inner
                .registry
                .package_document(&id, kind, &inner.documents)
                .await?,
        )
    }
    .await;
    match served {
        Ok(document) => {
            let etag = format!("W/\"regesta.pypi-{}:{}\"", format.tag(), document.head);
            let time = Some(document.time);
            let validity = Validity::of_package(document.stamp);
            page(
                format,
                (&document.bytes, validity),
                &etag,
                time,
                &method,
                &headers,
            )
        }
        Err(error) => error.into_response(),
    }
}

/// A distribution (`<file>`) or its PEP 658 core metadata
/// (`<file>.metadata`): a redirect to the core object holding it.
async fn file(State(state): State<PypiProjection>, params: RawPathParams) -> Response {
    let served = async {
        let domain = param(&params, "domain")?;
        let project = param(&params, "project")?;
        let version = param(&params, "version")?;
        let file = param(&params, "file")?;
        let id = package_id(&domain, &project)?;
        let inner = &state.inner;
        let table = inner
            .registry
            .package_document(&id, FILES, &inner.documents)
            .await?
            .bytes;
        let (filename, metadata) = match file.strip_suffix(".metadata") {
            Some(filename) => (filename, true),
            None => (file.as_str(), false),
        };
        let (sha256, core_metadata) =
            lookup(&table, &version, filename).ok_or_else(ApiError::package_not_found)?;
        let hex = if metadata {
            core_metadata.ok_or_else(ApiError::package_not_found)?
        } else {
            sha256
        };
        let digest = Digest::parse_hex(hex).map_err(|_| ApiError::package_not_found())?;
        // A published file (and its metadata) never changes.
        Ok::<_, ApiError>(prepared_redirect(
            &format!("{}/objects/{digest}", inner.public_base),
            Validity::Immutable,
        ))
    }
    .await;
    served.unwrap_or_else(IntoResponse::into_response)
}
