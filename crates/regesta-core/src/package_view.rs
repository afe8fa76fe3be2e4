//! What projections render from: a package's releases with their
//! manifests. Loading one reads every manifest object, so callers render
//! once per package head and cache the bytes; point lookups (one version,
//! one tarball) use [`Registry::release_view`] and read a single manifest.

use bytes::Bytes;
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
            releases.push(self.release_view_of(release).await?);
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

    /// One release row with its manifest (one object read), for a render
    /// that keeps what it makes of it: the manifest is not kept in the
    /// object cache, so rendering a package of 10,000 releases does not
    /// fill that cache with manifests read once.
    ///
    /// # Errors
    /// A missing or corrupt manifest object (500).
    pub async fn release_view_of(&self, release: &ReleaseRecord) -> Result<ReleaseView, CoreError> {
        let bytes = self.blobs.peek(&release.manifest_digest).await?;
        Self::with_manifest(release, bytes)
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
        let bytes = self.blobs.get(&record.manifest_digest).await?;
        Self::with_manifest(&record, bytes)
    }

    /// `release` with its manifest, parsed from `bytes`.
    fn with_manifest(
        release: &ReleaseRecord,
        bytes: Option<Bytes>,
    ) -> Result<ReleaseView, CoreError> {
        let digest = &release.manifest_digest;
        let bytes =
            bytes.ok_or_else(|| CoreError::internal(format!("manifest {digest} has no bytes")))?;
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
