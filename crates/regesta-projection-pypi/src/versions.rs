//! PEP 440 versions and `Requires-Python` specifiers, parsed with
//! `pep440_rs` (uv's parser). A release stores its version in the
//! normalized spelling, so `1.0`, `1.0.0` stay distinct but `1.0RC1` and
//! `1.0rc1` are one version, as pip and uv see them.

use std::str::FromStr as _;

/// Longest version string accepted (before normalization).
pub const MAX_VERSION_LEN: usize = 64;

/// Longest `Requires-Python` value accepted.
pub const MAX_SPECIFIERS_LEN: usize = 256;

/// Why a string is not a PEP 440 version or specifier set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// Longer than the caps above.
    #[error("longer than {0} characters")]
    TooLong(usize),
    /// `pep440_rs` refused it; its message says where.
    #[error("not a PEP 440 {what}: {detail}")]
    Invalid {
        /// `version` or `version specifier`.
        what: &'static str,
        /// The parser's explanation.
        detail: String,
    },
}

/// A PEP 440 version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PyVersion(pep440_rs::Version);

impl PyVersion {
    /// Parses `raw`.
    ///
    /// # Errors
    /// Not a PEP 440 version, or longer than [`MAX_VERSION_LEN`].
    pub fn parse(raw: &str) -> Result<Self, VersionError> {
        if raw.len() > MAX_VERSION_LEN {
            return Err(VersionError::TooLong(MAX_VERSION_LEN));
        }
        pep440_rs::Version::from_str(raw)
            .map(Self)
            .map_err(|e| VersionError::Invalid {
                what: "version",
                detail: e.to_string(),
            })
    }

    /// The normalized spelling (`1.0rc1`, `2!1.0.post1`, `1.0+local.7`).
    pub fn normalized(&self) -> String {
        self.0.to_string()
    }

    /// The canonical spelling, equal for versions PEP 440 calls equal: the
    /// normalized form with the release segment's trailing zeros dropped
    /// (`1.0.0` and `1.0` are both `1`; `1.0.post1` is `1.post1`). Two
    /// releases of a project may not share it (pip and uv would see two
    /// files of one version).
    pub fn canonical(&self) -> String {
        let release = self.0.release();
        let kept = release
            .iter()
            .rposition(|&n| n != 0)
            .map_or(1, |last| last + 1);
        self.0
            .clone()
            .with_release(release[..kept].iter().copied())
            .to_string()
    }

    /// Whether it is a pre-release or development release (clients skip
    /// these unless asked).
    pub fn is_pre(&self) -> bool {
        self.0.any_prerelease()
    }
}

/// A `Requires-Python` value: a set of version specifiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequiresPython(pep440_rs::VersionSpecifiers);

impl RequiresPython {
    /// Parses `raw` (`>=3.8`, `>=3.9,<4`).
    ///
    /// # Errors
    /// Not a specifier set, or longer than [`MAX_SPECIFIERS_LEN`].
    pub fn parse(raw: &str) -> Result<Self, VersionError> {
        if raw.len() > MAX_SPECIFIERS_LEN {
            return Err(VersionError::TooLong(MAX_SPECIFIERS_LEN));
        }
        pep440_rs::VersionSpecifiers::from_str(raw)
            .map(Self)
            .map_err(|e| VersionError::Invalid {
                what: "version specifier",
                detail: e.to_string(),
            })
    }

    /// Whether an interpreter of `version` satisfies it.
    pub fn admits(&self, version: &PyVersion) -> bool {
        self.0.contains(&version.0)
    }

    /// The normalized spelling, as the index pages serve it.
    pub fn normalized(&self) -> String {
        self.0.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_stored_normalized() {
        for (raw, normalized) in [
            ("1.0", "1.0"),
            ("1.0.0", "1.0.0"),
            ("1.0RC1", "1.0rc1"),
            ("1.0-c1", "1.0rc1"),
            ("v1.0", "1.0"),
            ("1.0.post", "1.0.post0"),
            ("1.0-1", "1.0.post1"),
            ("1!2.0.dev3", "1!2.0.dev3"),
            ("1.0+Local_7", "1.0+local.7"),
        ] {
            assert_eq!(
                PyVersion::parse(raw).unwrap().normalized(),
                normalized,
                "{raw}"
            );
        }
        assert!(PyVersion::parse("2.0b1").unwrap().is_pre());
        assert!(!PyVersion::parse("2.0.post1").unwrap().is_pre());
    }

    #[test]
    fn equal_versions_share_one_canonical_spelling() {
        for (raw, canonical) in [
            ("1.0", "1"),
            ("1.0.0", "1"),
            ("1", "1"),
            ("0", "0"),
            ("0.0.0", "0"),
            ("1.0.1", "1.0.1"),
            ("1.10.0", "1.10"),
            ("1.0.0rc1", "1rc1"),
            ("1.0.post1", "1.post1"),
            ("1!2.0.dev3", "1!2.dev3"),
            ("1.0+local.7", "1+local.7"),
        ] {
            assert_eq!(
                PyVersion::parse(raw).unwrap().canonical(),
                canonical,
                "{raw}"
            );
        }
        let (a, b) = (
            PyVersion::parse("1.0").unwrap(),
            PyVersion::parse("1.0.0").unwrap(),
        );
        assert_eq!(a, b, "PEP 440 equality, which the canonical form mirrors");
    }

    #[test]
    fn non_pep_440_versions_and_specifiers_are_refused() {
        for raw in ["", "latest", "1.0-beta-final", "1..0", "1.0 ; x"] {
            assert!(
                matches!(PyVersion::parse(raw), Err(VersionError::Invalid { .. })),
                "{raw}"
            );
        }
        assert_eq!(
            PyVersion::parse(&"1".repeat(MAX_VERSION_LEN + 1)),
            Err(VersionError::TooLong(MAX_VERSION_LEN))
        );
        assert!(RequiresPython::parse(">=3.8;").is_err());
        assert!(RequiresPython::parse("=>3").is_err());
    }

    #[test]
    fn requires_python_admits_interpreters() {
        let spec = RequiresPython::parse(">=3.9, <4").unwrap();
        assert_eq!(spec.normalized(), ">=3.9, <4");
        assert!(spec.admits(&PyVersion::parse("3.11.2").unwrap()));
        assert!(!spec.admits(&PyVersion::parse("3.8.10").unwrap()));
        assert!(!spec.admits(&PyVersion::parse("4.0").unwrap()));
    }
}
