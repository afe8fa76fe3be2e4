//! The publish use case: typed parts in, one atomic commit out.

use bytes::Bytes;
use regesta_protocol::envelope::render_envelope;
use regesta_protocol::json::{JsonError, parse_strict};
use regesta_protocol::manifest::{
    ArtifactPart, Provenance, ProvenanceLevel, ReleaseMetadata, SignedArtifactDescriptor,
    artifact_descriptor_digest,
};
use regesta_protocol::{
    ArtifactDescriptor, AuthorizationProof, ChannelName, Digest, Event, EventBody, IntentAction,
    ObjectDescriptor, PackageId, ReleaseConfig, ReleaseManifest, SealedEvent, Version,
    WriteAuthorization,
};
use regesta_store::{PublishCommit, ReleaseDocuments, StoreError};
use regesta_trust::TrustError;
use serde_json::{Map, Value};

use crate::ecosystem::{ArtifactBytes, Processed};
use crate::error::CoreError;
use crate::registry::Registry;
use crate::render::render_event;

/// Largest `artifacts` or `authorization` part accepted.
pub const MAX_JSON_PART_BYTES: usize = 256 * 1024;

/// One file part of the multipart body.
#[derive(Debug, Clone)]
pub struct FilePart {
    /// Form field name, e.g. `artifact.0`.
    pub name: String,
    /// Bytes.
    pub bytes: Bytes,
}

/// The parts of `POST /releases`, untrusted.
#[derive(Debug, Clone)]
pub struct PublishRequest {
    /// `config` part.
    pub config: Bytes,
    /// `source` part.
    pub source: Bytes,
    /// `artifacts` part (JSON list naming the artifact parts).
    pub artifacts: Bytes,
    /// `authorization` part.
    pub authorization: Bytes,
    /// Every other file part, by name.
    pub files: Vec<FilePart>,
    /// The optional `createdAt` text part: when given it must equal the
    /// authorization's `signedAt` (the reference's rule), since the event
    /// time is always the signed time.
    pub created_at: Option<String>,
}

/// A successful publish.
#[derive(Debug, Clone)]
pub struct Published {
    /// The channel moved.
    pub channel: ChannelName,
    /// The `release.published` event.
    pub event: SealedEvent,
    /// The manifest.
    pub manifest: ReleaseManifest,
    /// The manifest object's descriptor.
    pub manifest_descriptor: ObjectDescriptor,
}

struct ArtifactInput {
    signed: SignedArtifactDescriptor,
    bytes: Bytes,
}

/// Pairs each entry of the `artifacts` part with its file part's bytes.
fn parse_artifacts(request: &PublishRequest) -> Result<Vec<ArtifactInput>, CoreError> {
    let invalid =
        |e: &dyn std::fmt::Display| CoreError::invalid("Invalid artifacts", vec![e.to_string()]);
    let value = parse_strict(&request.artifacts, MAX_JSON_PART_BYTES).map_err(|e| invalid(&e))?;
    ArtifactPart::parse_list(&value)
        .map_err(|e| invalid(&e))?
        .into_iter()
        .map(|entry| {
            let file = request
                .files
                .iter()
                .find(|f| f.name == entry.part)
                .ok_or_else(|| {
                    CoreError::invalid(
                        format!("Invalid publish request field {}", entry.part),
                        vec!["Must be a file".to_owned()],
                    )
                })?;
            Ok(ArtifactInput {
                signed: entry.signed(Digest::of(&file.bytes)),
                bytes: file.bytes.clone(),
            })
        })
        .collect()
}

/// 401 "Write authorization payload mismatch", worded as the reference
/// words it, with no issues on the wire.
pub(crate) fn mismatch() -> CoreError {
    CoreError::Unauthorized(TrustError::new("Write authorization payload mismatch"))
}

