//! PyPI on the ecosystem seam: the processor core runs when a `pypi:`
//! release is published. A release is its distributions (wheels and an
//! sdist), each named by its file name; every one must be this project's
//! at this version, and each one's core metadata becomes a derived object
//! (served for PEP 658) and a line of the release's facts.

use std::collections::BTreeSet;

use bytes::Bytes;
use regesta_core::{ArtifactBytes, ArtifactProcessor, ArtifactRefusal, DerivedObject, Processed};
use regesta_protocol::{Digest, ReleaseConfig, Text, Version};
use serde_json::{Map, Value, json};

use crate::filename::{DistFilename, DistKind};
use crate::metadata::CoreMetadata;
use crate::names::ProjectName;
use crate::versions::PyVersion;
use crate::{sdist, wheel};

/// The ecosystem key: the first part of `pypi:<domain>/<name>`.
pub const ECOSYSTEM: &str = "pypi";

/// Most distributions in one release (PyPI projects with many platform
/// wheels stay well below it).
pub const MAX_DISTRIBUTIONS: usize = 256;

/// Media type of the derived core metadata objects.
pub const CORE_METADATA_MEDIA_TYPE: &str = "text/plain; charset=utf-8";

/// One distribution, read and checked.
struct Distribution {
    filename: String,
    kind: &'static str,
    sha256: String,
    size: usize,
    metadata_bytes: Vec<u8>,
    metadata: CoreMetadata,
}

fn refuse(message: impl Into<String>) -> ArtifactRefusal {
    ArtifactRefusal::new(message)
}

/// Reads one artifact as a distribution of `name` at `version`.
fn distribution(
    artifact: &ArtifactBytes<'_>,
    name: &ProjectName,
    version: &PyVersion,
) -> Result<Distribution, ArtifactRefusal> {
    let filename = artifact
        .filename
        .ok_or_else(|| refuse("a pypi artifact needs its distribution file name"))?;
    let file = DistFilename::parse(filename)
        .map_err(|e| ArtifactRefusal::caused_by(format!("{filename}: {e}"), e))?;
    if !file.belongs_to(name, version) {
        return Err(refuse(format!(
            "{filename} is not a distribution of {name} {}",
            version.normalized()
        )));
    }
    let (kind, metadata_bytes, metadata) = match file.kind {
        DistKind::Wheel { .. } => {
            let read = wheel::read(artifact.bytes, &file)
                .map_err(|e| ArtifactRefusal::caused_by(format!("{filename}: {e}"), e))?;
            ("wheel", read.metadata_bytes, read.metadata)
        }
        DistKind::Sdist => {
            let read = sdist::read(artifact.bytes, &file)
                .map_err(|e| ArtifactRefusal::caused_by(format!("{filename}: {e}"), e))?;
            ("sdist", read.metadata_bytes, read.metadata)
        }
    };
    Ok(Distribution {
        filename: filename.to_owned(),
        kind,
        sha256: Digest::of(artifact.bytes).hex(),
        size: artifact.bytes.len(),
        metadata_bytes,
        metadata,
    })
}

/// One distribution's line of the facts.
fn fact(d: &Distribution) -> Value {
    let m = &d.metadata;
    let mut fact = Map::new();
    fact.insert(
        "coreMetadataSha256".into(),
        json!(Digest::of(&d.metadata_bytes).hex()),
    );
    fact.insert("filename".into(), json!(d.filename));
    fact.insert("kind".into(), json!(d.kind));
    if let Some(license) = &m.license_expression {
        fact.insert("licenseExpression".into(), json!(license));
    }
    let urls: Vec<Value> = m.project_urls.iter().map(|(l, u)| json!([l, u])).collect();
    fact.insert("projectUrls".into(), Value::Array(urls));
    fact.insert("providesExtra".into(), json!(m.provides_extra));
    fact.insert("requiresDist".into(), json!(m.requires_dist));
    if let Some(requires) = &m.requires_python {
        fact.insert("requiresPython".into(), json!(requires.normalized()));
    }
    fact.insert("sha256".into(), json!(d.sha256));
    fact.insert("size".into(), json!(d.size));
    if let Some(summary) = &m.summary {
        fact.insert("summary".into(), json!(summary));
    }
    Value::Object(fact)
}

/// The PyPI processor.
#[derive(Debug, Clone, Copy, Default)]
pub struct PypiProcessor;

impl ArtifactProcessor for PypiProcessor {
    fn ecosystem(&self) -> &'static str {
        ECOSYSTEM
    }

    fn version_key(&self, version: &Version) -> Option<String> {
        PyVersion::parse(version.as_str())
            .ok()
            .map(|v| v.canonical())
    }

    fn process(
        &self,
        config: &ReleaseConfig,
        version: &Version,
        artifacts: &[ArtifactBytes<'_>],
    ) -> Result<Processed, ArtifactRefusal> {
        let name = ProjectName::parse_id_name(config.id.local_name())
            .map_err(|e| ArtifactRefusal::caused_by(e.to_string(), e))?;
        let py_version = PyVersion::parse(version.as_str())
            .map_err(|e| ArtifactRefusal::caused_by(format!("pypi version: {e}"), e))?;
        if py_version.normalized() != version.as_str() {
            return Err(refuse(format!(
                "a pypi version is stored in its normalized form: {}",
                py_version.normalized()
            )));
        }
        if artifacts.is_empty() || artifacts.len() > MAX_DISTRIBUTIONS {
            return Err(refuse(format!(
                "a pypi release has 1 to {MAX_DISTRIBUTIONS} distributions (wheels and sdists)"
            )));
        }
        let mut seen = BTreeSet::new();
        let mut distributions = Vec::with_capacity(artifacts.len());
        for artifact in artifacts {
            let d = distribution(artifact, &name, &py_version)?;
            if !seen.insert(d.filename.clone()) {
                return Err(refuse(format!("{} is given twice", d.filename)));
            }
            distributions.push(d);
        }
        let media_type = Text::parse(CORE_METADATA_MEDIA_TYPE)
            .map_err(|e| ArtifactRefusal::caused_by("core metadata media type", e))?;
        let derived = distributions
            .iter()
            .map(|d| DerivedObject {
                media_type: media_type.clone(),
                bytes: Bytes::from(d.metadata_bytes.clone()),
            })
            .collect();
        let facts = json!({ "files": distributions.iter().map(fact).collect::<Vec<_>>() });
        let facts = regesta_protocol::json::to_canonical_vec(&facts)
            .map_err(|e| ArtifactRefusal::caused_by("pypi facts are not JSON", e))?;
        Ok(Processed {
            config: None,
            metadata: None,
            facts: Some(Bytes::from(facts)),
            derived,
        })
    }
}
