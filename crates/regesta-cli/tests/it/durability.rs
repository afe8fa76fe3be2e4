//! Crash consistency of `regesta serve` on the embedded store: SIGKILL the
//! real binary in the middle of a stream of publishes, restart it, and check
//! that every acknowledged publish is there and nothing partial is visible.

use std::time::Duration;

use regesta_client::sign::Signer;

use crate::publishing::{demo_signer, request};
use crate::support::start_with;

/// Publishes `crash-<n>` packages as fast as possible until the server
/// stops answering; returns the names it acknowledged with 201.
pub(crate) async fn publish_until_killed(
    base: &str,
    start_at: usize,
    signer: &Signer,
) -> Vec<String> {
    let client = reqwest::Client::new();
    let mut acknowledged = Vec::new();
    for n in start_at.. {
        let name = format!("crash-{n}");
        let request = request(&name, signer);
        let sent = client
            .post(format!("{base}/releases"))
            .header("content-type", request.content_type)
            .body(request.body)
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        match sent {
            Ok(response) if response.status().as_u16() == 201 => acknowledged.push(name),
            Ok(response) => panic!("publish {name}: unexpected {}", response.status()),
            Err(_) => break,
        }
    }
    acknowledged
}

async fn get_json(client: &reqwest::Client, url: &str) -> (u16, serde_json::Value) {
    let response = client.get(url).send().await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or_default())
}

/// Every acknowledged publish is readable and verifies; every event in the
/// log past the first `seen` names a release that is fully present.
/// Returns the number of events.
async fn check_consistent(base: &str, acknowledged: &[String], seen: usize) -> usize {
    let client = reqwest::Client::new();
    let (status, _) = get_json(&client, &format!("{base}/ready")).await;
    assert_eq!(status, 200);
    for name in acknowledged {
        let id = format!("npm%3Adev.localhost%2F{name}");
        let (status, body) = get_json(
            &client,
            &format!("{base}/packages/{id}/releases/1.0.0/verification"),
        )
        .await;
        assert_eq!(
            (status, &body["ok"]),
            (200, &serde_json::json!(true)),
            "acknowledged {name} lost or broken"
        );
    }
    let mut events = Vec::new();
    let mut after = String::new();
    loop {
        let (status, page) = get_json(&client, &format!("{base}/events?{after}")).await;
        assert_eq!(status, 200);
        let batch = page["events"].as_array().unwrap();
        events.extend(batch.iter().cloned());
        match page["nextAfter"].as_str() {
            Some(next) if batch.len() == 999 => after = format!("after={next}"),
            _ => break,
        }
    }
    for event in events.iter().skip(seen) {
        let release = &event["release"];
        let id = release["id"]
            .as_str()
            .unwrap()
            .replace(':', "%3A")
            .replace('/', "%2F");
        let (status, body) = get_json(
            &client,
            &format!("{base}/packages/{id}/releases/1.0.0/verification"),
        )
        .await;
        assert_eq!(
            (status, &body["ok"]),
            (200, &serde_json::json!(true)),
            "partial release {id} visible"
        );
    }
    events.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_publishes_loses_no_acknowledged_write() {
    kill_and_restart(&[]).await;
}

/// The same on PostgreSQL + S3 (s3s-fs): a kill in the middle of a write
/// leaves no partial release visible and loses no acknowledged one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_on_postgres_and_s3_loses_no_acknowledged_write() {
    let Some(url) = regesta_testkit::test_database_url() else {
        return;
    };
    let Some([endpoint, key_id, secret, bucket]) = regesta_testkit::test_s3() else {
        return;
    };
    let name = format!("regesta_kills_{}", std::process::id());
    let admin = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let database = format!("{}/{name}", url.rsplit_once('/').unwrap().0);
    let objects = format!("s3://{bucket}/kills-{}", std::process::id());
    kill_and_restart(&[
        ("REGESTA_DATABASE_URL", database.as_str()),
        ("REGESTA_OBJECT_STORE_URL", objects.as_str()),
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", key_id.as_str()),
        ("AWS_SECRET_ACCESS_KEY", secret.as_str()),
    ])
    .await;
}

async fn kill_and_restart(env: &[(&str, &str)]) {
    let data = tempfile::tempdir().unwrap();
    let signer = demo_signer();
    let mut acknowledged: Vec<String> = Vec::new();
    let mut next = 0;
    let rounds = regesta_testkit::torture_kills(6);
    let mut seen = 0;
    // Kill points spread over the first ~400 ms of each run (a fixed
    // xorshift sequence, so a failure replays with the same delays).
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    for round in 0..rounds {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let delay_ms = 30 + state % 370;
        let mut server = start_with(data.path(), env);
        let base = server.base.clone();
        let publisher = {
            let signer = signer.clone();
            let base = base.clone();
            tokio::spawn(async move { publish_until_killed(&base, next, &signer).await })
        };
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        server.child.kill().unwrap(); // SIGKILL
        server.child.wait().unwrap();
        let done = publisher.await.unwrap();
        next += done.len() + 1;
        acknowledged.extend(done.iter().cloned());

        // Every round checks its own acknowledgements and the whole event
        // page; the last round checks every acknowledgement again.
        let mut restarted = start_with(data.path(), env);
        let check = if round + 1 == rounds {
            &acknowledged
        } else {
            &done
        };
        let events = check_consistent(&restarted.base, check, seen).await;
        seen = events;
        assert!(
            events >= acknowledged.len(),
            "round {round}: {events} events for {} acks",
            acknowledged.len()
        );
        restarted.child.kill().unwrap();
        restarted.child.wait().unwrap();
    }
    #[expect(clippy::print_stderr, reason = "the figure for the notes")]
    {
        eprintln!(
            "acknowledged publishes across kills: {}",
            acknowledged.len()
        );
    }
    assert!(
        acknowledged.len() > rounds,
        "too few publishes acknowledged to mean anything: {}",
        acknowledged.len()
    );
}
