//! The scale data generator: fills an embedded data directory with signed
//! releases and channel moves through core's use cases (the same
//! validation, processors and commits as `POST /releases`, minus HTTP),
//! with deferred fsyncs and one `sync` at the end.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::Context as _;
use futures_util::StreamExt as _;
use regesta_client::sign::Signer;
use regesta_core::Registry;
use regesta_protocol::{ChannelName, OwnerDomain, PackageId};
use regesta_store::fs::FsBlobs;
use regesta_store::sqlite::SqliteDb;
use regesta_store::{BlobStore, Durability, RegistryDb};
use regesta_trust::StaticBindings;

use crate::fixture::{DOMAIN, Release, channel_body, demo_signer};

/// What to generate.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// The named benchmark fixtures (`v1`, `v200`, `v<big>`, `blob-1k`,
    /// `blob-1m`, `dep-0`..`dep-49`).
    pub(crate) fixtures: bool,
    /// Versions of the big fixture package.
    pub(crate) big_versions: usize,
    /// Scale packages `s-<i>`.
    pub(crate) packages: usize,
    /// Events across the scale packages: two releases each, the rest
    /// channel moves.
    pub(crate) events: usize,
    /// Packages written concurrently.
    pub(crate) jobs: usize,
}

/// One package's work.
#[derive(Debug, Clone)]
enum Item {
    /// `versions` small releases of `name`.
    Versions { name: String, versions: usize },
    /// One release whose source archive is `size` bytes.
    Blob { name: String, size: usize },
    /// A dependency of the npm-install project.
    Dep { index: usize },
    /// A scale package with `events` events.
    Scale { index: usize, events: usize },
}

fn items(plan: &Plan) -> Vec<Item> {
    let mut items = Vec::new();
    if plan.fixtures {
        for (name, versions) in [
            ("v1".to_owned(), 1),
            ("v200".to_owned(), 200),
            (format!("v{}", plan.big_versions), plan.big_versions),
        ] {
            items.push(Item::Versions { name, versions });
        }
        items.push(Item::Blob {
            name: "blob-1k".into(),
            size: 1024,
        });
        items.push(Item::Blob {
            name: "blob-1m".into(),
            size: 1024 * 1024,
        });
        items.extend((0..50).map(|index| Item::Dep { index }));
    }
    if let Some(base) = plan.events.checked_div(plan.packages) {
        let extra = plan.events % plan.packages;
        items.extend((0..plan.packages).map(|index| Item::Scale {
            index,
            events: base + usize::from(index < extra),
        }));
    }
    items
}

/// Deterministic filler bytes (not compressible, so sizes are honest).
fn filler(size: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..size)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

struct Writer {
    registry: Registry,
    signer: Signer,
    events: AtomicU64,
    started: Instant,
}

impl Writer {
    async fn publish(&self, release: &Release) -> anyhow::Result<()> {
        let nonce = format!("gen-{}-{}", release.name, release.version);
        let request = release.core_request(&self.signer, &nonce)?;
        self.registry
            .publish(request)
            .await
            .with_context(|| format!("publish {}@{}", release.name, release.version))?;
        self.count();
        Ok(())
    }

    async fn move_channel(
        &self,
        name: &str,
        version: &str,
        previous: Option<&str>,
        n: usize,
    ) -> anyhow::Result<()> {
        let body = channel_body(
            &self.signer,
            name,
            "next",
            version,
            previous,
            &format!("gen-{name}-next-{n}"),
        )?;
        let package = PackageId::parse(&format!("npm:{DOMAIN}/{name}"))?;
        self.registry
            .update_channel(&package, &ChannelName::parse("next")?, &body)
            .await
            .with_context(|| format!("channel move {name} #{n}"))?;
        self.count();
        Ok(())
    }

    fn count(&self) {
        let done = self.events.fetch_add(1, Ordering::Relaxed) + 1;
        if done.is_multiple_of(50_000) {
            let seconds = self.started.elapsed().as_secs_f64();
            #[expect(clippy::print_stderr, reason = "progress of a long CLI run")]
            {
                eprintln!("generated {done} events in {seconds:.0} s");
            }
        }
    }

