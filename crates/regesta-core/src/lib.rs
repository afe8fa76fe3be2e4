//! Regesta's use cases over the storage and trust ports: publish, channel
//! writes, reads and release verification.
//!
//! Core never depends on a projection or on the transport: it takes typed,
//! still-untrusted input and returns typed outcomes (often the exact bytes
//! to serve) or a [`CoreError`].

pub mod archive;
pub mod channels;
pub mod documents;
pub mod ecosystem;
pub mod error;
mod error_code;
pub mod log;
pub mod package_view;
pub mod project;
pub mod publish;
pub mod reads;
pub mod registry;
mod render;
pub mod replay;
mod verify;
pub mod views;

pub use channels::ChannelWritten;
pub use documents::{Document, PackageDocuments, RenderFuture, Rendered};
pub use ecosystem::{
    ArtifactBytes, ArtifactProcessor, ArtifactRefusal, DerivedObject, Ecosystems, Processed,
};
pub use error::{CoreError, ErrorCode};
pub use package_view::{PackageView, ReleaseView};
pub use project::{
    ArtifactKind, MAX_MANIFEST_BYTES, ManifestFile, NameMapping, NameRefusal, NativeManifest,
    PackedArtifact, ProjectError, ProjectKind,
};
pub use publish::{FilePart, PublishRequest, Published};
pub use reads::{ChannelView, PackageStateView, Page, PageQuery, Verification};
/// The store's package record, which projections render documents from.
pub use regesta_store::PackageRecord;
pub use regesta_store::PackageStamp;
pub use registry::{Clock, Registry, Unlimited, WriteLimiter};