impl Registry {
    /// Publishes a release: validates every part, checks the signed intent
    /// against the body, verifies the signature against the owner domain's
    /// binding, runs the artifact processor, writes the objects, then commits
    /// release, channel, event and replay marker in one transaction.
    ///
    /// # Errors
    /// See [`CoreError`]; nothing is committed on error.
    pub async fn publish(&self, request: PublishRequest) -> Result<Published, CoreError> {
        // The reference's order: parts (400), artifact processing (400),
        // authorization shape, intent and signature (401), createdAt (400),
        // replay (409), existing release (409).
        let config = ReleaseConfig::parse_publish_part(&request.config)
            .map_err(|e| CoreError::from_protocol("Invalid release config", &e))?;
        let version = config.version.clone().ok_or_else(|| {
            CoreError::invalid("Invalid release config", vec!["version is required".into()])
        })?;
        let artifacts = parse_artifacts(&request)?;
        let auth_json = parse_authorization_json(&request.authorization)?;
        let processed = self
            .process_artifacts(&config, &version, &artifacts)
            .await?;
        let config = processed.config.clone().unwrap_or(config);
        let auth = parse_authorization_value(&auth_json)?;

        let config_digest = config.digest().map_err(CoreError::internal)?;
        let source_digest = Digest::of(&request.source);
        let descriptor_digest = descriptors_digest(&artifacts)?;
        check_intent(
            &auth,
            &Expected {
                config: &config,
                version: &version,
                config_digest,
                source_digest,
                artifacts: &artifacts,
                descriptor_digest,
            },
        )?;

        let proof = self.authorize(&auth).await?;
        check_created_at(request.created_at.as_deref(), &auth)?;
        self.refuse_replay(&proof).await?;
        // Cheap early refusal of the common conflict, before any object is
        // written; the commit still decides races.
        let exists = || CoreError::ReleaseExists {
            package: config.id.clone(),
            version: version.clone(),
        };
        let (version_key, name_key) = self.refuse_conflicts(&config.id, &version).await?;
        let manifest = build_manifest(
            &config,
            version.clone(),
            config_digest,
            &auth,
            ObjectDescriptor::source_archive(source_digest, request.source.len() as u64),
            &artifacts,
            processed.metadata.as_ref(),
        );
        let (manifest_descriptor, manifest_bytes) =
            manifest.descriptor().map_err(CoreError::internal)?;

        let event = release_event(&manifest, &manifest_descriptor, proof.clone())?;
        let rendered = render_event(&event)?;
        let envelope = render_envelope(&event, &manifest, &manifest_descriptor)
            .map_err(CoreError::internal)?;

        // Objects first (content-addressed, idempotent, durable), then one
        // transaction: a crash in between leaves only unreferenced objects.
        let derived = derived_objects(&processed);
        self.write_objects(
            &manifest_descriptor,
            manifest_bytes,
            &manifest.source,
            &request,
            &artifacts,
            &derived,
        )
        .await?;
        let objects = release_objects(&manifest_descriptor, &manifest, derived);
        self.db
            .commit_publish(&PublishCommit {
                package: config.id.clone(),
                version: version.clone(),
                manifest_digest: manifest_descriptor.digest,
                created_at: auth.payload.timestamp,
                channel: ChannelName::latest(),
                event_id: event.id,
                event_bytes: rendered.bytes,
                event_listing: rendered.listing,
                documents: ReleaseDocuments {
                    event_id: event.id,
                    envelope: Bytes::from(envelope.canonical),
                    listing: Bytes::from(envelope.listing),
                },
                payload_digest: Some(proof.payload_digest),
                objects,
                facts: processed.facts.clone(),
                version_key,
                name_key,
            })
            .await
            .map_err(|e| match e {
                StoreError::ReleaseExists => exists(),
                StoreError::NameTaken(existing) => CoreError::PackageNameConflict {
                    package: config.id.clone(),
                    existing,
                },
                StoreError::Replayed => CoreError::Replayed(proof.payload_digest),
                other => other.into(),
            })?;
        Ok(Published {
            channel: ChannelName::latest(),
            event,
            manifest,
            manifest_descriptor,
        })
    }

