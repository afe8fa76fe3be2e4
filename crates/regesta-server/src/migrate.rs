//! `regesta migrate`: copies a registry from the embedded store (SQLite +
//! files) to PostgreSQL + S3, event by event in log order. Each event is
//! committed through the target's own write path — objects first, then the
//! release or channel move with the same event bytes and replay marker — so
//! the target holds exactly the source's history (same ids, same sequence,
//! so the same transparency log). Resumable: events the target already has
//! are checked to be the source's prefix and skipped. Verified at the end.
//!
//! What an ecosystem processor derived at publish time (PyPI's core
//! metadata objects, the version key that keeps `1.0` and `1.0.0` from
//! both being published) is not in the signed history, so it is derived
//! again here from the release's artifacts, as any verifier could.

use std::path::Path;

use bytes::Bytes;
use regesta_core::Ecosystems;
use regesta_protocol::json::parse_strict;
use regesta_protocol::{EventBody, ObjectDescriptor, ReleaseManifest, SealedEvent};
use regesta_store::{BlobStore, ChannelCommit, PublishCommit, RegistryDb, StoredEvent};

/// Why a migration stopped.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// A store failed.
    #[error("{0}")]
    Store(#[from] regesta_store::StoreError),
    /// The source or target holds something unexpected.
    #[error("{0}")]
    Inconsistent(String),
}

fn inconsistent(text: impl Into<String>) -> MigrateError {
    MigrateError::Inconsistent(text.into())
}

/// What a run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migrated {
    /// Events copied in this run.
    pub events: u64,
    /// Objects copied in this run (already present ones not counted).
    pub objects: u64,
    /// Events the target now holds.
    pub total: u64,
}

/// The two ends of a migration.
#[expect(
    missing_debug_implementations,
    reason = "trait objects without Debug; nothing to show"
)]
pub struct Ends<'a> {
    /// Source metadata.
    pub from_db: &'a dyn RegistryDb,
    /// Source objects.
    pub from_blobs: &'a dyn BlobStore,
    /// Target metadata.
    pub to_db: &'a dyn RegistryDb,
    /// Target objects.
    pub to_blobs: &'a dyn BlobStore,
    /// The processors that derive what releases carry beside their
    /// signed manifest.
    pub ecosystems: &'a Ecosystems,
}

/// What the package's ecosystem processor derives from a release's
/// artifacts: the derived objects (with their bytes) and the version key.
/// Nothing without a processor.
async fn derive(
    ends: &Ends<'_>,
    manifest: &ReleaseManifest,
) -> Result<(Vec<(ObjectDescriptor, Bytes)>, Option<String>), MigrateError> {
    let Some(processor) = ends.ecosystems.processor(manifest.id.ecosystem()) else {
        return Ok((Vec::new(), None));
    };
    let version_key = processor.version_key(&manifest.version);
    let mut artifacts = Vec::with_capacity(manifest.artifacts.len());
    for artifact in &manifest.artifacts {
        let bytes = ends
            .from_blobs
            .get(&artifact.digest)
            .await?
            .ok_or_else(|| inconsistent(format!("source object {} is missing", artifact.digest)))?;
        artifacts.push((artifact.clone(), bytes));
    }
    let owned = manifest.clone();
    let processed = tokio::task::spawn_blocking(move || {
        regesta_core::ecosystem::reprocess(processor.as_ref(), &owned, &artifacts)
    })
    .await
    .map_err(|e| inconsistent(format!("processing stopped: {e}")))?
    .map_err(|e| {
        inconsistent(format!(
            "{}@{}: its artifacts no longer process: {}",
            manifest.id,
            manifest.version,
            e.message()
        ))
    })?;
    let derived = processed
        .derived
        .into_iter()
        .map(|d| {
            let descriptor = ObjectDescriptor {
                digest: regesta_protocol::Digest::of(&d.bytes),
                media_type: d.media_type,
                size: d.bytes.len() as u64,
            };
            (descriptor, d.bytes)
        })
        .collect();
    Ok((derived, version_key))
}

