//! Registry events: `release.published`, `channel.updated`,
//! `channel.deleted`. An event's id is sha256 of its canonical JSON without
//! the `id` field.

use serde_json::{Map, Value, json};

use crate::authorization::{AuthorizationProof, MAX_ARTIFACTS, ProofKeyOrder};
use crate::digest::Digest;
use crate::error::{ProtocolError, Result};
use crate::fields::Fields;
use crate::ids::{ChannelName, PackageId, Version};
use crate::json::{JsonError, canonical_value};
use crate::timestamp::Timestamp;

mod canonical;

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventBody {
    /// A release was published and `channel` moved to it.
    ReleasePublished {
        /// The package.
        package: PackageId,
        /// The version.
        version: Version,
        /// Digest of the manifest object.
        manifest_digest: Digest,
        /// The channel that moved (`latest`).
        channel: ChannelName,
        /// Digest of the source archive.
        source_digest: Digest,
        /// Digests of the artifacts.
        artifact_digests: Vec<Digest>,
    },
    /// A channel now points at `version`.
    ChannelUpdated {
        /// The package.
        package: PackageId,
        /// The channel.
        channel: ChannelName,
        /// Its new target.
        version: Version,
        /// Its old target, if the writer named one.
        previous_version: Option<Version>,
    },
    /// A channel was removed.
    ChannelDeleted {
        /// The package.
        package: PackageId,
        /// The channel.
        channel: ChannelName,
        /// Its old target, if the writer named one.
        previous_version: Option<Version>,
    },
}

/// An event without its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The signed time of the write.
    pub timestamp: Timestamp,
    /// Proof of the write authorization.
    pub authorization: Option<AuthorizationProof>,
    /// The fact.
    pub body: EventBody,
}

/// Key order of a rendered event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKeyOrder {
    /// Sorted keys, sorted proof, `id` last: write responses.
    Response,
    /// Sorted keys with `id` in place, proof in stored order: event pages
    /// and channel envelopes.
    Stored,
}

impl Event {
    /// The package this event is about.
    pub const fn package(&self) -> &PackageId {
        match &self.body {
            EventBody::ReleasePublished { package, .. }
            | EventBody::ChannelUpdated { package, .. }
            | EventBody::ChannelDeleted { package, .. } => package,
        }
    }

