//! Write rate limits on the real binary over TCP: per client IP before the
//! body is read, per owner domain only for verified writes; `429` with
//! `Retry-After`, reads unaffected, nothing stored.

use regesta_client::sign::Signer;

use crate::publishing::{demo_signer, post_release, request};
use crate::support::start_with;

async fn post(client: &reqwest::Client, base: &str, name: &str, forged: bool) -> reqwest::Response {
    let signer = if forged {
        // The demo key's id and domain, someone else's key.
        Signer::Ed25519 {
            kid: "ed25519:dev-localhost".into(),
            key: Box::new(ed25519_dalek::SigningKey::generate(&mut rand_core::OsRng)),
        }
    } else {
        demo_signer()
    };
    post_release(client, base, request(name, &signer))
        .await
        .unwrap()
}

async fn assert_rate_limited(response: reqwest::Response) {
    assert_eq!(response.status().as_u16(), 429);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "retry-after {retry}");
    let body: serde_json::Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(body["code"], "rate_limited");
}

#[tokio::test]
async fn writes_over_the_per_ip_limit_get_429_and_reads_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_with(dir.path(), &[("REGESTA_WRITE_RATE_PER_IP", "2")]);
    let client = reqwest::Client::new();
    for n in 0..2 {
        let reply = post(&client, &server.base, &format!("ip-{n}"), false).await;
        assert_eq!(reply.status().as_u16(), 201);
    }
    assert_rate_limited(post(&client, &server.base, "ip-2", false).await).await;
    let missing = client
        .get(format!(
            "{}/packages/npm%3Adev.localhost%2Fip-2",
            server.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        missing.status().as_u16(),
        404,
        "the refused write stored nothing"
    );
    let ready = client
        .get(format!("{}/ready", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status().as_u16(), 200);
}

#[tokio::test]
async fn only_verified_writes_spend_a_domains_allowance() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_with(dir.path(), &[("REGESTA_WRITE_RATE_PER_DOMAIN", "1")]);
    let client = reqwest::Client::new();
    for n in 0..3 {
        let forged = post(&client, &server.base, &format!("forged-{n}"), true).await;
        assert_eq!(
            forged.status().as_u16(),
            401,
            "forgeries are refused, not counted"
        );
    }
    let first = post(&client, &server.base, "dom-0", false).await;
    assert_eq!(first.status().as_u16(), 201);
    assert_rate_limited(post(&client, &server.base, "dom-1", false).await).await;
}
