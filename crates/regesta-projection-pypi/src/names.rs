//! Project names. PEP 508 says which strings are names; PEP 503 says two
//! names are the same project when their normalized forms are equal
//! (lowercase, every run of `-`, `_` and `.` one `-`). Indexes, file names
//! and package ids all compare normalized names.

/// Longest project name accepted. PyPI has no written cap; this bounds
/// every page and id that repeats it.
pub const MAX_NAME_LEN: usize = 128;

/// Why a string is not a project name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Empty or longer than [`MAX_NAME_LEN`].
    #[error("a project name has 1 to {MAX_NAME_LEN} characters")]
    Length,
    /// Not `[A-Za-z0-9]` at both ends with `[A-Za-z0-9._-]` between.
    #[error(
        "a project name is letters, digits, '.', '_' and '-', starting and ending with a letter or digit"
    )]
    Characters,
    /// A package id's name that is not in its normalized form.
    #[error("the name in a pypi: package id is the normalized project name: {0}")]
    NotNormalized(String),
}

/// A valid project name, kept in its PEP 503-normalized form.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProjectName(String);

impl ProjectName {
    /// Parses `raw` as a PEP 508 name and normalizes it.
    ///
    /// # Errors
    /// `raw` is not a valid project name.
    pub fn parse(raw: &str) -> Result<Self, NameError> {
        if raw.is_empty() || raw.len() > MAX_NAME_LEN {
            return Err(NameError::Length);
        }
        let bytes = raw.as_bytes();
        let inner_ok = bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        let ends_ok = bytes.first().is_some_and(u8::is_ascii_alphanumeric)
            && bytes.last().is_some_and(u8::is_ascii_alphanumeric);
        if !(inner_ok && ends_ok) {
            return Err(NameError::Characters);
        }
        Ok(Self(normalize(raw)))
    }

    /// Parses the `<name>` of a `pypi:<domain>/<name>` package id, which
    /// must already be normalized, so one project has one id.
    ///
    /// # Errors
    /// Not a project name, or not in its normalized form.
    pub fn parse_id_name(raw: &str) -> Result<Self, NameError> {
        let name = Self::parse(raw)?;
        if name.0 == raw {
            Ok(name)
        } else {
            Err(NameError::NotNormalized(name.0))
        }
    }

    /// The normalized name (`my-project`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as distribution file names spell it (PEP 427 and 625): the
    /// normalized name with `_` for `-`.
    pub fn file_component(&self) -> String {
        self.0.replace('-', "_")
    }
}

impl std::fmt::Display for ProjectName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// PEP 503 normalization: lowercase, each run of `-`, `_`, `.` becomes `-`.
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_run {
                out.push('-');
            }
            in_run = true;
        } else {
            out.push(c.to_ascii_lowercase());
            in_run = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_normalize_as_pep_503_says() {
        for (raw, normalized) in [
            ("friendly-bard", "friendly-bard"),
            ("Friendly-Bard", "friendly-bard"),
            ("FRIENDLY-BARD", "friendly-bard"),
            ("friendly.bard", "friendly-bard"),
            ("friendly_bard", "friendly-bard"),
            ("friendly--bard", "friendly-bard"),
            ("FrIeNdLy-._.-bArD", "friendly-bard"),
            ("a", "a"),
            ("zope.interface", "zope-interface"),
        ] {
            assert_eq!(
                ProjectName::parse(raw).unwrap().as_str(),
                normalized,
                "{raw}"
            );
        }
        assert_eq!(
            ProjectName::parse("Zope.Interface")
                .unwrap()
                .file_component(),
            "zope_interface"
        );
    }

    #[test]
    fn package_id_names_must_be_normalized() {
        assert_eq!(
            ProjectName::parse_id_name("my-lib").unwrap().as_str(),
            "my-lib"
        );
        for raw in ["My-Lib", "my_lib", "my.lib", "my--lib"] {
            assert_eq!(
                ProjectName::parse_id_name(raw),
                Err(NameError::NotNormalized("my-lib".into())),
                "{raw}"
            );
        }
    }

    #[test]
    fn invalid_names_are_refused() {
        assert_eq!(ProjectName::parse(""), Err(NameError::Length));
        assert_eq!(
            ProjectName::parse(&"a".repeat(MAX_NAME_LEN + 1)),
            Err(NameError::Length)
        );
        for raw in [
            "-lead",
            "trail_",
            ".dot",
            "sp ace",
            "slash/name",
            "ünïcode",
            "a+b",
        ] {
            assert_eq!(ProjectName::parse(raw), Err(NameError::Characters), "{raw}");
        }
    }
}
