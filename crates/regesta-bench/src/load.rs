//! Publish load over HTTP: `concurrency` clients each publishing new small
//! npm packages back to back for a fixed time, from requests built before
//! the clock starts; client-observed latency and releases per second. (Server-side latency comes from the server's
//! request log, which `scripts/bench` reads.)

use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::json;

use crate::fixture::{Release, demo_signer};

/// The `hundredths`-th percentile of `sorted` (nearest rank below).
pub(crate) fn percentile(sorted: &[f64], hundredths: usize) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[(sorted.len() - 1) * hundredths.min(100) / 100]
}

/// Requests built before the clock starts, per second of the run (all
/// publishers together): more than 2 cores have ever published, so the
/// run rarely builds one while timed.
const PREBUILT_PER_SECOND: f64 = 2_500.0;
/// Most requests built before a run (about 3 KB each).
const MAX_PREBUILT: usize = 100_000;

/// One publish request: content type and multipart body.
type Built = (String, Vec<u8>);

/// The `n`th request of a publisher: a new small package each.
fn build(signer: &regesta_client::sign::Signer, prefix: &str, n: u64) -> anyhow::Result<Built> {
    let release = Release::small(&format!("{prefix}-{n}"), "1.0.0");
    release.http_request(signer, &release.name)
}

/// `count` requests of one publisher, built on the blocking pool.
async fn prebuild(prefix: String, count: usize) -> anyhow::Result<Vec<Built>> {
    tokio::task::spawn_blocking(move || {
        let signer = demo_signer()?;
        (0..count as u64)
            .map(|n| build(&signer, &prefix, n))
            .collect()
    })
    .await?
}

/// What one publisher measured: latencies (ms) and how many requests it
/// had to build while timed.
struct Measured {
    latencies: Vec<f64>,
    built_while_timed: usize,
}

async fn publisher(
    registry: String,
    prefix: String,
    prebuilt: Vec<Built>,
    until: Instant,
) -> anyhow::Result<Measured> {
    let client = reqwest::Client::new();
    let signer = demo_signer()?;
    let mut latencies = Vec::new();
    let mut prebuilt = prebuilt.into_iter();
    let mut n = prebuilt.len() as u64;
    let mut built_while_timed = 0;
    while Instant::now() < until {
        let (content_type, body) = if let Some(request) = prebuilt.next() {
            request
        } else {
            built_while_timed += 1;
            n += 1;
            build(&signer, &prefix, n)?
        };
        let started = Instant::now();
        let reply = client
            .post(format!("{registry}/releases"))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .context("POST /releases")?;
        let status = reply.status().as_u16();
        let text = reply.text().await?;
        anyhow::ensure!(status == 201, "publish: {status} {text}");
        latencies.push(started.elapsed().as_secs_f64() * 1e3);
    }
    Ok(Measured {
        latencies,
        built_while_timed,
    })
}

/// Publishes for `seconds` with `concurrency` clients; returns the summary.
/// The requests (tarball, signed intent, multipart body) are built before
/// the clock starts (`prebuilt` of them, by default enough for the run), as a load generator prepares its requests: on a
/// machine shared with the server, building them while timed took about a
/// fifth of the CPU a publish costs and would measure the client instead.
///
/// # Errors
/// Any publish that is not 201.
pub(crate) async fn publish(
    registry: &str,
    prefix: &str,
    concurrency: usize,
    seconds: f64,
    prebuilt: Option<usize>,
) -> anyhow::Result<serde_json::Value> {
    let concurrency = concurrency.max(1);
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a small positive count"
    )]
    let default = (seconds.max(0.0) * PREBUILT_PER_SECOND) as usize;
    let total = prebuilt.unwrap_or(default).min(MAX_PREBUILT);
    let prefixes: Vec<String> = (0..concurrency).map(|c| format!("{prefix}-c{c}")).collect();
    let mut prebuilt = Vec::with_capacity(concurrency);
    for each in futures_util::future::join_all(
        prefixes
            .iter()
            .map(|p| prebuild(p.clone(), total / concurrency)),
    )
    .await
    {
        prebuilt.push(each?);
    }
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(seconds);
    let tasks: Vec<_> = prefixes
        .into_iter()
        .zip(prebuilt)
        .map(|(p, requests)| tokio::spawn(publisher(registry.to_owned(), p, requests, until)))
        .collect();
    let mut latencies = Vec::new();
    let mut built_while_timed = 0;
    for task in tasks {
        let measured = task.await??;
        latencies.extend(measured.latencies);
        built_while_timed += measured.built_while_timed;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let count = latencies.len();
    #[expect(clippy::cast_precision_loss, reason = "a count of releases")]
    let rate = count as f64 / elapsed;
    Ok(json!({
        "concurrency": concurrency,
        "releases": count,
        "seconds": elapsed,
        "releases_per_second": rate,
        "client_p50_ms": percentile(&latencies, 50),
        "client_p99_ms": percentile(&latencies, 99),
        "requests_built_while_timed": built_while_timed,
    }))
}
