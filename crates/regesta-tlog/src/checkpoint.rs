//! c2sp.org/tlog-checkpoint: the signed statement of a log's size and root.

use crate::error::{Result, TlogError};
use crate::hash::Hash;

/// A checkpoint body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin line (e.g. `registry.example/log/v1`).
    pub origin: String,
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Hash,
    /// Extension lines, verbatim.
    pub extensions: Vec<String>,
}

fn bad(reason: &str) -> TlogError {
    TlogError::malformed("checkpoint", reason)
}

impl Checkpoint {
    /// The note text: origin, size, base64 root, extension lines, each
    /// ending in a newline.
    pub fn body(&self) -> String {
        let mut text = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            self.root.to_base64()
        );
        for line in &self.extensions {
            text.push_str(line);
            text.push('\n');
        }
        text
    }

    /// Parses a note text as [`Checkpoint::body`] writes it.
    ///
    /// # Errors
    /// Missing lines, an empty origin, a size with leading zeros or a hash
    /// that is not 32 bytes of base64.
    pub fn parse(text: &str) -> Result<Self> {
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| bad("must end with a newline"))?;
        let mut lines = body.split('\n');
        let origin = lines
            .next()
            .filter(|o| !o.is_empty())
            .ok_or_else(|| bad("no origin"))?;
        let size_text = lines.next().ok_or_else(|| bad("no size"))?;
        let plain = !size_text.is_empty()
            && size_text.bytes().all(|b| b.is_ascii_digit())
            && (size_text == "0" || !size_text.starts_with('0'));
        let size = plain
            .then(|| size_text.parse::<u64>().ok())
            .flatten()
            .ok_or_else(|| bad("size must be decimal without leading zeros"))?;
        let root = Hash::from_base64(lines.next().ok_or_else(|| bad("no root hash"))?)?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(bad("empty extension line"));
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }
}
