//! Regesta's Merkle transparency log: RFC 6962 hashing, proofs, tiles, signed checkpoints (C2SP formats). Pure.
//!
//! This layer is being built; see the workspace README for what works today.
