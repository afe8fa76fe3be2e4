//! `regesta migrate` from the embedded store to PostgreSQL + S3: the copy
//! holds the same events (so the same transparency log root), a rerun copies
//! only what is new, the restore checks (`verify-log`, `verify-package`)
//! pass on a server over the copy, and what the PyPI processor derived
//! (core metadata objects) is there too.

use std::time::{Duration, Instant};

use crate::npm_clients::{Registry, package};
use crate::support::{ok, regesta, start_with};

fn get(url: &str) -> String {
    crate::support::get(url).1
}

/// The checkpoint once it reaches `size`.
fn checkpoint(base: &str, size: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let note = get(&format!("{base}/log/checkpoint"));
        if note.lines().nth(1) == Some(size.to_string().as_str()) {
            return note;
        }
        assert!(Instant::now() < deadline, "{note}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn migrate(args: &[&str], s3: &[(&str, &str)]) -> serde_json::Value {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_regesta"))
        .args(["migrate", "--json"])
        .args(args)
        .envs(s3.iter().copied())
        .output()
        .unwrap();
    serde_json::from_slice(&ok(&output).into_bytes()).unwrap()
}

/// Publishes the `my-lib` 1.0 wheel fixture as `pypi:b.localhost/my-lib`.
fn publish_wheel(registry: &Registry) {
    let project = registry.root.join("my-lib");
    std::fs::create_dir_all(project.join("my_lib")).unwrap();
    std::fs::write(project.join("my_lib/__init__.py"), "VERSION = \"1.0\"\n").unwrap();
    let wheel = regesta_testkit::workspace_root()
        .join("crates/regesta-cli/tests/fixtures/my_lib-1.0-py3-none-any.whl");
    let key = registry.key("b.localhost");
    ok(&regesta(&[
        "publish",
        project.to_str().unwrap(),
        "--registry",
        &registry.base,
        "--auth-key",
        &key,
        "--id",
        "pypi:b.localhost/my-lib",
        "--version",
        "1.0",
        "--artifact",
        wheel.to_str().unwrap(),
        "-q",
    ]));
}

#[test]
#[ignore = "needs PostgreSQL and S3 (s3s-fs): run scripts/test"]
fn migrate_copies_the_log_exactly_and_resumes() {
    let url = regesta_testkit::test_database_url();
    let [endpoint, key_id, secret, bucket] = regesta_testkit::test_s3();
    let name = format!("regesta_migrate_{}", std::process::id());
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let admin = sqlx::PgPool::connect(&url).await.unwrap();
        let create = format!("CREATE DATABASE {name}");
        sqlx::query(sqlx::AssertSqlSafe(create))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
    });
    let database = format!("{}/{name}", url.rsplit_once('/').unwrap().0);
    let objects = format!("s3://{bucket}/migrate-{}", std::process::id());
    let s3 = [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", key_id.as_str()),
        ("AWS_SECRET_ACCESS_KEY", secret.as_str()),
    ];

    let tmp = tempfile::tempdir().unwrap();
    let origin = [("REGESTA_LOG_ORIGIN", "migrate.test/log/v1")];
    let mut registry = Registry::start_with(tmp.path(), &origin);
    registry.publish_fixtures();
    let embedded_checkpoint = checkpoint(&registry.base, 6);
    registry.kill();
    let data = registry.data.to_str().unwrap().to_owned();
    let args = [
        "--from",
        data.as_str(),
        "--to",
        database.as_str(),
        "--objects",
        objects.as_str(),
    ];
    let first = migrate(&args, &s3);
    assert_eq!(
        (first["events"].as_u64(), first["total"].as_u64()),
        (Some(6), Some(6))
    );
    assert!(first["objects"].as_u64().unwrap() >= 12, "{first}");
    let again = migrate(&args, &s3);
    assert_eq!(again["events"], 0, "a rerun copies nothing: {again}");

    // Two more releases on the embedded store (npm, and a PyPI wheel whose
    // core metadata is a derived object); the rerun copies just them.
    let embedded_again = start_with(&registry.data, &{
        let mut env: Vec<(&str, &str)> = registry
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        env.extend(origin);
        env
    });
    registry.base = embedded_again.base.clone();
    let lib = registry.root.join("lib");
    package(&lib, "@b.localhost/lib", "1.2.0", "");
    registry.publish(&lib, "b.localhost");
    publish_wheel(&registry);
    let embedded_eight = checkpoint(&embedded_again.base, 8);
    let metadata_url = "/pypi/b.localhost/files/my-lib/1.0/my_lib-1.0-py3-none-any.whl.metadata";
    let metadata = get(&format!("{}{metadata_url}", embedded_again.base));
    assert!(metadata.starts_with("Metadata-Version:"), "{metadata}");
    drop(embedded_again);
    assert_eq!(migrate(&args, &s3)["events"], 2);

    // A server over the copy: same log (same leaves, same key, same root),
    // and the restore checks pass.
    let key_file = registry.data.join("log-key");
    let mut env: Vec<(&str, &str)> = registry
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    env.extend([
        ("REGESTA_DATABASE_URL", database.as_str()),
        ("REGESTA_OBJECT_STORE_URL", objects.as_str()),
        ("REGESTA_LOG_KEY_FILE", key_file.to_str().unwrap()),
    ]);
    env.extend(s3);
    let copy = start_with(&tmp.path().join("copy"), &env);
    let copied = checkpoint(&copy.base, 8);
    assert_eq!(
        copied.lines().take(3).collect::<Vec<_>>(),
        embedded_eight.lines().take(3).collect::<Vec<_>>(),
        "the copy's log has the same root as the source's"
    );
    assert!(embedded_checkpoint.starts_with("migrate.test/log/v1\n6\n"));
    assert_eq!(
        get(&format!("{}{metadata_url}", copy.base)),
        metadata,
        "the derived core metadata object was migrated"
    );
    ok(&regesta(&["verify-log", "--registry", &copy.base]));
    ok(&regesta(&[
        "verify-package",
        "npm:a.localhost/app",
        "--registry",
        &copy.base,
    ]));
    ok(&regesta(&[
        "verify-package",
        "npm:b.localhost/lib",
        "--registry",
        &copy.base,
    ]));
}
