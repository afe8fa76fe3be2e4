//! Running the transparency log: the checkpoint key (loaded, or created on
//! first start and kept beside the data), and the sequencer task. Every
//! replica runs the task; a store lease lets exactly one sequence at a time,
//! and a holder that dies is replaced once its lease expires.

use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use regesta_core::Registry;
use regesta_core::log::{LogConfig, SEQUENCER_LEASE};
use regesta_tlog::NoteSigner;
use regesta_tlog::note::ALG_ED25519;

use crate::config::Config;

/// How often an idle sequencer looks for new events (the bound on the
/// submit-to-checkpoint latency when the log is quiet).
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
            write_private(&path, &signer.to_text()).map_err(|e| key_error(&path, &e))?;
            Ok((LogConfig { origin, signer }, true))
        }
        Err(e) => Err(key_error(&path, &e)),
    }
}

/// Writes a secret: a temp file with mode 0600 in the same directory,
/// fsynced, then renamed into place.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    writeln!(file, "{text}")?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Runs the sequencer until the task is dropped: while this process holds
/// the lease (`lease_ms` long, renewed before every step and every poll),
/// sequence every committed event in batches; otherwise poll.
pub async fn run_sequencer(registry: Registry, log: LogConfig, lease_ms: u64) {
    let holder = uuid::Uuid::new_v4().to_string();
    let ttl = i64::try_from(lease_ms).unwrap_or(i64::MAX);
    loop {
        // Renewed before every step, so a long backlog never outlives the
        // lease; losing it stops this holder (a racing step would only fail
        // the store's size check anyway).
        loop {
            let lease = registry
                .db
                .acquire_lease(SEQUENCER_LEASE, &holder, now_ms(), ttl)
                .await;
            match lease {
                Ok(true) => {}
                Ok(false) => break,
                Err(error) => {
                    tracing::error!(%error, "log lease unavailable");
                    break;
                }
            }
            match registry.sequence(&log, BATCH).await {
                Ok(Some(step)) => {
                    tracing::debug!(from = step.old_size, to = step.size, "log sequenced");
                }
                Ok(None) => break,
                Err(error) => {
                    tracing::error!(%error, "log sequencing failed");
                    break;
                }
            }
        }
        tokio::time::sleep(POLL).await;
    }
}
