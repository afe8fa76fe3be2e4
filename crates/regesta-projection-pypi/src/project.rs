//! PyPI on the publish side of the seam: `pyproject.toml`'s `[project]`
//! table as the native manifest, `uv build` as the packer (an sdist and a
//! wheel), and wheel and sdist file names recognised for `--artifact`.
//! A Python name carries no owner domain, so the publisher names it
//! (`--domain` or `regesta.json` `domain`).

use std::path::Path;
use std::process::Command;

use regesta_core::project::{
    ArtifactKind, ManifestFile, NameMapping, NameRefusal, NativeManifest, PackedArtifact,
    ProjectError, ProjectKind,
};
use regesta_protocol::PackageId;
use serde::Deserialize;

use crate::ECOSYSTEM;
use crate::filename::{DistFilename, DistKind};
use crate::names::ProjectName;

/// A wheel (PEP 427).
pub const WHEEL: ArtifactKind = ArtifactKind {
    format: "wheel",
    media_type: "application/zip",
};

/// A source distribution (PEP 625).
pub const SDIST: ArtifactKind = ArtifactKind {
    format: "sdist",
    media_type: "application/gzip",
};

/// The part of `pyproject.toml` a publish reads (PEP 621).
#[derive(Debug, Deserialize)]
struct PyProject {
    project: Option<ProjectTable>,
}

#[derive(Debug, Deserialize)]
struct ProjectTable {
    name: Option<String>,
    version: Option<String>,
    description: Option<String>,
}

/// The Python ecosystem's names and project reader.
#[derive(Debug, Clone, Copy, Default)]
pub struct PypiProject;

impl NameMapping for PypiProject {
    fn native_name(&self, id: &PackageId) -> Result<String, NameRefusal> {
        if id.ecosystem() != ECOSYSTEM {
            return Err(NameRefusal(format!("{id} is not a pypi: package id")));
        }
        Ok(id.local_name().to_owned())
    }

    fn package_id(&self, native: &str) -> Result<PackageId, NameRefusal> {
        self.package_id_in(native, None)
    }

    fn package_id_in(&self, native: &str, domain: Option<&str>) -> Result<PackageId, NameRefusal> {
        let name = ProjectName::parse(native)
            .map_err(|e| NameRefusal(format!("Python project name {native:?}: {e}")))?;
        let Some(domain) = domain else {
            return Err(NameRefusal(format!(
                "the Python project {name} names no owner domain: pass --domain <your-domain> or set \"domain\" (or \"id\") in regesta.json"
            )));
        };
        PackageId::parse(&format!("{ECOSYSTEM}:{domain}/{name}"))
            .map_err(|e| NameRefusal(format!("pypi:{domain}/{name}: {e}")))
    }
}

impl ProjectKind for PypiProject {
    fn ecosystem(&self) -> &'static str {
        ECOSYSTEM
    }

    fn manifest(&self, dir: &Path) -> Result<Option<NativeManifest>, ProjectError> {
        let Some(file) = ManifestFile::read(dir, "pyproject.toml")? else {
            return Ok(None);
        };
        let parsed: PyProject =
            toml::from_str(&file.text).map_err(|e| file.problem(e.to_string()))?;
        let project = parsed
            .project
            .ok_or_else(|| file.problem("no [project] table (PEP 621)"))?;
        Ok(Some(NativeManifest {
            name: project.name,
            version: project.version,
            description: project.description,
        }))
    }

    fn default_source(&self) -> &'static [&'static str] {
        &["pyproject.toml", "README.md", "LICENSE", "src"]
    }

    fn artifact_kind(&self, filename: &str) -> Option<ArtifactKind> {
        match DistFilename::parse(filename).ok()?.kind {
            DistKind::Wheel { .. } => Some(WHEEL),
            DistKind::Sdist => Some(SDIST),
        }
    }

    fn pack(
        &self,
        dir: &Path,
        _version: &regesta_protocol::Version,
        step: &dyn Fn(&str),
    ) -> Result<Vec<PackedArtifact>, ProjectError> {
        let out = tempfile::tempdir()?;
        step("building the sdist and wheel with uv build");
        let failed = |detail: String| ProjectError::Tool {
            tool: "uv build".into(),
            detail,
        };
        let output = Command::new("uv")
            .args(["build", "--no-progress", "--out-dir"])
            .arg(out.path())
            .arg(dir)
            .output()
            .map_err(|e| failed(format!("cannot run uv (is it installed?): {e}")))?;
        if !output.status.success() {
            return Err(failed(
                String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            ));
        }
        let mut packed = Vec::new();
        for entry in std::fs::read_dir(out.path())? {
            let path = entry?.path();
            let filename = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if let Some(kind) = self.artifact_kind(&filename) {
                packed.push(PackedArtifact {
                    filename,
                    format: kind.format.into(),
                    media_type: kind.media_type.into(),
                    bytes: std::fs::read(&path)?,
                });
            }
        }
        if packed.is_empty() {
            return Err(failed("it produced no wheel or sdist".into()));
        }
        // The order uploaded is the order listed: sdist, then wheels.
        packed.sort_by(|a, b| a.filename.cmp(&b.filename));
        packed.sort_by_key(|artifact| artifact.format != SDIST.format);
        Ok(packed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_take_the_publishers_domain_and_are_normalized() {
        let id = PypiProject
            .package_id_in("My_Lib", Some("some.dev"))
            .unwrap();
        assert_eq!(id.as_str(), "pypi:some.dev/my-lib");
        assert_eq!(PypiProject.native_name(&id).unwrap(), "my-lib");
        let refused = PypiProject.package_id("my-lib").unwrap_err();
        assert!(refused.0.contains("--domain"), "{refused}");
        assert!(PypiProject.package_id_in("-bad", Some("some.dev")).is_err());
        assert!(
            PypiProject
                .package_id_in("ok", Some("not a domain"))
                .is_err()
        );
        let npm = PackageId::parse("npm:some.dev/sdk").unwrap();
        assert!(PypiProject.native_name(&npm).is_err());
    }

    #[test]
    fn artifact_kinds_come_from_file_names() {
        let kind = |name: &str| PypiProject.artifact_kind(name);
        assert_eq!(kind("my_lib-1.0-py3-none-any.whl"), Some(WHEEL));
        assert_eq!(kind("my_lib-1.0.tar.gz"), Some(SDIST));
        assert_eq!(kind("my-lib-1.0.tgz"), None);
        assert_eq!(kind("README.md"), None);
    }

    #[test]
    fn the_project_table_is_the_manifest() {
        let dir = tempfile::tempdir().unwrap();
        assert!(PypiProject.manifest(dir.path()).unwrap().is_none());
        let path = dir.path().join("pyproject.toml");
        std::fs::write(
            &path,
            "[project]\nname = \"My_Lib\"\nversion = \"1.0\"\ndescription = \"A library\"\n",
        )
        .unwrap();
        let manifest = PypiProject.manifest(dir.path()).unwrap().unwrap();
        assert_eq!(manifest.name.as_deref(), Some("My_Lib"));
        assert_eq!(manifest.version.as_deref(), Some("1.0"));
        assert_eq!(manifest.description.as_deref(), Some("A library"));
        std::fs::write(&path, "[tool.other]\nx = 1\n").unwrap();
        assert!(PypiProject.manifest(dir.path()).is_err());
        std::fs::write(&path, "[project\nname=").unwrap();
        assert!(PypiProject.manifest(dir.path()).is_err());
    }
}
