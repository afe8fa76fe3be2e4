//! Row decoding and the two query shapes every read has. A row that does
//! not decode is corruption (`StoreError::Corrupt`), never a panic.

use bytes::Bytes;
use regesta_protocol::{
    ChannelName, Digest, ObjectDescriptor, PackageId, Text, Timestamp, Version,
};
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Row, Sqlite, SqliteConnection};

use crate::error::{Result, StoreError};
use crate::model::{ChannelRecord, ReleaseRecord, StoredEvent};

#[expect(
    clippy::needless_pass_by_value,
    reason = "used as `map_err(backend)`; taking ownership keeps call sites short"
)]
pub(super) fn backend(error: sqlx::Error) -> StoreError {
    StoreError::Backend(error.to_string())
}

/// Maps a unique-constraint violation to the typed conflict `on_unique`
/// (the database decides races; this names the loser's outcome) and any
/// other failure to a backend error.
pub(super) fn conflict(on_unique: fn() -> StoreError) -> impl Fn(sqlx::Error) -> StoreError {
    move |error| {
        let unique = error
            .as_database_error()
            .is_some_and(sqlx::error::DatabaseError::is_unique_violation);
        if unique { on_unique() } else { backend(error) }
    }
}

pub(super) fn corrupt(what: &str) -> impl Fn(regesta_protocol::ProtocolError) -> StoreError + '_ {
    move |e| StoreError::Corrupt(format!("{what}: {e}"))
}

pub(super) fn stored_event(row: &SqliteRow) -> Result<StoredEvent> {
    let seq: i64 = row.get("seq");
    Ok(StoredEvent {
        seq: to_u64(seq, "sequence")?,
        id: Digest::parse(row.get("id")).map_err(corrupt("event id"))?,
        package: PackageId::parse(row.get("package")).map_err(corrupt("event package"))?,
        bytes: Bytes::from(row.get::<Vec<u8>, _>("bytes")),
        listing: Bytes::from(row.get::<Vec<u8>, _>("listing")),
    })
}

pub(super) fn release_row(row: &SqliteRow) -> Result<ReleaseRecord> {
    Ok(ReleaseRecord {
        version: Version::parse(row.get("version")).map_err(corrupt("version"))?,
        manifest_digest: Digest::parse(row.get("manifest_digest")).map_err(corrupt("manifest"))?,
        created_at: Timestamp::parse(row.get("created_at")).map_err(corrupt("created_at"))?,
        event_id: Digest::parse(row.get("event_id")).map_err(corrupt("event id"))?,
        facts: row.get::<Option<Vec<u8>>, _>("facts").map(Bytes::from),
    })
}

pub(super) fn channel_row(row: &SqliteRow) -> Result<ChannelRecord> {
    Ok(ChannelRecord {
        channel: ChannelName::parse(row.get("channel")).map_err(corrupt("channel"))?,
        version: Version::parse(row.get("version")).map_err(corrupt("version"))?,
        event_id: Digest::parse(row.get("event_id")).map_err(corrupt("event id"))?,
    })
}

pub(super) fn head_row(row: &SqliteRow) -> Result<(Digest, Timestamp)> {
    Ok((
        Digest::parse(row.get("head_event")).map_err(corrupt("head"))?,
        Timestamp::parse(row.get("head_time")).map_err(corrupt("head time"))?,
    ))
}

pub(super) fn object_row(row: &SqliteRow) -> Result<ObjectDescriptor> {
    let size: i64 = row.get("size");
    Ok(ObjectDescriptor {
        digest: Digest::parse(row.get("digest")).map_err(corrupt("object digest"))?,
        media_type: Text::parse(row.get("media_type")).map_err(corrupt("media type"))?,
        size: to_u64(size, "size")?,
    })
}

/// A stored non-negative integer (sequence, size, counter) read back; a
/// negative value is corruption.
pub(super) fn to_u64(value: i64, what: &str) -> Result<u64> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("negative {what}")))
}

pub(super) fn to_i64(n: u64) -> Result<i64> {
    i64::try_from(n).map_err(|_| StoreError::Backend("value out of range".into()))
}

pub(super) type SqliteQuery<'q> = Query<'q, Sqlite, SqliteArguments>;

/// Runs `query` and maps its row, if any: the one shape every point read has.
pub(super) async fn fetch_opt<T>(
    conn: &mut SqliteConnection,
    query: SqliteQuery<'_>,
    map: fn(&SqliteRow) -> Result<T>,
) -> Result<Option<T>> {
    query
        .fetch_optional(conn)
        .await
        .map_err(backend)?
        .as_ref()
        .map(map)
        .transpose()
}

/// Runs `query` and maps every row: the one shape every list read has.
pub(super) async fn fetch_all<T>(
    conn: &mut SqliteConnection,
    query: SqliteQuery<'_>,
    map: fn(&SqliteRow) -> Result<T>,
) -> Result<Vec<T>> {
    query
        .fetch_all(conn)
        .await
        .map_err(backend)?
        .iter()
        .map(map)
        .collect()
}
