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
use regesta_http::{Validity, prepare};

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
    // One index read decides everything: the index, not the bucket, says
    // which objects exist.
    let registry = state.registry();
    let descriptor = registry.object_descriptor(&digest).await?;
    let respond = |body| {
        object_response(
            method,
            headers,
            descriptor.media_type.as_str(),
            &etag,
            descriptor.size,
            body,
        )
    };
    let redirect_objects = state
        .config()
        .object_store
        .as_ref()
        .is_some_and(|s| s.redirect);
    if redirect_objects
        && !is_head(method)
        && let Some(url) = registry.object_url(&descriptor, PRESIGNED_TTL).await?
    {
        return Ok(redirect(&url));
    }
    // Headers only (HEAD, 304): no store read.
    if is_head(method) || matches_if_none_match(headers, &etag) {
        return Ok(respond(None));
    }
    // A single satisfiable range reads only that part from the store.
    let range = headers
        .get(axum::http::header::RANGE)
        .and_then(|v| v.to_str().ok());
    let body = match parse_range(range, descriptor.size) {
        RangeRequest::Part(part) => ObjectBytes::Part(
            registry
                .object_range(&descriptor, part.start, part.end)
                .await?,
        ),
        RangeRequest::Full => match registry.small_object(&descriptor).await? {
            // Whole bytes the hot path may keep, since objects never
            // change, once checked: a damaged copy is sent as read (the
            // client's digest check refuses it) but never kept.
            Some(bytes) if intact(&descriptor, &bytes) => {
                let response = respond(Some(ObjectBytes::Whole(bytes.clone())));
                return Ok(prepare(response, bytes, Validity::Immutable));
            }
            Some(damaged) => {
                ObjectBytes::Stream(Box::pin(futures_util::stream::iter([Ok(damaged)])))
            }
            None => ObjectBytes::Stream(registry.object_stream(&descriptor).await?),
        },
        // 416 carries no body.
        RangeRequest::Unsatisfiable => return Ok(respond(None)),
    };
    Ok(respond(Some(body)))
}

/// Whether `bytes` are the object `descriptor` names.
fn intact(descriptor: &regesta_protocol::ObjectDescriptor, bytes: &bytes::Bytes) -> bool {
    bytes.len() as u64 == descriptor.size && Digest::of(bytes) == descriptor.digest
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
