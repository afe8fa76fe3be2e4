//! Properties: proofs verify and any change breaks them; appending leaves
//! one batch at a time produces exactly the tree's stored hashes; tiles
//! answer every hash; checkpoints and proof bundles round-trip.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers panic on failure by design"
)]

use std::collections::HashMap;

use proptest::prelude::*;
use regesta_tlog::tile::{TILE_HEIGHT, TILE_WIDTH, TileHashes, decode_entries, push_entry};
use regesta_tlog::{
    Checkpoint, Hash, HashReader, ProofBundle, TlogError, appended_hashes, consistency_proof,
    inclusion_proof, leaf_hash, tree_hash, verify_consistency, verify_inclusion,
};

/// Stored hashes by `(level, index)`, filled by `appended_hashes`.
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

fn grow(batches: &[usize]) -> (Stored, u64) {
    let mut stored = Stored::default();
    let mut size = 0_u64;
    for batch in batches {
        let leaves: Vec<Hash> = (size..size + *batch as u64)
            .map(|i| leaf_hash(&i.to_be_bytes()))
            .collect();
        for (level, index, hash) in appended_hashes(&stored, size, &leaves).unwrap() {
            assert!(
                stored.0.insert((level, index), hash).is_none(),
                "written once"
            );
        }
        size += *batch as u64;
    }
    (stored, size)
}

proptest! {
    #[test]
    fn proofs_verify_and_tampering_breaks_them(
        batches in prop::collection::vec(1_usize..40, 1..8),
        pick in any::<u64>(),
        flip in any::<usize>(),
    ) {
        let (stored, size) = grow(&batches);
        let root = tree_hash(&stored, size).unwrap();
        let index = pick % size;
        let leaf = stored.hash(0, index).unwrap();
        let proof = inclusion_proof(&stored, index, size).unwrap();
        verify_inclusion(&leaf, index, size, &proof, &root).unwrap();
        if !proof.is_empty() {
            let mut bad = proof.clone();
            bad[flip % proof.len()].0[0] ^= 1;
            prop_assert!(verify_inclusion(&leaf, index, size, &bad, &root).is_err());
            prop_assert!(verify_inclusion(&leaf, index, size, &proof[1..], &root).is_err());
        }
        let other = leaf_hash(b"not the leaf");
        prop_assert!(verify_inclusion(&other, index, size, &proof, &root).is_err());

        let old = pick % size + 1;
        let old_root = tree_hash(&stored, old).unwrap();
        let proof = consistency_proof(&stored, old, size).unwrap();
        verify_consistency(old, size, &old_root, &root, &proof).unwrap();
        if !proof.is_empty() {
            let mut bad = proof.clone();
            bad[flip % proof.len()].0[31] ^= 1;
            prop_assert!(verify_consistency(old, size, &old_root, &root, &bad).is_err());
        }
        if old < size {
            prop_assert!(verify_consistency(old, size, &root, &root, &proof).is_err());
        }
    }

    #[test]
    fn tiles_answer_every_hash(batches in prop::collection::vec(1_usize..200, 1..6)) {
        let (stored, size) = grow(&batches);
        let tiles = TileHashes::new(|tile_level: u8, tile_index: u64| {
            let level = tile_level * TILE_HEIGHT;
            Ok((tile_index * TILE_WIDTH..(tile_index + 1) * TILE_WIDTH)
                .map_while(|i| stored.0.get(&(level, i)).copied())
                .collect())
        });
        prop_assert_eq!(tree_hash(&tiles, size).unwrap(), tree_hash(&stored, size).unwrap());
        let index = size / 3;
        prop_assert_eq!(
            inclusion_proof(&tiles, index, size).unwrap(),
            inclusion_proof(&stored, index, size).unwrap()
        );
    }

    #[test]
    fn entry_bundles_round_trip(entries in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..20)) {
        let mut bundle = Vec::new();
        for entry in &entries {
            push_entry(&mut bundle, entry).unwrap();
        }
        let decoded = decode_entries(&bundle).unwrap();
        prop_assert_eq!(decoded.len(), entries.len());
        for (a, b) in decoded.iter().zip(&entries) {
            prop_assert_eq!(*a, b.as_slice());
        }
        if !bundle.is_empty() {
            prop_assert!(decode_entries(&bundle[..bundle.len() - 1]).is_err() || entries.last().is_some_and(Vec::is_empty));
        }
    }
}

