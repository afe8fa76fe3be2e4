//! The `RegistryDb` queries, and the macro that instantiates the whole
//! shared body (rows, writes, registry, log) for one backend.

/// Implements `RegistryDb` and `LogStore` for `$adapter` on the sqlx
/// database `$db`, in a private module `shared` beside the adapter. The
/// adapter provides the hooks listed in [`crate::sql`].
macro_rules! sql_adapter {
    ($adapter:ident, $db:ty) => {
        mod shared {
            use async_trait::async_trait;
            use bytes::Bytes;
            use regesta_protocol::{
                ChannelName, Digest, ObjectDescriptor, PackageId, Timestamp, Version,
            };
            use sqlx::Row;

            use super::$adapter;
            use $crate::decode::{self, to_i64, to_u64};
            use $crate::error::{Result, StoreError};
            use $crate::log::{LogCheckpoint, LogCommit, LogIdentity, LogStore};
            use $crate::model::{
                ChannelCommit, ChannelRecord, LogHead, PackageRecord, PublishCommit,
                ReleaseDocuments, ReleaseRecord, Stats, StoredEvent,
            };
            use $crate::sql::{backend, conflict};
            use $crate::traits::RegistryDb;

            $crate::sql::sql_rows!($db);
            $crate::sql::sql_writes!($db);
            $crate::sql::sql_log!($adapter, $db);

            /// The rows of one publish — release, event, replay marker,
            /// head, channel, objects, counters — inside the caller's
            /// transaction (the backend decides how transactions commit).
            #[allow(
                dead_code,
                reason = "SQLite writes a publish as one script (`sqlite::publish`)"
            )]
            pub(super) async fn publish_rows(tx: &mut Tx, c: &PublishCommit) -> Result<u64> {
                $crate::sql::bind_release!(sqlx::query($crate::sql::INSERT_RELEASE), c)
                .execute(&mut **tx)
                .await
                .map_err(conflict(|| StoreError::ReleaseExists))?;
                if let Some(key) = &c.version_key {
                    sqlx::query("INSERT INTO release_keys (package, version_key, version) VALUES ($1, $2, $3)")
                        .bind(c.package.as_str())
                        .bind(key)
                        .bind(c.version.as_str())
                        .execute(&mut **tx)
                        .await
                        .map_err(conflict(|| StoreError::ReleaseExists))?;
                }
                if let Some(name_key) = &c.name_key {
                    claim_name(tx, name_key, &c.package).await?;
                }
                let seq = append(
                    tx,
                    Append {
                        package: &c.package,
                        event_id: &c.event_id,
                        event: (&c.event_bytes, &c.event_listing),
                        time: c.created_at,
                        payload_digest: c.payload_digest,
                        channel: &c.channel,
                        target: Some(&c.version),
                    },
                )
                .await?;
                let mut new_objects = 0;
                for object in &c.objects {
                    new_objects += sqlx::query(
                        "INSERT INTO objects (digest, media_type, size) VALUES ($1, $2, $3)
                         ON CONFLICT (digest) DO NOTHING",
                    )
                    .bind(object.digest.to_string())
                    .bind(object.media_type.as_str())
                    .bind(to_i64(object.size)?)
                    .execute(&mut **tx)
                    .await
                    .map_err(backend)?
                    .rows_affected();
                }
                bump(tx, "objects", new_objects).await?;
                bump(tx, "releases", 1).await?;
                Ok(seq)
            }

            /// Claims `name_key` for `package` inside the publish's
            /// transaction: a no-op when the package holds it already,
            /// [`StoreError::NameTaken`] when another package does. The
            /// insert waits for a concurrent claim of the same key, so of
            /// two racing first publishes only one holds it.
            #[allow(
                dead_code,
                reason = "SQLite writes a publish as one script (`sqlite::publish`)"
            )]
            async fn claim_name(tx: &mut Tx, name_key: &str, package: &PackageId) -> Result<()> {
                sqlx::query(
                    "INSERT INTO package_keys (name_key, package) VALUES ($1, $2)
                     ON CONFLICT (name_key) DO NOTHING",
                )
                .bind(name_key)
                .bind(package.as_str())
                .execute(&mut **tx)
                .await
                .map_err(backend)?;
                let holder = fetch_opt(
                    &mut **tx,
                    sqlx::query("SELECT package AS id FROM package_keys WHERE name_key = $1").bind(name_key),
                    package_id_row,
                )
                .await?
                .ok_or_else(|| StoreError::Corrupt("a claimed package name key is missing".into()))?;
                if holder == *package {
                    Ok(())
                } else {
                    Err(StoreError::NameTaken(holder))
                }
            }

            fn head_query(id: &PackageId) -> DbQuery<'_> {
                sqlx::query("SELECT head_event, head_time FROM packages WHERE id = $1").bind(id.as_str())
            }

            #[async_trait]
            impl RegistryDb for $adapter {
                async fn commit_publish(&self, c: &PublishCommit) -> Result<u64> {
                    self.commit_publish_rows(c).await
                }

                async fn commit_channel(&self, c: &ChannelCommit) -> Result<u64> {
                    let mut tx = self.begin_write().await?;
                    let current: Option<String> =
                        sqlx::query_scalar("SELECT version FROM channels WHERE package = $1 AND channel = $2")
                            .bind(c.package.as_str())
                            .bind(c.channel.as_str())
                            .fetch_optional(&mut *tx)
                            .await
                            .map_err(backend)?;
                    if current.as_deref() != c.expected.as_ref().map(Version::as_str) {
                        return Err(StoreError::StaleChannel);
                    }
                    let seq = append(
                        &mut tx,
                        Append {
                            package: &c.package,
                            event_id: &c.event_id,
                            event: (&c.event_bytes, &c.event_listing),
                            time: c.timestamp,
                            payload_digest: c.payload_digest,
                            channel: &c.channel,
                            target: c.target.as_ref(),
                        },
                    )
                    .await?;
                    tx.commit().await.map_err(backend)?;
                    Ok(seq)
                }

                async fn package_head(&self, id: &PackageId) -> Result<Option<(Digest, Timestamp)>> {
                    let mut conn = self.read_pool().acquire().await.map_err(backend)?;
                    fetch_opt(&mut conn, head_query(id), head_row).await
                }

                async fn package_ids(&self, prefix: &str, limit: usize) -> Result<std::sync::Arc<[PackageId]>> {
                    // An exact prefix comparison: a range on the key would
                    // follow PostgreSQL's collation, `LIKE` treats `_` as a
                    // wildcard (and is case-blind in SQLite).
                    let Ok(len) = i32::try_from(prefix.len()) else {
                        return Ok(std::sync::Arc::from([]));
                    };
                    let mut conn = self.read_pool().acquire().await.map_err(backend)?;
                    let mut ids = fetch_all(
                        &mut conn,
                        sqlx::query("SELECT id FROM packages WHERE substr(id, 1, $2) = $1 ORDER BY id LIMIT $3")
                            .bind(prefix)
                            .bind(len)
                            .bind(i64::try_from(limit).unwrap_or(i64::MAX)),
                        package_id_row,
                    )
                    .await?;
                    ids.sort_by(|a, b| a.as_str().cmp(b.as_str()));
                    Ok(ids.into())
                }

                async fn package_named(&self, name_key: &str) -> Result<Option<PackageId>> {
                    let mut conn = self.read_pool().acquire().await.map_err(backend)?;
                    fetch_opt(
                        &mut conn,
                        sqlx::query("SELECT package AS id FROM package_keys WHERE name_key = $1").bind(name_key),
                        package_id_row,
                    )
                    .await
                }

                async fn package(&self, id: &PackageId) -> Result<Option<PackageRecord>> {
                    // One snapshot for the head, releases and channels.
                    let mut tx = self.begin_snapshot().await?;
                    let head = fetch_opt(&mut tx, head_query(id), head_row).await?;
                    let Some((head_event, head_time)) = head else {
                        return Ok(None);
                    };
                    let releases = fetch_all(
                        &mut tx,
                        sqlx::query(
                            "SELECT version, manifest_digest, created_at, event_id, facts FROM releases
                             WHERE package = $1 ORDER BY created_ms, version",
                        )
                        .bind(id.as_str()),
                        release_row,
                    )
                    .await?;
                    let channels = fetch_all(
                        &mut tx,
                        sqlx::query(
                            "SELECT channel, version, event_id FROM channels WHERE package = $1 ORDER BY channel",
                        )
                        .bind(id.as_str()),
                        channel_row,
                    )
                    .await?;
                    tx.commit().await.map_err(backend)?;
                    Ok(Some(PackageRecord {
                        releases,
                        channels,
                        head_event,
                        head_time,
                    }))
                }

                async fn release(&self, id: &PackageId, version: &Version) -> Result<Option<ReleaseRecord>> {
                    if let Some(point) = self.point_reads() {
                        return point.release(id, version);
                    }
                    let mut conn = self.read_pool().acquire().await.map_err(backend)?;
                    let query = sqlx::query(
                        "SELECT version, manifest_digest, created_at, event_id, facts FROM releases
                         WHERE package = $1 AND version = $2",
                    )
                    .bind(id.as_str())
                    .bind(version.as_str());
                    fetch_opt(&mut conn, query, release_row).await
                }

                async fn replay_marked(&self, payload_digest: &Digest) -> Result<bool> {
                    if let Some(point) = self.point_reads() {
                        return point.replay_marked(payload_digest);
                    }
                    let mut conn = self.read_pool().acquire().await.map_err(backend)?;
                    let row = sqlx::query("SELECT 1 FROM replay WHERE payload_digest = $1")
                        .bind(payload_digest.to_string())
                        .fetch_optional(&mut *conn)
                        .await
                        .map_err(backend)?;
                    Ok(row.is_some())
                }

                async fn release_documents(
                    &self,
                    id: &PackageId,
                    version: &Version,
                ) -> Result<Option<ReleaseDocuments>> {
                    if let Some(point) = self.point_reads() {
                        return point.release_documents(id, version);
                    }
                    let mut conn = self.read_pool().acquire().await.map_err(backend)?;
                    let query = sqlx::query(
                        "SELECT event_id, envelope, envelope_listing FROM releases WHERE package = $1 AND version = $2",
                    )
                    .bind(id.as_str())
                    .bind(version.as_str());
                    fetch_opt(&mut conn, query, |row| {
                        decode::release_documents(
                            row.get("event_id"),
                            row.get("envelope"),
                            row.get("envelope_listing"),
                        )
                    })
                    .await
                }

                async fn channel(
                    &self,
                    id: &PackageId,
                    channel: &ChannelName,
                ) -> Result<Option<ChannelRecord>> {
                    let mut conn = self.read_pool().acquire().await.map_err(backend)?;
                    let query = sqlx::query(
                        "SELECT channel, version, event_id FROM channels WHERE package = $1 AND channel = $2",
                    )
                    .bind(id.as_str())
                    .bind(channel.as_str());
                    fetch_opt(&mut conn, query, channel_row).await
                }

                async fn event(&self, id: &Digest) -> Result<Option<StoredEvent>> {
                    let mut conn = self.read_pool().acquire().await.map_err(backend)?;
                    let query =
                        sqlx::query("SELECT seq, id, package, bytes, listing FROM events WHERE id = $1")
                            .bind(id.to_string());
                    fetch_opt(&mut conn, query, stored_event).await
                }

                async fn events_after(&self, after: Option<&Digest>, limit: usize) -> Result<Vec<StoredEvent>> {
                    if let Some(point) = self.point_reads() {
                        let after = after.copied();
                        return point.scan(move |p| p.events_after(after.as_ref(), limit)).await;
                    }
                    let mut conn = self.read_pool().acquire().await.map_err(backend)?;
                    let start: i64 = match after {
                        None => 0,
                        Some(d) => sqlx::query_scalar("SELECT seq FROM events WHERE id = $1")
                            .bind(d.to_string())
                            .fetch_optional(&mut *conn)
                            .await
                            .map_err(backend)?
                            .ok_or(StoreError::CursorNotFound)?,
                    };
                    let query = sqlx::query(
                        "SELECT seq, id, package, bytes, listing FROM events WHERE seq > $1 ORDER BY seq LIMIT $2",
                    )
                    .bind(start)
                    .bind(to_i64(limit as u64)?);
                    fetch_all(&mut conn, query, stored_event).await
                }

                async fn log_head(&self) -> Result<Option<LogHead>> {
                    let mut conn = self.read_pool().acquire().await.map_err(backend)?;
                    let query = sqlx::query("SELECT seq, id FROM events ORDER BY seq DESC LIMIT 1");
                    fetch_opt(&mut conn, query, |r| {
                        Ok(LogHead {
                            last: Digest::parse(r.get("id")).map_err(decode::corrupt("event id"))?,
                            count: to_u64(r.get("seq"), "sequence")?,
                        })
                    })
                    .await
                }

                async fn object(&self, digest: &Digest) -> Result<Option<ObjectDescriptor>> {
                    if let Some(point) = self.point_reads() {
                        return point.object(digest);
                    }
                    let mut conn = self.read_pool().acquire().await.map_err(backend)?;
                    let query = sqlx::query("SELECT digest, media_type, size FROM objects WHERE digest = $1")
                        .bind(digest.to_string());
                    fetch_opt(&mut conn, query, object_row).await
                }

                async fn objects_after(
                    &self,
                    after: Option<&Digest>,
                    limit: usize,
                ) -> Result<Vec<ObjectDescriptor>> {
                    let mut conn = self.read_pool().acquire().await.map_err(backend)?;
                    if let Some(d) = after {
                        let known: Option<String> =
                            sqlx::query_scalar("SELECT digest FROM objects WHERE digest = $1")
                                .bind(d.to_string())
                                .fetch_optional(&mut *conn)
                                .await
                                .map_err(backend)?;
                        known.ok_or(StoreError::CursorNotFound)?;
                    }
                    let query = sqlx::query(
                        "SELECT digest, media_type, size FROM objects WHERE digest > $1 ORDER BY digest LIMIT $2",
                    )
                    .bind(after.map(ToString::to_string).unwrap_or_default())
                    .bind(to_i64(limit as u64)?);
                    fetch_all(&mut conn, query, object_row).await
                }

                async fn stats(&self) -> Result<Stats> {
                    let rows = sqlx::query("SELECT name, value FROM counters")
                        .fetch_all(self.read_pool())
                        .await
                        .map_err(backend)?;
                    let mut stats = Stats::default();
                    for row in &rows {
                        let value = to_u64(row.get("value"), "counter")?;
                        match row.get::<&str, _>("name") {
                            "packages" => stats.packages = value,
                            "releases" => stats.releases = value,
                            "events" => stats.events = value,
                            "objects" => stats.objects = value,
                            _ => {}
                        }
                    }
                    Ok(stats)
                }

                async fn ping(&self) -> Result<()> {
                    sqlx::query("SELECT 1")
                        .execute(self.read_pool())
                        .await
                        .map(|_| ())
                        .map_err(backend)
                }
            }
        }
    };
}

pub(crate) use sql_adapter;
