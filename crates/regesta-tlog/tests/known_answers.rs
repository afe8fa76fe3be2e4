//! Published vectors: Go's `golang.org/x/mod/sumdb/note` example key and
//! signature (Ed25519 is deterministic, so signing must reproduce it byte for
//! byte), RFC 6962 tree hashes of the Certificate Transparency test leaves,
//! and the tlog-tiles path examples.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers panic on failure by design"
)]

use regesta_tlog::hash::leaf_hash;
use regesta_tlog::note::{ALG_COSIGNATURE_V1, NoteSigner, NoteVerifier};
use regesta_tlog::{Hash, Note, Tile, TlogError, tree_hash};

const GO_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const GO_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const GO_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

#[test]
fn go_note_example_signs_and_verifies_byte_for_byte() {
    let signer = NoteSigner::from_text(GO_SKEY).unwrap();
    assert_eq!(signer.to_text(), GO_SKEY);
    assert_eq!(signer.verifier_key(), GO_VKEY);
    let note = signer.sign(GO_TEXT, 0).unwrap();
    assert_eq!(note, format!("{GO_TEXT}\n{GO_SIG}"));
    let verifier = NoteVerifier::from_text(GO_VKEY).unwrap();
    let parsed = Note::parse(note.as_bytes()).unwrap();
    assert_eq!(parsed.text, GO_TEXT);
    assert_eq!(parsed.render(), note);
    assert_eq!(
        parsed.verify(std::slice::from_ref(&verifier)).unwrap(),
        vec![("PeterNeumann".to_owned(), 0)]
    );
    // A changed text, an unknown key only, a bad signature by a known key.
    let tampered = note.replacen("cryptography", "cryptocurrency", 1);
    assert!(
        Note::parse(tampered.as_bytes())
            .unwrap()
            .verify(std::slice::from_ref(&verifier))
            .is_err()
    );
    let other = NoteSigner::new("Other", 1, ed25519_key(7)).unwrap();
    assert!(matches!(
        parsed.verify(&[other.verifier()]),
        Err(TlogError::Signature(_))
    ));
    for bad in [
        "no blank line\n\u{2014} PeterNeumann AAAA\n",
        "text\n\n",
        "text\n\nnot a signature\n",
        "text\n\n\u{2014} Peter Neumann x08go/ZJ=\n",
        "te\u{7}xt\n\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
    ] {
        assert!(Note::parse(bad.as_bytes()).is_err(), "{bad:?}");
    }
    for bad in [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "Peter+Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3",
    ] {
        assert!(NoteVerifier::from_text(bad).is_err(), "{bad}");
    }
}

fn ed25519_key(seed: u8) -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[seed; 32])
}

#[test]
fn cosignatures_sign_the_timestamped_message() {
    let witness =
        NoteSigner::new("witness.example/w1", ALG_COSIGNATURE_V1, ed25519_key(3)).unwrap();
    let text = "example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    let note = witness.sign(text, 1_679_315_147).unwrap();
    let parsed = Note::parse(note.as_bytes()).unwrap();
    assert_eq!(parsed.signatures[0].blob.len(), 8 + 64);
    assert_eq!(
        &parsed.signatures[0].blob[..8],
        &1_679_315_147_u64.to_be_bytes()
    );
    let verifier = NoteVerifier::from_text(&witness.verifier_key()).unwrap();
    assert!(verifier.is_cosigner());
    assert_eq!(
        parsed.verify(std::slice::from_ref(&verifier)).unwrap(),
        vec![("witness.example/w1".to_owned(), 1_679_315_147)]
    );
    // The signature covers the timestamp: changing it breaks verification.
    let mut forged = parsed.clone();
    forged.signatures[0].blob[7] ^= 1;
    assert!(forged.verify(&[verifier]).is_err());
}

/// The Certificate Transparency test leaves and their published roots.
const CT_LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];
const CT_ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn rfc6962_roots_of_the_ct_test_leaves() {
    assert_eq!(
        Hash::empty().to_string(),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let leaves: Vec<Hash> = CT_LEAVES.iter().map(|l| leaf_hash(&unhex(l))).collect();
    let reader = |level: u8, index: u64| -> regesta_tlog::Result<Hash> {
        let span = 1_usize << level;
        let start = usize::try_from(index).unwrap() * span;
        Ok(regesta_tlog::tile::subtree_root(&leaves[start..start + span]).unwrap())
    };
    for (size, root) in CT_ROOTS.iter().enumerate() {
        assert_eq!(
            tree_hash(&reader, size as u64 + 1).unwrap().to_string(),
            *root
        );
    }
}

#[test]
fn tile_paths_follow_the_spec_examples() {
    let cases = [
        ("tile/0/x001/x234/067", Some(0), 1_234_067, 256),
        ("tile/0/x001/x234/067.p/8", Some(0), 1_234_067, 8),
        ("tile/3/000", Some(3), 0, 256),
        ("tile/entries/x001/x234/067.p/255", None, 1_234_067, 255),
        ("tile/1/999", Some(1), 999, 256),
    ];
    for (path, level, index, width) in cases {
        let tile = Tile::parse(path).unwrap();
        assert_eq!(
            tile,
            Tile {
                level,
                index,
                width
            },
            "{path}"
        );
        assert_eq!(tile.path(), path);
    }
    for bad in [
        "tile/0/1234067",
        "tile/0/x1/234",
        "tile/0/001/234",
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/000.p/08",
        "tile/8/000",
        "tile/00/000",
        "tile/0/x000/000",
        "tiles/0/000",
        "tile/0/-01",
    ] {
        assert!(Tile::parse(bad).is_err(), "{bad}");
    }
}
