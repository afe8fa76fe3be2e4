//! The transparency log over HTTP: checkpoint, key, tiles, entry bundles,
//! proof bundles and consistency proofs, after the captured publish is
//! sequenced; the release envelope links its proof.

use regesta_testkit::vectors_dir;
use regesta_tlog::{
    Checkpoint, Hash, Note, NoteVerifier, ProofBundle, leaf_hash, verify_consistency,
    verify_inclusion,
};

use crate::support::{TestApp, app, captured_publish, get, send, test_log};

/// A test app with the demo binding, its clock at the captured publish.
fn fresh(dir: &std::path::Path) -> TestApp {
    app(
        dir,
        "dev-binding/domain-binding.json",
        "2026-11-25T19:13:01.867Z",
        |_| {},
    )
}

#[tokio::test]
async fn the_log_is_served_as_verifiable_static_files() {
    let dir = vectors_dir();
    let t = fresh(&dir);
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

/// `POST /add-checkpoint` of `regesta witness`, with the status and body.
async fn add_checkpoint(witness: &axum::Router, old: u64, note: String) -> (u16, String) {
    use tower::ServiceExt as _;
    let body = regesta_tlog::witness::AddCheckpoint {
        old_size: old,
        proof: Vec::new(),
        checkpoint: note,
    }
    .encode();
    let reply = witness
        .clone()
        .oneshot(
            axum::http::Request::post("/add-checkpoint")
                .body(axum::body::Body::from(body))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = reply.status().as_u16();
    let bytes = axum::body::to_bytes(reply.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn the_witness_refuses_forks_and_bad_empty_trees_as_unprocessable() {
    let dir = tempfile::tempdir().unwrap();
    let log = test_log();
    let config = regesta_server::witness::WitnessConfig {
        name: "witness.test/w1".into(),
        key_file: dir.path().join("key"),
        logs: vec![log.signer.verifier().to_text()],
        state_file: dir.path().join("state.json"),
    };
    let (witness, _) = regesta_server::witness::router(&config).unwrap();
    let note = |size: u64, root: Hash| {
        let body = Checkpoint {
            origin: log.origin.clone(),
            size,
            root,
            extensions: vec![],
        }
        .body();
        log.signer.sign(&body, 0).unwrap()
    };
    // A size-0 checkpoint must carry the empty tree's root (C2SP: 422).
    let (status, _) = add_checkpoint(&witness, 0, note(0, leaf_hash(b"x"))).await;
    assert_eq!(status, 422);
    let (status, _) = add_checkpoint(&witness, 0, note(1, leaf_hash(b"a"))).await;
    assert_eq!(status, 200);
    // The same size with another root is a fork signed by the log key: 422,
    // not the 409 that tells a client to retry from another size.
    let (status, _) = add_checkpoint(&witness, 1, note(1, leaf_hash(b"b"))).await;
    assert_eq!(status, 422);
    // A stale old size is still the 409 with the witness's size.
    let (status, body) = add_checkpoint(&witness, 0, note(2, leaf_hash(b"c"))).await;
    assert_eq!((status, body.as_str()), (409, "1\n"));
}

#[tokio::test]
async fn a_replica_with_another_log_key_or_origin_refuses_to_start() {
    let dir = vectors_dir();
    let t = fresh(&dir);
    let ours = test_log();
    regesta_server::tlog::claim_identity(&t.registry, &ours)
        .await
        .unwrap();
    let other_key = {
        let key = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
        regesta_core::log::LogConfig {
            origin: ours.origin.clone(),
            signer: regesta_tlog::NoteSigner::new(
                &ours.origin,
                regesta_tlog::note::ALG_ED25519,
                key,
            )
            .unwrap(),
        }
    };
    let other_origin = {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        regesta_core::log::LogConfig {
            origin: "elsewhere.test/log".into(),
            signer: regesta_tlog::NoteSigner::new(
                "elsewhere.test/log",
                regesta_tlog::note::ALG_ED25519,
                key,
            )
            .unwrap(),
        }
    };
    for other in [&other_key, &other_origin] {
        let error = regesta_server::tlog::claim_identity(&t.registry, other)
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains(&ours.signer.verifier_key()), "{error}");
        assert!(error.contains(&other.signer.verifier_key()), "{error}");
    }
    // The replica the log belongs to keeps starting.
    regesta_server::tlog::claim_identity(&t.registry, &ours)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_log_from_before_the_record_is_claimed_only_by_its_key() {
    let dir = vectors_dir();
    let t = fresh(&dir);
    let ours = test_log();
    // A checkpoint signed by the log key, with no identity on record.
    let body = Checkpoint {
        origin: ours.origin.clone(),
        size: 0,
        root: Hash::empty(),
        extensions: vec![],
    }
    .body();
    regesta_store::LogStore::commit_log(
        t.db.as_ref(),
        &regesta_store::LogCommit {
            old_size: 0,
            checkpoint: regesta_store::LogCheckpoint {
                size: 0,
                root: Hash::empty().0,
                note: ours.signer.sign(&body, 0).unwrap().into(),
            },
            tiles: vec![],
        },
    )
    .await
    .unwrap();
    let stranger = regesta_core::log::LogConfig {
        origin: ours.origin.clone(),
        signer: regesta_tlog::NoteSigner::new(
            &ours.origin,
            regesta_tlog::note::ALG_ED25519,
            ed25519_dalek::SigningKey::from_bytes(&[9; 32]),
        )
        .unwrap(),
    };
    let error = regesta_server::tlog::claim_identity(&t.registry, &stranger)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("signed by another key"), "{error}");
    regesta_server::tlog::claim_identity(&t.registry, &ours)
        .await
        .unwrap();
}

#[tokio::test]
async fn an_empty_log_serves_its_signed_size_zero_checkpoint() {
    let data = tempfile::tempdir().unwrap();
    let config = regesta_server::Config {
        data_dir: data.path().to_path_buf(),
        ..regesta_server::Config::default()
    };
    let (app, _) = regesta_server::build(config).await.unwrap();
    let reply = get(&app, "/log/checkpoint").await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text());
    let key = get(&app, "/log/key").await.text();
    let verifier = NoteVerifier::from_text(key.trim()).unwrap();
    let note = Note::parse(&reply.body).unwrap();
    note.verify(&[verifier]).unwrap();
    let checkpoint = Checkpoint::parse(&note.text).unwrap();
    assert_eq!((checkpoint.size, checkpoint.root), (0, Hash::empty()));
    assert_eq!(checkpoint.origin, "127.0.0.1:4321/log");
}

#[tokio::test]
async fn entry_bundles_are_gzipped_for_clients_that_accept_it() {
    let dir = vectors_dir();
    let t = fresh(&dir);
    let reply = send(
        &t.app,
        captured_publish(&dir, "publish/hello-regesta-0.0.5"),
    )
    .await;
    assert_eq!(reply.status.as_u16(), 201);
    t.registry
        .sequence(&test_log(), 1024)
        .await
        .unwrap()
        .unwrap();
    let entries = get(&t.app, "/log/tile/entries/000.p/1").await;
    // With Accept-Encoding: gzip the same bundle comes gzip-encoded.
    for accept in ["gzip", "br, gzip;q=0.5", "*"] {
        let zipped = send(
            &t.app,
            axum::http::Request::get("/log/tile/entries/000.p/1")
                .header("accept-encoding", accept)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(zipped.header("content-encoding"), Some("gzip"), "{accept}");
        assert_eq!(zipped.header("vary"), Some("Accept-Encoding"));
        let mut plain = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(zipped.body.as_ref()),
            &mut plain,
        )
        .unwrap();
        assert_eq!(plain, entries.body.as_ref(), "{accept}");
    }
    assert_eq!(entries.header("content-encoding"), None);
    let refused = send(
        &t.app,
        axum::http::Request::get("/log/tile/entries/000.p/1")
            .header("accept-encoding", "gzip;q=0, identity")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(refused.body, entries.body);
}
