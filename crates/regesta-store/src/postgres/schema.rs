//! Versioned migrations. Each runs once, in order, in one transaction
//! under an advisory lock (replicas starting together wait for each other);
//! a database migrated by a newer build is refused.

/// The newest migration this build knows.
/// 2: `log_identity`, the log's origin and key, recorded once.
pub const SCHEMA_VERSION: i64 = 2;

/// Advisory lock key serializing migrations (any constant works).
pub(super) const MIGRATION_LOCK: i64 = 0x7265_6765_7374_6101;

/// Advisory lock key serializing transparency-log commits.
pub(super) const LOG_LOCK: i64 = 0x7265_6765_7374_6102;

pub(super) const MIGRATIONS: &[(i64, &[&str])] = &[
    (
        1,
        &[
            "CREATE TABLE events (
            seq BIGINT PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            package TEXT NOT NULL,
            bytes BYTEA NOT NULL,
            listing BYTEA NOT NULL)",
            "CREATE TABLE releases (
            package TEXT NOT NULL,
            version TEXT NOT NULL,
            manifest_digest TEXT NOT NULL,
            created_at TEXT NOT NULL,
            created_ms BIGINT NOT NULL,
            event_id TEXT NOT NULL,
            envelope BYTEA NOT NULL,
            envelope_listing BYTEA NOT NULL,
            facts BYTEA,
            PRIMARY KEY (package, version))",
            "CREATE INDEX releases_by_time ON releases (package, created_ms, version)",
            "CREATE TABLE channels (
            package TEXT NOT NULL,
            channel TEXT NOT NULL,
            version TEXT NOT NULL,
            event_id TEXT NOT NULL,
            PRIMARY KEY (package, channel))",
            "CREATE TABLE packages (
            id TEXT PRIMARY KEY,
            head_event TEXT NOT NULL,
            head_time TEXT NOT NULL)",
            "CREATE TABLE replay (payload_digest TEXT PRIMARY KEY)",
            "CREATE TABLE objects (
            digest TEXT PRIMARY KEY,
            media_type TEXT NOT NULL,
            size BIGINT NOT NULL)",
            // The `events` counter is also the sequence: writers lock its row
            // for the whole transaction, so numbers are assigned in commit
            // order and a rolled-back write leaves no gap.
            "CREATE TABLE counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL)",
            "INSERT INTO counters (name, value) VALUES
            ('packages', 0), ('releases', 0), ('events', 0), ('objects', 0)",
            "CREATE TABLE log_tiles (
            level SMALLINT NOT NULL,
            idx BIGINT NOT NULL,
            data BYTEA NOT NULL,
            PRIMARY KEY (level, idx))",
            "CREATE TABLE log_checkpoints (
            size BIGINT PRIMARY KEY,
            root BYTEA NOT NULL,
            note BYTEA NOT NULL,
            cosigned BYTEA)",
            "CREATE TABLE leases (
            name TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            expires_ms BIGINT NOT NULL)",
        ],
    ),
    (
        2,
        &["CREATE TABLE log_identity (
            id SMALLINT PRIMARY KEY CHECK (id = 1),
            origin TEXT NOT NULL,
            verifier_key TEXT NOT NULL)"],
    ),
];
