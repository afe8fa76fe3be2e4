//! Trust decisions for Regesta writes: where domain bindings come from and
//! whether a write authorization is valid against one.
//!
//! Trust knows neither the transport nor any ecosystem. The HTTPS binding
//! fetcher (SSRF-safe, bounded) plugs in through [`BindingSource`]; dev mode
//! plugs in [`StaticBindings`] for `*.localhost` domains.

mod source;
mod verify;

pub use source::{BindingSource, StaticBindings};
pub use verify::{DEFAULT_TIMESTAMP_TOLERANCE_MS, TrustError, verify_authorization};
