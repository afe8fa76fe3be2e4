//! Read use cases. Immutable documents come back as the bytes stored at
//! write time; mutable views are built from indexes with validators tied to
//! the last relevant event.

use std::sync::Arc;

use bytes::Bytes;
use regesta_protocol::json::to_canonical_vec;
use regesta_protocol::{
    ChannelName, Digest, ObjectDescriptor, ObjectInventory, PackageId, PackageState,
    PackageStateRelease, Timestamp, Version,
};
use regesta_store::{ReleaseDocuments, StoreError, StoredEvent};
use serde_json::json;

use crate::error::CoreError;
use crate::registry::Registry;

/// The view-cache kind of package-state documents.
const PACKAGE_STATE_VIEW: &str = "package-state";

/// Objects up to this size are read whole (and so may be served from a
/// store's memory cache); larger ones are streamed.
pub const WHOLE_READ_BYTES: u64 = 4 * 1024 * 1024;

/// Most entries one page may hold, and the default (v0).
pub const MAX_PAGE_LIMIT: usize = 999;

/// A validated `?after=&limit=` query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageQuery {
    /// Cursor: the last id/digest of the previous page.
    pub after: Option<Digest>,
    /// 1..=999.
    pub limit: usize,
}

impl PageQuery {
    /// Parses the raw query values with the v0 rules: `limit` matches
    /// `^[1-9]\d{0,2}$`, `after` is a `sha256:` digest.
    ///
    /// # Errors
    /// 400 `request_invalid` with `message` and one issue per bad field.
    pub fn parse(
        after: Option<&str>,
        limit: Option<&str>,
        message: &'static str,
    ) -> Result<Self, CoreError> {
        let mut issues = Vec::new();
        let after = match after {
            None => None,
            Some(text) => Digest::parse(text)
                .map_err(|_| issues.push("after: Must be a sha256 digest".to_owned()))
                .ok(),
        };
        let limit = match limit {
            None => MAX_PAGE_LIMIT,
            Some(text) => {
                let valid = (1..=3).contains(&text.len())
                    && text.bytes().all(|b| b.is_ascii_digit())
                    && !text.starts_with('0');
                if valid {
                    text.parse().unwrap_or(MAX_PAGE_LIMIT)
                } else {
                    issues.push("limit: Must be an integer from 1 to 999".to_owned());
                    MAX_PAGE_LIMIT
                }
            }
        };
        if issues.is_empty() {
            Ok(Self { after, limit })
        } else {
            Err(CoreError::invalid(message, issues))
        }
    }
}

/// One page of a list, ready to serve.
#[derive(Debug, Clone)]
pub struct Page {
    /// The JSON body.
    pub body: Bytes,
    /// The weak ETag value (`W/"…"`).
    pub etag: String,
}

/// The package-state view.
#[derive(Debug, Clone)]
pub struct PackageStateView {
    /// The JSON body (sorted keys, no newline).
    pub body: Bytes,
    /// The last event about the package (the ETag).
    pub head_event: Digest,
    /// Its timestamp (`Last-Modified`).
    pub head_time: Timestamp,
}

/// A channel read: the release envelope the channel points at.
#[derive(Debug, Clone)]
pub struct ChannelView {
    /// The stored envelope documents.
    pub documents: ReleaseDocuments,
    /// `W/"regesta.channel:<sha256 of canonical {channel, package, releaseEvent, version}>"`.
    pub etag: String,
}

/// The result of checking one release against its stored objects.
#[derive(Debug, Clone)]
pub struct Verification {
    /// Whether every check passed (200) or not (422).
    pub ok: bool,
    /// `{manifest?, ok, problems}`.
    pub body: Bytes,
}

fn cursor(result: Result<Vec<StoredEvent>, StoreError>) -> Result<Vec<StoredEvent>, CoreError> {
    result.map_err(|e| match e {
        StoreError::CursorNotFound => CoreError::CursorNotFound {
            code: crate::error::ErrorCode::EventCursorNotFound,
            message: "Event cursor not found",
        },
        other => other.into(),
    })
}

/// Most packages one namespace listing returns (a projection's index of
/// one owner domain).
pub const MAX_NAMESPACE_PACKAGES: usize = 100_000;

impl Registry {
    /// The package's head event and its time, 404 `package_not_found` when
    /// nothing is published: all a conditional request needs.
    ///
    /// # Errors
    /// Not found, or storage failure.
    pub async fn package_head(&self, id: &PackageId) -> Result<(Digest, Timestamp), CoreError> {
        self.db
            .package_head(id)
            .await?
            .ok_or_else(CoreError::package_not_found)
    }

