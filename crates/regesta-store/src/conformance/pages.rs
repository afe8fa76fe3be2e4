//! Channel moves and the paged reads: events in sequence order, package
//! ids by prefix, objects in digest order.
#![expect(
    clippy::unwrap_used,
    clippy::similar_names,
    reason = "the suite is test code: a failed step must panic at its line"
)]

use regesta_protocol::{Digest, PackageId};

use super::{sample_channel, sample_publish};
use crate::error::StoreError;
use crate::traits::RegistryDb;

pub(super) async fn channel_moves_are_compare_and_swap(db: &dyn RegistryDb) {
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

pub(super) async fn events_page_in_sequence_order(db: &dyn RegistryDb) {
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

pub(super) async fn package_ids_by_prefix(db: &dyn RegistryDb) {
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

pub(super) async fn objects_page_in_digest_order(db: &dyn RegistryDb) {
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
