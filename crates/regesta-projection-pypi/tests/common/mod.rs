//! Distributions built the way build backends lay them out, shared by the
//! tests that need real ones.
#![allow(
    dead_code,
    reason = "each test crate uses its own subset of the builders"
)]

use std::io::Write as _;

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

/// A wheel of `my-lib` at `version`, as a build backend writes it.
pub(crate) fn build_wheel(version: &str, requires_python: &str) -> (String, Vec<u8>) {
    build_wheel_with(
        version,
        requires_python,
        &format!("VERSION = {version:?}\n"),
    )
}

/// As [`build_wheel`], with `module` as the package's `__init__.py`.
pub(crate) fn build_wheel_with(
    version: &str,
    requires_python: &str,
    module: &str,
) -> (String, Vec<u8>) {
    let dist_info = format!("my_lib-{version}.dist-info");
    let files = vec![
        ("my_lib/__init__.py".to_owned(), module.as_bytes().to_vec()),
        (
            format!("{dist_info}/METADATA"),
            format!("Metadata-Version: 2.1\nName: my-lib\nVersion: {version}\nRequires-Python: {requires_python}\n")
                .into_bytes(),
        ),
        (
            format!("{dist_info}/WHEEL"),
            b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n".to_vec(),
        ),
    ];
    let mut record = String::new();
    for (name, bytes) in &files {
        let hash = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(bytes));
        record += &[
            name.as_str(),
            ",sha256=",
            &hash,
            ",",
            &bytes.len().to_string(),
            "\n",
        ]
        .concat();
    }
    record += &[dist_info.as_str(), "/RECORD,,\n"].concat();
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    for (name, bytes) in files
        .iter()
        .chain([(format!("{dist_info}/RECORD"), record.into_bytes())].iter())
    {
        writer.start_file(name.as_str(), options).unwrap();
        writer.write_all(bytes).unwrap();
    }
    let bytes = writer.finish().unwrap().into_inner();
    (format!("my_lib-{version}-py3-none-any.whl"), bytes)
}

/// An sdist of `my-lib` at `version` (`my_lib-<version>.tar.gz`).
pub(crate) fn build_sdist(version: &str, requires_python: &str) -> (String, Vec<u8>) {
    let top = format!("my_lib-{version}");
    let pkg_info = format!(
        "Metadata-Version: 2.1\nName: my-lib\nVersion: {version}\nRequires-Python: {requires_python}\n"
    );
    let mut builder = tar::Builder::new(Vec::new());
    for (path, bytes) in [
        (format!("{top}/PKG-INFO"), pkg_info.into_bytes()),
        (
            format!("{top}/pyproject.toml"),
            b"[project]\nname = \"my-lib\"\n".to_vec(),
        ),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        builder
            .append_data(&mut header, path, bytes.as_slice())
            .unwrap();
    }
    let tar = builder.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    (format!("{top}.tar.gz"), gz.finish().unwrap())
}
