//! The mark a handler puts on a response the server may answer again from
//! memory, without routing or handler, until the registry changes.
//!
//! Handlers know what their answer depends on; the server's hot path does
//! not. So caching is opt-in: only a response carrying [`Prepared`] is
//! kept, and only for as long as its [`Validity`] says. A response is a
//! function of the request's method, `Host`, path and query, and `Accept`
//! (the server keys on exactly those), of the registry's data, and of
//! nothing else — a handler that reads another request header, the clock or
//! an upstream server must not mark its response.

use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;

/// How long a prepared response stays true.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// Forever: content-addressed bytes, release envelopes, events by id.
    Immutable,
    /// Until the next event the server learns of (its own commits at once,
    /// other replicas' within the cache refresh interval).
    UntilNextEvent,
    /// Until the next event about the package the stamp was taken for
    /// (taken before the answer's data was read), learnt of as above: an
    /// answer about one package outlives publishes to others.
    UntilPackageChanges(regesta_core::PackageStamp),
}

impl Validity {
    /// Until `stamp`'s package changes, or until the next event when the
    /// database handle does not count changes by package.
    #[must_use]
    pub const fn of_package(stamp: Option<regesta_core::PackageStamp>) -> Self {
        match stamp {
            Some(stamp) => Self::UntilPackageChanges(stamp),
            None => Self::UntilNextEvent,
        }
    }
}

/// The response extension saying "this 200 may be served again": the body
/// (shared, not copied) and how long it stays true. Its `304` is the same
/// headers without `Content-Length`, as [`crate::response::conditional`]
/// answers.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The full body sent with the response.
    pub body: Bytes,
    /// How long it stays true.
    pub validity: Validity,
}

/// Marks `response` as prepared when it is a `200`, or a `302` (a
/// download's redirect to its object, which never moves); errors and
/// `304`s are never kept. `body` is the body the response carries for GET.
#[must_use]
pub fn prepare(mut response: Response, body: Bytes, validity: Validity) -> Response {
    if keepable(response.status()) {
        response
            .extensions_mut()
            .insert(Prepared { body, validity });
    }
    response
}

/// Whether a response with `status` may be answered again from memory: a
/// `200`, or the `302` of a download (its target is content-addressed).
#[must_use]
pub fn keepable(status: StatusCode) -> bool {
    matches!(status, StatusCode::OK | StatusCode::FOUND)
}
