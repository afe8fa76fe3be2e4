//! The release config: `regesta.json` on the client (JSON5) and the
//! normalized `config` part of a publish (strict JSON).

use serde_json::Value;

use crate::digest::Digest;
use crate::error::{ProtocolError, Result};
use crate::fields::Fields;
use crate::ids::{PackageId, Version};
use crate::json::{JsonError, canonical_digest, parse_strict};
use crate::manifest::Text;
use crate::text::has_control_character;

/// Largest config accepted.
pub const MAX_CONFIG_BYTES: usize = 256 * 1024;
/// Most include/exclude patterns or languages.
pub const MAX_LIST_ITEMS: usize = 1024;

/// A validated release config.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseConfig {
    /// The package id.
    pub id: PackageId,
    /// The version (required for a publish; inferred by clients).
    pub version: Option<Version>,
    /// Description.
    pub description: Option<String>,
    /// Exports map.
    pub exports: Option<Value>,
    /// Family.
    pub family: Option<Text>,
    /// Languages.
    pub languages: Option<Vec<Text>>,
    /// Repository URL.
    pub repository: Option<String>,
    /// Source include patterns.
    pub include: Vec<String>,
    /// Source exclude patterns.
    pub exclude: Option<Vec<String>>,
    /// The config as a JSON object, exactly as validated (its canonical form
    /// is what `configDigest` hashes).
    pub json: Value,
}

impl ReleaseConfig {
    /// Parses the `config` part of a publish: strict JSON.
    ///
    /// # Errors
    /// Not strict JSON, or any `regesta.json` rule.
    pub fn parse_publish_part(bytes: &[u8]) -> Result<Self> {
        let value = parse_strict(bytes, MAX_CONFIG_BYTES)?;
        Self::from_json(value)
    }

    /// Parses a client's `regesta.json` (JSON5: comments, trailing commas…).
    ///
    /// # Errors
    /// Not JSON5, or any `regesta.json` rule.
    pub fn parse_json5(text: &str) -> Result<Self> {
        if text.len() > MAX_CONFIG_BYTES {
            return Err(JsonError::TooLarge(MAX_CONFIG_BYTES).into());
        }
        let value: Value = json5::from_str(text)
            .map_err(|e| ProtocolError::Json(JsonError::Syntax(e.to_string())))?;
        Self::from_json(value)
    }

    /// Validates a config object.
    ///
    /// # Errors
    /// Unknown or forbidden fields (`$schema`, `schema`, `dependencies`,
    /// `compatibility`), a bad id, or unsafe source paths.
    pub fn from_json(value: Value) -> Result<Self> {
        if let Value::Object(map) = &value {
            for forbidden in ["$schema", "schema", "dependencies", "compatibility"] {
                if map.contains_key(forbidden) {
                    return Err(ProtocolError::invalid(
                        forbidden,
                        format!("regesta.json must not contain {forbidden}"),
                    ));
                }
            }
        }
        let mut f = Fields::new(&value, "regesta.json")?;
        let id = PackageId::parse(f.str("id")?).map_err(|e| e.within("id"))?;
        let version = f.opt_str("version")?.map(Version::parse).transpose()?;
        let description = f.opt_str("description")?.map(str::to_owned);
        let repository = f.opt_str("repository")?.map(str::to_owned);
        let exports = f.opt("exports").cloned();
        let family = f
            .opt_token("family", Text::MAX_LEN)?
            .map(Text::parse)
            .transpose()?;
        let languages = f
            .opt("languages")
            .map(|v| text_list("languages", v))
            .transpose()?;
        if let Some(provenance) = f.opt("provenance") {
            let mut p = Fields::new(provenance, "provenance")?;
            p.constant("level", "source-attached")?;
            p.finish().map_err(|e| e.within("provenance"))?;
        }
        let mut s = Fields::new(f.req("source")?, "source")?;
        let include = match s.opt("include") {
            Some(v) => path_list("source.include", v)?,
            None => return Err(ProtocolError::invalid("source.include", "is required")),
        };
        let exclude = s
            .opt("exclude")
            .map(|v| path_list("source.exclude", v))
            .transpose()?;
        s.finish().map_err(|e| e.within("source"))?;
        if exclude
            .as_ref()
            .is_some_and(|list| list.iter().any(|p| p == "regesta.json"))
        {
            return Err(ProtocolError::invalid(
                "source.exclude",
                "must not exclude regesta.json",
            ));
        }
        f.finish()?;
        Ok(Self {
            id,
            version,
            description,
            exports,
            family,
            languages,
            repository,
            include,
            exclude,
            json: value,
        })
    }

