//! Tree hashes, inclusion and consistency proofs against the `tlog_tiles`
//! crate (a port of Go's `sumdb/tlog`), for every size up to 300 and every
//! pair of sizes up to 70; proofs from each verify with the other's
//! verifier.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers panic on failure by design"
)]

use regesta_tlog::{
    Hash, HashReader, consistency_proof, inclusion_proof, leaf_hash, tree_hash, verify_consistency,
    verify_inclusion,
};

/// A tree in memory: every complete-subtree hash by level.
struct Memory {
    levels: Vec<Vec<Hash>>,
}

impl Memory {
    fn new(n: usize) -> Self {
        let mut levels = vec![
            (0..n)
                .map(|i| leaf_hash(format!("leaf {i}").as_bytes()))
                .collect::<Vec<_>>(),
        ];
        while levels.last().unwrap().len() > 1 {
            let below = levels.last().unwrap();
            let up = below
                .chunks_exact(2)
                .map(|p| regesta_tlog::node_hash(&p[0], &p[1]))
                .collect();
            levels.push(up);
        }
        Self { levels }
    }
}

impl HashReader for Memory {
    fn hash(&self, level: u8, index: u64) -> regesta_tlog::Result<Hash> {
        self.levels
            .get(usize::from(level))
            .and_then(|l| l.get(usize::try_from(index).unwrap()))
            .copied()
            .ok_or(regesta_tlog::TlogError::MissingHash { level, index })
    }
}

/// The same tree as `tlog_tiles` stores it.
struct Theirs {
    stored: Vec<tlog_tiles::Hash>,
}

impl Theirs {
    fn new(n: u64) -> Self {
        let mut me = Self { stored: Vec::new() };
        for i in 0..n {
            let hashes = tlog_tiles::stored_hashes(i, format!("leaf {i}").as_bytes(), &me).unwrap();
            me.stored.extend(hashes);
        }
        me
    }
}

impl tlog_tiles::HashReader for Theirs {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<tlog_tiles::Hash>, tlog_tiles::Error> {
        Ok(indexes
            .iter()
            .map(|i| self.stored[usize::try_from(*i).unwrap()])
            .collect())
    }
}

fn ours(h: &tlog_tiles::Hash) -> Hash {
    Hash(h.0)
}

fn theirs(h: &Hash) -> tlog_tiles::Hash {
    tlog_tiles::Hash(h.0)
}

#[test]
fn tree_hashes_and_inclusion_proofs_agree() {
    let max = 300;
    let memory = Memory::new(max);
    let reference = Theirs::new(max as u64);
    for size in 1..=max as u64 {
        let root = tree_hash(&memory, size).unwrap();
        let their_root = tlog_tiles::tree_hash(size, &reference).unwrap();
        assert_eq!(root, ours(&their_root), "size {size}");
        for index in (0..size).step_by(usize::try_from(size / 17 + 1).unwrap()) {
            let proof = inclusion_proof(&memory, index, size).unwrap();
            let their = tlog_tiles::prove_record(size, index, &reference).unwrap();
            assert_eq!(
                proof,
                their.iter().map(ours).collect::<Vec<_>>(),
                "{index}/{size}"
            );
            let leaf = memory.hash(0, index).unwrap();
            verify_inclusion(&leaf, index, size, &proof, &root).unwrap();
            let their_proof: Vec<_> = proof.iter().map(theirs).collect();
            tlog_tiles::check_record(&their_proof, size, their_root, index, theirs(&leaf)).unwrap();
        }
    }
}

#[test]
fn consistency_proofs_agree() {
    let max = 70;
    let memory = Memory::new(max);
    let reference = Theirs::new(max as u64);
    for new in 1..=max as u64 {
        let new_root = tree_hash(&memory, new).unwrap();
        for old in 1..=new {
            let old_root = tree_hash(&memory, old).unwrap();
            let proof = consistency_proof(&memory, old, new).unwrap();
            let their = tlog_tiles::prove_tree(new, old, &reference).unwrap();
            assert_eq!(
                proof,
                their.iter().map(ours).collect::<Vec<_>>(),
                "{old}->{new}"
            );
            verify_consistency(old, new, &old_root, &new_root, &proof).unwrap();
            let their_proof: Vec<_> = proof.iter().map(theirs).collect();
            tlog_tiles::check_tree(&their_proof, new, theirs(&new_root), old, theirs(&old_root))
                .unwrap();
        }
    }
}
