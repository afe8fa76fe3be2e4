//! The HTTP vocabulary shared by Regesta's transport (`regesta-server`) and
//! every ecosystem projection: the v0 error envelope built from one code
//! table ([`ApiError`]), response helpers with exact `Content-Length` and
//! validators ([`response`]), the opt-in mark of responses the server may
//! serve again from memory ([`prepared`]), strict path parameters ([`param`]) and the
//! [`Projection`] a crate hands the server to be mounted.
//!
//! It sits beside the transport, not above it: projections depend on it and
//! on core, never on the server, so each ecosystem stays one crate.

pub mod error;
mod params;
pub mod prepared;
mod projection;
pub mod response;

pub use error::ApiError;
pub use params::param;
pub use prepared::{Prepared, Validity, keepable, prepare};
pub use projection::{Projection, WarmUp};
