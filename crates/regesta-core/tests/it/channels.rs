//! Channel writes: compare-and-swap on the signed `previousVersion`, replay
//! protection, and no event for a missing channel.

use regesta_core::CoreError;
use regesta_protocol::{ChannelName, PackageId};
use regesta_store::RegistryDb;
use regesta_testkit::vectors_dir;
use serde_json::json;

use crate::support::{captured_request, harness, signed_channel_body};

const AT: &str = "2026-11-25T19:13:01.867Z";

fn intent(
    op: &str,
    nonce: &str,
    version: Option<&str>,
    previous: Option<&str>,
) -> serde_json::Value {
    let mut intent = json!({
        "object": "regesta.write-intent",
        "operation": op,
        "package": "npm:dev.localhost/hello-regesta",
        "domain": "dev.localhost",
        "timestamp": AT,
        "nonce": nonce,
        "channel": "beta",
    });
    if let Some(v) = version {
        intent["version"] = json!(v);
    }
    if let Some(p) = previous {
        intent["previousVersion"] = json!(p);
    }
    intent
}

fn message(error: CoreError) -> String {
    match error {
        CoreError::Unauthorized(t) => t.message,
        CoreError::NotFound { code, .. } => code.as_str().to_owned(),
        CoreError::Replayed(_) => "replayed".to_owned(),
        CoreError::Invalid { message, .. } => message,
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn channel_moves_need_the_current_version_and_cannot_be_replayed() {
    let dir = vectors_dir();
    let h = harness(&dir, "dev-binding/domain-binding.json", AT);
    h.registry
        .publish(captured_request(&dir, "publish/hello-regesta-0.0.5"))
        .await
        .unwrap();
    let id = PackageId::parse("npm:dev.localhost/hello-regesta").unwrap();
    let beta = ChannelName::parse("beta").unwrap();
    let reg = &h.registry;

    let create = signed_channel_body(
        &dir,
        &intent("channel.update", "n1", Some("0.0.5"), None),
        Some("0.0.5"),
    );
    let written = reg.update_channel(&id, &beta, &create).await.unwrap();
    assert_eq!(written.previous_version, None);
    assert_eq!(
        reg.channel_view(&id, &beta)
            .await
            .unwrap()
            .documents
            .event_id
            .to_string()
            .len(),
        71
    );

    // The same signed body again: the channel now exists, so the intent's
    // missing previousVersion is stale.
    let again = reg.update_channel(&id, &beta, &create).await.unwrap_err();
    assert_eq!(message(again), "Write authorization payload mismatch");

    // A body whose version differs from the signed one.
    let other = signed_channel_body(
        &dir,
        &intent("channel.update", "n2", Some("0.0.5"), Some("0.0.5")),
        Some("9.9.9"),
    );
    assert_eq!(
        message(reg.update_channel(&id, &beta, &other).await.unwrap_err()),
        "Write authorization payload mismatch"
    );

    // A correctly signed move to an unpublished version.
    let missing = signed_channel_body(
        &dir,
        &intent("channel.update", "n3", Some("9.9.9"), Some("0.0.5")),
        Some("9.9.9"),
    );
    assert_eq!(
        message(reg.update_channel(&id, &beta, &missing).await.unwrap_err()),
        "release_not_found"
    );

    let delete = signed_channel_body(
        &dir,
        &intent("channel.delete", "n4", None, Some("0.0.5")),
        None,
    );
    let deleted = reg.delete_channel(&id, &beta, &delete).await.unwrap();
    assert_eq!(
        deleted.previous_version.map(|v| v.to_string()),
        Some("0.0.5".to_owned())
    );
    let events_before = h.db.stats().await.unwrap().events;

    // Deleting a channel that does not exist appends nothing (the reference
    // appends a no-op event here).
    let delete_missing =
        signed_channel_body(&dir, &intent("channel.delete", "n5", None, None), None);
    assert_eq!(
        message(
            reg.delete_channel(&id, &beta, &delete_missing)
                .await
                .unwrap_err()
        ),
        "channel_not_found"
    );

    // Recreating with the first nonce-and-body is a replay once the channel
    // is back in the state the signer saw.
    assert_eq!(
        message(reg.update_channel(&id, &beta, &create).await.unwrap_err()),
        "replayed"
    );
    assert_eq!(h.db.stats().await.unwrap().events, events_before);

    // Malformed bodies are 400 and change nothing.
    for bad in [
        &b"not json"[..],
        b"[]",
        b"{\"version\":\"0.0.5\"}",
        b"{\"authorization\":{},\"version\":\"\"}",
        b"{\"authorization\":{},\"version\":\"0.0.5\",\"x\":1}",
    ] {
        assert!(
            matches!(
                reg.update_channel(&id, &beta, bad).await.unwrap_err(),
                CoreError::Invalid { .. }
            ),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    assert_eq!(h.db.stats().await.unwrap().events, events_before);
}

#[tokio::test]
async fn replaying_the_event_log_gives_the_served_package_state() {
    let dir = vectors_dir();
    let h = harness(&dir, "dev-binding/domain-binding.json", AT);
    h.registry
        .publish(captured_request(&dir, "publish/hello-regesta-0.0.5"))
        .await
        .unwrap();
    let id = PackageId::parse("npm:dev.localhost/hello-regesta").unwrap();
    let beta = ChannelName::parse("beta").unwrap();
    let body = signed_channel_body(
        &dir,
        &intent("channel.update", "r1", Some("0.0.5"), None),
        Some("0.0.5"),
    );
    h.registry.update_channel(&id, &beta, &body).await.unwrap();
    let served = h.registry.package_state(&id).await.unwrap();
    let replayed = h.registry.replay_package_state(&id).await.unwrap();
    assert_eq!(serde_json::to_vec(&replayed).unwrap(), served.body.to_vec());
    assert_eq!(replayed.channels.len(), 2);
    let delete = signed_channel_body(
        &dir,
        &intent("channel.delete", "r2", None, Some("0.0.5")),
        None,
    );
    h.registry
        .delete_channel(&id, &beta, &delete)
        .await
        .unwrap();
    let served = h.registry.package_state(&id).await.unwrap();
    let replayed = h.registry.replay_package_state(&id).await.unwrap();
    assert_eq!(serde_json::to_vec(&replayed).unwrap(), served.body.to_vec());
    assert_eq!(replayed.channels.len(), 1);
}
