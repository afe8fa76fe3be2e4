//! The embedded registry database: SQLite in WAL mode with full
//! synchronous commits, one writer at a time (`BEGIN IMMEDIATE`), the
//! views updated in the same transaction as the event insert.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use regesta_protocol::{
    ChannelName, Digest, ObjectDescriptor, PackageId, Text, Timestamp, Version,
};
use sqlx::query::Query;
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, Sqlite, SqliteConnection, Transaction};

use crate::error::{Result, StoreError};
use crate::model::{
    ChannelCommit, ChannelRecord, LogHead, PackageRecord, PublishCommit, ReleaseDocuments,
    ReleaseRecord, Stats, StoredEvent,
};
use crate::traits::RegistryDb;

/// Schema version this build writes; opening a newer database is refused.
pub const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS events (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        package TEXT NOT NULL,
        bytes BLOB NOT NULL,
        listing BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS releases (
        package TEXT NOT NULL,
        version TEXT NOT NULL,
        manifest_digest TEXT NOT NULL,
        created_at TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        event_id TEXT NOT NULL,
        envelope BLOB NOT NULL,
        envelope_listing BLOB NOT NULL,
        PRIMARY KEY (package, version))",
    "CREATE TABLE IF NOT EXISTS channels (
        package TEXT NOT NULL,
        channel TEXT NOT NULL,
        version TEXT NOT NULL,
        event_id TEXT NOT NULL,
        PRIMARY KEY (package, channel))",
    "CREATE TABLE IF NOT EXISTS packages (
        id TEXT PRIMARY KEY,
        head_event TEXT NOT NULL,
        head_time TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS replay (payload_digest TEXT PRIMARY KEY)",
    "CREATE TABLE IF NOT EXISTS objects (
        digest TEXT PRIMARY KEY,
        media_type TEXT NOT NULL,
        size INTEGER NOT NULL)",
    // Deployment counters, kept in the write transactions so reading them is
    // O(1) instead of four table scans. Seeded from the tables once, so a
    // database created before the table existed starts with true counts.
    "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "INSERT OR IGNORE INTO counters (name, value) VALUES
        ('packages', (SELECT COUNT(*) FROM packages)),
        ('releases', (SELECT COUNT(*) FROM releases)),
        ('events', (SELECT COUNT(*) FROM events)),
        ('objects', (SELECT COUNT(*) FROM objects))",
];

#[expect(
    clippy::needless_pass_by_value,
    reason = "used as `map_err(backend)`; taking ownership keeps call sites short"
)]
fn backend(error: sqlx::Error) -> StoreError {
    StoreError::Backend(error.to_string())
}

/// Maps a unique-constraint violation to the typed conflict `on_unique`
/// (the database decides races; this names the loser's outcome) and any
/// other failure to a backend error.
fn conflict(on_unique: fn() -> StoreError) -> impl Fn(sqlx::Error) -> StoreError {
    move |error| {
        let unique = error
            .as_database_error()
            .is_some_and(sqlx::error::DatabaseError::is_unique_violation);
        if unique { on_unique() } else { backend(error) }
    }
}

fn corrupt(what: &str) -> impl Fn(regesta_protocol::ProtocolError) -> StoreError + '_ {
    move |e| StoreError::Corrupt(format!("{what}: {e}"))
}

/// SQLite registry metadata.
#[derive(Debug, Clone)]
pub struct SqliteDb {
    pool: SqlitePool,
}

impl SqliteDb {
    /// Opens (creating and migrating) `data_dir/registry.sqlite3`.
    ///
    /// # Errors
    /// The file cannot be opened, or its schema is newer than this build.
    pub async fn open(data_dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(data_dir)?;
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(backend)?
            .filename(data_dir.join("registry.sqlite3"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(backend)?;
        let db = Self { pool };
        db.migrate().await?;
        Ok(db)
    }

    async fn migrate(&self) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for statement in SCHEMA {
            sqlx::query(*statement)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        let found: Option<i64> = sqlx::query_scalar("SELECT value FROM meta WHERE key = 'schema'")
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
        match found {
            Some(v) if v > SCHEMA_VERSION => {
                return Err(StoreError::Backend(format!(
                    "database schema {v} is newer than this build ({SCHEMA_VERSION}); upgrade regesta"
                )));
            }
            Some(_) => {}
            None => {
                sqlx::query("INSERT INTO meta (key, value) VALUES ('schema', ?1)")
                    .bind(SCHEMA_VERSION)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
            }
        }
        tx.commit().await.map_err(backend)
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(backend)
    }
}

async fn insert_event(
    tx: &mut Transaction<'static, Sqlite>,
    id: &Digest,
    package: &PackageId,
    (bytes, listing): (&Bytes, &Bytes),
    time: Timestamp,
) -> Result<u64> {
    let seq: i64 = sqlx::query_scalar(
        "INSERT INTO events (seq, id, package, bytes, listing)
         VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM events), ?1, ?2, ?3, ?4) RETURNING seq",
    )
    .bind(id.to_string())
    .bind(package.as_str())
    .bind(bytes.as_ref())
    .bind(listing.as_ref())
    .fetch_one(&mut **tx)
    .await
    .map_err(conflict(|| StoreError::ReleaseExists))?;
    let head = sqlx::query("UPDATE packages SET head_event = ?2, head_time = ?3 WHERE id = ?1")
        .bind(package.as_str())
        .bind(id.to_string())
        .bind(time.to_string())
        .execute(&mut **tx)
        .await
        .map_err(backend)?;
    if head.rows_affected() == 0 {
        sqlx::query("INSERT INTO packages (id, head_event, head_time) VALUES (?1, ?2, ?3)")
            .bind(package.as_str())
            .bind(id.to_string())
            .bind(time.to_string())
            .execute(&mut **tx)
            .await
            .map_err(backend)?;
        bump(tx, "packages", 1).await?;
    }
    bump(tx, "events", 1).await?;
    u64::try_from(seq).map_err(|_| StoreError::Corrupt("negative sequence".into()))
}

