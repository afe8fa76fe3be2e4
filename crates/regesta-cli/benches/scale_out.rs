//! Publish and read throughput of one vs two `regesta serve` replicas on
//! PostgreSQL + S3 (the servers `scripts/test` starts:
//! `REGESTA_TEST_DATABASE_URL`, `REGESTA_TEST_S3`), each phase on a fresh
//! database and bucket prefix; clients spread over the replicas. Printed
//! with the ratio two/one from the same run.
//!
//! `cargo bench -p regesta-cli --bench scale_out [-- <seconds>]`
//! `cargo bench -p regesta-cli --bench scale_out -- fill <dir> <releases>`
//! fills an embedded registry in `<dir>` (for `regesta migrate` runs).
#![expect(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::cast_precision_loss,
    reason = "a benchmark binary: setup failures abort it, results go to stdout"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

mod support;

use support::{Server, demo_signer, request, start_in};

const PUBLISHERS: usize = 4;
const READERS: usize = 8;

async fn publish_for(bases: &[String], until: Instant, tag: &str, limit: u64) -> Vec<String> {
    let client = reqwest::Client::new();
    let count = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..PUBLISHERS)
        .map(|p| {
            let (client, base) = (client.clone(), bases[p % bases.len()].clone());
            let (signer, tag, count) = (demo_signer(), tag.to_owned(), count.clone());
            tokio::spawn(async move {
                let mut names = Vec::new();
                let mut n = 0;
                while Instant::now() < until && count.fetch_add(1, Ordering::SeqCst) < limit {
                    let name = format!("{tag}-{p}-{n}");
                    n += 1;
                    let req = request(&name, &signer);
                    let reply = client
                        .post(format!("{base}/releases"))
                        .header("content-type", req.content_type)
                        .body(req.body)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(reply.status().as_u16(), 201);
                    names.push(name);
                }
                names
            })
        })
        .collect();
    let mut names = Vec::new();
    for task in tasks {
        names.extend(task.await.unwrap());
    }
    names
}

async fn read_for(bases: &[String], names: &[String], until: Instant) -> u64 {
    let client = reqwest::Client::new();
    let tasks: Vec<_> = (0..READERS)
        .map(|r| {
            let (client, base) = (client.clone(), bases[r % bases.len()].clone());
            let names = names.to_vec();
            tokio::spawn(async move {
                let mut done = 0_usize;
                while Instant::now() < until {
                    let name = &names[(done * 7 + r) % names.len()];
                    let url = format!("{base}/packages/npm%3Adev.localhost%2F{name}");
                    let reply = client.get(url).send().await.unwrap();
                    assert_eq!(reply.status().as_u16(), 200);
                    reply.bytes().await.unwrap();
                    done += 1;
                }
                done
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap();
    }
    total as u64
}

async fn fresh_database(url: &str, name: &str) -> String {
    let admin = sqlx::PgPool::connect(url).await.unwrap();
    let create = format!("CREATE DATABASE {name}");
    sqlx::query(sqlx::AssertSqlSafe(create))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    format!("{}/{name}", url.rsplit_once('/').unwrap().0)
}

async fn phase(replicas: usize, seconds: u64, url: &str, s3: &[String]) -> (f64, f64) {
    let tag = format!("r{replicas}-{}", std::process::id());
    let database = fresh_database(url, &format!("regesta_bench_{}", tag.replace('-', "_"))).await;
    let objects = format!("s3://{}/bench-{tag}", s3[3]);
    let dirs: Vec<_> = (0..replicas)
        .map(|_| tempfile::tempdir().unwrap())
        .collect();
    let key_file = dirs[0].path().join("log-key");
    let env = [
        ("REGESTA_DATABASE_URL", database.as_str()),
        ("REGESTA_OBJECT_STORE_URL", objects.as_str()),
        ("AWS_ENDPOINT_URL", s3[0].as_str()),
        ("AWS_ACCESS_KEY_ID", s3[1].as_str()),
        ("AWS_SECRET_ACCESS_KEY", s3[2].as_str()),
        ("REGESTA_LOG_ORIGIN", "bench.test/log/v1"),
        ("REGESTA_LOG_KEY_FILE", key_file.to_str().unwrap()),
        ("REGESTA_LOG", "warn,regesta.server=info"),
    ];
    let servers: Vec<Server> = dirs.iter().map(|d| start_in(d.path(), &env)).collect();
    let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();
    let start = Instant::now();
    let names = publish_for(&bases, start + Duration::from_secs(seconds), &tag, u64::MAX).await;
    let publish_rate = names.len() as f64 / start.elapsed().as_secs_f64();
    let start = Instant::now();
    let reads = read_for(&bases, &names, start + Duration::from_secs(seconds)).await;
    let read_rate = reads as f64 / start.elapsed().as_secs_f64();
    drop(servers);
    (publish_rate, read_rate)
}

async fn fill(dir: &str, releases: u64) {
    let server = start_in(std::path::Path::new(dir), &[]);
    let start = Instant::now();
    let far = start + Duration::from_hours(24);
    let names = publish_for(std::slice::from_ref(&server.base), far, "fill", releases).await;
    println!(
        "{} releases published into {dir} in {:.1} s",
        names.len(),
        start.elapsed().as_secs_f64()
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.first().map(String::as_str) == Some("fill") {
        fill(&args[1], args[2].parse().unwrap()).await;
        return;
    }
    let seconds = args.iter().find_map(|a| a.parse().ok()).unwrap_or(8);
    let url = regesta_testkit::test_database_url();
    let s3 = regesta_testkit::test_s3();
    let (p1, r1) = phase(1, seconds, &url, &s3).await;
    let (p2, r2) = phase(2, seconds, &url, &s3).await;
    println!(
        "PostgreSQL + S3 (s3s-fs), {PUBLISHERS} publishers then {READERS} readers, {seconds} s each:"
    );
    println!(
        "  publish: 1 replica {p1:.0}/s, 2 replicas {p2:.0}/s ({:.2}x)",
        p2 / p1
    );
    println!(
        "  read /packages/<id>: 1 replica {r1:.0}/s, 2 replicas {r2:.0}/s ({:.2}x)",
        r2 / r1
    );
}
