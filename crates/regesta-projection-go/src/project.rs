//! `regesta publish` for a Go module, without a VCS: the directory's
//! `go.mod` names the module, the version comes from `--version` or
//! `regesta.json`, and the module zip is built here by Go's rules
//! (`golang.org/x/mod/zip`'s `CreateFromDir`): VCS directories, nested
//! modules, vendored packages and irregular files are left out, every
//! other file goes in under `<module>@<version>/`, and the result is
//! checked exactly as the processor will check it.

use std::io::Write as _;
use std::path::Path;

use regesta_core::project::{
    ArtifactKind, ManifestFile, NameMapping, NameRefusal, NativeManifest, PackedArtifact,
    ProjectError, ProjectKind,
};
use regesta_protocol::{PackageId, Version};

use crate::ECOSYSTEM;
use crate::gomod::module_path;
use crate::module_zip::{self, MAX_ENTRIES, MAX_ZIP_BYTES, vendored};
use crate::paths::ModulePath;
use crate::versions::ModuleVersion;

/// A module zip.
pub const MODULE_ZIP: ArtifactKind = ArtifactKind {
    format: "go-module-zip",
    media_type: "application/zip",
};

/// The Go ecosystem's names and project reader.
#[derive(Debug, Clone, Copy, Default)]
pub struct GoProject;

impl NameMapping for GoProject {
    fn native_name(&self, id: &PackageId) -> Result<String, NameRefusal> {
        ModulePath::from_id(id)
            .map(|m| m.as_str().to_owned())
            .map_err(|e| NameRefusal(e.to_string()))
    }

    fn package_id(&self, native: &str) -> Result<PackageId, NameRefusal> {
        ModulePath::parse(native)
            .and_then(|m| m.package_id())
            .map_err(|e| NameRefusal(e.to_string()))
    }
}

/// The files of the module rooted at `dir`, as Go's `listFilesInDir`
/// keeps them: `(slash path relative to dir, file path)`, sorted.
fn module_files(dir: &Path) -> Result<Vec<(String, std::path::PathBuf)>, ProjectError> {
    let mut files = Vec::new();
    let mut pending = vec![(dir.to_path_buf(), String::new())];
    let mut total = 0_u64;
    while let Some((path, relative)) = pending.pop() {
        for entry in std::fs::read_dir(&path)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let child = if relative.is_empty() {
                name.clone()
            } else {
                format!("{relative}/{name}")
            };
            let kind = entry.file_type()?;
            if kind.is_dir() {
                let vcs = matches!(name.as_str(), ".bzr" | ".git" | ".hg" | ".svn");
                let nested = entry.path().join("go.mod").is_file();
                if !vcs && !nested && !vendored(&format!("{child}/x")) {
                    pending.push((entry.path(), child));
                }
            } else if kind.is_file() && !vendored(&child) && child != ".hg_archival.txt" {
                total = total.saturating_add(entry.metadata()?.len());
                files.push((child, entry.path()));
            }
            if files.len() > MAX_ENTRIES || total > MAX_ZIP_BYTES {
                return Err(ProjectError::Tool {
                    tool: "module zip".into(),
                    detail: format!(
                        "the module holds over {MAX_ENTRIES} files or {MAX_ZIP_BYTES} bytes"
                    ),
                });
            }
        }
    }
    files.sort();
    Ok(files)
}