async fn copy_object(ends: &Ends<'_>, d: &ObjectDescriptor) -> Result<u64, MigrateError> {
    if ends.to_blobs.get(&d.digest).await?.is_some() {
        return Ok(0);
    }
    let bytes = ends
        .from_blobs
        .get(&d.digest)
        .await?
        .ok_or_else(|| inconsistent(format!("source object {} is missing", d.digest)))?;
    ends.to_blobs.put(&d.digest, bytes).await?;
    Ok(1)
}

fn sealed(event: &StoredEvent) -> Result<SealedEvent, MigrateError> {
    let value = parse_strict(&event.bytes, event.bytes.len())
        .map_err(|e| inconsistent(format!("event {}: {e}", event.id)))?;
    SealedEvent::from_json(&value).map_err(|e| inconsistent(format!("event {}: {e}", event.id)))
}

/// Copies a release's objects (manifest, source, artifacts, and what its
/// processor derives from them) to the target; returns their descriptors,
/// the release's version key and how many objects were new there.
async fn copy_release_objects(
    ends: &Ends<'_>,
    manifest_digest: &regesta_protocol::Digest,
) -> Result<(Vec<ObjectDescriptor>, Option<String>, u64), MigrateError> {
    let manifest_bytes = ends
        .from_blobs
        .get(manifest_digest)
        .await?
        .ok_or_else(|| inconsistent(format!("manifest object {manifest_digest} missing")))?;
    let manifest: ReleaseManifest = serde_json::from_slice(&manifest_bytes)
        .map_err(|e| inconsistent(format!("manifest {manifest_digest}: {e}")))?;
    let manifest_descriptor = ends
        .from_db
        .object(manifest_digest)
        .await?
        .ok_or_else(|| inconsistent(format!("{manifest_digest}: not indexed")))?;
    let mut objects = vec![manifest_descriptor, manifest.source.clone()];
    objects.extend(manifest.artifacts.iter().map(|a| ObjectDescriptor {
        digest: a.digest,
        media_type: a.media_type.clone(),
        size: a.size,
    }));
    let mut copied = 0;
    for object in &objects {
        copied += copy_object(ends, object).await?;
    }
    let (derived, version_key) = derive(ends, &manifest).await?;
    for (object, bytes) in derived {
        if ends.to_blobs.get(&object.digest).await?.is_none() {
            ends.to_blobs.put(&object.digest, bytes).await?;
            copied += 1;
        }
        objects.push(object);
    }
    Ok((objects, version_key, copied))
}

/// Copies one event (and the objects it references) to the target.
async fn copy_event(ends: &Ends<'_>, event: &StoredEvent) -> Result<u64, MigrateError> {
    let parsed = sealed(event)?;
    let payload_digest = parsed
        .event
        .authorization
        .as_ref()
        .map(|a| a.payload_digest);
    match &parsed.event.body {
        EventBody::ReleasePublished {
            package,
            version,
            manifest_digest,
            channel,
            ..
        } => {
            let record = ends
                .from_db
                .release(package, version)
                .await?
                .ok_or_else(|| inconsistent(format!("{package}@{version}: no release row")))?;
            let documents = ends
                .from_db
                .release_documents(package, version)
                .await?
                .ok_or_else(|| inconsistent(format!("{package}@{version}: no documents")))?;
            let (objects, version_key, copied) =
                copy_release_objects(ends, manifest_digest).await?;
            ends.to_db
                .commit_publish(&PublishCommit {
                    package: package.clone(),
                    version: version.clone(),
                    manifest_digest: *manifest_digest,
                    created_at: record.created_at,
                    channel: channel.clone(),
                    event_id: event.id,
                    event_bytes: event.bytes.clone(),
                    event_listing: event.listing.clone(),
                    documents,
                    payload_digest,
                    objects,
                    facts: record.facts,
                    version_key,
                    name_key: ends
                        .ecosystems
                        .processor(package.ecosystem())
                        .and_then(|p| p.name_key(package)),
                })
                .await?;
            Ok(copied)
        }
        EventBody::ChannelUpdated {
            package, channel, ..
        }
        | EventBody::ChannelDeleted {
            package, channel, ..
        } => {
            let target = match &parsed.event.body {
                EventBody::ChannelUpdated { version, .. } => Some(version.clone()),
                _ => None,
            };
            let expected = ends
                .to_db
                .channel(package, channel)
                .await?
                .map(|c| c.version);
            ends.to_db
                .commit_channel(&ChannelCommit {
                    package: package.clone(),
                    channel: channel.clone(),
                    expected,
                    target,
                    timestamp: parsed.event.timestamp,
                    event_id: event.id,
                    event_bytes: event.bytes.clone(),
                    event_listing: event.listing.clone(),
                    payload_digest,
                })
                .await?;
            Ok(0)
        }
    }
}

