//! Publishes: atomic, readable at once, and refused whole when they
//! conflict (a taken version, name key or authorization), also under
//! concurrent publishers.
#![expect(
    clippy::unwrap_used,
    clippy::similar_names,
    reason = "the suite is test code: a failed step must panic at its line"
)]

use std::sync::Arc;

use regesta_protocol::{ChannelName, Digest};

use super::{object, pkg, sample_channel, sample_publish, ver};
use crate::error::StoreError;
use crate::model::PublishCommit;
use crate::traits::RegistryDb;

pub(super) async fn publish_is_atomic_and_readable(db: &dyn RegistryDb) {
    let commit = sample_publish("a", "1.0.0", 0);
    assert_eq!(db.commit_publish(&commit).await.expect("publish"), 1);
    let state = db
        .package(&commit.package)
        .await
        .unwrap()
        .expect("package exists");
    assert_eq!(state.head_event, commit.event_id);
    assert_eq!(state.head_time, commit.created_at);
    assert_eq!(
        db.package_head(&commit.package).await.unwrap(),
        Some((commit.event_id, commit.created_at))
    );
    assert!(db.package_head(&pkg("missing")).await.unwrap().is_none());
    assert_eq!(state.releases.len(), 1);
    assert_eq!(state.releases[0].manifest_digest, commit.manifest_digest);
    assert_eq!(state.releases[0].facts, commit.facts);
    assert_eq!(state.channels.len(), 1);
    assert_eq!(state.channels[0].version, commit.version);
    let release = db
        .release(&commit.package, &commit.version)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(release.event_id, commit.event_id);
    assert_eq!(release.facts, commit.facts);
    let channel = db
        .channel(&commit.package, &ChannelName::latest())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(channel.version, commit.version);
    let event = db.event(&commit.event_id).await.unwrap().unwrap();
    assert_eq!(event.bytes, commit.event_bytes);
    assert_eq!(event.listing, commit.event_listing);
    let documents = db
        .release_documents(&commit.package, &commit.version)
        .await
        .unwrap();
    assert_eq!(documents, Some(commit.documents.clone()));
    assert!(
        db.release_documents(&commit.package, &ver("9.9.9"))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(event.seq, 1);
    for object in &commit.objects {
        assert_eq!(
            db.object(&object.digest).await.unwrap().as_ref(),
            Some(object)
        );
    }
    let stats = db.stats().await.unwrap();
    assert_eq!(
        (stats.packages, stats.releases, stats.events, stats.objects),
        (1, 1, 1, 2)
    );
    assert!(db.package(&pkg("missing")).await.unwrap().is_none());
    assert!(
        db.release(&commit.package, &ver("9.9.9"))
            .await
            .unwrap()
            .is_none()
    );
    db.ping().await.expect("ping");
    let without = PublishCommit {
        facts: None,
        ..sample_publish("no-facts", "1.0.0", 0)
    };
    db.commit_publish(&without).await.expect("publish");
    let bare = db
        .release(&without.package, &without.version)
        .await
        .unwrap();
    assert_eq!(bare.expect("release").facts, None);
}

/// A reader that looked before a commit sees it on its next read: no read
/// keeps an old snapshot (SQLite's point reads reuse their connections).
pub(super) async fn reads_see_each_commit_made_after_them(db: &dyn RegistryDb) {
    for n in 0..3 {
        let commit = sample_publish(&format!("seen-{n}"), "1.0.0", 0);
        let object = &commit.objects[0];
        assert!(db.object(&object.digest).await.unwrap().is_none());
        assert!(
            db.release_documents(&commit.package, &commit.version)
                .await
                .unwrap()
                .is_none()
        );
        let payload = commit.payload_digest.unwrap();
        assert!(!db.replay_marked(&payload).await.unwrap());
        assert!(
            db.release(&commit.package, &commit.version)
                .await
                .unwrap()
                .is_none()
        );
        db.commit_publish(&commit).await.unwrap();
        assert!(db.replay_marked(&payload).await.unwrap());
        let release = db.release(&commit.package, &commit.version).await.unwrap();
        assert_eq!(release.map(|r| r.event_id), Some(commit.event_id));
        assert_eq!(
            db.object(&object.digest).await.unwrap().as_ref(),
            Some(object)
        );
        assert_eq!(
            db.release_documents(&commit.package, &commit.version)
                .await
                .unwrap(),
            Some(commit.documents.clone())
        );
    }
}

pub(super) async fn duplicate_version_is_rejected_and_changes_nothing(db: &dyn RegistryDb) {
    db.commit_publish(&sample_publish("a", "1.0.0", 0))
        .await
        .unwrap();
    let before = db.stats().await.unwrap();
    let mut again = sample_publish("a", "1.0.0", 5);
    again.event_id = Digest::of(b"another event");
    again.payload_digest = Some(Digest::of(b"another payload"));
    again.objects = vec![object("new object")];
    assert!(matches!(
        db.commit_publish(&again).await,
        Err(StoreError::ReleaseExists)
    ));
    assert_eq!(db.stats().await.unwrap(), before);
    assert!(db.event(&again.event_id).await.unwrap().is_none());
    assert!(db.object(&again.objects[0].digest).await.unwrap().is_none());
}

pub(super) async fn name_key_is_held_by_one_package(db: &dyn RegistryDb) {
    let named = |package: &str, version: &str, key: &str| PublishCommit {
        name_key: Some(key.to_owned()),
        ..sample_publish(package, version, 0)
    };
    db.commit_publish(&named("a-b", "1.0.0", "x:a_b"))
        .await
        .unwrap();
    // The holder publishes again under its key.
    db.commit_publish(&named("a-b", "2.0.0", "x:a_b"))
        .await
        .unwrap();
    let before = db.stats().await.unwrap();
    let other = named("a_b", "1.0.0", "x:a_b");
    match db.commit_publish(&other).await {
        Err(StoreError::NameTaken(holder)) => assert_eq!(holder, pkg("a-b")),
        outcome => panic!("a taken name key committed: {outcome:?}"),
    }
    assert_eq!(db.stats().await.unwrap(), before);
    assert!(db.event(&other.event_id).await.unwrap().is_none());
    assert!(db.package(&other.package).await.unwrap().is_none());
    assert_eq!(db.package_named("x:a_b").await.unwrap(), Some(pkg("a-b")));
    assert_eq!(db.package_named("x:c").await.unwrap(), None);
}

pub(super) async fn equivalent_version_is_rejected_and_changes_nothing(db: &dyn RegistryDb) {
    let keyed = |package: &str, version: &str, key: &str| PublishCommit {
        version_key: Some(key.to_owned()),
        ..sample_publish(package, version, 0)
    };
    db.commit_publish(&keyed("a", "1.0", "1")).await.unwrap();
    let before = db.stats().await.unwrap();
    let again = keyed("a", "1.0.0", "1");
    assert!(matches!(
        db.commit_publish(&again).await,
        Err(StoreError::ReleaseExists)
    ));
    assert_eq!(db.stats().await.unwrap(), before);
    assert!(db.event(&again.event_id).await.unwrap().is_none());
    assert!(
        db.release(&again.package, &again.version)
            .await
            .unwrap()
            .is_none()
    );
    // Other keys, other packages and unkeyed releases are unaffected.
    db.commit_publish(&keyed("a", "1.1", "1.1")).await.unwrap();
    db.commit_publish(&keyed("b", "1.0.0", "1")).await.unwrap();
    db.commit_publish(&sample_publish("a", "1.0.0", 0))
        .await
        .unwrap();
}

pub(super) async fn replayed_authorization_is_rejected(db: &dyn RegistryDb) {
    let first = sample_publish("a", "1.0.0", 0);
    let marker = first.payload_digest.unwrap();
    assert!(!db.replay_marked(&marker).await.unwrap());
    db.commit_publish(&first).await.unwrap();
    assert!(db.replay_marked(&marker).await.unwrap());
    assert!(!db.replay_marked(&Digest::of(b"never used")).await.unwrap());
    let mut replay = sample_publish("a", "2.0.0", 1);
    replay.payload_digest = first.payload_digest;
    assert!(matches!(
        db.commit_publish(&replay).await,
        Err(StoreError::Replayed)
    ));
    assert!(
        db.release(&replay.package, &replay.version)
            .await
            .unwrap()
            .is_none()
    );
    let mut channel = sample_channel("a", "beta", None, Some("1.0.0"), "x");
    channel.payload_digest = first.payload_digest;
    assert!(matches!(
        db.commit_channel(&channel).await,
        Err(StoreError::Replayed)
    ));
    assert!(
        db.channel(&channel.package, &channel.channel)
            .await
            .unwrap()
            .is_none()
    );
}

pub(super) async fn concurrent_publishers_of_one_version_have_one_winner(db: Arc<dyn RegistryDb>) {
    let mut tasks = Vec::new();
    for i in 0..8 {
        let db = Arc::clone(&db);
        tasks.push(tokio::spawn(async move {
            let mut c = sample_publish("race", "1.0.0", i);
            c.event_id = Digest::of(format!("race event {i}").as_bytes());
            c.payload_digest = Some(Digest::of(format!("race payload {i}").as_bytes()));
            db.commit_publish(&c).await
        }));
    }
    let mut wins = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(_) => wins += 1,
            Err(StoreError::ReleaseExists) => {}
            Err(other) => panic!("unexpected error in race: {other}"),
        }
    }
    assert_eq!(wins, 1, "exactly one publisher wins");
    assert_eq!(db.stats().await.unwrap().events, 1);
}
