//! On the real server: an answer about one package, kept by the hot path,
//! outlives writes to other packages and goes stale with its own package's
//! next event, while answers about the whole registry go stale with any.

use crate::npm_clients::{Registry, package};

#[test]
fn a_package_answer_outlives_writes_to_other_packages() {
    let tmp = tempfile::tempdir().unwrap();
    let registry = Registry::start(tmp.path());
    let lib = registry.root.join("lib");
    package(&lib, "@b.localhost/lib", "1.0.0", "");
    registry.publish(&lib, "b.localhost");
    let packument = "/npm/@b.localhost/lib";
    let state = "/packages/npm%3Ab.localhost%2Flib";
    let events = "/events?limit=10";
    for path in [packument, state, events] {
        registry.assert_kept(path);
    }

    let other = registry.root.join("other");
    package(&other, "@a.localhost/other", "1.0.0", "");
    registry.publish(&other, "a.localhost");
    assert_eq!(
        registry.fetch_use(packument),
        "hit",
        "another package moved"
    );
    assert_eq!(registry.fetch_use(state), "hit");
    assert_eq!(registry.fetch_use(events), "stored", "the event list moved");

    package(&lib, "@b.localhost/lib", "1.1.0", "");
    registry.publish(&lib, "b.localhost");
    assert_eq!(
        registry.fetch_use(packument),
        "stored",
        "its own package moved"
    );
    assert_eq!(registry.fetch_use(state), "stored");
    let (status, body) = crate::support::get(&format!("{}{packument}", registry.base));
    assert_eq!(status, 200);
    let versions: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(versions["versions"]["1.1.0"].is_object(), "{body}");
}
