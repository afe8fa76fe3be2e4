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

    /// Streams the file in [`STREAM_CHUNK`]-byte chunks, each read into
    /// its own buffer and sent without a copy, hashed as it goes: a large
    /// object is never held in memory whole.
    async fn open(&self, digest: &Digest) -> Result<Option<crate::traits::ByteStream>> {
        use tokio::io::AsyncReadExt as _;
        let file = match tokio::fs::File::open(self.path(digest)).await {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let chunks = futures_util::stream::unfold(Some(file), |file| async move {
            let mut file = file?;
            let mut chunk = bytes::BytesMut::zeroed(STREAM_CHUNK);
            let mut filled = 0;
            // Fill the chunk (reads may return less), so chunks stay large.
            while filled < STREAM_CHUNK {
                match file.read(&mut chunk[filled..]).await {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(e) => return Some((Err(e.into()), None)),
                }
            }
            if filled == 0 {
                return None;
            }
            chunk.truncate(filled);
            Some((Ok(chunk.freeze()), Some(file)))
        });
        Ok(Some(crate::traits::checked_stream(chunks, *digest)))
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
