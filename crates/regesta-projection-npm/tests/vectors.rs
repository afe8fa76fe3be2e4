//! Rendered documents equal the reference's npm responses byte for byte
//! where the formats overlap.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers panic on failure by design"
)]

use regesta_core::{PackageView, ReleaseView};
use regesta_projection_npm::{abbreviated, dist_tags, packument, tarball_digest, version_document};
use regesta_protocol::{ChannelName, Digest, PackageId, ReleaseManifest, Timestamp, Version};
use regesta_testkit::{read, vectors_dir};

fn view(dir: &std::path::Path) -> PackageView {
    let manifest: ReleaseManifest =
        serde_json::from_slice(&read(dir, "wire/object-manifest-28b3fe33.json")).unwrap();
    let at = Timestamp::parse("2026-11-25T19:13:01.867Z").unwrap();
    PackageView {
        head_event: Digest::of(b"head"),
        head_time: at,
        releases: vec![ReleaseView {
            created_at: at,
            event_id: Digest::of(b"event"),
            manifest,
        }],
        channels: vec![(ChannelName::latest(), Version::parse("0.0.5").unwrap())],
    }
}

#[test]
fn packument_version_and_dist_tags_match_the_reference() {
    let Some(dir) = vectors_dir() else { return };
    let id = PackageId::parse("npm:dev.localhost/hello-regesta").unwrap();
    let view = view(&dir);
    let base = "http://npm.localhost:4321";
    let text = |v: serde_json::Value| serde_json::to_string(&v).unwrap();
    assert_eq!(
        text(packument(&id, &view, base).unwrap()),
        String::from_utf8(read(&dir, "wire/npm-packument.json")).unwrap()
    );
    assert_eq!(
        text(version_document(&id, &view.releases[0], base).unwrap()),
        String::from_utf8(read(&dir, "wire/npm-version-0.0.5.json")).unwrap()
    );
    assert_eq!(
        text(dist_tags(&view)),
        String::from_utf8(read(&dir, "wire/npm-dist-tags.json")).unwrap()
    );
    let short = abbreviated(&id, &view, base).unwrap();
    assert_eq!(
        short["versions"]["0.0.5"]["dist"]["integrity"],
        "sha256-WjRN0x0mwF4jkQGodzAbXYpNUCpZNUsbaBns2ruCnjE="
    );
    assert_eq!(short["time"]["0.0.5"], "2026-11-25T19:13:01.867Z");
    assert!(short["versions"]["0.0.5"].get("devDependencies").is_none());
    assert_eq!(
        tarball_digest(&id, &view, "hello-regesta-0.0.5.tgz")
            .unwrap()
            .to_string(),
        "sha256:5a344dd31d26c05e239101a877301b5d8a4d502a59354b1b6819ecdabb829e31"
    );
    assert!(tarball_digest(&id, &view, "hello-regesta-9.9.9.tgz").is_none());
}
