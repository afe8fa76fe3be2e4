//! A full disk: the real server on a small tmpfs data dir. Writes fail with
//! a structured `507 insufficient_storage` and store nothing partial;
//! reads, readiness and every acknowledged release keep working, and writes
//! come back once space is freed.

use crate::publishing::{demo_signer, post_release, request_with_source};
use crate::support::start_with;

/// A tmpfs of `megabytes`, unmounted on drop (after the server is gone).
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    /// Mounts it; the test that needs it is `#[ignore]`d outside
    /// `scripts/test`, which runs it as root.
    fn mount(megabytes: u32) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(dir.path())
            .status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "cannot mount a tmpfs: the disk-full test needs root; run it with scripts/test"
        );
        Self(dir)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.0.path())
            .status();
    }
}

fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

/// Publishes releases with `source_len`-byte sources until one is refused;
/// the refused name and answer. Names are `prefix-N`, and each acknowledged
/// one is added to `acknowledged`.
async fn fill(
    client: &reqwest::Client,
    base: &str,
    prefix: &str,
    source_len: usize,
    acknowledged: &mut Vec<String>,
) -> (String, u16, serde_json::Value) {
    for n in 0..2000_u64 {
        let name = format!("{prefix}-{n}");
        let source = noise(source_len, n + 1 + source_len as u64);
        let request = request_with_source(&name, &name, source, &demo_signer());
        let reply = post_release(client, base, request).await.unwrap();
        if reply.status().as_u16() != 201 {
            let status = reply.status().as_u16();
            let body = serde_json::from_slice(&reply.bytes().await.unwrap()).unwrap();
            return (name, status, body);
        }
        acknowledged.push(name);
    }
    panic!("an 8 MiB disk never filled up");
}

#[tokio::test]
#[ignore = "needs root (mounts a tmpfs): run scripts/test"]
async fn a_full_disk_refuses_writes_cleanly_and_keeps_serving_reads() {
    let disk = Tmpfs::mount(8);
    // Room to free once the disk is full, to show writes come back.
    let ballast: Vec<_> = (0..2)
        .map(|n| {
            let path = disk.0.path().join(format!("ballast-{n}"));
            std::fs::write(&path, noise(100 * 1024, 7 + n)).unwrap();
            path
        })
        .collect();
    let server = start_with(disk.0.path(), &[]);
    let base = &server.base;
    let client = reqwest::Client::new();
    let mut acknowledged = Vec::new();
    // Big sources fill the disk with objects; then, with a little room
    // freed, small ones make the database as likely as an object to be
    // what runs out. Either way the refusal is the same, and clean.
    let mut refused = Vec::new();
    for (prefix, source_len, room) in [
        ("big", 300 * 1024, &ballast[0]),
        ("small", 2048, &ballast[1]),
    ] {
        let (name, status, body) = fill(&client, base, prefix, source_len, &mut acknowledged).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (507, Some("insufficient_storage")),
            "{name}: {body}"
        );
        refused.push(name);
        std::fs::remove_file(room).unwrap();
    }
    assert!(!acknowledged.is_empty(), "the disk was full from the start");

    let get = |path: String| {
        let client = client.clone();
        async move { client.get(path).send().await.unwrap() }
    };
    assert_eq!(get(format!("{base}/ready")).await.status().as_u16(), 200);
    for name in &refused {
        let reply = get(format!("{base}/packages/npm%3Adev.localhost%2F{name}")).await;
        assert_eq!(
            reply.status().as_u16(),
            404,
            "nothing of the refused write {name} is visible"
        );
    }
    for name in &acknowledged {
        let url =
            format!("{base}/packages/npm%3Adev.localhost%2F{name}/releases/1.0.0/verification");
        let reply = get(url).await;
        assert_eq!(reply.status().as_u16(), 200, "{name}");
        let body: serde_json::Value =
            serde_json::from_slice(&reply.bytes().await.unwrap()).unwrap();
        assert_eq!(body["ok"], true, "{name}");
    }

    // Space came back: the same server accepts writes again (nothing was
    // left half-open by the failed ones).
    let request = request_with_source("after-full", "after-full", vec![7; 1024], &demo_signer());
    let reply = post_release(&client, base, request).await.unwrap();
    assert_eq!(reply.status().as_u16(), 201, "a write once space is free");
    drop(server);
}
