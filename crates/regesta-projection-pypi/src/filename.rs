//! Distribution file names. A wheel is
//! `{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl` (the binary
//! distribution format); an sdist is `{name}-{version}.tar.gz` (PEP 625).
//! Installers pick files by these names before reading a byte, so the name
//! and version in them must be the release's.

use crate::names::{NameError, ProjectName};
use crate::versions::{PyVersion, VersionError};

/// Longest file name accepted (wheel tags can be long, but not unbounded).
pub const MAX_FILENAME_LEN: usize = 255;

/// Why a file name is not a distribution's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilenameError {
    /// Neither `.whl` nor `.tar.gz`.
    #[error("a distribution file is a wheel (.whl) or an sdist (.tar.gz)")]
    Kind,
    /// Longer than [`MAX_FILENAME_LEN`], or holding a path separator.
    #[error("a distribution file name is one path segment of at most {MAX_FILENAME_LEN} bytes")]
    Shape,
    /// Not the number of `-`-separated parts its kind has.
    #[error(
        "a wheel name is name-version(-build)-python-abi-platform.whl; an sdist name is name-version.tar.gz"
    )]
    Parts,
    /// The name part is not a project name.
    #[error("the project name in the file name: {0}")]
    Name(#[from] NameError),
    /// The version part is not PEP 440.
    #[error("the version in the file name: {0}")]
    Version(#[from] VersionError),
    /// A build tag that does not start with a digit, or an empty tag.
    #[error("a wheel's build tag starts with a digit, and its tags are not empty")]
    Tag,
}

/// What kind of distribution a file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DistKind {
    /// A built distribution, with its compatibility tags.
    Wheel {
        /// The optional build tag (`1`, `2abc`).
        build: Option<String>,
        /// Python tags (`py3`, `cp312`), `.`-separated in the name.
        python: String,
        /// ABI tags (`none`, `abi3`).
        abi: String,
        /// Platform tags (`any`, `manylinux_2_17_x86_64`).
        platform: String,
    },
    /// A source distribution.
    Sdist,
}

/// A parsed distribution file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistFilename {
    /// The file name as given.
    pub file: String,
    /// The project, normalized.
    pub name: ProjectName,
    /// The version.
    pub version: PyVersion,
    /// Wheel or sdist.
    pub kind: DistKind,
}

impl DistFilename {
    /// Parses `file`.
    ///
    /// # Errors
    /// Not a wheel or sdist name, or one whose name or version is invalid.
    pub fn parse(file: &str) -> Result<Self, FilenameError> {
        if file.len() > MAX_FILENAME_LEN || file.contains(['/', '\\']) || file.starts_with('.') {
            return Err(FilenameError::Shape);
        }
        if let Some(stem) = file.strip_suffix(".whl") {
            return Self::wheel(file, stem);
        }
        if let Some(stem) = file.strip_suffix(".tar.gz") {
            // The version never contains `-` in a PEP 625 name, and the
            // escaped project name never does either.
            let (name, version) = stem.rsplit_once('-').ok_or(FilenameError::Parts)?;
            if name.contains('-') {
                return Err(FilenameError::Parts);
            }
            return Ok(Self {
                file: file.to_owned(),
                name: ProjectName::parse(name)?,
                version: PyVersion::parse(version)?,
                kind: DistKind::Sdist,
            });
        }
        Err(FilenameError::Kind)
    }

    fn wheel(file: &str, stem: &str) -> Result<Self, FilenameError> {
        let parts: Vec<&str> = stem.split('-').collect();
        let (name, version, build, tags) = match parts.as_slice() {
            [name, version, python, abi, platform] => {
                (*name, *version, None, [*python, *abi, *platform])
            }
            [name, version, build, python, abi, platform] => {
                if !build.starts_with(|c: char| c.is_ascii_digit()) {
                    return Err(FilenameError::Tag);
                }
                (
                    *name,
                    *version,
                    Some((*build).to_owned()),
                    [*python, *abi, *platform],
                )
            }
            _ => return Err(FilenameError::Parts),
        };
        if tags.iter().any(|t| t.is_empty()) {
            return Err(FilenameError::Tag);
        }
        let [python, abi, platform] = tags.map(str::to_owned);
        Ok(Self {
            file: file.to_owned(),
            name: ProjectName::parse(name)?,
            version: PyVersion::parse(version)?,
            kind: DistKind::Wheel {
                build,
                python,
                abi,
                platform,
            },
        })
    }