    /// The `eventType` wire name.
    pub const fn event_type(&self) -> &'static str {
        match self.body {
            EventBody::ReleasePublished { .. } => "release.published",
            EventBody::ChannelUpdated { .. } => "channel.updated",
            EventBody::ChannelDeleted { .. } => "channel.deleted",
        }
    }

    fn to_map(&self, proof_order: ProofKeyOrder) -> Map<String, Value> {
        let mut m = Map::new();
        if let Some(proof) = &self.authorization {
            m.insert("authorization".into(), proof.to_json(proof_order));
        }
        match &self.body {
            EventBody::ReleasePublished {
                package,
                version,
                manifest_digest,
                channel,
                source_digest,
                artifact_digests,
            } => {
                m.insert(
                    "artifactDigests".into(),
                    json!(
                        artifact_digests
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                    ),
                );
                m.insert("channel".into(), json!(channel.as_str()));
                m.insert("eventType".into(), json!(self.event_type()));
                m.insert("object".into(), json!("regesta.event"));
                m.insert(
                    "release".into(),
                    json!({
                        "id": package.as_str(),
                        "manifestDigest": manifest_digest.to_string(),
                        "version": version.as_str(),
                    }),
                );
                m.insert("sourceDigest".into(), json!(source_digest.to_string()));
                m.insert("timestamp".into(), json!(self.timestamp.to_string()));
            }
            EventBody::ChannelUpdated {
                package,
                channel,
                version,
                previous_version,
            } => {
                m.insert("channel".into(), json!(channel.as_str()));
                m.insert("eventType".into(), json!(self.event_type()));
                m.insert("object".into(), json!("regesta.event"));
                m.insert("package".into(), json!(package.as_str()));
                if let Some(previous) = previous_version {
                    m.insert("previousVersion".into(), json!(previous.as_str()));
                }
                m.insert("timestamp".into(), json!(self.timestamp.to_string()));
                m.insert("version".into(), json!(version.as_str()));
            }
            EventBody::ChannelDeleted {
                package,
                channel,
                previous_version,
            } => {
                m.insert("channel".into(), json!(channel.as_str()));
                m.insert("eventType".into(), json!(self.event_type()));
                m.insert("object".into(), json!("regesta.event"));
                m.insert("package".into(), json!(package.as_str()));
                if let Some(previous) = previous_version {
                    m.insert("previousVersion".into(), json!(previous.as_str()));
                }
                m.insert("timestamp".into(), json!(self.timestamp.to_string()));
            }
        }
        m
    }

    /// Canonical bytes of the event without `id`: what the id hashes and
    /// what the transparency log's leaves contain.
    ///
    /// # Errors
    /// Never in practice.
    pub fn canonical_payload(&self) -> Result<Vec<u8>, JsonError> {
        Ok(canonical::payload(self).bytes)
    }

    /// The id, the canonical payload and the served bytes (canonical JSON
    /// with `id`, plus `\n`) from one canonicalization. Canonical JSON
    /// writes an object's members in key order, so the served form is the
    /// payload with the `id` member put where its key sorts.
    fn canonical_forms(&self) -> (Digest, Vec<u8>, Vec<u8>) {
        let canonical::Payload {
            bytes: payload,
            id_at,
            before,
            after,
        } = canonical::payload(self);
        let id = Digest::of(&payload);
        let member = id_member(&id);
        let mut served = Vec::with_capacity(payload.len() + member.len() + 3);
        served.extend_from_slice(&payload[..id_at]);
        if before {
            served.push(b',');
        }
        served.extend_from_slice(member.as_bytes());
        // With members on both sides, the payload's own comma between them
        // now follows `id`.
        if after && !before {
            served.push(b',');
        }
        served.extend_from_slice(&payload[id_at..]);
        served.push(b'\n');
        (id, payload, served)
    }

    /// The event id.
    ///
    /// # Errors
    /// Never in practice.
    pub fn id(&self) -> Result<Digest, JsonError> {
        Ok(Digest::of(&self.canonical_payload()?))
    }

    /// Seals the event with its id.
    ///
    /// # Errors
    /// Never in practice.
    pub fn seal(self) -> Result<SealedEvent, JsonError> {
        let id = self.id()?;
        Ok(SealedEvent { id, event: self })
    }
}

/// The `id` member of an event's canonical JSON.
fn id_member(id: &Digest) -> String {
    format!("\"id\":\"{id}\"")
}

/// The canonical payload inside an event's served bytes: the bytes
/// without their `id` member (with its comma) and final newline, when
/// what is left hashes to `id`, so it is the payload. A log entry bundle
/// holds 256 payloads, and this is much cheaper than parsing and
/// canonicalizing each event again. `None` when the bytes are anything
/// else (the caller parses them).
pub fn payload_in_served(served: &[u8], id: &Digest) -> Option<Vec<u8>> {
    let body = served.strip_suffix(b"\n").unwrap_or(served);
    let member = id_member(id);
    // The member starts with a quote: compared only where one is, not at
    // every offset (a call to `memcmp` each, most of the time it took).
    let at = (0..body.len())
        .filter(|&i| body[i] == b'"')
        .find(|&i| body[i..].starts_with(member.as_bytes()))?;
    let end = at + member.len();
    let (cut, rest) = if at > 0 && body[at - 1] == b',' {
        (at - 1, end)
    } else if body.get(end) == Some(&b',') {
        (at, end + 1)
    } else {
        (at, end)
    };
    let mut payload = Vec::with_capacity(body.len() - (rest - cut));
    payload.extend_from_slice(&body[..cut]);
    payload.extend_from_slice(&body[rest..]);
    (Digest::of(&payload) == *id).then_some(payload)
}

/// An event together with its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedEvent {
    /// `sha256(canonicalJson(event without id))`.
    pub id: Digest,
    /// The event.
    pub event: Event,
}

