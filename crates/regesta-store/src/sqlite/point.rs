//! Point reads and the log's scans on the embedded database, without
//! sqlx's worker thread: lookups on the caller's thread, scans on the
//! blocking pool.
//!
//! sqlx runs every SQLite statement on a worker thread of its own: a read
//! is a message to that thread and a reply back, two thread wake-ups
//! that cost more than a primary-key lookup in pages SQLite or the
//! kernel already holds. A mirror or a cold cache asks for tens of
//! thousands of objects and releases one by one, and every publish checks
//! its release and replay rows before writing anything, so those lookups
//! go through plain SQLite connections here instead, without a hop. A lookup
//! reads a handful of pages; like nginx reading a file in its event loop,
//! it blocks the request's thread only when those pages are not in
//! memory. The event log's pages and the transparency log's entry
//! bundles are read here too, on the blocking pool (each is a scan of up
//! to a thousand rows): through sqlx, every column of every row was first
//! copied into a value of its own, and a mirror or verifier of a large
//! log spent a fifth of the server's time there. Writes and the other
//! multi-statement reads stay on sqlx.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use regesta_protocol::{Digest, ObjectDescriptor, PackageId, Version};
use rusqlite::{Connection, OpenFlags, OptionalExtension as _};

use crate::decode;
use crate::error::{Result, StoreError};
use crate::model::{ReleaseDocuments, ReleaseRecord, StoredEvent};

/// Idle connections kept for reuse (more are opened under a burst of
/// concurrent lookups, then closed).
const KEPT: usize = 16;