    /// `configDigest`: sha256 of the canonical config.
    ///
    /// # Errors
    /// Never in practice.
    pub fn digest(&self) -> Result<Digest, JsonError> {
        canonical_digest(&self.json)
    }

    /// The config with `description` set (in its JSON too, so the digest
    /// covers it).
    #[must_use]
    pub fn with_description(mut self, description: String) -> Self {
        if let Value::Object(map) = &mut self.json {
            map.insert("description".into(), Value::String(description.clone()));
        }
        self.description = Some(description);
        self
    }

    /// The config with `version` set, as a client sends it.
    #[must_use]
    pub fn with_version(mut self, version: Version) -> Self {
        if let Value::Object(map) = &mut self.json {
            map.insert("version".into(), Value::String(version.as_str().to_owned()));
        }
        self.version = Some(version);
        self
    }
}

fn text_list(field: &'static str, value: &Value) -> Result<Vec<Text>> {
    let Value::Array(items) = value else {
        return Err(ProtocolError::invalid(field, "must be an array of strings"));
    };
    if items.len() > MAX_LIST_ITEMS {
        return Err(ProtocolError::invalid(field, "too many entries"));
    }
    items
        .iter()
        .map(|v| {
            v.as_str()
                .ok_or_else(|| ProtocolError::invalid(field, "must be an array of strings"))
                .and_then(Text::parse)
        })
        .collect()
}

fn path_list(field: &'static str, value: &Value) -> Result<Vec<String>> {
    let Value::Array(items) = value else {
        return Err(ProtocolError::invalid(field, "must be an array of paths"));
    };
    if items.len() > MAX_LIST_ITEMS {
        return Err(ProtocolError::invalid(field, "too many entries"));
    }
    items
        .iter()
        .map(|v| {
            let path = v
                .as_str()
                .ok_or_else(|| ProtocolError::invalid(field, "must be an array of paths"))?;
            check_source_path(path)
                .map_err(|reason| ProtocolError::invalid(field, reason.to_string()))?;
            Ok(path.to_owned())
        })
        .collect()
}

/// A source-archive path that breaks a v0 rule; the message is the
/// reference's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SourcePathError {
    /// Empty.
    #[error("Source archive path must be non-empty")]
    Empty,
    /// A C0 control character or DEL.
    #[error("Source archive path must not contain control characters")]
    ControlCharacter,
    /// A backslash.
    #[error("Source archive path must use forward slashes")]
    Backslash,
    /// Absolute (`/x`, `C:/x`).
    #[error("Source archive path must be relative")]
    Absolute,
    /// `.`, `./x`, `a//b`, `a/./b`.
    #[error("Source archive path must be normalized")]
    NotNormalized,
    /// A `..` segment.
    #[error("Source archive path must not contain parent directory segments")]
    Parent,
}

/// The v0 source-path rules: relative, forward slashes, normalized, no `..`,
/// no control characters.
///
/// # Errors
/// The rule the path breaks.
pub fn check_source_path(path: &str) -> std::result::Result<(), SourcePathError> {
    if path.is_empty() {
        return Err(SourcePathError::Empty);
    }
    if has_control_character(path) {
        return Err(SourcePathError::ControlCharacter);
    }
    if path.contains('\\') {
        return Err(SourcePathError::Backslash);
    }
    let b = path.as_bytes();
    if path.starts_with('/')
        || (b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'/')
    {
        return Err(SourcePathError::Absolute);
    }
    if path == "."
        || path.starts_with("./")
        || path.contains("//")
        || path.split('/').any(|s| s == ".")
    {
        return Err(SourcePathError::NotNormalized);
    }
    if path.split('/').any(|s| s == "..") {
        return Err(SourcePathError::Parent);
    }
    Ok(())
}