impl SealedEvent {
    /// The event as JSON including `id`, in the given key order.
    pub fn to_json(&self, order: EventKeyOrder) -> Value {
        match order {
            EventKeyOrder::Response => {
                let mut m = self.event.to_map(ProofKeyOrder::Sorted);
                m.insert("id".into(), json!(self.id.to_string()));
                Value::Object(m)
            }
            EventKeyOrder::Stored => {
                let m = self.event.to_map(ProofKeyOrder::Stored);
                let mut out = Map::new();
                let mut id_done = false;
                for (k, v) in m {
                    if !id_done && k.as_str() > "id" {
                        out.insert("id".into(), json!(self.id.to_string()));
                        id_done = true;
                    }
                    out.insert(k, v);
                }
                if !id_done {
                    out.insert("id".into(), json!(self.id.to_string()));
                }
                Value::Object(out)
            }
        }
    }

    /// The bytes served for a single event read: canonical JSON with `id`,
    /// plus `\n`.
    ///
    /// # Errors
    /// Never in practice.
    pub fn served_bytes(&self) -> Result<Vec<u8>, JsonError> {
        let mut bytes = canonical_value(&self.to_json(EventKeyOrder::Response))?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// Parses an event (with `id`) and checks the id against its content.
    ///
    /// # Errors
    /// Shape errors, or an id that does not match the canonical payload.
    pub fn from_json(value: &Value) -> Result<Self> {
        Self::from_json_with_bytes(value).map(|(event, ..)| event)
    }

    /// As [`Self::from_json`], also giving the canonical payload the id was
    /// checked against (the event's log entry), so a caller that needs it
    /// does not canonicalize the event a second time.
    ///
    /// # Errors
    /// As [`Self::from_json`].
    pub fn from_json_with_payload(value: &Value) -> Result<(Self, Vec<u8>)> {
        Self::from_json_with_bytes(value).map(|(event, payload, _)| (event, payload))
    }

    /// As [`Self::from_json_with_payload`], also giving the event's
    /// [served bytes](Self::served_bytes), from the same canonicalization.
    ///
    /// # Errors
    /// As [`Self::from_json`].
    pub fn from_json_with_bytes(value: &Value) -> Result<(Self, Vec<u8>, Vec<u8>)> {
        let mut f = Fields::new(value, "Registry event")?;
        f.constant("object", "regesta.event")?;
        let claimed = f.digest("id")?;
        let authorization = f
            .opt("authorization")
            .map(|v| AuthorizationProof::from_json(v).map_err(|e| e.within("authorization")))
            .transpose()?;
        let timestamp = Timestamp::parse(f.str("timestamp")?)?;
        let version_opt = |f: &mut Fields<'_>| -> Result<Option<Version>> {
            f.opt_str("previousVersion")?
                .map(Version::parse)
                .transpose()
        };
        let body = match f.str("eventType")? {
            "release.published" => {
                let mut r = Fields::new(f.req("release")?, "release")?;
                let body = EventBody::ReleasePublished {
                    package: PackageId::parse(r.str("id")?)?,
                    version: Version::parse(r.str("version")?)?,
                    manifest_digest: r.digest("manifestDigest")?,
                    channel: ChannelName::parse(f.str("channel")?)?,
                    source_digest: f.digest("sourceDigest")?,
                    artifact_digests: f.digests("artifactDigests", MAX_ARTIFACTS)?,
                };
                r.finish().map_err(|e| e.within("release"))?;
                body
            }
            "channel.updated" => EventBody::ChannelUpdated {
                package: PackageId::parse(f.str("package")?)?,
                channel: ChannelName::parse(f.str("channel")?)?,
                version: Version::parse(f.str("version")?)?,
                previous_version: version_opt(&mut f)?,
            },
            "channel.deleted" => EventBody::ChannelDeleted {
                package: PackageId::parse(f.str("package")?)?,
                channel: ChannelName::parse(f.str("channel")?)?,
                previous_version: version_opt(&mut f)?,
            },
            _ => {
                return Err(ProtocolError::invalid(
                    "eventType",
                    "Unsupported registry event type",
                ));
            }
        };
        f.finish()?;
        let event = Event {
            timestamp,
            authorization,
            body,
        };
        let (id, payload, served) = event.canonical_forms();
        if id != claimed {
            return Err(ProtocolError::invalid(
                "id",
                format!("Registry event id does not match canonical event payload: {claimed}"),
            ));
        }
        Ok((Self { id, event }, payload, served))
    }
}
