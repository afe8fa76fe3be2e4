//! One publish's rows as one SQLite script: a single trip to sqlx's
//! connection thread instead of one per statement.
//!
//! The shared SQL body writes a publish in about fifteen statements, each
//! a message to the connection's worker thread and back; on a busy server
//! those thread wake-ups cost more than the statements. SQLite runs a
//! multi-statement query in one go (the `$n` parameters are shared by every
//! statement), so the group commit sends each publish as one script under
//! its own savepoint. The script writes exactly what the shared
//! `publish_rows` writes; the conformance suite runs both.
//!
//! Which statement failed decides the conflict a publish reports: each
//! statement that can conflict is followed by a one-row marker, so the
//! number of rows received before an error names the statement.

use std::fmt::Write as _;

use futures_util::TryStreamExt as _;
use regesta_protocol::PackageId;
use sqlx::{Row as _, Sqlite, Transaction};

use crate::decode::{to_i64, to_u64};
use crate::error::{Result, StoreError};
use crate::model::PublishCommit;
use crate::sql::{INSERT_RELEASE, backend, bind_release};

/// A statement of the script that can conflict, in script order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Release,
    VersionKey,
    NameKey,
    Replay,
    Event,
}

/// The first parameter number of the objects' `(digest, media type,
/// size)` triples; those before are the commit's fixed fields.
const FIRST_OBJECT_PARAM: usize = 16;

/// The script for `c`, and the conflicting statements in order (one row
/// each; the `Event` row carries the sequence number).
fn script(c: &PublishCommit) -> (String, Vec<Stage>) {
    let mut sql = format!("SAVEPOINT publish; {INSERT_RELEASE}; SELECT 0;");
    let mut stages = vec![Stage::Release];
    if c.version_key.is_some() {
        sql.push_str(
            "INSERT INTO release_keys (package, version_key, version) VALUES ($1, $13, $2);
             SELECT 0;",
        );
        stages.push(Stage::VersionKey);
    }
    if c.name_key.is_some() {
        // Held by this package: nothing to insert. Held by another: the
        // insert repeats the key and fails as a unique violation.
        sql.push_str(
            "INSERT INTO package_keys (name_key, package)
                 SELECT $14, $1 WHERE NOT EXISTS
                     (SELECT 1 FROM package_keys WHERE name_key = $14 AND package = $1);
             SELECT 0;",
        );
        stages.push(Stage::NameKey);
    }
    if c.payload_digest.is_some() {
        sql.push_str("INSERT INTO replay (payload_digest) VALUES ($15); SELECT 0;");
        stages.push(Stage::Replay);
    }
    sql.push_str(
        "UPDATE counters SET value = value + 1 WHERE name = 'events';
         INSERT INTO events (seq, id, package, bytes, listing)
             VALUES ((SELECT value FROM counters WHERE name = 'events'), $6, $1, $10, $11)
             RETURNING seq;
         UPDATE counters SET value = value + 1
             WHERE name = 'packages' AND NOT EXISTS (SELECT 1 FROM packages WHERE id = $1);
         INSERT INTO packages (id, head_event, head_time) VALUES ($1, $6, $4)
             ON CONFLICT (id) DO UPDATE
             SET head_event = excluded.head_event, head_time = excluded.head_time;
         INSERT INTO channels (package, channel, version, event_id) VALUES ($1, $12, $2, $6)
             ON CONFLICT (package, channel)
             DO UPDATE SET version = excluded.version, event_id = excluded.event_id;",
    );
    stages.push(Stage::Event);
    if !c.objects.is_empty() {
        let params = |i: usize| {
            let n = FIRST_OBJECT_PARAM + 3 * i;
            (n, n + 1, n + 2)
        };
        let mut digests = String::new();
        let mut rows = String::new();
        for i in 0..c.objects.len() {
            let (digest, media_type, size) = params(i);
            let sep = if i == 0 { "" } else { ", " };
            let _ = write!(digests, "{sep}(${digest})");
            let _ = write!(rows, "{sep}(${digest}, ${media_type}, ${size})");
        }
        // Counted before the insert: the objects this publish adds.
        let _ = write!(
            sql,
            "UPDATE counters SET value = value +
                 (SELECT COUNT(DISTINCT column1) FROM (VALUES {digests})
                  WHERE column1 NOT IN (SELECT digest FROM objects))
                 WHERE name = 'objects';
             INSERT INTO objects (digest, media_type, size) VALUES {rows}
                 ON CONFLICT (digest) DO NOTHING;"
        );
    }
    sql.push_str(
        "UPDATE counters SET value = value + 1 WHERE name = 'releases';
         RELEASE publish;",
    );
    (sql, stages)
}

