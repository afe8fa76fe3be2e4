//! Row decoding and the two query shapes every read has. A row that does
//! not decode is corruption (`StoreError::Corrupt`), never a panic.

use regesta_protocol::{Digest, ObjectDescriptor, Timestamp};
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Row, Sqlite, SqliteConnection};

use crate::decode;
use crate::error::{Result, StoreError};
use crate::model::{ChannelRecord, ReleaseRecord, StoredEvent};

/// A database failure, kept as the store error's source.
pub(super) fn backend(error: sqlx::Error) -> StoreError {
    crate::error::database_error(error)
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

pub(super) use crate::decode::{corrupt, to_i64, to_u64};

pub(super) fn stored_event(row: &SqliteRow) -> Result<StoredEvent> {
    decode::event(
        row.get("seq"),
        row.get("id"),
        row.get("package"),
        row.get("bytes"),
        row.get("listing"),
    )
}

pub(super) fn release_row(row: &SqliteRow) -> Result<ReleaseRecord> {
    decode::release(
        row.get("version"),
        row.get("manifest_digest"),
        row.get("created_at"),
        row.get("event_id"),
        row.get("facts"),
    )
}

pub(super) fn channel_row(row: &SqliteRow) -> Result<ChannelRecord> {
    decode::channel(row.get("channel"), row.get("version"), row.get("event_id"))
}

pub(super) fn head_row(row: &SqliteRow) -> Result<(Digest, Timestamp)> {
    decode::head(row.get("head_event"), row.get("head_time"))
}

pub(super) fn object_row(row: &SqliteRow) -> Result<ObjectDescriptor> {
    decode::object(row.get("digest"), row.get("media_type"), row.get("size"))
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
