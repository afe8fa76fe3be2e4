//! The transparency log of a running `regesta serve`: events are sequenced
//! in the background, the checkpoint key persists beside the data, a second
//! replica on the same store takes the sequencer lease when the first dies,
//! `regesta log verify` follows the log across them, and a split view (two
//! different trees of one size signed by the same key) is caught.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::npm_clients::{Registry, package};
use crate::support::{Server, get, ok, regesta, start_with, start_witness};

const ORIGIN: &str = "registry.test/log/v1";

/// The checkpoint's size (second line), once it reaches `size`.
pub(crate) fn wait_for_size(base: &str, size: u64, within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        let (status, note) = get(&format!("{base}/log/checkpoint"));
        let served: u64 = note
            .lines()
            .nth(1)
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        if status == 200 && served >= size {
            assert_eq!(served, size, "{note}");
            return note;
        }
        assert!(
            Instant::now() < deadline,
            "log stuck at {served} (<{size}): {note}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn replica(env: &[(String, String)], data: &Path) -> Server {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    start_with(data, &env)
}

fn log_verify(base: &str, state: &Path) -> std::process::Output {
    regesta(&[
        "log",
        "verify",
        "--registry",
        base,
        "--state-dir",
        state.to_str().unwrap(),
    ])
}

#[test]
fn the_log_survives_replica_failover_and_catches_a_split_view() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let mut registry = Registry::start_with(tmp.path(), &[("REGESTA_LOG_ORIGIN", ORIGIN)]);
    registry.publish_fixtures();
    let first = wait_for_size(&registry.base, 6, Duration::from_secs(10));
    assert!(first.starts_with(&format!("{ORIGIN}\n6\n")), "{first}");
    ok(&log_verify(&registry.base, &state));

    let key_file = registry.data.join("log-key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let (_, key) = get(&format!("{}/log/key", registry.base));
    assert!(key.starts_with(&format!("{ORIGIN}+")), "{key}");

    // A second replica on the same store; the first dies; the second takes
    // the lease and sequences what is published to it.
    let second = replica(&registry.env, &registry.data);
    assert_eq!(get(&format!("{}/log/key", second.base)).1, key, "one key");
    registry.kill();
    registry.base = second.base.clone();
    let lib = registry.root.join("lib");
    package(&lib, "@b.localhost/lib", "1.2.0", "");
    registry.publish(&lib, "b.localhost");
    wait_for_size(&second.base, 7, Duration::from_secs(20));
    let verified = ok(&log_verify(&second.base, &state));
    assert!(verified.contains("size 7"), "{verified}");

    // A different store signing with the same key: its size-7 tree has
    // other leaves. The client that saw the real size 7 proves the fork.
    let forked_data = tmp.path().join("forked");
    std::fs::create_dir_all(&forked_data).unwrap();
    std::fs::copy(&key_file, forked_data.join("log-key")).unwrap();
    let forked = replica(&registry.env, &forked_data);
    registry.base = forked.base.clone();
    registry.publish_fixtures();
    package(&lib, "@b.localhost/lib", "1.3.0", "");
    registry.publish(&lib, "b.localhost");
    let fork = wait_for_size(&forked.base, 7, Duration::from_secs(10));
    let caught = log_verify(&forked.base, &state);
    assert_eq!(caught.status.code(), Some(1), "a split view is an error");
    let report = String::from_utf8_lossy(&caught.stdout);
    assert!(report.contains("two roots for one tree size"), "{report}");
    assert!(
        report.contains(&fork),
        "the forked checkpoint is in the proof"
    );
    let (_, real) = get(&format!("{}/log/checkpoint", second.base));
    assert!(
        report.contains(&real),
        "the real checkpoint is in the proof"
    );
}

/// Writes a log key for `ORIGIN` into `data` and returns its verifier key.
fn log_key(data: &Path) -> String {
    let key = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    let signer =
        regesta_tlog::NoteSigner::new(ORIGIN, regesta_tlog::note::ALG_ED25519, key).unwrap();
    std::fs::create_dir_all(data).unwrap();
    std::fs::write(data.join("log-key"), signer.to_text()).unwrap();
    signer.verifier_key()
}

#[test]
fn checkpoints_are_published_once_a_witness_quorum_cosigned_them() {
    let tmp = tempfile::tempdir().unwrap();
    let log = log_key(&tmp.path().join("data"));
    let w1_dir = tmp.path().join("w1");
    let w2_dir = tmp.path().join("w2");
    let (w1, k1) = start_witness(&w1_dir, "witness.test/w1", &log);
    let (w2, k2) = start_witness(&w2_dir, "witness.test/w2", &log);
    let witnesses = format!("{} {k1},{} {k2}", w1.base, w2.base);
    let mut registry = Registry::start_with(
        tmp.path(),
        &[
            ("REGESTA_LOG_ORIGIN", ORIGIN),
            ("REGESTA_LOG_WITNESSES", witnesses.as_str()),
            ("REGESTA_LOG_WITNESS_QUORUM", "2"),
        ],
    );
    registry.publish_fixtures();
    let published = wait_for_size(&registry.base, 6, Duration::from_secs(15));
    assert!(
        published.contains("\u{2014} witness.test/w1 "),
        "{published}"
    );
    assert!(
        published.contains("\u{2014} witness.test/w2 "),
        "{published}"
    );
    let state = tmp.path().join("state");
    let verify = |witness_keys: &[&str], quorum: &str| {
        let mut args = vec![
            "log",
            "verify",
            "--registry",
            registry.base.as_str(),
            "--log-key",
            log.as_str(),
            "--quorum",
            quorum,
            "--state-dir",
            state.to_str().unwrap(),
        ];
        for key in witness_keys {
            args.extend(["--witness", key]);
        }
        regesta(&args)
    };
    ok(&verify(&[&k1, &k2], "2"));
    let stranger = regesta_tlog::NoteSigner::new(
        "witness.test/w1",
        regesta_tlog::note::ALG_COSIGNATURE_V1,
        ed25519_dalek::SigningKey::from_bytes(&[5; 32]),
    )
    .unwrap()
    .verifier_key();
    assert!(
        !verify(&[&stranger], "1").status.success(),
        "a cosignature by an unknown key does not count"
    );

    // One witness down: the quorum is not met, the published checkpoint
    // stays; back up (same key and state), the log moves on.
    drop(w2);
    let lib = registry.root.join("lib");
    package(&lib, "@b.localhost/lib", "1.2.0", "");
    registry.publish(&lib, "b.localhost");
    std::thread::sleep(Duration::from_millis(1500));
    let (_, held) = get(&format!("{}/log/checkpoint", registry.base));
    assert!(held.starts_with(&format!("{ORIGIN}\n6\n")), "{held}");
    let (w2_again, k2_again) = start_witness(&w2_dir, "witness.test/w2", &log);
    assert_eq!(k2_again, k2, "the witness keeps its key");
    registry.kill();
    let env: Vec<(String, String)> = registry
        .env
        .iter()
        .map(|(k, v)| {
            let v = if k == "REGESTA_LOG_WITNESSES" {
                format!("{} {k1},{} {k2}", w1.base, w2_again.base)
            } else {
                v.clone()
            };
            (k.clone(), v)
        })
        .collect();
    let restarted = replica(&env, &tmp.path().join("data"));
    wait_for_size(&restarted.base, 7, Duration::from_secs(15));
    let restarted_base = restarted.base.clone();
    let moved = regesta(&[
        "log",
        "verify",
        "--registry",
        &restarted_base,
        "--log-key",
        &log,
        "--witness",
        &k1,
        "--witness",
        &k2,
        "--quorum",
        "2",
        "--state-dir",
        state.to_str().unwrap(),
    ]);
    assert!(ok(&moved).contains("size 7"));
}
