//! The embedded schema: `migrations/sqlite/`, applied by sqlx's migrator
//! (versions in `_sqlx_migrations`; a database migrated by a newer build is
//! refused). Databases created before the schema was versioned by sqlx
//! lack columns that `CREATE TABLE IF NOT EXISTS` cannot add; the adapter
//! adds the [`LEGACY_COLUMNS`] they miss after migrating.

/// The embedded migrations.
pub(super) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Columns an unversioned database may lack: `(table, column, statement
/// adding it)` (SQLite has no `ADD COLUMN IF NOT EXISTS`).
pub(super) const LEGACY_COLUMNS: &[(&str, &str, &str)] = &[
    (
        "releases",
        "facts",
        "ALTER TABLE releases ADD COLUMN facts BLOB",
    ),
    (
        "log_checkpoints",
        "cosigned",
        "ALTER TABLE log_checkpoints ADD COLUMN cosigned BLOB",
    ),
];
