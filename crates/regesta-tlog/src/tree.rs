//! Merkle tree hashes and proofs (RFC 6962 §2.1, RFC 9162 §2.1), computed
//! from the hashes of complete subtrees, which is what tiles store.
//!
//! A complete subtree is addressed by `(level, index)`: it covers leaves
//! `[index·2^level, (index+1)·2^level)`. Every range the algorithms need is
//! split RFC-style (at the largest power of two below its size), so each
//! piece is an aligned complete subtree that a [`HashReader`] can answer.

use std::collections::HashMap;

use crate::error::{Result, TlogError};
use crate::hash::{Hash, node_hash};

/// The deepest level a tree of 2^63 leaves has.
const MAX_LEVEL: u32 = 63;

/// Longest proof accepted: one hash per level, plus one (consistency).
pub const MAX_PROOF_HASHES: usize = 64;

/// Answers the hash of a complete subtree.
pub trait HashReader {
    /// The hash of the complete subtree at `(level, index)`.
    ///
    /// # Errors
    /// The hash is not available.
    fn hash(&self, level: u8, index: u64) -> Result<Hash>;
}

impl<F: Fn(u8, u64) -> Result<Hash>> HashReader for F {
    fn hash(&self, level: u8, index: u64) -> Result<Hash> {
        self(level, index)
    }
}

/// The largest power of two strictly below `n` (`n ≥ 2`).
fn split(n: u64) -> u64 {
    1 << (n - 1).ilog2()
}

fn range_error(text: String) -> TlogError {
    TlogError::Range(text)
}

/// The Merkle tree hash of leaves `[lo, hi)` (non-empty).
///
/// # Errors
/// An empty range, or a hash the reader lacks.
pub fn range_hash(r: &impl HashReader, lo: u64, hi: u64) -> Result<Hash> {
    if hi <= lo {
        return Err(range_error(format!("empty range [{lo}, {hi})")));
    }
    let n = hi - lo;
    if n.is_power_of_two() && lo.is_multiple_of(n) {
        let level = n.trailing_zeros();
        if level > MAX_LEVEL {
            return Err(range_error("range too large".into()));
        }
        return r.hash(u8::try_from(level).unwrap_or(u8::MAX), lo >> level);
    }
    let k = split(n);
    Ok(node_hash(
        &range_hash(r, lo, lo + k)?,
        &range_hash(r, lo + k, hi)?,
    ))
}

