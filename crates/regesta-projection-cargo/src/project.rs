//! `regesta publish` for a crate: `Cargo.toml`'s `[package]` as the native
//! manifest, `cargo package` as the packer (the `.crate` it writes is the
//! release's one artifact), and `.crate` files built elsewhere recognized
//! by name. A crate names no owner, so the domain comes from the publisher
//! (`--domain`, or `domain`/`id` in `regesta.json`).

use std::path::Path;
use std::process::Command;

use regesta_core::project::{
    ArtifactKind, ManifestFile, NameMapping, NameRefusal, NativeManifest, PackedArtifact,
    ProjectError, ProjectKind,
};
use regesta_protocol::PackageId;
use serde::Deserialize;

use crate::ECOSYSTEM;
use crate::names::CrateName;

/// A `.crate` file.
pub const CRATE: ArtifactKind = ArtifactKind {
    format: "crate",
    media_type: "application/gzip",
};

#[derive(Debug, Deserialize)]
struct CargoToml {
    package: Option<PackageTable>,
    workspace: Option<WorkspaceTable>,
}

#[derive(Debug, Deserialize)]
struct PackageTable {
    name: Option<String>,
    /// A string, or `{ workspace = true }` (inherited from the workspace
    /// root's `[workspace.package]`).
    version: Option<toml::Value>,
    description: Option<toml::Value>,
}

#[derive(Debug, Deserialize)]
struct WorkspaceTable {
    package: Option<toml::Table>,
}

/// How many directories above a crate its workspace root is looked for:
/// cargo itself stops at the filesystem root; a bound keeps a hostile
/// tree from making the walk long.
const MAX_WORKSPACE_DEPTH: usize = 64;

/// A `[package]` field: its string, or, for `{ workspace = true }`, the
/// workspace root's `[workspace.package]` one.
fn field(
    value: Option<toml::Value>,
    key: &str,
    workspace: &mut dyn FnMut() -> Result<Option<toml::Table>, ProjectError>,
) -> Result<Option<String>, ProjectError> {
    match value {
        Some(toml::Value::String(text)) => Ok(Some(text)),
        Some(toml::Value::Table(table))
            if table.get("workspace").and_then(toml::Value::as_bool) == Some(true) =>
        {
            Ok(workspace()?
                .and_then(|package| package.get(key).and_then(|v| v.as_str().map(str::to_owned))))
        }
        _ => Ok(None),
    }
}

/// The `[workspace.package]` table of the nearest `Cargo.toml` above `dir`
/// that has a `[workspace]`, as cargo finds a member's workspace root.
fn workspace_package(dir: &Path) -> Result<Option<toml::Table>, ProjectError> {
    let start = std::fs::canonicalize(dir)?;
    for above in start.ancestors().skip(1).take(MAX_WORKSPACE_DEPTH) {
        let Some(file) = ManifestFile::read(above, "Cargo.toml")? else {
            continue;
        };
        let parsed: CargoToml =
            toml::from_str(&file.text).map_err(|e| file.problem(e.message().to_owned()))?;
        if let Some(workspace) = parsed.workspace {
            return Ok(workspace.package);
        }
    }
    Ok(None)
}

/// The Rust ecosystem's names and project reader.
#[derive(Debug, Clone, Copy, Default)]
pub struct CargoProject;

impl NameMapping for CargoProject {
    fn native_name(&self, id: &PackageId) -> Result<String, NameRefusal> {
        if id.ecosystem() != ECOSYSTEM {
            return Err(NameRefusal(format!("{id} is not a cargo: package id")));
        }
        Ok(id.local_name().to_owned())
    }

    fn package_id(&self, native: &str) -> Result<PackageId, NameRefusal> {
        self.package_id_in(native, None)
    }

    fn package_id_in(&self, native: &str, domain: Option<&str>) -> Result<PackageId, NameRefusal> {
        let name =
            CrateName::parse(native).map_err(|e| NameRefusal(format!("crate {native:?}: {e}")))?;
        let Some(domain) = domain else {
            return Err(NameRefusal(format!(
                "the crate {name} names no owner domain: pass --domain <your-domain> or set \"domain\" (or \"id\") in regesta.json"
            )));
        };
        name.package_id(domain)
            .map_err(|e| NameRefusal(format!("cargo:{domain}/{name}: {e}")))
    }
}