    /// Refuses, before any object is written, a publish that a commit
    /// would refuse: the version exists, an equivalent one does, or another
    /// package holds the name. The keys to commit with (the commit still
    /// decides races).
    async fn refuse_conflicts(
        &self,
        id: &PackageId,
        version: &Version,
    ) -> Result<(Option<String>, Option<String>), CoreError> {
        if self.db.release(id, version).await?.is_some() {
            return Err(CoreError::ReleaseExists {
                package: id.clone(),
                version: version.clone(),
            });
        }
        let version_key = self.refuse_equivalent(id, version).await?;
        let name_key = self.refuse_name_conflict(id).await?;
        Ok((version_key, name_key))
    }

    /// The version's key in its ecosystem (see
    /// [`crate::ArtifactProcessor::version_key`]), after refusing the
    /// publish when a release of `id` already has it. The store's commit
    /// still decides races; this names the release in the way.
    async fn refuse_equivalent(
        &self,
        id: &PackageId,
        version: &Version,
    ) -> Result<Option<String>, CoreError> {
        let Some(processor) = self.ecosystems.processor(id.ecosystem()) else {
            return Ok(None);
        };
        let Some(key) = processor.version_key(version) else {
            return Ok(None);
        };
        let Some(record) = self.db.package(id).await? else {
            return Ok(Some(key));
        };
        let existing = record
            .releases
            .iter()
            .find(|r| processor.version_key(&r.version).as_ref() == Some(&key));
        if let Some(existing) = existing {
            return Err(CoreError::EquivalentRelease {
                package: id.clone(),
                version: version.clone(),
                existing: existing.version.clone(),
            });
        }
        Ok(Some(key))
    }

    /// The package name's key in its ecosystem (see
    /// [`crate::ArtifactProcessor::name_key`]), after refusing the publish
    /// when another package of the namespace holds it. The store's commit
    /// still decides races; this names the package in the way before any
    /// object is written.
    async fn refuse_name_conflict(&self, id: &PackageId) -> Result<Option<String>, CoreError> {
        let Some(key) = self
            .ecosystems
            .processor(id.ecosystem())
            .and_then(|processor| processor.name_key(id))
        else {
            return Ok(None);
        };
        match self.db.package_named(&key).await? {
            Some(existing) if existing != *id => Err(CoreError::PackageNameConflict {
                package: id.clone(),
                existing,
            }),
            _ => Ok(Some(key)),
        }
    }

    /// Runs the package's ecosystem processor, if one is registered, on the
    /// release's artifacts. Processing may decompress up to the ecosystem's
    /// bound, so it runs on the blocking pool rather than stalling the
    /// request workers.
    async fn process_artifacts(
        &self,
        config: &ReleaseConfig,
        version: &Version,
        artifacts: &[ArtifactInput],
    ) -> Result<Processed, CoreError> {
        let Some(processor) = self.ecosystems.processor(config.id.ecosystem()) else {
            return Ok(Processed::default());
        };
        let owned: Vec<(SignedArtifactDescriptor, Bytes)> = artifacts
            .iter()
            .map(|a| (a.signed.clone(), a.bytes.clone()))
            .collect();
        let (config, version) = (config.clone(), version.clone());
        tokio::task::spawn_blocking(move || {
            let views: Vec<ArtifactBytes<'_>> = owned
                .iter()
                .map(|(signed, bytes)| ArtifactBytes {
                    role: signed.role.as_str(),
                    filename: signed.filename.as_ref().map(regesta_protocol::Text::as_str),
                    media_type: signed.media_type.as_str(),
                    bytes,
                })
                .collect();
            processor.process(&config, &version, &views)
        })
        .await
        .map_err(CoreError::internal)?
        .map_err(|e| CoreError::invalid(e.message(), Vec::new()))
    }

