//! What projections render from: a package's releases with their
//! manifests. Loading one reads every manifest object, so callers render
//! once per package head and cache the bytes; point lookups (one version,
//! one tarball) use [`Registry::release_view`] and read a single manifest.

use regesta_protocol::{ChannelName, Digest, PackageId, ReleaseManifest, Timestamp, Version};
use regesta_store::{PackageRecord, ReleaseRecord};

use crate::error::CoreError;
use crate::registry::Registry;

/// One release with its manifest, for projections.
#[derive(Debug, Clone)]
pub struct ReleaseView {
    /// Publish time.
    pub created_at: Timestamp,
    /// The `release.published` event.
    pub event_id: Digest,
    /// The manifest.
    pub manifest: ReleaseManifest,
    /// Facts the ecosystem processor derived from the install artifact (for
    /// npm: `fileCount`, `integrity`, `shasum`, `unpackedSize`); `None` for
    /// releases stored before they were recorded.
    pub facts: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Everything a projection renders a package from.
#[derive(Debug, Clone)]
pub struct PackageView {
    /// The last event about the package (the view's validator).
    pub head_event: Digest,
    /// Its time.
    pub head_time: Timestamp,
    /// Releases in `createdAt`, version order, with manifests.
    pub releases: Vec<ReleaseView>,
    /// Channel name → version.
    pub channels: Vec<(ChannelName, Version)>,
}

impl Registry {
    /// The package with every release's manifest, for projections to render
    /// (once per head: callers cache by `head_event`).
    ///
    /// # Errors
    /// 404 `package_not_found`, a missing or corrupt manifest object (500).
    pub async fn package_view(&self, id: &PackageId) -> Result<PackageView, CoreError> {
        let record = self.package_record(id).await?;
        let mut releases = Vec::with_capacity(record.releases.len());
        for release in &record.releases {
            releases.push(self.with_manifest(release).await?);
        }
        Ok(PackageView {
            head_event: record.head_event,
            head_time: record.head_time,
            releases,
            channels: record
                .channels
                .into_iter()
                .map(|c| (c.channel, c.version))
                .collect(),
        })
    }

    /// The package's rows (releases, channels, head) without manifests, for
    /// projections that render release by release and cache each release's
    /// part ([`Registry::release_view_of`] loads one).
    ///
    /// # Errors
    /// 404 `package_not_found` (also for a package with no releases).
    pub async fn package_record(&self, id: &PackageId) -> Result<PackageRecord, CoreError> {
        self.db
            .package(id)
            .await?
            .filter(|r| !r.releases.is_empty())
            .ok_or_else(CoreError::package_not_found)
    }

    /// One release row with its manifest (one object read).
    ///
    /// # Errors
    /// A missing or corrupt manifest object (500).
    pub async fn release_view_of(&self, release: &ReleaseRecord) -> Result<ReleaseView, CoreError> {
        self.with_manifest(release).await
    }

    /// One release with its manifest: one row and one object read.
    ///
    /// # Errors
    /// 404 `release_not_found`, a missing or corrupt manifest object (500).
    pub async fn release_view(
        &self,
        id: &PackageId,
        version: &Version,
    ) -> Result<ReleaseView, CoreError> {
        let record = self.db.release(id, version).await?.ok_or_else(|| {
            CoreError::not_found(
                crate::error::ErrorCode::ReleaseNotFound,
                "Release not found",
            )
        })?;
        self.with_manifest(&record).await
    }

    async fn with_manifest(&self, release: &ReleaseRecord) -> Result<ReleaseView, CoreError> {
        let digest = &release.manifest_digest;
        let bytes = self
            .blobs
            .get(digest)
            .await?
            .ok_or_else(|| CoreError::internal(format!("manifest {digest} has no bytes")))?;
        Ok(ReleaseView {
            created_at: release.created_at,
            event_id: release.event_id,
            manifest: serde_json::from_slice(&bytes).map_err(CoreError::internal)?,
            facts: release
                .facts
                .as_deref()
                .and_then(|f| serde_json::from_slice(f).ok()),
        })
    }
}
