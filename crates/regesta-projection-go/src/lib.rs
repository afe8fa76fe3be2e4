//! The Go ecosystem on Regesta's seam. Go modules are named by domain
//! already, so the module `acme.dev/hello/v2` is the Regesta package
//! `go:acme.dev/hello/v2`, owned by `acme.dev`. The pieces, pure but for
//! the HTTP routes:
//!
//! - [`paths`]: module paths, file paths and the proxy protocol's
//!   `!`-escaping under the go command's rules;
//! - [`versions`]: canonical module versions, the major suffix rule,
//!   `+incompatible`, and pseudo-versions refused;
//! - [`module_zip`]: module zips read from hostile bytes within Go's bounds,
//!   and their `h1:` hashes as `go.sum` records them;
//! - [`gomod`]: the `module` directive of a `go.mod`;
//! - [`processor`]: the ecosystem seam's processor: one module zip per
//!   release, its hashes the release's facts, its `.mod` a derived object;
//! - [`documents`] and [`http`]: the GOPROXY protocol, lists rendered once
//!   per module head, `.mod` and `.zip` redirected to the core objects;
//! - [`project`]: `regesta publish` for a directory with a `go.mod`, the
//!   module zip built by Go's rules without a VCS;
//! - [`sumdb`]: Go's checksum database as a tree derived from Regesta's
//!   log, in the formats of Go's sumdb server; [`checksum_db`] keeps it
//!   current in memory and serves it.

pub mod checksum_db;
pub mod documents;
pub mod gomod;
pub mod http;
pub mod module_zip;
pub mod paths;
pub mod processor;
pub mod project;
pub mod sumdb;
pub mod versions;

/// The ecosystem key: the first part of `go:` package ids.
pub const ECOSYSTEM: &str = "go";

pub use processor::GoProcessor;
pub use project::GoProject;
