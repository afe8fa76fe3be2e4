-- The embedded schema (SQLite). Idempotent, so that a database created
-- before migrations were versioned by sqlx passes through unchanged; its
-- missing columns are added by the adapter after this migration.
-- Never edit an applied migration: add the next file instead.

CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    package TEXT NOT NULL,
    bytes BLOB NOT NULL,
    listing BLOB NOT NULL);

CREATE TABLE IF NOT EXISTS releases (
    package TEXT NOT NULL,
    version TEXT NOT NULL,
    manifest_digest TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    event_id TEXT NOT NULL,
    envelope BLOB NOT NULL,
    envelope_listing BLOB NOT NULL,
    facts BLOB,
    PRIMARY KEY (package, version));

CREATE TABLE IF NOT EXISTS channels (
    package TEXT NOT NULL,
    channel TEXT NOT NULL,
    version TEXT NOT NULL,
    event_id TEXT NOT NULL,
    PRIMARY KEY (package, channel));

CREATE TABLE IF NOT EXISTS packages (
    id TEXT PRIMARY KEY,
    head_event TEXT NOT NULL,
    head_time TEXT NOT NULL);

CREATE TABLE IF NOT EXISTS replay (payload_digest TEXT PRIMARY KEY);

CREATE TABLE IF NOT EXISTS log_tiles (
    level INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (level, idx));

CREATE TABLE IF NOT EXISTS log_checkpoints (
    size INTEGER PRIMARY KEY,
    root BLOB NOT NULL,
    note BLOB NOT NULL,
    cosigned BLOB);

CREATE TABLE IF NOT EXISTS log_identity (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    origin TEXT NOT NULL,
    verifier_key TEXT NOT NULL);

CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_ms INTEGER NOT NULL);

CREATE TABLE IF NOT EXISTS objects (
    digest TEXT PRIMARY KEY,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL);

CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);

INSERT OR IGNORE INTO counters (name, value) VALUES
    ('packages', (SELECT COUNT(*) FROM packages)),
    ('releases', (SELECT COUNT(*) FROM releases)),
    ('events', (SELECT COUNT(*) FROM events)),
    ('objects', (SELECT COUNT(*) FROM objects));
