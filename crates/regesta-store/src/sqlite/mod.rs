//! The embedded registry database: SQLite in WAL mode with full
//! synchronous commits, one writer at a time (`BEGIN IMMEDIATE` on a
//! one-connection write pool, so writers queue in order instead of sleeping
//! in SQLite's busy handler), the views updated in the same transaction as
//! the event insert. Reads use their own pool and never wait for a writer;
//! primary-key lookups on the cold read path skip sqlx's worker thread
//! (`sqlite::point`).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};

mod group;
mod point;
mod publish;
mod schema;

pub(crate) use point::PointReads;

use schema::{LEGACY_COLUMNS, MIGRATOR};

use crate::error::Result;
use crate::model::Durability;
use crate::sql::{backend, migrate_error};

/// SQLite registry metadata.
#[derive(Debug, Clone)]
pub struct SqliteDb {
    pool: SqlitePool,
    writer: SqlitePool,
    publishes: std::sync::Arc<group::GroupCommit>,
    point: std::sync::Arc<PointReads>,
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
        let file = data_dir.join("registry.sqlite3");
        let synchronous = match durability {
            Durability::Full => SqliteSynchronous::Full,
            Durability::Deferred => SqliteSynchronous::Off,
        };
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(backend)?
            .filename(&file)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(synchronous)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            // Savepoint journals (one per publish in a group commit) in
            // memory, not in a temporary file each.
            .pragma("temp_store", "memory")
            // The write-ahead log file shrinks back to this after a
            // checkpoint, so a burst of writes does not keep its size.
            .pragma("journal_size_limit", "67108864");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .before_acquire(|conn, _| Box::pin(out_of_transaction(conn)))
            .connect_with(options.clone())
            .await
            .map_err(backend)?;
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(backend)?;
        let db = Self {
            pool,
            writer,
            publishes: std::sync::Arc::default(),
            point: std::sync::Arc::new(PointReads::new(&file)),
        };
        db.migrate().await?;
        Ok(db)
    }

    /// Checkpoints the write-ahead log into the database file, empties it
    /// and closes every connection. A process that exits without this
    /// leaves the log behind for the next open to replay, and a bulk load
    /// that outran its checkpoints can leave a large one.
    ///
    /// # Errors
    /// The checkpoint failed (the log stays and is replayed on next open).
    pub async fn close(&self) -> Result<()> {
        self.point.close();
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.writer)
            .await
            .map_err(backend)?;
        self.pool.close().await;
        self.writer.close().await;
        Ok(())
    }

    async fn migrate(&self) -> Result<()> {
        MIGRATOR.run(&self.writer).await.map_err(migrate_error)?;
        let mut tx = self.begin_write().await?;
        for (table, column, add) in LEGACY_COLUMNS {
            let present: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM pragma_table_info($1) WHERE name = $2")
                    .bind(table)
                    .bind(column)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(backend)?;
            if present == 0 {
                sqlx::query(*add).execute(&mut *tx).await.map_err(backend)?;
            }
        }
        tx.commit().await.map_err(backend)
    }

    // The hooks of the shared SQL body (`crate::sql`). Every write, log
    // commit and lease runs on the one-connection writer pool under
    // `BEGIN IMMEDIATE`, so writers queue in order; reads take a deferred
    // transaction, which in WAL mode is one snapshot.

    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>> {
        self.writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(backend)
    }

    async fn begin_log(&self) -> Result<Transaction<'static, Sqlite>> {
        self.begin_write().await
    }

    async fn begin_small(&self) -> Result<Transaction<'static, Sqlite>> {
        self.begin_write().await
    }

    async fn begin_snapshot(&self) -> Result<Transaction<'static, Sqlite>> {
        self.pool.begin().await.map_err(backend)
    }

    /// One publish, committed together with the publishes queued
    /// meanwhile (one WAL sync for the group; see [`group`]).
    async fn commit_publish_rows(&self, c: &crate::model::PublishCommit) -> Result<u64> {
        self.publishes.commit(&self.writer, c).await
    }

    fn read_pool(&self) -> &SqlitePool {
        &self.pool
    }

    fn write_pool(&self) -> &SqlitePool {
        &self.writer
    }

    #[allow(
        clippy::unnecessary_wraps,
        reason = "a hook of the shared SQL body; PostgreSQL has none"
    )]
    fn point_reads(&self) -> Option<&std::sync::Arc<PointReads>> {
        Some(&self.point)
    }
}

crate::sql::sql_adapter!(SqliteDb, sqlx::Sqlite);

/// Whether the writer connection is fit to hand out: not left inside a
/// transaction. SQLite rolls a transaction back by itself on some
/// failures (a full disk); sqlx's own rollback then fails and it keeps
/// counting the transaction open, refusing every later `BEGIN`. Such a
/// connection is closed and replaced rather than poisoning every later
/// write. The ping first lets a rollback queued by a dropped
/// transaction finish.
async fn out_of_transaction(conn: &mut sqlx::SqliteConnection) -> sqlx::Result<bool> {
    use sqlx::Connection as _;
    conn.ping().await?;
    Ok(!conn.is_in_transaction())
}
