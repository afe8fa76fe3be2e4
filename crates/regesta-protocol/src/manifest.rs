//! Release manifests and object/artifact descriptors.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::authorization::MAX_ARTIFACTS;
use crate::digest::Digest;
use crate::error::{ProtocolError, Result};
use crate::fields::Fields;
use crate::ids::{PackageId, Version};
use crate::json::{JsonError, to_canonical_vec};
use crate::text::token_newtype;
use crate::timestamp::Timestamp;

/// Media type of release manifest objects.
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.regesta.release-manifest.v0+json";
/// Media type of source archive objects.
pub const SOURCE_ARCHIVE_MEDIA_TYPE: &str = "application/vnd.regesta.source-archive+tgz";

token_newtype!(
    /// A descriptor string (media type, role, format, filename, language,
    /// compatibility entry): non-empty, no control characters.
    Text,
    "value",
    1024
);

/// `{digest, mediaType, size}`: how every object is referenced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ObjectDescriptor {
    /// Content address.
    pub digest: Digest,
    /// Media type of the bytes.
    pub media_type: Text,
    /// Length in bytes.
    pub size: u64,
}

impl ObjectDescriptor {
    /// The descriptor of a source archive object.
    pub fn source_archive(digest: Digest, size: u64) -> Self {
        Self {
            digest,
            media_type: Text(SOURCE_ARCHIVE_MEDIA_TYPE.to_owned()),
            size,
        }
    }
}

/// Runtime compatibility entry: a bare runtime key or an object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RuntimeCompatibility {
    /// e.g. `"node"`.
    Key(Text),
    /// e.g. `{"name":"node","versions":">=20"}`.
    Detailed {
        /// Conditions (e.g. export conditions).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conditions: Option<Vec<Text>>,
        /// Runtime key.
        name: Text,
        /// Version range.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        versions: Option<Text>,
    },
}

/// ABI compatibility entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AbiCompatibility {
    /// ABI name.
    pub name: Text,
    /// Supported versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versions: Option<Vec<Text>>,
}

/// Platform compatibility entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformCompatibility {
    /// CPU architectures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<Vec<Text>>,
    /// C libraries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub libc: Option<Vec<Text>>,
    /// Operating systems.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<Vec<Text>>,
}

/// Where an artifact can run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Compatibility {
    /// ABIs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abi: Option<Vec<AbiCompatibility>>,
    /// Module systems.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modules: Option<Vec<Text>>,
    /// Platforms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platforms: Option<Vec<PlatformCompatibility>>,
    /// Runtimes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtimes: Option<Vec<RuntimeCompatibility>>,
}

/// One artifact of a release. Field order is the reference's response order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ArtifactDescriptor {
    /// Content address.
    pub digest: Digest,
    /// Media type.
    pub media_type: Text,
    /// Length in bytes.
    pub size: u64,
    /// Where it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compatibility: Option<Compatibility>,
    /// Metadata written by the ecosystem's artifact processor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecosystem_metadata: Option<Map<String, Value>>,
    /// File name clients see.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<Text>,
    /// Format, e.g. `npm-tarball`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<Text>,
    /// Role, e.g. `install`.
    pub role: Text,
}

/// Neutral release metadata.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseMetadata {
    /// One-line description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Package exports map.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exports: Option<Value>,
    /// Repository URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
}

impl ReleaseMetadata {
    /// Whether no field is set (then the manifest omits `metadata`).
    pub const fn is_empty(&self) -> bool {
        self.description.is_none() && self.exports.is_none() && self.repository.is_none()
    }
}

/// Provenance level; v0 knows only `source-attached`, unverified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// Always `source-attached` in v0.
    pub level: ProvenanceLevel,
    /// Always `false` in v0.
    pub verified: bool,
}

/// The only v0 provenance level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProvenanceLevel {
    /// The source archive is attached, nothing more is claimed.
    #[serde(rename = "source-attached")]
    SourceAttached,
}

/// The `object` tag of a manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ManifestTag {
    /// `regesta.release-manifest`
    #[serde(rename = "regesta.release-manifest")]
    ReleaseManifest,
}

/// An immutable release manifest. Field order is the reference's response
/// order; the stored object is canonical JSON plus `\n`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReleaseManifest {
    /// Always `regesta.release-manifest`.
    pub object: ManifestTag,
    /// Package id.
    pub id: PackageId,
    /// Ecosystem key (the id's prefix).
    pub ecosystem: String,
    /// `owner-domain/name`.
    pub name: String,
    /// Release version.
    pub version: Version,
    /// Install and other artifacts.
    pub artifacts: Vec<ArtifactDescriptor>,
    /// Digest of the canonical config.
    pub config_digest: Digest,
    /// The signed intent's timestamp.
    pub created_at: Timestamp,
    /// Optional family grouping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<Text>,
    /// Source languages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub languages: Option<Vec<Text>>,
    /// Neutral metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ReleaseMetadata>,
    /// Provenance.
    pub provenance: Provenance,
    /// The source archive.
    pub source: ObjectDescriptor,
}

