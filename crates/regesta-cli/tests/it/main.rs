//! Integration tests of the real `regesta` binary, in one test binary (one
//! link per run instead of one per file).
#![expect(
    clippy::unwrap_used,
    reason = "test helpers panic on failure by design"
)]

mod cargo_clients;
mod cargo_crates;
mod cli;
mod concurrency;
mod disk_full;
mod durability;
mod go_modules;
mod hot_scope;
mod log;
mod log_crash;
mod migrate;
mod mirror_log;
mod npm_clients;
mod npm_upstream;
mod package_managers;
/// Signed publishes and server starts, shared with the benchmarks.
#[path = "../../benches/support/mod.rs"]
mod publishing;
mod pypi;
mod pypi_clients;
mod pypi_routes;
mod rate_limits;
mod replicas;
mod slow_clients;
mod ssh;
mod support;
