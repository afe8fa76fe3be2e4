//! The HTTP surface against the reference's captured wire bytes, and every
//! route against bad input.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers panic on failure by design"
)]

mod bad_input;
mod log;
mod npm;
mod npm_render;
mod npm_upstream;
mod openapi;
mod reference_checks;
mod signed;
mod support;
mod wire;
