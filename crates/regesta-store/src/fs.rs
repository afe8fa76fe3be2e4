//! Filesystem blob store: `objects/sha256/ab/<hex>`, each written to a
//! temporary file, fsync'd, renamed into place and the directory fsync'd, so
//! a crash leaves either no object or the complete object, never a torn one.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use bytes::Bytes;
use regesta_protocol::Digest;

use crate::error::{Result, StoreError};
use crate::model::Durability;
use crate::traits::{BlobStore, ensure_digest};

/// Bytes per chunk when an object is streamed from its file.
pub const STREAM_CHUNK: usize = 256 * 1024;

/// Blobs under a directory.
#[derive(Debug, Clone)]
pub struct FsBlobs {
    root: PathBuf,
    durability: Durability,
}

impl FsBlobs {
    /// Opens (creating) `root/objects`.
    ///
    /// # Errors
    /// The directory cannot be created.
    pub fn open(data_dir: &Path) -> Result<Self> {
        Self::open_with(data_dir, Durability::Full)
    }

    /// As [`Self::open`]; `Deferred` skips the file and directory fsyncs.
    ///
    /// # Errors
    /// The directory cannot be created.
    pub fn open_with(data_dir: &Path, durability: Durability) -> Result<Self> {
        let root = data_dir.join("objects");
        std::fs::create_dir_all(root.join("sha256"))?;
        std::fs::create_dir_all(root.join("tmp"))?;
        Ok(Self { root, durability })
    }

    fn path(&self, digest: &Digest) -> PathBuf {
        let hex = digest.hex();
        self.root.join("sha256").join(&hex[..2]).join(hex)
    }
}

fn write_atomically(
    tmp_dir: &Path,
    target: &Path,
    bytes: &[u8],
    durability: Durability,
) -> std::io::Result<()> {
    if target.exists() {
        return Ok(());
    }
    if durability == Durability::Deferred {
        // A bulk load is thrown away on failure, so a torn object is fine.
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir)?;
        }
        return std::fs::write(target, bytes);
    }
    crate::files::write_atomic_via(tmp_dir, target, bytes, false)
}

/// Up to [`STREAM_CHUNK`] bytes of `file`, read until the chunk is full or
/// the file ends (empty at the end).
fn read_chunk(file: &mut std::fs::File) -> std::io::Result<Bytes> {
    use std::io::Read as _;
    let mut chunk = bytes::BytesMut::zeroed(STREAM_CHUNK);
    let mut filled = 0;
    while filled < STREAM_CHUNK {
        match file.read(&mut chunk[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    chunk.truncate(filled);
    Ok(chunk.freeze())
}

#[async_trait]
impl BlobStore for FsBlobs {
    async fn put(&self, digest: &Digest, bytes: Bytes) -> Result<()> {
        ensure_digest(digest, &bytes)?;
        let target = self.path(digest);
        let tmp_dir = self.root.join("tmp");
        let durability = self.durability;
        tokio::task::spawn_blocking(move || {
            write_atomically(&tmp_dir, &target, &bytes, durability)
        })
        .await
        .map_err(|e| StoreError::Backend(e.into()))??;
        Ok(())
    }

    /// Streams the file in [`STREAM_CHUNK`]-byte chunks, each read on the
    /// blocking pool straight into its own buffer and sent without a copy:
    /// a large object is never held in memory whole. Like [`Self::get`], it
    /// trusts the file (hashing every streamed byte halved large-object
    /// throughput); readers check digests, and small objects are checked
    /// before any cache keeps them.
    async fn open(&self, digest: &Digest) -> Result<Option<crate::traits::ByteStream>> {
        let file = match std::fs::File::open(self.path(digest)) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let chunks = futures_util::stream::unfold(Some(file), |file| async move {
            let file = file?;
            let read = tokio::task::spawn_blocking(move || {
                let mut file = file;
                let chunk = read_chunk(&mut file);
                (chunk, file)
            })
            .await;
            match read {
                Ok((Ok(chunk), _)) if chunk.is_empty() => None,
                Ok((Ok(chunk), file)) => Some((Ok(chunk), Some(file))),
                Ok((Err(e), _)) => Some((Err(e.into()), None)),
                Err(e) => Some((Err(StoreError::Backend(e.into())), None)),
            }
        });
        Ok(Some(Box::pin(chunks)))
    }

    async fn get(&self, digest: &Digest) -> Result<Option<Bytes>> {
        match tokio::fs::read(self.path(digest)).await {
            Ok(bytes) => Ok(Some(Bytes::from(bytes))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn ping(&self) -> Result<()> {
        tokio::fs::metadata(self.root.join("sha256")).await?;
        Ok(())
    }
}
