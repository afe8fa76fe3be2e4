//! PyPI releases, re-derived: the server opens each distribution at publish
//! time and keeps, outside the publisher's signature, its core metadata as
//! an object (PEP 658) and the facts the Simple API pages list (hash, size,
//! `Requires-Python`, core metadata hash). A verifier re-runs the same
//! processor on the fetched files and requires the same objects and — when
//! the registry serves the PyPI projection — the same page entries, so a
//! server cannot slip a different dependency list or a wrong hash to pip.

use bytes::Bytes;
use regesta_client::http::RegistryClient;
use regesta_projection_pypi::processor::PypiProcessor;
use regesta_protocol::{ArtifactDescriptor, ReleaseManifest};
use serde_json::Value;

use crate::verify::{Findings, Rederived, rederive};

/// The PEP 691 JSON media type the project page is asked for in.
const SIMPLE_JSON: &str = "application/vnd.pypi.simple.v1+json";

/// The project page's entries for the files in `facts`, against them.
pub(crate) fn page_problems(page: &Value, facts: &Value) -> Vec<String> {
    let listed = page["files"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut problems = Vec::new();
    for fact in facts["files"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let filename = fact["filename"].as_str().unwrap_or_default();
        let Some(entry) = listed.iter().find(|e| e["filename"] == filename) else {
            problems.push(format!("the PyPI page does not list {filename}"));
            continue;
        };
        let expected = [
            ("hashes.sha256", &entry["hashes"]["sha256"], &fact["sha256"]),
            ("size", &entry["size"], &fact["size"]),
            (
                "requires-python",
                &entry["requires-python"],
                &fact["requiresPython"],
            ),
            (
                "core-metadata.sha256",
                &entry["core-metadata"]["sha256"],
                &fact["coreMetadataSha256"],
            ),
        ];
        for (key, served, derived) in expected {
            if served != derived {
                problems.push(format!(
                    "the PyPI page gives {filename} {key} {served}, the file gives {derived}"
                ));
            }
        }
    }
    problems
}

/// Re-runs the PyPI processor on the release's files (their verified
/// bytes): each derived core metadata object must be served as derived,
/// and the project page (when served) must list what the files give.
pub(crate) async fn check_pypi_release(
    client: &RegistryClient,
    path: &str,
    manifest: &ReleaseManifest,
    files: Vec<(ArtifactDescriptor, Bytes)>,
    f: &mut Findings,
) -> anyhow::Result<()> {
    let then = |derived: Rederived| Ok((derived.facts, derived.derived));
    let not = "the files are not valid distributions";
    let release = (path, manifest, files);
    let Some((facts, metadata)) = rederive(&PypiProcessor, release, not, then, f).await? else {
        return Ok(());
    };
    for bytes in &metadata {
        let what = ("core metadata", "file");
        crate::verify::check_derived_object(client, path, what, bytes, f).await;
    }
    let page = format!(
        "/pypi/{}/simple/{}/",
        manifest.id.owner_domain(),
        manifest.id.local_name()
    );
    let reply = client.get_accepting(&page, SIMPLE_JSON).await?;
    if reply.status != 200 {
        return Ok(());
    }
    let Ok(served) = serde_json::from_slice::<Value>(&reply.body) else {
        f.problem(format!("{page}: not JSON"));
        return Ok(());
    };
    f.check_all(
        page_problems(&served, &facts)
            .into_iter()
            .map(|p| format!("{page}: {p}")),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::page_problems;
    use serde_json::json;

    #[test]
    fn page_entries_that_differ_from_the_files_are_reported() {
        let facts = json!({"files": [
            {"filename": "a-1.0.tar.gz", "sha256": "aa", "size": 3, "coreMetadataSha256": "mm"},
            {"filename": "a-1.0-py3-none-any.whl", "sha256": "bb", "size": 4,
             "requiresPython": ">=3.8", "coreMetadataSha256": "nn"},
        ]});
        let honest = json!({"files": [
            {"filename": "a-1.0.tar.gz", "hashes": {"sha256": "aa"}, "size": 3,
             "core-metadata": {"sha256": "mm"}},
            {"filename": "a-1.0-py3-none-any.whl", "hashes": {"sha256": "bb"}, "size": 4,
             "requires-python": ">=3.8", "core-metadata": {"sha256": "nn"}},
            {"filename": "a-0.9.tar.gz", "hashes": {"sha256": "cc"}, "size": 1},
        ]});
        assert!(page_problems(&honest, &facts).is_empty());
        let mut lying = honest.clone();
        lying["files"][1]["requires-python"] = json!(">=3.0");
        lying["files"][1]["core-metadata"] = json!(false);
        lying["files"][0] = json!({"filename": "other"});
        let problems = page_problems(&lying, &facts);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].contains("does not list a-1.0.tar.gz"));
    }
}
