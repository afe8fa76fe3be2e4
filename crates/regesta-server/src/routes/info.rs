//! `/`, `/health`, `/ready`, `/favicon.ico`.

use axum::extract::State;
use axum::http::header::CACHE_CONTROL;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::json;

use super::ApiResult;
use crate::http::{bytes_response, is_head, json_response};
use crate::state::AppState;

fn no_store() -> crate::http::Headers {
    vec![(CACHE_CONTROL, "no-store".to_owned())]
}

/// Deployment information with cached statistics.
pub(super) async fn deployment_info(State(state): State<AppState>, method: Method) -> ApiResult {
    let counts = state.statistics().await?;
    let body = json!({
        "git": { "sha": option_env!("REGESTA_GIT_SHA").unwrap_or("unknown") },
        "object": "regesta.deployment-info",
        "runtime": { "name": "rust" },
        "service": "regesta",
        "statistics": {
            "events": counts.events,
            "objects": counts.objects,
            "packages": counts.packages,
            "releases": counts.releases,
        },
        "version": env!("CARGO_PKG_VERSION"),
    });
    Ok(json_response(
        StatusCode::OK,
        body.to_string().into_bytes(),
        no_store(),
        !is_head(&method),
    ))
}

/// Liveness: the process answers. The answer never changes, so the hot
/// path keeps it.
pub(super) async fn health(method: Method) -> Response {
    let body = bytes::Bytes::from_static(br#"{"ok":true}"#);
    let response = json_response(StatusCode::OK, body.to_vec(), no_store(), !is_head(&method));
    regesta_http::prepare(response, body, regesta_http::Validity::Immutable)
}

/// Readiness: each adapter probed independently (bounded by
/// `REGESTA_READINESS_TIMEOUT_MS`) by the background prober; 503 when any
/// fails.
pub(super) async fn ready(State(state): State<AppState>, method: Method) -> Response {
    let probe = state.readiness().await;
    ready_response(probe, is_head(&method))
}

/// The `/ready` answer for `probe` (also answered by the hot path).
pub(crate) fn ready_response(probe: crate::readiness::Probe, head: bool) -> Response {
    let body = format!(
        "{{\"checks\":{{\"database\":{},\"objects\":{}}},\"kind\":\"regesta.readiness\",\"ok\":{}}}",
        probe.database,
        probe.objects,
        probe.ok()
    );
    let status = if probe.ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    json_response(status, body.into_bytes(), no_store(), !head)
}

/// Browsers ask for it; answer cheaply.
pub(super) async fn favicon() -> Response {
    bytes_response(
        StatusCode::NO_CONTENT,
        bytes::Bytes::new(),
        vec![(CACHE_CONTROL, "public, max-age=86400".to_owned())],
        false,
    )
}

/// The OpenAPI document of these routes (kept in sync by a test).
pub(super) async fn openapi(method: Method) -> Response {
    bytes_response(
        StatusCode::OK,
        bytes::Bytes::from_static(crate::OPENAPI),
        vec![
            (CACHE_CONTROL, "no-cache".to_owned()),
            (
                axum::http::header::CONTENT_TYPE,
                crate::http::JSON_UTF8.to_owned(),
            ),
        ],
        !is_head(&method),
    )
}
