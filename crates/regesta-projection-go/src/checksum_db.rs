//! The checksum database served live: the [`SumTree`] kept in memory and
//! brought up to date from Regesta's event log, and its routes. A read
//! touches the store only when the tree may be behind (at most every
//! [`FRESH`], or when a lookup misses), so hot lookups, tiles and the
//! latest note are answered from memory.

use std::sync::RwLock;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::Response;
use bytes::Bytes;
use regesta_core::{CoreError, Registry};
use regesta_http::response::{IMMUTABLE, bytes_response};
use regesta_protocol::{Digest, EventBody, SealedEvent};
use regesta_tlog::NoteSigner;
use serde_json::Value;

use crate::ECOSYSTEM;
use crate::paths::{ModulePath, unescape};
use crate::sumdb::{SumTree, format_record, parse_tile, record};
use crate::versions::ModuleVersion;

/// How long the tree is taken as current without asking the store.
pub const FRESH: Duration = Duration::from_millis(250);
/// Events read per store round trip while catching up.
const PAGE: usize = 999;

/// The checksum database of one registry.
#[derive(Debug)]
pub struct ChecksumDb {
    signer: NoteSigner,
    state: RwLock<State>,
    /// Serializes catching up (readers keep reading the last tree).
    syncing: tokio::sync::Mutex<()>,
}

#[derive(Debug, Default)]
struct State {
    tree: SumTree,
    /// The last event folded in.
    cursor: Option<Digest>,
    synced: Option<Instant>,
    /// The signed note of the current size.
    signed: Option<(u64, Bytes)>,
}

fn text(status: StatusCode, body: String, cache: &str) -> Response {
    let headers = vec![
        (CONTENT_TYPE, "text/plain; charset=UTF-8".to_owned()),
        (CACHE_CONTROL, cache.to_owned()),
    ];
    bytes_response(status, Bytes::from(body), headers, true)
}

fn not_found(what: &str) -> Response {
    text(
        StatusCode::NOT_FOUND,
        format!("not found: {what}\n"),
        "no-cache",
    )
}

impl ChecksumDb {
    /// The database signing with `signer` (its name is the database's).
    pub fn new(signer: NoteSigner) -> Self {
        Self {
            signer,
            state: RwLock::new(State::default()),
            syncing: tokio::sync::Mutex::new(()),
        }
    }

    /// Its name, as `GOSUMDB` and the proxy paths spell it.
    pub fn name(&self) -> &str {
        self.signer.name()
    }

    /// The verifier key `GOSUMDB` takes (`<name>+<hash>+<key>`).
    pub fn verifier_key(&self) -> String {
        self.signer.verifier_key()
    }

    /// The records the tree holds (the Go releases folded in so far).
    pub fn size(&self) -> u64 {
        self.read(|s| s.tree.size())
    }

    fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        match self.state.read() {
            Ok(state) => f(&state),
            Err(poisoned) => f(&poisoned.into_inner()),
        }
    }

    /// Folds the Go releases committed since the last sync into the tree,
    /// unless it synced within [`FRESH`] and `force` is off.
    ///
    /// # Errors
    /// The store failed.
    pub async fn sync(&self, registry: &Registry, force: bool) -> Result<(), CoreError> {
        let fresh = |s: &State| s.synced.is_some_and(|at| at.elapsed() < FRESH);
        if !force && self.read(fresh) {
            return Ok(());
        }
        let _one = self.syncing.lock().await;
        if !force && self.read(fresh) {
            return Ok(());
        }
        let mut cursor = self.read(|s| s.cursor);
        let mut added = Vec::new();
        loop {
            let events = registry.db.events_after(cursor.as_ref(), PAGE).await?;
            for event in &events {
                cursor = Some(event.id);
                if event.package.ecosystem() != ECOSYSTEM {
                    continue;
                }
                if let Some(entry) = release_record(registry, &event.bytes).await? {
                    added.push(entry);
                }
            }
            if events.len() < PAGE {
                break;
            }
        }
        let mut state = match self.state.write() {
            Ok(state) => state,
            Err(poisoned) => poisoned.into_inner(),
        };
        for (path, version, text) in added {
            state.tree.push(&path, &version, text);
        }
        state.cursor = cursor;
        state.synced = Some(Instant::now());
        Ok(())
    }

    /// The signed note of the current tree, signed once per size.
    fn signed(&self) -> Result<Bytes, CoreError> {
        let (size, cached) = self.read(|s| (s.tree.size(), s.signed.clone()));
        if let Some((signed_size, note)) = cached
            && signed_size == size
        {
            return Ok(note);
        }
        let mut state = match self.state.write() {
            Ok(state) => state,
            Err(poisoned) => poisoned.into_inner(),
        };
        let note = Bytes::from(
            state
                .tree
                .signed(&self.signer)
                .map_err(CoreError::internal)?,
        );
        state.signed = Some((state.tree.size(), note.clone()));
        Ok(note)
    }

    /// Answers `rest`, the path below `/sumdb/<name>/`.
    ///
    /// # Errors
    /// The store failed.
    pub async fn serve(&self, registry: &Registry, rest: &str) -> Result<Response, CoreError> {
        if rest == "supported" {
            return Ok(text(StatusCode::OK, String::new(), "no-cache"));
        }
        self.sync(registry, false).await?;
        if rest == "latest" {
            let note = self.signed()?;
            return Ok(text(
                StatusCode::OK,
                String::from_utf8_lossy(&note).into_owned(),
                "no-cache",
            ));
        }
        if let Some(target) = rest.strip_prefix("lookup/") {
            return self.lookup(registry, target).await;
        }
        let Some(tile) = parse_tile(rest) else {
            return Ok(not_found(rest));
        };
        let Some(bytes) = self.read(|s| s.tree.tile(tile)) else {
            return Ok(not_found(rest));
        };
        let cache = if tile.width == 256 {
            IMMUTABLE
        } else {
            "no-cache"
        };
        let content_type = if tile.level.is_some() {
            "application/octet-stream"
        } else {
            "text/plain; charset=UTF-8"
        };
        let headers = vec![
            (CONTENT_TYPE, content_type.to_owned()),
            (CACHE_CONTROL, cache.to_owned()),
        ];
        Ok(bytes_response(
            StatusCode::OK,
            Bytes::from(bytes),
            headers,
            true,
        ))
    }

    async fn lookup(&self, registry: &Registry, target: &str) -> Result<Response, CoreError> {
        let Some((path, version)) = target
            .split_once('@')
            .and_then(|(p, v)| Some((unescape(p)?, unescape(v)?)))
        else {
            return Ok(text(
                StatusCode::BAD_REQUEST,
                "invalid module@version syntax\n".into(),
                "no-cache",
            ));
        };
        let find = |s: &State| {
            s.tree
                .lookup(&path, &version)
                .map(|(id, text)| format_record(id, text))
        };
        let mut found = self.read(find);
        if found.is_none() {
            // Perhaps published since the last sync.
            self.sync(registry, true).await?;
            found = self.read(find);
        }
        let Some(formatted) = found else {
            return Ok(not_found(&format!("{path}@{version}")));
        };
        let note = self.signed()?;
        Ok(text(
            StatusCode::OK,
            format!("{formatted}{}", String::from_utf8_lossy(&note)),
            "no-cache",
        ))
    }
}

/// The record of a `release.published` event of a Go module, from the
/// facts its processor stored; `None` for other events.
async fn release_record(
    registry: &Registry,
    event: &[u8],
) -> Result<Option<(String, String, String)>, CoreError> {
    let Ok(value) = serde_json::from_slice::<Value>(event) else {
        return Ok(None);
    };
    let Ok(sealed) = SealedEvent::from_json(&value) else {
        return Ok(None);
    };
    let EventBody::ReleasePublished {
        package, version, ..
    } = &sealed.event.body
    else {
        return Ok(None);
    };
    let Ok(module) = ModulePath::from_id(package) else {
        return Ok(None);
    };
    if ModuleVersion::parse(version.as_str(), &module).is_err() {
        return Ok(None);
    }
    let Some(release) = registry.db.release(package, version).await? else {
        return Ok(None);
    };
    let facts: Option<Value> = release
        .facts
        .as_deref()
        .and_then(|f| serde_json::from_slice(f).ok());
    let hash = |key: &str| {
        facts
            .as_ref()
            .and_then(|f| f.get(key))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let (Some(zip), Some(go_mod)) = (hash("zipHash"), hash("modHash")) else {
        return Ok(None);
    };
    let text = record(module.as_str(), version.as_str(), &zip, &go_mod);
    Ok(Some((
        module.as_str().to_owned(),
        version.as_str().to_owned(),
        text,
    )))
}
