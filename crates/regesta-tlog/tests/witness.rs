//! The witness side of c2sp.org/tlog-witness: every refusal the protocol
//! names, and cosignatures that verify with the witness key.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers panic on failure by design"
)]

use std::collections::HashMap;

use ed25519_dalek::SigningKey;
use regesta_tlog::note::{ALG_COSIGNATURE_V1, ALG_ED25519};
use regesta_tlog::witness::{AddCheckpoint, Refusal, add_checkpoint};
use regesta_tlog::{
    Checkpoint, Hash, HashReader, Note, NoteSigner, TlogError, appended_hashes, consistency_proof,
    leaf_hash, tree_hash,
};

#[derive(Default)]
struct Stored(HashMap<(u8, u64), Hash>);

impl HashReader for Stored {
    fn hash(&self, level: u8, index: u64) -> regesta_tlog::Result<Hash> {
        self.0
            .get(&(level, index))
            .copied()
            .ok_or(TlogError::MissingHash { level, index })
    }
}

fn tree(n: u64) -> Stored {
    let mut stored = Stored::default();
    let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect();
    for (l, i, h) in appended_hashes(&stored, 0, &leaves).unwrap() {
        stored.0.insert((l, i), h);
    }
    stored
}

const ORIGIN: &str = "registry.test/log/v1";

fn signed(log: &NoteSigner, size: u64, root: Hash) -> String {
    let body = Checkpoint {
        origin: ORIGIN.into(),
        size,
        root,
        extensions: vec![],
    }
    .body();
    log.sign(&body, 0).unwrap()
}

#[test]
fn witnesses_cosign_only_consistent_checkpoints() {
    let log = NoteSigner::new(ORIGIN, ALG_ED25519, SigningKey::from_bytes(&[1; 32])).unwrap();
    let impostor = NoteSigner::new(ORIGIN, ALG_ED25519, SigningKey::from_bytes(&[2; 32])).unwrap();
    let witness = NoteSigner::new(
        "witness.test/w1",
        ALG_COSIGNATURE_V1,
        SigningKey::from_bytes(&[3; 32]),
    )
    .unwrap();
    let logs = [log.verifier().into()];
    let t = tree(10);
    let root = |n| tree_hash(&t, n).unwrap();
    let request = |old: u64, new: u64, note: String| {
        let proof = if old == 0 {
            vec![]
        } else {
            consistency_proof(&t, old, new).unwrap()
        };
        AddCheckpoint {
            old_size: old,
            proof,
            checkpoint: note,
        }
        .encode()
    };
    let mut latest: Option<(u64, Hash)> = None;
    let submit = |body: String, latest: &mut Option<(u64, Hash)>| {
        let known = *latest;
        let out = add_checkpoint(body.as_bytes(), &logs, |_| known, &witness, 1_700_000_000);
        if let Ok(c) = &out {
            *latest = Some((c.checkpoint.size, c.checkpoint.root));
        }
        out
    };

    let first = submit(request(0, 3, signed(&log, 3, root(3))), &mut latest).unwrap();
    let cosigned = format!("{}{}", signed(&log, 3, root(3)), first.lines);
    let note = Note::parse(cosigned.as_bytes()).unwrap();
    assert_eq!(
        note.verify(&[witness.verifier()]).unwrap(),
        vec![("witness.test/w1".to_owned(), 1_700_000_000)]
    );
    submit(request(3, 7, signed(&log, 7, root(7))), &mut latest).unwrap();

    let refusals = [
        (
            request(3, 9, signed(&log, 9, root(9))),
            Refusal::Conflict(7),
        ),
        (
            request(0, 9, signed(&log, 9, root(9))),
            Refusal::Conflict(7),
        ),
        (
            request(7, 9, signed(&impostor, 9, root(9))),
            Refusal::Forbidden,
        ),
        (
            request(7, 7, signed(&log, 7, root(6))),
            Refusal::Inconsistent,
        ),
        (
            request(0, 0, signed(&log, 0, root(1))),
            Refusal::Inconsistent,
        ),
        (
            AddCheckpoint {
                old_size: 7,
                proof: vec![leaf_hash(b"x")],
                checkpoint: signed(&log, 9, root(9)),
            }
            .encode(),
            Refusal::BadProof,
        ),
        (
            AddCheckpoint {
                old_size: 9,
                proof: vec![],
                checkpoint: signed(&log, 8, root(8)),
            }
            .encode(),
            Refusal::BadRequest(String::new()),
        ),
    ];
    for (body, expected) in refusals {
        let refused = submit(body, &mut latest).unwrap_err();
        assert_eq!(refused.status(), expected.status(), "{refused:?}");
        if matches!(expected, Refusal::Conflict(_) | Refusal::Inconsistent) {
            assert_eq!(refused, expected);
        }
    }
    assert_eq!(latest.unwrap().0, 7, "refusals change nothing");
}

#[test]
fn unknown_logs_and_malformed_requests_are_refused() {
    let witness = NoteSigner::new(
        "witness.test/w1",
        ALG_COSIGNATURE_V1,
        SigningKey::from_bytes(&[3; 32]),
    )
    .unwrap();
    let log = NoteSigner::new(ORIGIN, ALG_ED25519, SigningKey::from_bytes(&[1; 32])).unwrap();
    let other = NoteSigner::new(
        "other.test/log",
        ALG_ED25519,
        SigningKey::from_bytes(&[4; 32]),
    )
    .unwrap();
    let foreign = AddCheckpoint {
        old_size: 0,
        proof: vec![],
        checkpoint: other
            .sign(
                "other.test/log\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
                0,
            )
            .unwrap(),
    };
    let refused = add_checkpoint(
        foreign.encode().as_bytes(),
        &[log.verifier().into()],
        |_| None,
        &witness,
        0,
    );
    assert_eq!(refused.unwrap_err(), Refusal::UnknownLog);
    for bad in [
        &b"old 01\n\nx"[..],
        b"new 1\n\nx",
        b"old 1\nnot-a-hash\n\nx",
        b"old 1",
    ] {
        assert!(AddCheckpoint::parse(bad).is_err());
    }
}
