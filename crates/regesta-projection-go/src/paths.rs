//! Module paths under the go command's rules (`golang.org/x/mod/module`):
//! what a path, an import path element and a file path inside a module may
//! be, the major version suffix (`/v2`), and the `!`-escaping the proxy
//! protocol uses so that no URL needs two casings. A module is a Regesta
//! package `go:<path>` whose owner domain is the path's first element.

use regesta_protocol::PackageId;

use crate::ECOSYSTEM;

/// Why a module path (or file path) is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed module path {path:?}: {reason}")]
pub struct PathError {
    /// The path as given.
    pub path: String,
    /// The rule it breaks.
    pub reason: String,
}

fn refuse(path: &str, reason: impl Into<String>) -> PathError {
    PathError {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

/// Element prefixes Windows reserves, compared case-blind.
const WINDOWS_RESERVED: [&str; 22] = [
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// A character of an import path element: ASCII letters and digits and
/// `+ - . _ ~`.
fn path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.' | '_' | '~')
}

/// A character of a file name: letters (any script), ASCII digits, space
/// and `! # $ % & ( ) + , - . = @ [ ] ^ _ { } ~`.
fn file_char(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || "!#$%&()+,-.=@[]^_{}~ ".contains(c)
    } else {
        c.is_alphabetic()
    }
}

/// One `/`-separated element; `file` for the elements of a file path.
fn check_element(element: &str, file: bool) -> Result<(), String> {
    if element.is_empty() {
        return Err("empty path element".into());
    }
    if element.chars().all(|c| c == '.') {
        return Err(format!("invalid path element {element:?}"));
    }
    if element.starts_with('.') && !file {
        return Err("leading dot in path element".into());
    }
    if element.ends_with('.') {
        return Err("trailing dot in path element".into());
    }
    let allowed = if file { file_char } else { path_char };
    if let Some(c) = element.chars().find(|&c| !allowed(c)) {
        return Err(format!("invalid char {c:?}"));
    }
    let short = element.split('.').next().unwrap_or(element);
    if WINDOWS_RESERVED
        .iter()
        .any(|bad| bad.eq_ignore_ascii_case(short))
    {
        return Err(format!(
            "{short:?} disallowed as path element component on Windows"
        ));
    }
    Ok(())
}

/// The rules import paths and file paths share.
fn check_general(path: &str, file: bool) -> Result<(), String> {
    if path.is_empty() {
        return Err("empty string".into());
    }
    if path.contains("..") {
        return Err("double dot".into());
    }
    if path.contains("//") {
        return Err("double slash".into());
    }
    if path.ends_with('/') {
        return Err("trailing slash".into());
    }
    path.split('/').try_for_each(|e| check_element(e, file))
}

/// Checks a file path inside a module (`golang.org/x/mod/module.CheckFilePath`).
///
/// # Errors
/// The rule the path breaks.
pub fn check_file_path(path: &str) -> Result<(), String> {
    check_general(path, true).map_err(|reason| format!("malformed file path {path:?}: {reason}"))
}

/// The major version suffix of `path` (`/v2` → `Some(2)`), or `None` for
/// v0/v1 paths.
///
/// # Errors
/// A suffix the go command refuses (`/v1`, `/v0`, `/v02`, `/v2.0`).
fn split_major(path: &str) -> Result<Option<u64>, String> {
    let Some((_, last)) = path.rsplit_once('/') else {
        return Ok(None);
    };
    let Some(digits) = last.strip_prefix('v') else {
        return Ok(None);
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Ok(None);
    }
    if digits.contains('.') || digits.starts_with('0') || digits == "1" {
        return Err("invalid version".into());
    }
    digits
        .parse()
        .map(Some)
        .map_err(|_| "invalid version".into())
}

/// A valid module path, its owner domain first.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ModulePath {
    path: String,
    major: Option<u64>,
}

/// Longest module path accepted (our bound, below the id bound).
pub const MAX_PATH_LEN: usize = 512;

impl ModulePath {
    /// Parses a module path (`golang.org/x/mod/module.CheckPath`): import
    /// path elements, a lowercase first element with a dot that is the
    /// owner domain, at least one element after it (Regesta ids name a
    /// package below the domain), and a well-formed major suffix.
    /// `gopkg.in` paths, whose majors follow other rules, are refused.
    ///
    /// # Errors
    /// The rule the path breaks.
    pub fn parse(path: &str) -> Result<Self, PathError> {
        if path.len() > MAX_PATH_LEN {
            return Err(refuse(path, format!("longer than {MAX_PATH_LEN} bytes")));
        }
        check_general(path, false).map_err(|reason| refuse(path, reason))?;
        let (first, rest) = path.split_once('/').unwrap_or((path, ""));
        if !first.contains('.') {
            return Err(refuse(path, "missing dot in first path element"));
        }
        if first.starts_with('-') {
            return Err(refuse(path, "leading dash in first path element"));
        }
        if let Some(c) = first
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.')))
        {
            return Err(refuse(
                path,
                format!("invalid char {c:?} in first path element"),
            ));
        }
        if first == "gopkg.in" {
            return Err(refuse(path, "gopkg.in paths are not served here"));
        }
        if rest.is_empty() {
            return Err(refuse(
                path,
                "a module is named below its owner domain (<domain>/<name>)",
            ));
        }
        let major = split_major(path).map_err(|reason| refuse(path, reason))?;
        let module = Self {
            path: path.to_owned(),
            major,
        };
        module.package_id()?;
        Ok(module)
    }

