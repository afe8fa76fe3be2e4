//! Running the transparency log: the checkpoint key (loaded, or created on
//! first start and kept beside the data), and the sequencer task. Every
//! replica runs the task; a store lease lets exactly one sequence at a time,
//! and a holder that dies is replaced once its lease expires.

use std::path::Path;
use std::time::Duration;

use regesta_core::Registry;
use regesta_core::log::{LogConfig, SEQUENCER_LEASE};
use regesta_store::LogIdentity;
use regesta_tlog::NoteSigner;
use regesta_tlog::note::ALG_ED25519;

use crate::config::Config;

/// How often the sequencer looks for new events when it has no backlog:
/// with the step's own time, the bound on the submit-to-checkpoint latency.
pub const POLL: Duration = Duration::from_millis(100);
/// Largest batch one step sequences.
pub const BATCH: usize = 1024;

/// Why the log could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LogSetupError {
    /// The key file is unreadable or malformed.
    #[error("log key {path}: {reason}")]
    Key {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The database's log is another log than this replica's key signs.
    #[error(
        "the transparency log in this database is {recorded}, but this replica's \
         log key and origin are {ours}: give every replica the same \
         REGESTA_LOG_KEY_FILE (and REGESTA_LOG_ORIGIN)"
    )]
    Disagreement {
        /// Origin and verifier key on record.
        recorded: String,
        /// Origin and verifier key of this replica.
        ours: String,
    },
    /// The database could not be read or written.
    #[error("log identity: {0}")]
    Store(#[from] regesta_store::StoreError),
}

/// Makes sure this replica signs as the log the database holds: the first
/// replica to start records the log's origin and verifier key (after
/// checking that its key signed the checkpoints already stored, for logs
/// created before the record existed); every later one must match it.
///
/// # Errors
/// The record (or the stored checkpoints) name another log, or storage
/// failed.
pub async fn claim_identity(registry: &Registry, log: &LogConfig) -> Result<(), LogSetupError> {
    let ours = LogIdentity {
        origin: log.origin.clone(),
        verifier_key: log.signer.verifier_key(),
    };
    // Checked before claiming, so a log created before the record existed
    // is never recorded under a key that did not sign it.
    if let Some(latest) = registry.db.log_checkpoint().await? {
        let signed_by_us = regesta_tlog::Note::parse(&latest.note)
            .ok()
            .and_then(|note| note.verify(&[log.signer.verifier()]).ok())
            .is_some();
        if !signed_by_us {
            let origin = String::from_utf8_lossy(&latest.note)
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned();
            return Err(LogSetupError::Disagreement {
                recorded: format!("{origin} (its checkpoints are signed by another key)"),
                ours: format!("{} {}", ours.origin, ours.verifier_key),
            });
        }
    }
    let recorded = registry.db.claim_log_identity(&ours).await?;
    if recorded != ours {
        return Err(LogSetupError::disagreement(&recorded, &ours));
    }
    Ok(())
}

impl LogSetupError {
    fn disagreement(recorded: &LogIdentity, ours: &LogIdentity) -> Self {
        Self::Disagreement {
            recorded: format!("{} {}", recorded.origin, recorded.verifier_key),
            ours: format!("{} {}", ours.origin, ours.verifier_key),
        }
    }
}

