//! Trust decisions for Regesta writes: where domain bindings come from and
//! whether a write authorization is valid against one.
//!
//! Trust knows neither the transport nor any ecosystem. [`HttpsBindings`]
//! fetches bindings from the owner domains (SSRF-safe, bounded);
//! [`StaticBindings`] serves dev mode's `*.localhost` files.

pub mod https;
mod source;
mod verify;

pub use https::{AddressPolicy, FetchSettings, HttpsBindings};
pub use source::{BindingSource, LocalFirst, StaticBindings};
pub use verify::{DEFAULT_TIMESTAMP_TOLERANCE_MS, TrustError, verify_authorization};
