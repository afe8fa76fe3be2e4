//! Crash consistency of `regesta serve` on each store: SIGKILL the real
//! binary while several clients publish and one moves a channel, restart
//! it, and check that every acknowledged write is there, nothing partial is
//! visible, and `regesta verify-log` passes.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use regesta_client::sign::Signer;
use regesta_protocol::{ChannelName, IntentAction, OwnerDomain, PackageId, Version, WriteIntent};

use crate::publishing::{demo_signer, now, post_release, request};
use crate::support::{ok, regesta, start_with};

/// Concurrent publishers per round.
const PUBLISHERS: usize = 3;

/// One signed write of channel `next` of `anchor`: set it to 1.0.0 (from
/// absent) or delete it (from 1.0.0). `Err` when the server is gone.
async fn move_anchor(client: &reqwest::Client, base: &str, set: bool, n: u64) -> Result<(), ()> {
    let channel = ChannelName::parse("next").unwrap();
    let v1 = Version::parse("1.0.0").unwrap();
    let action = if set {
        IntentAction::ChannelUpdate {
            channel,
            version: v1,
            previous_version: None,
        }
    } else {
        IntentAction::ChannelDelete {
            channel,
            previous_version: Some(v1),
        }
    };
    let intent = WriteIntent {
        domain: OwnerDomain::parse("dev.localhost").unwrap(),
        package: PackageId::parse("npm:dev.localhost/anchor").unwrap(),
        nonce: format!("anchor-move-{n}"),
        timestamp: now(),
        action,
    };
    let authorization = demo_signer().sign(intent).unwrap().to_json();
    let body = if set {
        serde_json::json!({"authorization": authorization, "version": "1.0.0"})
    } else {
        serde_json::json!({"authorization": authorization})
    };
    let url = format!("{base}/packages/npm%3Adev.localhost%2Fanchor/channels/next");
    let method = if set {
        reqwest::Method::PUT
    } else {
        reqwest::Method::DELETE
    };
    let outcome = client
        .request(method, url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    match outcome {
        Ok(reply) if reply.status().as_u16() == 200 => Ok(()),
        Ok(reply) => panic!("channel move {n}: unexpected {}", reply.status()),
        Err(_) => Err(()),
    }
}

/// Whether `next` of `anchor` exists now.
async fn anchor_set(base: &str) -> bool {
    let url = format!("{base}/packages/npm%3Adev.localhost%2Fanchor/channels/next");
    let status = reqwest::get(url).await.unwrap().status().as_u16();
    assert!(status == 200 || status == 404, "channel read {status}");
    status == 200
}

/// Publishes `crash-<n>` packages as fast as possible until the server
/// stops answering; returns the names it acknowledged with 201, counting
/// them in `acked` as they land so the killer can wait for progress (on a
/// loaded machine a fixed delay may pass before the first publish lands).
pub(crate) async fn publish_counting(
    base: &str,
    start_at: usize,
    signer: &Signer,
    acked: &AtomicUsize,
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
            Ok(response) if response.status().as_u16() == 201 => {
                acknowledged.push(name);
                acked.fetch_add(1, Ordering::SeqCst);
            }
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
/// Returns the number of events and of channel events among them.
async fn check_consistent(base: &str, acknowledged: &[String], seen: usize) -> (usize, usize) {
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
    let channel_events = events
        .iter()
        .filter(|e| {
            e["eventType"]
                .as_str()
                .is_some_and(|t| t.starts_with("channel."))
        })
        .count();
    for event in events.iter().skip(seen) {
        if event["eventType"] != "release.published" {
            continue; // channel moves are checked by the caller
        }
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
    (events.len(), channel_events)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_publishes_loses_no_acknowledged_write() {
    kill_and_restart(&[]).await;
}

/// The same on PostgreSQL + S3 (s3s-fs): a kill in the middle of a write
/// leaves no partial release visible and loses no acknowledged one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL and S3 (s3s-fs): run scripts/test"]
async fn sigkill_on_postgres_and_s3_loses_no_acknowledged_write() {
    let url = regesta_testkit::test_database_url();
    let [endpoint, key_id, secret, bucket] = regesta_testkit::test_s3();
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

/// Publishes `anchor`, the package whose channel the mover flips.
async fn publish_anchor(client: &reqwest::Client, data: &std::path::Path, env: &[(&str, &str)]) {
    let setup = start_with(data, env);
    let anchor = request("anchor", &demo_signer());
    let reply = post_release(client, &setup.base, anchor).await.unwrap();
    assert_eq!(reply.status().as_u16(), 201);
}

/// Sleeps `delay_ms`, then until `acked` reached `at_least` (at most 20 s).
pub(crate) async fn wait_for_progress(delay_ms: u64, acked: &AtomicUsize, at_least: usize) {
    tokio::time::sleep(Duration::from_millis(delay_ms)).await;
    for _ in 0..2000 {
        if acked.load(Ordering::SeqCst) >= at_least {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `regesta verify-log` against `base` must pass.
async fn verify_log(base: &str) {
    let base = base.to_owned();
    let verified =
        tokio::task::spawn_blocking(move || regesta(&["verify-log", "--registry", &base, "-q"]))
            .await
            .unwrap();
    ok(&verified);
}

async fn kill_and_restart(env: &[(&str, &str)]) {
    let data = tempfile::tempdir().unwrap();
    let signer = demo_signer();
    let client = reqwest::Client::new();
    publish_anchor(&client, data.path(), env).await;

    let mut acknowledged: Vec<String> = Vec::new();
    let mut next: Vec<usize> = (0..PUBLISHERS).map(|p| p * 10_000_000).collect();
    let (mut nonces_used, mut acked_moves, mut set) = (0_u64, 0_u64, false);
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
        let acked = Arc::new(AtomicUsize::new(0));
        let publishers: Vec<_> = next
            .iter()
            .map(|&start| {
                let (signer, base, acked) = (signer.clone(), base.clone(), acked.clone());
                tokio::spawn(async move { publish_counting(&base, start, &signer, &acked).await })
            })
            .collect();
        let channel_task = {
            let (client, base) = (client.clone(), base.clone());
            tokio::spawn(async move {
                let mut done = 0_u64;
                let mut want = !set;
                while move_anchor(&client, &base, want, nonces_used + done)
                    .await
                    .is_ok()
                {
                    done += 1;
                    want = !want;
                }
                done
            })
        };
        wait_for_progress(delay_ms, &acked, 1).await;
        server.child.kill().unwrap(); // SIGKILL
        server.child.wait().unwrap();
        let mut done = Vec::new();
        for (slot, publisher) in next.iter_mut().zip(publishers) {
            let names = publisher.await.unwrap();
            *slot += names.len() + 1;
            done.extend(names);
        }
        let acked_now = channel_task.await.unwrap();
        nonces_used += acked_now + 1; // the in-flight move's nonce is never reused
        acknowledged.extend(done.iter().cloned());

        // Every round checks its own acknowledgements and every new event;
        // the last round checks every acknowledgement again.
        let mut restarted = start_with(data.path(), env);
        let check = if round + 1 == rounds {
            &acknowledged
        } else {
            &done
        };
        let (events, channel_events) = check_consistent(&restarted.base, check, seen).await;
        seen = events;
        assert!(
            events >= acknowledged.len(),
            "round {round}: {events} events for {} acks",
            acknowledged.len()
        );
        // Every acknowledged move is in the log (at most one unacknowledged
        // one per round may have committed too), and the served channel is
        // what replaying those moves gives: set after an odd number.
        acked_moves += acked_now;
        assert!(
            (acked_moves..=acked_moves + round as u64 + 1).contains(&(channel_events as u64)),
            "round {round}: {channel_events} channel events for {acked_moves} acknowledged moves"
        );
        set = anchor_set(&restarted.base).await;
        assert_eq!(
            set,
            channel_events % 2 == 1,
            "round {round}: channel state vs log"
        );
        if rounds <= 20 || round % 10 == 9 || round + 1 == rounds {
            verify_log(&restarted.base).await;
        }
        restarted.child.kill().unwrap();
        restarted.child.wait().unwrap();
    }
    #[expect(clippy::print_stderr, reason = "the figure for the notes")]
    {
        eprintln!(
            "kills: {rounds}, acknowledged publishes: {}, acknowledged channel moves: {acked_moves}",
            acknowledged.len()
        );
    }
    assert!(
        acknowledged.len() > rounds,
        "too few publishes acknowledged to mean anything: {}",
        acknowledged.len()
    );
}
