//! The SSH-signed publish and channel write the reference cannot store
//! (see PROTOCOL.md) are accepted, and every read matches the patched
//! reference's bytes.

use regesta_core::PageQuery;
use regesta_protocol::{ChannelName, EventKeyOrder, PackageId, Version};
use regesta_testkit::{read, vectors_dir};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

use crate::support::{captured_request, harness};

#[tokio::test]
async fn ssh_signed_publish_and_channel_write_match_the_patched_reference() {
    let dir = vectors_dir();
    let h = harness(
        &dir,
        "publish-ssh/domain-binding.json",
        "2026-11-25T20:45:35.100Z",
    );
    let published = h
        .registry
        .publish(captured_request(&dir, "publish-ssh"))
        .await
        .unwrap();
    let body = serde_json::json!({
        "channel": published.channel.as_str(),
        "event": published.event.to_json(EventKeyOrder::Response),
        "manifest": published.manifest,
        "manifestDescriptor": published.manifest_descriptor,
    });
    assert_eq!(
        serde_json::to_vec(&body).unwrap(),
        read(&dir, "publish-ssh/response.json")
    );

    h.clock.set("2026-11-25T20:45:36.810Z");
    let id = PackageId::parse("npm:dev.localhost/ssh-vector").unwrap();
    let beta = ChannelName::parse("beta").unwrap();
    let request = read(&dir, "publish-ssh/channel-beta-create.request.json");
    let written = h
        .registry
        .update_channel(&id, &beta, &request)
        .await
        .unwrap();
    let response = serde_json::json!({
        "channel": "beta",
        "event": written.event.to_json(EventKeyOrder::Response),
        "package": id.as_str(),
        "version": "1.0.0",
    });
    assert_eq!(
        serde_json::to_vec(&response).unwrap(),
        read(&dir, "publish-ssh/channel-beta-create.response.json")
    );

    let version = Version::parse("1.0.0").unwrap();
    let docs = h.registry.release_documents(&id, &version).await.unwrap();
    assert_eq!(
        text(docs.envelope.as_ref()),
        text(&read(&dir, "publish-ssh/release-1.0.0.json"))
    );
    let channel = h.registry.channel_view(&id, &beta).await.unwrap();
    assert_eq!(
        text(channel.documents.listing.as_ref()),
        text(&read(&dir, "publish-ssh/channel-beta.json"))
    );
    let state = h.registry.package_state(&id).await.unwrap();
    assert_eq!(
        text(state.body.as_ref()),
        text(&read(&dir, "publish-ssh/package-state.json"))
    );
    let page = h
        .registry
        .events_page(PageQuery::parse(None, None, "q").unwrap())
        .await
        .unwrap();
    assert_eq!(
        text(page.body.as_ref()),
        text(&read(&dir, "publish-ssh/events-page.json"))
    );
    let event = h.registry.event(&written.event.id).await.unwrap();
    assert_eq!(
        text(event.bytes.as_ref()),
        text(&read(&dir, "publish-ssh/event-channel-0d135655.json"))
    );
    let verification = h.registry.verify_release(&id, &version).await.unwrap();
    assert_eq!(
        text(verification.body.as_ref()),
        text(&read(&dir, "publish-ssh/release-1.0.0-verification.json"))
    );
}
