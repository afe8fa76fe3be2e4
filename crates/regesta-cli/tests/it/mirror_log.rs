//! A mirror's transparency log across runs: the entry bundles a mirror
//! kept are not fetched again while its kept log is intact, and a damaged
//! one makes it fetch them all, as a fresh mirror does, and repairs it.

use std::path::Path;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;

use crate::log::wait_for_size;
use crate::publishing::{demo_signer, post_release, request};
use crate::support::{Server, get, regesta, start_with};

/// Publishes a release of each of `names`, eight at a time.
fn publish(base: &str, names: std::ops::Range<usize>) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let signer = demo_signer();
        futures_util::stream::iter(names)
            .map(|i| {
                let req = request(&format!("held-{i}"), &signer);
                let client = client.clone();
                async move {
                    let reply = post_release(&client, base, req).await.unwrap();
                    assert_eq!(reply.status().as_u16(), 201, "publishing held-{i}");
                }
            })
            .buffer_unordered(8)
            .collect::<Vec<()>>()
            .await;
    });
}

/// Runs `regesta mirror <dir>` and gives the entry bundles it fetched,
/// sorted (they are fetched several at a time).
fn mirror(server: &Server, dir: &Path) -> Vec<String> {
    let before = server.request_paths().len();
    let out = regesta(&["mirror", dir.to_str().unwrap(), "--registry", &server.base]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Request lines are logged off the hot path: once a request made
    // after the mirror is logged, so are the mirror's.
    let marker = format!("/marker-after-{before}");
    get(&format!("{}{marker}", server.base));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.request_paths().contains(&marker) {
        assert!(Instant::now() < deadline, "{marker} was never logged");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut fetched: Vec<String> = server.request_paths()[before..]
        .iter()
        .filter(|p| p.starts_with("/log/tile/entries/"))
        .cloned()
        .collect();
    fetched.sort();
    fetched
}

#[test]
fn a_mirror_fetches_again_only_the_log_bundles_it_does_not_hold() {
    let tmp = tempfile::tempdir().unwrap();
    let server = start_with(&tmp.path().join("data"), &[]);
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    publish(&server.base, 0..300);
    wait_for_size(&server.base, 300, Duration::from_secs(30));
    // A fresh mirror builds its bundles from the events it mirrors.
    assert_eq!(mirror(&server, &a), Vec::<String>::new());
    publish(&server.base, 300..305);
    wait_for_size(&server.base, 305, Duration::from_secs(30));
    // The full bundle it kept is not fetched again; the partial one,
    // which grew, is.
    assert_eq!(mirror(&server, &a), ["/log/tile/entries/001.p/49"]);
    mirror(&server, &b);
    let same = regesta(&["compare-mirrors", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(
        same.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&same.stdout)
    );
    // A kept log whose leaves no longer hash to its checkpoint is not
    // trusted: every bundle is fetched and compared again.
    let tile = a.join("log/tile/0/000");
    let mut bytes = std::fs::read(&tile).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&tile, &bytes).unwrap();
    publish(&server.base, 305..306);
    wait_for_size(&server.base, 306, Duration::from_secs(30));
    assert_eq!(
        mirror(&server, &a),
        ["/log/tile/entries/000", "/log/tile/entries/001.p/50"]
    );
    // The damaged tile was written again: the next run trusts its log.
    publish(&server.base, 306..307);
    wait_for_size(&server.base, 307, Duration::from_secs(30));
    assert_eq!(mirror(&server, &a), ["/log/tile/entries/001.p/51"]);
}
