//! The scale-out registry database: PostgreSQL. Every write runs in one
//! transaction that first locks the `events` counter row, so writers are
//! serialized, sequence numbers are assigned gap-free in commit order, and
//! unique constraints decide conflicts (duplicate release, replayed
//! authorization). Any number of stateless servers can share it.

use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};

mod schema;

pub use schema::SCHEMA_VERSION;
use schema::{LOG_LOCK, MIGRATION_LOCK, MIGRATIONS};

use crate::error::{Result, StoreError};
use crate::sql::backend;

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
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS regesta_migrations (
                version BIGINT PRIMARY KEY,
                applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM regesta_migrations")
            .fetch_all(&mut *tx)
            .await
            .map_err(backend)?;
        if let Some(newest) = applied.iter().max().filter(|v| **v > SCHEMA_VERSION) {
            return Err(StoreError::Backend(format!(
                "database schema {newest} is newer than this build ({SCHEMA_VERSION}); upgrade regesta"
            ).into()));
        }
        for (version, statements) in MIGRATIONS {
            if applied.contains(version) {
                continue;
            }
            for statement in *statements {
                sqlx::query(*statement)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
            }
            sqlx::query("INSERT INTO regesta_migrations (version) VALUES ($1)")
                .bind(version)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
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

    fn read_pool(&self) -> &PgPool {
        &self.pool
    }

    fn write_pool(&self) -> &PgPool {
        &self.pool
    }
}

crate::sql::sql_adapter!(PostgresDb, sqlx::Postgres);
