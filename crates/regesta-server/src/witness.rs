//! A minimal c2sp.org/tlog-witness: `POST /add-checkpoint` verifies the
//! log's signature and the consistency proof from the last checkpoint it
//! cosigned for that origin, persists the new one, and answers its
//! `cosignature/v1` line. The check and the write happen under one lock,
//! and the state file is replaced atomically before the answer, so the
//! witness never rolls an origin back. It runs as `regesta witness`, so
//! tests run real witnesses on loopback.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use regesta_tlog::note::ALG_COSIGNATURE_V1;
use regesta_tlog::witness::{Refusal, WitnessedLog, add_checkpoint};
use regesta_tlog::{Hash, NoteSigner, NoteVerifier};

/// Largest request accepted (a checkpoint with its signatures and proof).
pub const MAX_REQUEST_BYTES: usize = 128 * 1024;

/// How a witness runs.
#[derive(Debug, Clone)]
pub struct WitnessConfig {
    /// Its key name, e.g. `witness.example/w1`.
    pub name: String,
    /// Its cosigning key (Go `PRIVATE+KEY+…` text, type 0x04), created when
    /// missing.
    pub key_file: PathBuf,
    /// The logs it accepts: verifier keys (their names are the origins),
    /// each optionally followed by a space and another origin (Go's
    /// checksum databases: `<key> go.sum database tree`).
    pub logs: Vec<String>,
    /// Where it keeps the latest cosigned checkpoint per origin.
    pub state_file: PathBuf,
}

struct Witness {
    signer: NoteSigner,
    logs: Vec<WitnessedLog>,
    state_file: PathBuf,
    latest: Mutex<BTreeMap<String, (u64, String)>>,
}

/// Why a witness could not start.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    /// The witness key file could not be read or written.
    #[error("witness key {path}: {source}")]
    KeyFile {
        /// The file.
        path: String,
        /// The IO error.
        source: std::io::Error,
    },
    /// A key (the witness's, or a log's) is malformed.
    #[error("{what}: {source}")]
    Key {
        /// Which key.
        what: String,
        /// Why.
        source: regesta_tlog::TlogError,
    },
    /// The state file could not be read or is not the witness's.
    #[error("witness state {path}: {source}")]
    State {
        /// The file.
        path: String,
        /// Why.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Loads (or creates) the witness key and the log keys it accepts.
///
/// # Errors
/// Unreadable or malformed key or log keys.
pub fn load(config: &WitnessConfig) -> Result<(NoteSigner, Vec<WitnessedLog>), WitnessError> {
    let key_file = |source| WitnessError::KeyFile {
        path: config.key_file.display().to_string(),
        source,
    };
    let key = |what: &str| {
        let what = what.to_owned();
        move |source| WitnessError::Key { what, source }
    };
    let signer = match std::fs::read_to_string(&config.key_file) {
        Ok(text) => NoteSigner::from_text(&text).map_err(key("witness key"))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let secret = ed25519_dalek::SigningKey::generate(&mut rand_core::OsRng);
            let signer = NoteSigner::new(&config.name, ALG_COSIGNATURE_V1, secret)
                .map_err(key("witness name"))?;
            crate::files::write_atomic(&config.key_file, signer.to_text().as_bytes(), true)
                .map_err(key_file)?;
            signer
        }
        Err(e) => return Err(key_file(e)),
    };
    let logs = config
        .logs
        .iter()
        .map(|k| WitnessedLog::parse(k).map_err(key(&format!("log key {k}"))))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((signer, logs))
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

async fn add(State(witness): State<Arc<Witness>>, body: Bytes) -> Response {
    let Ok(mut latest) = witness.latest.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let known = |origin: &str| {
        latest
            .get(origin)
            .and_then(|(size, root)| Some((*size, Hash::from_base64(root).ok()?)))
    };
    match add_checkpoint(&body, &witness.logs, known, &witness.signer, now()) {
        Ok(cosigned) => {
            let c = &cosigned.checkpoint;
            let mut next = latest.clone();
            next.insert(c.origin.clone(), (c.size, c.root.to_base64()));
            let text = serde_json::to_string(&next).unwrap_or_default();
            if crate::files::write_atomic(&witness.state_file, text.as_bytes(), true).is_err() {
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
            *latest = next;
            (StatusCode::OK, cosigned.lines).into_response()
        }
        Err(Refusal::Conflict(size)) => (
            StatusCode::CONFLICT,
            [(CONTENT_TYPE, "text/x.tlog.size")],
            format!("{size}\n"),
        )
            .into_response(),
        Err(refusal) => {
            let status = StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::BAD_REQUEST);
            (status, format!("{refusal:?}\n")).into_response()
        }
    }
}

/// The witness's router.
///
/// # Errors
/// Unreadable state.
pub fn router(config: &WitnessConfig) -> Result<(Router, NoteSigner), WitnessError> {
    let (signer, logs) = load(config)?;
    let state = |source: Box<dyn std::error::Error + Send + Sync>| WitnessError::State {
        path: config.state_file.display().to_string(),
        source,
    };
    let latest = match std::fs::read_to_string(&config.state_file) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| state(e.into()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
        Err(e) => return Err(state(e.into())),
    };
    let witness = Arc::new(Witness {
        signer: signer.clone(),
        logs,
        state_file: config.state_file.clone(),
        latest: Mutex::new(latest),
    });
    let router = Router::new()
        .route("/add-checkpoint", post(add))
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(witness);
    Ok((router, signer))
}

/// Serves a witness on `listener` until `shutdown`.
///
/// # Errors
/// The listener failed.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

/// A witness as the registry is configured to use it.
#[derive(Debug, Clone)]
pub struct WitnessPeer {
    /// Submission prefix (`POST <url>/add-checkpoint`).
    pub url: String,
    /// Its verifier key.
    pub key: NoteVerifier,
}

/// Why an entry of `REGESTA_LOG_WITNESSES` was refused.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    /// The entry is not `<url> <key>`.
    #[error("expected `<url> <key>`, got {0:?}")]
    Shape(String),
    /// The URL is not http(s).
    #[error("witness URL must be http(s): {0}")]
    Scheme(String),
    /// The verifier key does not parse.
    #[error("witness key: {0}")]
    Key(#[source] regesta_tlog::TlogError),
    /// The key verifies something other than cosignatures.
    #[error("{0} is not a cosignature/v1 key")]
    NotCosigner(String),
}

/// Parses `REGESTA_LOG_WITNESSES`: comma-separated `<url> <verifier key>`.
///
/// # Errors
/// A malformed entry.
pub fn parse_peers(text: &str) -> Result<Vec<WitnessPeer>, PeerError> {
    text.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|entry| {
            let (url, key) = entry
                .split_once(' ')
                .ok_or_else(|| PeerError::Shape(entry.to_owned()))?;
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(PeerError::Scheme(url.to_owned()));
            }
            let key = NoteVerifier::from_text(key.trim()).map_err(PeerError::Key)?;
            if !key.is_cosigner() {
                return Err(PeerError::NotCosigner(key.name().to_owned()));
            }
            Ok(WitnessPeer {
                url: url.trim_end_matches('/').to_owned(),
                key,
            })
        })
        .collect()
}
