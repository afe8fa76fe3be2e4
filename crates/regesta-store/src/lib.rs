//! Regesta storage traits and adapters (SQLite + filesystem, memory; PostgreSQL + S3 to come) with one conformance suite.
//!
//! This layer is being built; see the workspace README for what works today.
