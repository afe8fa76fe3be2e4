//! The transparency log over the event sequence: leaf `i` is the canonical
//! payload of the event with sequence number `i + 1` (the bytes its id
//! hashes). Events are committed first and are the source of truth; the
//! sequencer ([`Registry::sequence`]) then extends the Merkle tree, writes
//! hash tiles and a signed checkpoint in one store transaction. Reads
//! serve checkpoints, tiles, entry bundles and proofs.

mod reads;
mod sequencer;
mod tiles;

use regesta_tlog::NoteSigner;

pub use reads::LogTile;
pub use sequencer::Sequenced;

/// Name of the store lease one sequencer holds at a time.
pub const SEQUENCER_LEASE: &str = "tlog-sequencer";

/// The log's identity: its origin line (also the checkpoint key's name)
/// and signing key.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// Checkpoint origin, e.g. `registry.example/log/v1`.
    pub origin: String,
    /// Checkpoint signer (type Ed25519, named like the origin).
    pub signer: NoteSigner,
}
