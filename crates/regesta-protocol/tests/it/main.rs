//! Integration tests of the protocol crate against the reference's vectors.

mod canonical;
mod properties;
mod publish;
mod ssh;
