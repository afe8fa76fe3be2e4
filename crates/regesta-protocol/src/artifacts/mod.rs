//! Artifact processors: read an ecosystem's install artifact (bounded,
//! streaming, no IO of their own) and derive what the registry records about
//! it. Pure functions of the bytes, so publishers' servers and independent
//! verifiers (`regesta verify`) compute the same result.

pub mod npm;
