//! Prepared responses by request key, bounded in bytes, each valid for as
//! long as its handler said ([`Validity`]).

use std::sync::Arc;

use axum::body::Body;
use axum::http::header::{
    ACCEPT, ACCEPT_ENCODING, CONTENT_LENGTH, ETAG, HOST, IF_MATCH, IF_MODIFIED_SINCE,
    IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE, RANGE,
};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use regesta_http::{Prepared, Validity};
use regesta_store::{Changes, PackageStamp};

/// Longest request key kept (host, `Accept` and path with query); longer
/// requests go the slow way every time rather than grow the cache's keys.
pub const MAX_KEY_BYTES: usize = 2048;

/// What a response may depend on: `Host` (projection hosts, the dev site),
/// `Accept` (npm's abbreviated packuments, PyPI's JSON pages),
/// `Accept-Encoding` (gzipped log entry bundles) and the path with its
/// query, in one string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key(Box<str>);

impl Key {
    /// The key of a GET or HEAD `request` the cache may answer, or `None`
    /// when the answer depends on more than the key: a range, or a
    /// date-based or `If-Match` precondition (`If-None-Match` is answered
    /// from the kept `ETag`).
    pub fn of(request: &Request<Body>) -> Option<Self> {
        if !matches!(*request.method(), Method::GET | Method::HEAD) {
            return None;
        }
        let headers = request.headers();
        let unkeyed = [
            IF_MODIFIED_SINCE,
            IF_MATCH,
            IF_UNMODIFIED_SINCE,
            RANGE,
            IF_RANGE,
        ];
        if unkeyed.iter().any(|name| headers.contains_key(name)) {
            return None;
        }
        let host = headers
            .get(HOST)
            .map(axum::http::HeaderValue::as_bytes)
            .or_else(|| request.uri().host().map(str::as_bytes))
            .unwrap_or_default();
        let accept = headers.get(ACCEPT).map_or(&b""[..], |v| v.as_bytes());
        let encoding = headers
            .get(ACCEPT_ENCODING)
            .map_or(&b""[..], |v| v.as_bytes());
        let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
        let len = host.len() + accept.len() + encoding.len() + path.len() + 3;
        let repeated = |name| headers.get_all(name).iter().nth(1).is_some();
        if len > MAX_KEY_BYTES || repeated(ACCEPT) || repeated(ACCEPT_ENCODING) {
            return None;
        }
        // Header values are visible ASCII, or the request is odd enough to
        // go the slow way.
        let host = std::str::from_utf8(host).ok()?;
        let accept = std::str::from_utf8(accept).ok()?;
        let encoding = std::str::from_utf8(encoding).ok()?;
        let mut key = String::with_capacity(len);
        key.extend(host.chars().map(|c| c.to_ascii_lowercase()));
        for part in [accept, encoding] {
            key.push('\n');
            key.push_str(part);
        }
        key.push('\n');
        key.push_str(path);
        Some(Self(key.into_boxed_str()))
    }

    fn weight(&self) -> usize {
        self.0.len()
    }
}

/// How long a kept response may be served.
#[derive(Debug, Clone, Copy)]
enum Until {
    /// It never expires.
    Forever,
    /// While the change count is the one it was rendered at.
    Count(u64),
    /// While its package's changes stand where they did.
    Package(PackageStamp),
}

