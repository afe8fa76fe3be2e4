//! Regesta's storage layer: the registry database and blob store ports, their
//! adapters (SQLite + filesystem for the embedded default, memory for unit
//! tests; PostgreSQL and S3 behind the `postgres` and `s3` features) and one
//! conformance suite every adapter must pass (the `conformance` feature).
//!
//! Storage knows no package-manager protocol and no trust rules: it stores
//! what core hands it, atomically, and reports conflicts as typed errors.

pub mod cached;
mod changes;
#[cfg(feature = "conformance")]
pub mod conformance;
mod decode;
pub mod error;
pub mod files;
pub mod fs;
mod fs_sync;
pub mod log;
pub mod memory;
pub mod model;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "s3")]
pub mod s3;
mod sql;
pub mod sqlite;
pub mod traits;
#[cfg(target_os = "linux")]
mod unnamed;

pub use changes::{Changes, PackageStamp};
pub use error::{Result, StoreError};
pub use log::{LogCheckpoint, LogCommit, LogIdentity, LogStore};
pub use model::{
    ChannelCommit, ChannelRecord, Durability, LogHead, PackageRecord, PublishCommit,
    ReleaseDocuments, ReleaseRecord, Stats, StoredEvent,
};
pub use traits::{BlobStore, ByteStream, RegistryDb, ensure_digest};
