//! A full disk: the real server on a small tmpfs data dir. Writes fail with
//! a structured `507 insufficient_storage` and store nothing partial;
//! reads, readiness and every acknowledged release keep working.

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

#[tokio::test]
#[ignore = "needs root (mounts a tmpfs): run scripts/test"]
async fn a_full_disk_refuses_writes_cleanly_and_keeps_serving_reads() {
    let disk = Tmpfs::mount(8);
    let server = start_with(disk.0.path(), &[]);
    let client = reqwest::Client::new();
    let mut acknowledged = Vec::new();
    let refusal = loop {
        let name = format!("full-{}", acknowledged.len());
        let source = noise(300 * 1024, acknowledged.len() as u64 + 1);
        let request = request_with_source(&name, &name, source, &demo_signer());
        let reply = post_release(&client, &server.base, request).await.unwrap();
        if reply.status().as_u16() != 201 {
            break (name, reply.status().as_u16(), reply.bytes().await.unwrap());
        }
        acknowledged.push(name);
        assert!(acknowledged.len() < 100, "an 8 MiB disk never filled up");
    };
    let (name, status, body) = refusal;
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (status, body["code"].as_str()),
        (507, Some("insufficient_storage"))
    );
    assert!(!acknowledged.is_empty(), "the disk was full from the start");

    let get = |path: String| {
        let client = client.clone();
        async move { client.get(path).send().await.unwrap() }
    };
    let base = &server.base;
    assert_eq!(get(format!("{base}/ready")).await.status().as_u16(), 200);
    let refused = get(format!("{base}/packages/npm%3Adev.localhost%2F{name}")).await;
    assert_eq!(
        refused.status().as_u16(),
        404,
        "nothing of the refused write is visible"
    );
    for name in &acknowledged {
        let url =
            format!("{base}/packages/npm%3Adev.localhost%2F{name}/releases/1.0.0/verification");
        let reply = get(url).await;
        assert_eq!(reply.status().as_u16(), 200, "{name}");
        let body: serde_json::Value =
            serde_json::from_slice(&reply.bytes().await.unwrap()).unwrap();
        assert_eq!(body["ok"], true, "{name}");
    }
    drop(server);
}