/// One kept response: everything but the request id.
#[derive(Debug)]
pub struct Entry {
    until: Until,
    /// A `200`, or a download's `302`.
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Entry {
    /// The answer to `request` (GET or HEAD, `If-None-Match` honoured for
    /// a `200`; a redirect is answered as its handler did, whatever the
    /// request's validators).
    pub fn respond(&self, method: &Method, request: &HeaderMap) -> Response {
        let etag = self.headers.get(ETAG).and_then(|v| v.to_str().ok());
        if self.status == StatusCode::OK
            && let Some(etag) = etag
            && request.contains_key(IF_NONE_MATCH)
            && regesta_http::response::matches_if_none_match(request, etag)
        {
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::NOT_MODIFIED;
            let mut headers = self.headers.clone();
            headers.remove(CONTENT_LENGTH);
            *response.headers_mut() = headers;
            return response;
        }
        let body = if method == Method::HEAD {
            Body::empty()
        } else {
            Body::from(self.body.clone())
        };
        let mut response = Response::new(body);
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers.clone();
        response
    }
}

#[derive(Debug, Clone, Copy)]
struct Weight;

/// What one header of a kept map takes besides its value's bytes: its
/// bucket (name, value, hash and links) and its share of the index.
const HEADER_BYTES: usize = 144;

impl quick_cache::Weighter<Key, Arc<Entry>> for Weight {
    fn weight(&self, key: &Key, entry: &Arc<Entry>) -> u64 {
        // A small response is mostly headers and bookkeeping: counting
        // only key and body let redirects and small documents hold twice
        // the bound (tests/cache_memory.rs measures it).
        let headers: usize = entry
            .headers
            .values()
            .map(|value| HEADER_BYTES + value.len())
            .sum();
        let entry_bytes = regesta_store::cached::shared::<Entry>();
        (key.weight() + entry.body.len() + headers + entry_bytes) as u64
            + regesta_store::cached::entry_overhead::<Key, Arc<Entry>>()
    }
}

/// The cache: bounded in bytes; an entry larger than an eighth of it is
/// not kept, so one big document never flushes the rest.
pub struct PreparedCache {
    entries: quick_cache::sync::Cache<Key, Arc<Entry>, Weight>,
    max_entry: usize,
}

impl std::fmt::Debug for PreparedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedCache")
            .field("weight", &self.entries.weight())
            .field("max_entry", &self.max_entry)
            .finish()
    }
}

impl PreparedCache {
    /// A cache of at most `bytes`.
    #[must_use]
    pub fn with_capacity(bytes: u64) -> Self {
        let items = usize::try_from(bytes / 1024).unwrap_or(usize::MAX).max(16);
        // An entry may take an eighth of the bytes; the store's shard rule
        // guarantees it fits a shard.
        let entries = regesta_store::cached::byte_bounded(items, bytes, Weight);
        Self {
            entries,
            max_entry: usize::try_from(bytes / 8).unwrap_or(usize::MAX),
        }
    }

    /// The entry for `key` if it is still true by `changes` (the database
    /// handle's counts; `None` when it keeps none, so only what never
    /// expires is served).
    pub fn get(&self, key: &Key, changes: Option<&Changes>) -> Option<Arc<Entry>> {
        let entry = self.entries.get(key)?;
        let holds = match entry.until {
            Until::Forever => true,
            Until::Count(at) => changes.is_some_and(|c| c.current() == at),
            Until::Package(stamp) => changes.is_some_and(|c| c.holds(stamp)),
        };
        if holds {
            return Some(entry);
        }
        self.entries.remove(key);
        None
    }

    /// Keeps `response` (the answer to a GET begun at change count
    /// `changes`) when its handler marked it [`Prepared`] and it is small
    /// enough; answers that expire with the next change are kept only when
    /// changes are counted. Whether it was handed to the cache (which may
    /// still evict it for a heavier or more used entry).
    pub fn keep(&self, key: Key, changes: Option<u64>, response: &mut Response) -> bool {
        let Some(prepared) = response.extensions_mut().remove::<Prepared>() else {
            return false;
        };
        if !regesta_http::keepable(response.status()) || prepared.body.len() > self.max_entry {
            return false;
        }
        let until = match prepared.validity {
            Validity::Immutable => Until::Forever,
            Validity::UntilPackageChanges(stamp) => Until::Package(stamp),
            Validity::UntilNextEvent => match changes {
                Some(at) => Until::Count(at),
                None => return false,
            },
        };
        let entry = Entry {
            until,
            status: response.status(),
            headers: response.headers().clone(),
            body: prepared.body,
        };
        self.entries.insert(key, Arc::new(entry));
        true
    }

    /// Bytes held.
    #[must_use]
    pub fn weight(&self) -> u64 {
        self.entries.weight()
    }
}
