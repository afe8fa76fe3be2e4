//! The GOPROXY protocol over HTTP, mounted by the server under `/go` and
//! at the root of hosts whose first label is `go`: `<module>/@v/list`,
//! `<module>/@v/<version>.info`, `.mod`, `.zip` and `<module>/@latest`,
//! with paths and versions `!`-escaped as the go command sends them.
//! Lists and info are the bytes rendered once per module head; `.mod` and
//! `.zip` redirect to the core objects, which the go command follows and
//! checks against `go.sum` and the checksum database. Anything unknown is
//! a short text 404, which the go command reads as "no such module" (it
//! probes parent paths of every import this way).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, LAST_MODIFIED};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use regesta_core::{CoreError, Registry};
use regesta_http::response::{
    IMMUTABLE, JSON_UTF8, bytes_response, http_date, prepared_conditional, prepared_redirect,
};
use regesta_http::{ApiError, Validity};
use regesta_protocol::{Digest, PackageId};

use crate::checksum_db::ChecksumDb;
use crate::documents::{FILES, GoDocuments, LATEST, LIST, file, info};
use crate::paths::{ModulePath, unescape};
use crate::versions::ModuleVersion;

/// The Go projection of one registry: its routes and the state they share.
#[derive(Debug, Clone)]
pub struct GoProjection {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    registry: Registry,
    documents: GoDocuments,
    /// Where the core API is served (downloads redirect there).
    public_base: String,
    /// The checksum database, when one is configured.
    sumdb: Option<ChecksumDb>,
}

impl GoProjection {
    /// The projection of `registry`; `.mod` and `.zip` redirect to objects
    /// under `public_base`; `sumdb`, when given, is served under
    /// `sumdb/<name>/` (which is how the go command reaches it through
    /// `GOPROXY`) with its verifier key at `sumdb-key`.
    pub fn new(registry: Registry, public_base: String, sumdb: Option<ChecksumDb>) -> Self {
        Self {
            inner: Arc::new(Inner {
                registry,
                documents: GoDocuments,
                public_base,
                sumdb,
            }),
        }
    }
}

impl regesta_http::Projection for GoProjection {
    fn ecosystem(&self) -> &'static str {
        crate::ECOSYSTEM
    }

    fn router(&self) -> Router {
        Router::new()
            .route("/{*path}", get(proxy))
            .with_state(self.clone())
    }

    /// Folds the whole log into the checksum database: done lazily, the
    /// first lookup or note after a restart waited for it (0.35 s at
    /// 100,000 events).
    fn warm_up(&self) -> Option<regesta_http::WarmUp> {
        self.inner.sumdb.as_ref()?;
        let this = self.clone();
        Some(Box::pin(async move {
            let Some(db) = &this.inner.sumdb else { return };
            match db.sync(&this.inner.registry, true).await {
                Ok(()) => tracing::info!(records = db.size(), "built the Go checksum database"),
                Err(error) => {
                    tracing::warn!(%error, "could not build the Go checksum database at start");
                }
            }
        }))
    }
}

/// What a proxy path asks for.
#[derive(Debug, PartialEq, Eq)]
enum Request {
    List,
    Latest,
    Info(String),
    Mod(String),
    Zip(String),
}

/// Splits a proxy path into the escaped module path and the request.
fn parse(path: &str) -> Option<(&str, Request)> {
    if let Some(module) = path.strip_suffix("/@latest") {
        return Some((module, Request::Latest));
    }
    let (module, file) = path.rsplit_once("/@v/")?;
    if file == "list" {
        return Some((module, Request::List));
    }
    let (version, extension) = file.rsplit_once('.')?;
    let version = unescape(version)?;
    let request = match extension {
        "info" => Request::Info(version),
        "mod" => Request::Mod(version),
        "zip" => Request::Zip(version),
        _ => return None,
    };
    Some((module, request))
}

/// A short text answer, as Go module proxies give for what they lack.
fn text(status: StatusCode, message: String) -> Response {
    let headers = vec![
        (CONTENT_TYPE, "text/plain; charset=utf-8".to_owned()),
        (CACHE_CONTROL, "no-cache".to_owned()),
    ];
    bytes_response(status, bytes::Bytes::from(message + "\n"), headers, true)
}

fn not_found(what: &str) -> Response {
    text(StatusCode::NOT_FOUND, format!("not found: {what}"))
}