    async fn run(&self, item: Item) -> anyhow::Result<()> {
        match item {
            Item::Versions { name, versions } => {
                for v in 0..versions {
                    self.publish(&Release::small(&name, &format!("1.0.{v}")))
                        .await?;
                }
            }
            Item::Blob { name, size } => {
                let mut release = Release::small(&name, "1.0.0");
                release.source = filler(size, size as u64);
                self.publish(&release).await?;
            }
            Item::Dep { index } => {
                let mut release = Release::small(&format!("dep-{index}"), "1.0.0");
                if index > 0 {
                    release.dependencies = vec![format!("dep-{}", index - 1)];
                }
                self.publish(&release).await?;
            }
            Item::Scale { index, events } => {
                let name = format!("s-{index}");
                let releases = events.min(2);
                for v in 0..releases {
                    self.publish(&Release::small(&name, &format!("1.0.{v}")))
                        .await?;
                }
                let mut previous: Option<&str> = None;
                for n in 0..events - releases {
                    let version = if n % 2 == 0 { "1.0.0" } else { "1.0.1" };
                    self.move_channel(&name, version, previous, n).await?;
                    previous = Some(version);
                }
            }
        }
        Ok(())
    }
}

/// Runs `plan` into `data_dir` and syncs it; returns the events written.
///
/// # Errors
/// A store or publish failure (the directory is then not usable).
pub(crate) async fn generate(data_dir: &Path, plan: &Plan) -> anyhow::Result<u64> {
    let sqlite = Arc::new(SqliteDb::open_with(data_dir, Durability::Deferred).await?);
    let db: Arc<dyn RegistryDb> = sqlite.clone();
    let blobs: Arc<dyn BlobStore> = Arc::new(FsBlobs::open_with(data_dir, Durability::Deferred)?);
    let mut bindings = StaticBindings::new();
    bindings.insert(
        &OwnerDomain::parse(DOMAIN)?,
        bytes::Bytes::from_static(regesta_server::dev::DEMO_BINDING),
    )?;
    let registry = Registry {
        db,
        blobs,
        bindings: Arc::new(bindings),
        clock: Arc::new(regesta_server::SystemClock),
        timestamp_tolerance_ms: 5 * 60 * 1000,
        views: Arc::default(),
        write_limits: Arc::new(regesta_core::Unlimited),
        ecosystems: Arc::new(regesta_server::ecosystems()),
    };
    let writer = Arc::new(Writer {
        registry,
        signer: demo_signer()?,
        events: AtomicU64::new(0),
        started: Instant::now(),
    });
    let mut results = futures_util::stream::iter(items(plan))
        .map(|item| {
            let writer = writer.clone();
            tokio::spawn(async move { writer.run(item).await })
        })
        .buffer_unordered(plan.jobs.max(1));
    while let Some(result) = results.next().await {
        result??;
    }
    // Fold the write-ahead log into the database file, or the first start
    // on this data replays all of it.
    sqlite.close().await?;
    let status = std::process::Command::new("sync").status()?;
    anyhow::ensure!(status.success(), "sync failed");
    Ok(writer.events.load(Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use regesta_protocol::Version;

    /// The generator's writes go through core: the counts add up, the
    /// channel moves alternate, and a normally opened store reads them.
    #[tokio::test]
    async fn generated_data_reopens_with_the_counts_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let plan = Plan {
            fixtures: false,
            big_versions: 0,
            packages: 3,
            events: 11,
            jobs: 2,
        };
        assert_eq!(generate(dir.path(), &plan).await.unwrap(), 11);
        let wal = dir.path().join("registry.sqlite3-wal");
        assert!(
            std::fs::metadata(&wal).map_or(true, |m| m.len() == 0),
            "the write-ahead log is folded into the database"
        );
        let db = SqliteDb::open(dir.path()).await.unwrap();
        let stats = db.stats().await.unwrap();
        assert_eq!((stats.packages, stats.releases, stats.events), (3, 6, 11));
        // s-0 has 4 events: two releases, then next -> 1.0.0 -> 1.0.1.
        let package = PackageId::parse("npm:dev.localhost/s-0").unwrap();
        let next = db
            .channel(&package, &ChannelName::parse("next").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(next.version, Version::parse("1.0.1").unwrap());
    }

    #[test]
    fn events_are_spread_over_the_packages() {
        let plan = Plan {
            fixtures: true,
            big_versions: 7,
            packages: 4,
            events: 10,
            jobs: 1,
        };
        let scale: Vec<usize> = items(&plan)
            .into_iter()
            .filter_map(|item| match item {
                Item::Scale { events, .. } => Some(events),
                _ => None,
            })
            .collect();
        assert_eq!(scale, vec![3, 3, 2, 2]);
        assert!(
            items(&plan)
                .iter()
                .any(|item| matches!(item, Item::Versions { name, versions: 7 } if name == "v7"))
        );
    }
}
