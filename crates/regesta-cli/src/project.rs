//! Reading a project to publish: `regesta.json` (JSON5), the native
//! manifest and install artifact of whichever ecosystem recognises the
//! directory (npm: `package.json` and `npm pack`, on the core's
//! [`ProjectKind`] seam), and the source archive.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use regesta_client::publish::{ArtifactUpload, PublishInput};
use regesta_core::project::{NativeManifest, ProjectKind};
use regesta_protocol::{ReleaseConfig, Version};
use serde_json::{Map, Value, json};

use crate::archive::source_archive;
use crate::printer::Printer;

/// An artifact file built elsewhere (`--artifact`).
#[derive(Debug, Clone)]
pub(crate) struct GenericArtifact {
    /// The artifact file.
    pub(crate) file: PathBuf,
    /// Its format, e.g. `wheel`; inferred from the file name when `None`.
    pub(crate) format: Option<String>,
    /// Its role, e.g. `install`.
    pub(crate) role: String,
    /// Its media type; inferred with the format when `None`.
    pub(crate) media_type: Option<String>,
}

/// Explicit overrides from the command line.
#[derive(Debug, Clone, Default)]
pub(crate) struct Overrides {
    pub(crate) id: Option<String>,
    pub(crate) version: Option<String>,
    /// The owner domain for ecosystems whose names carry none.
    pub(crate) domain: Option<String>,
    pub(crate) artifacts: Vec<GenericArtifact>,
}

fn read_json5(path: &Path) -> anyhow::Result<Option<Map<String, Value>>> {
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path)?;
    let value: Value =
        json5::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    match value {
        Value::Object(map) => Ok(Some(map)),
        _ => bail!("{} must hold an object", path.display()),
    }
}

/// The ecosystems whose native projects `regesta publish` reads, asked in
/// this order.
const KINDS: &[&dyn ProjectKind] = &[
    &regesta_projection_npm::NpmProject,
    &regesta_projection_pypi::PypiProject,
    &regesta_projection_cargo::CargoProject,
    &regesta_projection_go::GoProject,
];

/// The source paths archived when neither `regesta.json` nor an ecosystem
/// names any.
const DEFAULT_SOURCE: &[&str] = &["README.md", "LICENSE", "src"];

/// The first ecosystem that recognises `dir`, with its native manifest.
fn native_project(
    dir: &Path,
) -> anyhow::Result<Option<(&'static dyn ProjectKind, NativeManifest)>> {
    for kind in KINDS {
        if let Some(manifest) = kind.manifest(dir)? {
            return Ok(Some((*kind, manifest)));
        }
    }
    Ok(None)
}

