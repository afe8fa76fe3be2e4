//! Regesta's Merkle transparency log, pure (no IO): RFC 6962 hashing,
//! tree hashes, inclusion and consistency proofs and their verification,
//! c2sp.org/tlog-tiles tile math and paths, c2sp.org/signed-note notes
//! (Ed25519) and `cosignature/v1` witness signatures,
//! c2sp.org/tlog-checkpoint bodies and c2sp.org/tlog-proof bundles.
//!
//! Leaf `i` of Regesta's log is the canonical payload of event `i` (the
//! bytes whose SHA-256 is the event id); its leaf hash is
//! `SHA-256(0x00 ‖ payload)`.

pub mod checkpoint;
pub mod error;
pub mod hash;
pub mod note;
pub mod proof;
pub mod tile;
pub mod tree;
pub mod witness;

pub use checkpoint::Checkpoint;
pub use error::{Result, TlogError};
pub use hash::{Hash, leaf_hash, node_hash};
pub use note::{Note, NoteSigner, NoteVerifier};
pub use proof::ProofBundle;
pub use tile::Tile;
pub use tree::{
    HashReader, appended_hashes, consistency_proof, inclusion_proof, range_hash, tree_hash,
    verify_consistency, verify_inclusion,
};