#[test]
fn checkpoints_and_proof_bundles_round_trip() {
    let checkpoint = Checkpoint {
        origin: "registry.example/log/v1".into(),
        size: 20_852_163,
        root: Hash::from_base64("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=").unwrap(),
        extensions: vec!["extra line".into()],
    };
    let body = checkpoint.body();
    assert_eq!(
        body,
        "registry.example/log/v1\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\nextra line\n"
    );
    assert_eq!(Checkpoint::parse(&body).unwrap(), checkpoint);
    for bad in [
        "origin\n012\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "origin\n1\nnot-base64\n",
        "origin\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",
        "origin\n-1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
    ] {
        assert!(Checkpoint::parse(bad).is_err(), "{bad:?}");
    }
    let bundle = ProofBundle {
        extra: Some(b"npm:a.localhost/pkg@1.0.0".to_vec()),
        index: 73_894,
        proof: vec![leaf_hash(b"a"), leaf_hash(b"b")],
        checkpoint: format!("{body}\n\u{2014} registry.example/log/v1 AAAA\n"),
    };
    let text = bundle.encode();
    assert!(text.starts_with("c2sp.org/tlog-proof@v1\nextra "));
    assert_eq!(ProofBundle::parse(&text).unwrap(), bundle);
    let no_extra = ProofBundle {
        extra: None,
        ..bundle
    };
    assert_eq!(ProofBundle::parse(&no_extra.encode()).unwrap(), no_extra);
    assert!(ProofBundle::parse("c2sp.org/tlog-proof@v1\nindex 01\n\nx").is_err());
}

#[test]
fn all_tiles_are_the_served_tiles_of_a_tree() {
    let entries: Vec<Vec<u8>> = (0..70_000_u32).map(|i| i.to_be_bytes().to_vec()).collect();
    let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
    let tiles = regesta_tlog::tile::all_tiles(&refs).unwrap();
    let paths: Vec<String> = tiles.iter().map(|(t, _)| t.path()).collect();
    for expected in [
        "tile/0/000",
        "tile/0/273.p/112",
        "tile/1/000",
        "tile/1/001.p/17",
        "tile/entries/273.p/112",
        "tile/2/000.p/1",
    ] {
        assert!(paths.contains(&expected.to_owned()), "{expected}");
    }
    assert!(
        !paths.iter().any(|p| p.starts_with("tile/3/")),
        "no level-24 hash"
    );
    let by_path: HashMap<String, Vec<u8>> = tiles.into_iter().map(|(t, b)| (t.path(), b)).collect();
    let reader = TileHashes::new(|level: u8, index: u64| {
        let full = format!("tile/{level}/{index:03}");
        let bytes = by_path
            .get(&full)
            .or_else(|| {
                by_path
                    .iter()
                    .find(|(p, _)| p.starts_with(&format!("{full}.p/")))
                    .map(|(_, b)| b)
            })
            .ok_or(TlogError::MissingHash { level, index })?;
        regesta_tlog::tile::decode_hashes(bytes)
    });
    let leaves: Vec<Hash> = refs.iter().map(|e| leaf_hash(e)).collect();
    let mut stored = Stored::default();
    for (level, index, hash) in appended_hashes(&stored, 0, &leaves).unwrap() {
        stored.0.insert((level, index), hash);
    }
    for size in [70_000, 65_536, 300, 1] {
        assert_eq!(
            tree_hash(&reader, size).unwrap(),
            tree_hash(&stored, size).unwrap(),
            "{size}"
        );
    }
}
