//! Regesta's HTTP transport (axum): routes, error mapping, configuration, wiring.
//!
//! This layer is being built; see the workspace README for what works today.
