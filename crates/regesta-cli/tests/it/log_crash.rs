//! Crash consistency of the transparency log: SIGKILL `regesta serve` again
//! and again while publishes stream in and the sequencer runs, restart it each
//! time, and check that the log caught up with every event, kept its key,
//! and that each checkpoint is consistent with the one before (so the log
//! never forked, skipped or repeated an event). At the end the root is
//! recomputed from the entry bundles.

use std::time::Duration;

use regesta_tlog::tile::decode_entries;
use regesta_tlog::{
    Checkpoint, Hash, Note, NoteVerifier, leaf_hash, node_hash, verify_consistency,
};

use crate::durability::{publish_counting, wait_for_progress};
use crate::publishing::demo_signer;
use crate::support::start_with;

/// Kills per run (the test itself was run 50 times in a row; see docs).
const KILLS: u64 = 12;

/// A short lease, so a restarted sequencer takes over quickly.
const LEASE: [(&str, &str); 1] = [("REGESTA_LOG_LEASE_MS", "300")];

async fn text(client: &reqwest::Client, url: &str) -> (u16, String) {
    let reply = client.get(url).send().await.unwrap();
    (reply.status().as_u16(), reply.text().await.unwrap())
}

async fn bytes(client: &reqwest::Client, url: &str) -> Vec<u8> {
    let reply = client.get(url).send().await.unwrap();
    assert_eq!(reply.status().as_u16(), 200, "{url}");
    reply.bytes().await.unwrap().to_vec()
}

/// Waits until the log has every event, then returns its checkpoint.
async fn caught_up(client: &reqwest::Client, base: &str, key: &NoteVerifier) -> Checkpoint {
    let (_, info) = text(client, &format!("{base}/")).await;
    let info: serde_json::Value = serde_json::from_str(&info).unwrap();
    let events = info["statistics"]["events"]
        .as_u64()
        .or_else(|| info["events"].as_u64())
        .unwrap_or_else(|| panic!("no event count in {info}"));
    if events == 0 {
        return Checkpoint {
            origin: String::new(),
            size: 0,
            root: Hash::empty(),
            extensions: Vec::new(),
        };
    }
    for _ in 0..200 {
        let (status, note) = text(client, &format!("{base}/log/checkpoint")).await;
        if status == 200 {
            let parsed = Note::parse(note.as_bytes()).unwrap();
            parsed.verify(std::slice::from_ref(key)).unwrap();
            let checkpoint = Checkpoint::parse(&parsed.text).unwrap();
            assert!(checkpoint.size <= events, "the log is ahead of the events");
            if checkpoint.size == events {
                return checkpoint;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the log did not catch up with {events} events");
}

fn mth(hashes: &[Hash]) -> Hash {
    if hashes.len() == 1 {
        return hashes[0];
    }
    let k = 1 << (hashes.len() - 1).ilog2();
    node_hash(&mth(&hashes[..k]), &mth(&hashes[k..]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkills_never_fork_skip_or_repeat_the_log() {
    let data = tempfile::tempdir().unwrap();
    let signer = demo_signer();
    let client = reqwest::Client::new();
    let mut server = start_with(data.path(), &LEASE);
    let (_, key_text) = text(&client, &format!("{}/log/key", server.base)).await;
    let log_key = NoteVerifier::from_text(key_text.trim()).unwrap();
    let mut previous: Option<Checkpoint> = None;
    let mut next = 0;
    let mut kills = 0;
    // Kill points cycle through 10–290 ms into each run.
    for round in 0..KILLS {
        let base = server.base.clone();
        let acked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let publisher = {
            let (signer, base, acked) = (signer.clone(), base.clone(), acked.clone());
            tokio::spawn(async move { publish_counting(&base, next, &signer, &acked).await })
        };
        // At least two publishes per round, however loaded the machine.
        wait_for_progress(10 + (round * 97) % 281, &acked, 2).await;
        server.child.kill().unwrap(); // SIGKILL
        server.child.wait().unwrap();
        kills += 1;
        next += publisher.await.unwrap().len() + 1;

        server = start_with(data.path(), &LEASE);
        let (_, served_key) = text(&client, &format!("{}/log/key", server.base)).await;
        assert_eq!(
            served_key, key_text,
            "round {round}: the key survives restarts"
        );
        let checkpoint = caught_up(&client, &server.base, &log_key).await;
        if let Some(old) = &previous {
            let (status, proof) = text(
                &client,
                &format!(
                    "{}/log/proof/consistency/{}/{}",
                    server.base, old.size, checkpoint.size
                ),
            )
            .await;
            assert_eq!(status, 200, "round {round}: {proof}");
            let proof: Vec<Hash> = proof
                .lines()
                .map(|l| Hash::from_base64(l).unwrap())
                .collect();
            verify_consistency(
                old.size,
                checkpoint.size,
                &old.root,
                &checkpoint.root,
                &proof,
            )
            .unwrap_or_else(|e| panic!("round {round}: fork: {e}"));
        }
        previous = Some(checkpoint);
    }
    let last = previous.unwrap();
    let mut leaves = Vec::new();
    for index in 0..last.size.div_ceil(256) {
        let width = (last.size - index * 256).min(256);
        let path = if width == 256 {
            format!("{index:03}")
        } else {
            format!("{index:03}.p/{width}")
        };
        let bundle = bytes(&client, &format!("{}/log/tile/entries/{path}", server.base)).await;
        leaves.extend(
            decode_entries(&bundle)
                .unwrap()
                .iter()
                .map(|e| leaf_hash(e)),
        );
    }
    assert_eq!(leaves.len() as u64, last.size);
    assert_eq!(
        mth(&leaves),
        last.root,
        "the root is the tree of the entries"
    );
    eprintln!("log survived {kills} SIGKILLs with {} entries", last.size);
    assert!(
        last.size > 20,
        "too few events to mean anything: {}",
        last.size
    );
}
