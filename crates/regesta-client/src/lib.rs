//! HTTP client of the Regesta v0 core API.
//!
//! This layer is being built; see the workspace README for what works today.
