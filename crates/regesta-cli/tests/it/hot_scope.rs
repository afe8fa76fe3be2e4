//! On the real server: an answer about one package, kept by the hot path,
//! outlives writes to other packages and goes stale with its own package's
//! next event, while answers about the whole registry go stale with any.

use crate::npm_clients::{Registry, package};

/// Publishes `name`@`version` (an npm package in `dir`) signed for `domain`,
/// then returns what the cache did for a GET of each of `paths`.
fn publish_then_fetch(
    registry: &Registry,
    (dir, name, version, domain): (&str, &str, &str, &str),
    paths: &[&str],
) -> Vec<String> {
    let dir = registry.root.join(dir);
    package(&dir, name, version, "");
    registry.publish(&dir, domain);
    paths.iter().map(|path| registry.fetch_use(path)).collect()
}

#[test]
fn a_package_answer_outlives_writes_to_other_packages() {
    let tmp = tempfile::tempdir().unwrap();
    let registry = Registry::start(tmp.path());
    let first = ("lib", "@b.localhost/lib", "1.0.0", "b.localhost");
    publish_then_fetch(&registry, first, &[]);
    let packument = "/npm/@b.localhost/lib";
    let state = "/packages/npm%3Ab.localhost%2Flib";
    let channel = "/packages/npm%3Ab.localhost%2Flib/channels/latest";
    let events = "/events?limit=10";
    for path in [packument, state, channel, events] {
        registry.assert_kept(path);
    }

    let other = ("other", "@a.localhost/other", "1.0.0", "a.localhost");
    assert_eq!(
        publish_then_fetch(&registry, other, &[packument, state, channel, events]),
        ["hit", "hit", "hit", "stored"],
        "another package moved: only the event list is rendered again"
    );
    let own = ("lib", "@b.localhost/lib", "1.1.0", "b.localhost");
    assert_eq!(
        publish_then_fetch(&registry, own, &[packument, state, channel]),
        ["stored", "stored", "stored"],
        "its own package moved"
    );
    let (status, body) = crate::support::get(&format!("{}{packument}", registry.base));
    assert_eq!(status, 200);
    let versions: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(versions["versions"]["1.1.0"].is_object(), "{body}");
}
