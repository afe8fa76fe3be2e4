//! Accepting connections: HTTP/1.1 and HTTP/2 (prior knowledge, as the
//! CLI's mirror and verifiers speak it) on one port, every connection
//! closed once it goes idle.
//!
//! hyper bounds how long an HTTP/1.1 client may take over its request
//! headers, and closes an idle keep-alive connection at the same deadline.
//! Nothing bounded the rest: a connection that sent nothing, or part of
//! HTTP/2's preface, stayed open while the protocol was being detected,
//! and so did an HTTP/2 connection between requests. Enough of them (a
//! slowloris) exhaust the file descriptors and the server stops
//! accepting. So each connection counts the requests it starts, and one
//! that started none for the header deadline is shut down gracefully:
//! what is in flight finishes (a long download too), nothing new starts.
//! HTTP/2 then sends GOAWAY and pings; its keep-alive closes a connection
//! whose peer does not answer a ping within the deadline.
//!
//! Only a counter per request: tracking each response until its body was
//! sent (a wrapped body) cost `/health` a few percent of its throughput.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tower::ServiceExt as _;

use crate::App;

/// Serves `app` on `listener` until `shutdown` resolves, then drains
/// in-flight requests. Each connection's requests carry its peer address
/// (for the per-IP write limits). A client must send its request headers
/// within `header_timeout`; a connection that starts no request for that
/// long (up to twice that: it is checked every `header_timeout`) is shut
/// down gracefully, as is an HTTP/2 connection whose peer does not answer
/// a ping within it.
///
/// # Errors
/// Never in practice: accept errors (out of file descriptors, …) are logged
/// and retried.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: App,
    header_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(header_timeout)
        .keep_alive_timeout(header_timeout);
    // Told to every connection at shutdown; each holds a `running` sender,
    // so the receiver ends once every connection has.
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let (running, mut all_ended) = tokio::sync::mpsc::channel::<()>(1);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(target: "regesta.server", %error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let started = Arc::new(AtomicU64::new(0));
        let counter = started.clone();
        let service = tower::Layer::layer(
            &axum::Extension(axum::extract::ConnectInfo(peer)),
            app.clone(),
        )
        .map_request(move |request: axum::http::Request<hyper::body::Incoming>| {
            counter.fetch_add(1, Ordering::Relaxed);
            request.map(axum::body::Body::new)
        });
        let connection = builder
            .serve_connection_with_upgrades(
                TokioIo::new(stream),
                hyper_util::service::TowerToHyperService::new(service),
            )
            .into_owned();
        let (stopping, running) = (stopping.clone(), running.clone());
        tokio::spawn(async move {
            drive(
                connection,
                hyper_util::server::conn::auto::UpgradeableConnection::graceful_shutdown,
                &started,
                header_timeout,
                stopping,
            )
            .await;
            drop(running);
        });
    }
    drop(listener);
    let _ = stop.send(true);
    drop(running);
    all_ended.recv().await;
    Ok(())
}

/// Runs `connection` to its end, shutting it down gracefully (with
/// `shut_down`) at the server's shutdown or once `started` (its requests
/// started so far) did not move for a whole `idle`.
async fn drive<C, E>(
    connection: C,
    shut_down: impl FnOnce(Pin<&mut C>),
    started: &AtomicU64,
    idle: Duration,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) where
    C: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let mut connection = std::pin::pin!(connection);
    let mut seen = started.load(Ordering::Relaxed);
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + idle, idle);
    // After a stall (a starved process), one late tick, not a burst that
    // would find the count unmoved between ticks no time apart.
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            ended = connection.as_mut() => return report(ended),
            _ = stopping.wait_for(|stop| *stop) => break,
            _ = ticks.tick() => {
                let now = started.load(Ordering::Relaxed);
                if now == seen {
                    break;
                }
                seen = now;
            }
        }
    }
    shut_down(connection.as_mut());
    report(connection.await);
}

fn report<E: std::fmt::Display>(ended: Result<(), E>) {
    if let Err(error) = ended {
        tracing::debug!(target: "regesta.server", %error, "connection ended");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs [`drive`] for at most `within` on a connection that ends soon
    /// after it is shut down, with requests started `every` so often
    /// (never without): whether it ended, and how often it was shut down.
    /// The tests run in tokio's paused time, which jumps ahead whenever
    /// every task waits, so a busy host cannot make them fail.
    async fn run(
        stop: bool,
        every: Option<Duration>,
        idle: Duration,
        within: Duration,
    ) -> (bool, u64) {
        let started = Arc::new(AtomicU64::new(0));
        let shut = Arc::new(AtomicU64::new(0));
        let (_stop, stopping) = tokio::sync::watch::channel(stop);
        let requests = every.map(|every| {
            let started = started.clone();
            tokio::spawn(async move {
                loop {
                    started.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(every).await;
                }
            })
        });
        let watched = shut.clone();
        let connection = async move {
            while watched.load(Ordering::Relaxed) == 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Ok::<(), String>(())
        };
        let shut_down = |_: Pin<&mut _>| {
            shut.fetch_add(1, Ordering::Relaxed);
        };
        let drive = drive(connection, shut_down, &started, idle, stopping);
        let ended = tokio::time::timeout(within, drive).await.is_ok();
        requests.inspect(tokio::task::JoinHandle::abort);
        (ended, shut.load(Ordering::Relaxed))
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_that_starts_no_request_is_shut_down() {
        let idle = Duration::from_millis(40);
        assert_eq!(
            run(false, None, idle, Duration::from_secs(5)).await,
            (true, 1)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn requests_starting_keep_a_connection_open() {
        // A request every 5 ms, idle after 200 ms (in paused time).
        let (every, idle) = (Duration::from_millis(5), Duration::from_millis(200));
        let within = Duration::from_millis(700);
        assert_eq!(run(false, Some(every), idle, within).await, (false, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn the_servers_shutdown_shuts_a_busy_connection_down() {
        let (every, idle) = (Duration::from_millis(5), Duration::from_mins(1));
        let within = Duration::from_secs(5);
        assert_eq!(run(true, Some(every), idle, within).await, (true, 1));
    }
}
