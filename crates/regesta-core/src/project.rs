//! The publish side of the ecosystem seam: how `regesta publish` reads a
//! project in an ecosystem's native layout. Core only names the questions;
//! each ecosystem crate answers them (npm reads `package.json` and runs
//! `npm pack`), and the CLI asks every registered one in turn, so adding an
//! ecosystem never touches the CLI's publish flow.

use std::path::Path;

use regesta_protocol::{PackageId, Version};

/// Why a native name has no Regesta id, or an id no native name, in words
/// a publisher can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NameRefusal(pub String);

/// An ecosystem's name mapping: core ids ⇄ the names its clients use
/// (`npm:some.dev/sdk` ⇄ `@some.dev/sdk`). Reversible: for every id it
/// maps, `package_id(native_name(id)) == id`.
pub trait NameMapping: Send + Sync {
    /// The native name of `id`.
    ///
    /// # Errors
    /// `id` is not of this ecosystem or has no native spelling.
    fn native_name(&self, id: &PackageId) -> Result<String, NameRefusal>;

    /// The id a native name stands for.
    ///
    /// # Errors
    /// The name carries no owner domain, or is not a name of this ecosystem.
    fn package_id(&self, native: &str) -> Result<PackageId, NameRefusal>;

    /// The id a native name stands for when the publisher names the owner
    /// domain (`--domain`, `regesta.json` `domain`): ecosystems whose names
    /// carry no domain (PyPI's `sdk`) need it; those whose names do (npm's
    /// `@some.dev/sdk`) ignore it.
    ///
    /// # Errors
    /// As [`NameMapping::package_id`], or no domain where one is needed.
    fn package_id_in(&self, native: &str, domain: Option<&str>) -> Result<PackageId, NameRefusal> {
        let _ = domain;
        self.package_id(native)
    }
}

/// What a native manifest says about the release to publish; any of it
/// may be overridden by `regesta.json` or the command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NativeManifest {
    /// The native package name (npm: `package.json` `name`).
    pub name: Option<String>,
    /// The version.
    pub version: Option<String>,
    /// A one-line description.
    pub description: Option<String>,
}

/// What an artifact file is, as told by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArtifactKind {
    /// The v0 artifact format (`wheel`).
    pub format: &'static str,
    /// Its media type.
    pub media_type: &'static str,
}

/// An install artifact built by the ecosystem's own tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedArtifact {
    /// The file name the tool gave it.
    pub filename: String,
    /// The v0 artifact format (`npm-tarball`).
    pub format: String,
    /// Its media type.
    pub media_type: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// Why a project could not be read or packed.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// The native manifest is unreadable or malformed.
    #[error("{path}: {problem}")]
    Manifest {
        /// The manifest file.
        path: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The native tool could not be run or failed.
    #[error("{tool} failed: {detail}")]
    Tool {
        /// The program, e.g. `npm pack`.
        tool: String,
        /// Its error output or the reason it could not start.
        detail: String,
    },
    /// Reading or writing files failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Largest native manifest `regesta publish` reads (`package.json`,
/// `pyproject.toml`): real ones are a few KiB; this keeps a stray huge
/// file from being loaded and parsed.
pub const MAX_MANIFEST_BYTES: u64 = 1024 * 1024;

/// A native manifest file's text, read within [`MAX_MANIFEST_BYTES`], for
/// an ecosystem to parse; its errors name the file.
#[derive(Debug, Clone)]
pub struct ManifestFile {
    /// Where it was read from.
    pub path: std::path::PathBuf,
    /// Its text (UTF-8, as both JSON and TOML require).
    pub text: String,
}

impl ManifestFile {
    /// `dir/name`, or `None` when `dir` has no such file.
    ///
    /// # Errors
    /// Unreadable, larger than [`MAX_MANIFEST_BYTES`], or not UTF-8.
    pub fn read(dir: &Path, name: &str) -> Result<Option<Self>, ProjectError> {
        use std::io::Read as _;
        let path = dir.join(name);
        if !path.is_file() {
            return Ok(None);
        }
        let mut bytes = Vec::new();
        std::fs::File::open(&path)?
            .take(MAX_MANIFEST_BYTES + 1)
            .read_to_end(&mut bytes)?;
        let file = Self {
            path,
            text: String::new(),
        };
        if bytes.len() as u64 > MAX_MANIFEST_BYTES {
            return Err(file.problem(format!("larger than {MAX_MANIFEST_BYTES} bytes")));
        }
        let text = String::from_utf8(bytes).map_err(|_| file.problem("not UTF-8 text"))?;
        Ok(Some(Self { text, ..file }))
    }

    /// A problem with this manifest, in words a publisher can act on.
    pub fn problem(&self, problem: impl Into<String>) -> ProjectError {
        ProjectError::Manifest {
            path: self.path.display().to_string(),
            problem: problem.into(),
        }
    }
}

/// An ecosystem's project reader for `regesta publish`.
pub trait ProjectKind: NameMapping {
    /// The ecosystem: the first part of the ids it infers.
    fn ecosystem(&self) -> &'static str;

    /// The native manifest in `dir`, or `None` when `dir` is not a project
    /// of this ecosystem.
    ///
    /// # Errors
    /// The manifest exists but cannot be read.
    fn manifest(&self, dir: &Path) -> Result<Option<NativeManifest>, ProjectError>;

    /// The paths a source archive includes when `regesta.json` names none.
    fn default_source(&self) -> &'static [&'static str];

    /// The kind of an artifact file built elsewhere, from its file name
    /// (`*.whl` is a wheel), or `None` when the name is not one of this
    /// ecosystem's, so `--artifact FILE` needs no other flag.
    fn artifact_kind(&self, filename: &str) -> Option<ArtifactKind> {
        let _ = filename;
        None
    }

    /// Builds the install artifacts of `version` with the ecosystem's own
    /// tool (one npm tarball; a Python sdist and wheel), reporting what it
    /// runs through `step`. Tools that read the version from the manifest
    /// ignore `version`; a Go module zip names it in every path.
    ///
    /// # Errors
    /// The tool is missing, fails, or produces no artifact.
    fn pack(
        &self,
        dir: &Path,
        version: &Version,
        step: &dyn Fn(&str),
    ) -> Result<Vec<PackedArtifact>, ProjectError>;
}

#[cfg(test)]
mod tests {
    use super::{MAX_MANIFEST_BYTES, ManifestFile, ProjectError};

    #[test]
    fn manifests_are_read_within_bounds_as_text() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            ManifestFile::read(dir.path(), "package.json")
                .unwrap()
                .is_none()
        );
        std::fs::write(dir.path().join("package.json"), "{}").unwrap();
        let file = ManifestFile::read(dir.path(), "package.json")
            .unwrap()
            .unwrap();
        assert_eq!(file.text, "{}");

        let huge = vec![b' '; usize::try_from(MAX_MANIFEST_BYTES).unwrap() + 1];
        std::fs::write(dir.path().join("pyproject.toml"), huge).unwrap();
        let refused = ManifestFile::read(dir.path(), "pyproject.toml").unwrap_err();
        assert!(
            matches!(&refused, ProjectError::Manifest { path, problem }
                if path.ends_with("pyproject.toml") && problem.starts_with("larger than")),
            "{refused}"
        );
        std::fs::write(dir.path().join("pyproject.toml"), [0xff, 0xfe]).unwrap();
        let refused = ManifestFile::read(dir.path(), "pyproject.toml").unwrap_err();
        assert!(refused.to_string().ends_with("not UTF-8 text"), "{refused}");
    }
}
