//! Core metadata (`*.dist-info/METADATA` in a wheel, `PKG-INFO` in an
//! sdist): RFC 822-style header fields, then an optional description body.
//! It arrives inside an uploaded archive, so it is read within fixed bounds
//! and every field the index serves is checked here, once.

use crate::names::{NameError, ProjectName};
use crate::versions::{PyVersion, RequiresPython, VersionError};

/// Largest metadata file accepted (the description body included).
pub const MAX_METADATA_BYTES: usize = 1024 * 1024;
/// Most header fields accepted.
pub const MAX_FIELDS: usize = 2048;
/// Longest value of one field the index repeats (`Requires-Dist`,
/// `Project-URL`, `Summary`, …).
pub const MAX_FIELD_LEN: usize = 2048;

/// Why a metadata file is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    /// Larger than [`MAX_METADATA_BYTES`].
    #[error("core metadata is larger than {MAX_METADATA_BYTES} bytes")]
    TooLarge,
    /// Not UTF-8.
    #[error("core metadata is not UTF-8")]
    NotUtf8,
    /// More than [`MAX_FIELDS`] fields.
    #[error("core metadata has more than {MAX_FIELDS} fields")]
    TooManyFields,
    /// A header line that is neither `Field: value` nor a continuation.
    #[error("core metadata line {0} is not a `Field: value` header")]
    Malformed(usize),
    /// A field the index serves is longer than [`MAX_FIELD_LEN`].
    #[error("core metadata field {0} is longer than {MAX_FIELD_LEN} bytes")]
    FieldTooLong(&'static str),
    /// A required field is missing.
    #[error("core metadata has no {0} field")]
    Missing(&'static str),
    /// A single-use field appears twice.
    #[error("core metadata has more than one {0} field")]
    Repeated(&'static str),
    /// `Name` is not a project name.
    #[error("core metadata Name: {0}")]
    Name(#[from] NameError),
    /// `Version` or `Requires-Python` is not PEP 440.
    #[error("core metadata {field}: {error}")]
    Version {
        /// `Version` or `Requires-Python`.
        field: &'static str,
        /// Why.
        error: VersionError,
    },
}

/// The fields of core metadata the index and resolvers use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreMetadata {
    /// `Metadata-Version` (`2.1`, `2.4`).
    pub metadata_version: String,
    /// `Name`, normalized.
    pub name: ProjectName,
    /// `Version`.
    pub version: PyVersion,
    /// `Summary`.
    pub summary: Option<String>,
    /// `Requires-Python`.
    pub requires_python: Option<RequiresPython>,
    /// Every `Requires-Dist`, in order.
    pub requires_dist: Vec<String>,
    /// Every `Provides-Extra`, in order.
    pub provides_extra: Vec<String>,
    /// `License-Expression` (PEP 639).
    pub license_expression: Option<String>,
    /// Every `Project-URL` as (label, URL), in order.
    pub project_urls: Vec<(String, String)>,
}

/// The header fields of `text` as (name, value), continuation lines joined
/// with `\n`; the body after the first blank line is not read.
fn fields(text: &str) -> Result<Vec<(&str, String)>, MetadataError> {
    let mut out: Vec<(&str, String)> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            let (_, value) = out.last_mut().ok_or(MetadataError::Malformed(index + 1))?;
            value.push('\n');
            value.push_str(line.trim());
            continue;
        }
        let (name, value) = line
            .split_once(':')
            .filter(|(name, _)| {
                !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
            .ok_or(MetadataError::Malformed(index + 1))?;
        if out.len() == MAX_FIELDS {
            return Err(MetadataError::TooManyFields);
        }
        out.push((name, value.trim().to_owned()));
    }
    Ok(out)
}

/// The values of every field named `name` (compared case-insensitively,
/// as email headers are), each at most [`MAX_FIELD_LEN`] bytes.
fn all<'a>(
    fields: &'a [(&str, String)],
    name: &'static str,
) -> Result<Vec<&'a str>, MetadataError> {
    fields
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, value)| {
            if value.len() > MAX_FIELD_LEN {
                Err(MetadataError::FieldTooLong(name))
            } else {
                Ok(value.as_str())
            }
        })
        .collect()
}

/// The one value of the single-use field `name`, if present.
fn one<'a>(
    fields: &'a [(&str, String)],
    name: &'static str,
) -> Result<Option<&'a str>, MetadataError> {
    match all(fields, name)?.as_slice() {
        [] => Ok(None),
        [value] => Ok(Some(value)),
        _ => Err(MetadataError::Repeated(name)),
    }
}

impl CoreMetadata {
    /// The name and version it states, when they are not those of `file`
    /// (compared as PEP 503 names and PEP 440 versions).
    pub fn differs_from(&self, file: &crate::filename::DistFilename) -> Option<(String, String)> {
        (self.name != file.name || self.version != file.version)
            .then(|| (self.name.to_string(), self.version.normalized()))
    }

