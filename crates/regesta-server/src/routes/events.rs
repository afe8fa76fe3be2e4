//! `/events`: the append-only event log.

use axum::extract::{RawPathParams, RawQuery, State};
use axum::http::{HeaderMap, Method};

use super::objects::digest_from_parts;
use super::{ApiResult, page_query};
use crate::http::{immutable_json, mutable_json};
use crate::state::AppState;

/// `GET|HEAD /events?after=&limit=`: a page in sequence order.
pub(super) async fn page(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    method: Method,
    headers: HeaderMap,
) -> ApiResult {
    let query = page_query(raw.as_deref(), "Invalid event log query")?;
    let page = state.registry().events_page(query).await?;
    Ok(mutable_json(&method, &headers, page.body, &page.etag))
}

/// `GET|HEAD /events/sha256/<hex>`: one event, canonical and immutable.
pub(super) async fn by_parts(
    State(state): State<AppState>,
    params: RawPathParams,
    method: Method,
    headers: HeaderMap,
) -> ApiResult {
    let id = digest_from_parts(&params, "Invalid event digest")?;
    let event = state.registry().event(&id).await?;
    Ok(immutable_json(
        &method,
        &headers,
        event.bytes,
        &format!("W/\"{id}\""),
    ))
}