async fn insert_replay(
    tx: &mut Transaction<'static, Sqlite>,
    digest: Option<Digest>,
) -> Result<()> {
    if let Some(d) = digest {
        sqlx::query("INSERT INTO replay (payload_digest) VALUES (?1)")
            .bind(d.to_string())
            .execute(&mut **tx)
            .await
            .map_err(conflict(|| StoreError::Replayed))?;
    }
    Ok(())
}

fn stored_event(row: &SqliteRow) -> Result<StoredEvent> {
    let seq: i64 = row.get("seq");
    Ok(StoredEvent {
        seq: u64::try_from(seq).map_err(|_| StoreError::Corrupt("negative sequence".into()))?,
        id: Digest::parse(row.get("id")).map_err(corrupt("event id"))?,
        package: PackageId::parse(row.get("package")).map_err(corrupt("event package"))?,
        bytes: Bytes::from(row.get::<Vec<u8>, _>("bytes")),
        listing: Bytes::from(row.get::<Vec<u8>, _>("listing")),
    })
}

fn release_row(row: &SqliteRow) -> Result<ReleaseRecord> {
    Ok(ReleaseRecord {
        version: Version::parse(row.get("version")).map_err(corrupt("version"))?,
        manifest_digest: Digest::parse(row.get("manifest_digest")).map_err(corrupt("manifest"))?,
        created_at: Timestamp::parse(row.get("created_at")).map_err(corrupt("created_at"))?,
        event_id: Digest::parse(row.get("event_id")).map_err(corrupt("event id"))?,
    })
}

fn channel_row(row: &SqliteRow) -> Result<ChannelRecord> {
    Ok(ChannelRecord {
        channel: ChannelName::parse(row.get("channel")).map_err(corrupt("channel"))?,
        version: Version::parse(row.get("version")).map_err(corrupt("version"))?,
        event_id: Digest::parse(row.get("event_id")).map_err(corrupt("event id"))?,
    })
}

fn head_row(row: &SqliteRow) -> Result<(Digest, Timestamp)> {
    Ok((
        Digest::parse(row.get("head_event")).map_err(corrupt("head"))?,
        Timestamp::parse(row.get("head_time")).map_err(corrupt("head time"))?,
    ))
}

fn object_row(row: &SqliteRow) -> Result<ObjectDescriptor> {
    let size: i64 = row.get("size");
    Ok(ObjectDescriptor {
        digest: Digest::parse(row.get("digest")).map_err(corrupt("object digest"))?,
        media_type: Text::parse(row.get("media_type")).map_err(corrupt("media type"))?,
        size: u64::try_from(size).map_err(|_| StoreError::Corrupt("negative size".into()))?,
    })
}

fn to_i64(n: u64) -> Result<i64> {
    i64::try_from(n).map_err(|_| StoreError::Backend("value out of range".into()))
}

type SqliteQuery<'q> = Query<'q, Sqlite, SqliteArguments>;