    /// Parses core metadata bytes.
    ///
    /// # Errors
    /// Too large, not UTF-8, malformed, missing `Metadata-Version`, `Name`
    /// or `Version`, or an invalid name, version or `Requires-Python`.
    pub fn parse(bytes: &[u8]) -> Result<Self, MetadataError> {
        if bytes.len() > MAX_METADATA_BYTES {
            return Err(MetadataError::TooLarge);
        }
        let text = std::str::from_utf8(bytes).map_err(|_| MetadataError::NotUtf8)?;
        let fields = fields(text)?;
        let required = |name: &'static str| {
            one(&fields, name)?
                .filter(|v| !v.is_empty())
                .ok_or(MetadataError::Missing(name))
        };
        let version = |field: &'static str| move |error| MetadataError::Version { field, error };
        let owned = |values: Vec<&str>| values.into_iter().map(str::to_owned).collect();
        Ok(Self {
            metadata_version: required("Metadata-Version")?.to_owned(),
            name: ProjectName::parse(required("Name")?)?,
            version: PyVersion::parse(required("Version")?).map_err(version("Version"))?,
            summary: one(&fields, "Summary")?.map(str::to_owned),
            requires_python: one(&fields, "Requires-Python")?
                .map(RequiresPython::parse)
                .transpose()
                .map_err(version("Requires-Python"))?,
            requires_dist: owned(all(&fields, "Requires-Dist")?),
            provides_extra: owned(all(&fields, "Provides-Extra")?),
            license_expression: one(&fields, "License-Expression")?.map(str::to_owned),
            project_urls: all(&fields, "Project-URL")?
                .into_iter()
                .map(|value| match value.split_once(',') {
                    Some((label, url)) => (label.trim().to_owned(), url.trim().to_owned()),
                    None => (String::new(), value.to_owned()),
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const METADATA: &str = "Metadata-Version: 2.4\n\
Name: My.Lib\n\
Version: 1.0RC1\n\
Summary: A small library\n\
Requires-Python: >=3.9\n\
License-Expression: MIT\n\
Project-URL: Homepage, https://a.localhost/lib\n\
Project-URL: Source, https://a.localhost/lib.git\n\
Provides-Extra: fast\n\
Requires-Dist: app>=1\n\
Requires-Dist: speedups; extra == \"fast\"\n\
Description-Content-Type: text/markdown\n\
Keywords: one,\n\
\x20 two\n\
\n\
# My lib\n\
\n\
Name: not a header, the body\n";

    #[test]
    fn the_index_fields_are_read() {
        let m = CoreMetadata::parse(METADATA.as_bytes()).unwrap();
        assert_eq!(m.metadata_version, "2.4");
        assert_eq!(m.name.as_str(), "my-lib");
        assert_eq!(m.version.normalized(), "1.0rc1");
        assert_eq!(m.summary.as_deref(), Some("A small library"));
        assert_eq!(m.requires_python.unwrap().normalized(), ">=3.9");
        assert_eq!(m.requires_dist, ["app>=1", "speedups; extra == \"fast\""]);
        assert_eq!(m.provides_extra, ["fast"]);
        assert_eq!(m.license_expression.as_deref(), Some("MIT"));
        assert_eq!(
            m.project_urls,
            [
                ("Homepage".to_owned(), "https://a.localhost/lib".to_owned()),
                (
                    "Source".to_owned(),
                    "https://a.localhost/lib.git".to_owned()
                )
            ]
        );
    }

    #[test]
    fn bad_metadata_is_refused_with_the_reason() {
        use MetadataError as E;
        let without = |field: &str| {
            METADATA
                .lines()
                .filter(|l| !l.starts_with(field))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let with = |line: &str| format!("{line}\n{METADATA}");
        assert_eq!(
            CoreMetadata::parse(without("Name:").as_bytes()),
            Err(E::Missing("Name"))
        );
        assert_eq!(
            CoreMetadata::parse(without("Version:").as_bytes()),
            Err(E::Missing("Version"))
        );
        assert_eq!(
            CoreMetadata::parse(with("Name: other").as_bytes()),
            Err(E::Repeated("Name"))
        );
        assert!(matches!(
            CoreMetadata::parse(
                format!("Requires-Python: >>3\n{}", without("Requires-Python:")).as_bytes()
            ),
            Err(E::Version {
                field: "Requires-Python",
                ..
            })
        ));
        assert_eq!(
            CoreMetadata::parse(b" leading continuation\nName: x\n"),
            Err(E::Malformed(1))
        );
        assert_eq!(
            CoreMetadata::parse(b"Metadata-Version: 2.1\nno colon here\n"),
            Err(E::Malformed(2))
        );
        assert_eq!(CoreMetadata::parse(b"Name: \xff\n"), Err(E::NotUtf8));
        assert_eq!(
            CoreMetadata::parse(&vec![b'a'; MAX_METADATA_BYTES + 1]),
            Err(E::TooLarge)
        );
        let many = "Classifier: x\n".repeat(MAX_FIELDS + 1);
        assert_eq!(CoreMetadata::parse(many.as_bytes()), Err(E::TooManyFields));
        let long = with(&format!("Requires-Dist: {}", "a".repeat(MAX_FIELD_LEN + 1)));
        assert_eq!(
            CoreMetadata::parse(long.as_bytes()),
            Err(E::FieldTooLong("Requires-Dist"))
        );
    }
}
