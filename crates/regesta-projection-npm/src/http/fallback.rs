//! The IO half of the npm upstream fallback (v0 semantics): GET or HEAD the
//! upstream registry with only negotiation and validator headers, check the
//! document's shape, and return its bytes unchanged with only cache and
//! content headers. Anything else — a network error, a timeout, a redirect,
//! a 5xx, an oversized or malformed document — is 502
//! `upstream_npm_registry_unavailable`. Nothing here writes core state.

use std::time::Duration;

use axum::body::Body;
use axum::http::header::CONTENT_LENGTH;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use regesta_core::ErrorCode;
use regesta_http::ApiError;

use crate::upstream::{
    DEFAULT_ACCEPT, FORWARDED_REQUEST_HEADERS, RETURNED_RESPONSE_HEADERS, UpstreamDocument,
    is_valid_document,
};

/// The upstream registry to fall back to.
#[derive(Debug, Clone)]
pub struct FallbackSettings {
    /// Its base URL, e.g. `https://registry.npmjs.org`.
    pub url: String,
    /// Request and connect timeout; none when zero.
    pub timeout: Duration,
    /// Largest document passed on.
    pub max_bytes: u64,
}

/// The upstream HTTP client could not be built (TLS set-up).
#[derive(Debug, thiserror::Error)]
#[error("cannot build the upstream npm registry's HTTP client: {0}")]
pub struct FallbackError(#[source] reqwest::Error);

/// The configured upstream npm registry.
#[derive(Debug, Clone)]
pub(crate) struct NpmUpstream {
    client: reqwest::Client,
    base: String,
    max_bytes: u64,
}

/// Why an upstream answer cannot be passed on (logged, never sent).
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("request failed: {0}")]
    Request(#[from] reqwest::Error),
    #[error("answered {0}")]
    Status(StatusCode),
    #[error("document larger than {0} bytes")]
    TooLarge(u64),
    #[error("document is not a valid {0:?}")]
    Invalid(UpstreamDocument),
}

impl NpmUpstream {
    /// The client for `settings`: no redirects followed, no cookies kept,
    /// the configured timeout.
    ///
    /// # Errors
    /// The HTTP client could not be built (TLS set-up).
    pub(crate) fn new(settings: &FallbackSettings) -> Result<Self, FallbackError> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("regesta/", env!("CARGO_PKG_VERSION")));
        if !settings.timeout.is_zero() {
            builder = builder
                .timeout(settings.timeout)
                .connect_timeout(settings.timeout);
        }
        let client = builder.build().map_err(FallbackError)?;
        Ok(Self {
            client,
            base: settings.url.trim_end_matches('/').to_owned(),
            max_bytes: settings.max_bytes,
        })
    }

    /// The absolute upstream URL of `path`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The upstream `kind` document at `path`, for a client's GET or HEAD
    /// with `headers`.
    pub(crate) async fn document(
        &self,
        kind: UpstreamDocument,
        path: &str,
        method: &Method,
        headers: &HeaderMap,
    ) -> Response {
        let url = self.url(path);
        match self.fetch(kind, &url, method, headers).await {
            Ok(response) => response,
            Err(failure) => {
                tracing::warn!(
                    kind = "regesta.npm-upstream-failure",
                    url = %url,
                    error = %failure,
                    "upstream npm registry unavailable"
                );
                let mut response = ApiError::new(
                    ErrorCode::UpstreamNpmRegistryUnavailable,
                    "Upstream npm registry unavailable",
                )
                .into_response();
                response.headers_mut().insert(
                    axum::http::header::CACHE_CONTROL,
                    HeaderValue::from_static("no-cache"),
                );
                response
            }
        }
    }

    async fn fetch(
        &self,
        kind: UpstreamDocument,
        url: &str,
        method: &Method,
        headers: &HeaderMap,
    ) -> Result<Response, Failure> {
        let head = method == Method::HEAD;
        let mut request = if head {
            self.client.head(url)
        } else {
            self.client.get(url)
        };
        for name in FORWARDED_REQUEST_HEADERS {
            if let Some(value) = headers.get(*name) {
                request = request.header(*name, value.as_bytes());
            }
        }
        if !headers.contains_key("accept") {
            request = request.header("accept", DEFAULT_ACCEPT);
        }
        let mut upstream = request.send().await?;
        let status = upstream.status();
        // Redirects are refused, not followed: the fallback answers for one
        // configured origin only.
        if status.is_server_error() || (status.is_redirection() && status != 304) {
            return Err(Failure::Status(status));
        }
        let kept = returned_headers(upstream.headers());
        if head || status == StatusCode::NOT_MODIFIED {
            return Ok(respond(status, kept, None));
        }
        if upstream
            .content_length()
            .is_some_and(|n| n > self.max_bytes)
        {
            return Err(Failure::TooLarge(self.max_bytes));
        }
        let mut body = BytesMut::new();
        while let Some(chunk) = upstream.chunk().await? {
            if u64::try_from(body.len() + chunk.len()).unwrap_or(u64::MAX) > self.max_bytes {
                return Err(Failure::TooLarge(self.max_bytes));
            }
            body.extend_from_slice(&chunk);
        }
        let body = body.freeze();
        if status == StatusCode::OK && !is_valid_document(kind, &body) {
            return Err(Failure::Invalid(kind));
        }
        Ok(respond(status, kept, Some(body)))
    }
}

/// The allowlisted upstream response headers.
fn returned_headers(upstream: &reqwest::header::HeaderMap) -> Vec<(HeaderName, HeaderValue)> {
    RETURNED_RESPONSE_HEADERS
        .iter()
        .filter_map(|name| {
            let value = upstream.get(*name)?;
            Some((
                HeaderName::from_static(name),
                HeaderValue::from_bytes(value.as_bytes()).ok()?,
            ))
        })
        .collect()
}

fn respond(
    status: StatusCode,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Option<Bytes>,
) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    let map = response.headers_mut();
    for (name, value) in headers {
        map.insert(name, value);
    }
    if let Some(body) = body {
        map.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
        *response.body_mut() = Body::from(body);
    }
    response
}
