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
}
