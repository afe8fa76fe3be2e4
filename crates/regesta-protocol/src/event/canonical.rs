//! An event's canonical JSON written straight from the typed event.
//!
//! Every event a mirror or verifier reads is re-canonicalized to check its
//! id, and every event the registry accepts is canonicalized to make its
//! id. Building a `serde_json` map of the event (an allocation per key and
//! per value) and sorting it again cost more than the hashing; an event's
//! keys are fixed, so they are written here in their canonical order. The
//! unit tests hold this writer to the generic canonicalization of the
//! same event, for every shape.

use std::fmt::{Display, Write as _};

use super::{Event, EventBody};
use crate::authorization::{AuthorizationProof, ProofKey};
use crate::json::write_canonical_string;

/// The members of one canonical JSON object, written in the order the
/// caller gives them, which must be canonical key order (UTF-16 code units,
/// for these ASCII keys byte order).
struct Members<'a> {
    out: &'a mut Vec<u8>,
    written: usize,
}

impl<'a> Members<'a> {
    /// Opens an object at the end of `out`.
    fn open(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Self { out, written: 0 }
    }

    /// Writes `"key":` (after a comma unless first) and gives the buffer
    /// for the value.
    fn key(&mut self, key: &str) -> &mut Vec<u8> {
        if self.written > 0 {
            self.out.push(b',');
        }
        self.written += 1;
        write_canonical_string(key, self.out);
        self.out.push(b':');
        self.out
    }

    /// A string member.
    fn text(&mut self, key: &str, value: &str) {
        write_canonical_string(value, self.key(key));
    }

    /// A string member holding `value`'s display form (digests,
    /// timestamps), without a `String` for it.
    fn shown(&mut self, key: &str, value: impl Display) {
        write_shown(self.key(key), value);
    }

    /// Closes the object.
    fn close(self) {
        self.out.push(b'}');
    }
}

/// Writes `value`'s display form as a JSON string. Digests and timestamps
/// display as plain ASCII that needs no escape; anything else is escaped
/// as canonical JSON escapes it.
fn write_shown(out: &mut Vec<u8>, value: impl Display) {
    struct Sink<'a>(&'a mut Vec<u8>);
    impl std::fmt::Write for Sink<'_> {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0.extend_from_slice(s.as_bytes());
            Ok(())
        }
    }
    let start = out.len();
    out.push(b'"');
    // Writing into a Vec cannot fail.
    let _ = write!(Sink(out), "{value}");
    let plain = out[start + 1..]
        .iter()
        .all(|&b| b >= 0x20 && b != b'"' && b != b'\\');
    if plain {
        out.push(b'"');
    } else {
        let text = String::from_utf8_lossy(&out[start + 1..]).into_owned();
        out.truncate(start);
        write_canonical_string(&text, out);
    }
}

/// The canonical payload of `event` (no `id`) and the offset in it where
/// the `id` member goes: after the members whose keys sort before `id`,
/// before the comma (if any) that follows them. Also whether members
/// precede and follow that point.
pub(super) struct Payload {
    pub(super) bytes: Vec<u8>,
    pub(super) id_at: usize,
    pub(super) before: bool,
    pub(super) after: bool,
}

/// Writes the canonical payload of `event` (see [`Payload`]).
pub(super) fn payload(event: &Event) -> Payload {
    let mut bytes = Vec::with_capacity(1024);
    let mut m = Members::open(&mut bytes);
    // The members sorting before `id`.
    if let EventBody::ReleasePublished {
        artifact_digests, ..
    } = &event.body
    {
        let out = m.key("artifactDigests");
        out.push(b'[');
        for (n, digest) in artifact_digests.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            write_shown(out, digest);
        }
        out.push(b']');
    }
    if let Some(proof) = &event.authorization {
        write_proof(proof, m.key("authorization"));
    }
    let channel = match &event.body {
        EventBody::ReleasePublished { channel, .. }
        | EventBody::ChannelUpdated { channel, .. }
        | EventBody::ChannelDeleted { channel, .. } => channel,
    };
    m.text("channel", channel.as_str());
    m.text("eventType", event.event_type());
    let (id_at, before) = (m.out.len(), m.written > 0);
    let written = m.written;
    // The members sorting after it.
    m.text("object", "regesta.event");
    match &event.body {
        EventBody::ReleasePublished {
            package,
            version,
            manifest_digest,
            source_digest,
            ..
        } => {
            let mut release = Members::open(m.key("release"));
            release.text("id", package.as_str());
            release.shown("manifestDigest", manifest_digest);
            release.text("version", version.as_str());
            release.close();
            m.shown("sourceDigest", source_digest);
            m.shown("timestamp", event.timestamp);
        }
        EventBody::ChannelUpdated {
            package,
            previous_version,
            ..
        }
        | EventBody::ChannelDeleted {
            package,
            previous_version,
            ..
        } => {
            m.text("package", package.as_str());
            if let Some(previous) = previous_version {
                m.text("previousVersion", previous.as_str());
            }
            m.shown("timestamp", event.timestamp);
            if let EventBody::ChannelUpdated { version, .. } = &event.body {
                m.text("version", version.as_str());
            }
        }
    }
    let after = m.written > written;
    m.close();
    Payload {
        bytes,
        id_at,
        before,
        after,
    }
}

