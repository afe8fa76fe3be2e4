//! The sparse registry over HTTP, mounted by the server under `/cargo` and
//! at the root of hosts whose first label is `cargo`. Each owner domain is
//! its own registry (`<domain>/index/`): `config.json` names the download
//! route, index files sit at Cargo's prefix paths and are served as the
//! bytes rendered once per package head, and downloads redirect to the
//! core objects, never proxied.

use std::sync::Arc;

use axum::Router;
use axum::extract::{RawPathParams, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, LAST_MODIFIED};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use regesta_core::Registry;
use regesta_http::response::{JSON_UTF8, http_date, prepared_conditional, prepared_redirect};
use regesta_http::{ApiError, Projection, Validity, param};
use regesta_protocol::{Digest, PackageId};

use crate::ECOSYSTEM;
use crate::documents::{CargoDocuments, FILES, INDEX, cksum};
use crate::names::CrateName;

/// The Cargo projection of one registry: its routes and the state they
/// share.
#[derive(Debug, Clone)]
pub struct CargoProjection {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    registry: Registry,
    documents: CargoDocuments,
    /// Where the core API is served (downloads redirect there).
    public_base: String,
    /// Where this projection is served (`<public base>/cargo`).
    cargo_base: String,
}

impl CargoProjection {
    /// The projection of `registry`: `config.json` names routes under
    /// `cargo_base`, downloads redirect to objects under `public_base`.
    pub fn new(registry: Registry, public_base: String, cargo_base: String) -> Self {
        Self {
            inner: Arc::new(Inner {
                registry,
                documents: CargoDocuments,
                public_base,
                cargo_base,
            }),
        }
    }
}

impl Projection for CargoProjection {
    fn ecosystem(&self) -> &'static str {
        ECOSYSTEM
    }

    fn router(&self) -> Router {
        Router::new()
            .route("/{domain}/index/config.json", get(config))
            .route("/{domain}/index/{a}/{b}", get(short_index))
            .route("/{domain}/index/{a}/{b}/{name}", get(long_index))
            .route("/{domain}/files/{name}/{version}/download", get(download))
            .with_state(self.clone())
    }
}

/// The crate id of `name` in `domain`'s registry.
fn package_id(domain: &str, name: &str) -> Result<(CrateName, PackageId), ApiError> {
    let name = CrateName::parse(name).map_err(|_| ApiError::package_not_found())?;
    let id = name
        .package_id(domain)
        .map_err(|_| ApiError::package_not_found())?;
    Ok((name, id))
}

async fn config(State(state): State<CargoProjection>, params: RawPathParams) -> Response {
    let domain = match param(&params, "domain") {
        Ok(domain) => domain,
        Err(error) => return error.into_response(),
    };
    if PackageId::parse(&format!("{ECOSYSTEM}:{domain}/x")).is_err() {
        return ApiError::package_not_found().into_response();
    }
    let body = config_json(&state.inner.cargo_base, &domain);
    let headers = vec![
        (CACHE_CONTROL, "max-age=300".to_owned()),
        (CONTENT_TYPE, JSON_UTF8.to_owned()),
    ];
    let body = bytes::Bytes::from(body);
    let response = regesta_http::response::bytes_response(
        axum::http::StatusCode::OK,
        body.clone(),
        headers,
        true,
    );
    // A function of the domain and the configured base only.
    regesta_http::prepare(response, body, Validity::Immutable)
}

/// The `config.json` of `domain`'s registry served under `cargo_base`:
/// `dl` is the download route (cargo fills in `{crate}` and `{version}`),
/// `api` where a web API would be (publishing goes through Regesta's
/// signed API, not cargo's).
pub fn config_json(cargo_base: &str, domain: &str) -> String {
    let base = format!("{cargo_base}/{domain}");
    serde_json::json!({
        "dl": format!("{base}/files/{{crate}}/{{version}}/download"),
        "api": base,
    })
    .to_string()
}

/// `1/a`, `2/ab`, `3/a/abc`.
async fn short_index(
    state: State<CargoProjection>,
    params: RawPathParams,
    method: Method,
    headers: HeaderMap,
) -> Response {
    index(state, params, "b", method, headers).await
}

/// `ab/cd/abcd…` (and `3/a/abc`).
async fn long_index(
    state: State<CargoProjection>,
    params: RawPathParams,
    method: Method,
    headers: HeaderMap,
) -> Response {
    index(state, params, "name", method, headers).await
}

async fn index(
    State(state): State<CargoProjection>,
    params: RawPathParams,
    name_param: &str,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let served = async {
        let domain = param(&params, "domain")?;
        let name = param(&params, name_param)?;
        let (crate_name, id) = package_id(&domain, &name)?;
        // Only the one path Cargo computes for the name.
        let a = param(&params, "a")?;
        let b = param(&params, "b")?;
        let path = if name_param == "b" {
            format!("{a}/{b}")
        } else {
            format!("{a}/{b}/{name}")
        };
        if path != crate_name.index_path() {
            return Err(ApiError::package_not_found());
        }
        let inner = &state.inner;
        Ok(inner
            .registry
            .package_document(&id, INDEX, &inner.documents)
            .await?)
    }
    .await;
    match served {
        Ok(document) => {
            let etag = format!("W/\"regesta.cargo-index:{}\"", document.head);
            let response_headers = vec![
                (CACHE_CONTROL, "no-cache".to_owned()),
                (CONTENT_TYPE, "text/plain; charset=utf-8".to_owned()),
                (ETAG, etag.clone()),
                (LAST_MODIFIED, http_date(document.time)),
            ];
            let validity = Validity::of_package(document.stamp);
            let body = document.bytes;
            prepared_conditional(&method, &headers, body, response_headers, &etag, validity)
        }
        Err(error) => error.into_response(),
    }
}

/// A `.crate`: a redirect to the core object holding it.
async fn download(State(state): State<CargoProjection>, params: RawPathParams) -> Response {
    let served = async {
        let domain = param(&params, "domain")?;
        let name = param(&params, "name")?;
        let version = param(&params, "version")?;
        let (_, id) = package_id(&domain, &name)?;
        let inner = &state.inner;
        let files = inner
            .registry
            .package_document(&id, FILES, &inner.documents)
            .await?
            .bytes;
        let hex = cksum(&files, &version).ok_or_else(ApiError::package_not_found)?;
        let digest = Digest::parse_hex(hex).map_err(|_| ApiError::package_not_found())?;
        // A published version's `.crate` never changes.
        Ok::<_, ApiError>(prepared_redirect(
            &format!("{}/objects/{digest}", inner.public_base),
            Validity::Immutable,
        ))
    }
    .await;
    served.unwrap_or_else(IntoResponse::into_response)
}
