//! Regesta's use cases over the storage and trust ports: publish (and, as
//! they land, channel writes, verification and the read model).
//!
//! Core never depends on a projection or on the transport: it takes typed,
//! still-untrusted parts and returns typed outcomes or a [`CoreError`].

pub mod error;
pub mod processors;
pub mod publish;
pub mod registry;

pub use error::CoreError;
pub use publish::{FilePart, PublishRequest, Published};
pub use registry::{Clock, Registry};
