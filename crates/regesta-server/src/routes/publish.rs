//! `POST /releases`: the multipart publish.
//!
//! The body is streamed through `multer` with the whole-request limit, and
//! every part is bounded by its own limit while it is read (source and
//! artifact parts by the publish limits, JSON parts by a small fixed one),
//! so an oversized part is refused before it is buffered.

use axum::body::Body;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use bytes::{Bytes, BytesMut};
use regesta_core::{FilePart, PublishRequest};
use regesta_protocol::EventKeyOrder;
use serde_json::json;

use super::ApiResult;
use super::packages::audit;
use crate::error::ApiError;
use crate::http::json_response;
use crate::middleware::too_large;
use crate::state::AppState;

/// Largest JSON or text part (`config`, `artifacts`, `authorization`,
/// `createdAt`).
const MAX_JSON_PART: u64 = 256 * 1024;
/// Most parts one publish may carry (5 named parts plus the artifacts).
const MAX_PARTS: usize = 5 + regesta_protocol::authorization::MAX_ARTIFACTS;
/// Longest part name accepted.
const MAX_PART_NAME: usize = 128;

fn form_error(issue: impl Into<String>) -> ApiError {
    ApiError::invalid("Invalid form request body", vec![issue.into()])
}

#[derive(Default)]
struct Parts {
    config: Option<Bytes>,
    source: Option<Bytes>,
    artifacts: Option<Bytes>,
    authorization: Option<Bytes>,
    created_at: Option<Bytes>,
    files: Vec<FilePart>,
}

impl Parts {
    /// A required part, refused as the reference's form reader refuses a
    /// missing one: text parts (JSON) and file parts have their own issue.
    fn require(part: Option<Bytes>, name: &str, file: bool) -> Result<Bytes, ApiError> {
        let issue = if file {
            "Must be a file"
        } else {
            "Invalid type: Expected (string | File) but received undefined"
        };
        part.ok_or_else(|| {
            ApiError::invalid(
                format!("Invalid publish request field {name}"),
                vec![issue.to_owned()],
            )
        })
    }

    fn into_request(self) -> Result<PublishRequest, ApiError> {
        // The reference's reading order: config, artifacts, source,
        // authorization.
        let config = Self::require(self.config, "config", false)?;
        let artifacts = Self::require(self.artifacts, "artifacts", false)?;
        let source = Self::require(self.source, "source", true)?;
        Ok(PublishRequest {
            config,
            source,
            artifacts,
            authorization: Self::require(self.authorization, "authorization", false)?,
            files: self.files,
            // A text part, read as text the way the reference's form
            // reader reads it.
            created_at: self
                .created_at
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
        })
    }
}

async fn read_parts(state: &AppState, headers: &HeaderMap, body: Body) -> Result<Parts, ApiError> {
    let config = state.config();
    let boundary = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| multer::parse_boundary(v).ok())
        .ok_or_else(|| form_error("content-type: Must be multipart/form-data with a boundary"))?;
    let limits = multer::Constraints::new()
        .size_limit(multer::SizeLimit::new().whole_stream(config.max_request_bytes));
    let mut multipart =
        multer::Multipart::with_constraints(body.into_data_stream(), boundary, limits);
    let mut parts = Parts::default();
    let mut count = 0;
    let map_err = |e: multer::Error| match e {
        multer::Error::StreamSizeExceeded { .. } => too_large(config.max_request_bytes),
        other => form_error(other.to_string()),
    };
    while let Some(mut field) = multipart.next_field().await.map_err(map_err)? {
        count += 1;
        if count > MAX_PARTS {
            return Err(form_error(format!("at most {MAX_PARTS} parts")));
        }
        let name = field.name().unwrap_or_default().to_owned();
        if name.is_empty() || name.len() > MAX_PART_NAME {
            return Err(form_error("every part needs a name of at most 128 bytes"));
        }
        let limit = match name.as_str() {
            "config" | "artifacts" | "authorization" | "createdAt" => MAX_JSON_PART,
            "source" => config.max_source_bytes,
            _ => config.max_artifact_bytes,
        };
        let mut buffer = BytesMut::new();
        while let Some(chunk) = field.chunk().await.map_err(map_err)? {
            if (buffer.len() + chunk.len()) as u64 > limit {
                return Err(ApiError::invalid(
                    format!("Publish request field {name} is too large"),
                    vec![format!("{name}: Must be at most {limit} bytes")],
                ));
            }
            buffer.extend_from_slice(&chunk);
        }
        let bytes = buffer.freeze();
        let slot = match name.as_str() {
            "config" => &mut parts.config,
            "source" => &mut parts.source,
            "artifacts" => &mut parts.artifacts,
            "authorization" => &mut parts.authorization,
            "createdAt" => &mut parts.created_at,
            _ => {
                if parts.files.iter().any(|f| f.name == name) {
                    return Err(form_error(format!("{name}: duplicate part")));
                }
                parts.files.push(FilePart { name, bytes });
                continue;
            }
        };
        if slot.replace(bytes).is_some() {
            return Err(form_error(format!("{name}: duplicate part")));
        }
    }
    Ok(parts)
}

/// `POST /releases` → 201 `{channel, event, manifest, manifestDescriptor}`.
pub(super) async fn publish(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    let request = crate::http::within_body_deadline(&state, read_parts(&state, &headers, body))
        .await?
        .into_request()?;
    let result = state.registry().publish(request).await;
    if let Ok(published) = &result {
        audit::<regesta_core::CoreError>(
            "release.publish",
            &published.manifest.id,
            published.channel.as_str(),
            Ok(&published.event.id),
        );
    } else if let Err(error) = &result {
        tracing::info!(target: "regesta.core-audit", action = "release.publish", outcome = "rejected", reason = %error);
    }
    let published = result?;
    let body = json!({
        "channel": published.channel.as_str(),
        "event": published.event.to_json(EventKeyOrder::Response),
        "manifest": published.manifest,
        "manifestDescriptor": published.manifest_descriptor,
    });
    Ok(json_response(
        StatusCode::CREATED,
        body.to_string().into_bytes(),
        Vec::new(),
        true,
    ))
}