    /// Writes the manifest, source, artifact and derived objects' bytes to
    /// the blob store.
    async fn write_objects(
        &self,
        manifest: &ObjectDescriptor,
        manifest_bytes: Vec<u8>,
        source: &ObjectDescriptor,
        request: &PublishRequest,
        artifacts: &[ArtifactInput],
        derived: &[(ObjectDescriptor, Bytes)],
    ) -> Result<(), CoreError> {
        // One batch, each object once (the source and an artifact may be
        // the same bytes): the store makes them durable together (one
        // file-system sync, or concurrent S3 puts).
        let mut objects = vec![
            (manifest.digest, Bytes::from(manifest_bytes)),
            (source.digest, request.source.clone()),
        ];
        objects.extend(artifacts.iter().map(|a| (a.signed.digest, a.bytes.clone())));
        objects.extend(derived.iter().map(|(d, bytes)| (d.digest, bytes.clone())));
        let mut seen = std::collections::HashSet::new();
        objects.retain(|(digest, _)| seen.insert(*digest));
        self.blobs.put_all(objects).await?;
        Ok(())
    }
}

/// The processor's derived objects with their descriptors.
fn derived_objects(processed: &Processed) -> Vec<(ObjectDescriptor, Bytes)> {
    processed
        .derived
        .iter()
        .map(|d| {
            let descriptor = ObjectDescriptor {
                digest: Digest::of(&d.bytes),
                media_type: d.media_type.clone(),
                size: d.bytes.len() as u64,
            };
            (descriptor, d.bytes.clone())
        })
        .collect()
}

/// Every object a release references, for its commit: the manifest, the
/// source, the artifacts and what the processor derived.
fn release_objects(
    manifest_descriptor: &ObjectDescriptor,
    manifest: &ReleaseManifest,
    derived: Vec<(ObjectDescriptor, Bytes)>,
) -> Vec<ObjectDescriptor> {
    let mut objects = vec![manifest_descriptor.clone(), manifest.source.clone()];
    objects.extend(manifest.artifacts.iter().map(|a| ObjectDescriptor {
        digest: a.digest,
        media_type: a.media_type.clone(),
        size: a.size,
    }));
    objects.extend(derived.into_iter().map(|(descriptor, _)| descriptor));
    objects
}

/// `artifactDescriptorDigest` of the request's artifacts.
fn descriptors_digest(artifacts: &[ArtifactInput]) -> Result<Digest, CoreError> {
    let signed: Vec<SignedArtifactDescriptor> =
        artifacts.iter().map(|a| a.signed.clone()).collect();
    artifact_descriptor_digest(&signed).map_err(CoreError::internal)
}

/// Reads the `authorization` part as a JSON object, as the reference's
/// form reader does: text that is not JSON is 400 "Invalid authorization
/// JSON", JSON that is not an object 400 "Invalid authorization". JSON the
/// reference would take but a signed document must not carry (duplicate
/// keys, unsafe integers) is refused as an invalid authorization (401).
fn parse_authorization_json(bytes: &[u8]) -> Result<Value, CoreError> {
    let value = parse_strict(bytes, MAX_JSON_PART_BYTES).map_err(|e| match e {
        JsonError::Syntax(_) | JsonError::TooLarge(_) => {
            CoreError::invalid("Invalid authorization JSON", Vec::new())
        }
        other => CoreError::Unauthorized(TrustError::with_issues(
            "Invalid write authorization",
            vec![other.to_string()],
        )),
    })?;
    if !value.is_object() {
        let issue = format!(
            "Invalid type: Expected Object but received {}",
            js_kind(&value)
        );
        return Err(CoreError::invalid("Invalid authorization", vec![issue]));
    }
    Ok(value)
}

/// How the reference's schema library names a received JSON value.
fn js_kind(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Array(_) => "Array".to_owned(),
        Value::Object(_) => "Object".to_owned(),
        Value::String(text) => format!("\"{text}\""),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
    }
}

/// Parses an authorization object; any shape error is a 401 worded as the
/// reference words it.
pub(crate) fn parse_authorization_value(json: &Value) -> Result<WriteAuthorization, CoreError> {
    WriteAuthorization::from_json(json)
        .map_err(|e| CoreError::Unauthorized(TrustError::new(e.sentence())))
}