async fn proxy(
    State(state): State<GoProjection>,
    Path(path): Path<String>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    if path == "sumdb-key" || path.starts_with("sumdb/") {
        return checksum_db(&state.inner, &path).await;
    }
    let Some((escaped, request)) = parse(&path) else {
        return not_found(&path);
    };
    let Some(module) = unescape(escaped).and_then(|p| ModulePath::parse(&p).ok()) else {
        return not_found(escaped);
    };
    let Ok(id) = module.package_id() else {
        return not_found(module.as_str());
    };
    match serve(&state.inner, &id, &module, request, &method, &headers).await {
        Ok(response) => response,
        Err(CoreError::NotFound { .. }) => not_found(module.as_str()),
        Err(error) => ApiError::from(error).into_response(),
    }
}

/// `sumdb-key` and `sumdb/<name>/…`.
async fn checksum_db(inner: &Inner, path: &str) -> Response {
    let Some(db) = &inner.sumdb else {
        return not_found(path);
    };
    if path == "sumdb-key" {
        return text(StatusCode::OK, db.verifier_key());
    }
    let rest = path
        .strip_prefix("sumdb/")
        .and_then(|p| p.strip_prefix(db.name()))
        .and_then(|p| p.strip_prefix('/'));
    let Some(rest) = rest else {
        return not_found(path);
    };
    db.serve(&inner.registry, rest)
        .await
        .unwrap_or_else(|error| ApiError::from(error).into_response())
}

async fn serve(
    inner: &Inner,
    id: &PackageId,
    module: &ModulePath,
    request: Request,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Response, CoreError> {
    let document = |kind| inner.registry.package_document(id, kind, &inner.documents);
    let (kind, content_type) = match &request {
        Request::List => (LIST, "text/plain; charset=utf-8"),
        Request::Latest => (LATEST, JSON_UTF8),
        Request::Info(v) | Request::Mod(v) | Request::Zip(v) => {
            let missing = || not_found(&format!("{module}@{v}"));
            if ModuleVersion::parse(v, module).is_err() {
                return Ok(missing());
            }
            let files = document(FILES).await?.bytes;
            let Some((zip, go_mod, time)) = file(&files, v) else {
                return Ok(missing());
            };
            let object = |hex: &str| {
                Digest::parse_hex(hex).map_or_else(
                    |_| missing(),
                    // A published version's files never change.
                    |d| {
                        prepared_redirect(
                            &format!("{}/objects/{d}", inner.public_base),
                            Validity::Immutable,
                        )
                    },
                )
            };
            return Ok(match request {
                Request::Mod(_) => object(go_mod),
                Request::Zip(_) => object(zip),
                _ => {
                    // A version's info never changes: the zip names it.
                    let etag = format!("\"regesta.go-info:{zip}\"");
                    let response_headers = vec![
                        (CONTENT_TYPE, JSON_UTF8.to_owned()),
                        (CACHE_CONTROL, IMMUTABLE.to_owned()),
                        (ETAG, etag.clone()),
                    ];
                    let body = bytes::Bytes::from(info(v, time));
                    let validity = Validity::Immutable;
                    prepared_conditional(method, headers, body, response_headers, &etag, validity)
                }
            });
        }
    };
    let document = document(kind).await?;
    let etag = format!("W/\"regesta.{kind}:{}\"", document.head);
    let response_headers = vec![
        (CACHE_CONTROL, "no-cache".to_owned()),
        (CONTENT_TYPE, content_type.to_owned()),
        (ETAG, etag.clone()),
        (LAST_MODIFIED, http_date(document.time)),
    ];
    let validity = Validity::of_package(document.stamp);
    let body = document.bytes;
    Ok(prepared_conditional(
        method,
        headers,
        body,
        response_headers,
        &etag,
        validity,
    ))
}

#[cfg(test)]
mod tests {
    use super::{Request, parse};

    #[test]
    fn proxy_paths_are_split_as_the_go_command_builds_them() {
        assert_eq!(
            parse("acme.dev/greet/@v/list"),
            Some(("acme.dev/greet", Request::List))
        );
        assert_eq!(
            parse("acme.dev/!greet/v2/@v/v2.0.0-!r!c1.info"),
            Some(("acme.dev/!greet/v2", Request::Info("v2.0.0-RC1".into())))
        );
        assert_eq!(
            parse("acme.dev/greet/@v/v1.0.0.zip"),
            Some(("acme.dev/greet", Request::Zip("v1.0.0".into())))
        );
        assert_eq!(
            parse("acme.dev/greet/@latest"),
            Some(("acme.dev/greet", Request::Latest))
        );
        for bad in [
            "acme.dev/greet",
            "acme.dev/greet/@v/v1.0.0.tar",
            "acme.dev/greet/@v/V1.0.0.mod",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
