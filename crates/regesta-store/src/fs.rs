//! Filesystem blob store: `objects/sha256/ab/<hex>`. Each object is
//! written to a temporary file and renamed into place, then made durable
//! together with every object written meanwhile by one file-system sync
//! ([`crate::fs_sync`]): a put returns only once its objects survive power
//! loss, as before, but concurrent publishes share the sync instead of
//! paying two fsyncs per file.
//!
//! A crash between the rename and the sync can leave a torn file under an
//! object's name. Nothing refers to it (the database commit that would
//! comes after the put), and a later put of the same object finds it
//! damaged and replaces it: an existing file counts as the object only when
//! its bytes hash to the name.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use regesta_protocol::Digest;

use crate::error::{Result, StoreError};
use crate::fs_sync::GroupSync;
use crate::model::Durability;
use crate::traits::{BlobStore, ensure_digest};

/// Bytes per chunk when an object is streamed from its file.
pub const STREAM_CHUNK: usize = 256 * 1024;

/// Blobs under a directory.
#[derive(Debug, Clone)]
pub struct FsBlobs {
    root: PathBuf,
    durability: Durability,
    sync: Arc<GroupSync>,
}

impl FsBlobs {
    /// Opens (creating) `root/objects`.
    ///
    /// # Errors
    /// The directory cannot be created.
    pub fn open(data_dir: &Path) -> Result<Self> {
        Self::open_with(data_dir, Durability::Full)
    }

    /// As [`Self::open`]; `Deferred` skips the file-system syncs.
    ///
    /// # Errors
    /// The directory cannot be created.
    pub fn open_with(data_dir: &Path, durability: Durability) -> Result<Self> {
        let root = data_dir.join("objects");
        std::fs::create_dir_all(root.join("sha256"))?;
        std::fs::create_dir_all(root.join("tmp"))?;
        let sync = Arc::new(GroupSync::new(&root));
        Ok(Self {
            root,
            durability,
            sync,
        })
    }

    fn path(&self, digest: &Digest) -> PathBuf {
        let hex = digest.hex();
        self.root.join("sha256").join(&hex[..2]).join(hex)
    }
}

/// Whether `target` already holds the object `digest` names, whole.
fn holds(target: &Path, digest: &Digest, size: usize) -> std::io::Result<bool> {
    match std::fs::metadata(target) {
        Ok(meta) if meta.len() != size as u64 => Ok(false),
        Ok(_) => Ok(Digest::of(&std::fs::read(target)?) == *digest),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Writes `bytes` under `target` unless it is already there, not synced
/// (the caller syncs). Whether a file was written.
fn write_unsynced(
    tmp_dir: &Path,
    target: &Path,
    digest: &Digest,
    bytes: &[u8],
) -> std::io::Result<bool> {
    if holds(target, digest, bytes.len())? {
        return Ok(false);
    }
    crate::files::write_undurable_via(tmp_dir, target, bytes)?;
    Ok(true)
}

/// Up to [`STREAM_CHUNK`] bytes of `file`, read until the chunk is full or
/// the file ends (empty at the end).
/// Objects up to this size are read without a trip to the blocking pool.
const INLINE_READ: u64 = 64 * 1024;

/// All of `file` (`size` bytes expected; a file that changed meanwhile is
/// read as it is, the caller checks digests).
fn read_whole(mut file: std::fs::File, size: u64) -> std::io::Result<Bytes> {
    use std::io::Read as _;
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0).saturating_add(1));
    file.read_to_end(&mut bytes)?;
    Ok(Bytes::from(bytes))
}

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
        self.put_all(vec![(*digest, bytes)]).await
    }

    /// Every object written and made durable on one trip to the blocking
    /// pool: the writes, then one group sync for all of them (none when
    /// every object was there).
    async fn put_all(&self, objects: Vec<(Digest, Bytes)>) -> Result<()> {
        for (digest, bytes) in &objects {
            ensure_digest(digest, bytes)?;
        }
        let targets: Vec<PathBuf> = objects.iter().map(|(d, _)| self.path(d)).collect();
        let tmp_dir = self.root.join("tmp");
        let sync = (self.durability == Durability::Full).then(|| Arc::clone(&self.sync));
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let mut written = Vec::new();
            for ((digest, bytes), target) in objects.iter().zip(targets) {
                if write_unsynced(&tmp_dir, &target, digest, bytes)? {
                    written.push(target);
                }
            }
            match sync {
                Some(sync) if !written.is_empty() => sync.after_writes(&written),
                _ => Ok(()),
            }
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
        let file = match std::fs::File::open(self.path(digest)) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let size = file.metadata()?.len();
        // A small file is read on this thread, as nginx reads files in its
        // event loop: two thread wake-ups for a trip to the blocking pool
        // cost more than reading a few pages the kernel usually holds.
        if size <= INLINE_READ {
            return Ok(Some(read_whole(file, size)?));
        }
        let read = tokio::task::spawn_blocking(move || read_whole(file, size)).await;
        Ok(Some(read.map_err(|e| StoreError::Backend(e.into()))??))
    }

    async fn ping(&self) -> Result<()> {
        tokio::fs::metadata(self.root.join("sha256")).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::FsBlobs;
    use crate::traits::BlobStore as _;
    use bytes::Bytes;
    use regesta_protocol::Digest;

    /// A crash between an object's rename and the sync can leave a torn
    /// file under its name: the next put of that object replaces it.
    #[tokio::test]
    async fn a_torn_object_file_is_replaced_by_the_next_put() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = FsBlobs::open(dir.path()).unwrap();
        let bytes = Bytes::from_static(b"the whole object");
        let digest = Digest::of(&bytes);
        let path = blobs.path(&digest);
        for torn in [&b""[..], b"the whole objec", b"the whole objecX"] {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, torn).unwrap();
            blobs.put(&digest, bytes.clone()).await.unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), bytes);
        }
        // An intact file is left as it is (a rewrite would rename a new
        // file, with a new inode, over it).
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt as _;
            let before = std::fs::metadata(&path).unwrap().ino();
            blobs.put_all(vec![(digest, bytes.clone())]).await.unwrap();
            assert_eq!(std::fs::metadata(&path).unwrap().ino(), before);
        }
        assert_eq!(
            std::fs::read_dir(dir.path().join("objects/tmp"))
                .unwrap()
                .count(),
            0
        );
    }
}
