//! Module zips under Go's rules: the `h1:` hash matches what the go
//! command records (known vectors), and each hostile or malformed zip is
//! refused with the rule it breaks.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers panic on failure by design"
)]

use std::io::Write as _;

use regesta_projection_go::module_zip::{ZipError, go_mod_hash, hash1, read};
use regesta_projection_go::paths::ModulePath;
use regesta_projection_go::versions::ModuleVersion;

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        if name.ends_with('/') {
            writer.add_directory(*name, options).unwrap();
        } else {
            writer.start_file(*name, options).unwrap();
            writer.write_all(bytes).unwrap();
        }
    }
    writer.finish().unwrap().into_inner()
}

fn module() -> (ModulePath, ModuleVersion) {
    let path = ModulePath::parse("acme.dev/greet").unwrap();
    let version = ModuleVersion::parse("v1.0.0", &path).unwrap();
    (path, version)
}

#[test]
fn hashes_are_dirhash_hash1() {
    // The summary of one empty file `a`: sha256("") hex, two spaces, name.
    let empty: [u8; 32] = sha256(b"");
    let expected = {
        let line = format!("{}  a\n", hex(&empty));
        format!("h1:{}", b64(&sha256(line.as_bytes())))
    };
    assert_eq!(hash1(vec![("a".into(), empty)]), expected);
    // Sorted by name, whatever the order given.
    let one = hash1(vec![("b".into(), empty), ("a".into(), empty)]);
    let other = hash1(vec![("a".into(), empty), ("b".into(), empty)]);
    assert_eq!(one, other);
    // go.mod lines hash the file under the name "go.mod".
    let go_mod = b"module acme.dev/greet\n";
    assert_eq!(
        go_mod_hash(go_mod),
        hash1(vec![("go.mod".into(), sha256(go_mod))])
    );
}

#[test]
fn a_module_zip_gives_its_hash_and_go_mod() {
    let (path, version) = module();
    let go_mod = b"module acme.dev/greet\n\ngo 1.22\n";
    let bytes = zip_of(&[
        ("acme.dev/greet@v1.0.0/go.mod", go_mod),
        ("acme.dev/greet@v1.0.0/greet.go", b"package greet\n"),
        ("acme.dev/greet@v1.0.0/vendor/modules.txt", b""),
    ]);
    let read = read(&bytes, &path, &version).unwrap();
    assert_eq!(read.go_mod.as_deref(), Some(&go_mod[..]));
    let expected = hash1(vec![
        ("acme.dev/greet@v1.0.0/go.mod".into(), sha256(go_mod)),
        (
            "acme.dev/greet@v1.0.0/greet.go".into(),
            sha256(b"package greet\n"),
        ),
        (
            "acme.dev/greet@v1.0.0/vendor/modules.txt".into(),
            sha256(b""),
        ),
    ]);
    assert_eq!(read.hash, expected);
    // The same files in another order and compression hash the same.
    let stored = zip_of(&[
        ("acme.dev/greet@v1.0.0/vendor/modules.txt", b""),
        ("acme.dev/greet@v1.0.0/greet.go", b"package greet\n"),
        ("acme.dev/greet@v1.0.0/go.mod", go_mod),
    ]);
    assert_eq!(read_hash(&stored), expected);
}

fn read_hash(bytes: &[u8]) -> String {
    let (path, version) = module();
    read(bytes, &path, &version).unwrap().hash
}

#[test]
fn hostile_zips_are_refused_with_the_rule() {
    let (path, version) = module();
    let p = "acme.dev/greet@v1.0.0/";
    let with = |name: &str| format!("{p}{name}");
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"not a zip".to_vec(), "not a readable zip"),
        (
            zip_of(&[("other@v1.0.0/a.go", b"")]),
            "does not have prefix",
        ),
        (
            zip_of(&[("acme.dev/greet@v1.0.1/a.go", b"")]),
            "does not have prefix",
        ),
        (
            zip_of(&[(&with("../escape.go"), b"")]),
            "malformed file path",
        ),
        (zip_of(&[(&with("a/./b.go"), b"")]), "invalid path element"),
        (zip_of(&[(&with("x?y.go"), b"")]), "invalid char"),
        (zip_of(&[(&with("aux.go"), b"")]), "Windows"),
        (
            zip_of(&[(&with("x/Y.go"), b""), (&with("x/y.go"), b"")]),
            "case-insensitive file name collision",
        ),
        (
            zip_of(&[(&with("X/a.go"), b""), (&with("x/b.go"), b"")]),
            "case-insensitive file name collision",
        ),
        (
            zip_of(&[(&with("a"), b""), (&with("a/b.go"), b"")]),
            "both a file and a directory",
        ),
        (
            zip_of(&[(&with("sub/go.mod"), b"module x\n")]),
            "not in module root",
        ),
        (zip_of(&[(&with("GO.MOD"), b"module x\n")]), "lowercase"),
        (zip_of(&[(&with("vendor/x/y.go"), b"")]), "vendor directory"),
        (
            zip_of(&[(&with("a/vendor/x/y.go"), b"")]),
            "vendor directory",
        ),
    ];
    for (bytes, why) in cases {
        let error = read(&bytes, &path, &version).unwrap_err().to_string();
        assert!(error.contains(why), "{why}: {error}");
    }
}

#[test]
fn bombs_and_oversized_special_files_stop_at_the_caps() {
    let (path, version) = module();
    // 16 MiB + 1 of zeros as LICENSE: over MaxLICENSE, refused from the
    // header before anything is inflated.
    let big = vec![0_u8; (16 << 20) + 1];
    let license = zip_of(&[("acme.dev/greet@v1.0.0/LICENSE", &big)]);
    assert!(matches!(
        read(&license, &path, &version),
        Err(ZipError::TooLarge(_))
    ));
    // 64 MiB of zeros packs ~1000:1, past the ratio bound.
    let bomb = vec![0_u8; 64 << 20];
    let zipped = zip_of(&[("acme.dev/greet@v1.0.0/zeros", &bomb)]);
    let error = read(&zipped, &path, &version).unwrap_err().to_string();
    assert!(error.contains("times its packed size"), "{error}");
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).into()
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