fn key_error(path: &Path, reason: &impl ToString) -> LogSetupError {
    LogSetupError::Key {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// Loads the checkpoint key, creating it (mode 0600, written atomically)
/// when the file does not exist. The log's origin is the key's name: an
/// existing key keeps its log identity across port or URL changes, unless
/// `REGESTA_LOG_ORIGIN` names another origin, which stops start-up. A new
/// key is named `config.log_origin()`. Returns the log and whether the key
/// is new.
///
/// # Errors
/// An unreadable or malformed key, or one named for another configured
/// origin.
pub fn load_or_create(config: &Config) -> Result<(LogConfig, bool), LogSetupError> {
    let path = config.log_key_path();
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let signer = NoteSigner::from_text(&text).map_err(|e| key_error(&path, &e))?;
            if let Some(origin) = &config.log_origin
                && signer.name() != origin
            {
                return Err(key_error(
                    &path,
                    &format!(
                        "is named {:?} but REGESTA_LOG_ORIGIN is {origin:?}",
                        signer.name()
                    ),
                ));
            }
            let origin = signer.name().to_owned();
            Ok((LogConfig { origin, signer }, false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let origin = config.log_origin();
            let key = ed25519_dalek::SigningKey::generate(&mut rand_core::OsRng);
            let signer =
                NoteSigner::new(&origin, ALG_ED25519, key).map_err(|e| key_error(&path, &e))?;
            crate::files::write_atomic(&path, format!("{}\n", signer.to_text()).as_bytes(), true)
                .map_err(|e| key_error(&path, &e))?;
            Ok((LogConfig { origin, signer }, true))
        }
        Err(e) => Err(key_error(&path, &e)),
    }
}

/// Signs the size-0 checkpoint of a log that has none yet, before the
/// server answers its first request, so `/log/checkpoint` is never a 404.
/// Another replica doing the same at once loses harmlessly (the log moved).
pub async fn ensure_checkpoint(registry: &Registry, log: &LogConfig) {
    if matches!(registry.db.log_checkpoint().await, Ok(None))
        && let Err(error) = registry.sequence(log, 0).await
    {
        tracing::debug!(%error, "another replica signed the first checkpoint");
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// This replica's hold on the sequencer lease. Renewed once half of it
/// has passed, not before every step: each renewal is a write with its
/// own WAL sync, and an idle registry would otherwise sync ten times a
/// second for the lease alone.
struct Lease {
    holder: String,
    ttl_ms: i64,
    renew_after: Duration,
    renewed: Option<std::time::Instant>,
}

impl Lease {
    fn new(lease_ms: u64) -> Self {
        Self {
            holder: uuid::Uuid::new_v4().to_string(),
            ttl_ms: i64::try_from(lease_ms).unwrap_or(i64::MAX),
            renew_after: Duration::from_millis(lease_ms / 2),
            renewed: None,
        }
    }

    /// Whether this replica holds the lease, renewing it when due.
    async fn held(&mut self, registry: &Registry) -> bool {
        if self
            .renewed
            .is_some_and(|at| at.elapsed() < self.renew_after)
        {
            return true;
        }
        let started = std::time::Instant::now();
        let lease = registry
            .db
            .acquire_lease(SEQUENCER_LEASE, &self.holder, now_ms(), self.ttl_ms)
            .await;
        self.renewed = match lease {
            Ok(true) => Some(started),
            Ok(false) => None,
            Err(error) => {
                tracing::error!(%error, "log lease unavailable");
                None
            }
        };
        self.renewed.is_some()
    }
}

/// Runs the sequencer until the task is dropped: while this process holds
/// the lease (`lease_ms` long, see [`Lease`]), sequence every committed
/// event in batches, one step per [`POLL`] unless a backlog fills whole
/// batches; otherwise poll.
pub async fn run_sequencer(
    registry: Registry,
    log: LogConfig,
    lease_ms: u64,
    witnessing: Option<Witnessing>,
) {
    let mut lease = Lease::new(lease_ms);
    loop {
        // Checked before every step, so a long backlog never outlives the
        // lease; losing it stops this holder (a racing step would only fail
        // the store's size check anyway).
        while lease.held(&registry).await {
            match registry.sequence(&log, BATCH).await {
                Ok(step) => {
                    if let Some(step) = &step {
                        tracing::debug!(from = step.old_size, to = step.size, "log sequenced");
                    }
                    // A full batch is a backlog: the next step at once.
                    // Otherwise wait for the poll: under a steady stream of
                    // writes a step would follow every few events, each its
                    // own commit (and WAL sync) competing with the writes.
                    if step.is_some_and(|s| s.size - s.old_size >= BATCH as u64) {
                        continue;
                    }
                    if let Some(w) = &witnessing {
                        w.cosign_latest(&registry).await;
                    }
                    break;
                }
                Err(error) => {
                    tracing::error!(%error, "log sequencing failed");
                    break;
                }
            }
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Submitting checkpoints to witnesses (c2sp.org/tlog-witness) and
/// publishing a checkpoint once `quorum` of them cosigned it.
#[derive(Debug, Clone)]
pub struct Witnessing {
    peers: Vec<crate::witness::WitnessPeer>,
    quorum: usize,
    client: reqwest::Client,
    /// The size each witness last cosigned, as far as we know.
    known: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, u64>>>,
    /// When the latest size was last attempted (retries at most every second).
    attempted: std::sync::Arc<std::sync::Mutex<Option<(u64, std::time::Instant)>>>,
}

/// Why one submission failed (logged).
#[derive(Debug, thiserror::Error)]
enum SubmitError {
    #[error("{0}")]
    Http(#[from] reqwest::Error),
    #[error("witness answered {0}: {1}")]
    Refused(u16, String),
    /// 422: the witness holds a different tree at a size it cosigned (or
    /// the checkpoint is not a valid tree): the log and the witness
    /// disagree about history, which no retry can fix.
    #[error("witness refused the checkpoint as inconsistent with what it cosigned: {0}")]
    Inconsistent(String),
    #[error("{0}")]
    Core(#[from] regesta_core::CoreError),
}

impl Witnessing {
    /// Witnesses `peers`, `quorum` of which must cosign.
    pub fn new(peers: Vec<crate::witness::WitnessPeer>, quorum: usize) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self {
            peers,
            quorum,
            client,
            known: std::sync::Arc::default(),
            attempted: std::sync::Arc::default(),
        }
    }

    /// Asks every witness to cosign the latest checkpoint, unless it is
    /// already published cosigned (or was attempted in the last second).
    pub async fn cosign_latest(&self, registry: &Registry) {
        let Ok(Some(latest)) = registry.db.log_checkpoint().await else {
            return;
        };
        let published = registry.db.log_cosigned().await.ok().flatten();
        if published.is_some_and(|p| p.size == latest.size) {
            return;
        }
        if let Ok(mut attempted) = self.attempted.lock() {
            if attempted.is_some_and(|(size, at)| {
                size == latest.size && at.elapsed() < Duration::from_secs(1)
            }) {
                return;
            }
            *attempted = Some((latest.size, std::time::Instant::now()));
        }
        let note = String::from_utf8_lossy(&latest.note).into_owned();
        let mut lines = String::new();
        let mut cosigned = 0;
        for peer in &self.peers {
            match self.submit(peer, registry, &note, latest.size).await {
                Ok(answer) => {
                    let candidate = format!("{note}{answer}");
                    let valid = regesta_tlog::Note::parse(candidate.as_bytes())
                        .ok()
                        .and_then(|n| n.verify(std::slice::from_ref(&peer.key)).ok())
                        .is_some();
                    if valid {
                        cosigned += 1;
                        lines.push_str(&answer);
                    } else {
                        tracing::warn!(witness = %peer.url, "witness answered no valid cosignature");
                    }
                }
                Err(error @ SubmitError::Inconsistent(_)) => {
                    tracing::error!(witness = %peer.url, %error, "witness saw a different log history");
                }
                Err(error) => tracing::warn!(witness = %peer.url, %error, "witness did not cosign"),
            }
        }
        if cosigned >= self.quorum {
            let full = bytes::Bytes::from(format!("{note}{lines}"));
            if let Err(error) = registry.db.log_cosign(latest.size, &full).await {
                tracing::error!(%error, "could not store the cosigned checkpoint");
            }
        }
    }

    async fn submit(
        &self,
        peer: &crate::witness::WitnessPeer,
        registry: &Registry,
        note: &str,
        size: u64,
    ) -> Result<String, SubmitError> {
        let mut old = self
            .known
            .lock()
            .ok()
            .and_then(|k| k.get(&peer.url).copied())
            .unwrap_or(0);
        for _ in 0..2 {
            let proof = if old == 0 || old > size {
                Vec::new()
            } else {
                registry.log_consistency(old, size).await?
            };
            let body = regesta_tlog::witness::AddCheckpoint {
                old_size: old,
                proof,
                checkpoint: note.to_owned(),
            }
            .encode();
            let reply = self
                .client
                .post(format!("{}/add-checkpoint", peer.url))
                .body(body)
                .send()
                .await?;
            let status = reply.status().as_u16();
            let text = reply.text().await?;
            match status {
                200 => {
                    if let Ok(mut known) = self.known.lock() {
                        known.insert(peer.url.clone(), size);
                    }
                    return Ok(text);
                }
                409 => {
                    old = text
                        .trim()
                        .parse()
                        .map_err(|_| SubmitError::Refused(409, text.clone()))?;
                    if let Ok(mut known) = self.known.lock() {
                        known.insert(peer.url.clone(), old);
                    }
                }
                422 => return Err(SubmitError::Inconsistent(text)),
                _ => return Err(SubmitError::Refused(status, text)),
            }
        }
        Err(SubmitError::Refused(
            409,
            "the witness's size kept moving".into(),
        ))
    }
}
