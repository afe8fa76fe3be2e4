//! The ecosystem seam: what the core asks of an ecosystem when a release is
//! published. Core names no ecosystem; each one is a crate
//! (`regesta-projection-<ecosystem>`) that implements [`ArtifactProcessor`]
//! and is registered in [`Ecosystems`] by whoever wires the registry (the
//! server, the bench generator, tests). A package whose ecosystem has no
//! processor is published with its artifacts as they are.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use regesta_protocol::{PackageId, ReleaseConfig, Version};
use serde_json::{Map, Value};

/// Why an ecosystem refused a release's artifacts: a message a publisher can
/// act on (the wire message of the 400 `request_invalid`, so it is fixed
/// text, byte-equal to the reference's) and, where a decoder failed, the
/// decoder's error as its `source()` for direct callers (fuzzing, tests,
/// tools). The HTTP answer carries the message only.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ArtifactRefusal {
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl ArtifactRefusal {
    /// A refusal with no underlying error (a rule the artifact broke).
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }

    /// A refusal caused by `source` (an unreadable archive, bad JSON).
    pub fn caused_by(
        message: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// The message publishers see.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// What an ecosystem derived from a release's install artifact.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Processed {
    /// The release config, reconciled with the native manifest (npm: a
    /// `package.json` description is taken when the config has none): the
    /// config the signed `configDigest` must cover.
    pub config: Option<ReleaseConfig>,
    /// The install artifact's `ecosystemMetadata.<ecosystem>` object.
    pub metadata: Option<Map<String, Value>>,
    /// Facts derived from the bytes that the signed manifest does not carry
    /// (npm: `dist` integrity, shasum, file count, unpacked size), stored
    /// beside the release as canonical JSON.
    pub facts: Option<Bytes>,
    /// Objects derived from the artifacts that a projection serves (Python:
    /// each distribution's core metadata, for PEP 658), stored
    /// content-addressed with the release's own objects and committed with
    /// it. Anyone can recompute them from the artifacts.
    pub derived: Vec<DerivedObject>,
}

/// An object a processor derived from a release's artifacts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerivedObject {
    /// Its media type, as `/objects/` serves it.
    pub media_type: regesta_protocol::Text,
    /// Its bytes.
    pub bytes: Bytes,
}

/// One artifact of a release as a processor sees it: the signed
/// descriptor's role, file name and media type, and the bytes.
#[derive(Debug, Clone, Copy)]
pub struct ArtifactBytes<'a> {
    /// `install` for the artifact package managers install; ecosystems may
    /// use others.
    pub role: &'a str,
    /// The file name, where the publisher gave one (Python needs it: a
    /// distribution is identified by its file name).
    pub filename: Option<&'a str>,
    /// The media type.
    pub media_type: &'a str,
    /// The bytes.
    pub bytes: &'a [u8],
}

