//! `/packages/{id}`: package state, release envelopes, verification and
//! channels.

use axum::body::{Body, to_bytes};
use axum::extract::{RawPathParams, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use regesta_core::ChannelWritten;
use regesta_protocol::EventKeyOrder;
use serde_json::{Map, Value, json};

use super::{ApiResult, channel, package_id, version};
use crate::error::ApiError;
use crate::http::{
    bytes_response, immutable_json, is_head, json_response, matches_if_none_match, mutable_headers,
    not_modified, not_modified_since, package_json,
};
use crate::middleware::too_large;
use crate::state::AppState;
use regesta_http::{Validity, prepare};

/// Largest channel-write body (a JSON object with one authorization).
const MAX_CHANNEL_BODY: usize = 256 * 1024;

/// `GET|HEAD /packages/{id}`.
pub(super) async fn package_state(
    State(state): State<AppState>,
    params: RawPathParams,
    method: Method,
    headers: HeaderMap,
) -> ApiResult {
    let id = package_id(&params)?;
    // Conditional requests are answered from the head row alone.
    let (head, head_time) = state.registry().package_head(&id).await?;
    let etag = format!("W/\"{head}\"");
    let unchanged = if headers.contains_key(axum::http::header::IF_NONE_MATCH) {
        matches_if_none_match(&headers, &etag)
    } else {
        not_modified_since(&headers, head_time)
    };
    if unchanged {
        return Ok(not_modified(&mutable_headers(&etag, Some(head_time))));
    }
    let stamp = state.registry().package_stamp(&id);
    let view = state.registry().package_state(&id).await?;
    let etag = format!("W/\"{}\"", view.head_event);
    let response = bytes_response(
        StatusCode::OK,
        view.body.clone(),
        mutable_headers(&etag, Some(view.head_time)),
        !is_head(&method),
    );
    Ok(prepare(response, view.body, Validity::of_package(stamp)))
}

/// `GET|HEAD /packages/{id}/releases/{version}`: canonical, immutable.
pub(super) async fn release(
    State(state): State<AppState>,
    params: RawPathParams,
    method: Method,
    headers: HeaderMap,
) -> ApiResult {
    let id = package_id(&params)?;
    let version = version(&params)?;
    let docs = state.registry().release_documents(&id, &version).await?;
    let mut response = immutable_json(
        &method,
        &headers,
        docs.envelope,
        &format!("W/\"{}\"", docs.event_id),
    );
    // Where to get the release's transparency-log proof; v0 bodies stay as
    // they are.
    let link = format!(
        "</log/proof/event/sha256/{}>; rel=\"tlog-proof\"",
        docs.event_id.hex()
    );
    if let Ok(value) = axum::http::HeaderValue::from_str(&link) {
        response
            .headers_mut()
            .insert(axum::http::header::LINK, value);
    }
    Ok(response)
}

/// `GET /packages/{id}/releases/{version}/verification`: 200 or 422.
pub(super) async fn verification(
    State(state): State<AppState>,
    params: RawPathParams,
    method: Method,
) -> ApiResult {
    let id = package_id(&params)?;
    let version = version(&params)?;
    let result = state.registry().verify_release(&id, &version).await?;
    let status = if result.ok {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(bytes_response(
        status,
        result.body,
        vec![
            (axum::http::header::CACHE_CONTROL, "no-cache".to_owned()),
            (
                axum::http::header::CONTENT_TYPE,
                crate::http::JSON_UTF8.to_owned(),
            ),
        ],
        !is_head(&method),
    ))
}

/// `GET|HEAD /packages/{id}/channels/{channel}`: the release envelope the
/// channel points at, as a mutable view.
pub(super) async fn channel_get(
    State(state): State<AppState>,
    params: RawPathParams,
    method: Method,
    headers: HeaderMap,
) -> ApiResult {
    let id = package_id(&params)?;
    let channel = channel(&params)?;
    let stamp = state.registry().package_stamp(&id);
    let view = state.registry().channel_view(&id, &channel).await?;
    Ok(package_json(
        &method,
        &headers,
        view.documents.listing,
        &view.etag,
        stamp,
    ))
}

async fn read_body(body: Body) -> Result<bytes::Bytes, ApiError> {
    to_bytes(body, MAX_CHANNEL_BODY)
        .await
        .map_err(|_| too_large(MAX_CHANNEL_BODY as u64))
}

fn written(result: &ChannelWritten) -> Response {
    let mut m = Map::new();
    m.insert("channel".into(), json!(result.channel.as_str()));
    m.insert(
        "event".into(),
        result.event.to_json(EventKeyOrder::Response),
    );
    m.insert("package".into(), json!(result.package.as_str()));
    if let Some(previous) = &result.previous_version {
        m.insert("previousVersion".into(), json!(previous.as_str()));
    }
    if let Some(version) = &result.version {
        m.insert("version".into(), json!(version.as_str()));
    }
    let body = serde_json::to_vec(&Value::Object(m)).unwrap_or_default();
    json_response(StatusCode::OK, body, Vec::new(), true)
}

/// `PUT /packages/{id}/channels/{channel}`.
pub(super) async fn update_channel(
    State(state): State<AppState>,
    params: RawPathParams,
    body: Body,
) -> ApiResult {
    write_channel(&state, &params, body, true).await
}

/// `DELETE /packages/{id}/channels/{channel}`.
pub(super) async fn delete_channel(
    State(state): State<AppState>,
    params: RawPathParams,
    body: Body,
) -> ApiResult {
    write_channel(&state, &params, body, false).await
}

async fn write_channel(
    state: &AppState,
    params: &RawPathParams,
    body: Body,
    update: bool,
) -> ApiResult {
    let id = package_id(params)?;
    let channel = channel(params)?;
    let body = crate::http::within_body_deadline(state, read_body(body)).await?;
    let (action, result) = if update {
        (
            "channel.update",
            state.registry().update_channel(&id, &channel, &body).await,
        )
    } else {
        (
            "channel.delete",
            state.registry().delete_channel(&id, &channel, &body).await,
        )
    };
    audit(
        action,
        &id,
        channel.as_str(),
        result.as_ref().map(|r| &r.event.id),
    );
    Ok(written(&result?))
}

/// One `regesta.core-audit` line per write attempt.
pub(super) fn audit<E: std::fmt::Display>(
    action: &str,
    package: &regesta_protocol::PackageId,
    channel: &str,
    outcome: Result<&regesta_protocol::Digest, &E>,
) {
    match outcome {
        Ok(event) => tracing::info!(
            target: "regesta.core-audit",
            action, package = %package, channel, outcome = "accepted", event_id = %event,
        ),
        Err(reason) => tracing::info!(
            target: "regesta.core-audit",
            action, package = %package, channel, outcome = "rejected", reason = %reason,
        ),
    }
}