/// Reads the project in `dir` into a publish input.
pub(crate) fn load(
    dir: &Path,
    overrides: &Overrides,
    printer: &Printer,
) -> anyhow::Result<(PublishInput, Vec<String>)> {
    let mut config = read_json5(&dir.join("regesta.json"))?.unwrap_or_default();
    let native = native_project(dir)?;
    let manifest = native.as_ref().map(|(_, manifest)| manifest);
    if let Some(id) = &overrides.id {
        config.insert("id".into(), json!(id));
    }
    // `domain` only helps infer the id; it is not part of the release.
    let domain = match config.remove("domain") {
        Some(Value::String(domain)) => Some(domain),
        Some(_) => bail!("regesta.json \"domain\" must be a string"),
        None => None,
    };
    let domain = overrides.domain.clone().or(domain);
    if let (false, Some((kind, manifest))) = (config.contains_key("id"), &native) {
        let name = manifest
            .name
            .as_deref()
            .with_context(|| format!("the {} project has no name", kind.ecosystem()))?;
        let id = kind.package_id_in(name, domain.as_deref())?;
        config.insert("id".into(), json!(id.as_str()));
    }
    if !config.contains_key("id") {
        bail!("no package id: add \"id\" to regesta.json or pass --id ecosystem:domain/name");
    }
    let version = overrides
        .version
        .clone()
        .or_else(|| {
            config
                .get("version")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .or_else(|| manifest.and_then(|m| m.version.clone()))
        .context(
            "no version: set it in the project's manifest or regesta.json, or pass --version",
        )?;
    let parsed_version = Version::parse(&version)?;
    config.insert("version".into(), json!(version));
    if !config.contains_key("provenance") {
        config.insert("provenance".into(), json!({"level": "source-attached"}));
    }
    if let (false, Some(description)) = (
        config.contains_key("description"),
        manifest.and_then(|m| m.description.as_deref()),
    ) {
        config.insert("description".into(), json!(description));
    }
    if !config.contains_key("source") {
        let defaults = native
            .as_ref()
            .map_or(DEFAULT_SOURCE, |(k, _)| k.default_source());
        let present: Vec<&str> = defaults
            .iter()
            .copied()
            .filter(|p| dir.join(p).exists())
            .collect();
        config.insert("source".into(), json!({ "include": present }));
    }
    let config = ReleaseConfig::from_json(Value::Object(config))?;
    let (source, entries) = source_archive(
        dir,
        &config.include,
        config.exclude.as_deref().unwrap_or_default(),
    )?;
    let artifacts = if !overrides.artifacts.is_empty() {
        overrides
            .artifacts
            .iter()
            .map(artifact_upload)
            .collect::<anyhow::Result<Vec<_>>>()?
    } else if let Some((kind, _)) = native {
        kind.pack(dir, &parsed_version, &|step| printer.step(step))?
            .into_iter()
            .map(|packed| ArtifactUpload {
                filename: packed.filename,
                format: packed.format,
                media_type: packed.media_type,
                role: "install".into(),
                bytes: packed.bytes,
            })
            .collect()
    } else {
        bail!(
            "nothing to install: no ecosystem recognises this project; pass --artifact FILE (with --format F when its name is not a wheel, sdist or npm tarball)"
        );
    };
    Ok((
        PublishInput {
            config,
            source,
            artifacts,
        },
        entries,
    ))
}

/// Reads an `--artifact` file; its format and media type are the flags'
/// or, without them, what an ecosystem recognises in its name.
fn artifact_upload(generic: &GenericArtifact) -> anyhow::Result<ArtifactUpload> {
    let filename = generic
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let known = KINDS.iter().find_map(|kind| kind.artifact_kind(&filename));
    let format = match (&generic.format, known) {
        (Some(format), _) => format.clone(),
        (None, Some(kind)) => kind.format.to_owned(),
        (None, None) => {
            bail!("cannot tell what {filename} is from its name: pass --format (and --media-type)")
        }
    };
    let media_type = match (&generic.media_type, known) {
        (Some(media_type), _) => media_type.clone(),
        (None, Some(kind)) if generic.format.as_deref().is_none_or(|f| f == kind.format) => {
            kind.media_type.to_owned()
        }
        (None, _) => "application/octet-stream".to_owned(),
    };
    let bytes = std::fs::read(&generic.file)
        .with_context(|| format!("cannot read {}", generic.file.display()))?;
    Ok(ArtifactUpload {
        filename,
        format,
        media_type,
        role: generic.role.clone(),
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_npm_project_is_recognised_by_its_package_json() {
        let dir = tempfile::tempdir().unwrap();
        assert!(native_project(dir.path()).unwrap().is_none());
        std::fs::write(
            dir.path().join("package.json"),
            br#"{"name":"@some.dev/sdk","version":"1.0.0"}"#,
        )
        .unwrap();
        let (kind, manifest) = native_project(dir.path()).unwrap().unwrap();
        assert_eq!(kind.ecosystem(), "npm");
        let id = kind.package_id(manifest.name.as_deref().unwrap()).unwrap();
        assert_eq!(id.as_str(), "npm:some.dev/sdk");
    }
}
