//! The one way Regesta replaces a file on disk (objects, keys, witness and
//! verifier state, mirrors): a crash leaves either the old file or the new
//! one, never a torn one, and the new one survives power loss once the write
//! returns.

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
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut file = tempfile::NamedTempFile::new_in(tmp_dir)?;
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::PermissionsExt as _;
        file.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = private;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::write_atomic;

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
}
