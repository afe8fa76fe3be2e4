//! `GET /packages/{id}/releases/{version}/verification`: re-check a release
//! against the bytes the registry actually holds.

use bytes::Bytes;
use regesta_protocol::json::parse_strict;
use regesta_protocol::{Digest, EventBody, PackageId, ReleaseManifest, SealedEvent, Version};
use serde_json::{Map, Value, json};

use crate::error::CoreError;
use crate::reads::Verification;
use crate::registry::Registry;

impl Registry {
    /// Recomputes the manifest digest, checks the release event against the
    /// manifest, and re-hashes the source and every artifact.
    ///
    /// # Errors
    /// Storage failure. Integrity problems, a missing release among them,
    /// are not errors: they are reported in the body with `ok: false`.
    pub async fn verify_release(
        &self,
        id: &PackageId,
        version: &Version,
    ) -> Result<Verification, CoreError> {
        let Some(record) = self.db.release(id, version).await? else {
            // As the reference: a missing release is a failed verification
            // (422), not a 404.
            return verification(Map::new(), &[format!("Release not found: {id}@{version}")]);
        };
        let mut problems = Vec::new();
        let mut body = Map::new();
        let manifest_bytes = self
            .checked_object(&record.manifest_digest, &mut problems, "manifest")
            .await?;
        let manifest = manifest_bytes.as_ref().and_then(|bytes| {
            let value = parse_strict(bytes, bytes.len()).ok();
            let typed = value
                .as_ref()
                .and_then(|v| serde_json::from_value::<ReleaseManifest>(v.clone()).ok());
            if typed.is_none() {
                problems.push("manifest object is not a valid release manifest".to_owned());
            }
            if let Some(v) = value {
                body.insert("manifest".into(), v);
            }
            typed
        });
        if let Some(manifest) = &manifest {
            if &manifest.id != id || &manifest.version != version {
                problems.push("manifest id or version does not match the release".to_owned());
            }
            self.check_event(
                &record.event_id,
                &record.manifest_digest,
                manifest,
                &mut problems,
            )
            .await?;
            let source = manifest.source.clone();
            self.check_object_size(&source.digest, source.size, "source", &mut problems)
                .await?;
            for (i, artifact) in manifest.artifacts.iter().enumerate() {
                self.check_object_size(
                    &artifact.digest,
                    artifact.size,
                    &format!("artifacts[{i}]"),
                    &mut problems,
                )
                .await?;
            }
        }
        verification(body, &problems)
    }

    /// The bytes of `digest`, re-hashed; a problem is recorded when they are
    /// missing or do not match.
    async fn checked_object(
        &self,
        digest: &Digest,
        problems: &mut Vec<String>,
        label: &str,
    ) -> Result<Option<Bytes>, CoreError> {
        match self.blobs.get(digest).await? {
            None => {
                problems.push(format!("{label} object {digest} is missing"));
                Ok(None)
            }
            Some(bytes) if Digest::of(&bytes) != *digest => {
                problems.push(format!("{label} object bytes do not hash to {digest}"));
                Ok(None)
            }
            Some(bytes) => Ok(Some(bytes)),
        }
    }

    async fn check_object_size(
        &self,
        digest: &Digest,
        size: u64,
        label: &str,
        problems: &mut Vec<String>,
    ) -> Result<(), CoreError> {
        if let Some(bytes) = self.checked_object(digest, problems, label).await?
            && bytes.len() as u64 != size
        {
            problems.push(format!(
                "{label} object size {} does not match {size}",
                bytes.len()
            ));
        }
        Ok(())
    }

    async fn check_event(
        &self,
        event_id: &Digest,
        manifest_digest: &Digest,
        manifest: &ReleaseManifest,
        problems: &mut Vec<String>,
    ) -> Result<(), CoreError> {
        let Some(stored) = self.db.event(event_id).await? else {
            problems.push(format!("release event {event_id} is missing"));
            return Ok(());
        };
        let parsed = parse_strict(&stored.bytes, stored.bytes.len())
            .ok()
            .and_then(|v| SealedEvent::from_json(&v).ok());
        let Some(event) = parsed.filter(|e| e.id == *event_id) else {
            problems.push(format!("release event {event_id} does not match its id"));
            return Ok(());
        };
        if let EventBody::ReleasePublished {
            manifest_digest: event_manifest,
            source_digest,
            artifact_digests,
            ..
        } = &event.event.body
        {
            if event_manifest != manifest_digest {
                problems.push("release event names another manifest".to_owned());
            }
            if *source_digest != manifest.source.digest {
                problems.push("release event names another source archive".to_owned());
            }
            if !artifact_digests
                .iter()
                .eq(manifest.artifacts.iter().map(|a| &a.digest))
            {
                problems.push("release event names other artifacts".to_owned());
            }
        } else {
            problems.push("release event is not a release.published event".to_owned());
        }
        Ok(())
    }
}

/// The verification body `{manifest?, ok, problems}` (keys sorted).
fn verification(
    mut body: Map<String, Value>,
    problems: &[String],
) -> Result<Verification, CoreError> {
    let ok = problems.is_empty();
    body.insert("ok".into(), json!(ok));
    body.insert("problems".into(), json!(problems));
    Ok(Verification {
        ok,
        body: Bytes::from(serde_json::to_vec(&Value::Object(body)).map_err(CoreError::internal)?),
    })
}
