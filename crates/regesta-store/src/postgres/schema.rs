//! The scale-out schema: `migrations/postgres/`, applied by sqlx's
//! migrator, which holds an advisory lock while it runs (replicas starting
//! together wait for each other) and refuses a database migrated by a newer
//! build.

/// The PostgreSQL migrations.
pub(super) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Advisory lock key serializing transparency-log commits.
pub(super) const LOG_LOCK: i64 = 0x7265_6765_7374_6102;
