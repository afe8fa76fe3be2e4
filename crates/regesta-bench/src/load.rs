//! Publish load over HTTP: `concurrency` clients each publishing new small
//! npm packages back to back for a fixed time; client-observed latency and
//! releases per second. (Server-side latency comes from the server's
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

async fn publisher(registry: String, prefix: String, until: Instant) -> anyhow::Result<Vec<f64>> {
    let client = reqwest::Client::new();
    let signer = demo_signer()?;
    let mut latencies = Vec::new();
    let mut n = 0_u64;
    while Instant::now() < until {
        let release = Release::small(&format!("{prefix}-{n}"), "1.0.0");
        n += 1;
        let (content_type, body) = release.http_request(&signer, &release.name)?;
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
        anyhow::ensure!(status == 201, "publish {}: {status} {text}", release.name);
        latencies.push(started.elapsed().as_secs_f64() * 1e3);
    }
    Ok(latencies)
}

/// Publishes for `seconds` with `concurrency` clients; returns the summary.
///
/// # Errors
/// Any publish that is not 201.
pub(crate) async fn publish(
    registry: &str,
    prefix: &str,
    concurrency: usize,
    seconds: f64,
) -> anyhow::Result<serde_json::Value> {
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(seconds);
    let tasks: Vec<_> = (0..concurrency.max(1))
        .map(|c| {
            tokio::spawn(publisher(
                registry.to_owned(),
                format!("{prefix}-c{c}"),
                until,
            ))
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
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
    }))
}
