//! What an ecosystem crate hands the server: its routes, ready to mount.

/// An ecosystem's read API. The server mounts [`Projection::router`] under
/// `/<ecosystem>` and at the root of hosts whose first label is the
/// ecosystem (`npm.example.com`), and adds the shared fallback (trailing-
/// slash redirect, JSON 404) and middleware (request ids, logs, CORS). The
/// router carries its own state, so the server never learns what a
/// projection keeps.
pub trait Projection: std::fmt::Debug + Send + Sync + 'static {
    /// The ecosystem served: the first part of its package ids and its
    /// mount point.
    fn ecosystem(&self) -> &'static str;

    /// The routes, relative to the mount point.
    fn router(&self) -> axum::Router;

    /// Work the server runs once in the background at start, so the first
    /// reads after a restart find the projection's state built instead of
    /// building it while a client waits. None by default.
    fn warm_up(&self) -> Option<WarmUp> {
        None
    }
}

/// A projection's start-up work (see [`Projection::warm_up`]).
pub type WarmUp = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;