impl ReleaseManifest {
    /// The stored object bytes: canonical JSON plus a trailing `\n`.
    ///
    /// # Errors
    /// Non-canonicalizable metadata (non-finite numbers cannot occur after
    /// strict parsing).
    pub fn object_bytes(&self) -> Result<Vec<u8>, JsonError> {
        let mut bytes = to_canonical_vec(self)?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// The manifest's descriptor (digest of [`Self::object_bytes`]).
    ///
    /// # Errors
    /// As [`Self::object_bytes`].
    pub fn descriptor(&self) -> Result<(ObjectDescriptor, Vec<u8>), JsonError> {
        let bytes = self.object_bytes()?;
        let descriptor = ObjectDescriptor {
            digest: Digest::of(&bytes),
            media_type: Text(MANIFEST_MEDIA_TYPE.to_owned()),
            size: bytes.len() as u64,
        };
        Ok((descriptor, bytes))
    }
}

/// The descriptor fields a publish intent signs over (no size, no
/// ecosystem metadata): `{compatibility?, digest, filename?, format?,
/// mediaType, role}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedArtifactDescriptor {
    /// Where it runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compatibility: Option<Compatibility>,
    /// Digest of the artifact bytes.
    pub digest: Digest,
    /// File name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filename: Option<Text>,
    /// Format.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<Text>,
    /// Media type.
    pub media_type: Text,
    /// Role.
    pub role: Text,
}

/// `artifactDescriptorDigest`: sha256 of the canonical JSON array of the
/// signed descriptor fields, in part order.
///
/// # Errors
/// Never in practice.
pub fn artifact_descriptor_digest(
    descriptors: &[SignedArtifactDescriptor],
) -> Result<Digest, JsonError> {
    Ok(Digest::of(&to_canonical_vec(&descriptors)?))
}

/// One entry of a publish's `artifacts` part: which multipart part holds the
/// artifact bytes, and the descriptor fields the intent signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactPart {
    /// The multipart field name holding the bytes, e.g. `artifact.0`.
    pub part: String,
    /// Where it runs.
    pub compatibility: Option<Compatibility>,
    /// File name.
    pub filename: Option<Text>,
    /// Format.
    pub format: Option<Text>,
    /// Media type.
    pub media_type: Text,
    /// Role.
    pub role: Text,
}

impl ArtifactPart {
    /// Parses the `artifacts` list: 1 to [`MAX_ARTIFACTS`] entries of
    /// `{part, mediaType, role, filename?, format?, compatibility?}`.
    ///
    /// # Errors
    /// Not a list, wrong count, or an entry with a missing, malformed or
    /// unknown field (the field path names the entry).
    pub fn parse_list(value: &Value) -> Result<Vec<Self>> {
        let Value::Array(items) = value else {
            return Err(ProtocolError::invalid("artifacts", "must be an array"));
        };
        if items.is_empty() || items.len() > MAX_ARTIFACTS {
            return Err(ProtocolError::invalid(
                "artifacts",
                format!("must list 1 to {MAX_ARTIFACTS} entries"),
            ));
        }
        items
            .iter()
            .enumerate()
            .map(|(i, item)| Self::parse(item).map_err(|e| e.within(&format!("artifacts[{i}]"))))
            .collect()
    }

    fn parse(value: &Value) -> Result<Self> {
        let mut f = Fields::new(value, "artifact")?;
        let text = |f: &mut Fields<'_>, name: &'static str| -> Result<Option<Text>> {
            f.opt_token(name, Text::MAX_LEN)
                .map(|v| v.map(|s| Text(s.to_owned())))
        };
        let part = f.token("part", Text::MAX_LEN)?.to_owned();
        let compatibility = f
            .opt("compatibility")
            .map(|v| {
                serde_json::from_value(v.clone())
                    .map_err(|e| ProtocolError::invalid("compatibility", e.to_string()))
            })
            .transpose()?;
        let filename = text(&mut f, "filename")?;
        let format = text(&mut f, "format")?;
        let media_type = Text(f.token("mediaType", Text::MAX_LEN)?.to_owned());
        let role = Text(f.token("role", Text::MAX_LEN)?.to_owned());
        f.finish()?;
        Ok(Self {
            part,
            compatibility,
            filename,
            format,
            media_type,
            role,
        })
    }

    /// The fields the publish intent signs over, for the artifact whose
    /// bytes hash to `digest`.
    pub fn signed(&self, digest: Digest) -> SignedArtifactDescriptor {
        SignedArtifactDescriptor {
            compatibility: self.compatibility.clone(),
            digest,
            filename: self.filename.clone(),
            format: self.format.clone(),
            media_type: self.media_type.clone(),
            role: self.role.clone(),
        }
    }
}
