//! c2sp.org/tlog-witness `add-checkpoint`, both sides, pure: the request
//! body, and the witness's decision — verify the log's signature, require
//! the old size to be the last size it cosigned, verify the consistency
//! proof, then cosign (`cosignature/v1`).

use std::fmt::Write as _;

use crate::checkpoint::Checkpoint;
use crate::error::{Result, TlogError};
use crate::hash::Hash;
use crate::note::{Note, NoteSigner, NoteVerifier};
use crate::tree::verify_consistency;

/// Most consistency proof lines a request may carry.
pub const MAX_PROOF_LINES: usize = 63;

/// An `add-checkpoint` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size of the last checkpoint the witness cosigned (0: none).
    pub old_size: u64,
    /// Consistency proof from `old_size` to the checkpoint.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note.
    pub checkpoint: String,
}

fn bad(reason: &str) -> TlogError {
    TlogError::malformed("add-checkpoint request", reason)
}

impl AddCheckpoint {
    /// The request body.
    pub fn encode(&self) -> String {
        let mut out = format!("old {}\n", self.old_size);
        for hash in &self.proof {
            let _ = writeln!(out, "{}", hash.to_base64());
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }

    /// Parses a request body.
    ///
    /// # Errors
    /// Anything not in the format.
    pub fn parse(body: &[u8]) -> Result<Self> {
        let text = std::str::from_utf8(body).map_err(|_| bad("not UTF-8"))?;
        let (head, checkpoint) = text
            .split_once("\n\n")
            .ok_or_else(|| bad("no blank line before the checkpoint"))?;
        let mut lines = head.split('\n');
        let size = lines
            .next()
            .and_then(|l| l.strip_prefix("old "))
            .ok_or_else(|| bad("first line must be `old <size>`"))?;
        let plain = !size.is_empty()
            && size.bytes().all(|b| b.is_ascii_digit())
            && (size == "0" || !size.starts_with('0'));
        let old_size = plain
            .then(|| size.parse().ok())
            .flatten()
            .ok_or_else(|| bad("old size must be decimal without leading zeros"))?;
        let proof = lines.map(Hash::from_base64).collect::<Result<Vec<_>>>()?;
        if proof.len() > MAX_PROOF_LINES {
            return Err(bad("too many proof lines"));
        }
        Ok(Self {
            old_size,
            proof,
            checkpoint: checkpoint.to_owned(),
        })
    }
}

/// Why a witness refused, with the HTTP status the protocol assigns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 400: malformed request, or old size beyond the checkpoint.
    BadRequest(String),
    /// 403: no signature by a trusted key of the origin.
    Forbidden,
    /// 404: unknown origin.
    UnknownLog,
    /// 409: the old size is not the last cosigned size (given).
    Conflict(u64),
    /// 422: the consistency proof does not verify.
    BadProof,
    /// 422: a checkpoint at the size the witness already cosigned, with a
    /// different root (a fork signed by the log key), or a size-0
    /// checkpoint whose root is not the empty tree's. C2SP tlog-witness
    /// answers these as unprocessable, not as a size conflict: retrying
    /// with another old size cannot help.
    Inconsistent,
}

impl Refusal {
    /// The protocol's status code.
    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest(_) => 400,
            Self::Forbidden => 403,
            Self::UnknownLog => 404,
            Self::Conflict(_) => 409,
            Self::BadProof | Self::Inconsistent => 422,
        }
    }
}

/// A cosigned checkpoint: what the witness must persist (atomically with
/// the check) and the signature lines it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosigned {
    /// The checkpoint now recorded for its origin.
    pub checkpoint: Checkpoint,
    /// The response body: one `cosignature/v1` line.
    pub lines: String,
}

/// A log a witness cosigns: the origin line of its checkpoints and the key
/// that signs them. For C2SP logs the origin is the key's name; Go's
/// checksum databases sign `go.sum database tree` notes with a key named
/// after the database.
#[derive(Debug, Clone)]
pub struct WitnessedLog {
    /// The checkpoints' first line.
    pub origin: String,
    /// The log's key.
    pub key: NoteVerifier,
}

impl From<NoteVerifier> for WitnessedLog {
    fn from(key: NoteVerifier) -> Self {
        Self {
            origin: key.name().to_owned(),
            key,
        }
    }
}

impl WitnessedLog {
    /// Parses `KEY` (the origin is its name) or `KEY ORIGIN` (the origin
    /// may hold spaces: `… go.sum database tree`).
    ///
    /// # Errors
    /// A malformed key or an empty origin.
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        match text.split_once(' ') {
            None => Ok(NoteVerifier::from_text(text)?.into()),
            Some((key, origin)) => {
                let origin = origin.trim();
                if origin.is_empty() {
                    return Err(bad("empty origin"));
                }
                Ok(Self {
                    origin: origin.to_owned(),
                    key: NoteVerifier::from_text(key)?,
                })
            }
        }
    }
}

/// Decides one `add-checkpoint` request. `logs` are the trusted logs;
/// `latest(origin)` is the last checkpoint the witness cosigned for it.
///
/// # Errors
/// The protocol's refusal.
pub fn add_checkpoint(
    body: &[u8],
    logs: &[WitnessedLog],
    latest: impl Fn(&str) -> Option<(u64, Hash)>,
    witness: &NoteSigner,
    now: u64,
) -> Result<Cosigned, Refusal> {
    let request = AddCheckpoint::parse(body).map_err(|e| Refusal::BadRequest(e.to_string()))?;
    let note = Note::parse(request.checkpoint.as_bytes())
        .map_err(|e| Refusal::BadRequest(e.to_string()))?;
    let checkpoint =
        Checkpoint::parse(&note.text).map_err(|e| Refusal::BadRequest(e.to_string()))?;
    let keys: Vec<NoteVerifier> = logs
        .iter()
        .filter(|l| l.origin == checkpoint.origin)
        .map(|l| l.key.clone())
        .collect();
    if keys.is_empty() {
        return Err(Refusal::UnknownLog);
    }
    note.verify(&keys).map_err(|_| Refusal::Forbidden)?;
    if request.old_size > checkpoint.size {
        return Err(Refusal::BadRequest("old size beyond the checkpoint".into()));
    }
    if checkpoint.size == 0 && checkpoint.root != Hash::empty() {
        return Err(Refusal::Inconsistent);
    }
    let (known_size, known_root) = latest(&checkpoint.origin).unwrap_or((0, Hash::empty()));
    if request.old_size != known_size {
        return Err(Refusal::Conflict(known_size));
    }
    if known_size == checkpoint.size && known_root != checkpoint.root {
        return Err(Refusal::Inconsistent);
    }
    if known_size == 0 {
        if !request.proof.is_empty() {
            return Err(Refusal::BadProof);
        }
    } else if verify_consistency(
        known_size,
        checkpoint.size,
        &known_root,
        &checkpoint.root,
        &request.proof,
    )
    .is_err()
    {
        return Err(Refusal::BadProof);
    }
    let lines = witness
        .sign_line(&note.text, now)
        .map_err(|e| Refusal::BadRequest(e.to_string()))?;
    Ok(Cosigned { checkpoint, lines })
}
