//! Every adapter passes the same conformance suite.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers panic on failure by design"
)]

use std::sync::Arc;

use bytes::Bytes;
use regesta_protocol::Digest;
use regesta_store::conformance;
use regesta_store::fs::FsBlobs;
use regesta_store::memory::{MemoryBlobs, MemoryDb};
use regesta_store::postgres::{PoolSettings, PostgresDb};
use regesta_store::s3::{S3Blobs, S3Settings};
use regesta_store::sqlite::SqliteDb;
use regesta_store::{BlobStore, RegistryDb};

#[tokio::test]
async fn memory_adapter_passes_the_conformance_suite() {
    conformance::run_all(|| async { Arc::new(MemoryDb::new()) as Arc<dyn RegistryDb> }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_adapter_passes_the_conformance_suite() {
    let root = tempfile::tempdir().unwrap();
    let counter = std::sync::atomic::AtomicUsize::new(0);
    conformance::run_all(|| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = root.path().join(format!("db{n}"));
        async move { Arc::new(SqliteDb::open(&dir).await.unwrap()) as Arc<dyn RegistryDb> }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_read_cache_passes_the_conformance_suite() {
    use regesta_store::cached::CachedDb;
    conformance::run_all(|| async {
        let inner = Arc::new(MemoryDb::new()) as Arc<dyn RegistryDb>;
        Arc::new(CachedDb::open(inner, 1 << 20).await.unwrap()) as Arc<dyn RegistryDb>
    })
    .await;
}

#[tokio::test]
async fn sqlite_adapter_is_durable_across_reopen() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().to_path_buf();
    conformance::durable_across_reopen(|| {
        let dir = dir.clone();
        async move { Arc::new(SqliteDb::open(&dir).await.unwrap()) as Arc<dyn RegistryDb> }
    })
    .await;
}

async fn blob_store_rules(blobs: &dyn BlobStore) {
    let bytes = Bytes::from_static(b"hello objects");
    let digest = Digest::of(&bytes);
    assert!(blobs.get(&digest).await.unwrap().is_none());
    blobs.put(&digest, bytes.clone()).await.unwrap();
    blobs.put(&digest, bytes.clone()).await.unwrap();
    assert_eq!(
        blobs.get_range(&digest, 6, 12).await.unwrap().as_deref(),
        Some(&b"objects"[..]),
        "ranged reads"
    );
    assert!(
        blobs
            .get_range(&Digest::of(b"absent"), 0, 1)
            .await
            .unwrap()
            .is_none()
    );
    let mut streamed = Vec::new();
    let mut stream = blobs.open(&digest).await.unwrap().expect("object");
    while let Some(chunk) = futures_util::StreamExt::next(&mut stream).await {
        streamed.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(streamed, b"hello objects", "streamed reads");
    assert!(blobs.open(&Digest::of(b"absent")).await.unwrap().is_none());
    assert_eq!(blobs.get(&digest).await.unwrap(), Some(bytes));
    assert!(
        blobs
            .put(&Digest::of(b"other"), Bytes::from_static(b"x"))
            .await
            .is_err()
    );
    blobs.ping().await.unwrap();
}

#[tokio::test]
async fn blob_stores_are_idempotent_and_verify_digests() {
    blob_store_rules(&MemoryBlobs::new()).await;
    let root = tempfile::tempdir().unwrap();
    let fs = FsBlobs::open(root.path()).unwrap();
    blob_store_rules(&fs).await;
    let cached =
        regesta_store::cached::CachedBlobs::new(Arc::new(MemoryBlobs::new()), 1 << 20, 1 << 10);
    blob_store_rules(&cached).await;
    let digest = Digest::of(b"hello objects");
    let hex = digest.hex();
    assert!(
        root.path()
            .join("objects/sha256")
            .join(&hex[..2])
            .join(&hex)
            .is_file()
    );
    assert_eq!(
        std::fs::read_dir(root.path().join("objects/tmp"))
            .unwrap()
            .count(),
        0
    );
}

/// The filesystem store streams a large object in bounded chunks, the
/// bytes exactly the object's.
#[tokio::test]
async fn file_objects_stream_in_bounded_chunks() {
    use futures_util::StreamExt as _;
    let root = tempfile::tempdir().unwrap();
    let fs = FsBlobs::open(root.path()).unwrap();
    let bytes: Bytes = (0..regesta_store::fs::STREAM_CHUNK * 3 + 10)
        .map(|i| u8::try_from(i % 251).unwrap_or_default())
        .collect::<Vec<u8>>()
        .into();
    let digest = Digest::of(&bytes);
    fs.put(&digest, bytes.clone()).await.unwrap();
    let chunks: Vec<Bytes> = fs
        .open(&digest)
        .await
        .unwrap()
        .expect("object")
        .map(|chunk| chunk.unwrap())
        .collect()
        .await;
    assert_eq!(chunks.len(), 4, "full chunks, then the rest");
    assert!(
        chunks
            .iter()
            .all(|c| c.len() <= regesta_store::fs::STREAM_CHUNK)
    );
    assert_eq!(chunks.concat(), bytes.as_ref());
}

/// A version-1 database from before sqlx versioned the schema (no
/// `releases.facts`, no `_sqlx_migrations`) opens: the column is added, its
/// releases read back without facts, and new ones keep theirs.
#[tokio::test]
async fn sqlite_migrates_a_version_1_database() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().to_path_buf();
    let old = conformance::sample_publish("old", "1.0.0", 0);
    {
        let db = SqliteDb::open(&dir).await.unwrap();
        db.commit_publish(&old).await.unwrap();
    }
    {
        let url = format!("sqlite:{}", dir.join("registry.sqlite3").display());
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        for statement in [
            "ALTER TABLE releases DROP COLUMN facts",
            "DROP TABLE _sqlx_migrations",
        ] {
            sqlx::query(statement).execute(&pool).await.unwrap();
        }
        pool.close().await;
    }
    let db = SqliteDb::open(&dir).await.unwrap();
    let release = db.release(&old.package, &old.version).await.unwrap();
    assert_eq!(release.unwrap().facts, None);
    let new = conformance::sample_publish("new", "1.0.0", 1);
    db.commit_publish(&new).await.unwrap();
    let release = db.release(&new.package, &new.version).await.unwrap();
    assert_eq!(release.unwrap().facts, new.facts);
}

/// A database migrated by a newer build (a migration this build does not
/// know) is refused with a message that says so, and left as it was.
#[tokio::test]
async fn sqlite_refuses_a_database_migrated_by_a_newer_build() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().to_path_buf();
    drop(SqliteDb::open(&dir).await.unwrap());
    let url = format!("sqlite:{}", dir.join("registry.sqlite3").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (999, 'from the future', 1, x'00', 0)",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let refused = SqliteDb::open(&dir).await.unwrap_err().to_string();
    assert!(refused.contains("newer than this build"), "{refused}");
}

fn postgres_url() -> String {
    regesta_testkit::test_database_url()
}

/// A new empty database on the server at `url`.
async fn fresh_database(url: &str) -> String {
    let name = format!("regesta_{}", uuid_like());
    let admin = sqlx::PgPool::connect(url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let (base, _) = url.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{}_{nanos}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: run scripts/test"]
async fn postgres_adapter_passes_the_conformance_suite() {
    let url = postgres_url();
    conformance::run_all(|| {
        let url = url.clone();
        async move {
            let db = fresh_database(&url).await;
            Arc::new(
                PostgresDb::open(&db, PoolSettings::default())
                    .await
                    .unwrap(),
            ) as Arc<dyn RegistryDb>
        }
    })
    .await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: run scripts/test"]
async fn postgres_is_durable_across_reopen_and_refuses_a_newer_schema() {
    let url = postgres_url();
    let db = fresh_database(&url).await;
    let reopen_url = db.clone();
    conformance::durable_across_reopen(|| {
        let url = reopen_url.clone();
        async move {
            Arc::new(
                PostgresDb::open(&url, PoolSettings::default())
                    .await
                    .unwrap(),
            ) as Arc<dyn RegistryDb>
        }
    })
    .await;
    let pool = sqlx::PgPool::connect(&db).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (999, 'from the future', true, '\\x00', 0)",
    )
    .execute(&pool)
    .await
    .unwrap();
    let refused = PostgresDb::open(&db, PoolSettings::default()).await;
    assert!(
        refused
            .unwrap_err()
            .to_string()
            .contains("newer than this build")
    );
}

fn s3_settings(prefix: &str) -> S3Settings {
    settings_for(regesta_testkit::test_s3(), prefix)
}

fn settings_for([endpoint, key, secret, bucket]: [String; 4], prefix: &str) -> S3Settings {
    S3Settings {
        bucket,
        prefix: prefix.to_owned(),
        endpoint: Some(endpoint),
        region: "us-east-1".into(),
        access_key_id: Some(key),
        secret_access_key: Some(secret),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs S3 (s3s-fs): run scripts/test"]
async fn s3_blobs_follow_the_blob_rules_on_s3s_fs() {
    let prefix = format!("run-{}", uuid_like());
    let settings = s3_settings(&prefix);
    s3_rules(settings).await;
}

/// The same on Ceph RGW, a production S3 implementation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Ceph RGW: run scripts/test"]
async fn s3_blobs_follow_the_blob_rules_on_ceph_rgw() {
    let prefix = format!("run-{}", uuid_like());
    let settings = settings_for(regesta_testkit::test_s3_ceph(), &prefix);
    s3_rules(settings).await;
}

async fn s3_rules(settings: S3Settings) {
    let blobs = Arc::new(S3Blobs::new(&settings).unwrap());
    blob_store_rules(blobs.as_ref()).await;
    // Racing writers of one digest: all succeed, one object.
    let bytes = Bytes::from(vec![7_u8; 300_000]);
    let digest = Digest::of(&bytes);
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let (blobs, bytes) = (blobs.clone(), bytes.clone());
            tokio::spawn(async move { blobs.put(&Digest::of(&bytes), bytes).await })
        })
        .collect();
    for racer in racers {
        racer.await.unwrap().unwrap();
    }
    assert_eq!(blobs.get(&digest).await.unwrap(), Some(bytes));
    // The server checks signatures: a wrong secret is refused.
    let wrong = S3Settings {
        secret_access_key: Some("not-the-secret".into()),
        ..settings
    };
    assert!(S3Blobs::new(&wrong).unwrap().ping().await.is_err());
}

/// A 3-node Garage cluster keeps taking and serving objects when one
/// storage node is killed (SIGKILL) in the middle of the run (writes need two of
/// three replicas).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Garage cluster: run scripts/test"]
async fn s3_blobs_survive_a_garage_node_being_killed() {
    let [endpoint, key, secret, bucket, region, victim] = regesta_testkit::test_garage();
    let settings = S3Settings {
        region,
        ..settings_for(
            [endpoint, key, secret, bucket],
            &format!("run-{}", uuid_like()),
        )
    };
    let blobs = S3Blobs::new(&settings).unwrap();
    let object = |n: u32| Bytes::from(format!("garage object {n} ").repeat(100));
    for n in 0..20 {
        let bytes = object(n);
        blobs.put(&Digest::of(&bytes), bytes).await.unwrap();
    }
    let killed = std::process::Command::new("kill")
        .args(["-9", &victim])
        .status()
        .unwrap();
    assert!(killed.success(), "node {victim} was killed");
    for n in 20..40 {
        let bytes = object(n);
        blobs.put(&Digest::of(&bytes), bytes).await.unwrap();
    }
    for n in 0..40 {
        let bytes = object(n);
        assert_eq!(
            blobs.get(&Digest::of(&bytes)).await.unwrap(),
            Some(bytes),
            "object {n} after the kill"
        );
    }
    blob_store_rules(&blobs).await;
}
