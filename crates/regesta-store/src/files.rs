//! The one way Regesta replaces a file on disk (objects, keys, witness and
//! verifier state, mirrors): readers see either the old file or the new
//! one, never a torn one. [`write_atomic`] also makes the new one survive
//! power loss before it returns; [`write_undurable_via`] leaves that to the
//! caller's one sync for many files.

use std::io::Write as _;
use std::path::Path;

/// Writes `bytes` to `path` atomically: a temporary file in the same
/// directory (mode 0600 when `private`), fsynced, renamed into place, and
/// the directory fsynced so the rename itself is durable.
///
/// # Errors
/// Any IO failure; the old file, if any, is then unchanged.
pub fn write_atomic(path: &Path, bytes: &[u8], private: bool) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    write_atomic_via(dir, path, bytes, private)
}

/// As [`write_atomic`], with the temporary file in `tmp_dir` (on the same
/// file system), so a directory of content-addressed files never shows
/// half-written names and stale temporaries can be swept from one place.
///
/// # Errors
/// Any IO failure; the old file, if any, is then unchanged.
pub fn write_atomic_via(
    tmp_dir: &Path,
    path: &Path,
    bytes: &[u8],
    private: bool,
) -> std::io::Result<()> {
    place(tmp_dir, path, private, true, |file| file.write_all(bytes))
}

/// As [`write_atomic`], with the file's bytes written by `write` (through
/// a buffer) instead of given whole: a large document is streamed to disk
/// instead of first being built in memory.
///
/// # Errors
/// Any IO failure, or the one `write` returned; the old file, if any, is
/// then unchanged.
pub fn write_atomic_with(
    path: &Path,
    private: bool,
    write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    place(dir, path, private, true, |file| {
        let mut buffered = std::io::BufWriter::with_capacity(64 * 1024, file);
        write(&mut buffered)?;
        buffered.flush()
    })
}

/// As [`write_atomic_via`] but not durable: readers see the old file or
/// the new one, never a half-written one, but a crash before the caller
/// syncs (one `syncfs` for many files) may leave the new one torn under its
/// name. For files whose durability the caller establishes in bulk before
/// anything that depends on them is recorded. On Linux a new file gets no
/// temporary name at all (see [`crate::unnamed`]); `tmp_dir` serves
/// replacements and file systems that cannot do that.
///
/// # Errors
/// Any IO failure; the old file, if any, is then unchanged.
pub fn write_undurable_via(tmp_dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    if crate::unnamed::write_new(path, bytes)? == crate::unnamed::Placed::Linked {
        return Ok(());
    }
    place(tmp_dir, path, false, false, |file| file.write_all(bytes))
}

/// A temporary file in `tmp_dir` filled by `contents`, renamed to `path`; with `durable`, the
/// file is synced before the rename and the directory after it. Missing
/// directories are created when an attempt finds them missing, not checked
/// per file (writers of many files pay no extra syscalls).
fn place(
    tmp_dir: &Path,
    path: &Path,
    private: bool,
    durable: bool,
    contents: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let missing = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let mut builder = tempfile::Builder::new();
    // tempfile creates 0600 files by default; a public file gets the mode
    // any other new file gets (0666 less the umask), so a static server
    // running as another user can serve a mirror.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = if private { 0o600 } else { 0o666 };
        builder.permissions(std::fs::Permissions::from_mode(mode));
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = match builder.tempfile_in(tmp_dir) {
        Err(e) if missing(&e) => {
            std::fs::create_dir_all(tmp_dir)?;
            builder.tempfile_in(tmp_dir)?
        }
        other => other?,
    };
    contents(file.as_file_mut())?;
    if durable {
        file.as_file().sync_all()?;
    }
    match file.persist(path) {
        Ok(_) => {}
        Err(e) if missing(&e.error) => {
            std::fs::create_dir_all(dir)?;
            e.file.persist(path).map_err(|e| e.error)?;
        }
        Err(e) => return Err(e.error),
    }
    if durable {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{write_atomic, write_atomic_with};

    #[test]
    fn files_are_replaced_whole_and_private_ones_are_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/key");
        write_atomic(&path, b"one", true).unwrap();
        write_atomic(&path, b"two", true).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(
            std::fs::read_dir(dir.path().join("sub")).unwrap().count(),
            1
        );
    }

    /// A public file gets the mode any new file gets under this umask
    /// (0644 under the usual 022), not the temporary file's 0600: a
    /// mirror is served by a static server running as another user.
    #[cfg(unix)]
    #[test]
    fn public_files_get_the_usual_mode() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let usual = dir.path().join("usual");
        std::fs::File::create(&usual).unwrap();
        let path = dir.path().join("sub/object");
        super::write_undurable_via(&dir.path().join(".tmp"), &path, b"bytes").unwrap();
        assert_eq!(mode(&path), mode(&usual));
        write_atomic(&path, b"again", false).unwrap();
        assert_eq!(mode(&path), mode(&usual));
    }

    /// On Linux a new file needs no temporary name (its temporary
    /// directory may not even be creatable); a file already there is
    /// replaced through one.
    #[cfg(target_os = "linux")]
    #[test]
    fn new_files_need_no_temporary_name_and_old_ones_are_replaced() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("plain"), b"").unwrap();
        let impossible = dir.path().join("plain/.tmp");
        let path = dir.path().join("objects/one");
        super::write_undurable_via(&impossible, &path, b"first").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"first");
        assert!(super::write_undurable_via(&impossible, &path, b"second").is_err());
        let tmp = dir.path().join(".tmp");
        super::write_undurable_via(&tmp, &path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        assert_eq!(
            std::fs::read_dir(&tmp).unwrap().count(),
            0,
            "no temporaries"
        );
    }

    #[test]
    fn streamed_files_are_written_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("doc.json");
        write_atomic_with(&path, false, |out| {
            for n in 0..10_000 {
                write!(out, "{n},")?;
            }
            Ok(())
        })
        .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("0,1,2,") && text.ends_with("9999,"));
        let failed = write_atomic_with(&path, false, |out| {
            out.write_all(b"half")?;
            Err(std::io::Error::other("the writer failed"))
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "unchanged");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporaries"
        );
    }
}