    /// The Regesta id of this module: `go:<path>`.
    ///
    /// # Errors
    /// The first element is not an owner domain Regesta accepts.
    pub fn package_id(&self) -> Result<PackageId, PathError> {
        PackageId::parse(&format!("{ECOSYSTEM}:{}", self.path))
            .map_err(|e| refuse(&self.path, e.to_string()))
    }

    /// The module of a `go:` package id.
    ///
    /// # Errors
    /// Not a `go:` id, or not a valid module path.
    pub fn from_id(id: &PackageId) -> Result<Self, PathError> {
        if id.ecosystem() != ECOSYSTEM {
            return Err(refuse(id.as_str(), "not a go: package id"));
        }
        Self::parse(id.name())
    }

    /// The path.
    pub fn as_str(&self) -> &str {
        &self.path
    }

    /// The major version the path's suffix requires (`/v2` → 2), if any.
    pub fn major(&self) -> Option<u64> {
        self.major
    }

    /// The path as the proxy protocol and module cache spell it: each
    /// uppercase letter as `!` and its lowercase.
    pub fn escaped(&self) -> String {
        escape(&self.path)
    }
}

impl std::fmt::Display for ModulePath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.path)
    }
}

/// `!`-escapes uppercase ASCII letters (paths and versions never hold `!`).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_uppercase() {
            out.push('!');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Undoes [`escape`]; `None` for text no escaping produces (an uppercase
/// letter, `!` not before a lowercase letter, non-ASCII).
pub fn unescape(escaped: &str) -> Option<String> {
    let mut out = String::with_capacity(escaped.len());
    let mut bang = false;
    for c in escaped.chars() {
        if !c.is_ascii() {
            return None;
        }
        if bang {
            if !c.is_ascii_lowercase() {
                return None;
            }
            out.push(c.to_ascii_uppercase());
            bang = false;
        } else if c == '!' {
            bang = true;
        } else if c.is_ascii_uppercase() {
            return None;
        } else {
            out.push(c);
        }
    }
    (!bang).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_paths_follow_the_go_command() {
        for good in [
            "acme.dev/hello",
            "acme.dev/hello/v2",
            "acme.dev/Upper/Case",
            "a-b.example.com/x~y/z_w+1",
            "acme.dev/hello/v10",
            "acme.dev/v2x",
        ] {
            let path = ModulePath::parse(good).unwrap_or_else(|e| panic!("{good}: {e}"));
            assert_eq!(path.package_id().unwrap().as_str(), format!("go:{good}"));
        }
        assert_eq!(
            ModulePath::parse("acme.dev/hello/v2").unwrap().major(),
            Some(2)
        );
        assert_eq!(ModulePath::parse("acme.dev/hello").unwrap().major(), None);
        for (bad, why) in [
            ("acme.dev", "below its owner domain"),
            ("acme/hello", "missing dot"),
            ("Acme.dev/hello", "invalid char 'A'"),
            ("-acme.dev/hello", "leading dash"),
            ("acme.dev/hello/v1", "invalid version"),
            ("acme.dev/hello/v0", "invalid version"),
            ("acme.dev/hello/v02", "invalid version"),
            ("acme.dev/hello/v2.1", "invalid version"),
            ("acme.dev//hello", "double slash"),
            ("acme.dev/hello/", "trailing slash"),
            ("acme.dev/../x", "double dot"),
            ("acme.dev/.hidden", "leading dot"),
            ("acme.dev/x.", "trailing dot"),
            ("acme.dev/a b", "invalid char"),
            ("acme.dev/con.txt", "Windows"),
            ("acme.dev/héllo", "invalid char"),
            ("gopkg.in/yaml.v2", "gopkg.in"),
        ] {
            let error = ModulePath::parse(bad).unwrap_err().to_string();
            assert!(error.contains(why), "{bad}: {error}");
        }
    }

    #[test]
    fn file_paths_allow_more_than_import_paths() {
        for good in ["go.mod", "a/b c/.hidden", "x/é.go", "a/b@c/{d}.txt"] {
            check_file_path(good).unwrap_or_else(|e| panic!("{good}: {e}"));
        }
        for bad in [
            "a/../b", "/abs", "a//b", "a/b/", "x?y", "a\\b", "a:b", "aux.go", "a\nb", "",
        ] {
            assert!(check_file_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn escaping_round_trips_and_rejects_what_no_escape_makes() {
        assert_eq!(escape("github.com/Azure/sdk"), "github.com/!azure/sdk");
        assert_eq!(
            unescape("github.com/!azure/sdk").unwrap(),
            "github.com/Azure/sdk"
        );
        assert_eq!(escape("v1.0.0-RC1"), "v1.0.0-!r!c1");
        for bad in ["A", "!", "a!", "!1", "é"] {
            assert_eq!(unescape(bad), None, "{bad}");
        }
    }
}
