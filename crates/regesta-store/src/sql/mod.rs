//! One SQL body for both relational adapters. SQLite and PostgreSQL run
//! the same statements (`$n` placeholders, `ON CONFLICT`, `RETURNING` and
//! the same column types as far as the queries see them), so the queries,
//! row decoding and write steps are written once here and instantiated for
//! each backend by [`sql_adapter!`]. What truly differs stays in the backend
//! modules: opening and migrating, and how a transaction takes its lock
//! (SQLite: `BEGIN IMMEDIATE` on a one-connection writer pool; PostgreSQL:
//! a row lock for event writers and advisory locks for the log).
//!
//! A macro rather than generic functions: sqlx's executor and codec bounds
//! for a generic backend are higher-ranked and not implied, so every
//! function would have to spell a dozen of them; the macro states each
//! statement once and lets the compiler check it against both backends.
//!
//! Each backend provides these inherent methods, which the body calls:
//! `begin_write` (an event-writing transaction, writers serialized),
//! `begin_log` (a log-commit transaction, log commits serialized),
//! `begin_small` (a short read-modify-write transaction: identity, lease),
//! `begin_snapshot` (one consistent read of several tables),
//! `commit_publish_rows` (commits one publish's rows: PostgreSQL writes
//! them with the shared `publish_rows`; SQLite groups concurrent publishes
//! and sends each as one script, `sqlite::publish`),
//! `read_pool`, `write_pool`, and `point_reads` (SQLite's point lookups
//! without sqlx's worker thread, `sqlite::point`; none on PostgreSQL).

mod body;
mod log;
mod rows;
mod write;

use crate::error::StoreError;

pub(crate) use body::sql_adapter;
pub(crate) use log::sql_log;
pub(crate) use rows::sql_rows;
pub(crate) use write::sql_writes;

/// A publish's release row, `$1`–`$9` bound by [`bind_release!`]: one
/// definition for PostgreSQL's statements and SQLite's publish script.
pub(crate) const INSERT_RELEASE: &str = "INSERT INTO releases
        (package, version, manifest_digest, created_at, created_ms, event_id,
         envelope, envelope_listing, facts)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/// Binds [`INSERT_RELEASE`]'s parameters from the `PublishCommit` `$c` to
/// the query `$query` (whose next parameter is `$1`).
macro_rules! bind_release {
    ($query:expr, $c:expr) => {
        $query
            .bind($c.package.as_str())
            .bind($c.version.as_str())
            .bind($c.manifest_digest.to_string())
            .bind($c.created_at.to_string())
            .bind($c.created_at.unix_millis())
            .bind($c.event_id.to_string())
            .bind($c.documents.envelope.as_ref())
            .bind($c.documents.listing.as_ref())
            .bind($c.facts.as_deref())
    };
}

pub(crate) use bind_release;

/// A database failure, kept as the store error's source.
pub(crate) fn backend(error: sqlx::Error) -> StoreError {
    crate::error::database_error(error)
}

/// A failed migration as a store error: a database migrated by a newer
/// build (a version this build does not know) says so; anything else keeps
/// its cause.
pub(crate) fn migrate_error(error: sqlx::migrate::MigrateError) -> StoreError {
    match error {
        sqlx::migrate::MigrateError::VersionMissing(version) => StoreError::Backend(
            format!("database schema {version} is newer than this build; upgrade regesta").into(),
        ),
        other => StoreError::Backend(other.into()),
    }
}

/// Maps a unique-constraint violation to the typed conflict `on_unique`
/// (the database decides races; this names the loser's outcome) and any
/// other failure to a backend error.
pub(crate) fn conflict(on_unique: fn() -> StoreError) -> impl Fn(sqlx::Error) -> StoreError {
    move |error| {
        let unique = error
            .as_database_error()
            .is_some_and(sqlx::error::DatabaseError::is_unique_violation);
        if unique { on_unique() } else { backend(error) }
    }
}
