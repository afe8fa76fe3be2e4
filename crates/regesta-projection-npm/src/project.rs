//! npm on the publish side of the seam: `@owner-domain/name` ⇄
//! `npm:owner-domain/name`, `package.json` as the native manifest, and
//! `npm pack` (or `pnpm pack` in a pnpm workspace) as the packer.

use std::path::Path;
use std::process::Command;

use regesta_core::project::{
    ArtifactKind, ManifestFile, NameMapping, NameRefusal, NativeManifest, PackedArtifact,
    ProjectError, ProjectKind,
};
use regesta_protocol::PackageId;
use serde_json::Value;

use crate::ECOSYSTEM;

/// What `npm pack` makes.
const TARBALL: ArtifactKind = ArtifactKind {
    format: "npm-tarball",
    media_type: "application/gzip",
};

/// The npm ecosystem's names and project reader.
#[derive(Debug, Clone, Copy, Default)]
pub struct NpmProject;

impl NameMapping for NpmProject {
    fn native_name(&self, id: &PackageId) -> Result<String, NameRefusal> {
        crate::npm_name(id).ok_or_else(|| {
            NameRefusal(format!(
                "{id} has no npm name: npm names are @<owner-domain>/<name>"
            ))
        })
    }

    fn package_id(&self, native: &str) -> Result<PackageId, NameRefusal> {
        if !native.starts_with('@') {
            return Err(NameRefusal(format!(
                "npm name {native:?} is not scoped by a domain: name it @<your-domain>/<name> or set \"id\" in regesta.json"
            )));
        }
        crate::package_id(native).ok_or_else(|| {
            NameRefusal(format!(
                "npm name {native:?} does not map to a Regesta id: its scope must be a domain"
            ))
        })
    }
}

fn text(manifest: &serde_json::Map<String, Value>, key: &str) -> Option<String> {
    manifest.get(key).and_then(Value::as_str).map(str::to_owned)
}

impl ProjectKind for NpmProject {
    fn ecosystem(&self) -> &'static str {
        ECOSYSTEM
    }

    fn manifest(&self, dir: &Path) -> Result<Option<NativeManifest>, ProjectError> {
        let Some(file) = ManifestFile::read(dir, "package.json")? else {
            return Ok(None);
        };
        let value: Value =
            serde_json::from_str(&file.text).map_err(|e| file.problem(e.to_string()))?;
        let Value::Object(map) = value else {
            return Err(file.problem("must hold an object"));
        };
        Ok(Some(NativeManifest {
            name: text(&map, "name"),
            version: text(&map, "version"),
            description: text(&map, "description"),
        }))
    }

    fn default_source(&self) -> &'static [&'static str] {
        &["package.json", "README.md", "LICENSE", "src"]
    }

    fn artifact_kind(&self, filename: &str) -> Option<ArtifactKind> {
        Path::new(filename)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("tgz"))
            .then_some(TARBALL)
    }

    fn pack(
        &self,
        dir: &Path,
        _version: &regesta_protocol::Version,
        step: &dyn Fn(&str),
    ) -> Result<Vec<PackedArtifact>, ProjectError> {
        let out = tempfile::tempdir()?;
        let pnpm = dir.join("pnpm-lock.yaml").is_file();
        let (program, args): (&str, &[&str]) = if pnpm {
            ("pnpm", &["pack", "--pack-destination"])
        } else {
            (
                "npm",
                &["pack", "--json", "--ignore-scripts", "--pack-destination"],
            )
        };
        let tool = format!("{program} pack");
        step(&format!("packing with {tool}"));
        let failed = |detail: String| ProjectError::Tool {
            tool: tool.clone(),
            detail,
        };
        let output = Command::new(program)
            .args(args)
            .arg(out.path())
            .current_dir(dir)
            .output()
            .map_err(|e| failed(format!("cannot run {program} (is it installed?): {e}")))?;
        if !output.status.success() {
            return Err(failed(
                String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            ));
        }
        let file = std::fs::read_dir(out.path())?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "tgz"))
            .ok_or_else(|| failed("it produced no .tgz".into()))?;
        let filename = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(vec![PackedArtifact {
            filename,
            format: TARBALL.format.into(),
            media_type: TARBALL.media_type.into(),
            bytes: std::fs::read(&file)?,
        }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_both_ways_only_when_domain_scoped() {
        let id = NpmProject.package_id("@some.dev/sdk").unwrap();
        assert_eq!(id.as_str(), "npm:some.dev/sdk");
        assert_eq!(NpmProject.native_name(&id).unwrap(), "@some.dev/sdk");
        assert!(NpmProject.package_id("left-pad").is_err());
        assert!(
            NpmProject.package_id("@scope/pkg").is_err(),
            "a scope without a dot is not a domain"
        );
        let other = PackageId::parse("pypi:some.dev/sdk").unwrap();
        assert!(NpmProject.native_name(&other).is_err());
    }

    #[test]
    fn the_manifest_is_package_json() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(NpmProject.manifest(dir.path()).unwrap(), None);
        std::fs::write(
            dir.path().join("package.json"),
            br#"{"name":"@some.dev/sdk","version":"1.0.0","description":"SDK"}"#,
        )
        .unwrap();
        let manifest = NpmProject.manifest(dir.path()).unwrap().unwrap();
        assert_eq!(manifest.name.as_deref(), Some("@some.dev/sdk"));
        assert_eq!(manifest.version.as_deref(), Some("1.0.0"));
        assert_eq!(manifest.description.as_deref(), Some("SDK"));
        std::fs::write(dir.path().join("package.json"), b"[1]").unwrap();
        assert!(matches!(
            NpmProject.manifest(dir.path()),
            Err(ProjectError::Manifest { .. })
        ));
    }
}
