//! Crate versions: SemVer 2.0 as Cargo reads it (the `semver` crate, which
//! Cargo itself uses). Its parser is strict (no `v` prefix, no leading
//! zeros, exactly three numbers), so a valid version has one spelling.
//! Build metadata is kept but, as in Cargo, two versions that differ only
//! in it are one version ([`CrateVersion::key`]).

/// Longest version string accepted.
pub const MAX_VERSION_LEN: usize = 128;

/// Why a string is not a publishable crate version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// Longer than [`MAX_VERSION_LEN`].
    #[error("a crate version has at most {MAX_VERSION_LEN} characters")]
    TooLong,
    /// Not SemVer.
    #[error("not a SemVer version: {0}")]
    Invalid(String),
}

/// A SemVer version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CrateVersion(semver::Version);

impl CrateVersion {
    /// Parses `raw`.
    ///
    /// # Errors
    /// See [`VersionError`].
    pub fn parse(raw: &str) -> Result<Self, VersionError> {
        if raw.len() > MAX_VERSION_LEN {
            return Err(VersionError::TooLong);
        }
        semver::Version::parse(raw)
            .map(Self)
            .map_err(|e| VersionError::Invalid(e.to_string()))
    }

    /// The key two releases of one crate must not share: the version
    /// without its build metadata (Cargo resolves `1.0.0+a` and `1.0.0+b`
    /// as one version).
    pub fn key(&self) -> String {
        let mut version = self.0.clone();
        version.build = semver::BuildMetadata::EMPTY;
        version.to_string()
    }

    /// Whether it is a pre-release (`1.0.0-rc.1`).
    pub fn is_pre(&self) -> bool {
        !self.0.pre.is_empty()
    }
}

impl std::fmt::Display for CrateVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semver_versions_are_accepted_and_spelled_as_given() {
        for raw in [
            "0.1.0",
            "1.2.3",
            "1.0.0-rc.1",
            "1.0.0+build.5",
            "2.0.0-alpha.1+x",
        ] {
            assert_eq!(CrateVersion::parse(raw).unwrap().to_string(), raw);
        }
        assert!(CrateVersion::parse("1.0.0-rc.1").unwrap().is_pre());
        assert!(!CrateVersion::parse("1.0.0+b").unwrap().is_pre());
    }

    #[test]
    fn other_versions_are_refused() {
        for raw in [
            "", "1", "1.0", "v1.0.0", "1.0.0.0", "latest", "01.0.0", "1.0.0-",
        ] {
            assert!(CrateVersion::parse(raw).is_err(), "{raw}");
        }
        let long = format!("1.0.0-{}", "a".repeat(MAX_VERSION_LEN));
        assert_eq!(CrateVersion::parse(&long), Err(VersionError::TooLong));
    }

    #[test]
    fn build_metadata_does_not_make_another_version() {
        let key = |raw: &str| CrateVersion::parse(raw).unwrap().key();
        assert_eq!(key("1.0.0+a"), key("1.0.0+b"));
        assert_eq!(key("1.0.0+a"), "1.0.0");
        assert_ne!(key("1.0.0-rc.1"), key("1.0.0"));
    }
}