/// A non-empty `createdAt` part must be the authorization's `signedAt`.
fn check_created_at(created_at: Option<&str>, auth: &WriteAuthorization) -> Result<(), CoreError> {
    match created_at {
        Some(text) if !text.is_empty() && text != auth.payload.timestamp.to_string() => {
            Err(CoreError::invalid(
                "Publish createdAt must match write authorization signedAt",
                Vec::new(),
            ))
        }
        _ => Ok(()),
    }
}

/// The `release.published` event of `manifest`, moving `latest`.
fn release_event(
    manifest: &ReleaseManifest,
    descriptor: &ObjectDescriptor,
    proof: AuthorizationProof,
) -> Result<SealedEvent, CoreError> {
    Event {
        timestamp: manifest.created_at,
        authorization: Some(proof),
        body: EventBody::ReleasePublished {
            package: manifest.id.clone(),
            version: manifest.version.clone(),
            manifest_digest: descriptor.digest,
            channel: ChannelName::latest(),
            source_digest: manifest.source.digest,
            artifact_digests: manifest.artifacts.iter().map(|a| a.digest).collect(),
        },
    }
    .seal()
    .map_err(CoreError::internal)
}

/// What the request actually contains, to compare with the signed intent.
struct Expected<'a> {
    config: &'a ReleaseConfig,
    version: &'a Version,
    config_digest: Digest,
    source_digest: Digest,
    artifacts: &'a [ArtifactInput],
    descriptor_digest: Digest,
}

/// The signed intent must describe exactly this request.
fn check_intent(auth: &WriteAuthorization, expected: &Expected<'_>) -> Result<(), CoreError> {
    let IntentAction::Publish {
        version,
        channel,
        config_digest,
        source_digest,
        artifact_digests,
        artifact_descriptor_digest,
    } = &auth.payload.action
    else {
        return Err(mismatch());
    };
    let checks = [
        auth.payload.package == expected.config.id,
        version == expected.version,
        channel.as_str() == "latest",
        *config_digest == expected.config_digest,
        *source_digest == expected.source_digest,
        artifact_digests
            .iter()
            .eq(expected.artifacts.iter().map(|a| &a.signed.digest)),
        *artifact_descriptor_digest == expected.descriptor_digest,
    ];
    if checks.iter().all(|ok| *ok) {
        Ok(())
    } else {
        Err(mismatch())
    }
}

fn build_manifest(
    config: &ReleaseConfig,
    version: Version,
    config_digest: Digest,
    auth: &WriteAuthorization,
    source: ObjectDescriptor,
    artifacts: &[ArtifactInput],
    ecosystem_metadata: Option<&Map<String, Value>>,
) -> ReleaseManifest {
    let metadata = ReleaseMetadata {
        description: config.description.clone(),
        exports: config.exports.clone(),
        repository: config.repository.clone(),
    };
    ReleaseManifest {
        object: regesta_protocol::manifest::ManifestTag::ReleaseManifest,
        id: config.id.clone(),
        ecosystem: config.id.ecosystem().to_owned(),
        name: config.id.name().to_owned(),
        version,
        artifacts: artifacts
            .iter()
            .map(|a| ArtifactDescriptor {
                digest: a.signed.digest,
                media_type: a.signed.media_type.clone(),
                size: a.bytes.len() as u64,
                compatibility: a.signed.compatibility.clone(),
                ecosystem_metadata: (a.signed.role.as_str() == "install")
                    .then_some(ecosystem_metadata)
                    .flatten()
                    .map(|fields| {
                        let mut m = Map::new();
                        m.insert(
                            config.id.ecosystem().to_owned(),
                            Value::Object(fields.clone()),
                        );
                        m
                    }),
                filename: a.signed.filename.clone(),
                format: a.signed.format.clone(),
                role: a.signed.role.clone(),
            })
            .collect(),
        config_digest,
        created_at: auth.payload.timestamp,
        family: config.family.clone(),
        languages: config.languages.clone(),
        metadata: (!metadata.is_empty()).then_some(metadata),
        provenance: Provenance {
            level: ProvenanceLevel::SourceAttached,
            verified: false,
        },
        source,
    }
}
