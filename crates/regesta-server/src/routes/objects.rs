//! `/objects`: the inventory and content-addressed bytes.

use axum::extract::{RawPathParams, RawQuery, State};
use axum::http::{HeaderMap, Method};
use regesta_protocol::Digest;

use super::{ApiResult, page_query, param};
use crate::error::ApiError;
use crate::http::{
    ObjectBytes, RangeRequest, is_head, matches_if_none_match, mutable_json, object_response,
    parse_range, redirect,
};

/// How long a presigned object URL stays valid.
const PRESIGNED_TTL: std::time::Duration = std::time::Duration::from_mins(5);
use crate::state::AppState;

/// `GET|HEAD /objects?after=&limit=`.
pub(super) async fn inventory(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    method: Method,
    headers: HeaderMap,
) -> ApiResult {
    let query = page_query(raw.as_deref(), "Invalid object inventory query")?;
    let page = state.registry().objects_page(query).await?;
    Ok(mutable_json(&method, &headers, page.body, &page.etag))
}

async fn serve(
    state: &AppState,
    digest: Digest,
    method: &Method,
    headers: &HeaderMap,
) -> ApiResult {
    let etag = format!("\"{digest}\"");
    let redirect_objects = state
        .config()
        .object_store
        .as_ref()
        .is_some_and(|s| s.redirect);
    if redirect_objects && !is_head(method) {
        // Known objects only: the index is the authority, the bucket is not.
        state.registry().object_descriptor(&digest).await?;
        if let Some(url) = state
            .registry()
            .blobs
            .presigned_get(&digest, PRESIGNED_TTL)
            .await
            .map_err(regesta_core::CoreError::from)?
        {
            return Ok(redirect(&url));
        }
    }
    if is_head(method) {
        let descriptor = state.registry().object_descriptor(&digest).await?;
        return Ok(object_response(
            method,
            headers,
            descriptor.media_type.as_str(),
            &etag,
            descriptor.size,
            None,
        ));
    }
    // A single satisfiable range reads only that part from the store.
    let descriptor = state.registry().object_descriptor(&digest).await?;
    let range = headers
        .get(axum::http::header::RANGE)
        .and_then(|v| v.to_str().ok());
    let wanted = match parse_range(range, descriptor.size) {
        RangeRequest::Part(part) if !matches_if_none_match(headers, &etag) => Some(part),
        _ => None,
    };
    let body = match wanted {
        Some(part) => {
            let (_, bytes) = state
                .registry()
                .object_range(&digest, part.start, part.end)
                .await?;
            ObjectBytes::Part(bytes)
        }
        None => ObjectBytes::Stream(state.registry().object_stream(&digest).await?.1),
    };
    Ok(object_response(
        method,
        headers,
        descriptor.media_type.as_str(),
        &etag,
        descriptor.size,
        Some(body),
    ))
}

/// `GET|HEAD /objects/sha256:<hex>`.
pub(super) async fn by_digest(
    State(state): State<AppState>,
    params: RawPathParams,
    method: Method,
    headers: HeaderMap,
) -> ApiResult {
    let digest = Digest::parse(&param(&params, "digest")?).map_err(|_| {
        ApiError::invalid(
            "Invalid object digest",
            vec!["Must be a sha256 digest".into()],
        )
    })?;
    serve(&state, digest, &method, &headers).await
}

/// `GET|HEAD /objects/sha256/<hex>`.
pub(super) async fn by_parts(
    State(state): State<AppState>,
    params: RawPathParams,
    method: Method,
    headers: HeaderMap,
) -> ApiResult {
    let digest = digest_from_parts(&params, "Invalid object digest")?;
    serve(&state, digest, &method, &headers).await
}

/// `{algorithm}/{hex}` path parameters as a digest (sha256 only).
pub(super) fn digest_from_parts(params: &RawPathParams, message: &str) -> Result<Digest, ApiError> {
    let algorithm = param(params, "algorithm")?;
    let hex = param(params, "hex")?;
    let mut issues = Vec::new();
    if algorithm != Digest::ALGORITHM {
        issues.push("algorithm: Only sha256 object digests are supported".to_owned());
    }
    let digest = Digest::parse_hex(&hex)
        .map_err(|_| issues.push("hex: Must be a lowercase sha256 hex digest".to_owned()))
        .ok();
    match digest {
        Some(d) if issues.is_empty() => Ok(d),
        _ => Err(ApiError::invalid(message.to_owned(), issues)),
    }
}
