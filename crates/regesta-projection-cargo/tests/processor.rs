//! The Cargo processor: a release is one `.crate` of this crate at this
//! version, and its facts are the index entry without the publish time.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers panic on failure by design"
)]

use regesta_core::{ArtifactBytes, ArtifactProcessor as _};
use regesta_projection_cargo::CargoProcessor;
use regesta_protocol::{Digest, ReleaseConfig, Version};

fn crate_bytes(name: &str, version: &str) -> Vec<u8> {
    let manifest = format!(
        "[package]\nname = \"{name}\"\nversion = \"{version}\"\n\n[dependencies]\nserde = \"1\"\n"
    );
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(manifest.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    let path = format!("{name}-{version}/Cargo.toml");
    builder
        .append_data(&mut header, path, manifest.as_bytes())
        .unwrap();
    let tar = builder.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &tar).unwrap();
    gz.finish().unwrap()
}

fn process(id: &str, version: &str, files: &[(&str, &[u8])]) -> Result<serde_json::Value, String> {
    let config = ReleaseConfig::parse_publish_part(
        format!(r#"{{"id":"{id}","source":{{"include":["src"]}}}}"#).as_bytes(),
    )
    .unwrap();
    let version = Version::parse(version).unwrap();
    let artifacts: Vec<ArtifactBytes<'_>> = files
        .iter()
        .map(|(filename, bytes)| ArtifactBytes {
            role: "install",
            filename: Some(filename),
            media_type: "application/gzip",
            bytes,
        })
        .collect();
    CargoProcessor
        .process(&config, &version, &artifacts)
        .map(|p| serde_json::from_slice(&p.facts.unwrap()).unwrap())
        .map_err(|e| e.message().to_owned())
}

#[test]
fn a_crate_gives_its_index_entry_as_facts() {
    let bytes = crate_bytes("lib-a", "0.1.0");
    let facts = process(
        "cargo:a.localhost/lib-a",
        "0.1.0",
        &[("lib-a-0.1.0.crate", &bytes)],
    )
    .unwrap();
    let entry = &facts["entry"];
    assert_eq!(entry["name"], "lib-a");
    assert_eq!(entry["vers"], "0.1.0");
    assert_eq!(entry["cksum"], Digest::of(&bytes).hex());
    assert_eq!(entry["deps"][0]["req"], "^1");
    assert!(
        entry.get("pubtime").is_none(),
        "the release's time, not the file's"
    );
}

#[test]
fn releases_that_are_not_their_crate_are_refused() {
    let bytes = crate_bytes("lib-a", "0.1.0");
    let file = [("lib-a-0.1.0.crate", bytes.as_slice())];
    let refused =
        |id: &str, version: &str, files: &[(&str, &[u8])]| process(id, version, files).unwrap_err();
    assert!(refused("cargo:a.localhost/lib-a", "0.2.0", &file).contains("named lib-a-0.2.0.crate"));
    let renamed = [("lib-a-0.2.0.crate", bytes.as_slice())];
    // 0.1.0's bytes under 0.2.0's name: its entries are not under
    // lib-a-0.2.0/.
    assert!(
        refused("cargo:a.localhost/lib-a", "0.2.0", &renamed).contains("lib-a-0.1.0/Cargo.toml")
    );
    assert!(refused("cargo:a.localhost/lib-a", "1.0", &file).contains("cargo version"));
    assert!(refused("cargo:a.localhost/std", "0.1.0", &file).contains("reserved"));
    assert!(refused("cargo:a.localhost/lib-a", "0.1.0", &[]).contains("exactly one"));
    let twice = [file[0], file[0]];
    assert!(refused("cargo:a.localhost/lib-a", "0.1.0", &twice).contains("exactly one"));
    let junk = [("lib-a-0.1.0.crate", b"junk".as_slice())];
    assert!(refused("cargo:a.localhost/lib-a", "0.1.0", &junk).contains("not a readable"));
}

#[test]
fn build_metadata_is_not_another_version() {
    let key = |v: &str| CargoProcessor.version_key(&Version::parse(v).unwrap());
    assert_eq!(key("1.0.0+a"), key("1.0.0+b"));
    assert_eq!(key("1.0.0").as_deref(), Some("1.0.0"));
}
