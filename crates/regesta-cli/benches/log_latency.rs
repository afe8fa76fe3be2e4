//! Submit-to-checkpoint latency of the transparency log on a real
//! `regesta serve` (embedded store): publishers send signed releases as fast
//! as they can for a while; a watcher polls `/log/checkpoint` every 10 ms.
//! An event's latency runs from its 201 to the first checkpoint that
//! includes it. Printed with the publish latency (request to 201) of the
//! same run as the baseline.
//!
//! `cargo bench -p regesta-cli --bench log_latency [-- <seconds> <publishers>]`
#![expect(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::cast_precision_loss,
    reason = "a benchmark binary: setup failures abort it, results go to stdout"
)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use regesta_client::sign::Signer;

mod support;

use support::{demo_signer, percentile, request, start};

type Acked = Arc<Mutex<Vec<(String, Instant, Duration)>>>;
type Sizes = Arc<Mutex<Vec<(Instant, u64)>>>;

/// Polls the checkpoint size every 10 ms until `until`.
async fn watch(client: reqwest::Client, base: String, sizes: Sizes, until: Instant) {
    while Instant::now() < until {
        if let Ok(reply) = client.get(format!("{base}/log/checkpoint")).send().await
            && let Ok(text) = reply.text().await
            && let Some(size) = text.lines().nth(1).and_then(|l| l.parse().ok())
        {
            sizes.lock().unwrap().push((Instant::now(), size));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Publishes as fast as it can until `deadline`.
async fn publish(
    client: reqwest::Client,
    base: String,
    signer: Signer,
    p: u64,
    deadline: Instant,
    acked: Acked,
) {
    let mut n = 0;
    while Instant::now() < deadline {
        let name = format!("lat-{p}-{n}");
        n += 1;
        let req = request(&name, &signer);
        let sent = Instant::now();
        let reply = client
            .post(format!("{base}/releases"))
            .header("content-type", req.content_type)
            .body(req.body)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status().as_u16(), 201);
        let body: serde_json::Value =
            serde_json::from_slice(&reply.bytes().await.unwrap()).unwrap();
        let id = body["event"]["id"].as_str().unwrap().to_owned();
        acked
            .lock()
            .unwrap()
            .push((id, Instant::now(), sent.elapsed()));
    }
}

/// Every event's log index: its position in the event list.
async fn order(client: &reqwest::Client, base: &str) -> std::collections::HashMap<String, u64> {
    let mut order = std::collections::HashMap::new();
    let mut after: Option<String> = None;
    loop {
        let url = match &after {
            Some(id) => format!("{base}/events?after={id}&limit=999"),
            None => format!("{base}/events?limit=999"),
        };
        let bytes = client.get(url).send().await.unwrap().bytes().await.unwrap();
        let page: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let events = page["events"].as_array().unwrap();
        if events.is_empty() {
            return order;
        }
        for event in events {
            let id = event["id"].as_str().unwrap().to_owned();
            order.insert(id.clone(), order.len() as u64);
            after = Some(id);
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<u64> = std::env::args().filter_map(|a| a.parse().ok()).collect();
    let seconds = args.first().copied().unwrap_or(10);
    let publishers = args.get(1).copied().unwrap_or(4);
    let server = start();
    let signer = demo_signer();
    let client = reqwest::Client::new();
    let (acked, sizes): (Acked, Sizes) = (Arc::default(), Arc::default());
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let watcher = tokio::spawn(watch(
        client.clone(),
        server.base.clone(),
        sizes.clone(),
        deadline + Duration::from_secs(10),
    ));
    let tasks: Vec<_> = (0..publishers)
        .map(|p| {
            tokio::spawn(publish(
                client.clone(),
                server.base.clone(),
                signer.clone(),
                p,
                deadline,
                acked.clone(),
            ))
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    watcher.await.unwrap();
    let order = order(&client, &server.base).await;
    let sizes = sizes.lock().unwrap().clone();
    let acked = acked.lock().unwrap().clone();
    let mut to_checkpoint = Vec::new();
    let mut published = Vec::new();
    for (id, at, took) in &acked {
        published.push(took.as_secs_f64() * 1e3);
        let index = order[id];
        if let Some((seen, _)) = sizes.iter().find(|(t, size)| t >= at && *size > index) {
            to_checkpoint.push(seen.duration_since(*at).as_secs_f64() * 1e3);
        }
    }
    to_checkpoint.sort_by(f64::total_cmp);
    published.sort_by(f64::total_cmp);
    println!(
        "{} publishes in {seconds} s by {publishers} publishers ({:.0}/s); {} reached a checkpoint",
        acked.len(),
        acked.len() as f64 / seconds as f64,
        to_checkpoint.len()
    );
    let (p50, p99) = (percentile(&published, 50), percentile(&published, 99));
    println!("publish (request to 201):        p50 {p50:.1} ms, p99 {p99:.1} ms");
    let (c50, c99) = (
        percentile(&to_checkpoint, 50),
        percentile(&to_checkpoint, 99),
    );
    println!(
        "201 to checkpoint (10 ms polls): p50 {c50:.1} ms ({:.2}x publish p50), p99 {c99:.1} ms ({:.2}x publish p99)",
        c50 / p50,
        c99 / p99
    );
}
