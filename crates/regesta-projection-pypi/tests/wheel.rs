//! Wheels built here the way build backends build them, then broken one
//! rule at a time: each break is refused with its own reason.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers panic on failure by design"
)]

use std::io::Write as _;

use base64::Engine as _;
use regesta_projection_pypi::filename::DistFilename;
use regesta_projection_pypi::wheel::{self, WheelError};
use sha2::{Digest as _, Sha256};
use zip::write::SimpleFileOptions;

const FILE: &str = "my_lib-1.0-py3-none-any.whl";
const DIST_INFO: &str = "my_lib-1.0.dist-info";

fn metadata(name: &str, version: &str) -> Vec<u8> {
    format!(
        "Metadata-Version: 2.4\nName: {name}\nVersion: {version}\nRequires-Python: >=3.9\n\
         Requires-Dist: app>=1\n\nThe description.\n"
    )
    .into_bytes()
}

fn record_line(name: &str, bytes: &[u8]) -> String {
    let hash = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(bytes));
    format!("{name},sha256={hash},{}\n", bytes.len())
}

/// The files of a good wheel, `RECORD` excluded.
fn good_files() -> Vec<(String, Vec<u8>)> {
    vec![
        ("my_lib/__init__.py".into(), b"VALUE = 1\n".to_vec()),
        (format!("{DIST_INFO}/METADATA"), metadata("my-lib", "1.0")),
        (
            format!("{DIST_INFO}/WHEEL"),
            b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
                .to_vec(),
        ),
    ]
}

/// `files` plus a `RECORD` listing each of them truthfully.
fn with_record(files: &[(String, Vec<u8>)]) -> Vec<(String, Vec<u8>)> {
    let mut record: String = files.iter().map(|(n, b)| record_line(n, b)).collect();
    record += DIST_INFO;
    record += "/RECORD,,\n";
    let mut all = files.to_vec();
    all.push((format!("{DIST_INFO}/RECORD"), record.into_bytes()));
    all
}

fn zip(files: &[(String, Vec<u8>)], options: SimpleFileOptions) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in files {
        writer.start_file(name.as_str(), options).unwrap();
        writer.write_all(bytes).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

fn stored() -> SimpleFileOptions {
    SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored)
}

fn read(bytes: &[u8]) -> Result<wheel::Wheel, WheelError> {
    wheel::read(bytes, &DistFilename::parse(FILE).unwrap())
}

#[test]
fn a_good_wheel_is_read_and_its_metadata_kept_byte_for_byte() {
    let deflated =
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for options in [stored(), deflated] {
        let read = read(&zip(&with_record(&good_files()), options)).unwrap();
        assert_eq!(read.metadata_bytes, metadata("my-lib", "1.0"));
        assert_eq!(read.metadata.name.as_str(), "my-lib");
        assert_eq!(read.metadata.requires_dist, ["app>=1"]);
        assert_eq!(read.files, 4);
    }
    // The dist-info directory and METADATA may spell the name and version
    // in any equivalent way.
    let mut files = good_files();
    files[1].1 = metadata("My.Lib", "1.0.0a0".replace("a0", "").as_str());
    let renamed: Vec<_> = files
        .into_iter()
        .map(|(n, b)| (n.replace(DIST_INFO, "My.Lib-1.0.dist-info"), b))
        .collect();
    let mut record: String = renamed.iter().map(|(n, b)| record_line(n, b)).collect();
    record += "My.Lib-1.0.dist-info/RECORD,,\n";
    let mut all = renamed;
    all.push(("My.Lib-1.0.dist-info/RECORD".into(), record.into_bytes()));
    assert!(read(&zip(&all, stored())).is_ok());
}

#[test]
fn record_mismatches_are_refused() {
    // A file changed after RECORD was written.
    let mut files = with_record(&good_files());
    files[0].1 = b"VALUE = 2\n".to_vec();
    assert!(
        matches!(read(&zip(&files, stored())), Err(WheelError::Record(m)) if m.contains("wrong hash"))
    );
    // A file RECORD does not list.
    let mut files = with_record(&good_files());
    files.push(("my_lib/extra.py".into(), b"x = 1\n".to_vec()));
    assert!(
        matches!(read(&zip(&files, stored())), Err(WheelError::Record(m)) if m.contains("does not list"))
    );
    // RECORD lists a file the wheel lacks.
    let mut files = with_record(&good_files());
    files.remove(0);
    assert!(
        matches!(read(&zip(&files, stored())), Err(WheelError::Record(m)) if m.contains("does not hold"))
    );
    // A weaker hash than sha256.
    let mut files = good_files();
    let record = format!("my_lib/__init__.py,md5=abc,10\n{DIST_INFO}/RECORD,,\n");
    files.push((format!("{DIST_INFO}/RECORD"), record.into_bytes()));
    assert!(
        matches!(read(&zip(&files, stored())), Err(WheelError::Record(m)) if m.contains("no sha256"))
    );
}

