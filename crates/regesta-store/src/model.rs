//! What the core writes in one transaction and what it reads back.

use bytes::Bytes;
use regesta_protocol::{ChannelName, Digest, ObjectDescriptor, PackageId, Timestamp, Version};

/// One event as stored: its id, global sequence number, package, and the
/// canonical bytes served for a single-event read (canonical JSON + `\n`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// 1-based position in the global event sequence.
    pub seq: u64,
    /// The event id.
    pub id: Digest,
    /// The package the event is about.
    pub package: PackageId,
    /// Canonical JSON with `id`, plus `\n`: the single-event read.
    pub bytes: Bytes,
    /// The event as it appears in event pages (the reference's stored key
    /// order, no newline), rendered once at write time so a page is a
    /// concatenation, never a re-serialization.
    pub listing: Bytes,
}

/// Everything a publish commits atomically.
#[derive(Debug, Clone)]
pub struct PublishCommit {
    /// The package.
    pub package: PackageId,
    /// The new version.
    pub version: Version,
    /// Digest of the manifest object.
    pub manifest_digest: Digest,
    /// Release time (the signed intent's timestamp).
    pub created_at: Timestamp,
    /// The channel the publish moves.
    pub channel: ChannelName,
    /// The event id.
    pub event_id: Digest,
    /// The event's served bytes.
    pub event_bytes: Bytes,
    /// The event's page rendering (see [`StoredEvent::listing`]).
    pub event_listing: Bytes,
    /// The release envelope documents, rendered once.
    pub documents: ReleaseDocuments,
    /// Replay marker: the authorization's payload digest.
    pub payload_digest: Option<Digest>,
    /// Objects the release references (manifest, source, artifacts); their
    /// bytes must already be durable in the blob store.
    pub objects: Vec<ObjectDescriptor>,
    /// Facts the ecosystem processor derived from the install artifact
    /// (JSON; for npm: integrity, shasum, file count, unpacked size). Not
    /// signed and not part of the manifest: anyone can recompute them.
    pub facts: Option<Bytes>,
    /// The version's key in its ecosystem when two spellings can be one
    /// version to its clients (PEP 440: `1.0` and `1.0.0` are both `1`).
    /// The commit is refused ([`crate::StoreError::ReleaseExists`]) when the
    /// package already has a release with the same key.
    pub version_key: Option<String>,
    /// The package name's key in its ecosystem when two names can be one
    /// package to its clients (Cargo: `foo-bar` and `foo_bar`). The commit
    /// is refused ([`crate::StoreError::NameTaken`]) when another package
    /// already holds the key.
    pub name_key: Option<String>,
}

/// A channel move or deletion, committed atomically with its event.
#[derive(Debug, Clone)]
pub struct ChannelCommit {
    /// The package.
    pub package: PackageId,
    /// The channel.
    pub channel: ChannelName,
    /// The version the writer saw (`None`: the channel must not exist).
    pub expected: Option<Version>,
    /// The new target (`None`: delete the channel).
    pub target: Option<Version>,
    /// The signed time of the write.
    pub timestamp: Timestamp,
    /// The event id.
    pub event_id: Digest,
    /// The event's served bytes.
    pub event_bytes: Bytes,
    /// The event's page rendering (see [`StoredEvent::listing`]).
    pub event_listing: Bytes,
    /// Replay marker.
    pub payload_digest: Option<Digest>,
}

/// A release row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseRecord {
    /// Version.
    pub version: Version,
    /// Manifest object digest.
    pub manifest_digest: Digest,
    /// Publish time.
    pub created_at: Timestamp,
    /// The `release.published` event.
    pub event_id: Digest,
    /// The derived artifact facts (see [`PublishCommit::facts`]).
    pub facts: Option<Bytes>,
}

/// The immutable documents of one release, rendered at publish time so
/// reads serve stored bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseDocuments {
    /// The release's `release.published` event (the envelope validator).
    pub event_id: Digest,
    /// `{event, manifest, manifestDescriptor}` as canonical JSON plus `\n`:
    /// the release read.
    pub envelope: Bytes,
    /// The same envelope in the reference's stored key order (no newline):
    /// the channel read.
    pub listing: Bytes,
}

/// A channel row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRecord {
    /// Channel name.
    pub channel: ChannelName,
    /// Target version.
    pub version: Version,
    /// The event that last moved it.
    pub event_id: Digest,
}

/// A package's materialized view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageRecord {
    /// Releases in `createdAt`, version order.
    pub releases: Vec<ReleaseRecord>,
    /// Channels by name.
    pub channels: Vec<ChannelRecord>,
    /// The last event about this package (validators derive from it).
    pub head_event: Digest,
    /// That event's timestamp.
    pub head_time: Timestamp,
}

/// Deployment statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Packages with at least one event.
    pub packages: u64,
    /// Releases.
    pub releases: u64,
    /// Events.
    pub events: u64,
    /// Indexed objects.
    pub objects: u64,
}

/// The newest event of the whole log, for page validators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogHead {
    /// Id of the newest event.
    pub last: Digest,
    /// Number of events.
    pub count: u64,
}

/// How the embedded adapters make writes durable.
///
/// `Full` is the only mode a serving registry uses: every acknowledged
/// commit and object is on disk. `Deferred` skips the per-commit fsyncs for
/// bulk loads that are thrown away on failure (the benchmark data
/// generator), which must sync the whole directory themselves when done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// fsync per commit and per object.
    #[default]
    Full,
    /// Leave flushing to the OS; the caller syncs at the end.
    Deferred,
}