/// Runs `query` and maps its row, if any: the one shape every point read has.
async fn fetch_opt<T>(
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
async fn fetch_all<T>(
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

/// Points `channel` at `target` (moved by `event`), or deletes it.
async fn set_channel(
    tx: &mut Transaction<'static, Sqlite>,
    package: &PackageId,
    channel: &ChannelName,
    target: Option<&Version>,
    event: &Digest,
) -> Result<()> {
    let query = match target {
        Some(version) => sqlx::query(
            "INSERT INTO channels (package, channel, version, event_id) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (package, channel)
             DO UPDATE SET version = excluded.version, event_id = excluded.event_id",
        )
        .bind(package.as_str())
        .bind(channel.as_str())
        .bind(version.as_str())
        .bind(event.to_string()),
        None => sqlx::query("DELETE FROM channels WHERE package = ?1 AND channel = ?2")
            .bind(package.as_str())
            .bind(channel.as_str()),
    };
    query.execute(&mut **tx).await.map_err(backend)?;
    Ok(())
}

/// Adds `delta` to a deployment counter inside the caller's transaction.
async fn bump(tx: &mut Transaction<'static, Sqlite>, name: &str, delta: u64) -> Result<()> {
    if delta > 0 {
        sqlx::query("UPDATE counters SET value = value + ?1 WHERE name = ?2")
            .bind(to_i64(delta)?)
            .bind(name)
            .execute(&mut **tx)
            .await
            .map_err(backend)?;
    }
    Ok(())
}

#[async_trait]
impl RegistryDb for SqliteDb {
    async fn commit_publish(&self, c: &PublishCommit) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO releases
                (package, version, manifest_digest, created_at, created_ms, event_id,
                 envelope, envelope_listing)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .bind(c.package.as_str())
        .bind(c.version.as_str())
        .bind(c.manifest_digest.to_string())
        .bind(c.created_at.to_string())
        .bind(c.created_at.unix_millis())
        .bind(c.event_id.to_string())
        .bind(c.documents.envelope.as_ref())
        .bind(c.documents.listing.as_ref())
        .execute(&mut *tx)
        .await
        .map_err(conflict(|| StoreError::ReleaseExists))?;
        insert_replay(&mut tx, c.payload_digest).await?;
        let seq = insert_event(
            &mut tx,
            &c.event_id,
            &c.package,
            (&c.event_bytes, &c.event_listing),
            c.created_at,
        )
        .await?;
        set_channel(
            &mut tx,
            &c.package,
            &c.channel,
            Some(&c.version),
            &c.event_id,
        )
        .await?;
        let mut new_objects = 0;
        for object in &c.objects {
            new_objects += sqlx::query(
                "INSERT INTO objects (digest, media_type, size) VALUES (?1, ?2, ?3)
                 ON CONFLICT (digest) DO NOTHING",
            )
            .bind(object.digest.to_string())
            .bind(object.media_type.as_str())
            .bind(to_i64(object.size)?)
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
        }
        bump(&mut tx, "objects", new_objects).await?;
        bump(&mut tx, "releases", 1).await?;
        tx.commit().await.map_err(backend)?;
        Ok(seq)
    }

    async fn commit_channel(&self, c: &ChannelCommit) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let current: Option<String> =
            sqlx::query_scalar("SELECT version FROM channels WHERE package = ?1 AND channel = ?2")
                .bind(c.package.as_str())
                .bind(c.channel.as_str())
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend)?;
        if current.as_deref() != c.expected.as_ref().map(Version::as_str) {
            return Err(StoreError::StaleChannel);
        }
        insert_replay(&mut tx, c.payload_digest).await?;
        let seq = insert_event(
            &mut tx,
            &c.event_id,
            &c.package,
            (&c.event_bytes, &c.event_listing),
            c.timestamp,
        )
        .await?;
        set_channel(
            &mut tx,
            &c.package,
            &c.channel,
            c.target.as_ref(),
            &c.event_id,
        )
        .await?;
        tx.commit().await.map_err(backend)?;
        Ok(seq)
    }

    async fn package_head(&self, id: &PackageId) -> Result<Option<(Digest, Timestamp)>> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        let query = sqlx::query("SELECT head_event, head_time FROM packages WHERE id = ?1")
            .bind(id.as_str());
        fetch_opt(&mut conn, query, head_row).await
    }

    async fn package(&self, id: &PackageId) -> Result<Option<PackageRecord>> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        let head = fetch_opt(
            &mut conn,
            sqlx::query("SELECT head_event, head_time FROM packages WHERE id = ?1")
                .bind(id.as_str()),
            head_row,
        )
        .await?;
        let Some((head_event, head_time)) = head else {
            return Ok(None);
        };
        let releases = fetch_all(
            &mut conn,
            sqlx::query(
                "SELECT version, manifest_digest, created_at, event_id FROM releases
                 WHERE package = ?1 ORDER BY created_ms, version",
            )
            .bind(id.as_str()),
            release_row,
        )
        .await?;
        let channels = fetch_all(
            &mut conn,
            sqlx::query(
                "SELECT channel, version, event_id FROM channels WHERE package = ?1 ORDER BY channel",
            )
            .bind(id.as_str()),
            channel_row,
        )
        .await?;
        Ok(Some(PackageRecord {
            releases,
            channels,
            head_event,
            head_time,
        }))
    }

    async fn release(&self, id: &PackageId, version: &Version) -> Result<Option<ReleaseRecord>> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        let query = sqlx::query(
            "SELECT version, manifest_digest, created_at, event_id FROM releases
             WHERE package = ?1 AND version = ?2",
        )
        .bind(id.as_str())
        .bind(version.as_str());
        fetch_opt(&mut conn, query, release_row).await
    }

    async fn release_documents(
        &self,
        id: &PackageId,
        version: &Version,
    ) -> Result<Option<ReleaseDocuments>> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        let query = sqlx::query(
            "SELECT event_id, envelope, envelope_listing FROM releases WHERE package = ?1 AND version = ?2",
        )
        .bind(id.as_str())
        .bind(version.as_str());
        fetch_opt(&mut conn, query, |row| {
            Ok(ReleaseDocuments {
                event_id: Digest::parse(row.get("event_id")).map_err(corrupt("event id"))?,
                envelope: Bytes::from(row.get::<Vec<u8>, _>("envelope")),
                listing: Bytes::from(row.get::<Vec<u8>, _>("envelope_listing")),
            })
        })
        .await
    }

    async fn channel(
        &self,
        id: &PackageId,
        channel: &ChannelName,
    ) -> Result<Option<ChannelRecord>> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        let query = sqlx::query(
            "SELECT channel, version, event_id FROM channels WHERE package = ?1 AND channel = ?2",
        )
        .bind(id.as_str())
        .bind(channel.as_str());
        fetch_opt(&mut conn, query, channel_row).await
    }

    async fn event(&self, id: &Digest) -> Result<Option<StoredEvent>> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        let query =
            sqlx::query("SELECT seq, id, package, bytes, listing FROM events WHERE id = ?1")
                .bind(id.to_string());
        fetch_opt(&mut conn, query, stored_event).await
    }

    async fn events_after(&self, after: Option<&Digest>, limit: usize) -> Result<Vec<StoredEvent>> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        let start: i64 = match after {
            None => 0,
            Some(d) => sqlx::query_scalar("SELECT seq FROM events WHERE id = ?1")
                .bind(d.to_string())
                .fetch_optional(&mut *conn)
                .await
                .map_err(backend)?
                .ok_or(StoreError::CursorNotFound)?,
        };
        let query = sqlx::query(
            "SELECT seq, id, package, bytes, listing FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )
        .bind(start)
        .bind(to_i64(limit as u64)?);
        fetch_all(&mut conn, query, stored_event).await
    }

    async fn log_head(&self) -> Result<Option<LogHead>> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        let query = sqlx::query("SELECT seq, id FROM events ORDER BY seq DESC LIMIT 1");
        fetch_opt(&mut conn, query, |r| {
            let seq: i64 = r.get("seq");
            Ok(LogHead {
                last: Digest::parse(r.get("id")).map_err(corrupt("event id"))?,
                count: u64::try_from(seq).map_err(|_| StoreError::Corrupt("sequence".into()))?,
            })
        })
        .await
    }

    async fn object(&self, digest: &Digest) -> Result<Option<ObjectDescriptor>> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        let query = sqlx::query("SELECT digest, media_type, size FROM objects WHERE digest = ?1")
            .bind(digest.to_string());
        fetch_opt(&mut conn, query, object_row).await
    }

    async fn objects_after(
        &self,
        after: Option<&Digest>,
        limit: usize,
    ) -> Result<Vec<ObjectDescriptor>> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        if let Some(d) = after {
            let known: Option<String> =
                sqlx::query_scalar("SELECT digest FROM objects WHERE digest = ?1")
                    .bind(d.to_string())
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(backend)?;
            known.ok_or(StoreError::CursorNotFound)?;
        }
        let query = sqlx::query(
            "SELECT digest, media_type, size FROM objects WHERE digest > ?1 ORDER BY digest LIMIT ?2",
        )
        .bind(after.map(ToString::to_string).unwrap_or_default())
        .bind(to_i64(limit as u64)?);
        fetch_all(&mut conn, query, object_row).await
    }

    async fn stats(&self) -> Result<Stats> {
        let rows = sqlx::query("SELECT name, value FROM counters")
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        let mut stats = Stats::default();
        for row in &rows {
            let value = u64::try_from(row.get::<i64, _>("value"))
                .map_err(|_| StoreError::Corrupt("negative counter".into()))?;
            match row.get::<&str, _>("name") {
                "packages" => stats.packages = value,
                "releases" => stats.releases = value,
                "events" => stats.events = value,
                "objects" => stats.objects = value,
                _ => {}
            }
        }
        Ok(stats)
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(backend)
    }
}