impl ProjectKind for GoProject {
    fn ecosystem(&self) -> &'static str {
        ECOSYSTEM
    }

    fn manifest(&self, dir: &Path) -> Result<Option<NativeManifest>, ProjectError> {
        let Some(file) = ManifestFile::read(dir, "go.mod")? else {
            return Ok(None);
        };
        let name = module_path(&file.text).ok_or_else(|| file.problem("no module directive"))?;
        Ok(Some(NativeManifest {
            name: Some(name),
            version: None,
            description: None,
        }))
    }

    fn default_source(&self) -> &'static [&'static str] {
        &["go.mod", "go.sum", "README.md", "LICENSE"]
    }

    fn artifact_kind(&self, filename: &str) -> Option<ArtifactKind> {
        // `v1.2.3.zip`, as the proxy protocol names module zips.
        let stem = filename.strip_suffix(".zip")?;
        (stem.starts_with('v') && stem.contains('.')).then_some(MODULE_ZIP)
    }

    fn pack(
        &self,
        dir: &Path,
        version: &Version,
        step: &dyn Fn(&str),
    ) -> Result<Vec<PackedArtifact>, ProjectError> {
        let failed = |detail: String| ProjectError::Tool {
            tool: "module zip".into(),
            detail,
        };
        let declared = self
            .manifest(dir)?
            .and_then(|m| m.name)
            .ok_or_else(|| failed("no go.mod".into()))?;
        let module = ModulePath::parse(&declared).map_err(|e| failed(e.to_string()))?;
        let module_version =
            ModuleVersion::parse(version.as_str(), &module).map_err(|e| failed(e.to_string()))?;
        step(&format!(
            "building the module zip of {module}@{module_version}"
        ));
        let prefix = format!("{module}@{module_version}/");
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        for (relative, path) in module_files(dir)? {
            writer
                .start_file(format!("{prefix}{relative}"), options)
                .map_err(|e| failed(e.to_string()))?;
            writer.write_all(&std::fs::read(&path)?)?;
        }
        let bytes = writer
            .finish()
            .map_err(|e| failed(e.to_string()))?
            .into_inner();
        // The processor's rules, before anything is signed.
        module_zip::read(&bytes, &module, &module_version).map_err(|e| failed(e.to_string()))?;
        Ok(vec![PackedArtifact {
            filename: format!("{module_version}.zip"),
            format: MODULE_ZIP.format.into(),
            media_type: MODULE_ZIP.media_type.into(),
            bytes,
        }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_zip_leaves_out_what_go_leaves_out() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let write = |path: &str, text: &str| {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write("go.mod", "module acme.dev/greet\n\ngo 1.22\n");
        write("greet.go", "package greet\n");
        write("internal/x/x.go", "package x\n");
        write(".git/HEAD", "ref\n");
        write("nested/go.mod", "module acme.dev/greet/nested\n");
        write("nested/n.go", "package nested\n");
        write("vendor/modules.txt", "\n");
        write("vendor/example.com/v/v.go", "package v\n");
        let version = Version::parse("v1.0.0").unwrap();
        let packed = GoProject.pack(root, &version, &|_| {}).unwrap();
        assert_eq!(packed[0].filename, "v1.0.0.zip");
        let mut archive =
            zip::ZipArchive::new(std::io::Cursor::new(packed[0].bytes.clone())).unwrap();
        let mut names: Vec<String> = (0..archive.len())
            .map(|i| archive.by_index(i).unwrap().name().unwrap().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "acme.dev/greet@v1.0.0/go.mod",
                "acme.dev/greet@v1.0.0/greet.go",
                "acme.dev/greet@v1.0.0/internal/x/x.go",
                "acme.dev/greet@v1.0.0/vendor/modules.txt",
            ]
        );
        let manifest = GoProject.manifest(root).unwrap().unwrap();
        assert_eq!(manifest.name.as_deref(), Some("acme.dev/greet"));
        let id = GoProject.package_id("acme.dev/greet").unwrap();
        assert_eq!(id.as_str(), "go:acme.dev/greet");
        // A v2 path takes only v2 versions.
        let wrong = Version::parse("v2.0.0").unwrap();
        assert!(GoProject.pack(root, &wrong, &|_| {}).is_err());
    }

    #[test]
    fn module_zips_are_recognized_by_name() {
        assert_eq!(GoProject.artifact_kind("v1.0.0.zip"), Some(MODULE_ZIP));
        assert_eq!(GoProject.artifact_kind("demo-1.0.zip"), None);
    }
}
