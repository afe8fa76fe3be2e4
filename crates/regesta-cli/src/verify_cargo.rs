//! Cargo releases, re-derived: the server opens each `.crate` at publish
//! time and keeps its index entry (dependencies, features, checksum)
//! outside the publisher's signature. A verifier re-runs the same
//! processor on the fetched `.crate` and requires the served index line to
//! be exactly the one the crate gives, so a server cannot slip cargo a
//! different dependency list or checksum.

use bytes::Bytes;
use regesta_client::http::RegistryClient;
use regesta_projection_cargo::documents::pubtime;
use regesta_projection_cargo::entry::index_line;
use regesta_projection_cargo::names::CrateName;
use regesta_projection_cargo::processor::CargoProcessor;
use regesta_protocol::{ArtifactDescriptor, ReleaseManifest, Timestamp};
use serde_json::{Map, Value};

use crate::verify::{Findings, Rederived, rederive};

/// The index entry the processor derived from the release's `.crate`.
fn entry(derived: &Rederived) -> Result<Map<String, Value>, String> {
    match derived.facts.get("entry") {
        Some(Value::Object(entry)) => Ok(entry.clone()),
        _ => Err("the processor derived no index entry".to_owned()),
    }
}

/// The line of `version` in a served index file, against the one derived.
pub(crate) fn line_problems(index: &[u8], version: &str, derived: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(index);
    let mut found = text.lines().filter(|line| {
        serde_json::from_str::<Value>(line)
            .is_ok_and(|parsed| parsed.get("vers").and_then(Value::as_str) == Some(version))
    });
    match (found.next(), found.next()) {
        (None, _) => vec![format!("the index has no line for {version}")],
        (Some(_), Some(_)) => vec![format!("the index has two lines for {version}")],
        (Some(line), None) if line.as_bytes() != derived => vec![format!(
            "the index line of {version} differs from the crate's: served {line}, derived {}",
            String::from_utf8_lossy(derived)
        )],
        (Some(_), None) => Vec::new(),
    }
}

/// Re-runs the Cargo processor on the release's `.crate` (its verified
/// bytes); when the registry serves the Cargo projection, the index line
/// of this version must be the derived entry published at `published`.
pub(crate) async fn check_cargo_release(
    client: &RegistryClient,
    path: &str,
    manifest: &ReleaseManifest,
    published: Timestamp,
    files: Vec<(ArtifactDescriptor, Bytes)>,
    f: &mut Findings,
) -> anyhow::Result<()> {
    let not = "the file is not a valid crate";
    let release = (path, manifest, files);
    let then = |derived: Rederived| entry(&derived);
    let Some(entry) = rederive(&CargoProcessor, release, not, then, f).await? else {
        return Ok(());
    };
    let Ok(name) = CrateName::parse(manifest.id.local_name()) else {
        f.problem(format!("{path}: {} is not a crate name", manifest.id));
        return Ok(());
    };
    let index = format!(
        "/cargo/{}/index/{}",
        manifest.id.owner_domain(),
        name.index_path()
    );
    let reply = client.get(&index).await?;
    if reply.status != 200 {
        return Ok(());
    }
    let line = index_line(&entry, &pubtime(published));
    f.check_all(
        line_problems(&reply.body, manifest.version.as_str(), &line)
            .into_iter()
            .map(|p| format!("{index}: {p}")),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::line_problems;

    #[test]
    fn index_lines_that_differ_from_the_crate_are_reported() {
        let derived = br#"{"name":"a","vers":"0.2.0","cksum":"bb"}"#;
        let index = b"{\"name\":\"a\",\"vers\":\"0.1.0\",\"cksum\":\"aa\"}\n{\"name\":\"a\",\"vers\":\"0.2.0\",\"cksum\":\"bb\"}\n";
        assert!(line_problems(index, "0.2.0", derived).is_empty());
        let lying = b"{\"name\":\"a\",\"vers\":\"0.2.0\",\"cksum\":\"cc\"}\n";
        assert!(line_problems(lying, "0.2.0", derived)[0].contains("differs"));
        assert!(line_problems(index, "0.3.0", derived)[0].contains("no line"));
        let twice = [&index[..], &index[..]].concat();
        assert!(line_problems(&twice, "0.2.0", derived)[0].contains("two lines"));
    }
}
