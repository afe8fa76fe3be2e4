//! Module versions under the go command's rules: canonical semantic
//! versions with a `v` (`v1.2.3`, `v1.2.3-rc.1`), the major matching the
//! path's suffix (`/v2` takes only v2.x.y), `+incompatible` only for v2+
//! on a path without a suffix, and no pseudo-versions (Regesta publishes
//! releases, not commits).

use std::cmp::Ordering;

use crate::paths::ModulePath;

/// Why a version is not acceptable for a module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("version {version:?}: {reason}")]
pub struct VersionError {
    /// The version as given.
    pub version: String,
    /// The rule it breaks.
    pub reason: String,
}

/// A canonical module version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleVersion {
    text: String,
    semver: semver::Version,
    incompatible: bool,
}

/// Whether `pre` is a pseudo-version's prerelease: a 14-digit timestamp
/// and a revision after `0.` (or alone, for `vX.0.0-`), as
/// `golang.org/x/mod/module.IsPseudoVersion` recognizes them.
fn pseudo(semver: &semver::Version) -> bool {
    let pre = semver.pre.as_str();
    let parts: Vec<&str> = pre.split('.').collect();
    // vX.0.0-yyyymmddhhmmss-abcdef, vX.Y.(Z+1)-0.yyyymmddhhmmss-abcdef,
    // vX.Y.(Z+1)-pre.0.yyyymmddhhmmss-abcdef
    let Some(last) = parts.last() else {
        return false;
    };
    let Some((stamp, revision)) = last.split_once('-') else {
        return false;
    };
    let stamped = stamp.len() == 14
        && stamp.bytes().all(|b| b.is_ascii_digit())
        && !revision.is_empty()
        && revision.bytes().all(|b| b.is_ascii_alphanumeric());
    let shape = if parts.len() == 1 {
        semver.minor == 0 && semver.patch == 0
    } else {
        parts.get(parts.len() - 2) == Some(&"0")
    };
    stamped && shape
}

impl ModuleVersion {
    /// Parses `text` as a version of `module`.
    ///
    /// # Errors
    /// Not canonical, a pseudo-version, build metadata other than
    /// `+incompatible`, or a major the path does not take.
    pub fn parse(text: &str, module: &ModulePath) -> Result<Self, VersionError> {
        let refuse = |reason: String| VersionError {
            version: text.to_owned(),
            reason,
        };
        let bare = text
            .strip_prefix('v')
            .ok_or_else(|| refuse("must start with v (v1.2.3)".into()))?;
        let semver = semver::Version::parse(bare).map_err(|e| {
            refuse(format!(
                "not a canonical semantic version (vMAJOR.MINOR.PATCH): {e}"
            ))
        })?;
        let incompatible = match semver.build.as_str() {
            "" => false,
            "incompatible" => true,
            _ => {
                return Err(refuse(
                    "build metadata is not part of a module version (only +incompatible)".into(),
                ));
            }
        };
        if pseudo(&semver) {
            return Err(refuse(
                "pseudo-versions name commits; publish a release version".into(),
            ));
        }
        match (module.major(), incompatible) {
            (Some(major), false) if semver.major == major => {}
            (Some(major), _) => {
                return Err(refuse(format!(
                    "the module path {module} takes only v{major}.x.y versions"
                )));
            }
            (None, false) if semver.major <= 1 => {}
            (None, false) => {
                return Err(refuse(format!(
                    "a v{} module's path ends in /v{} (or, without a go.mod, use +incompatible)",
                    semver.major, semver.major
                )));
            }
            (None, true) if semver.major >= 2 => {}
            (None, true) => {
                return Err(refuse("+incompatible is only for v2 and above".into()));
            }
        }
        Ok(Self {
            text: text.to_owned(),
            semver,
            incompatible,
        })
    }

    /// The version as written (canonical).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether it is `+incompatible` (a v2+ module without a go.mod).
    pub fn is_incompatible(&self) -> bool {
        self.incompatible
    }

    /// Whether it is a prerelease (`@latest` prefers releases).
    pub fn is_prerelease(&self) -> bool {
        !self.semver.pre.is_empty()
    }

    /// Semantic version precedence (`+incompatible` aside, as the go
    /// command compares).
    pub fn precedence(&self, other: &Self) -> Ordering {
        self.semver.cmp_precedence(&other.semver)
    }
}

impl std::fmt::Display for ModuleVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> ModulePath {
        ModulePath::parse(p).unwrap()
    }

    #[test]
    fn versions_match_the_path_major() {
        let v1 = path("acme.dev/greet");
        let v2 = path("acme.dev/greet/v2");
        for good in ["v0.1.0", "v1.0.0", "v1.2.3-rc.1", "v2.0.0+incompatible"] {
            ModuleVersion::parse(good, &v1).unwrap_or_else(|e| panic!("{good}: {e}"));
        }
        ModuleVersion::parse("v2.3.4", &v2).unwrap();
        for (bad, module, why) in [
            ("1.0.0", &v1, "must start with v"),
            ("v1.0", &v1, "canonical"),
            ("v01.0.0", &v1, "canonical"),
            ("v1.0.0+build", &v1, "only +incompatible"),
            ("v2.0.0", &v1, "ends in /v2"),
            ("v1.0.0+incompatible", &v1, "v2 and above"),
            ("v1.0.0", &v2, "only v2.x.y"),
            ("v2.0.0+incompatible", &v2, "only v2.x.y"),
            ("v0.0.0-20191109021931-daa7c04131f5", &v1, "pseudo"),
            ("v1.2.4-0.20191109021931-daa7c04131f5", &v1, "pseudo"),
            ("v1.2.4-pre.0.20191109021931-daa7c04131f5", &v1, "pseudo"),
        ] {
            let error = ModuleVersion::parse(bad, module).unwrap_err().to_string();
            assert!(error.contains(why), "{bad}: {error}");
        }
    }

    #[test]
    fn precedence_is_semver() {
        let m = path("acme.dev/greet");
        let v = |t: &str| ModuleVersion::parse(t, &m).unwrap();
        assert_eq!(v("v1.0.0-rc.1").precedence(&v("v1.0.0")), Ordering::Less);
        assert_eq!(v("v1.10.0").precedence(&v("v1.9.0")), Ordering::Greater);
        assert!(v("v1.0.0-rc.1").is_prerelease());
    }
}