/// The root hash of the tree of the first `size` leaves.
///
/// # Errors
/// A hash the reader lacks.
pub fn tree_hash(r: &impl HashReader, size: u64) -> Result<Hash> {
    if size == 0 {
        return Ok(Hash::empty());
    }
    range_hash(r, 0, size)
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves,
/// leaf-side sibling first (RFC 9162 `PATH`).
///
/// # Errors
/// `index ≥ size`, or a hash the reader lacks.
pub fn inclusion_proof(r: &impl HashReader, index: u64, size: u64) -> Result<Vec<Hash>> {
    if index >= size {
        return Err(range_error(format!(
            "index {index} not in a tree of {size}"
        )));
    }
    let mut proof = Vec::new();
    path(r, index, 0, size, &mut proof)?;
    Ok(proof)
}

fn path(r: &impl HashReader, m: u64, lo: u64, hi: u64, out: &mut Vec<Hash>) -> Result<()> {
    if hi - lo == 1 {
        return Ok(());
    }
    let k = split(hi - lo);
    if m < lo + k {
        path(r, m, lo, lo + k, out)?;
        out.push(range_hash(r, lo + k, hi)?);
    } else {
        path(r, m, lo + k, hi, out)?;
        out.push(range_hash(r, lo, lo + k)?);
    }
    Ok(())
}

/// The consistency proof between the trees of `old` and `new` leaves
/// (RFC 9162 `PROOF`); empty when `old` is 0 or equals `new`.
///
/// # Errors
/// `old > new`, or a hash the reader lacks.
pub fn consistency_proof(r: &impl HashReader, old: u64, new: u64) -> Result<Vec<Hash>> {
    if old > new {
        return Err(range_error(format!(
            "old size {old} exceeds new size {new}"
        )));
    }
    let mut proof = Vec::new();
    if old > 0 && old < new {
        subproof(r, old, 0, new, true, &mut proof)?;
    }
    Ok(proof)
}

fn subproof(
    r: &impl HashReader,
    m: u64,
    lo: u64,
    hi: u64,
    whole: bool,
    out: &mut Vec<Hash>,
) -> Result<()> {
    let n = hi - lo;
    if m == n {
        if !whole {
            out.push(range_hash(r, lo, hi)?);
        }
        return Ok(());
    }
    let k = split(n);
    if m <= k {
        subproof(r, m, lo, lo + k, whole, out)?;
        out.push(range_hash(r, lo + k, hi)?);
    } else {
        subproof(r, m - k, lo + k, hi, false, out)?;
        out.push(range_hash(r, lo, lo + k)?);
    }
    Ok(())
}

fn proof_error(text: &str) -> TlogError {
    TlogError::Proof(text.to_owned())
}

/// Checks that `leaf` is leaf `index` of the tree of `size` leaves with
/// root `root` (RFC 9162 §2.1.3.2).
///
/// # Errors
/// The proof does not verify.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<()> {
    if index >= size {
        return Err(proof_error("index outside the tree"));
    }
    if proof.len() > MAX_PROOF_HASHES {
        return Err(proof_error("too many hashes"));
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return Err(proof_error("too many hashes for this tree"));
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(proof_error("too few hashes for this tree"));
    }
    if r != *root {
        return Err(proof_error("root mismatch"));
    }
    Ok(())
}

/// Checks that the tree of `old` leaves with root `old_root` is a prefix of
/// the tree of `new` leaves with root `new_root` (RFC 9162 §2.1.4.2).
///
/// # Errors
/// The proof does not verify.
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<()> {
    if old > new {
        return Err(proof_error("old size exceeds new size"));
    }
    if proof.len() > MAX_PROOF_HASHES {
        return Err(proof_error("too many hashes"));
    }
    if old == new {
        return if proof.is_empty() && old_root == new_root {
            Ok(())
        } else {
            Err(proof_error("equal sizes need equal roots and no hashes"))
        };
    }
    if old == 0 {
        return if proof.is_empty() {
            Ok(())
        } else {
            Err(proof_error("the empty tree needs no hashes"))
        };
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let Some((first, rest)) = path.split_first() else {
        return Err(proof_error("no hashes"));
    };
    let (mut f, mut s) = (old - 1, new - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if s == 0 {
            return Err(proof_error("too many hashes for these trees"));
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(proof_error("too few hashes for these trees"));
    }
    if fr != *old_root || sr != *new_root {
        return Err(proof_error("root mismatch"));
    }
    Ok(())
}

/// The complete-subtree hashes appending `leaves` (leaf hashes) to a tree
/// of `size` leaves creates, in creation order: each leaf at level 0, then
/// every subtree it completes. `r` answers hashes of the existing tree.
///
/// # Errors
/// A hash the reader lacks.
pub fn appended_hashes(
    r: &impl HashReader,
    size: u64,
    leaves: &[Hash],
) -> Result<Vec<(u8, u64, Hash)>> {
    let mut made: HashMap<(u8, u64), Hash> = HashMap::new();
    let mut out = Vec::new();
    for (offset, leaf) in (0_u64..).zip(leaves) {
        let (mut level, mut index, mut hash) = (0_u8, size + offset, *leaf);
        made.insert((level, index), hash);
        out.push((level, index, hash));
        while index & 1 == 1 {
            let left = match made.get(&(level, index - 1)) {
                Some(h) => *h,
                None => r.hash(level, index - 1)?,
            };
            hash = node_hash(&left, &hash);
            level += 1;
            index >>= 1;
            made.insert((level, index), hash);
            out.push((level, index, hash));
        }
    }
    Ok(out)
}
