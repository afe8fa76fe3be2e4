//! The storage conformance suite. Every [`RegistryDb`] adapter runs these
//! checks from its own tests; a new adapter is done when they all pass.
//! The checks live by concern in `publish`, `pages` (with channels) and
//! `log`; the samples, the runner and the reopen check live here.
#![expect(
    clippy::unwrap_used,
    reason = "the suite is test code: a failed step must panic at its line"
)]

use std::sync::Arc;

use bytes::Bytes;
use regesta_protocol::{
    ChannelName, Digest, ObjectDescriptor, PackageId, Text, Timestamp, Version,
};

use crate::error::StoreError;
use crate::model::{ChannelCommit, PublishCommit, ReleaseDocuments};
use crate::traits::RegistryDb;

mod log;
mod pages;
mod publish;

use log::{
    leases_are_exclusive_until_they_expire, log_commits_are_compare_and_swap,
    the_log_identity_is_recorded_once,
};
use pages::{
    channel_moves_are_compare_and_swap, events_page_in_sequence_order,
    objects_page_in_digest_order, package_ids_by_prefix,
};
use publish::{
    concurrent_publishers_of_one_version_have_one_winner,
    duplicate_version_is_rejected_and_changes_nothing,
    equivalent_version_is_rejected_and_changes_nothing, name_key_is_held_by_one_package,
    publish_is_atomic_and_readable, reads_see_each_commit_made_after_them,
    replayed_authorization_is_rejected,
};

fn pkg(name: &str) -> PackageId {
    PackageId::parse(&format!("npm:example.com/{name}")).expect("valid test id")
}

fn ver(v: &str) -> Version {
    Version::parse(v).expect("valid test version")
}

fn at(millis: i64) -> Timestamp {
    Timestamp::from_unix_millis(1_700_000_000_000 + millis).expect("valid test time")
}

fn object(seed: &str) -> ObjectDescriptor {
    ObjectDescriptor {
        digest: Digest::of(seed.as_bytes()),
        media_type: Text::parse("application/octet-stream").expect("valid media type"),
        size: seed.len() as u64,
    }
}

/// A publish commit with synthetic, unique contents.
pub fn sample_publish(package: &str, version: &str, millis: i64) -> PublishCommit {
    let tag = format!("{package}@{version}");
    PublishCommit {
        package: pkg(package),
        version: ver(version),
        manifest_digest: Digest::of(format!("manifest {tag}").as_bytes()),
        created_at: at(millis),
        channel: ChannelName::latest(),
        event_id: Digest::of(format!("event {tag}").as_bytes()),
        event_bytes: Bytes::from(format!("{{\"event\":\"{tag}\"}}\n")),
        event_listing: Bytes::from(format!("{{\"listed\":\"{tag}\"}}")),
        documents: ReleaseDocuments {
            event_id: Digest::of(format!("event {tag}").as_bytes()),
            envelope: Bytes::from(format!("{{\"envelope\":\"{tag}\"}}\n")),
            listing: Bytes::from(format!("{{\"listing\":\"{tag}\"}}")),
        },
        payload_digest: Some(Digest::of(format!("payload {tag}").as_bytes())),
        objects: vec![
            object(&format!("manifest {tag}")),
            object(&format!("source {tag}")),
        ],
        facts: Some(Bytes::from(format!("{{\"facts\":\"{tag}\"}}"))),
        version_key: None,
        name_key: None,
    }
}

/// A channel commit with synthetic contents.
pub fn sample_channel(
    package: &str,
    channel: &str,
    expected: Option<&str>,
    target: Option<&str>,
    nonce: &str,
) -> ChannelCommit {
    let tag = format!("{package}/{channel}/{nonce}");
    ChannelCommit {
        package: pkg(package),
        channel: ChannelName::parse(channel).expect("valid channel"),
        expected: expected.map(ver),
        target: target.map(ver),
        timestamp: at(1_000_000),
        event_id: Digest::of(format!("channel event {tag}").as_bytes()),
        event_bytes: Bytes::from(format!("{{\"channel\":\"{tag}\"}}\n")),
        event_listing: Bytes::from(format!("{{\"listed channel\":\"{tag}\"}}")),
        payload_digest: Some(Digest::of(format!("channel payload {tag}").as_bytes())),
    }
}

/// Runs every check that needs only a fresh, empty database per check.
///
/// # Panics
/// On the first failed check, naming it.
pub async fn run_all<F, Fut>(open: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Arc<dyn RegistryDb>>,
{
    publish_is_atomic_and_readable(open().await.as_ref()).await;
    duplicate_version_is_rejected_and_changes_nothing(open().await.as_ref()).await;
    reads_see_each_commit_made_after_them(open().await.as_ref()).await;
    equivalent_version_is_rejected_and_changes_nothing(open().await.as_ref()).await;
    name_key_is_held_by_one_package(open().await.as_ref()).await;
    replayed_authorization_is_rejected(open().await.as_ref()).await;
    channel_moves_are_compare_and_swap(open().await.as_ref()).await;
    events_page_in_sequence_order(open().await.as_ref()).await;
    objects_page_in_digest_order(open().await.as_ref()).await;
    package_ids_by_prefix(open().await.as_ref()).await;
    concurrent_publishers_of_one_version_have_one_winner(open().await).await;
    log_commits_are_compare_and_swap(open().await.as_ref()).await;
    leases_are_exclusive_until_they_expire(open().await.as_ref()).await;
    the_log_identity_is_recorded_once(open().await.as_ref()).await;
}

/// Writes, drops the handle, reopens with `reopen` and checks everything
/// acknowledged is still there.
///
/// # Panics
/// When data is lost across the reopen.
pub async fn durable_across_reopen<F, Fut>(reopen: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Arc<dyn RegistryDb>>,
{
    let first = sample_publish("durable", "1.0.0", 0);
    let channel = sample_channel("durable", "beta", None, Some("1.0.0"), "d");
    {
        let db = reopen().await;
        db.commit_publish(&first).await.unwrap();
        db.commit_channel(&channel).await.unwrap();
    }
    let db = reopen().await;
    assert!(
        db.release(&first.package, &first.version)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        db.channel(&channel.package, &channel.channel)
            .await
            .unwrap()
            .unwrap()
            .version,
        first.version
    );
    assert_eq!(db.log_head().await.unwrap().unwrap().count, 2);
    assert!(matches!(
        db.commit_publish(&first).await,
        Err(StoreError::ReleaseExists)
    ));
}
