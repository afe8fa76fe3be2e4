//! The Rust ecosystem on Regesta's seam. A crate is the Regesta package
//! `cargo:<domain>/<name>`, and each owner domain is served as its own
//! Cargo sparse registry, which the unmodified cargo resolves, checksums
//! and builds from. The pieces, pure but for the HTTP routes and the
//! `cargo package` run:
//!
//! - [`names`]: crate names under crates.io's rules, their ids (lowercase
//!   only), the key under which two names collide in one domain (`-` and
//!   `_` alike, any case), and their sparse index paths;
//! - [`versions`]: SemVer versions, and the key under which two releases
//!   are one version;
//! - [`crate_file`]: `.crate` files read from hostile bytes within fixed
//!   bounds (one top directory, plain files only, a `Cargo.toml` naming the
//!   release);
//! - [`entry`]: a version's sparse index line, derived from that
//!   `Cargo.toml` as crates.io derives it;
//! - [`processor`]: the ecosystem seam's processor: one `.crate` per
//!   release, its index entry the release's facts, SemVer's build metadata
//!   aside in the version key and `-`/`_` alike in the name key;
//! - [`documents`] and [`http`]: the sparse registry served per owner
//!   domain (`/cargo/<domain>/index/`), index files rendered once per
//!   package head from those facts, downloads redirected to the core
//!   objects;
//! - [`project`]: `regesta publish` for a `Cargo.toml` crate (packaged with
//!   `cargo package`) and for `.crate` files built elsewhere.

pub mod crate_file;
pub mod documents;
pub mod entry;
pub mod http;
pub mod names;
pub mod processor;
pub mod project;
pub mod versions;

/// The ecosystem name: the first part of `cargo:<domain>/<name>`.
pub const ECOSYSTEM: &str = "cargo";

pub use processor::CargoProcessor;
pub use project::CargoProject;
