//! `regesta log verify`: checks a registry's transparency log like a
//! witness would — the checkpoint's signature by the log key, a quorum of
//! witness cosignatures, and consistency with the largest checkpoint this
//! client verified before (kept per origin under the user's state dir).
//! Two signed checkpoints that cannot both be true (same size, different
//! roots, or a failed consistency proof) are printed as a portable proof of
//! misbehaviour, and the command exits 1.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use regesta_client::http::RegistryClient;
use regesta_tlog::{Checkpoint, Hash, Note, NoteVerifier, verify_consistency};
use serde_json::json;

use crate::printer::Printer;

/// What `log verify` was told to trust.
#[derive(Debug)]
pub(crate) struct Trust {
    /// The log's verifier key text; `None` trusts what `/log/key` says on
    /// first use and pins it in the state dir.
    pub(crate) log_key: Option<String>,
    /// Witness verifier keys (`cosignature/v1`).
    pub(crate) witnesses: Vec<String>,
    /// Witness cosignatures required.
    pub(crate) quorum: usize,
    /// Where verified checkpoints are kept (`$REGESTA_STATE_DIR`,
    /// `$XDG_STATE_HOME/regesta` or `~/.local/state/regesta`).
    pub(crate) state_dir: PathBuf,
}

/// A file name for an origin (`/` and other odd bytes escaped).
fn origin_dir(state: &Path, origin: &str) -> PathBuf {
    let safe: String = origin
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    state.join("logs").join(safe)
}

async fn text(client: &RegistryClient, path: &str) -> anyhow::Result<String> {
    let reply = client.get(path).await?;
    if reply.status != 200 {
        bail!("GET {path}: {}", reply.error_message());
    }
    Ok(String::from_utf8_lossy(&reply.body).into_owned())
}

/// A verified checkpoint and its signed note.
struct Verified {
    checkpoint: Checkpoint,
    note: String,
}

fn open(note: &str, log: &NoteVerifier, trust: &Trust) -> anyhow::Result<Verified> {
    let parsed = Note::parse(note.as_bytes()).context("checkpoint is not a signed note")?;
    let signers = parsed
        .verify(std::slice::from_ref(log))
        .context("checkpoint is not signed by the log key")?;
    debug_assert!(!signers.is_empty());
    let checkpoint = Checkpoint::parse(&parsed.text)?;
    if checkpoint.origin != log.name() {
        bail!(
            "checkpoint origin {:?} is not the log key's name {:?}",
            checkpoint.origin,
            log.name()
        );
    }
    if trust.quorum > 0 {
        let witnesses = trust
            .witnesses
            .iter()
            .map(|w| NoteVerifier::from_text(w))
            .collect::<Result<Vec<_>, _>>()?;
        let cosigned = parsed.verify(&witnesses).map_or(0, |v| v.len());
        if cosigned < trust.quorum {
            bail!(
                "{cosigned} of the {} required witness cosignatures",
                trust.quorum
            );
        }
    }
    Ok(Verified {
        checkpoint,
        note: note.to_owned(),
    })
}

fn misbehaviour(printer: &Printer, old: &Verified, new: &Verified, why: &str) -> u8 {
    let human = format!(
        "the log misbehaved: {why}\n\nThese two checkpoints, both signed by the log key, cannot both be true:\n\n{}\n{}",
        old.note, new.note
    );
    printer.result(
        &human,
        &json!({"ok": false, "misbehaviour": why, "checkpoints": [old.note, new.note]}),
    );
    1
}

/// `regesta log verify`.
pub(crate) async fn verify(registry: &str, trust: &Trust, printer: &Printer) -> anyhow::Result<u8> {
    let client = RegistryClient::new(registry)?;
    let state = &trust.state_dir;
    let note = text(&client, "/log/checkpoint").await?;
    let origin = Note::parse(note.as_bytes())
        .ok()
        .and_then(|n| Checkpoint::parse(&n.text).ok())
        .map(|c| c.origin)
        .context("the registry's checkpoint is malformed")?;
    let dir = origin_dir(state, &origin);
    let pinned = std::fs::read_to_string(dir.join("key")).ok();
    let key_text = match (&trust.log_key, &pinned) {
        (Some(given), _) => given.clone(),
        (None, Some(pinned)) => pinned.trim().to_owned(),
        (None, None) => text(&client, "/log/key").await?.trim().to_owned(),
    };
    let log = NoteVerifier::from_text(&key_text).context("invalid log key")?;
    if let Some(pinned) = pinned.as_deref().map(str::trim)
        && pinned != key_text
    {
        bail!(
            "the log key differs from the one pinned in {}",
            dir.display()
        );
    }
    let new = open(&note, &log, trust)?;
    let previous = std::fs::read_to_string(dir.join("checkpoint")).ok();
    if let Some(previous) = previous {
        let old =
            open(&previous, &log, trust).context("the stored checkpoint no longer verifies")?;
        let (o, n) = (&old.checkpoint, &new.checkpoint);
        if o.size == n.size && o.root != n.root {
            return Ok(misbehaviour(
                printer,
                &old,
                &new,
                "two roots for one tree size",
            ));
        }
        if n.size < o.size {
            printer.result(
                &format!(
                    "{} the registry serves an older checkpoint ({} < {}); kept the newer one",
                    printer.ok("ok"),
                    n.size,
                    o.size
                ),
                &json!({"ok": true, "size": o.size, "served": n.size}),
            );
            return Ok(0);
        }
        if n.size > o.size {
            let proof_text = text(
                &client,
                &format!("/log/proof/consistency/{}/{}", o.size, n.size),
            )
            .await?;
            let proof = proof_text
                .lines()
                .map(Hash::from_base64)
                .collect::<Result<Vec<_>, _>>()
                .context("malformed consistency proof")?;
            if verify_consistency(o.size, n.size, &o.root, &n.root, &proof).is_err() {
                return Ok(misbehaviour(
                    printer,
                    &old,
                    &new,
                    "the new tree does not extend the old one",
                ));
            }
        }
    }
    std::fs::create_dir_all(&dir)?;
    write_atomic(&dir.join("key"), &format!("{key_text}\n"))?;
    write_atomic(&dir.join("checkpoint"), &new.note)?;
    let c = &new.checkpoint;
    printer.result(
        &format!(
            "{} {} at size {} (root {})",
            printer.ok("ok"),
            c.origin,
            c.size,
            c.root.to_base64()
        ),
        &json!({"ok": true, "origin": c.origin, "size": c.size, "root": c.root.to_base64()}),
    );
    Ok(0)
}

/// Writes the verifier's state atomically and durably.
fn write_atomic(path: &Path, text: &str) -> anyhow::Result<()> {
    regesta_server::files::write_atomic(path, text.as_bytes(), false)
        .with_context(|| format!("writing {}", path.display()))
}
