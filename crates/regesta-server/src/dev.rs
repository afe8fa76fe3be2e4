//! Dev mode: `*.localhost` domain bindings served from local files instead
//! of fetched over HTTPS, plus the `dev.localhost` site that publishes the
//! project's own demo key.
//!
//! The demo key in `src/dev/` is public on purpose so anyone can try a
//! publish against a local registry. Dev mode is off unless `--dev` or
//! `REGESTA_DEV=true` turns it on, and even then it only ever speaks for
//! `*.localhost`, which cannot be a real owner domain.

use std::path::Path;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::Response;
use axum::routing::get;
use bytes::Bytes;
use regesta_protocol::json::parse_strict;
use regesta_protocol::{DomainBinding, OwnerDomain};
use regesta_trust::StaticBindings;
use thiserror::Error;

use crate::http::bytes_response;

/// The built-in `dev.localhost` binding (the demo key's public half).
pub const DEMO_BINDING: &[u8] = include_bytes!("dev/domain-binding.json");
/// The demo private key, served at `/regesta.private-key.json` on
/// `dev.localhost` so local clients can sign.
pub const DEMO_PRIVATE_KEY: &[u8] = include_bytes!("dev/demo-private-key.json");
/// The demo key id.
pub const DEMO_KID: &str = "ed25519:dev-localhost";

/// Why a dev binding file was refused.
#[derive(Debug, Error)]
pub enum DevError {
    /// The file could not be read.
    #[error("cannot read dev binding {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The IO error.
        source: std::io::Error,
    },
    /// The file is not a valid binding for a `*.localhost` domain.
    #[error("invalid dev binding {path}: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// Why.
        #[source]
        reason: BindingRefusal,
    },
}

