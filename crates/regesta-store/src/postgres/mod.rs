//! The scale-out registry database: PostgreSQL. Every write runs in one
//! transaction that first locks the `events` counter row, so writers are
//! serialized, sequence numbers are assigned gap-free in commit order, and
//! unique constraints decide conflicts (duplicate release, replayed
//! authorization). Any number of stateless servers can share it.

use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};

mod schema;

use schema::{LOG_LOCK, MIGRATOR};

use crate::error::Result;
use crate::sql::{backend, migrate_error};

/// Pool settings.
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    /// Most connections.
    pub max_connections: u32,
    /// Longest wait for a connection.
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

/// PostgreSQL registry metadata.
#[derive(Debug, Clone)]
pub struct PostgresDb {
    pool: PgPool,
}

impl PostgresDb {
    /// Connects to `url` and applies the migrations this build knows.
    ///
    /// # Errors
    /// Unreachable database, or a schema newer than this build.
    pub async fn open(url: &str, settings: PoolSettings) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout)
            .connect(url)
            .await
            .map_err(backend)?;
        let db = Self { pool };
        db.migrate().await?;
        Ok(db)
    }

    async fn migrate(&self) -> Result<()> {
        MIGRATOR.run(&self.pool).await.map_err(migrate_error)
    }

    // The hooks of the shared SQL body (`crate::sql`).

    /// An event writer's transaction: it first locks the `events` counter
    /// row, so writers run one at a time, in commit order.
    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>> {
        let mut tx = self.begin_small().await?;
        sqlx::query("SELECT value FROM counters WHERE name = 'events' FOR UPDATE")
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        Ok(tx)
    }

    /// A log commit's transaction, serialized with other log commits by an
    /// advisory lock (event writers are not held up).
    async fn begin_log(&self) -> Result<Transaction<'static, Postgres>> {
        let mut tx = self.begin_small().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(LOG_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        Ok(tx)
    }

    async fn begin_small(&self) -> Result<Transaction<'static, Postgres>> {
        self.pool.begin().await.map_err(backend)
    }

    /// One read-only snapshot across several tables.
    async fn begin_snapshot(&self) -> Result<Transaction<'static, Postgres>> {
        let mut tx = self.begin_small().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        Ok(tx)
    }

    /// One publish, in its own transaction.
    async fn commit_publish_rows(&self, c: &crate::model::PublishCommit) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let seq = shared::publish_rows(&mut tx, c).await?;
        tx.commit().await.map_err(backend)?;
        Ok(seq)
    }

    fn read_pool(&self) -> &PgPool {
        &self.pool
    }

    fn write_pool(&self) -> &PgPool {
        &self.pool
    }

    #[allow(
        clippy::unused_self,
        reason = "a hook of the shared SQL body; PostgreSQL reads through its pool"
    )]
    fn point_reads(&self) -> Option<&std::sync::Arc<crate::sqlite::PointReads>> {
        None
    }
}

crate::sql::sql_adapter!(PostgresDb, sqlx::Postgres);
