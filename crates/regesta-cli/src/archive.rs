//! The deterministic source archive: the files `regesta.json` includes
//! (minus excludes), as a gzipped tar with sorted entries, zero mtimes,
//! fixed modes and no owner names, so the same tree always hashes the same.

use std::io::Write as _;
use std::path::Path;

use anyhow::{Context as _, bail};
use flate2::Compression;
use flate2::write::GzEncoder;
use regesta_protocol::config::check_source_path;

/// Most files one source archive may hold.
const MAX_FILES: usize = 100_000;

fn excluded(path: &str, excludes: &[String]) -> bool {
    excludes.iter().any(|e| {
        let e = e.trim_end_matches('/');
        path == e || path.starts_with(&format!("{e}/"))
    })
}

/// Collects `entry` (a file or directory below `root`) depth-first in
/// sorted order, skipping excluded paths and anything that is not a regular
/// file or directory.
fn collect(
    root: &Path,
    entry: &str,
    excludes: &[String],
    out: &mut Vec<(String, bool)>,
) -> anyhow::Result<()> {
    if excluded(entry, excludes) {
        return Ok(());
    }
    let full = root.join(entry);
    let meta = std::fs::symlink_metadata(&full)
        .with_context(|| format!("source entry {entry} does not exist"))?;
    if meta.is_dir() {
        out.push((entry.to_owned(), true));
        let mut children: Vec<String> = std::fs::read_dir(&full)?
            .map(|c| c.map(|c| c.file_name().to_string_lossy().into_owned()))
            .collect::<Result<_, _>>()?;
        children.sort();
        for child in children {
            collect(root, &format!("{entry}/{child}"), excludes, out)?;
        }
    } else if meta.is_file() {
        out.push((entry.to_owned(), false));
    }
    if out.len() > MAX_FILES {
        bail!("the source archive would hold more than {MAX_FILES} entries");
    }
    Ok(())
}

/// Builds the archive of `include` (plus `regesta.json` when it exists)
/// under `root`, minus `exclude`. Returns the bytes and the entry list.
pub(crate) fn source_archive(
    root: &Path,
    include: &[String],
    exclude: &[String],
) -> anyhow::Result<(Vec<u8>, Vec<String>)> {
    for path in include.iter().chain(exclude) {
        check_source_path(path)?;
    }
    let mut roots: Vec<String> = include.to_vec();
    if root.join("regesta.json").is_file() && !roots.iter().any(|r| r == "regesta.json") {
        roots.push("regesta.json".to_owned());
    }
    roots.sort();
    roots.dedup();
    let mut entries = Vec::new();
    for entry in &roots {
        collect(root, entry.trim_end_matches('/'), exclude, &mut entries)?;
    }
    entries.sort();
    entries.dedup();
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
    builder.mode(tar::HeaderMode::Deterministic);
    for (path, is_dir) in &entries {
        let mut header = tar::Header::new_ustar();
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        if *is_dir {
            header.set_entry_type(tar::EntryType::Directory);
            header.set_mode(0o755);
            header.set_size(0);
            builder.append_data(&mut header, format!("{path}/"), std::io::empty())?;
        } else {
            let bytes = std::fs::read(root.join(path))?;
            let executable = is_executable(&root.join(path));
            header.set_entry_type(tar::EntryType::Regular);
            header.set_mode(if executable { 0o755 } else { 0o644 });
            header.set_size(bytes.len() as u64);
            builder.append_data(&mut header, path, bytes.as_slice())?;
        }
    }
    let mut gz = builder.into_inner()?;
    gz.flush()?;
    Ok((gz.finish()?, entries.into_iter().map(|(p, _)| p).collect()))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(_: &Path) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_tree_always_gives_the_same_bytes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("src/nested")).unwrap();
        std::fs::write(dir.path().join("src/b.js"), "b").unwrap();
        std::fs::write(dir.path().join("src/a.js"), "a").unwrap();
        std::fs::write(dir.path().join("src/nested/c.js"), "c").unwrap();
        std::fs::write(dir.path().join("src/secret.env"), "x").unwrap();
        std::fs::write(dir.path().join("regesta.json"), "{}").unwrap();
        let include = vec!["src".to_owned()];
        let exclude = vec!["src/secret.env".to_owned()];
        let (first, entries) = source_archive(dir.path(), &include, &exclude).unwrap();
        assert_eq!(
            entries,
            [
                "regesta.json",
                "src",
                "src/a.js",
                "src/b.js",
                "src/nested",
                "src/nested/c.js"
            ]
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(dir.path().join("src/a.js"), "a").unwrap();
        let (second, _) = source_archive(dir.path(), &include, &exclude).unwrap();
        assert_eq!(
            first, second,
            "mtimes and order do not leak into the archive"
        );
        assert!(source_archive(dir.path(), &["missing".to_owned()], &[]).is_err());
        assert!(source_archive(dir.path(), &["../etc".to_owned()], &[]).is_err());
    }
}
