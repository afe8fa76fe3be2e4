//! The embedded schema. Statements are idempotent (`IF NOT EXISTS`), so
//! opening runs them all, then adds the [`COLUMNS`] an older database lacks;
//! the `meta.schema` row refuses databases written by a newer build.

/// Schema version this build writes; opening a newer database is refused.
/// 2: `releases.facts`. 3: transparency log tables.
pub const SCHEMA_VERSION: i64 = 3;

/// Columns added after version 1: `(table, column, statement adding it)`,
/// run when the column is missing (SQLite has no `ADD COLUMN IF NOT
/// EXISTS`).
pub(super) const COLUMNS: &[(&str, &str, &str)] = &[
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

pub(super) const SCHEMA: &[&str] = &[
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
    // Transparency log: hash tiles (grown in place until full), every
    // signed checkpoint by size, and leases (one sequencer at a time).
    "CREATE TABLE IF NOT EXISTS log_tiles (
        level INTEGER NOT NULL,
        idx INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (level, idx))",
    "CREATE TABLE IF NOT EXISTS log_checkpoints (
        size INTEGER PRIMARY KEY,
        root BLOB NOT NULL,
        note BLOB NOT NULL)",
    // Who the log is (one row, written when the log is created).
    "CREATE TABLE IF NOT EXISTS log_identity (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        origin TEXT NOT NULL,
        verifier_key TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS leases (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_ms INTEGER NOT NULL)",
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