/// Why bytes are not a dev binding.
#[derive(Debug, Error)]
pub enum BindingRefusal {
    /// Not a valid domain binding.
    #[error(transparent)]
    Protocol(#[from] regesta_protocol::ProtocolError),
    /// Not strict JSON.
    #[error(transparent)]
    Json(#[from] regesta_protocol::json::JsonError),
    /// A binding for a domain dev mode may not speak for.
    #[error("dev bindings may only speak for *.localhost, not {0}")]
    NotLocalhost(OwnerDomain),
    /// The binding could not be kept.
    #[error(transparent)]
    Rejected(#[from] regesta_trust::TrustError),
}

/// The dev-mode bindings: the built-in demo binding, replaced or joined by
/// the files named in `REGESTA_DEV_BINDINGS`.
#[derive(Debug, Clone)]
pub struct DevSite {
    /// Bindings by domain, exact bytes.
    pub bindings: StaticBindings,
}

fn binding_domain(bytes: &[u8]) -> Result<OwnerDomain, BindingRefusal> {
    let value = parse_strict(bytes, regesta_protocol::binding::MAX_BINDING_BYTES)?;
    let binding = DomainBinding::from_json(&value)?;
    if !binding.domain.is_localhost() {
        return Err(BindingRefusal::NotLocalhost(binding.domain));
    }
    Ok(binding.domain)
}

impl DevSite {
    /// Loads the demo binding and `files` (each a `regesta.domain-binding`
    /// for a `*.localhost` domain; a file for `dev.localhost` replaces the
    /// demo binding). The exact file bytes are what `wellKnownDigest`
    /// hashes.
    ///
    /// # Errors
    /// An unreadable or invalid file.
    pub fn load(files: &[impl AsRef<Path>]) -> Result<Self, DevError> {
        let mut bindings = StaticBindings::new();
        let demo = binding_domain(DEMO_BINDING).map_err(|reason| DevError::Invalid {
            path: "built-in demo binding".into(),
            reason,
        })?;
        bindings
            .insert(&demo, Bytes::from_static(DEMO_BINDING))
            .map_err(|e| DevError::Invalid {
                path: "built-in demo binding".into(),
                reason: e.into(),
            })?;
        for file in files {
            let path = file.as_ref().display().to_string();
            let bytes = std::fs::read(file.as_ref()).map_err(|source| DevError::Read {
                path: path.clone(),
                source,
            })?;
            let domain = binding_domain(&bytes).map_err(|reason| DevError::Invalid {
                path: path.clone(),
                reason,
            })?;
            bindings
                .insert(&domain, Bytes::from(bytes))
                .map_err(|e| DevError::Invalid {
                    path,
                    reason: e.into(),
                })?;
        }
        Ok(Self { bindings })
    }

    /// The routes answered for `Host: dev.localhost`.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/", get(info))
            .route("/.well-known/regesta.json", get(well_known))
            .route("/regesta.private-key.json", get(private_key))
            .with_state(self.clone())
    }
}

fn json_file(bytes: Bytes, cache: &str) -> Response {
    bytes_response(
        StatusCode::OK,
        bytes,
        vec![
            (CACHE_CONTROL, cache.to_owned()),
            (CONTENT_TYPE, "application/json; charset=utf-8".to_owned()),
        ],
        true,
    )
}

async fn info() -> Response {
    let body = serde_json::json!({
        "domain": "dev.localhost",
        "endpoints": {
            "binding": "/.well-known/regesta.json",
            "privateKey": "/regesta.private-key.json",
        },
        "kid": DEMO_KID,
        "object": "regesta.dev-localhost",
        "production": false,
    });
    json_file(Bytes::from(body.to_string()), "no-store")
}

async fn well_known(State(site): State<DevSite>) -> Response {
    let domain = OwnerDomain::parse("dev.localhost").ok();
    match domain.and_then(|d| site.bindings.get(&d).cloned()) {
        Some(bytes) => json_file(bytes, "no-store"),
        None => {
            axum::response::IntoResponse::into_response(crate::error::ApiError::route_not_found())
        }
    }
}

async fn private_key() -> Response {
    json_file(Bytes::from_static(DEMO_PRIVATE_KEY), "no-store")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_binding_matches_the_demo_private_key() {
        let key: serde_json::Value = serde_json::from_slice(DEMO_PRIVATE_KEY).unwrap();
        let binding: serde_json::Value = serde_json::from_slice(DEMO_BINDING).unwrap();
        let d = key["privateKeyJwk"]["d"].as_str().unwrap();
        let signing = regesta_protocol::keys::signing_key_from_d(d).unwrap();
        let x = regesta_protocol::keys::Ed25519Jwk::from_key(signing.verifying_key()).x();
        assert_eq!(x, binding["keys"][0]["publicKeyJwk"]["x"]);
        assert_eq!(binding["keys"][0]["kid"], DEMO_KID);
    }

    #[test]
    fn dev_bindings_must_be_localhost() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        std::fs::write(&real, br#"{"domain":"example.com","keys":[{"alg":"EdDSA","kid":"k","publicKeyJwk":{"crv":"Ed25519","kty":"OKP","x":"kVWgM5g2--WMnqrbDn2t-_xke3DEEFn0-OJ2NylBgj0"},"use":"regesta-write"}],"object":"regesta.domain-binding"}"#).unwrap();
        assert!(DevSite::load(&[&real]).is_err());
        let other = dir.path().join("other.json");
        std::fs::write(
            &other,
            String::from_utf8_lossy(DEMO_BINDING).replace("dev.localhost", "other.localhost"),
        )
        .unwrap();
        let site = DevSite::load(&[&other]).unwrap();
        assert!(
            site.bindings
                .get(&OwnerDomain::parse("other.localhost").unwrap())
                .is_some()
        );
        assert!(
            site.bindings
                .get(&OwnerDomain::parse("dev.localhost").unwrap())
                .is_some()
        );
        assert!(DevSite::load(&[dir.path().join("missing.json")]).is_err());
    }
}
