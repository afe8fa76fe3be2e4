//! Sdists built here as build backends lay them out, then broken one rule
//! at a time: each break is refused with its own reason.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers panic on failure by design"
)]

use std::io::Write as _;

use regesta_projection_pypi::filename::DistFilename;
use regesta_projection_pypi::sdist::{self, SdistError};

const FILE: &str = "my_lib-1.0.tar.gz";

fn pkg_info(name: &str, version: &str) -> Vec<u8> {
    format!("Metadata-Version: 2.4\nName: {name}\nVersion: {version}\nRequires-Python: >=3.9\n")
        .into_bytes()
}

/// A gzipped tar of `entries`: (path, kind, bytes). Paths are written raw,
/// so hostile ones reach the reader unchanged.
fn targz(entries: &[(&str, tar::EntryType, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, kind, bytes) in entries {
        let mut header = tar::Header::new_gnu();
        let name = &mut header.as_old_mut().name;
        name[..path.len()].copy_from_slice(path.as_bytes());
        header.set_entry_type(*kind);
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        if kind.is_symlink() {
            header.set_link_name("/etc/passwd").unwrap();
        }
        header.set_cksum();
        builder.append(&header, *bytes).unwrap();
    }
    let tar = builder.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

fn good() -> Vec<(&'static str, tar::EntryType, Vec<u8>)> {
    vec![
        ("my_lib-1.0/", tar::EntryType::Directory, Vec::new()),
        (
            "my_lib-1.0/PKG-INFO",
            tar::EntryType::Regular,
            pkg_info("my-lib", "1.0"),
        ),
        (
            "my_lib-1.0/pyproject.toml",
            tar::EntryType::Regular,
            b"[project]\n".to_vec(),
        ),
        (
            "my_lib-1.0/src/my_lib/__init__.py",
            tar::EntryType::Regular,
            b"VALUE = 1\n".to_vec(),
        ),
    ]
}

fn build(entries: &[(&str, tar::EntryType, Vec<u8>)]) -> Vec<u8> {
    let borrowed: Vec<_> = entries
        .iter()
        .map(|(p, k, b)| (*p, *k, b.as_slice()))
        .collect();
    targz(&borrowed)
}

fn read(bytes: &[u8]) -> Result<sdist::Sdist, SdistError> {
    sdist::read(bytes, &DistFilename::parse(FILE).unwrap())
}

#[test]
fn a_good_sdist_is_read_and_its_pkg_info_kept_byte_for_byte() {
    let read = read(&build(&good())).unwrap();
    assert_eq!(read.metadata_bytes, pkg_info("my-lib", "1.0"));
    assert_eq!(read.metadata.requires_python.unwrap().normalized(), ">=3.9");
    assert_eq!(read.files, 3);
}

#[test]
fn bad_sdists_are_refused_with_the_reason() {
    let mut other = good();
    other[1].2 = pkg_info("other", "1.0");
    assert_eq!(
        read(&build(&other)),
        Err(SdistError::Mismatch {
            name: "other".into(),
            version: "1.0".into()
        })
    );
    let missing: Vec<_> = good()
        .into_iter()
        .filter(|(p, _, _)| !p.ends_with("PKG-INFO"))
        .collect();
    assert_eq!(
        read(&build(&missing)),
        Err(SdistError::Missing("my_lib-1.0".into()))
    );
    for path in [
        "other-1.0/setup.py",
        "my_lib-1.0/../../etc/x",
        "/my_lib-1.0/x",
        "my_lib-1.0/a\\b",
        "my_lib-1.0//x",
    ] {
        let mut entries = good();
        entries.push((path, tar::EntryType::Regular, b"x".to_vec()));
        assert_eq!(
            read(&build(&entries)),
            Err(SdistError::EntryPath(path.into())),
            "{path}"
        );
    }
    for kind in [
        tar::EntryType::Symlink,
        tar::EntryType::Link,
        tar::EntryType::Char,
        tar::EntryType::Fifo,
    ] {
        let mut entries = good();
        entries.push(("my_lib-1.0/odd", kind, Vec::new()));
        assert_eq!(
            read(&build(&entries)),
            Err(SdistError::EntryKind("my_lib-1.0/odd".into())),
            "{kind:?}"
        );
    }
    assert!(matches!(read(b"not gzip"), Err(SdistError::Archive(_))));
    let whole = build(&good());
    assert!(matches!(
        read(&whole[..whole.len() / 2]),
        Err(SdistError::Archive(_))
    ));
    let wheel = DistFilename::parse("my_lib-1.0-py3-none-any.whl").unwrap();
    assert_eq!(sdist::read(&whole, &wheel), Err(SdistError::NotAnSdist));
}
