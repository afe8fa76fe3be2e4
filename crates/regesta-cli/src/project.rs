//! Reading a project to publish: `regesta.json` (JSON5), `package.json`
//! (npm id and version), the install tarball from the package manager's
//! `pack`, and the source archive.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};
use regesta_client::publish::{ArtifactUpload, PublishInput};
use regesta_protocol::{ReleaseConfig, Version};
use serde_json::{Map, Value, json};

use crate::archive::source_archive;
use crate::printer::Printer;

/// What to publish when the project is not an npm package.
#[derive(Debug, Clone)]
pub(crate) struct GenericArtifact {
    /// The artifact file.
    pub(crate) file: PathBuf,
    /// Its format, e.g. `wheel`.
    pub(crate) format: String,
    /// Its role, e.g. `install`.
    pub(crate) role: String,
    /// Its media type.
    pub(crate) media_type: String,
}

/// Explicit overrides from the command line.
#[derive(Debug, Clone, Default)]
pub(crate) struct Overrides {
    pub(crate) id: Option<String>,
    pub(crate) version: Option<String>,
    pub(crate) artifact: Option<GenericArtifact>,
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

/// The npm id for a `package.json` name `@owner-domain/name`, by the npm
/// ecosystem's own name mapping.
fn npm_id(name: &str) -> anyhow::Result<String> {
    if !name.starts_with('@') {
        bail!(
            "package.json name {name:?} is not scoped by a domain: name it @<your-domain>/<name> or set \"id\" in regesta.json"
        );
    }
    let id = regesta_projection_npm::package_id(name)
        .with_context(|| format!("package.json name {name:?} does not map to a Regesta id"))?;
    Ok(id.as_str().to_owned())
}

/// Runs `npm pack` (or `pnpm pack` when the project uses pnpm) and returns
/// the tarball's file name and bytes.
fn pack(dir: &Path, printer: &Printer) -> anyhow::Result<(String, Vec<u8>)> {
    let out = tempfile::tempdir()?;
    let pnpm = dir.join("pnpm-lock.yaml").is_file();
    let (program, args): (&str, Vec<&str>) = if pnpm {
        ("pnpm", vec!["pack", "--pack-destination"])
    } else {
        (
            "npm",
            vec!["pack", "--json", "--ignore-scripts", "--pack-destination"],
        )
    };
    printer.step(&format!("packing with {program} pack"));
    let output = Command::new(program)
        .args(&args)
        .arg(out.path())
        .current_dir(dir)
        .output()
        .with_context(|| format!("cannot run {program} (is it installed?)"))?;
    if !output.status.success() {
        bail!(
            "{program} pack failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let file = std::fs::read_dir(out.path())?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "tgz"))
        .with_context(|| format!("{program} pack produced no .tgz"))?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok((name, std::fs::read(&file)?))
}

/// Reads the project in `dir` into a publish input.
pub(crate) fn load(
    dir: &Path,
    overrides: &Overrides,
    printer: &Printer,
) -> anyhow::Result<(PublishInput, Vec<String>)> {
    let mut config = read_json5(&dir.join("regesta.json"))?.unwrap_or_default();
    let package_json = read_json5(&dir.join("package.json"))?;
    let is_npm = overrides.artifact.is_none() && package_json.is_some();
    if let Some(id) = &overrides.id {
        config.insert("id".into(), json!(id));
    }
    if let (false, Some(pkg)) = (config.contains_key("id"), &package_json) {
        let name = pkg
            .get("name")
            .and_then(Value::as_str)
            .context("package.json has no name")?;
        config.insert("id".into(), json!(npm_id(name)?));
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
        .or_else(|| {
            package_json
                .as_ref()
                .and_then(|p| p.get("version"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .context("no version: set it in package.json or regesta.json, or pass --version")?;
    Version::parse(&version)?;
    config.insert("version".into(), json!(version));
    if !config.contains_key("provenance") {
        config.insert("provenance".into(), json!({"level": "source-attached"}));
    }
    if let (false, Some(description)) = (
        config.contains_key("description"),
        package_json
            .as_ref()
            .and_then(|p| p.get("description"))
            .and_then(Value::as_str),
    ) {
        config.insert("description".into(), json!(description));
    }
    if !config.contains_key("source") {
        let defaults = ["package.json", "README.md", "LICENSE", "src"];
        let present: Vec<&str> = defaults
            .into_iter()
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
    let artifacts = if let Some(generic) = &overrides.artifact {
        let bytes = std::fs::read(&generic.file)
            .with_context(|| format!("cannot read {}", generic.file.display()))?;
        vec![ArtifactUpload {
            filename: generic
                .file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            format: generic.format.clone(),
            media_type: generic.media_type.clone(),
            role: generic.role.clone(),
            bytes,
        }]
    } else if is_npm {
        let (filename, bytes) = pack(dir, printer)?;
        vec![ArtifactUpload {
            filename,
            format: "npm-tarball".into(),
            media_type: "application/gzip".into(),
            role: "install".into(),
            bytes,
        }]
    } else {
        bail!(
            "nothing to install: this is not an npm project; pass --artifact FILE --format F --role install"
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npm_names_map_to_ids_only_when_domain_scoped() {
        assert_eq!(npm_id("@some.dev/sdk").unwrap(), "npm:some.dev/sdk");
        assert!(npm_id("left-pad").is_err());
        assert!(
            npm_id("@scope/pkg").is_err(),
            "a scope without a dot is not a domain"
        );
    }
}
