//! The storage conformance suite. Every [`RegistryDb`] adapter runs these
//! checks from its own tests; a new adapter is done when they all pass.
#![expect(
    clippy::unwrap_used,
    clippy::similar_names,
    reason = "the suite is test code: a failed step must panic at its line"
)]

use std::sync::Arc;

use bytes::Bytes;
use regesta_protocol::{
    ChannelName, Digest, ObjectDescriptor, PackageId, Text, Timestamp, Version,
};

use crate::error::StoreError;
use crate::log::{LogCheckpoint, LogCommit, LogIdentity};
use crate::model::{ChannelCommit, PublishCommit, ReleaseDocuments};
use crate::traits::RegistryDb;

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

fn checkpoint(size: u64) -> LogCheckpoint {
    LogCheckpoint {
        size,
        root: [u8::try_from(size % 256).unwrap_or(0); 32],
        note: Bytes::from(format!("note {size}\n")),
    }
}

async fn log_commits_are_compare_and_swap(db: &dyn RegistryDb) {
    for n in 0..3 {
        db.commit_publish(&sample_publish("log", &format!("1.0.{n}"), n))
            .await
            .expect("publish");
    }
    let from_two = db.events_from(2, 10).await.unwrap();
    assert_eq!(
        from_two.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![2, 3],
        "events by sequence number"
    );
    assert!(db.log_checkpoint().await.unwrap().is_none());
    let first = LogCommit {
        old_size: 0,
        checkpoint: checkpoint(2),
        tiles: vec![(0, 0, Bytes::from(vec![1_u8; 64]))],
    };
    db.commit_log(&first).await.expect("first step");
    assert!(
        matches!(db.commit_log(&first).await, Err(StoreError::StaleLog)),
        "a step from a size the log has left is refused"
    );
    let second = LogCommit {
        old_size: 2,
        checkpoint: checkpoint(3),
        tiles: vec![(0, 0, Bytes::from(vec![2_u8; 96]))],
    };
    db.commit_log(&second).await.expect("second step");
    assert_eq!(db.log_checkpoint().await.unwrap(), Some(checkpoint(3)));
    assert_eq!(
        db.log_tile(0, 0).await.unwrap(),
        Some(Bytes::from(vec![2_u8; 96])),
        "tiles grow in place"
    );
    assert!(db.log_tile(1, 0).await.unwrap().is_none());
    let stale = LogCommit {
        old_size: 2,
        checkpoint: checkpoint(4),
        tiles: vec![(0, 0, Bytes::from(vec![9_u8; 32]))],
    };
    assert!(matches!(
        db.commit_log(&stale).await,
        Err(StoreError::StaleLog)
    ));
    assert!(db.log_cosigned().await.unwrap().is_none());
    let cosigned = Bytes::from_static(b"note 2\n\xe2\x80\x94 witness AAAA\n");
    db.log_cosign(2, &cosigned).await.unwrap();
    let latest = db.log_cosigned().await.unwrap().unwrap();
    assert_eq!((latest.size, latest.note), (2, cosigned));
    assert_eq!(
        db.log_checkpoint().await.unwrap(),
        Some(checkpoint(3)),
        "unchanged"
    );
    assert_eq!(
        db.log_tile(0, 0).await.unwrap(),
        Some(Bytes::from(vec![2_u8; 96])),
        "a refused step writes nothing"
    );
}

async fn the_log_identity_is_recorded_once(db: &dyn RegistryDb) {
    let first = LogIdentity {
        origin: "registry.test/log".into(),
        verifier_key: "registry.test/log+01234567+AAAA".into(),
    };
    let second = LogIdentity {
        origin: "other.test/log".into(),
        verifier_key: "other.test/log+89abcdef+BBBB".into(),
    };
    assert_eq!(db.claim_log_identity(&first).await.unwrap(), first);
    assert_eq!(db.claim_log_identity(&second).await.unwrap(), first);
    assert_eq!(db.claim_log_identity(&first).await.unwrap(), first);
}

