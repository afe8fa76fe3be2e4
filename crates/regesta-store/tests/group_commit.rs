//! SQLite's group commit: concurrent publishes share transactions, and each
//! still gets exactly its own outcome.

use std::sync::Arc;

use regesta_store::conformance::sample_publish;
use regesta_store::sqlite::SqliteDb;
use regesta_store::{RegistryDb, StoreError};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn grouped_publishes_each_get_their_own_outcome_and_no_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let db: Arc<dyn RegistryDb> = Arc::new(SqliteDb::open(dir.path()).await.unwrap());
    let mut tasks = Vec::new();
    for n in 0..48 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            // Every fourth publish races for the same release.
            let name = if n % 4 == 0 {
                "contested".to_owned()
            } else {
                format!("p{n}")
            };
            let mut commit = sample_publish(&name, "1.0.0", n);
            if n % 4 == 0 {
                // Distinct events and authorizations, same release.
                commit.event_id = regesta_protocol::Digest::of(format!("e{n}").as_bytes());
                commit.payload_digest =
                    Some(regesta_protocol::Digest::of(format!("a{n}").as_bytes()));
            }
            db.commit_publish(&commit).await
        }));
    }
    let mut sequenced = Vec::new();
    let mut conflicts = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(seq) => sequenced.push(seq),
            Err(StoreError::ReleaseExists) => conflicts += 1,
            Err(other) => panic!("unexpected {other}"),
        }
    }
    assert_eq!(conflicts, 11, "one of the 12 contested publishes wins");
    sequenced.sort_unstable();
    let expected: Vec<u64> = (1..=37).collect();
    assert_eq!(sequenced, expected, "gap-free, one number each");
    let events = db.events_from(1, 100).await.unwrap();
    assert_eq!(events.len(), 37, "a failed publish leaves no event behind");
    assert_eq!(db.stats().await.unwrap().releases, 37);
}

/// Every kind of conflict inside groups: each loser gets its own typed
/// outcome, rolls back alone (counters and rows as if it never ran), and
/// the winners' objects are counted once however many publishes share them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn grouped_conflicts_of_every_kind_roll_back_alone() {
    use regesta_protocol::Digest;
    use regesta_store::PublishCommit;

    let dir = tempfile::tempdir().unwrap();
    let db: Arc<dyn RegistryDb> = Arc::new(SqliteDb::open(dir.path()).await.unwrap());
    let shared_object =
        regesta_store::conformance::sample_publish("shared", "1.0.0", 0).objects[0].clone();
    let commits: Vec<PublishCommit> = (0..40_u8)
        .map(|n| {
            let name = format!("p{n}");
            let mut commit = sample_publish(&name, "1.0.0", i64::from(n));
            commit.objects.push(shared_object.clone());
            match n % 4 {
                // The same authorization replayed by every one of these.
                1 => commit.payload_digest = Some(Digest::of(b"one authorization")),
                // The same name key claimed by different packages.
                2 => commit.name_key = Some("x:contested".to_owned()),
                // The same version key for one package.
                3 => {
                    commit.package =
                        regesta_protocol::PackageId::parse("npm:example.com/keyed").unwrap();
                    commit.version = regesta_protocol::Version::parse(&format!("1.0.{n}")).unwrap();
                    commit.version_key = Some("one".to_owned());
                }
                _ => {}
            }
            commit
        })
        .collect();
    let tasks: Vec<_> = commits
        .iter()
        .cloned()
        .map(|commit| {
            let db = db.clone();
            tokio::spawn(async move { db.commit_publish(&commit).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    let mut won = 0;
    for (n, outcome) in outcomes.iter().enumerate() {
        match (n % 4, outcome) {
            (_, Ok(_)) => won += 1,
            (1, Err(StoreError::Replayed)) | (3, Err(StoreError::ReleaseExists)) => {}
            (2, Err(StoreError::NameTaken(holder))) => {
                assert_eq!(
                    db.package_named("x:contested").await.unwrap().as_ref(),
                    Some(holder)
                );
            }
            (kind, other) => panic!("publish {n} (kind {kind}): {other:?}"),
        }
    }
    // All 10 plain publishes, and one winner of each contest.
    assert_eq!(won, 13, "{outcomes:?}");
    let stats = db.stats().await.unwrap();
    assert_eq!(stats.events, 13);
    assert_eq!(stats.releases, 13);
    assert_eq!(stats.packages, 13);
    // Two own objects per winner, and the shared one once.
    assert_eq!(stats.objects, 13 * 2 + 1);
    for (commit, outcome) in commits.iter().zip(&outcomes) {
        let stored = db.event(&commit.event_id).await.unwrap();
        assert_eq!(stored.is_some(), outcome.is_ok(), "{}", commit.package);
    }
}