#[test]
fn missing_or_foreign_dist_info_is_refused() {
    let no_wheel: Vec<_> = good_files()
        .into_iter()
        .filter(|(n, _)| !n.ends_with("/WHEEL"))
        .collect();
    assert_eq!(
        read(&zip(&with_record(&no_wheel), stored())),
        Err(WheelError::Missing("WHEEL"))
    );
    let mut files_v2 = good_files();
    files_v2[2].1 = b"Wheel-Version: 2.0\n".to_vec();
    assert_eq!(
        read(&zip(&with_record(&files_v2), stored())),
        Err(WheelError::WheelVersion)
    );
    let mut other = good_files();
    other[1].1 = metadata("other", "1.0");
    assert_eq!(
        read(&zip(&with_record(&other), stored())),
        Err(WheelError::Mismatch {
            name: "other".into(),
            version: "1.0".into()
        })
    );
    let mut two = good_files();
    two.push((
        "extra-1.0.dist-info/METADATA".into(),
        metadata("extra", "1.0"),
    ));
    assert!(matches!(
        read(&zip(&with_record(&two), stored())),
        Err(WheelError::DistInfo { .. })
    ));
    let foreign: Vec<_> = good_files()
        .into_iter()
        .map(|(n, b)| (n.replace(DIST_INFO, "my_lib-2.0.dist-info"), b))
        .collect();
    assert!(matches!(
        read(&zip(&foreign, stored())),
        Err(WheelError::DistInfo { .. })
    ));
}

#[test]
fn hostile_archives_are_refused() {
    for name in [
        "../evil.py",
        "/etc/passwd",
        "my_lib/../../x",
        "a\\b.py",
        "a//b",
    ] {
        let mut files = good_files();
        files.push((name.to_owned(), b"x".to_vec()));
        assert_eq!(
            read(&zip(&with_record(&files), stored())),
            Err(WheelError::EntryName(name.to_owned())),
            "{name}"
        );
    }
    // A duplicate entry name: the writer refuses one, so two names of the
    // same length are written and one is renamed in the raw bytes.
    let mut files = good_files();
    files.push(("my_lib/aaaa.py".into(), b"x".to_vec()));
    files.push(("my_lib/bbbb.py".into(), b"x".to_vec()));
    let mut bytes = zip(&with_record(&files), stored());
    let renamed = String::from_utf8_lossy(&bytes)
        .matches("my_lib/bbbb.py")
        .count();
    assert!(
        renamed >= 2,
        "the name is in a local header and the central directory"
    );
    let mut at = 0;
    while let Some(found) = bytes[at..].windows(14).position(|w| w == b"my_lib/bbbb.py") {
        bytes[at + found + 7..at + found + 11].copy_from_slice(b"aaaa");
        at += found + 14;
    }
    assert!(matches!(
        read(&bytes),
        Err(WheelError::Zip(_) | WheelError::EntryName(_))
    ));
    // A symbolic link.
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in with_record(&good_files()) {
        writer.start_file(name.as_str(), stored()).unwrap();
        writer.write_all(&bytes).unwrap();
    }
    writer
        .add_symlink("my_lib/link", "/etc/passwd", stored())
        .unwrap();
    let linked = writer.finish().unwrap().into_inner();
    assert_eq!(
        read(&linked),
        Err(WheelError::Symlink("my_lib/link".into()))
    );
    // A zip bomb: 64 MiB of zeros deflate to about 64 KiB.
    let mut files = good_files();
    files.push(("my_lib/zeros.bin".into(), vec![0; 64 * 1024 * 1024]));
    let deflated =
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let bomb = zip(&with_record(&files), deflated);
    assert!(bomb.len() < 1024 * 1024);
    assert_eq!(
        read(&bomb),
        Err(WheelError::Ratio("my_lib/zeros.bin".into()))
    );
    // Not a zip at all, truncated, and not a wheel's file name.
    assert!(matches!(read(b"not a zip"), Err(WheelError::Zip(_))));
    let good = zip(&with_record(&good_files()), stored());
    assert!(matches!(
        read(&good[..good.len() / 2]),
        Err(WheelError::Zip(_))
    ));
    let sdist = DistFilename::parse("my_lib-1.0.tar.gz").unwrap();
    assert_eq!(wheel::read(&good, &sdist), Err(WheelError::NotAWheel));
}