async fn leases_are_exclusive_until_they_expire(db: &dyn RegistryDb) {
    assert!(
        db.acquire_lease("sequencer", "a", 1_000, 500)
            .await
            .unwrap()
    );
    assert!(
        !db.acquire_lease("sequencer", "b", 1_200, 500)
            .await
            .unwrap()
    );
    assert!(
        db.acquire_lease("sequencer", "a", 1_400, 500)
            .await
            .unwrap(),
        "renewal"
    );
    assert!(
        !db.acquire_lease("sequencer", "b", 1_800, 500)
            .await
            .unwrap()
    );
    assert!(
        db.acquire_lease("sequencer", "b", 1_900, 500)
            .await
            .unwrap(),
        "expired"
    );
    assert!(
        !db.acquire_lease("sequencer", "a", 2_000, 500)
            .await
            .unwrap()
    );
    assert!(db.acquire_lease("other", "a", 2_000, 500).await.unwrap());
}

async fn publish_is_atomic_and_readable(db: &dyn RegistryDb) {
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
async fn reads_see_each_commit_made_after_them(db: &dyn RegistryDb) {
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

async fn duplicate_version_is_rejected_and_changes_nothing(db: &dyn RegistryDb) {
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

async fn name_key_is_held_by_one_package(db: &dyn RegistryDb) {
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

async fn equivalent_version_is_rejected_and_changes_nothing(db: &dyn RegistryDb) {
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

async fn replayed_authorization_is_rejected(db: &dyn RegistryDb) {
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

async fn channel_moves_are_compare_and_swap(db: &dyn RegistryDb) {
    db.commit_publish(&sample_publish("a", "1.0.0", 0))
        .await
        .unwrap();
    db.commit_publish(&sample_publish("a", "1.1.0", 1))
        .await
        .unwrap();
    let create = sample_channel("a", "beta", None, Some("1.0.0"), "1");
    assert_eq!(db.commit_channel(&create).await.unwrap(), 3);
    let stale = sample_channel("a", "beta", None, Some("1.1.0"), "2");
    assert!(matches!(
        db.commit_channel(&stale).await,
        Err(StoreError::StaleChannel)
    ));
    let wrong = sample_channel("a", "beta", Some("1.1.0"), Some("1.1.0"), "3");
    assert!(matches!(
        db.commit_channel(&wrong).await,
        Err(StoreError::StaleChannel)
    ));
    let moved = sample_channel("a", "beta", Some("1.0.0"), Some("1.1.0"), "4");
    db.commit_channel(&moved).await.unwrap();
    let record = db
        .channel(&moved.package, &moved.channel)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (record.version.as_str(), record.event_id),
        ("1.1.0", moved.event_id)
    );
    let state = db.package(&moved.package).await.unwrap().unwrap();
    assert_eq!(state.head_event, moved.event_id);
    assert_eq!(
        db.package_head(&moved.package).await.unwrap().unwrap().0,
        moved.event_id
    );
    let delete = sample_channel("a", "beta", Some("1.1.0"), None, "5");
    db.commit_channel(&delete).await.unwrap();
    assert!(
        db.channel(&delete.package, &delete.channel)
            .await
            .unwrap()
            .is_none()
    );
    let missing = sample_channel("a", "beta", Some("1.1.0"), None, "6");
    assert!(matches!(
        db.commit_channel(&missing).await,
        Err(StoreError::StaleChannel)
    ));
    assert_eq!(db.stats().await.unwrap().events, 5);
}

async fn events_page_in_sequence_order(db: &dyn RegistryDb) {
    let mut ids = Vec::new();
    for i in 0..5 {
        let c = sample_publish(&format!("p{}", 4 - i), "1.0.0", i);
        db.commit_publish(&c).await.unwrap();
        ids.push(c.event_id);
    }
    let all = db.events_after(None, 999).await.unwrap();
    assert_eq!(all.iter().map(|e| e.id).collect::<Vec<_>>(), ids);
    assert_eq!(
        all.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
    let page = db.events_after(Some(&ids[1]), 2).await.unwrap();
    assert_eq!(
        page.iter().map(|e| e.id).collect::<Vec<_>>(),
        ids[2..4].to_vec()
    );
    assert!(db.events_after(Some(&ids[4]), 10).await.unwrap().is_empty());
    assert!(matches!(
        db.events_after(Some(&Digest::of(b"nope")), 10).await,
        Err(StoreError::CursorNotFound)
    ));
    let head = db.log_head().await.unwrap().unwrap();
    assert_eq!((head.last, head.count), (ids[4], 5));
}

async fn package_ids_by_prefix(db: &dyn RegistryDb) {
    // `_` would be a wildcard to `LIKE`, and a collation could sort `a-b`
    // beside `a_c`: the prefix is compared, and ids ordered, byte for byte.
    let ids = [
        "pypi:a.dev/zeta",
        "pypi:a.dev/alpha",
        "pypi:a.devx/other",
        "pypi:ab.dev/near",
        "npm:a.dev/alpha",
        "pypi:a.dev/a_c",
        "pypi:a.dev/a-b",
    ];
    for (millis, id) in (0_i64..).zip(ids) {
        let mut commit = sample_publish(id, "1.0.0", millis);
        commit.package = PackageId::parse(id).expect("valid test id");
        db.commit_publish(&commit).await.unwrap();
    }
    let listed = |ids: std::sync::Arc<[PackageId]>| {
        ids.iter()
            .map(|id| id.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        listed(db.package_ids("pypi:a.dev/", 10).await.unwrap()),
        [
            "pypi:a.dev/a-b",
            "pypi:a.dev/a_c",
            "pypi:a.dev/alpha",
            "pypi:a.dev/zeta"
        ]
    );
    assert_eq!(
        listed(db.package_ids("pypi:a.dev/", 2).await.unwrap()),
        ["pypi:a.dev/a-b", "pypi:a.dev/a_c"]
    );
    assert_eq!(
        listed(db.package_ids("pypi:a.dev/a_", 10).await.unwrap()),
        ["pypi:a.dev/a_c"]
    );
    assert!(db.package_ids("cargo:a.dev/", 10).await.unwrap().is_empty());
    // A package created after a listing is in the next one (a cache must
    // forget the namespace's listing on every write into it).
    assert_eq!(db.package_ids("pypi:a.dev/", 10).await.unwrap().len(), 4);
    let mut commit = sample_publish("pypi:a.dev/beta", "1.0.0", 99);
    commit.package = PackageId::parse("pypi:a.dev/beta").expect("valid test id");
    db.commit_publish(&commit).await.unwrap();
    assert_eq!(
        listed(db.package_ids("pypi:a.dev/", 10).await.unwrap()),
        [
            "pypi:a.dev/a-b",
            "pypi:a.dev/a_c",
            "pypi:a.dev/alpha",
            "pypi:a.dev/beta",
            "pypi:a.dev/zeta"
        ]
    );
}

async fn objects_page_in_digest_order(db: &dyn RegistryDb) {
    for i in 0..4 {
        db.commit_publish(&sample_publish("o", &format!("1.0.{i}"), i))
            .await
            .unwrap();
    }
    let all = db.objects_after(None, 999).await.unwrap();
    assert_eq!(all.len(), 8);
    let mut sorted = all.clone();
    sorted.sort_by_key(|o| o.digest);
    assert_eq!(all, sorted);
    let next = db.objects_after(Some(&all[2].digest), 3).await.unwrap();
    assert_eq!(next, all[3..6].to_vec());
    assert!(matches!(
        db.objects_after(Some(&Digest::of(b"nope")), 10).await,
        Err(StoreError::CursorNotFound)
    ));
}

async fn concurrent_publishers_of_one_version_have_one_winner(db: Arc<dyn RegistryDb>) {
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
