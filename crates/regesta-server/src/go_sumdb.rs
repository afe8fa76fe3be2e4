//! The Go checksum database's signing key: loaded, or created on first
//! start beside the data (every replica must share it, like the log key).

use regesta_tlog::NoteSigner;
use regesta_tlog::note::ALG_ED25519;

use crate::config::Config;

/// Loads the key at `config.go_sumdb_key_path()`, creating it (mode 0600,
/// written atomically) when missing; returns it and whether it is new. An
/// existing key keeps its name unless `REGESTA_GO_SUMDB_NAME` names
/// another, which stops start-up (clients pin the name with the key).
///
/// # Errors
/// An unreadable or malformed key, or one named otherwise than configured.
pub(crate) fn load_or_create(config: &Config) -> Result<(NoteSigner, bool), String> {
    let path = config.go_sumdb_key_path();
    let problem =
        |reason: &dyn std::fmt::Display| format!("go sumdb key {}: {reason}", path.display());
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let signer = NoteSigner::from_text(&text).map_err(|e| problem(&e))?;
            if let Some(name) = &config.go_sumdb_name
                && signer.name() != name
            {
                return Err(problem(&format!(
                    "is named {:?} but REGESTA_GO_SUMDB_NAME is {name:?}",
                    signer.name()
                )));
            }
            Ok((signer, false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = ed25519_dalek::SigningKey::generate(&mut rand_core::OsRng);
            let signer = NoteSigner::new(&config.go_sumdb_name(), ALG_ED25519, key)
                .map_err(|e| problem(&e))?;
            crate::files::write_atomic(&path, format!("{}\n", signer.to_text()).as_bytes(), true)
                .map_err(|e| problem(&e))?;
            Ok((signer, true))
        }
        Err(e) => Err(problem(&e)),
    }
}

/// The key when the Go projection is on, loaded or created, its verifier
/// key logged so operators can hand it to `GOSUMDB`.
///
/// # Errors
/// As [`load_or_create`].
pub(crate) fn at_start(config: &Config) -> Result<Option<NoteSigner>, String> {
    if !config.projections.go {
        return Ok(None);
    }
    let (signer, created) = load_or_create(config)?;
    if created {
        tracing::warn!(
            path = %config.go_sumdb_key_path().display(),
            "created the Go checksum database's key; back it up"
        );
    }
    tracing::info!(gosumdb = %signer.verifier_key(), "Go checksum database key");
    Ok(Some(signer))
}
