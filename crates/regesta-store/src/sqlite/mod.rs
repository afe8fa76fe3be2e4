//! The embedded registry database: SQLite in WAL mode with full
//! synchronous commits, one writer at a time (`BEGIN IMMEDIATE` on a
//! one-connection write pool, so writers queue in order instead of sleeping
//! in SQLite's busy handler), the views updated in the same transaction as
//! the event insert. Reads use their own pool and never wait for a writer.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use regesta_protocol::{ChannelName, Digest, ObjectDescriptor, PackageId, Timestamp, Version};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Row, Sqlite, Transaction};

mod log;
mod rows;
mod schema;
mod write;

use rows::{
    SqliteQuery, backend, channel_row, conflict, corrupt, fetch_all, fetch_opt, head_row,
    object_row, release_row, stored_event, to_i64, to_u64,
};
pub use schema::SCHEMA_VERSION;
use schema::{COLUMNS, SCHEMA};
use write::{Append, append, bump};

use crate::error::{Result, StoreError};
use crate::model::{
    ChannelCommit, ChannelRecord, Durability, LogHead, PackageRecord, PublishCommit,
    ReleaseDocuments, ReleaseRecord, Stats, StoredEvent,
};
use crate::traits::RegistryDb;

/// SQLite registry metadata.
#[derive(Debug, Clone)]
pub struct SqliteDb {
    pool: SqlitePool,
    writer: SqlitePool,
}

impl SqliteDb {
    /// Opens (creating and migrating) `data_dir/registry.sqlite3`.
    ///
    /// # Errors
    /// The file cannot be opened, or its schema is newer than this build.
    pub async fn open(data_dir: &Path) -> Result<Self> {
        Self::open_with(data_dir, Durability::Full).await
    }

    /// As [`Self::open`], with `durability` choosing `synchronous = FULL`
    /// or `OFF`.
    ///
    /// # Errors
    /// As [`Self::open`].
    pub async fn open_with(data_dir: &Path, durability: Durability) -> Result<Self> {
        std::fs::create_dir_all(data_dir)?;
        let synchronous = match durability {
            Durability::Full => SqliteSynchronous::Full,
            Durability::Deferred => SqliteSynchronous::Off,
        };
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(backend)?
            .filename(data_dir.join("registry.sqlite3"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(synchronous)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await
            .map_err(backend)?;
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(backend)?;
        let db = Self { pool, writer };
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
        for (table, column, add) in COLUMNS {
            let present: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM pragma_table_info(?1) WHERE name = ?2")
                    .bind(table)
                    .bind(column)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(backend)?;
            if present == 0 {
                sqlx::query(*add).execute(&mut *tx).await.map_err(backend)?;
            }
        }
        let found: Option<i64> = sqlx::query_scalar("SELECT value FROM meta WHERE key = 'schema'")
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
        match found {
            Some(v) if v > SCHEMA_VERSION => {
                return Err(StoreError::Backend(format!(
                    "database schema {v} is newer than this build ({SCHEMA_VERSION}); upgrade regesta"
                ).into()));
            }
            Some(_) | None => {
                sqlx::query("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?1)")
                    .bind(SCHEMA_VERSION)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
            }
        }
        tx.commit().await.map_err(backend)
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>> {
        self.writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(backend)
    }
}

fn head_query(id: &PackageId) -> SqliteQuery<'_> {
    sqlx::query("SELECT head_event, head_time FROM packages WHERE id = ?1").bind(id.as_str())
}

#[async_trait]
impl RegistryDb for SqliteDb {
    async fn commit_publish(&self, c: &PublishCommit) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO releases
                (package, version, manifest_digest, created_at, created_ms, event_id,
                 envelope, envelope_listing, facts)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .bind(c.package.as_str())
        .bind(c.version.as_str())
        .bind(c.manifest_digest.to_string())
        .bind(c.created_at.to_string())
        .bind(c.created_at.unix_millis())
        .bind(c.event_id.to_string())
        .bind(c.documents.envelope.as_ref())
        .bind(c.documents.listing.as_ref())
        .bind(c.facts.as_deref())
        .execute(&mut *tx)
        .await
        .map_err(conflict(|| StoreError::ReleaseExists))?;
        let seq = append(
            &mut tx,
            Append {
                package: &c.package,
                event_id: &c.event_id,
                event: (&c.event_bytes, &c.event_listing),
                time: c.created_at,
                payload_digest: c.payload_digest,
                channel: &c.channel,
                target: Some(&c.version),
            },
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
        let seq = append(
            &mut tx,
            Append {
                package: &c.package,
                event_id: &c.event_id,
                event: (&c.event_bytes, &c.event_listing),
                time: c.timestamp,
                payload_digest: c.payload_digest,
                channel: &c.channel,
                target: c.target.as_ref(),
            },
        )
        .await?;
        tx.commit().await.map_err(backend)?;
        Ok(seq)
    }

    async fn package_head(&self, id: &PackageId) -> Result<Option<(Digest, Timestamp)>> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        fetch_opt(&mut conn, head_query(id), head_row).await
    }

    async fn package(&self, id: &PackageId) -> Result<Option<PackageRecord>> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        let head = fetch_opt(&mut conn, head_query(id), head_row).await?;
        let Some((head_event, head_time)) = head else {
            return Ok(None);
        };
        let releases = fetch_all(
            &mut conn,
            sqlx::query(
                "SELECT version, manifest_digest, created_at, event_id, facts FROM releases
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
            "SELECT version, manifest_digest, created_at, event_id, facts FROM releases
             WHERE package = ?1 AND version = ?2",
        )
        .bind(id.as_str())
        .bind(version.as_str());
        fetch_opt(&mut conn, query, release_row).await
    }

    async fn replay_marked(&self, payload_digest: &Digest) -> Result<bool> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        let row = sqlx::query("SELECT 1 FROM replay WHERE payload_digest = ?1")
            .bind(payload_digest.to_string())
            .fetch_optional(&mut *conn)
            .await
            .map_err(backend)?;
        Ok(row.is_some())
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
                count: to_u64(seq, "sequence")?,
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
            let value = to_u64(row.get("value"), "counter")?;
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
