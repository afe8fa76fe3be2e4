//! The transparency log's rows: checkpoint commits, the log identity and
//! the sequencer lease.
#![expect(
    clippy::unwrap_used,
    reason = "the suite is test code: a failed step must panic at its line"
)]

use bytes::Bytes;

use super::sample_publish;
use crate::error::StoreError;
use crate::log::{LogCheckpoint, LogCommit, LogIdentity};
use crate::traits::RegistryDb;

fn checkpoint(size: u64) -> LogCheckpoint {
    LogCheckpoint {
        size,
        root: [u8::try_from(size % 256).unwrap_or(0); 32],
        note: Bytes::from(format!("note {size}\n")),
    }
}

pub(super) async fn log_commits_are_compare_and_swap(db: &dyn RegistryDb) {
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
        tiles: vec![
            (0, 0, Bytes::from(vec![2_u8; 96])),
            (1, 2, Bytes::from(vec![3_u8; 32])),
        ],
    };
    db.commit_log(&second).await.expect("second step");
    assert_eq!(db.log_checkpoint().await.unwrap(), Some(checkpoint(3)));
    assert_eq!(
        db.log_tile(0, 0).await.unwrap(),
        Some(Bytes::from(vec![2_u8; 96])),
        "tiles grow in place"
    );
    assert!(db.log_tile(1, 0).await.unwrap().is_none());
    assert_eq!(
        db.log_tile(1, 2).await.unwrap(),
        Some(Bytes::from(vec![3_u8; 32])),
        "a tile is found by its level and index"
    );
    assert!(db.log_tile(2, 1).await.unwrap().is_none());
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

pub(super) async fn the_log_identity_is_recorded_once(db: &dyn RegistryDb) {
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

pub(super) async fn leases_are_exclusive_until_they_expire(db: &dyn RegistryDb) {
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
