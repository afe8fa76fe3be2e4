//! Every read after the captured publish serves the reference's bytes and
//! validators.

use regesta_core::PageQuery;
use regesta_protocol::{ChannelName, Digest, PackageId, Version};
use regesta_testkit::{read, vectors_dir};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

use crate::support::{captured_request, harness};

fn etag_of(headers: &[u8]) -> String {
    String::from_utf8_lossy(headers)
        .lines()
        .find_map(|l| l.strip_prefix("etag: ").map(|v| v.trim().to_owned()))
        .unwrap()
}

#[tokio::test]
async fn reads_after_the_captured_publish_match_the_reference() {
    let dir = vectors_dir();
    let h = harness(
        &dir,
        "dev-binding/domain-binding.json",
        "2026-11-25T19:13:01.867Z",
    );
    h.registry
        .publish(captured_request(&dir, "publish/hello-regesta-0.0.5"))
        .await
        .unwrap();
    let id = PackageId::parse("npm:dev.localhost/hello-regesta").unwrap();
    let version = Version::parse("0.0.5").unwrap();

    let docs = h.registry.release_documents(&id, &version).await.unwrap();
    assert_eq!(
        text(docs.envelope.as_ref()),
        text(&read(&dir, "wire/release-0.0.5.json"))
    );
    assert_eq!(
        format!("W/\"{}\"", docs.event_id),
        etag_of(&read(&dir, "wire/release-0.0.5.json.headers"))
    );

    let channel = h
        .registry
        .channel_view(&id, &ChannelName::latest())
        .await
        .unwrap();
    assert_eq!(
        text(channel.documents.listing.as_ref()),
        text(&read(&dir, "wire/channel-latest.json"))
    );
    assert_eq!(
        channel.etag,
        etag_of(&read(&dir, "wire/channel-latest.json.headers"))
    );

    let state = h.registry.package_state(&id).await.unwrap();
    assert_eq!(
        text(state.body.as_ref()),
        text(&read(&dir, "wire/package-state.json"))
    );
    assert_eq!(
        format!("W/\"{}\"", state.head_event),
        etag_of(&read(&dir, "wire/package-state.json.headers"))
    );

    let all = PageQuery::parse(None, None, "Invalid event log query").unwrap();
    let page = h.registry.events_page(all).await.unwrap();
    assert_eq!(
        text(page.body.as_ref()),
        text(&read(&dir, "wire/events-page.json"))
    );
    assert_eq!(
        page.etag,
        etag_of(&read(&dir, "wire/events-page.json.headers"))
    );
    let after = PageQuery::parse(Some(&docs.event_id.to_string()), None, "x").unwrap();
    let empty = h.registry.events_page(after).await.unwrap();
    assert_eq!(
        text(empty.body.as_ref()),
        text(&read(&dir, "wire/events-after-last.json"))
    );
    assert_eq!(
        empty.etag,
        etag_of(&read(&dir, "wire/events-after-last.json.headers"))
    );

    let objects = h.registry.objects_page(all).await.unwrap();
    assert_eq!(
        text(objects.body.as_ref()),
        text(&read(&dir, "wire/objects-inventory.json"))
    );
    assert_eq!(
        objects.etag,
        etag_of(&read(&dir, "wire/objects-inventory.json.headers"))
    );

    let verification = h.registry.verify_release(&id, &version).await.unwrap();
    assert!(verification.ok);
    assert_eq!(
        text(verification.body.as_ref()),
        text(&read(&dir, "wire/release-0.0.5-verification.json"))
    );

    let event = h.registry.event(&docs.event_id).await.unwrap();
    assert_eq!(
        text(event.bytes.as_ref()),
        text(&read(&dir, "wire/event-72242a80.json"))
    );
    let (_, tarball) = h
        .registry
        .object(&Digest::of(&read(&dir, "wire/object-tarball-5a344dd3.tgz")))
        .await
        .unwrap();
    assert_eq!(
        text(tarball.as_ref()),
        text(&read(&dir, "wire/object-tarball-5a344dd3.tgz"))
    );
}

#[tokio::test]
async fn missing_things_have_their_v0_codes() {
    let dir = vectors_dir();
    let h = harness(
        &dir,
        "dev-binding/domain-binding.json",
        "2026-11-25T19:13:01.867Z",
    );
    let id = PackageId::parse("npm:dev.localhost/none").unwrap();
    let code = |e: regesta_core::CoreError| match e {
        regesta_core::CoreError::NotFound { code, .. }
        | regesta_core::CoreError::CursorNotFound { code, .. } => code.as_str(),
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(
        code(h.registry.package_state(&id).await.unwrap_err()),
        "package_not_found"
    );
    let v = Version::parse("1.0.0").unwrap();
    assert_eq!(
        code(h.registry.release_documents(&id, &v).await.unwrap_err()),
        "release_not_found"
    );
    // Verifying a missing release is a failed verification, as in the
    // reference, not a 404.
    let verification = h.registry.verify_release(&id, &v).await.unwrap();
    assert!(!verification.ok);
    assert_eq!(
        verification.body.as_ref(),
        br#"{"ok":false,"problems":["Release not found: npm:dev.localhost/none@1.0.0"]}"#
    );
    assert_eq!(
        code(
            h.registry
                .channel_view(&id, &ChannelName::latest())
                .await
                .unwrap_err()
        ),
        "channel_not_found"
    );
    let d = Digest::of(b"nothing");
    assert_eq!(
        code(h.registry.event(&d).await.unwrap_err()),
        "event_not_found"
    );
    assert_eq!(
        code(h.registry.object(&d).await.unwrap_err()),
        "object_not_found"
    );
    let q = PageQuery::parse(Some(&d.to_string()), Some("5"), "x").unwrap();
    assert_eq!(
        code(h.registry.events_page(q).await.unwrap_err()),
        "event_cursor_not_found"
    );
    assert_eq!(
        code(h.registry.objects_page(q).await.unwrap_err()),
        "object_cursor_not_found"
    );
}

#[test]
fn page_queries_follow_the_v0_rules() {
    assert_eq!(PageQuery::parse(None, Some("999"), "m").unwrap().limit, 999);
    assert_eq!(PageQuery::parse(None, Some("1"), "m").unwrap().limit, 1);
    for bad in ["0", "1000", "01", "-1", "1.5", "", "abc", " 5"] {
        assert!(PageQuery::parse(None, Some(bad), "m").is_err(), "{bad:?}");
    }
    assert!(PageQuery::parse(Some("sha256:abc"), None, "m").is_err());
    let err = PageQuery::parse(Some("x"), Some("0"), "Invalid event log query").unwrap_err();
    let regesta_core::CoreError::Invalid { message, issues } = err else {
        panic!()
    };
    assert_eq!(message, "Invalid event log query");
    assert_eq!(issues.len(), 2);
}
