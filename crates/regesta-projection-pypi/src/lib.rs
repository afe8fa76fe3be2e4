//! The Python ecosystem on Regesta's seam, built up in pieces. This crate
//! holds what every later piece (the wheel and sdist processor, the Simple
//! API pages, `regesta publish` for `pyproject.toml`) stands on, all pure:
//!
//! - [`names`]: project names, PEP 508-valid and compared PEP 503-normalized
//!   (the `<name>` of `pypi:<domain>/<name>` is the normalized form);
//! - [`versions`]: PEP 440 versions, stored in their normalized spelling;
//! - [`filename`]: wheel and sdist (PEP 625) file names, whose name and
//!   version must agree with the release;
//! - [`metadata`]: core metadata (`METADATA`, `PKG-INFO`), read within fixed
//!   bounds because it comes from an uploaded archive;
//! - [`wheel`]: wheels checked as installers will see them (one matching
//!   `.dist-info`, `WHEEL` 1.x, a true `RECORD`), refusing hostile
//!   archives (unsafe names, links, bombs) within fixed bounds;
//! - [`sdist`]: sdists under their one top directory with a matching
//!   `PKG-INFO`, links and unsafe paths refused, within fixed bounds;
//! - [`negotiate`] and [`simple`]: the Simple API's documents (PEP 503
//!   HTML, PEP 691 JSON, API 1.1) rendered from a plain model, and the
//!   `Accept` negotiation that picks one;
//! - [`processor`]: the ecosystem seam's processor: every artifact a
//!   distribution of the release, each one's core metadata a derived object
//!   and a line of the facts;
//! - [`documents`] and [`http`]: the Simple API served per owner domain
//!   (`/pypi/<domain>/simple/`), project pages rendered once per package
//!   head from those facts, downloads and PEP 658 metadata redirected to
//!   the core objects;
//! - [`project`]: `regesta publish` for a `pyproject.toml` project (built
//!   with `uv build`) and for wheels and sdists built elsewhere.

pub mod documents;
pub mod filename;
pub mod http;
pub mod index;
pub mod metadata;
pub mod names;
pub mod negotiate;
pub mod processor;
pub mod project;
pub mod sdist;
pub mod simple;
pub mod versions;
pub mod wheel;

pub use processor::{ECOSYSTEM, PypiProcessor};
pub use project::PypiProject;