/// Writes `c` inside `tx` under its own savepoint; its sequence number.
/// A publish that fails is rolled back to its savepoint alone; `Err` from
/// the outer result when the transaction itself is lost (then the whole
/// group fails).
pub(super) async fn write(
    tx: &mut Transaction<'static, Sqlite>,
    c: &PublishCommit,
) -> Result<Result<u64>> {
    let (sql, stages) = script(c);
    let mut query = bind_release!(sqlx::query(sqlx::AssertSqlSafe(sql)), c)
        .bind(c.event_bytes.as_ref())
        .bind(c.event_listing.as_ref())
        .bind(c.channel.as_str())
        .bind(c.version_key.as_deref())
        .bind(c.name_key.as_deref())
        .bind(c.payload_digest.map(|d| d.to_string()));
    for object in &c.objects {
        query = query
            .bind(object.digest.to_string())
            .bind(object.media_type.as_str())
            .bind(to_i64(object.size)?);
    }
    let mut markers: Vec<i64> = Vec::with_capacity(stages.len());
    let failure = {
        let mut rows = query.fetch(&mut **tx);
        loop {
            match rows.try_next().await {
                Ok(Some(row)) => markers.push(row.try_get(0).map_err(backend)?),
                Ok(None) => break None,
                Err(error) => break Some(error),
            }
        }
    };
    let Some(error) = failure else {
        let seq = stages
            .iter()
            .position(|s| *s == Stage::Event)
            .and_then(|i| markers.get(i))
            .ok_or_else(|| StoreError::Corrupt("the publish script returned no sequence".into()))?;
        return Ok(to_u64(*seq, "sequence"));
    };
    let outcome = conflict(stages.get(markers.len()).copied(), error);
    // SQLite may have rolled back the whole transaction itself (a full
    // disk does): then the group fails with this publish's own error.
    if sqlx::raw_sql("ROLLBACK TO publish; RELEASE publish")
        .execute(&mut **tx)
        .await
        .is_err()
    {
        return Err(match outcome {
            Failure::Store(error) => error,
            Failure::NameTaken => StoreError::Backend("a name key claim failed".into()),
        });
    }
    Ok(Err(match outcome {
        Failure::Store(error) => error,
        Failure::NameTaken => {
            StoreError::NameTaken(holder(tx, c.name_key.as_deref().unwrap_or_default()).await?)
        }
    }))
}

/// Why a publish's script failed.
enum Failure {
    Store(StoreError),
    /// Another package holds the name key (looked up once the savepoint
    /// is rolled back).
    NameTaken,
}

/// The typed outcome of `error` raised by the statement `stage` (`None`:
/// a statement that cannot conflict, so any failure is the backend's).
fn conflict(stage: Option<Stage>, error: sqlx::Error) -> Failure {
    let unique = error
        .as_database_error()
        .is_some_and(sqlx::error::DatabaseError::is_unique_violation);
    Failure::Store(match stage {
        Some(Stage::Release | Stage::VersionKey | Stage::Event) if unique => {
            StoreError::ReleaseExists
        }
        Some(Stage::Replay) if unique => StoreError::Replayed,
        Some(Stage::NameKey) if unique => return Failure::NameTaken,
        _ => backend(error),
    })
}

/// The package that holds `name_key`.
async fn holder(tx: &mut Transaction<'static, Sqlite>, name_key: &str) -> Result<PackageId> {
    let id: String = sqlx::query_scalar("SELECT package FROM package_keys WHERE name_key = $1")
        .bind(name_key)
        .fetch_one(&mut **tx)
        .await
        .map_err(backend)?;
    crate::decode::package_id(&id)
}