impl ProjectKind for CargoProject {
    fn ecosystem(&self) -> &'static str {
        ECOSYSTEM
    }

    fn manifest(&self, dir: &Path) -> Result<Option<NativeManifest>, ProjectError> {
        let Some(file) = ManifestFile::read(dir, "Cargo.toml")? else {
            return Ok(None);
        };
        let parsed: CargoToml =
            toml::from_str(&file.text).map_err(|e| file.problem(e.message().to_owned()))?;
        let package = parsed
            .package
            .ok_or_else(|| file.problem("no [package] table (a workspace root is not a crate)"))?;
        // Read once, and only when a field is inherited.
        let mut root: Option<Option<toml::Table>> = None;
        let mut workspace = || -> Result<Option<toml::Table>, ProjectError> {
            if root.is_none() {
                root = Some(workspace_package(dir)?);
            }
            Ok(root.clone().flatten())
        };
        Ok(Some(NativeManifest {
            name: package.name,
            version: field(package.version, "version", &mut workspace)?,
            description: field(package.description, "description", &mut workspace)?,
        }))
    }

    fn default_source(&self) -> &'static [&'static str] {
        &["Cargo.toml", "README.md", "LICENSE", "src"]
    }

    fn artifact_kind(&self, filename: &str) -> Option<ArtifactKind> {
        Path::new(filename)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("crate"))
            .then_some(CRATE)
    }

    fn pack(
        &self,
        dir: &Path,
        _version: &regesta_protocol::Version,
        step: &dyn Fn(&str),
    ) -> Result<Vec<PackedArtifact>, ProjectError> {
        let out = tempfile::tempdir()?;
        step("packaging the crate with cargo package");
        let failed = |detail: String| ProjectError::Tool {
            tool: "cargo package".into(),
            detail,
        };
        let output = Command::new("cargo")
            .args(["package", "--allow-dirty", "--quiet"])
            .current_dir(dir)
            .env("CARGO_TARGET_DIR", out.path())
            .output()
            .map_err(|e| failed(format!("cannot run cargo (is it installed?): {e}")))?;
        if !output.status.success() {
            return Err(failed(
                String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            ));
        }
        let mut packed = Vec::new();
        for entry in std::fs::read_dir(out.path().join("package"))? {
            let path = entry?.path();
            let filename = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if self.artifact_kind(&filename).is_some() && path.is_file() {
                packed.push(PackedArtifact {
                    filename,
                    format: CRATE.format.into(),
                    media_type: CRATE.media_type.into(),
                    bytes: std::fs::read(&path)?,
                });
            }
        }
        if packed.len() != 1 {
            return Err(failed(format!(
                "it wrote {} .crate files, not one",
                packed.len()
            )));
        }
        Ok(packed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_take_the_publishers_domain() {
        let id = CargoProject
            .package_id_in("lib-a", Some("some.dev"))
            .unwrap();
        assert_eq!(id.as_str(), "cargo:some.dev/lib-a");
        assert_eq!(CargoProject.native_name(&id).unwrap(), "lib-a");
        assert!(
            CargoProject
                .package_id("lib-a")
                .unwrap_err()
                .0
                .contains("--domain")
        );
        let upper = CargoProject
            .package_id_in("Lib", Some("some.dev"))
            .unwrap_err();
        assert!(upper.0.contains("\"lib\""), "{upper}");
        let npm = PackageId::parse("npm:some.dev/sdk").unwrap();
        assert!(CargoProject.native_name(&npm).is_err());
    }

    #[test]
    fn crate_files_are_recognized_by_name() {
        assert_eq!(CargoProject.artifact_kind("lib-a-0.1.0.crate"), Some(CRATE));
        assert_eq!(CargoProject.artifact_kind("lib-a-0.1.0.tar.gz"), None);
    }

    #[test]
    fn the_package_table_is_the_manifest() {
        let dir = tempfile::tempdir().unwrap();
        assert!(CargoProject.manifest(dir.path()).unwrap().is_none());
        std::fs::write(
            dir.path().join("Cargo.toml"),
            "[package]\nname = \"lib-a\"\nversion = \"0.1.0\"\ndescription = \"A\"\n",
        )
        .unwrap();
        let manifest = CargoProject.manifest(dir.path()).unwrap().unwrap();
        assert_eq!(manifest.name.as_deref(), Some("lib-a"));
        assert_eq!(manifest.version.as_deref(), Some("0.1.0"));
        std::fs::write(dir.path().join("Cargo.toml"), "[workspace]\n").unwrap();
        assert!(CargoProject.manifest(dir.path()).is_err());
    }

    #[test]
    fn inherited_fields_come_from_the_workspace_root() {
        let root = tempfile::tempdir().unwrap();
        let member = root.path().join("crates/lib-a");
        std::fs::create_dir_all(&member).unwrap();
        std::fs::write(
            member.join("Cargo.toml"),
            "[package]\nname = \"lib-a\"\nversion.workspace = true\n\
             description = { workspace = true }\n",
        )
        .unwrap();
        // No workspace root above: not known, so publish asks for --version.
        let manifest = CargoProject.manifest(&member).unwrap().unwrap();
        assert_eq!(manifest.version, None);
        // A Cargo.toml without [workspace] in between is not the root.
        std::fs::write(
            root.path().join("crates/Cargo.toml"),
            "[package]\nname = \"x\"\nversion = \"9.9.9\"\n",
        )
        .unwrap();
        std::fs::write(
            root.path().join("Cargo.toml"),
            "[workspace]\nmembers = [\"crates/*\"]\n\n[workspace.package]\n\
             version = \"1.2.3\"\ndescription = \"shared\"\n",
        )
        .unwrap();
        let manifest = CargoProject.manifest(&member).unwrap().unwrap();
        assert_eq!(manifest.version.as_deref(), Some("1.2.3"));
        assert_eq!(manifest.description.as_deref(), Some("shared"));
    }
}
