//! A signed `POST /releases` request: digests, the artifact descriptor
//! digest, the write intent, its Ed25519 signature and the multipart body.

use regesta_protocol::manifest::{SignedArtifactDescriptor, artifact_descriptor_digest};
use regesta_protocol::{
    ChannelName, Digest, IntentAction, OwnerDomain, ReleaseConfig, Text, Timestamp,
    WriteAuthorization, WriteIntent,
};
use serde_json::json;
use thiserror::Error;

use crate::sign::Signer;

/// Why a request could not be built.
#[derive(Debug, Error)]
pub enum BuildError {
    /// The config has no version.
    #[error("regesta.json has no version")]
    NoVersion,
    /// A protocol rule failed (bad descriptor text, …).
    #[error(transparent)]
    Protocol(#[from] regesta_protocol::ProtocolError),
    /// Canonical JSON failed (cannot happen for well-formed input).
    #[error(transparent)]
    Json(#[from] regesta_protocol::json::JsonError),
    /// The signer failed.
    #[error(transparent)]
    Sign(#[from] crate::sign::SignError),
}

/// One artifact to upload.
#[derive(Debug, Clone)]
pub struct ArtifactUpload {
    /// File name clients see.
    pub filename: String,
    /// Format, e.g. `npm-tarball`.
    pub format: String,
    /// Media type.
    pub media_type: String,
    /// Role, e.g. `install`.
    pub role: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// What a publish sends.
#[derive(Debug, Clone)]
pub struct PublishInput {
    /// The release config (with `version`).
    pub config: ReleaseConfig,
    /// The source archive bytes.
    pub source: Vec<u8>,
    /// The artifacts, in part order.
    pub artifacts: Vec<ArtifactUpload>,
}

/// A built request: its multipart body and content type.
#[derive(Debug, Clone)]
pub struct PublishRequest {
    /// `multipart/form-data; boundary=…`.
    pub content_type: String,
    /// The body.
    pub body: Vec<u8>,
    /// The signed authorization (for display and tests).
    pub authorization: WriteAuthorization,
}

fn descriptors(input: &PublishInput) -> Result<Vec<SignedArtifactDescriptor>, BuildError> {
    input
        .artifacts
        .iter()
        .map(|a| {
            Ok(SignedArtifactDescriptor {
                compatibility: None,
                digest: Digest::of(&a.bytes),
                filename: Some(Text::parse(&a.filename)?),
                format: Some(Text::parse(&a.format)?),
                media_type: Text::parse(&a.media_type)?,
                role: Text::parse(&a.role)?,
            })
        })
        .collect()
}

/// The parts of a publish before multipart encoding, signed: what an
/// in-process publisher (the bench data generator) hands to core directly.
#[derive(Debug, Clone)]
pub struct SignedParts {
    /// `config` part (the release config JSON).
    pub config: Vec<u8>,
    /// `artifacts` part (JSON list naming the artifact parts).
    pub artifacts: Vec<u8>,
    /// `artifact.<i>` part names, in order.
    pub artifact_parts: Vec<String>,
    /// The signed authorization.
    pub authorization: WriteAuthorization,
}

/// Signs `input` as `signer` at `timestamp` with `nonce`: the intent over
/// the config, source and artifact digests, and the `config` and
/// `artifacts` parts that go with it.
///
/// # Errors
/// A config without version or an invalid descriptor field.
pub fn sign_parts(
    input: &PublishInput,
    signer: &Signer,
    timestamp: Timestamp,
    nonce: &str,
) -> Result<SignedParts, BuildError> {
    let version = input.config.version.clone().ok_or(BuildError::NoVersion)?;
    let described = descriptors(input)?;
    let intent = WriteIntent {
        domain: OwnerDomain::parse(input.config.id.owner_domain())?,
        package: input.config.id.clone(),
        nonce: nonce.to_owned(),
        timestamp,
        action: IntentAction::Publish {
            version,
            channel: ChannelName::latest(),
            config_digest: input.config.digest()?,
            source_digest: Digest::of(&input.source),
            artifact_digests: described.iter().map(|d| d.digest).collect(),
            artifact_descriptor_digest: artifact_descriptor_digest(&described)?,
        },
    };
    let authorization = signer.sign(intent)?;
    let artifact_parts: Vec<String> = (0..input.artifacts.len())
        .map(|i| format!("artifact.{i}"))
        .collect();
    let artifacts_json: Vec<serde_json::Value> = input
        .artifacts
        .iter()
        .zip(&artifact_parts)
        .map(|(a, part)| {
            json!({
                "filename": a.filename,
                "format": a.format,
                "mediaType": a.media_type,
                "part": part,
                "role": a.role,
            })
        })
        .collect();
    Ok(SignedParts {
        config: input.config.json.to_string().into_bytes(),
        artifacts: serde_json::Value::Array(artifacts_json)
            .to_string()
            .into_bytes(),
        artifact_parts,
        authorization,
    })
}

/// Signs `input` as `signer` at `timestamp` with `nonce` and builds the
/// multipart body the reference CLI sends.
///
/// # Errors
/// A config without version or an invalid descriptor field.
pub fn build(
    input: &PublishInput,
    signer: &Signer,
    timestamp: Timestamp,
    nonce: &str,
) -> Result<PublishRequest, BuildError> {
    let parts = sign_parts(input, signer, timestamp, nonce)?;
    let boundary = format!("regesta-{}", &Digest::of(nonce.as_bytes()).hex()[..24]);
    let mut body = Vec::new();
    let mut part = |name: &str, file: Option<(&str, &str)>, bytes: &[u8]| {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file {
            Some((filename, media_type)) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: {media_type}\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    };
    part("config", None, &parts.config);
    part(
        "source",
        Some((
            "source.tgz",
            regesta_protocol::manifest::SOURCE_ARCHIVE_MEDIA_TYPE,
        )),
        &input.source,
    );
    part("artifacts", None, &parts.artifacts);
    for (a, name) in input.artifacts.iter().zip(&parts.artifact_parts) {
        part(name, Some((&a.filename, &a.media_type)), &a.bytes);
    }
    part(
        "authorization",
        None,
        parts.authorization.to_json().to_string().as_bytes(),
    );
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    Ok(PublishRequest {
        content_type: format!("multipart/form-data; boundary={boundary}"),
        body,
        authorization: parts.authorization,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use regesta_protocol::keys::signing_key_from_d;
    use regesta_testkit::{read, read_json, vectors_dir};

    /// Rebuilding the captured publish with the reference's nonce and
    /// timestamp reproduces its signature and authorization exactly.
    #[test]
    fn rebuilding_the_captured_publish_reproduces_its_authorization() {
        let dir = vectors_dir();
        let base = "publish/hello-regesta-0.0.5";
        let captured = read_json(&dir, &format!("{base}/part-authorization.json"));
        let config =
            ReleaseConfig::parse_publish_part(&read(&dir, &format!("{base}/part-config.json")))
                .unwrap();
        let input = PublishInput {
            config,
            source: read(&dir, &format!("{base}/part-source.tgz")),
            artifacts: vec![ArtifactUpload {
                filename: "dev.localhost-hello-regesta-0.0.5.tgz".into(),
                format: "npm-tarball".into(),
                media_type: "application/gzip".into(),
                role: "install".into(),
                bytes: read(&dir, &format!("{base}/part-artifact.0.bin")),
            }],
        };
        let private = read_json(&dir, "dev-binding/private-key.json");
        let signer = Signer::Ed25519 {
            kid: "ed25519:dev-localhost".into(),
            key: Box::new(
                signing_key_from_d(private["privateKeyJwk"]["d"].as_str().unwrap()).unwrap(),
            ),
        };
        let payload = &captured["payload"];
        let request = build(
            &input,
            &signer,
            Timestamp::parse(payload["timestamp"].as_str().unwrap()).unwrap(),
            payload["nonce"].as_str().unwrap(),
        )
        .unwrap();
        assert_eq!(
            request.authorization,
            WriteAuthorization::from_json(&captured).unwrap()
        );
        assert!(
            request
                .content_type
                .starts_with("multipart/form-data; boundary=regesta-")
        );
    }
}
