//! Path parameters, decoded strictly: a malformed escape is a 400, never a
//! different name.

use axum::extract::RawPathParams;
use regesta_protocol::ids::decode_path_segment;

use crate::ApiError;

/// One path parameter, strictly percent-decoded (`%ZZ` is a 400, never a
/// different id).
///
/// # Errors
/// The route has no such parameter, or its escapes are malformed.
pub fn param(params: &RawPathParams, name: &str) -> Result<String, ApiError> {
    let raw = params
        .iter()
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
        .ok_or_else(|| ApiError::invalid(format!("Missing {name}"), Vec::new()))?;
    decode_path_segment(raw).map_err(|_| ApiError::invalid("Invalid URL encoding", Vec::new()))
}