/// A pool of connections for point reads, opened on demand.
#[derive(Debug)]
pub(crate) struct PointReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl PointReads {
    /// Point reads of the database file at `path` (opened and migrated by
    /// sqlx first: these connections only ever read).
    pub(crate) fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            idle: Mutex::default(),
        }
    }

    /// Closes the idle connections (before the final checkpoint).
    pub(crate) fn close(&self) {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Runs `read` on an idle connection (or a new one) and puts the
    /// connection back unless the read failed.
    fn with<T>(&self, read: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self.open().map_err(database_error)?,
        };
        let out = read(&conn).map_err(database_error)?;
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < KEPT {
            idle.push(conn);
        }
        Ok(out)
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // The same wait as the sqlx pools: a reader in WAL mode waits only
        // while another connection recovers the log after a crash.
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update(None, "query_only", true)?;
        Ok(conn)
    }

    /// The one row `sql` selects with `params`, its columns taken by
    /// `columns` and decoded by `decode`; `None` when there is none.
    fn one<R, T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        columns: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<R>,
        decode: impl FnOnce(R) -> Result<T>,
    ) -> Result<Option<T>> {
        self.with(|conn| {
            conn.prepare_cached(sql)?
                .query_row(params, columns)
                .optional()
        })?
        .map(decode)
        .transpose()
    }

    /// The descriptor of object `digest`, if indexed.
    pub(crate) fn object(&self, digest: &Digest) -> Result<Option<ObjectDescriptor>> {
        self.one(
            "SELECT media_type, size FROM objects WHERE digest = ?1",
            [digest.to_string()],
            |row| Ok((row.get::<_, String>(0)?, row.get(1)?)),
            |(media_type, size)| decode::object_parts(*digest, &media_type, size),
        )
    }

    /// The row of release `id@version`, if published (a publish checks
    /// it before writing any object).
    pub(crate) fn release(
        &self,
        id: &PackageId,
        version: &Version,
    ) -> Result<Option<ReleaseRecord>> {
        self.one(
            "SELECT version, manifest_digest, created_at, event_id, facts FROM releases
             WHERE package = ?1 AND version = ?2",
            [id.as_str(), version.as_str()],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get(4)?,
                ))
            },
            |(version, manifest, created, event, facts)| {
                decode::release(&version, &manifest, &created, &event, facts)
            },
        )
    }

    /// Whether a write authorization with this payload digest was used
    /// (a publish checks it before writing any object).
    pub(crate) fn replay_marked(&self, payload_digest: &Digest) -> Result<bool> {
        self.with(|conn| {
            conn.prepare_cached("SELECT 1 FROM replay WHERE payload_digest = ?1")?
                .exists([payload_digest.to_string()])
        })
    }

    /// The stored documents of release `id@version`, if published.
    pub(crate) fn release_documents(
        &self,
        id: &PackageId,
        version: &Version,
    ) -> Result<Option<ReleaseDocuments>> {
        self.one(
            "SELECT event_id, envelope, envelope_listing FROM releases
             WHERE package = ?1 AND version = ?2",
            [id.as_str(), version.as_str()],
            |row| Ok((row.get::<_, String>(0)?, row.get(1)?, row.get(2)?)),
            |(event_id, envelope, listing)| decode::release_documents(&event_id, envelope, listing),
        )
    }

    /// Runs `read` (a scan) on the blocking pool, not on the request's
    /// thread.
    ///
    /// # Errors
    /// The one `read` returned, or the blocking task failed.
    pub(crate) async fn scan<T: Send + 'static>(
        self: &Arc<Self>,
        read: impl FnOnce(&Self) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let point = Arc::clone(self);
        tokio::task::spawn_blocking(move || read(&point))
            .await
            .map_err(|e| StoreError::Backend(e.into()))?
    }

    /// The stored hash tile `index` of `level`, if any (a mirror or
    /// verifier reads hundreds of them, one by one).
    pub(crate) fn log_tile(&self, level: u8, index: u64) -> Result<Option<bytes::Bytes>> {
        let index = decode::to_i64(index)?;
        self.one(
            "SELECT data FROM log_tiles WHERE level = ?1 AND idx = ?2",
            [i64::from(level), index],
            |row| row.get::<_, Vec<u8>>(0),
            |data| Ok(bytes::Bytes::from(data)),
        )
    }

    /// Up to `limit` events after the event `after` (from the log's start
    /// without one), in sequence order. A scan: callers run it through
    /// [`Self::scan`].
    ///
    /// # Errors
    /// [`StoreError::CursorNotFound`] when `after` names no event.
    pub(crate) fn events_after(
        &self,
        after: Option<&Digest>,
        limit: usize,
    ) -> Result<Vec<StoredEvent>> {
        let rows = self.with(|conn| {
            let start: Option<i64> = match after {
                None => Some(0),
                Some(id) => conn
                    .prepare_cached("SELECT seq FROM events WHERE id = ?1")?
                    .query_row([id.to_string()], |row| row.get(0))
                    .optional()?,
            };
            start
                .map(|start| events_past(conn, start, limit))
                .transpose()
        })?;
        decode_events(rows.ok_or(StoreError::CursorNotFound)?)
    }

    /// Up to `limit` events from sequence number `from` on (the log's
    /// entry bundles and sequencer), in sequence order. A scan, as
    /// [`Self::events_after`].
    ///
    /// # Errors
    /// Storage failure.
    pub(crate) fn events_from(&self, from: u64, limit: usize) -> Result<Vec<StoredEvent>> {
        let past = decode::to_i64(from)? - 1;
        decode_events(self.with(|conn| events_past(conn, past, limit))?)
    }
}

/// An event row's columns, as stored.
type EventRow = (i64, String, String, Vec<u8>, Vec<u8>);

/// Up to `limit` event rows with a sequence number above `past`.
fn events_past(conn: &Connection, past: i64, limit: usize) -> rusqlite::Result<Vec<EventRow>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    conn.prepare_cached(
        "SELECT seq, id, package, bytes, listing FROM events
         WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?
    .query_map([past, limit], |row| {
        Ok((
            row.get(0)?,
            row.get(1)?,
            row.get(2)?,
            row.get(3)?,
            row.get(4)?,
        ))
    })?
    .collect()
}

/// Event rows as stored events (ids and package ids parsed back).
fn decode_events(rows: Vec<EventRow>) -> Result<Vec<StoredEvent>> {
    rows.into_iter()
        .map(|(seq, id, package, bytes, listing)| decode::event(seq, &id, &package, bytes, listing))
        .collect()
}

/// A SQLite error as a store error: "full" for `SQLITE_FULL`, as
/// [`crate::error::database_error`] says of sqlx's.
fn database_error(error: rusqlite::Error) -> StoreError {
    if error.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull) {
        StoreError::Full(error.into())
    } else {
        StoreError::Backend(error.into())
    }
}
