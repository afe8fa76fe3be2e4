//! `.crate` files as `cargo package` writes them are read; hostile or
//! mismatched ones are refused with the reason.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers panic on failure by design"
)]

use regesta_projection_cargo::crate_file::{self, CrateError};
use regesta_projection_cargo::names::CrateName;
use regesta_projection_cargo::versions::CrateVersion;

const MANIFEST: &str = "[package]\nedition = \"2021\"\nname = \"lib-a\"\nversion = \"0.1.0\"\n\
                        links = \"z\"\nrust-version = \"1.70\"\n\n[features]\nfast = []\n";

const FILE: tar::EntryType = tar::EntryType::Regular;

fn targz(entries: &[(&str, tar::EntryType, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, kind, bytes) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(*kind);
        let size = if *kind == FILE { bytes.len() as u64 } else { 0 };
        header.set_size(size);
        header.set_mode(0o644);
        if *kind == tar::EntryType::Symlink {
            header.set_link_name("../../etc/passwd").unwrap();
        }
        // Written raw so hostile paths (`..`, absolute) reach the reader.
        let name = &mut header.as_old_mut().name;
        name[..path.len()].copy_from_slice(path.as_bytes());
        header.set_cksum();
        let body: &[u8] = if *kind == FILE { bytes } else { b"" };
        builder.append(&header, body).unwrap();
    }
    let tar = builder.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &tar).unwrap();
    gz.finish().unwrap()
}

fn read(bytes: &[u8]) -> Result<crate_file::CrateFile, CrateError> {
    let name = CrateName::parse("lib-a").unwrap();
    let version = CrateVersion::parse("0.1.0").unwrap();
    crate_file::read(bytes, &name, &version)
}

#[test]
fn a_crate_as_cargo_packages_it_is_read() {
    let bytes = targz(&[
        ("lib-a-0.1.0/Cargo.toml", FILE, MANIFEST.as_bytes()),
        (
            "lib-a-0.1.0/Cargo.toml.orig",
            FILE,
            b"[package]\nname = \"lib-a\"\n",
        ),
        ("lib-a-0.1.0/src", tar::EntryType::Directory, b""),
        ("lib-a-0.1.0/src/lib.rs", FILE, b"pub fn a() {}\n"),
    ]);
    let read = read(&bytes).unwrap();
    assert_eq!(read.manifest, MANIFEST, "kept byte for byte");
    assert_eq!(read.links.as_deref(), Some("z"));
    assert_eq!(read.rust_version.as_deref(), Some("1.70"));
    assert_eq!(read.files, 3);
}

#[test]
fn hostile_or_mismatched_crates_are_refused_with_the_reason() {
    let manifest = ("lib-a-0.1.0/Cargo.toml", FILE, MANIFEST.as_bytes());
    let with = |extra: (&str, tar::EntryType, &[u8])| read(&targz(&[manifest, extra]));
    for path in ["lib-a-0.1.0/../../x", "/etc/x", "other-0.1.0/x"] {
        assert_eq!(
            with((path, FILE, b"x")),
            Err(CrateError::EntryPath(path.into()))
        );
    }
    assert_eq!(
        with(("lib-a-0.1.0/link", tar::EntryType::Symlink, b"")),
        Err(CrateError::EntryKind("lib-a-0.1.0/link".into()))
    );
    assert_eq!(
        read(&targz(&[("lib-a-0.1.0/src/lib.rs", FILE, b"")])),
        Err(CrateError::Missing("lib-a-0.1.0".into()))
    );
    let other = MANIFEST.replace("0.1.0", "0.2.0");
    let mismatch = targz(&[("lib-a-0.1.0/Cargo.toml", FILE, other.as_bytes())]);
    assert_eq!(
        read(&mismatch),
        Err(CrateError::Mismatch {
            name: "lib-a".into(),
            version: "0.2.0".into()
        })
    );
    let broken = targz(&[("lib-a-0.1.0/Cargo.toml", FILE, b"[package\n")]);
    assert!(matches!(read(&broken), Err(CrateError::Manifest(_))));
    let no_package = targz(&[("lib-a-0.1.0/Cargo.toml", FILE, b"[workspace]\n")]);
    assert_eq!(
        read(&no_package),
        Err(CrateError::Manifest("no [package] table".into()))
    );
    assert!(matches!(read(b"not gzip"), Err(CrateError::Archive(_))));
    let huge = vec![0; crate_file::MAX_CRATE_BYTES + 1];
    assert!(matches!(read(&huge), Err(CrateError::TooLarge(_))));
}

#[test]
fn a_gzip_bomb_stops_at_the_unpacked_cap() {
    // One entry of zeros just past the unpacked cap: it compresses about a
    // thousandfold, so the file is far under the upload cap, and the walk
    // must stop at the unpacked cap while skipping over it.
    let size = crate_file::MAX_UNPACKED_BYTES + (1 << 20);
    let mut header = tar::Header::new_gnu();
    header.set_path("lib-a-0.1.0/zeros").unwrap();
    header.set_entry_type(FILE);
    header.set_size(size);
    header.set_mode(0o644);
    header.set_cksum();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut gz, header.as_bytes()).unwrap();
    let chunk = vec![0_u8; 1 << 20];
    let mut written = 0;
    while written < size {
        std::io::Write::write_all(&mut gz, &chunk).unwrap();
        written += chunk.len() as u64;
    }
    let bomb = gz.finish().unwrap();
    assert!(bomb.len() < crate_file::MAX_CRATE_BYTES);
    let refused = read(&bomb);
    assert!(
        matches!(&refused, Err(CrateError::TooLarge(reason)) if reason.starts_with("unpacks to over")),
        "{refused:?}"
    );
}
