//! The transparency log over HTTP: checkpoint, key, tiles, entry bundles,
//! proof bundles and consistency proofs, after the captured publish is
//! sequenced; the release envelope links its proof.

use regesta_testkit::vectors_dir;
use regesta_tlog::{
    Checkpoint, Hash, Note, NoteVerifier, ProofBundle, leaf_hash, verify_consistency,
    verify_inclusion,
};

use crate::support::{app, captured_publish, get, send, test_log};

#[tokio::test]
async fn the_log_is_served_as_verifiable_static_files() {
    let Some(dir) = vectors_dir() else { return };
    let t = app(
        &dir,
        "dev-binding/domain-binding.json",
        "2026-11-25T19:13:01.867Z",
        |_| {},
    );
    let none = get(&t.app, "/log/checkpoint").await;
    assert_eq!(none.status.as_u16(), 404);
    assert_eq!(none.json()["code"], "log_checkpoint_not_found");

    let reply = send(
        &t.app,
        captured_publish(&dir, "publish/hello-regesta-0.0.5"),
    )
    .await;
    assert_eq!(reply.status.as_u16(), 201, "{}", reply.text());
    let event_id = reply.json()["event"]["id"].as_str().unwrap().to_owned();
    let hex = event_id.trim_start_matches("sha256:").to_owned();
    let pending = get(&t.app, &format!("/log/proof/event/sha256/{hex}")).await;
    assert_eq!(pending.json()["code"], "log_entry_not_found");

    let log = test_log();
    t.registry.sequence(&log, 1024).await.unwrap().unwrap();

    let key = get(&t.app, "/log/key").await;
    let verifier = NoteVerifier::from_text(key.text().trim()).unwrap();
    let served = get(&t.app, "/log/checkpoint").await;
    assert_eq!(
        served.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(served.header("cache-control"), Some("no-cache"));
    let signed = Note::parse(&served.body).unwrap();
    signed.verify(std::slice::from_ref(&verifier)).unwrap();
    let checkpoint = Checkpoint::parse(&signed.text).unwrap();
    assert_eq!(checkpoint.origin, "localhost:4321/log/v1");
    assert_eq!(checkpoint.size, 1);

    // The one-entry tree: its root is the leaf hash of the event payload.
    let entries = get(&t.app, "/log/tile/entries/000.p/1").await;
    let entry = regesta_tlog::tile::decode_entries(&entries.body).unwrap()[0].to_vec();
    assert_eq!(regesta_protocol::Digest::of(&entry).to_string(), event_id);
    assert_eq!(checkpoint.root, leaf_hash(&entry));
    let tile = get(&t.app, "/log/tile/0/000.p/1").await;
    assert_eq!(tile.body.as_ref(), &leaf_hash(&entry).0);
    assert_eq!(tile.header("cache-control"), Some("no-cache"), "partial");
    for missing in [
        "/log/tile/0/000",
        "/log/tile/0/000.p/2",
        "/log/tile/1/000.p/1",
        "/log/tile/0/bad",
    ] {
        let reply = get(&t.app, missing).await;
        assert_eq!(reply.status.as_u16(), 404, "{missing}");
        assert_eq!(reply.json()["code"], "log_tile_not_found", "{missing}");
    }

    let release = get(
        &t.app,
        "/packages/npm%3Adev.localhost%2Fhello-regesta/releases/0.0.5",
    )
    .await;
    let link = release.header("link").unwrap().to_owned();
    assert_eq!(
        link,
        format!("</log/proof/event/sha256/{hex}>; rel=\"tlog-proof\"")
    );
    let bundle = get(&t.app, &format!("/log/proof/event/sha256/{hex}")).await;
    let bundle = ProofBundle::parse(&bundle.text()).unwrap();
    assert_eq!(bundle.index, 0);
    let bundled = Note::parse(bundle.checkpoint.as_bytes()).unwrap();
    bundled.verify(&[verifier]).unwrap();
    let cp = Checkpoint::parse(&bundled.text).unwrap();
    verify_inclusion(&leaf_hash(&entry), 0, cp.size, &bundle.proof, &cp.root).unwrap();

    let proof = get(&t.app, "/log/proof/consistency/1/1").await;
    assert_eq!(proof.status.as_u16(), 200);
    let hashes: Vec<Hash> = proof
        .text()
        .lines()
        .map(|l| Hash::from_base64(l).unwrap())
        .collect();
    verify_consistency(1, 1, &cp.root, &cp.root, &hashes).unwrap();
    assert_eq!(
        get(&t.app, "/log/proof/consistency/1/2")
            .await
            .status
            .as_u16(),
        404
    );
    assert_eq!(
        get(&t.app, "/log/proof/consistency/2/1")
            .await
            .status
            .as_u16(),
        400
    );
    assert_eq!(
        get(&t.app, "/log/proof/consistency/01/1")
            .await
            .status
            .as_u16(),
        400
    );
}