impl<'a> ArtifactBytes<'a> {
    /// The first artifact of `artifacts` with role `install`, the one an
    /// ecosystem with a single installable file (npm) processes.
    pub fn install(artifacts: &[ArtifactBytes<'a>]) -> Option<ArtifactBytes<'a>> {
        artifacts.iter().find(|a| a.role == "install").copied()
    }

    /// The only artifact of a release of `ecosystem` that has exactly one
    /// (`what`: `.crate file`, `module zip`), which must be named
    /// `expected` (Cargo and Go name the file after the release).
    ///
    /// # Errors
    /// Not exactly one artifact, or it is named otherwise.
    pub fn only_named(
        artifacts: &[ArtifactBytes<'a>],
        ecosystem: &str,
        what: &str,
        expected: &str,
    ) -> Result<ArtifactBytes<'a>, ArtifactRefusal> {
        let [artifact] = artifacts else {
            return Err(ArtifactRefusal::new(format!(
                "a {ecosystem} release has exactly one {what}"
            )));
        };
        if artifact.filename != Some(expected) {
            return Err(ArtifactRefusal::new(format!(
                "a {ecosystem} release's {what} is named {expected}, not {}",
                artifact.filename.unwrap_or("(unnamed)")
            )));
        }
        Ok(*artifact)
    }
}

/// An ecosystem's artifact processor: validates a release's artifacts
/// against the release and derives the ecosystem's facts. Deterministic and
/// bounded: the same bytes give the same result (verifiers recompute it),
/// and hostile archives are refused within fixed limits. It may be slow
/// (decompression), so core runs it off the request workers.
pub trait ArtifactProcessor: Send + Sync + 'static {
    /// The ecosystem it serves: the first part of package ids (`npm` in
    /// `npm:some.dev/sdk`).
    fn ecosystem(&self) -> &'static str;

    /// Processes the artifacts of `config` at `version`, in the order the
    /// publisher signed them.
    ///
    /// # Errors
    /// An artifact does not belong to this release or is not acceptable.
    fn process(
        &self,
        config: &ReleaseConfig,
        version: &Version,
        artifacts: &[ArtifactBytes<'_>],
    ) -> Result<Processed, ArtifactRefusal>;

    /// The key under which `version` must be unique among a package's
    /// releases, when the ecosystem's clients take several spellings for
    /// one version (PEP 440: `1.0` and `1.0.0`). `None`, the default:
    /// versions are compared as written.
    fn version_key(&self, version: &Version) -> Option<String> {
        let _ = version;
        None
    }

    /// The key under which the package's name must be unique among the
    /// packages of its namespace, when the ecosystem's clients take two
    /// names for one (Cargo: `foo-bar` and `foo_bar`). It names the whole
    /// id (`cargo:some.dev/foo_bar`), so keys of two namespaces never meet.
    /// `None`, the default: ids are compared as written.
    fn name_key(&self, id: &PackageId) -> Option<String> {
        let _ = id;
        None
    }
}

/// The ecosystems a registry knows, by name.
#[derive(Clone, Default)]
pub struct Ecosystems {
    processors: BTreeMap<&'static str, Arc<dyn ArtifactProcessor>>,
}

impl std::fmt::Debug for Ecosystems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.processors.keys()).finish()
    }
}

impl Ecosystems {
    /// No ecosystems: every release is published as it is.
    pub fn new() -> Self {
        Self::default()
    }

    /// These ecosystems plus `processor` (replacing one of the same name).
    #[must_use]
    pub fn with(mut self, processor: Arc<dyn ArtifactProcessor>) -> Self {
        self.processors.insert(processor.ecosystem(), processor);
        self
    }

    /// The processor of `ecosystem`, if one is registered.
    pub fn processor(&self, ecosystem: &str) -> Option<Arc<dyn ArtifactProcessor>> {
        self.processors.get(ecosystem).cloned()
    }
}

/// Runs `processor` again on a published release: the manifest's artifact
/// descriptors with their (verified) bytes. What a processor derives is not
/// signed, so verifiers and migrations recompute it this way. The release
/// config itself is not kept (only its digest); processors read its id and
/// version, which the manifest carries.
///
/// # Errors
/// The artifacts no longer process (or the manifest's id makes no config).
pub fn reprocess(
    processor: &dyn ArtifactProcessor,
    manifest: &regesta_protocol::ReleaseManifest,
    artifacts: &[(regesta_protocol::ArtifactDescriptor, Bytes)],
) -> Result<Processed, ArtifactRefusal> {
    let config = ReleaseConfig::from_json(serde_json::json!({
        "id": manifest.id.as_str(),
        "version": manifest.version.as_str(),
        "source": { "include": ["regesta.json"] },
    }))
    .map_err(|e| ArtifactRefusal::caused_by("the manifest's id and version make no config", e))?;
    let views: Vec<ArtifactBytes<'_>> = artifacts
        .iter()
        .map(|(a, bytes)| ArtifactBytes {
            role: a.role.as_str(),
            filename: a.filename.as_ref().map(regesta_protocol::Text::as_str),
            media_type: a.media_type.as_str(),
            bytes,
        })
        .collect();
    processor.process(&config, &manifest.version, &views)
}
