-- The scale-out schema (PostgreSQL). Idempotent, so that a database
-- migrated before migrations were versioned by sqlx passes through.
-- Never edit an applied migration: add the next file instead.

-- The `events` counter is also the sequence: writers lock its row for the
-- whole transaction, so numbers are assigned in commit order and a
-- rolled-back write leaves no gap.

CREATE TABLE IF NOT EXISTS events (
    seq BIGINT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    package TEXT NOT NULL,
    bytes BYTEA NOT NULL,
    listing BYTEA NOT NULL);

CREATE TABLE IF NOT EXISTS releases (
    package TEXT NOT NULL,
    version TEXT NOT NULL,
    manifest_digest TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    event_id TEXT NOT NULL,
    envelope BYTEA NOT NULL,
    envelope_listing BYTEA NOT NULL,
    facts BYTEA,
    PRIMARY KEY (package, version));

CREATE INDEX IF NOT EXISTS releases_by_time ON releases (package, created_ms, version);

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

CREATE TABLE IF NOT EXISTS objects (
    digest TEXT PRIMARY KEY,
    media_type TEXT NOT NULL,
    size BIGINT NOT NULL);

CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL);

INSERT INTO counters (name, value) VALUES
    ('packages', 0), ('releases', 0), ('events', 0), ('objects', 0)
ON CONFLICT (name) DO NOTHING;

CREATE TABLE IF NOT EXISTS log_tiles (
    level SMALLINT NOT NULL,
    idx BIGINT NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (level, idx));

CREATE TABLE IF NOT EXISTS log_checkpoints (
    size BIGINT PRIMARY KEY,
    root BYTEA NOT NULL,
    note BYTEA NOT NULL,
    cosigned BYTEA);

CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_ms BIGINT NOT NULL);
