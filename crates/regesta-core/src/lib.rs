//! Regesta use cases: publish, channel writes, verification, read model.
//!
//! This layer is being built; see the workspace README for what works today.
