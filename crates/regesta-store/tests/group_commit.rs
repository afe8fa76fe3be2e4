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
