//! Crate names. Cargo accepts a name of ASCII letters, digits, `-` and `_`
//! that does not start with a digit; crates.io adds a length cap, a leading
//! letter and reserved names, and treats names that differ only in case or
//! in `-` versus `_` as one crate. Regesta ids are lowercase, so a crate
//! with uppercase letters cannot be published; the collision rule applies
//! within each owner domain's registry.

use regesta_protocol::PackageId;

use crate::ECOSYSTEM;

/// Longest crate name (crates.io's limit).
pub const MAX_NAME_LEN: usize = 64;

/// Names no crate may take: Windows device names (a crate directory named
/// so cannot be created there) and the standard library's crates.
const RESERVED: &[&str] = &[
    "alloc",
    "aux",
    "com1",
    "com2",
    "com3",
    "com4",
    "com5",
    "com6",
    "com7",
    "com8",
    "com9",
    "con",
    "core",
    "lpt1",
    "lpt2",
    "lpt3",
    "lpt4",
    "lpt5",
    "lpt6",
    "lpt7",
    "lpt8",
    "lpt9",
    "nul",
    "prn",
    "proc-macro",
    "proc_macro",
    "std",
    "test",
];

/// Why a string is not a publishable crate name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Empty.
    #[error("a crate name cannot be empty")]
    Empty,
    /// Longer than [`MAX_NAME_LEN`].
    #[error("a crate name has at most {MAX_NAME_LEN} characters")]
    TooLong,
    /// A character outside ASCII letters, digits, `-` and `_`.
    #[error("{0:?} is not allowed in a crate name (ASCII letters, digits, - and _ only)")]
    Character(char),
    /// Does not start with a letter.
    #[error("a crate name starts with an ASCII letter")]
    Start,
    /// Has uppercase letters: Regesta ids are lowercase.
    #[error("{0:?} has uppercase letters; Regesta ids are lowercase, so publish it as {1:?}")]
    Uppercase(String, String),
    /// A reserved name.
    #[error("{0:?} is a reserved crate name")]
    Reserved(String),
}

/// A crate name that may be published: lowercase ASCII letters, digits,
/// `-` and `_`, starting with a letter, at most [`MAX_NAME_LEN`] long, not
/// reserved.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CrateName(String);

impl CrateName {
    /// Parses `raw`.
    ///
    /// # Errors
    /// See [`NameError`].
    pub fn parse(raw: &str) -> Result<Self, NameError> {
        let first = raw.chars().next().ok_or(NameError::Empty)?;
        if raw.len() > MAX_NAME_LEN {
            return Err(NameError::TooLong);
        }
        if let Some(bad) = raw
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(NameError::Character(bad));
        }
        if !first.is_ascii_alphabetic() {
            return Err(NameError::Start);
        }
        if raw.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(NameError::Uppercase(
                raw.to_owned(),
                raw.to_ascii_lowercase(),
            ));
        }
        if RESERVED.contains(&raw) {
            return Err(NameError::Reserved(raw.to_owned()));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key two names of one registry must not share: crates.io treats
    /// `foo-bar`, `foo_bar` and `Foo_Bar` as one crate.
    pub fn collision_key(&self) -> String {
        self.0.replace('-', "_")
    }

    /// The Regesta id of this crate in `domain`'s registry.
    ///
    /// # Errors
    /// `domain` is not a valid owner domain.
    pub fn package_id(&self, domain: &str) -> Result<PackageId, regesta_protocol::ProtocolError> {
        PackageId::parse(&format!("{ECOSYSTEM}:{domain}/{}", self.0))
    }

    /// Where the crate's index file lives below the index root, as Cargo
    /// computes it: `1/a`, `2/ab`, `3/a/abc`, then `ab/cd/abcd…` (the
    /// name is lowercase already).
    pub fn index_path(&self) -> String {
        let name = self.0.as_str();
        match name.len() {
            1 => format!("1/{name}"),
            2 => format!("2/{name}"),
            3 => format!("3/{}/{name}", &name[..1]),
            _ => format!("{}/{}/{name}", &name[..2], &name[2..4]),
        }
    }
}

impl std::fmt::Display for CrateName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_names_that_crates_io_takes_are_accepted() {
        for name in ["a", "serde", "serde_json", "tokio-util", "x86", "a-_-b"] {
            assert_eq!(CrateName::parse(name).unwrap().as_str(), name);
        }
        let long = "a".repeat(MAX_NAME_LEN);
        assert!(CrateName::parse(&long).is_ok());
    }

    #[test]
    fn other_names_are_refused_with_the_reason() {
        let refused = |raw: &str| CrateName::parse(raw).unwrap_err();
        assert_eq!(refused(""), NameError::Empty);
        assert_eq!(refused(&"a".repeat(MAX_NAME_LEN + 1)), NameError::TooLong);
        assert_eq!(refused("my.crate"), NameError::Character('.'));
        assert_eq!(refused("caf\u{e9}"), NameError::Character('\u{e9}'));
        assert_eq!(refused("my crate"), NameError::Character(' '));
        assert_eq!(refused("1password"), NameError::Start);
        assert_eq!(refused("_private"), NameError::Start);
        assert_eq!(refused("-x"), NameError::Start);
        assert_eq!(
            refused("Inflector"),
            NameError::Uppercase("Inflector".into(), "inflector".into())
        );
        assert!(
            refused("Inflector")
                .to_string()
                .contains("publish it as \"inflector\"")
        );
        for reserved in ["std", "core", "nul", "com1", "proc_macro"] {
            assert_eq!(refused(reserved), NameError::Reserved(reserved.into()));
        }
    }

    #[test]
    fn dashes_and_underscores_collide() {
        let key = |raw: &str| CrateName::parse(raw).unwrap().collision_key();
        assert_eq!(key("foo-bar"), key("foo_bar"));
        assert_ne!(key("foo-bar"), key("foobar"));
    }

    #[test]
    fn index_paths_follow_cargo() {
        for (name, path) in [
            ("a", "1/a"),
            ("ab", "2/ab"),
            ("abc", "3/a/abc"),
            ("abcd", "ab/cd/abcd"),
            ("serde_json", "se/rd/serde_json"),
            ("lib-a", "li/b-/lib-a"),
        ] {
            assert_eq!(CrateName::parse(name).unwrap().index_path(), path);
        }
    }

    #[test]
    fn ids_are_per_domain() {
        let name = CrateName::parse("lib-a").unwrap();
        assert_eq!(
            name.package_id("a.localhost").unwrap().as_str(),
            "cargo:a.localhost/lib-a"
        );
        assert!(name.package_id("Not A Domain").is_err());
    }
}
