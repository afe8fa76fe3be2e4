//! The hot path, in front of the router: most reads are answered from
//! prepared responses (body, `ETag` and headers kept in memory) without
//! routing, middleware or handler, and only the request id and the log
//! line are made per request.
//!
//! Handlers opt in by marking a response [`regesta_http::Prepared`]; what
//! expires with the registry's next change is kept with the database
//! handle's change count ([`regesta_store::Changes`]) read before the
//! handler ran, and served only while the count is unchanged; what is
//! about one package (its state, packument, index file, project page,
//! module list) is kept with that package's stamp, taken by the handler
//! before it read, and outlives writes to other packages. The counts move
//! after every local commit (so a replica reads its own writes) and after
//! every change a replica's catch-up finds (so other replicas' writes
//! show within `REGESTA_CACHE_REFRESH_MS`). `/ready` is answered from the
//! background probe.

mod cache;
mod flight;

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use axum::http::header::ACCESS_CONTROL_ALLOW_ORIGIN;
use axum::http::{HeaderValue, Method, Request};
use axum::response::Response;
use futures_util::future::{BoxFuture, Either, Ready, ready};
use tower::{Service, ServiceExt as _};

pub use cache::{Key, MAX_KEY_BYTES, PreparedCache};

use crate::logs::CacheUse;
use crate::middleware::{REQUEST_ID, request_id};
use crate::state::AppState;

/// What every hot-path clone shares.
#[derive(Debug)]
struct Shared {
    cache: PreparedCache,
    /// Keys whose answer a request is asking the router for.
    flights: flight::Flights,
    changes: Option<regesta_store::Changes>,
    state: AppState,
    /// The projections served at their own hosts' roots.
    ecosystems: Vec<&'static str>,
    /// Whether the dev site answers `dev.localhost`.
    dev_site: bool,
}

/// The application behind its hot path: a `tower` service over `inner`
/// (the router with its middleware).
#[derive(Debug, Clone)]
pub struct Hot<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> Hot<S> {
    /// `inner` behind a prepared-response cache of `bytes`; `dev_site`
    /// says whether `inner` sends `dev.localhost` to the dev site.
    pub fn new(inner: S, state: AppState, bytes: u64, dev_site: bool) -> Self {
        let changes = state.registry().db.changes();
        let ecosystems = state.projections().iter().map(|p| p.ecosystem()).collect();
        Self {
            inner,
            shared: Arc::new(Shared {
                cache: PreparedCache::with_capacity(bytes),
                flights: flight::Flights::default(),
                changes,
                state,
                ecosystems,
                dev_site,
            }),
        }
    }

    /// Bytes the prepared responses hold.
    #[must_use]
    pub fn cached_bytes(&self) -> u64 {
        self.shared.cache.weight()
    }
}

impl Shared {
    fn changes(&self) -> Option<u64> {
        self.changes.as_ref().map(regesta_store::Changes::current)
    }

    /// The answer from memory, when there is one.
    fn answer(&self, request: &Request<Body>, key: Option<&Key>) -> Option<Response> {
        if request.uri().path() == "/ready"
            && matches!(*request.method(), Method::GET | Method::HEAD)
            && crate::middleware::core_host(
                crate::middleware::request_host(request),
                &self.ecosystems,
                self.dev_site,
            )
        {
            let probe = self.state.fresh_readiness()?;
            let head = request.method() == Method::HEAD;
            let mut response = crate::routes::ready_response(probe, head);
            response
                .headers_mut()
                .insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
            return Some(response);
        }
        let entry = self.cache.get(key?, self.changes.as_ref())?;
        Some(entry.respond(request.method(), request.headers()))
    }
}

impl<S> Service<Request<Body>> for Hot<S>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<
        Ready<Result<Response, Infallible>>,
        BoxFuture<'static, Result<Response, Infallible>>,
    >;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // The inner service is cloned per call and driven with `oneshot`.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        let started = Instant::now();
        let id = request_id(request.headers());
        let key = Key::of(&request);
        if let Some(response) = self.shared.answer(&request, key.as_ref()) {
            let line = RequestLog::of(&request);
            return Either::Left(ready(Ok(line.finish(response, id, started, CacheUse::Hit))));
        }
        let keep = key.filter(|_| request.method() == Method::GET);
        let flight = keep.as_ref().map(|key| self.shared.flights.join(key));
        let line = RequestLog::of(&request);
        request.headers_mut().insert(REQUEST_ID, id.clone());
        let (inner, shared) = (self.inner.clone(), Arc::clone(&self.shared));
        Either::Right(Box::pin(async move {
            let landing = match flight {
                Some(flight) => flight.wait().await,
                None => None,
            };
            // A wait ended, or another request's answer was kept between
            // the first look and joining the flight.
            if let Some(key) = &keep
                && let Some(entry) = shared.cache.get(key, shared.changes.as_ref())
            {
                let response = entry.respond(request.method(), request.headers());
                return Ok(line.finish(response, id, started, CacheUse::Hit));
            }
            // Read before the handler runs: an answer is kept only as
            // current as the change count it started from.
            let changes = shared.changes();
            let Ok(mut response) = inner.oneshot(request).await;
            let kept = keep.is_some_and(|key| shared.cache.keep(key, changes, &mut response));
            drop(landing);
            let cache = if kept {
                CacheUse::Stored
            } else {
                CacheUse::Passed
            };
            Ok(line.finish(response, id, started, cache))
        }))
    }
}

/// What the request log line needs of the request, taken only when the
/// line is written.
struct RequestLog {
    method: Method,
    path: Option<String>,
}

impl RequestLog {
    fn of(request: &Request<Body>) -> Self {
        let logged = tracing::enabled!(target: "regesta.request", tracing::Level::INFO);
        Self {
            method: request.method().clone(),
            path: logged.then(|| request.uri().path().to_owned()),
        }
    }

    /// Echoes the request id and writes the line.
    fn finish(
        self,
        mut response: Response,
        id: HeaderValue,
        started: Instant,
        cache: CacheUse,
    ) -> Response {
        if let Some(path) = &self.path {
            crate::logs::request(&crate::logs::RequestLine {
                request_id: id.to_str().unwrap_or_default(),
                method: self.method.as_str(),
                path,
                status: response.status().as_u16(),
                duration_us: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
                cache,
            });
        }
        response.headers_mut().insert(REQUEST_ID, id);
        response
    }
}

#[cfg(test)]
mod tests;
