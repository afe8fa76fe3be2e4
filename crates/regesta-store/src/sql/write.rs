//! The steps of a write transaction, per backend. Every event — a publish
//! or a channel move — goes through `append`, so the replay marker, the log
//! row, the package head, the counters and the channel move cannot drift
//! apart between write kinds. Sequence numbers come from the `events`
//! counter row, incremented inside the writer's transaction: gap-free and
//! in commit order on both backends.

/// `append` and `bump` on transactions of the sqlx database `$db`.
macro_rules! sql_writes {
    ($db:ty) => {
        type Tx = sqlx::Transaction<'static, $db>;

        async fn insert_event(
            tx: &mut Tx,
            id: &Digest,
            package: &PackageId,
            (bytes, listing): (&Bytes, &Bytes),
            time: Timestamp,
        ) -> Result<u64> {
            let seq: i64 = sqlx::query_scalar(
                "UPDATE counters SET value = value + 1 WHERE name = 'events' RETURNING value",
            )
            .fetch_one(&mut **tx)
            .await
            .map_err(backend)?;
            sqlx::query(
                "INSERT INTO events (seq, id, package, bytes, listing) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(seq)
            .bind(id.to_string())
            .bind(package.as_str())
            .bind(bytes.as_ref())
            .bind(listing.as_ref())
            .execute(&mut **tx)
            .await
            .map_err(conflict(|| StoreError::ReleaseExists))?;
            let head = sqlx::query("UPDATE packages SET head_event = $2, head_time = $3 WHERE id = $1")
                .bind(package.as_str())
                .bind(id.to_string())
                .bind(time.to_string())
                .execute(&mut **tx)
                .await
                .map_err(backend)?;
            if head.rows_affected() == 0 {
                sqlx::query("INSERT INTO packages (id, head_event, head_time) VALUES ($1, $2, $3)")
                    .bind(package.as_str())
                    .bind(id.to_string())
                    .bind(time.to_string())
                    .execute(&mut **tx)
                    .await
                    .map_err(backend)?;
                bump(tx, "packages", 1).await?;
            }
            to_u64(seq, "sequence")
        }

        async fn insert_replay(tx: &mut Tx, digest: Option<Digest>) -> Result<()> {
            if let Some(d) = digest {
                sqlx::query("INSERT INTO replay (payload_digest) VALUES ($1)")
                    .bind(d.to_string())
                    .execute(&mut **tx)
                    .await
                    .map_err(conflict(|| StoreError::Replayed))?;
            }
            Ok(())
        }

        async fn set_channel(
            tx: &mut Tx,
            package: &PackageId,
            channel: &ChannelName,
            target: Option<&Version>,
            event: &Digest,
        ) -> Result<()> {
            let query = match target {
                Some(version) => sqlx::query(
                    "INSERT INTO channels (package, channel, version, event_id) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (package, channel)
                     DO UPDATE SET version = excluded.version, event_id = excluded.event_id",
                )
                .bind(package.as_str())
                .bind(channel.as_str())
                .bind(version.as_str())
                .bind(event.to_string()),
                None => sqlx::query("DELETE FROM channels WHERE package = $1 AND channel = $2")
                    .bind(package.as_str())
                    .bind(channel.as_str()),
            };
            query.execute(&mut **tx).await.map_err(backend)?;
            Ok(())
        }

        /// Adds `delta` to a deployment counter inside the caller's transaction.
        async fn bump(tx: &mut Tx, name: &str, delta: u64) -> Result<()> {
            if delta > 0 {
                sqlx::query("UPDATE counters SET value = value + $1 WHERE name = $2")
                    .bind(to_i64(delta)?)
                    .bind(name)
                    .execute(&mut **tx)
                    .await
                    .map_err(backend)?;
            }
            Ok(())
        }

        /// One event as every write commits it.
        struct Append<'a> {
            package: &'a PackageId,
            event_id: &'a Digest,
            event: (&'a Bytes, &'a Bytes),
            time: Timestamp,
            payload_digest: Option<Digest>,
            channel: &'a ChannelName,
            target: Option<&'a Version>,
        }

        /// Replay marker, event (with its sequence number), package head and
        /// channel, inside the caller's transaction.
        async fn append(tx: &mut Tx, a: Append<'_>) -> Result<u64> {
            insert_replay(tx, a.payload_digest).await?;
            let seq = insert_event(tx, a.event_id, a.package, a.event, a.time).await?;
            set_channel(tx, a.package, a.channel, a.target, a.event_id).await?;
            Ok(seq)
        }
    };
}

pub(crate) use sql_writes;
