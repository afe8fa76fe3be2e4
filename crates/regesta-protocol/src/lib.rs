#![doc = include_str!("../README.md")]

pub mod authorization;
pub mod binding;
pub mod config;
pub mod digest;
pub mod envelope;
pub mod error;
pub mod event;
pub mod ids;
pub mod json;
pub mod keys;
pub mod manifest;
pub mod reference_json;
pub mod state;
pub mod timestamp;

mod fields;
mod text;

pub use authorization::{
    AuthSignature, AuthorizationProof, IntentAction, ProofKey, ProofKeyOrder, WriteAuthorization,
    WriteIntent, WriteOperation,
};
pub use binding::{BindingKey, DomainBinding};
pub use config::ReleaseConfig;
pub use digest::{Digest, DigestWriter};
pub use error::{ProtocolError, Result};
pub use event::{Event, EventBody, EventKeyOrder, SealedEvent};
pub use ids::{ChannelName, OwnerDomain, PackageId, Version};
pub use manifest::{ArtifactDescriptor, ObjectDescriptor, ReleaseManifest, Text};
pub use state::{ObjectInventory, PackageState, PackageStateRelease};
pub use timestamp::Timestamp;