/// Copies every source event the target lacks, in order, then checks the
/// target's log is the source's, event for event.
///
/// # Errors
/// A store failure, a target that is not a prefix of the source, or a
/// source that references missing data.
pub async fn migrate(ends: &Ends<'_>, progress: &dyn Fn(u64)) -> Result<Migrated, MigrateError> {
    let mut after = None;
    let (mut events, mut objects, mut total) = (0, 0, 0);
    loop {
        let page = ends.from_db.events_after(after.as_ref(), 500).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for event in &page {
            total += 1;
            match ends.to_db.event(&event.id).await? {
                Some(existing) if existing.seq == event.seq && existing.bytes == event.bytes => {}
                Some(_) => {
                    return Err(inconsistent(format!(
                        "target holds event {} at another position or with other bytes",
                        event.id
                    )));
                }
                None => {
                    objects += copy_event(ends, event).await?;
                    events += 1;
                    progress(total);
                }
            }
        }
    }
    verify(ends).await?;
    Ok(Migrated {
        events,
        objects,
        total,
    })
}

/// The target's events equal the source's, same order and bytes.
async fn verify(ends: &Ends<'_>) -> Result<(), MigrateError> {
    let mut after = None;
    loop {
        let source = ends.from_db.events_after(after.as_ref(), 500).await?;
        let target = ends.to_db.events_after(after.as_ref(), 500).await?;
        if source.len() != target.len()
            || source
                .iter()
                .zip(&target)
                .any(|(s, t)| s.id != t.id || s.seq != t.seq || s.bytes != t.bytes)
        {
            return Err(inconsistent(
                "the target's event log differs from the source's",
            ));
        }
        let Some(last) = source.last() else {
            return Ok(());
        };
        after = Some(last.id);
    }
}

/// Opens the embedded store at `dir` (read through its normal adapters).
///
/// # Errors
/// The store cannot be opened.
pub async fn open_embedded(
    dir: &Path,
) -> Result<(regesta_store::sqlite::SqliteDb, regesta_store::fs::FsBlobs), MigrateError> {
    if !dir.join("registry.sqlite3").is_file() {
        return Err(inconsistent(format!(
            "{} holds no embedded registry",
            dir.display()
        )));
    }
    let db = regesta_store::sqlite::SqliteDb::open(dir).await?;
    let blobs = regesta_store::fs::FsBlobs::open(dir)?;
    Ok((db, blobs))
}

/// Migrates the embedded registry in `from` to the PostgreSQL database
/// `to` and the bucket `objects`.
///
/// # Errors
/// See [`migrate`]; also unopenable stores.
pub async fn run(
    from: &Path,
    to: &crate::config::Secret,
    objects: &crate::config::ObjectStoreConfig,
    progress: &dyn Fn(u64),
) -> Result<Migrated, MigrateError> {
    let (from_db, from_blobs) = open_embedded(from).await?;
    let to_db = regesta_store::postgres::PostgresDb::open(
        to.expose(),
        regesta_store::postgres::PoolSettings::default(),
    )
    .await?;
    let to_blobs = regesta_store::s3::S3Blobs::new(&objects.settings())?;
    let ends = Ends {
        from_db: &from_db,
        from_blobs: &from_blobs,
        to_db: &to_db,
        to_blobs: &to_blobs,
        ecosystems: &crate::ecosystems(),
    };
    migrate(&ends, progress).await
}
