//! Rendered documents equal the reference's npm responses byte for byte
//! where the formats overlap.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers panic on failure by design"
)]

use regesta_core::{PackageView, ReleaseView};
use regesta_projection_npm::{abbreviated, dist_tags, packument, tarball_digest, version_document};
use regesta_protocol::{ChannelName, Digest, PackageId, ReleaseManifest, Timestamp, Version};
use regesta_testkit::{npm_overlap, read, vectors_dir};

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
            facts: None,
        }],
        channels: vec![(ChannelName::latest(), Version::parse("0.0.5").unwrap())],
    }
}

/// The vector tarball's npm facts, computed independently (`openssl dgst
/// -sha512`, `sha1sum`, `tar -tvzf`: four files of 359 + 463 + 230 + 103
/// bytes).
const SHA512: &str = "sha512-RBrR0iB15dxzKS2t8fLDKhF1wJgyBZMmga9EyPTzSuJA3Kfs0fjZFtvt3sgV8i0DD2qWxx9V1jlMc/sFSoj0ug==";
const SHA1: &str = "89ccd9334f22a9a34a3344879a885d1aa526e937";

/// Releases published with facts serve npm's sha512 `dist`; everything else
/// is the reference's bytes.
#[test]
fn facts_from_the_processor_fill_dist_and_the_rest_matches_the_reference() {
    let dir = vectors_dir();
    let id = PackageId::parse("npm:dev.localhost/hello-regesta").unwrap();
    let mut view = view(&dir);
    let tarball = read(&dir, "wire/object-tarball-5a344dd3.tgz");
    let version = Version::parse("0.0.5").unwrap();
    let processed = regesta_projection_npm::artifact::process(&id, &version, &tarball).unwrap();
    let facts = processed.facts.unwrap().to_bytes();
    view.releases[0].facts = Some(serde_json::from_slice(&facts).unwrap());
    let base = "http://npm.localhost:4321";
    let expected_dist = serde_json::json!({
        "fileCount": 4, "integrity": SHA512, "shasum": SHA1, "unpackedSize": 1155,
    });
    for (ours, reference) in [
        (
            packument(&id, &view, base).unwrap(),
            "wire/npm-packument.json",
        ),
        (
            version_document(&id, &view.releases[0], base).unwrap(),
            "wire/npm-version-0.0.5.json",
        ),
    ] {
        let ours = serde_json::to_string(&ours).unwrap();
        let (ours, dists) = npm_overlap(&ours);
        let reference = String::from_utf8(read(&dir, reference)).unwrap();
        let (reference, _) = npm_overlap(&reference);
        assert_eq!(ours, reference);
        assert_eq!(dists.len(), 1);
        assert_eq!(dists[0].1, expected_dist);
    }
    let short = abbreviated(&id, &view, base).unwrap();
    assert_eq!(short["versions"]["0.0.5"]["dist"]["integrity"], SHA512);
    assert_eq!(short["versions"]["0.0.5"]["dist"]["shasum"], SHA1);
}

/// Releases stored without facts are served exactly as the reference.
#[test]
fn packument_version_and_dist_tags_match_the_reference() {
    let dir = vectors_dir();
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
