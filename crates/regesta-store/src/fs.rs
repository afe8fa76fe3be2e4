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

    /// The object's file, open for reading; `None` when there is none.
    fn open_file(&self, digest: &Digest) -> Result<Option<std::fs::File>> {
        match std::fs::File::open(self.path(digest)) {
            Ok(file) => Ok(Some(file)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
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

/// The `size` bytes of `file` if the kernel holds them all in its page
/// cache (`RWF_NOWAIT`); `None` when reading them would wait for the disk
/// (or the file system cannot tell). Objects never change, and readers
/// check digests, so a file that changed size is not looked for.
#[cfg(target_os = "linux")]
fn read_cached(file: &std::fs::File, size: u64) -> std::io::Result<Option<Bytes>> {
    use rustix::io::{Errno, ReadWriteFlags, preadv2};
    let mut bytes = vec![0; usize::try_from(size).map_err(std::io::Error::other)?];
    let mut filled = 0;
    while filled < bytes.len() {
        let mut buf = [std::io::IoSliceMut::new(&mut bytes[filled..])];
        match preadv2(file, &mut buf, filled as u64, ReadWriteFlags::NOWAIT) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(Errno::INTR) => {}
            Err(Errno::AGAIN | Errno::OPNOTSUPP | Errno::NOSYS | Errno::INVAL) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
    }
    bytes.truncate(filled);
    Ok(Some(Bytes::from(bytes)))
}

/// Elsewhere every read goes to the blocking pool.
#[cfg(not(target_os = "linux"))]
#[allow(clippy::unnecessary_wraps, reason = "the Linux version's signature")]
fn read_cached(_file: &std::fs::File, _size: u64) -> std::io::Result<Option<Bytes>> {
    Ok(None)
}

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
        let Some(file) = self.open_file(digest)? else {
            return Ok(None);
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
        let Some(file) = self.open_file(digest)? else {
            return Ok(None);
        };
        let size = file.metadata()?.len();
        // A small file whose pages the kernel holds is read on this
        // thread: two thread wake-ups for a trip to the blocking pool cost
        // more than copying a few cached pages. One that would wait for
        // the disk goes to the pool, so no request waits behind it.
        if size <= INLINE_READ
            && let Some(bytes) = read_cached(&file, size)?
        {
            return Ok(Some(bytes));
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

    /// Objects read back whole on either side of the inline-read size,
    /// from the page cache on this thread or through the blocking pool.
    #[tokio::test]
    async fn objects_read_back_whole_at_every_size() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = FsBlobs::open(dir.path()).unwrap();
        let limit = usize::try_from(super::INLINE_READ).unwrap();
        for size in [0, 1, 4095, 4096, limit, limit + 1, 3 * limit] {
            let bytes = Bytes::from(
                (0..size)
                    .map(|i| u8::try_from(i % 251).unwrap())
                    .collect::<Vec<_>>(),
            );
            let digest = Digest::of(&bytes);
            blobs.put(&digest, bytes.clone()).await.unwrap();
            assert_eq!(blobs.get(&digest).await.unwrap(), Some(bytes), "{size}");
            #[cfg(target_os = "linux")]
            {
                // Just written, so cached: read without the pool.
                let file = std::fs::File::open(blobs.path(&digest)).unwrap();
                let cached = super::read_cached(&file, size as u64).unwrap();
                assert_eq!(cached.map(|b| b.len()), Some(size), "{size}");
            }
        }
        assert_eq!(blobs.get(&Digest::of(b"absent")).await.unwrap(), None);
    }

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
