//! npm releases, re-derived: the server builds `ecosystemMetadata.npm` (the
//! resolver fields clients install from) and npm's `dist` facts from the
//! install tarball, outside the publisher's signature. A verifier re-runs the
//! same processor on the fetched tarball and requires the same result, so a
//! server cannot slip in a dependency or a wrong checksum unnoticed.

use base64::Engine as _;
use regesta_client::http::RegistryClient;
use regesta_projection_npm::artifact::{self as npm, NpmMetadata};
use regesta_protocol::{ArtifactDescriptor, PackageId, ReleaseManifest};
use serde_json::{Map, Value};

use crate::verify::Findings;

/// What the manifest's install artifact claims against what its bytes give.
fn metadata_problems(artifact: &ArtifactDescriptor, derived: &NpmMetadata) -> Vec<String> {
    let claimed = artifact
        .ecosystem_metadata
        .as_ref()
        .and_then(|m| m.get("npm"))
        .and_then(Value::as_object);
    if claimed == derived.fields.as_ref() {
        return Vec::new();
    }
    vec![format!(
        "ecosystemMetadata.npm is {}, but the tarball gives {}",
        claimed.map_or_else(
            || "absent".to_owned(),
            |m| Value::Object(m.clone()).to_string()
        ),
        derived.fields.as_ref().map_or_else(
            || "nothing".to_owned(),
            |m| Value::Object(m.clone()).to_string()
        )
    )]
}

/// The npm projection's `dist` against the tarball: sha512 facts must be
/// the derived ones; a legacy `sha256` integrity must be the artifact's
/// digest.
fn dist_problems(
    dist: &Map<String, Value>,
    artifact: &ArtifactDescriptor,
    derived: &NpmMetadata,
) -> Vec<String> {
    let mut problems = Vec::new();
    let integrity = dist.get("integrity").and_then(Value::as_str).unwrap_or("");
    match &derived.facts {
        Some(facts) if integrity.starts_with("sha512-") => {
            let expected = [
                ("integrity", Value::from(facts.integrity.clone())),
                ("shasum", Value::from(facts.shasum.clone())),
                ("fileCount", Value::from(facts.file_count)),
                ("unpackedSize", Value::from(facts.unpacked_size)),
            ];
            for (key, want) in expected {
                if dist.get(key) != Some(&want) {
                    problems.push(format!(
                        "npm dist.{key} is {}, the tarball gives {want}",
                        dist.get(key).unwrap_or(&Value::Null)
                    ));
                }
            }
        }
        _ => {
            let sha256 = format!(
                "sha256-{}",
                base64::engine::general_purpose::STANDARD.encode(artifact.digest.as_bytes())
            );
            if integrity != sha256 {
                problems.push(format!(
                    "npm dist.integrity is {integrity:?}, the tarball gives {sha256:?}"
                ));
            }
        }
    }
    problems
}

/// Re-runs the npm processor on `tarball` (the install artifact's verified
/// bytes) and checks the manifest and — when the registry serves its npm
/// projection under `/npm/` — the version document's `dist`.
pub(crate) async fn check_npm_release(
    client: &RegistryClient,
    path: &str,
    manifest: &ReleaseManifest,
    artifact: &ArtifactDescriptor,
    tarball: bytes::Bytes,
    f: &mut Findings,
) -> anyhow::Result<()> {
    let (id, version) = (manifest.id.clone(), manifest.version.clone());
    let derived =
        tokio::task::spawn_blocking(move || npm::process(&id, &version, &tarball)).await?;
    let derived = match derived {
        Ok(derived) => derived,
        Err(error) => {
            f.problem(format!(
                "{path}: the install tarball is not a valid npm package: {error}"
            ));
            return Ok(());
        }
    };
    let metadata = metadata_problems(artifact, &derived);
    f.check_all(metadata.into_iter().map(|p| format!("{path}: {p}")));
    let Some(document) = npm_version_document(client, &manifest.id, manifest).await? else {
        return Ok(());
    };
    let dist = document.get("dist").and_then(Value::as_object);
    let Some(dist) = dist else {
        f.problem(format!("{path}: the npm version document has no dist"));
        return Ok(());
    };
    let facts = dist_problems(dist, artifact, &derived);
    f.check_all(facts.into_iter().map(|p| format!("{path}: {p}")));
    Ok(())
}

/// `/npm/@scope/name/<version>`, or `None` when the registry serves no npm
/// projection there.
async fn npm_version_document(
    client: &RegistryClient,
    id: &PackageId,
    manifest: &ReleaseManifest,
) -> anyhow::Result<Option<Map<String, Value>>> {
    if id.local_name().contains('/') {
        return Ok(None);
    }
    let path = format!(
        "/npm/@{}/{}",
        id.name(),
        regesta_protocol::ids::encode_uri_component(manifest.version.as_str())
    );
    let reply = client.get(&path).await?;
    if reply.status != 200 {
        return Ok(None);
    }
    Ok(serde_json::from_slice::<Value>(&reply.body)
        .ok()
        .and_then(|v| v.as_object().cloned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use regesta_protocol::{Digest, PackageId, Version};

    fn tarball(package_json: &str) -> Vec<u8> {
        regesta_testkit::npm_tarball(&[("package/package.json", package_json.as_bytes())])
    }

    fn artifact(bytes: &[u8], npm: Option<Value>) -> ArtifactDescriptor {
        serde_json::from_value(serde_json::json!({
            "digest": Digest::of(bytes).to_string(),
            "mediaType": "application/gzip",
            "size": bytes.len(),
            "role": "install",
            "ecosystemMetadata": npm.map(|n| serde_json::json!({"npm": n})),
        }))
        .unwrap()
    }

    #[test]
    fn injected_dependencies_and_wrong_dist_facts_are_reported() {
        let id = PackageId::parse("npm:a.localhost/pkg").unwrap();
        let version = Version::parse("1.0.0").unwrap();
        let bytes =
            tarball(r#"{"name":"@a.localhost/pkg","version":"1.0.0","dependencies":{"x":"^1"}}"#);
        let derived = npm::process(&id, &version, &bytes).unwrap();
        let honest = artifact(
            &bytes,
            Some(serde_json::json!({"dependencies": {"x": "^1"}})),
        );
        assert!(metadata_problems(&honest, &derived).is_empty());
        let injected = artifact(
            &bytes,
            Some(serde_json::json!({"dependencies": {"x": "^1", "evil": "*"}})),
        );
        assert_eq!(metadata_problems(&injected, &derived).len(), 1);
        assert_eq!(
            metadata_problems(&artifact(&bytes, None), &derived).len(),
            1
        );

        let facts = derived.facts.clone().unwrap();
        let mut dist: Map<String, Value> = serde_json::from_slice(&facts.to_bytes()).unwrap();
        assert!(dist_problems(&dist, &honest, &derived).is_empty());
        dist.insert("unpackedSize".into(), Value::from(1));
        dist.insert("shasum".into(), Value::from("0".repeat(40)));
        assert_eq!(dist_problems(&dist, &honest, &derived).len(), 2);

        let mut legacy = Map::new();
        let sri = base64::engine::general_purpose::STANDARD.encode(Digest::of(&bytes).as_bytes());
        legacy.insert("integrity".into(), Value::from(format!("sha256-{sri}")));
        assert!(dist_problems(&legacy, &honest, &derived).is_empty());
        legacy.insert("integrity".into(), Value::from("sha256-AAAA"));
        assert_eq!(dist_problems(&legacy, &honest, &derived).len(), 1);
    }
}