    /// Whether the file belongs to `name` at `version`: the same normalized
    /// name and the same normalized version (`1.0RC1` in a file name is
    /// release `1.0rc1`), stricter than PEP 440 equality, under which `1.0`
    /// and `1.0.0` are one version but would be two releases here.
    pub fn belongs_to(&self, name: &ProjectName, version: &PyVersion) -> bool {
        &self.name == name && self.version.normalized() == version.normalized()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wheel_tags(file: &str) -> (Option<String>, String, String, String) {
        match DistFilename::parse(file).unwrap().kind {
            DistKind::Wheel {
                build,
                python,
                abi,
                platform,
            } => (build, python, abi, platform),
            DistKind::Sdist => panic!("{file} is a wheel"),
        }
    }

    #[test]
    fn wheel_and_sdist_names_parse() {
        let wheel = DistFilename::parse("Zope.Interface-1.0RC1-py3-none-any.whl").unwrap();
        assert_eq!(wheel.name.as_str(), "zope-interface");
        assert_eq!(wheel.version.normalized(), "1.0rc1");
        assert_eq!(
            wheel_tags("my_lib-2.0-1-cp312-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"),
            (
                Some("1".to_owned()),
                "cp312".to_owned(),
                "abi3".to_owned(),
                "manylinux_2_17_x86_64.manylinux2014_x86_64".to_owned()
            )
        );
        let sdist = DistFilename::parse("my_lib-2.0.post1.tar.gz").unwrap();
        assert_eq!(
            (sdist.name.as_str(), sdist.version.normalized(), &sdist.kind),
            ("my-lib", "2.0.post1".to_owned(), &DistKind::Sdist)
        );
        assert!(sdist.belongs_to(
            &ProjectName::parse("My.Lib").unwrap(),
            &PyVersion::parse("2.0-1").unwrap()
        ));
        assert!(!sdist.belongs_to(
            &ProjectName::parse("my-lib").unwrap(),
            &PyVersion::parse("2.0").unwrap()
        ));
    }

    #[test]
    fn other_names_are_refused_with_the_reason() {
        use FilenameError as E;
        for (file, error) in [
            ("lib-1.0.zip", E::Kind),
            ("lib-1.0.egg", E::Kind),
            ("../lib-1.0.tar.gz", E::Shape),
            ("dir/lib-1.0-py3-none-any.whl", E::Shape),
            (".lib-1.0.tar.gz", E::Shape),
            ("lib-1.0-py3-none.whl", E::Parts),
            ("lib-1.0-1-2-py3-none-any.whl", E::Parts),
            ("my-lib-1.0.tar.gz", E::Parts),
            ("lib1.0.tar.gz", E::Parts),
            ("lib-1.0-x1-py3-none-any.whl", E::Tag),
            ("lib-1.0--none-any.whl", E::Tag),
        ] {
            assert_eq!(DistFilename::parse(file), Err(error), "{file}");
        }
        assert!(matches!(
            DistFilename::parse("lib-latest.tar.gz"),
            Err(E::Version(_))
        ));
        assert!(matches!(
            DistFilename::parse("l+b-1.0-py3-none-any.whl"),
            Err(E::Name(_))
        ));
        let long = format!("{}-1.0.tar.gz", "a".repeat(MAX_FILENAME_LEN));
        assert_eq!(DistFilename::parse(&long), Err(E::Shape));
    }
}