    /// The packages `ecosystem` has under `domain`, in byte order, at most
    /// [`MAX_NAMESPACE_PACKAGES`]: what a projection's per-domain index
    /// lists. The store hands out one shared listing until a write into the
    /// namespace, so a caller may key what it renders from it by pointer.
    ///
    /// # Errors
    /// Storage failure.
    pub async fn namespace_packages(
        &self,
        ecosystem: &str,
        domain: &str,
    ) -> Result<Arc<[PackageId]>, CoreError> {
        let prefix = format!("{ecosystem}:{domain}/");
        Ok(self.db.package_ids(&prefix, MAX_NAMESPACE_PACKAGES).await?)
    }

    /// The package state, 404 `package_not_found` when nothing is published.
    /// Served from the view cache when it was rendered at the current head.
    ///
    /// # Errors
    /// Not found, or storage failure.
    pub async fn package_state(&self, id: &PackageId) -> Result<PackageStateView, CoreError> {
        let (head_event, head_time) = self.package_head(id).await?;
        if let Some(body) = self.views.get(PACKAGE_STATE_VIEW, id, &head_event) {
            return Ok(PackageStateView {
                body,
                head_event,
                head_time,
            });
        }
        let record = self
            .db
            .package(id)
            .await?
            .filter(|r| !r.releases.is_empty())
            .ok_or_else(CoreError::package_not_found)?;
        let mut state = PackageState::new(id.clone());
        state.channels = record
            .channels
            .into_iter()
            .map(|c| (c.channel.as_str().to_owned(), c.version))
            .collect();
        state.releases = record
            .releases
            .into_iter()
            .map(|r| PackageStateRelease {
                created_at: r.created_at,
                manifest_digest: r.manifest_digest,
                version: r.version,
            })
            .collect();
        let body = Bytes::from(serde_json::to_vec(&state).map_err(CoreError::internal)?);
        self.views
            .put(PACKAGE_STATE_VIEW, id, record.head_event, body.clone());
        Ok(PackageStateView {
            body,
            head_event: record.head_event,
            head_time: record.head_time,
        })
    }

    /// The stored envelope of one release, 404 `release_not_found`.
    ///
    /// # Errors
    /// Not found, or storage failure.
    pub async fn release_documents(
        &self,
        id: &PackageId,
        version: &Version,
    ) -> Result<ReleaseDocuments, CoreError> {
        self.db
            .release_documents(id, version)
            .await?
            .ok_or_else(|| {
                CoreError::not_found(
                    crate::error::ErrorCode::ReleaseNotFound,
                    "Release not found",
                )
            })
    }

    /// The release a channel points at, 404 `channel_not_found`.
    ///
    /// # Errors
    /// Not found, or storage failure.
    pub async fn channel_view(
        &self,
        id: &PackageId,
        channel: &ChannelName,
    ) -> Result<ChannelView, CoreError> {
        let record = self.db.channel(id, channel).await?.ok_or_else(|| {
            CoreError::not_found(
                crate::error::ErrorCode::ChannelNotFound,
                "Channel not found",
            )
        })?;
        let documents = self.release_documents(id, &record.version).await?;
        let validator = to_canonical_vec(&json!({
            "channel": channel.as_str(),
            "package": id.as_str(),
            "releaseEvent": documents.event_id.to_string(),
            "version": record.version.as_str(),
        }))
        .map_err(CoreError::internal)?;
        Ok(ChannelView {
            etag: format!("W/\"regesta.channel:{}\"", Digest::of(&validator)),
            documents,
        })
    }

    /// One event by id, 404 `event_not_found`.
    ///
    /// # Errors
    /// Not found, or storage failure.
    pub async fn event(&self, id: &Digest) -> Result<StoredEvent, CoreError> {
        self.db.event(id).await?.ok_or_else(|| {
            CoreError::not_found(crate::error::ErrorCode::EventNotFound, "Event not found")
        })
    }

