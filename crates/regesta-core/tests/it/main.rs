//! Core use cases against the reference's captured requests and reads.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers panic on failure by design"
)]

mod channels;
mod log;
mod publish;
mod reads;
mod ssh;
mod support;
