//! The client side of the v0 core API: building and signing write requests
//! exactly as the reference CLI does, so any v0 registry accepts them.
//! The HTTP transport and the `regesta` commands build on this.

pub mod http;
pub mod publish;
pub mod sign;
