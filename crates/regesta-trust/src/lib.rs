//! Trust decisions for Regesta writes: domain-binding fetch (SSRF-safe, bounded) and write-authorization verification.
//!
//! This layer is being built; see the workspace README for what works today.
