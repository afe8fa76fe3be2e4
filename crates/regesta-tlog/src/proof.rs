//! c2sp.org/tlog-proof: an offline-verifiable bundle of a checkpoint, an
//! entry's index and its inclusion proof.

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::error::{Result, TlogError};
use crate::hash::Hash;
use crate::tree::MAX_PROOF_HASHES;

const HEADER: &str = "c2sp.org/tlog-proof@v1";

/// A tlog-proof bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofBundle {
    /// Opaque, unauthenticated extra data.
    pub extra: Option<Vec<u8>>,
    /// The entry's index.
    pub index: u64,
    /// Its inclusion proof in the checkpoint's tree.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note, verbatim.
    pub checkpoint: String,
}

fn bad(reason: &str) -> TlogError {
    TlogError::malformed("tlog-proof", reason)
}

impl ProofBundle {
    /// The text form.
    pub fn encode(&self) -> String {
        let mut out = format!("{HEADER}\n");
        if let Some(extra) = &self.extra {
            let _ = writeln!(out, "extra {}", STANDARD.encode(extra));
        }
        let _ = writeln!(out, "index {}", self.index);
        for hash in &self.proof {
            out.push_str(&hash.to_base64());
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }

    /// Parses the text form (the checkpoint is kept verbatim, to be opened
    /// with the log's key).
    ///
    /// # Errors
    /// Anything not in the format.
    pub fn parse(text: &str) -> Result<Self> {
        let rest = text
            .strip_prefix(HEADER)
            .and_then(|r| r.strip_prefix('\n'))
            .ok_or_else(|| bad("missing header"))?;
        let (head, checkpoint) = rest
            .split_once("\n\n")
            .ok_or_else(|| bad("missing blank line before the checkpoint"))?;
        let mut lines = head.split('\n').peekable();
        let mut extra = None;
        if let Some(line) = lines.peek().and_then(|l| l.strip_prefix("extra ")) {
            extra = Some(
                STANDARD
                    .decode(line)
                    .map_err(|_| bad("extra is not base64"))?,
            );
            lines.next();
        }
        let index_text = lines
            .next()
            .and_then(|l| l.strip_prefix("index "))
            .ok_or_else(|| bad("missing index line"))?;
        if index_text.is_empty()
            || !index_text.bytes().all(|b| b.is_ascii_digit())
            || (index_text.len() > 1 && index_text.starts_with('0'))
        {
            return Err(bad("index must be decimal without leading zeros"));
        }
        let index = index_text.parse().map_err(|_| bad("index too large"))?;
        let proof = lines.map(Hash::from_base64).collect::<Result<Vec<_>>>()?;
        if proof.len() > MAX_PROOF_HASHES {
            return Err(bad("proof too long"));
        }
        Ok(Self {
            extra,
            index,
            proof,
            checkpoint: checkpoint.to_owned(),
        })
    }
}
