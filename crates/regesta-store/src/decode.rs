//! Turning stored columns back into model values, shared by the SQL
//! adapters: each adapter only pulls the columns out of its row type. A
//! value that does not decode is corruption (`StoreError::Corrupt`), never
//! a panic.

use bytes::Bytes;
use regesta_protocol::{
    ChannelName, Digest, ObjectDescriptor, PackageId, Text, Timestamp, Version,
};

use crate::error::{Result, StoreError};
use crate::model::{ChannelRecord, ReleaseDocuments, ReleaseRecord, StoredEvent};

pub(crate) fn corrupt(what: &str) -> impl Fn(regesta_protocol::ProtocolError) -> StoreError + '_ {
    move |e| StoreError::Corrupt(format!("{what}: {e}").into())
}

/// A stored non-negative integer (sequence, size, counter) read back; a
/// negative value is corruption.
pub(crate) fn to_u64(value: i64, what: &str) -> Result<u64> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("negative {what}").into()))
}

pub(crate) fn to_i64(n: u64) -> Result<i64> {
    i64::try_from(n).map_err(|_| StoreError::Backend("value out of range".into()))
}

pub(crate) fn event(
    seq: i64,
    id: &str,
    package: &str,
    bytes: Vec<u8>,
    listing: Vec<u8>,
) -> Result<StoredEvent> {
    Ok(StoredEvent {
        seq: to_u64(seq, "sequence")?,
        id: Digest::parse(id).map_err(corrupt("event id"))?,
        package: PackageId::parse(package).map_err(corrupt("event package"))?,
        bytes: Bytes::from(bytes),
        listing: Bytes::from(listing),
    })
}

pub(crate) fn release(
    version: &str,
    manifest_digest: &str,
    created_at: &str,
    event_id: &str,
    facts: Option<Vec<u8>>,
) -> Result<ReleaseRecord> {
    Ok(ReleaseRecord {
        version: Version::parse(version).map_err(corrupt("version"))?,
        manifest_digest: Digest::parse(manifest_digest).map_err(corrupt("manifest"))?,
        created_at: Timestamp::parse(created_at).map_err(corrupt("created_at"))?,
        event_id: Digest::parse(event_id).map_err(corrupt("event id"))?,
        facts: facts.map(Bytes::from),
    })
}

/// A release's stored documents read back.
pub(crate) fn release_documents(
    event_id: &str,
    envelope: Vec<u8>,
    listing: Vec<u8>,
) -> Result<ReleaseDocuments> {
    Ok(ReleaseDocuments {
        event_id: Digest::parse(event_id).map_err(corrupt("event id"))?,
        envelope: Bytes::from(envelope),
        listing: Bytes::from(listing),
    })
}

pub(crate) fn channel(channel: &str, version: &str, event_id: &str) -> Result<ChannelRecord> {
    Ok(ChannelRecord {
        channel: ChannelName::parse(channel).map_err(corrupt("channel"))?,
        version: Version::parse(version).map_err(corrupt("version"))?,
        event_id: Digest::parse(event_id).map_err(corrupt("event id"))?,
    })
}

pub(crate) fn package_id(id: &str) -> Result<PackageId> {
    PackageId::parse(id).map_err(corrupt("package id"))
}

pub(crate) fn head(event: &str, time: &str) -> Result<(Digest, Timestamp)> {
    Ok((
        Digest::parse(event).map_err(corrupt("head"))?,
        Timestamp::parse(time).map_err(corrupt("head time"))?,
    ))
}

pub(crate) fn object(digest: &str, media_type: &str, size: i64) -> Result<ObjectDescriptor> {
    object_parts(
        Digest::parse(digest).map_err(corrupt("object digest"))?,
        media_type,
        size,
    )
}

/// As [`object`], for a row looked up by its digest (not read back).
pub(crate) fn object_parts(
    digest: Digest,
    media_type: &str,
    size: i64,
) -> Result<ObjectDescriptor> {
    Ok(ObjectDescriptor {
        digest,
        media_type: Text::parse(media_type).map_err(corrupt("media type"))?,
        size: to_u64(size, "size")?,
    })
}
