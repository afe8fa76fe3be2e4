//! Snapshots of every npm document Regesta renders, including the ones the
//! reference's captures do not cover (abbreviated form, several versions,
//! channels, dist facts). A change to any byte shows up as a snapshot diff;
//! review it with `cargo insta review` (or rerun with `INSTA_UPDATE=always`)
//! and commit the `.snap` file only when the change is intended.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers panic on failure by design"
)]

use regesta_core::{PackageView, ReleaseView};
use regesta_projection_npm::{abbreviated, dist_tags, packument, version_document};
use regesta_protocol::{ChannelName, Digest, PackageId, ReleaseManifest, Timestamp, Version};
use regesta_testkit::{read, vectors_dir};

const BASE: &str = "https://npm.example.org";

fn release(template: &ReleaseManifest, version: &str, millis: i64, facts: bool) -> ReleaseView {
    let mut manifest = template.clone();
    manifest.version = Version::parse(version).unwrap();
    manifest.created_at = Timestamp::from_unix_millis(millis).unwrap();
    if let Some(metadata) = manifest.metadata.as_mut() {
        metadata.description = Some(format!("hello at {version}"));
    }
    let facts = facts.then(|| {
        serde_json::from_value(serde_json::json!({
            "fileCount": 4,
            "integrity": format!("sha512-{}", "A".repeat(86) + "=="),
            "shasum": "89ccd9334f22a9a34a3344879a885d1aa526e937",
            "unpackedSize": 1155,
        }))
        .unwrap()
    });
    ReleaseView {
        created_at: manifest.created_at,
        event_id: Digest::of(version.as_bytes()),
        manifest,
        facts,
    }
}

/// Three releases (the first stored before dist facts were recorded),
/// `latest` and `next` channels and one channel naming a missing version.
fn view() -> (PackageId, PackageView) {
    let dir = vectors_dir();
    let template: ReleaseManifest =
        serde_json::from_slice(&read(&dir, "wire/object-manifest-28b3fe33.json")).unwrap();
    let releases = vec![
        release(&template, "1.0.0", 1_764_000_000_000, false),
        release(&template, "1.1.0", 1_764_000_060_000, true),
        release(&template, "2.0.0-rc.1", 1_764_000_120_000, true),
    ];
    let channel = |name: &str, version: &str| {
        (
            ChannelName::parse(name).unwrap(),
            Version::parse(version).unwrap(),
        )
    };
    let view = PackageView {
        head_event: Digest::of(b"head"),
        head_time: Timestamp::from_unix_millis(1_764_000_180_000).unwrap(),
        releases,
        channels: vec![
            channel("latest", "1.1.0"),
            channel("next", "2.0.0-rc.1"),
            channel("gone", "9.9.9"),
        ],
    };
    (
        PackageId::parse("npm:dev.localhost/hello-regesta").unwrap(),
        view,
    )
}

fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap()
}

#[test]
fn full_packument() {
    let (id, view) = view();
    insta::assert_snapshot!(pretty(&packument(&id, &view, BASE).unwrap()));
}

#[test]
fn abbreviated_packument() {
    let (id, view) = view();
    insta::assert_snapshot!(pretty(&abbreviated(&id, &view, BASE).unwrap()));
}

#[test]
fn version_documents() {
    let (id, view) = view();
    let legacy = version_document(&id, &view.releases[0], BASE).unwrap();
    let current = version_document(&id, &view.releases[1], BASE).unwrap();
    insta::assert_snapshot!("version_without_facts", pretty(&legacy));
    insta::assert_snapshot!("version_with_facts", pretty(&current));
}

#[test]
fn dist_tags_skip_channels_naming_missing_versions() {
    let (_, view) = view();
    insta::assert_snapshot!(pretty(&dist_tags(&view)));
}
