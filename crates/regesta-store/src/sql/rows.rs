//! Row decoding and the two query shapes every read has, per backend. A
//! row that does not decode is corruption (`StoreError::Corrupt`), never a
//! panic.

/// Row mappers and `fetch_opt`/`fetch_all` for the sqlx database `$db`.
macro_rules! sql_rows {
    ($db:ty) => {
        fn stored_event(row: &<$db as sqlx::Database>::Row) -> $crate::error::Result<StoredEvent> {
            $crate::decode::event(
                row.get("seq"),
                row.get("id"),
                row.get("package"),
                row.get("bytes"),
                row.get("listing"),
            )
        }

        fn release_row(row: &<$db as sqlx::Database>::Row) -> $crate::error::Result<ReleaseRecord> {
            $crate::decode::release(
                row.get("version"),
                row.get("manifest_digest"),
                row.get("created_at"),
                row.get("event_id"),
                row.get("facts"),
            )
        }

        fn channel_row(row: &<$db as sqlx::Database>::Row) -> $crate::error::Result<ChannelRecord> {
            $crate::decode::channel(row.get("channel"), row.get("version"), row.get("event_id"))
        }

        fn package_id_row(row: &<$db as sqlx::Database>::Row) -> $crate::error::Result<PackageId> {
            $crate::decode::package_id(row.get("id"))
        }

        fn head_row(
            row: &<$db as sqlx::Database>::Row,
        ) -> $crate::error::Result<(Digest, Timestamp)> {
            $crate::decode::head(row.get("head_event"), row.get("head_time"))
        }

        fn object_row(
            row: &<$db as sqlx::Database>::Row,
        ) -> $crate::error::Result<ObjectDescriptor> {
            $crate::decode::object(row.get("digest"), row.get("media_type"), row.get("size"))
        }

        /// A query on this backend.
        type DbQuery<'q> = sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>;

        /// Runs `query` and maps its row, if any: the one shape every point read has.
        async fn fetch_opt<T>(
            conn: &mut <$db as sqlx::Database>::Connection,
            query: DbQuery<'_>,
            map: fn(&<$db as sqlx::Database>::Row) -> $crate::error::Result<T>,
        ) -> $crate::error::Result<Option<T>> {
            query
                .fetch_optional(conn)
                .await
                .map_err($crate::sql::backend)?
                .as_ref()
                .map(map)
                .transpose()
        }

        /// Runs `query` and maps every row: the one shape every list read has.
        async fn fetch_all<T>(
            conn: &mut <$db as sqlx::Database>::Connection,
            query: DbQuery<'_>,
            map: fn(&<$db as sqlx::Database>::Row) -> $crate::error::Result<T>,
        ) -> $crate::error::Result<Vec<T>> {
            query
                .fetch_all(conn)
                .await
                .map_err($crate::sql::backend)?
                .iter()
                .map(map)
                .collect()
        }
    };
}

pub(crate) use sql_rows;