    /// A page of the event log in sequence order: the stored page renderings
    /// joined, never re-serialized.
    ///
    /// # Errors
    /// 404 `event_cursor_not_found`, or storage failure.
    pub async fn events_page(&self, query: PageQuery) -> Result<Page, CoreError> {
        if let Some((body, etag)) = self.views.page(query.after.as_ref(), query.limit) {
            return Ok(Page { body, etag });
        }
        let events = cursor(
            self.db
                .events_after(query.after.as_ref(), query.limit)
                .await,
        )?;
        let mut body =
            Vec::with_capacity(events.iter().map(|e| e.listing.len() + 1).sum::<usize>() + 96);
        body.extend_from_slice(b"{\"events\":[");
        for (i, event) in events.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(&event.listing);
        }
        body.push(b']');
        let last = events.last().map(|e| e.id);
        if let Some(last) = last {
            body.extend_from_slice(format!(",\"nextAfter\":\"{last}\"").as_bytes());
        }
        body.push(b'}');
        let validator = last
            .or(query.after)
            .map_or_else(|| "head".to_owned(), |d| d.to_string());
        let page = Page {
            body: Bytes::from(body),
            etag: format!("W/\"regesta.event-log:{validator}:{}\"", events.len()),
        };
        if events.len() == query.limit {
            self.views.put_page(
                query.after.as_ref(),
                query.limit,
                page.body.clone(),
                page.etag.clone(),
            );
        }
        Ok(page)
    }

    /// A page of the object inventory in digest order.
    ///
    /// # Errors
    /// 404 `object_cursor_not_found`, or storage failure.
    pub async fn objects_page(&self, query: PageQuery) -> Result<Page, CoreError> {
        let objects = self
            .db
            .objects_after(query.after.as_ref(), query.limit)
            .await
            .map_err(|e| match e {
                StoreError::CursorNotFound => CoreError::CursorNotFound {
                    code: crate::error::ErrorCode::ObjectCursorNotFound,
                    message: "Object cursor not found",
                },
                other => other.into(),
            })?;
        let last = objects.last().map(|o| o.digest);
        let validator = last
            .or(query.after)
            .map_or_else(|| "head".to_owned(), |d| d.to_string());
        let etag = format!(
            "W/\"regesta.object-inventory:{validator}:{}\"",
            objects.len()
        );
        let inventory = ObjectInventory {
            object: "regesta.object-inventory".to_owned(),
            objects,
            next_after: last,
        };
        Ok(Page {
            body: Bytes::from(serde_json::to_vec(&inventory).map_err(CoreError::internal)?),
            etag,
        })
    }

    /// An indexed object's descriptor, 404 `object_not_found`.
    ///
    /// # Errors
    /// Not found, or storage failure.
    pub async fn object_descriptor(&self, digest: &Digest) -> Result<ObjectDescriptor, CoreError> {
        self.db.object(digest).await?.ok_or_else(|| {
            CoreError::not_found(crate::error::ErrorCode::ObjectNotFound, "Object not found")
        })
    }

    /// The bytes of an indexed object (`object`, from
    /// [`Registry::object_descriptor`]) as a stream; callers look the
    /// descriptor up once and pass it to whichever read they need.
    ///
    /// # Errors
    /// Storage failure, including bytes missing for an indexed object
    /// (corruption).
    pub async fn object_stream(
        &self,
        object: &ObjectDescriptor,
    ) -> Result<regesta_store::ByteStream, CoreError> {
        if let Some(bytes) = self.small_object(object).await? {
            return Ok(Box::pin(futures_util::stream::iter([Ok(bytes)])));
        }
        self.blobs
            .open(&object.digest)
            .await?
            .ok_or_else(|| missing_bytes(object))
    }

    /// All bytes of an indexed object of at most [`WHOLE_READ_BYTES`],
    /// read whole so a caching store can keep it and serve it from memory
    /// next time (one chunk, sent without a copy); `None` for a larger one.
    ///
    /// # Errors
    /// As [`Registry::object_stream`].
    pub async fn small_object(
        &self,
        object: &ObjectDescriptor,
    ) -> Result<Option<Bytes>, CoreError> {
        if object.size > WHOLE_READ_BYTES {
            return Ok(None);
        }
        let bytes = self
            .blobs
            .get(&object.digest)
            .await?
            .ok_or_else(|| missing_bytes(object))?;
        Ok(Some(bytes))
    }

    /// Bytes `start..=end` of an indexed object (a ranged store read).
    ///
    /// # Errors
    /// As [`Registry::object_stream`].
    pub async fn object_range(
        &self,
        object: &ObjectDescriptor,
        start: u64,
        end: u64,
    ) -> Result<Bytes, CoreError> {
        self.blobs
            .get_range(&object.digest, start, end)
            .await?
            .ok_or_else(|| missing_bytes(object))
    }

    /// A URL serving an indexed object's bytes directly for `ttl`, when the
    /// object store can presign one.
    ///
    /// # Errors
    /// Storage failure.
    pub async fn object_url(
        &self,
        object: &ObjectDescriptor,
        ttl: std::time::Duration,
    ) -> Result<Option<String>, CoreError> {
        Ok(self.blobs.presigned_get(&object.digest, ttl).await?)
    }

    /// An indexed object's descriptor and bytes.
    ///
    /// # Errors
    /// 404 `object_not_found`; missing bytes for an indexed object (500).
    pub async fn object(&self, digest: &Digest) -> Result<(ObjectDescriptor, Bytes), CoreError> {
        let descriptor = self.object_descriptor(digest).await?;
        let bytes = self
            .blobs
            .get(digest)
            .await?
            .ok_or_else(|| missing_bytes(&descriptor))?;
        Ok((descriptor, bytes))
    }
}

fn missing_bytes(object: &ObjectDescriptor) -> CoreError {
    CoreError::internal(format!("indexed object {} has no bytes", object.digest))
}