/// A proof's canonical JSON (its keys sorted).
fn write_proof(proof: &AuthorizationProof, out: &mut Vec<u8>) {
    let mut m = Members::open(out);
    m.text("alg", proof.key.alg());
    m.text("domain", proof.domain.as_str());
    m.text("kid", &proof.kid);
    m.text("object", "regesta.authorization-proof");
    m.shown("payloadDigest", proof.payload_digest);
    match &proof.key {
        ProofKey::Ssh(key) => m.text("publicKey", key.line()),
        ProofKey::Jwk(jwk) => {
            let mut key = Members::open(m.key("publicKeyJwk"));
            key.text("crv", "Ed25519");
            key.text("kty", "OKP");
            key.text("x", &jwk.x());
            key.close();
        }
    }
    m.text("signature", &proof.signature);
    m.shown("signedAt", proof.signed_at);
    m.shown("wellKnownDigest", proof.well_known_digest);
    m.close();
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;
    use proptest::prelude::*;
    use serde_json::Value;

    use super::super::{Event, EventBody, EventKeyOrder, SealedEvent};
    use crate::authorization::{AuthorizationProof, ProofKey, ProofKeyOrder};
    use crate::digest::Digest;
    use crate::ids::{ChannelName, OwnerDomain, PackageId, Version};
    use crate::json::canonical_value;
    use crate::keys::{Ed25519Jwk, SshEd25519Key};
    use crate::timestamp::Timestamp;

    /// The event's canonical forms by the generic route: its JSON map,
    /// canonicalized.
    fn generic(event: &Event) -> (Vec<u8>, Vec<u8>) {
        let payload = canonical_value(&Value::Object(event.to_map(ProofKeyOrder::Sorted))).unwrap();
        let sealed = SealedEvent {
            id: Digest::of(&payload),
            event: event.clone(),
        };
        let mut served = canonical_value(&sealed.to_json(EventKeyOrder::Response)).unwrap();
        served.push(b'\n');
        (payload, served)
    }

    fn ssh_key() -> SshEd25519Key {
        let line = regesta_testkit::read(
            &regesta_testkit::vectors_dir(),
            "publish-ssh/public-key.txt",
        );
        SshEd25519Key::parse(std::str::from_utf8(&line).unwrap()).unwrap()
    }

    fn proof(jwk: bool, kid: String, signature: String, seed: u8) -> AuthorizationProof {
        let key = if jwk {
            ProofKey::Jwk(Ed25519Jwk::from_key(
                SigningKey::from_bytes(&[seed; 32]).verifying_key(),
            ))
        } else {
            ProofKey::Ssh(ssh_key())
        };
        AuthorizationProof {
            domain: OwnerDomain::parse("some.dev").unwrap(),
            kid,
            payload_digest: Digest::of(&[seed]),
            key,
            signature,
            signed_at: Timestamp::from_unix_millis(1_700_000_000_000).unwrap(),
            well_known_digest: Digest::of(&[seed, 1]),
        }
    }

    fn body(shape: u8, artifacts: u8, previous: bool) -> EventBody {
        let package = PackageId::parse("npm:some.dev/sdk").unwrap();
        let channel = ChannelName::parse("latest").unwrap();
        let version = Version::parse("1.2.3-beta.1").unwrap();
        let previous_version = previous.then(|| Version::parse("1.0.0").unwrap());
        match shape % 3 {
            0 => EventBody::ReleasePublished {
                package,
                version,
                manifest_digest: Digest::of(b"manifest"),
                channel,
                source_digest: Digest::of(b"source"),
                artifact_digests: (0..artifacts).map(|n| Digest::of(&[n])).collect(),
            },
            1 => EventBody::ChannelUpdated {
                package,
                channel,
                version,
                previous_version,
            },
            _ => EventBody::ChannelDeleted {
                package,
                channel,
                previous_version,
            },
        }
    }

    proptest! {
        /// Every shape of event, with and without a proof of either key
        /// kind, and kids and signatures holding anything (quotes,
        /// backslashes, control characters, non-ASCII): the written forms
        /// are the generic canonicalization's, byte for byte.
        #[test]
        fn written_forms_are_the_generic_canonicalization(
            shape in 0u8..3,
            artifacts in 0u8..4,
            previous: bool,
            proof_kind in 0u8..3,
            kid in ".{0,12}",
            signature in "(\\PC|[\"\\\\\n\t\u{1}])*",
            millis in 0i64..253_402_300_799_999,
            seed: u8,
        ) {
            let event = Event {
                timestamp: Timestamp::from_unix_millis(millis).unwrap(),
                authorization: (proof_kind > 0).then(|| proof(proof_kind == 1, kid, signature, seed)),
                body: body(shape, artifacts, previous),
            };
            let (payload, served) = generic(&event);
            let (id, written_payload, written_served) = event.canonical_forms();
            prop_assert_eq!(String::from_utf8(written_payload).unwrap(), String::from_utf8(payload.clone()).unwrap());
            prop_assert_eq!(String::from_utf8(written_served).unwrap(), String::from_utf8(served).unwrap());
            prop_assert_eq!(id, Digest::of(&payload));
        }
    }

    #[test]
    fn a_display_form_needing_escapes_is_escaped() {
        let mut out = Vec::new();
        super::write_shown(&mut out, "a\"b\\c\nd");
        assert_eq!(out, br#""a\"b\\c\nd""#);
        out.clear();
        super::write_shown(&mut out, Digest::of(b"x"));
        assert_eq!(out, format!("\"{}\"", Digest::of(b"x")).into_bytes());
    }
}
