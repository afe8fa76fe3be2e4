//! The transparency log's tables, per backend: tiles and checkpoint move
//! together in one transaction (log commits serialized by the backend's
//! `begin_log`), guarded by the latest checkpoint's size.

/// `LogStore` for `$adapter` on the sqlx database `$db`.
macro_rules! sql_log {
    ($adapter:ty, $db:ty) => {
        fn checkpoint_row(r: &<$db as sqlx::Database>::Row) -> Result<LogCheckpoint> {
            let root: Vec<u8> = r.get("root");
            Ok(LogCheckpoint {
                size: to_u64(r.get("size"), "log size")?,
                root: root
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("log root is not 32 bytes".into()))?,
                note: Bytes::from(r.get::<Vec<u8>, _>("note")),
            })
        }

        #[async_trait]
        impl LogStore for $adapter {
            async fn events_from(&self, from: u64, limit: usize) -> Result<Vec<StoredEvent>> {
                if let Some(point) = self.point_reads() {
                    return point.scan(move |p| p.events_from(from, limit)).await;
                }
                let mut conn = self.read_pool().acquire().await.map_err(backend)?;
                let query = sqlx::query(
                    "SELECT seq, id, package, bytes, listing FROM events WHERE seq >= $1 ORDER BY seq LIMIT $2",
                )
                .bind(to_i64(from)?)
                .bind(to_i64(limit as u64)?);
                fetch_all(&mut conn, query, stored_event).await
            }

            async fn log_checkpoint(&self) -> Result<Option<LogCheckpoint>> {
                let row =
                    sqlx::query("SELECT size, root, note FROM log_checkpoints ORDER BY size DESC LIMIT 1")
                        .fetch_optional(self.read_pool())
                        .await
                        .map_err(backend)?;
                row.map(|r| checkpoint_row(&r)).transpose()
            }

            async fn log_tile(&self, level: u8, index: u64) -> Result<Option<Bytes>> {
                if let Some(point) = self.point_reads() {
                    return point.log_tile(level, index);
                }
                let data: Option<Vec<u8>> =
                    sqlx::query_scalar("SELECT data FROM log_tiles WHERE level = $1 AND idx = $2")
                        .bind(i64::from(level))
                        .bind(to_i64(index)?)
                        .fetch_optional(self.read_pool())
                        .await
                        .map_err(backend)?;
                Ok(data.map(Bytes::from))
            }

            async fn commit_log(&self, c: &LogCommit) -> Result<()> {
                let mut tx = self.begin_log().await?;
                let current: Option<i64> = sqlx::query_scalar("SELECT MAX(size) FROM log_checkpoints")
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(backend)?;
                c.check_current(to_u64(current.unwrap_or(0), "log size")?)?;
                for (level, index, data) in &c.tiles {
                    sqlx::query(
                        "INSERT INTO log_tiles (level, idx, data) VALUES ($1, $2, $3)
                         ON CONFLICT (level, idx) DO UPDATE SET data = excluded.data",
                    )
                    .bind(i64::from(*level))
                    .bind(to_i64(*index)?)
                    .bind(data.as_ref())
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                }
                sqlx::query("INSERT INTO log_checkpoints (size, root, note) VALUES ($1, $2, $3)")
                    .bind(to_i64(c.checkpoint.size)?)
                    .bind(&c.checkpoint.root[..])
                    .bind(c.checkpoint.note.as_ref())
                    .execute(&mut *tx)
                    .await
                    .map_err(|_| StoreError::StaleLog)?;
                tx.commit().await.map_err(backend)
            }

            async fn log_cosign(&self, size: u64, note: &Bytes) -> Result<()> {
                sqlx::query("UPDATE log_checkpoints SET cosigned = $1 WHERE size = $2")
                    .bind(note.as_ref())
                    .bind(to_i64(size)?)
                    .execute(self.write_pool())
                    .await
                    .map_err(backend)?;
                Ok(())
            }

            async fn log_cosigned(&self) -> Result<Option<LogCheckpoint>> {
                let row = sqlx::query(
                    "SELECT size, root, cosigned AS note FROM log_checkpoints
                     WHERE cosigned IS NOT NULL ORDER BY size DESC LIMIT 1",
                )
                .fetch_optional(self.read_pool())
                .await
                .map_err(backend)?;
                row.map(|r| checkpoint_row(&r)).transpose()
            }

            async fn claim_log_identity(&self, identity: &LogIdentity) -> Result<LogIdentity> {
                let mut tx = self.begin_small().await?;
                sqlx::query(
                    "INSERT INTO log_identity (id, origin, verifier_key) VALUES (1, $1, $2)
                     ON CONFLICT (id) DO NOTHING",
                )
                .bind(&identity.origin)
                .bind(&identity.verifier_key)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
                let row = sqlx::query("SELECT origin, verifier_key FROM log_identity WHERE id = 1")
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(backend)?;
                tx.commit().await.map_err(backend)?;
                Ok(LogIdentity {
                    origin: row.get("origin"),
                    verifier_key: row.get("verifier_key"),
                })
            }

            async fn acquire_lease(
                &self,
                name: &str,
                holder: &str,
                now_ms: i64,
                ttl_ms: i64,
            ) -> Result<bool> {
                let mut tx = self.begin_small().await?;
                let taken = sqlx::query(
                    "INSERT INTO leases (name, holder, expires_ms) VALUES ($1, $2, $3)
                     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_ms = excluded.expires_ms
                     WHERE leases.holder = excluded.holder OR leases.expires_ms <= $4",
                )
                .bind(name)
                .bind(holder)
                .bind(now_ms.saturating_add(ttl_ms))
                .bind(now_ms)
                .execute(&mut *tx)
                .await
                .map_err(backend)?
                .rows_affected();
                tx.commit().await.map_err(backend)?;
                Ok(taken == 1)
            }
        }
    };
}

pub(crate) use sql_log;
