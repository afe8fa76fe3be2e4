//! Races on the real server: many clients publishing the same release or
//! moving the same channel at once. Exactly one wins; the others get the
//! v0 conflict codes; readers never see a half-written state.

use regesta_client::sign::Signer;
use regesta_protocol::{ChannelName, IntentAction, OwnerDomain, PackageId, Version, WriteIntent};

use crate::publishing::{demo_signer, now, post_release, request_with_nonce};
use crate::support::start_with;

const CLIENTS: usize = 8;

async fn status_and_code(reply: reqwest::Response) -> (u16, String) {
    let status = reply.status().as_u16();
    let body: serde_json::Value =
        serde_json::from_slice(&reply.bytes().await.unwrap()).unwrap_or_default();
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}

/// Events on the first page of the log (the tests write far fewer than 999).
async fn event_count(client: &reqwest::Client, base: &str) -> usize {
    let reply = client.get(format!("{base}/events")).send().await.unwrap();
    let page: serde_json::Value = serde_json::from_slice(&reply.bytes().await.unwrap()).unwrap();
    page["events"].as_array().unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_of_many_identical_publishes_wins_and_readers_never_see_half() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_with(dir.path(), &[]);
    let client = reqwest::Client::new();
    let base = server.base.clone();
    let reader = {
        let (client, base) = (client.clone(), base.clone());
        tokio::spawn(async move {
            let state = format!("{base}/packages/npm%3Adev.localhost%2Frace");
            for _ in 0..200 {
                let seen = client.get(&state).send().await.unwrap().status().as_u16();
                if seen == 200 {
                    let release = client
                        .get(format!("{state}/releases/1.0.0/verification"))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(
                        release.status().as_u16(),
                        200,
                        "package without its release"
                    );
                }
            }
        })
    };
    let racers: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let (client, base) = (client.clone(), base.clone());
            tokio::spawn(async move {
                let req = request_with_nonce("race", &format!("race-{i}"), &demo_signer());
                status_and_code(post_release(&client, &base, req).await.unwrap()).await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for racer in racers {
        outcomes.push(racer.await.unwrap());
    }
    reader.await.unwrap();
    let won = outcomes.iter().filter(|(s, _)| *s == 201).count();
    assert_eq!(won, 1, "{outcomes:?}");
    for (status, code) in outcomes.iter().filter(|(s, _)| *s != 201) {
        assert_eq!((*status, code.as_str()), (409, "release_already_exists"));
    }
    assert_eq!(
        event_count(&client, &base).await,
        1,
        "one event for one release"
    );
}

fn channel_body(signer: &Signer, nonce: &str) -> serde_json::Value {
    let intent = WriteIntent {
        domain: OwnerDomain::parse("dev.localhost").unwrap(),
        package: PackageId::parse("npm:dev.localhost/chan").unwrap(),
        nonce: nonce.to_owned(),
        timestamp: now(),
        action: IntentAction::ChannelUpdate {
            channel: ChannelName::parse("next").unwrap(),
            version: Version::parse("1.0.0").unwrap(),
            previous_version: None,
        },
    };
    serde_json::json!({"authorization": signer.sign(intent).unwrap().to_json(), "version": "1.0.0"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_moves_from_the_same_previous_version_are_linearizable() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_with(dir.path(), &[]);
    let client = reqwest::Client::new();
    let req = request_with_nonce("chan", "chan-publish", &demo_signer());
    let published = post_release(&client, &server.base, req).await.unwrap();
    assert_eq!(published.status().as_u16(), 201);
    let url = format!(
        "{}/packages/npm%3Adev.localhost%2Fchan/channels/next",
        server.base
    );
    let racers: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move {
                let body = channel_body(&demo_signer(), &format!("move-{i}"));
                let reply = client
                    .put(url)
                    .header("content-type", "application/json")
                    .body(body.to_string())
                    .send()
                    .await
                    .unwrap();
                status_and_code(reply).await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for racer in racers {
        outcomes.push(racer.await.unwrap());
    }
    // Every move claims `next` did not exist yet: only the first can be right.
    assert_eq!(
        outcomes.iter().filter(|(s, _)| *s == 200).count(),
        1,
        "{outcomes:?}"
    );
    for (status, code) in outcomes.iter().filter(|(s, _)| *s != 200) {
        assert!(
            matches!(
                (*status, code.as_str()),
                (409, "package_channel_conflict") | (401, "write_authorization_invalid")
            ),
            "{status} {code}"
        );
    }
    let channel = client.get(&url).send().await.unwrap();
    assert_eq!(channel.status().as_u16(), 200);
    assert_eq!(
        event_count(&client, &server.base).await,
        2,
        "publish + one move"
    );
}
