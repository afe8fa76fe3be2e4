//! Release envelopes: `{event, manifest, manifestDescriptor}`, the document a
//! release read and a channel read serve.
//!
//! The reference serves the same envelope in two byte forms: the release
//! read as canonical JSON plus `\n` (immutable), and the channel read in its
//! stored key order, without a newline: event keys sorted with the proof in
//! stored order, manifest top-level keys sorted while nested descriptors keep
//! their typed order (`digest, mediaType, size, …, role`). Every value
//! inside them (`ecosystemMetadata`, `compatibility`, `metadata.exports`, …)
//! is in canonical key order in both forms, as the manifest object is:
//! a dependency map never keeps its `package.json` order. Both are rendered
//! once, at publish time.

use serde_json::{Map, Value, json};

use crate::event::{EventKeyOrder, SealedEvent};
use crate::json::{JsonError, canonical_value};
use crate::manifest::{ObjectDescriptor, ReleaseManifest};

/// The two renderings of one release envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedEnvelope {
    /// Canonical JSON plus `\n`.
    pub canonical: Vec<u8>,
    /// Stored key order, no newline.
    pub listing: Vec<u8>,
}

/// Renders the envelope of a release from its event, manifest and manifest
/// descriptor.
///
/// # Errors
/// Never in practice (every field is serializable).
pub fn render_envelope(
    event: &SealedEvent,
    manifest: &ReleaseManifest,
    descriptor: &ObjectDescriptor,
) -> Result<RenderedEnvelope, JsonError> {
    let manifest = listing_manifest(
        serde_json::to_value(manifest).map_err(|e| JsonError::NotCanonicalizable(e.to_string()))?,
    )?;
    let descriptor = json!({
        "digest": descriptor.digest.to_string(),
        "mediaType": descriptor.media_type.as_str(),
        "size": descriptor.size,
    });
    let mut canonical = canonical_value(&json!({
        "event": event.to_json(EventKeyOrder::Response),
        "manifest": manifest,
        "manifestDescriptor": descriptor,
    }))?;
    canonical.push(b'\n');
    let listing = serde_json::to_vec(&json!({
        "event": event.to_json(EventKeyOrder::Stored),
        "manifest": manifest,
        "manifestDescriptor": descriptor,
    }))
    .map_err(|e| JsonError::NotCanonicalizable(e.to_string()))?;
    Ok(RenderedEnvelope { canonical, listing })
}

/// The manifest in the channel read's key order: top-level keys sorted,
/// artifact descriptors in their typed key order, every nested value
/// canonical.
fn listing_manifest(manifest: Value) -> Result<Value, JsonError> {
    let Value::Object(map) = manifest else {
        return canonical(&manifest);
    };
    let mut entries: Vec<(String, Value)> = map.into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = Map::new();
    for (key, value) in entries {
        let value = match (key.as_str(), value) {
            ("artifacts", Value::Array(artifacts)) => Value::Array(
                artifacts
                    .into_iter()
                    .map(|artifact| match artifact {
                        Value::Object(fields) => fields
                            .into_iter()
                            .map(|(k, v)| Ok((k, canonical(&v)?)))
                            .collect::<Result<Map<String, Value>, JsonError>>()
                            .map(Value::Object),
                        other => canonical(&other),
                    })
                    .collect::<Result<Vec<Value>, JsonError>>()?,
            ),
            (_, value) => canonical(&value)?,
        };
        out.insert(key, value);
    }
    Ok(Value::Object(out))
}

/// `value` with every object's keys in canonical order at every depth (and
/// numbers in canonical form): its canonical bytes read back in order.
fn canonical(value: &Value) -> Result<Value, JsonError> {
    serde_json::from_slice(&canonical_value(value)?)
        .map_err(|e| JsonError::NotCanonicalizable(e.to_string()))
}
