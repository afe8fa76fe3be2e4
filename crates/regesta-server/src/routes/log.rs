//! `/log/…`: the transparency log as static, cacheable files
//! (c2sp.org/tlog-tiles: checkpoint, hash tiles, entry bundles), its
//! verifier key, and proofs: a tlog-proof bundle per event, consistency
//! proofs between sizes.

use axum::extract::{Path, RawPathParams, State};
use axum::http::header::{ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, VARY};
use axum::http::{HeaderMap, Method, StatusCode};
use bytes::Bytes;
use regesta_core::ErrorCode;
use regesta_tlog::Tile;

use super::ApiResult;
use super::objects::digest_from_parts;
use crate::error::ApiError;
use crate::http::{IMMUTABLE, bytes_response, is_head};
use crate::state::AppState;

const TEXT: &str = "text/plain; charset=utf-8";

fn text(method: &Method, body: Bytes, cache: &str) -> axum::response::Response {
    bytes_response(
        StatusCode::OK,
        body,
        vec![
            (CACHE_CONTROL, cache.to_owned()),
            (CONTENT_TYPE, TEXT.to_owned()),
        ],
        !is_head(method),
    )
}

fn no_log() -> ApiError {
    ApiError::new(ErrorCode::LogCheckpointNotFound, "Log checkpoint not found")
}

/// `GET /log/checkpoint`: the latest signed checkpoint.
pub(super) async fn checkpoint(State(state): State<AppState>, method: Method) -> ApiResult {
    let checkpoint = state
        .registry()
        .published_checkpoint(state.witnessed())
        .await?;
    Ok(text(&method, checkpoint.note, "no-cache"))
}

/// `GET /log/key`: the checkpoint verifier key (`<origin>+<id>+<key>`).
pub(super) async fn key(State(state): State<AppState>, method: Method) -> ApiResult {
    let log = state.log().ok_or_else(no_log)?;
    let body = format!("{}\n", log.signer.verifier_key());
    Ok(text(&method, Bytes::from(body), "no-cache"))
}

/// `GET /log/tile/<L>/<N>[.p/<W>]` and `/log/tile/entries/<N>[.p/<W>]`.
pub(super) async fn tile(
    State(state): State<AppState>,
    Path(path): Path<String>,
    method: Method,
    request: HeaderMap,
) -> ApiResult {
    let tile = Tile::parse(&format!("tile/{path}"))
        .map_err(|_| ApiError::new(ErrorCode::LogTileNotFound, "Log tile not found"))?;
    let served = state.registry().log_tile(tile).await?;
    let cache = if served.immutable {
        IMMUTABLE
    } else {
        "no-cache"
    };
    let mut headers = vec![
        (CACHE_CONTROL, cache.to_owned()),
        (CONTENT_TYPE, "application/octet-stream".to_owned()),
    ];
    let mut body = served.bytes;
    // Entry bundles are text-like and compress well; tlog-tiles clients
    // ask for gzip. Hash tiles are random bytes and are sent as they are.
    if tile.level.is_none() {
        headers.push((VARY, "Accept-Encoding".to_owned()));
        if accepts_gzip(&request) {
            body = gzip(&body)?;
            headers.push((CONTENT_ENCODING, "gzip".to_owned()));
        }
    }
    let response = bytes_response(StatusCode::OK, body.clone(), headers, !is_head(&method));
    // A full tile never changes; a partial one grows with the log, which
    // the change count does not follow, so only full tiles are kept.
    Ok(if served.immutable {
        regesta_http::prepare(response, body, regesta_http::Validity::Immutable)
    } else {
        response
    })
}

/// Whether `Accept-Encoding` allows gzip (`gzip` or `*`, with a non-zero
/// `q`).
fn accepts_gzip(request: &HeaderMap) -> bool {
    request
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or_default();
            let zero = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !zero
        })
}

fn gzip(bytes: &[u8]) -> Result<Bytes, ApiError> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 2),
        flate2::Compression::fast(),
    );
    encoder
        .write_all(bytes)
        .and_then(|()| encoder.finish())
        .map(Bytes::from)
        .map_err(|e| {
            tracing::error!(target: "regesta.error", error = %e, "gzip failed");
            ApiError::new(ErrorCode::InternalServerError, "Internal Server Error")
        })
}

/// `GET /log/proof/event/sha256/<hex>`: the event's tlog-proof bundle in
/// the latest checkpoint.
pub(super) async fn inclusion(
    State(state): State<AppState>,
    params: RawPathParams,
    method: Method,
) -> ApiResult {
    let id = digest_from_parts(&params, "Invalid event digest")?;
    let bundle = state.registry().log_inclusion(&id).await?;
    Ok(text(&method, Bytes::from(bundle.encode()), "no-cache"))
}

fn size(text: &str) -> Result<u64, ApiError> {
    let plain = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    plain
        .then(|| text.parse().ok())
        .flatten()
        .ok_or_else(|| ApiError::invalid("Invalid tree size", vec![text.to_owned()]))
}

/// `GET /log/proof/consistency/<old>/<new>`: one base64 hash per line.
pub(super) async fn consistency(
    State(state): State<AppState>,
    Path((old, new)): Path<(String, String)>,
    method: Method,
) -> ApiResult {
    let proof = state
        .registry()
        .log_consistency(size(&old)?, size(&new)?)
        .await?;
    let body: String = proof.iter().map(|h| h.to_base64() + "\n").collect();
    Ok(text(&method, Bytes::from(body), IMMUTABLE))
}
