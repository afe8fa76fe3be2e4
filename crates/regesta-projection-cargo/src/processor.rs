//! Cargo on the ecosystem seam: the processor core runs when a `cargo:`
//! release is published. A release is one `.crate` named
//! `<name>-<version>.crate`; it must be this crate at this version, and
//! its index entry (everything but the publish time) becomes the release's
//! facts. Two releases whose versions differ only in build metadata are one
//! version to Cargo, so that is the version key.

use bytes::Bytes;
use regesta_core::{ArtifactBytes, ArtifactProcessor, ArtifactRefusal, Processed};
use regesta_protocol::{Digest, PackageId, ReleaseConfig, Version};
use serde_json::json;

use crate::ECOSYSTEM;
use crate::crate_file;
use crate::entry::index_entry;
use crate::names::CrateName;
use crate::versions::CrateVersion;

/// The Cargo processor.
#[derive(Debug, Clone, Copy, Default)]
pub struct CargoProcessor;

impl ArtifactProcessor for CargoProcessor {
    fn ecosystem(&self) -> &'static str {
        ECOSYSTEM
    }

    fn version_key(&self, version: &Version) -> Option<String> {
        CrateVersion::parse(version.as_str()).ok().map(|v| v.key())
    }

    fn name_key(&self, id: &PackageId) -> Option<String> {
        let name = CrateName::parse(id.local_name()).ok()?;
        Some(format!(
            "{ECOSYSTEM}:{}/{}",
            id.owner_domain(),
            name.collision_key()
        ))
    }

    fn process(
        &self,
        config: &ReleaseConfig,
        version: &Version,
        artifacts: &[ArtifactBytes<'_>],
    ) -> Result<Processed, ArtifactRefusal> {
        let name = CrateName::parse(config.id.local_name())
            .map_err(|e| ArtifactRefusal::caused_by(format!("cargo crate name: {e}"), e))?;
        let crate_version = CrateVersion::parse(version.as_str())
            .map_err(|e| ArtifactRefusal::caused_by(format!("cargo version: {e}"), e))?;
        let expected = format!("{name}-{crate_version}.crate");
        let artifact = ArtifactBytes::only_named(artifacts, ECOSYSTEM, ".crate file", &expected)?;
        let read = crate_file::read(artifact.bytes, &name, &crate_version)
            .map_err(|e| ArtifactRefusal::caused_by(e.to_string(), e))?;
        let cksum = Digest::of(artifact.bytes).hex();
        let entry = index_entry(&read.manifest, &cksum)
            .map_err(|e| ArtifactRefusal::caused_by(e.to_string(), e))?;
        let facts = regesta_protocol::json::to_canonical_vec(&json!({ "entry": entry }))
            .map_err(|e| ArtifactRefusal::caused_by("cargo facts are not JSON", e))?;
        Ok(Processed {
            config: None,
            metadata: None,
            facts: Some(Bytes::from(facts)),
            derived: Vec::new(),
        })
    }
}
