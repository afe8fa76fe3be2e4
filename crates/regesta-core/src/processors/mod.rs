//! Artifact processors: read install artifacts at publish time, bounded and
//! streaming, and write `ecosystemMetadata`. One per ecosystem.

pub mod npm;
