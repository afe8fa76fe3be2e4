//! Signed publishes of made-up npm packages, signed with the reference's
//! public demo key (`dev.localhost`), as multipart requests: for tests that
//! need a release other than the captured one.

use std::path::Path;

use axum::body::Body;
use axum::http::Request;
use regesta_protocol::keys::{sign_ed25519, signing_key_from_d};
use regesta_protocol::manifest::{SignedArtifactDescriptor, Text, artifact_descriptor_digest};
use regesta_protocol::{Digest, ReleaseConfig, WriteAuthorization, WriteIntent};
use regesta_testkit::read_json;
use serde_json::{Value, json};

/// The instant every signed request here is signed at (the test apps'
/// clock).
pub(crate) const SIGNED_AT: &str = "2026-11-25T19:13:01.867Z";

/// An npm tarball holding only `package/package.json`.
pub(crate) fn tarball(package_json: &str) -> Vec<u8> {
    regesta_testkit::npm_tarball(&[("package/package.json", package_json.as_bytes())])
}

/// What to publish: the `config` part, the tarball's `package.json`, and
/// an optional `createdAt` part.
pub(crate) struct Publish<'a> {
    pub(crate) config: Value,
    pub(crate) package_json: String,
    pub(crate) created_at: Option<&'a str>,
    pub(crate) nonce: &'a str,
    /// Sent instead of the signed authorization part.
    pub(crate) authorization: Option<&'a str>,
}

impl Publish<'_> {
    /// `npm:dev.localhost/<name>@<version>` with a matching package.json.
    pub(crate) fn new(name: &str, version: &str) -> Self {
        Self {
            config: json!({
                "id": format!("npm:dev.localhost/{name}"),
                "source": {"include": ["package.json"]},
                "version": version,
            }),
            package_json: json!({"name": format!("@dev.localhost/{name}"), "version": version})
                .to_string(),
            created_at: None,
            nonce: "nonce-1",
            authorization: None,
        }
    }

    /// The signed multipart `POST /releases` request.
    pub(crate) fn request(&self, dir: &Path) -> Request<Body> {
        let config_bytes = self.config.to_string().into_bytes();
        let config = ReleaseConfig::parse_publish_part(&config_bytes).unwrap();
        let artifact = tarball(&self.package_json);
        let source = b"source archive".to_vec();
        let descriptor = SignedArtifactDescriptor {
            compatibility: None,
            digest: Digest::of(&artifact),
            filename: Some(Text::parse("package.tgz").unwrap()),
            format: Some(Text::parse("npm-tarball").unwrap()),
            media_type: Text::parse("application/gzip").unwrap(),
            role: Text::parse("install").unwrap(),
        };
        // The digest of the config the server will hold: a package.json
        // description is folded into a config without one.
        let mut signed_config = self.config.clone();
        let package: Value = serde_json::from_str(&self.package_json).unwrap();
        if let (None, Some(description)) = (
            signed_config.get("description"),
            package.get("description").cloned(),
        ) {
            signed_config["description"] = description;
        }
        let config_digest = regesta_protocol::json::canonical_digest(&signed_config).unwrap();
        let intent = json!({
            "artifactDescriptorDigest": artifact_descriptor_digest(std::slice::from_ref(&descriptor)).unwrap().to_string(),
            "artifactDigests": [descriptor.digest.to_string()],
            "channel": "latest",
            "configDigest": config_digest.to_string(),
            "domain": "dev.localhost",
            "nonce": self.nonce,
            "object": "regesta.write-intent",
            "operation": "release.publish",
            "package": config.id.as_str(),
            "sourceDigest": Digest::of(&source).to_string(),
            "timestamp": SIGNED_AT,
            "version": config.version.as_ref().unwrap().as_str(),
        });
        let authorization = sign(dir, &intent);
        let mut parts: Vec<(&str, Vec<u8>)> = vec![
            ("config", config_bytes),
            ("source", source),
            (
                "artifacts",
                json!([{
                    "filename": "package.tgz",
                    "format": "npm-tarball",
                    "mediaType": "application/gzip",
                    "part": "artifact.0",
                    "role": "install",
                }])
                .to_string()
                .into_bytes(),
            ),
            ("artifact.0", artifact),
            (
                "authorization",
                self.authorization
                    .map_or_else(|| authorization.to_string(), str::to_owned)
                    .into_bytes(),
            ),
        ];
        if let Some(created_at) = self.created_at {
            parts.push(("createdAt", created_at.as_bytes().to_vec()));
        }
        multipart_request(&parts)
    }
}

/// The authorization JSON over `intent`, signed with the demo key.
pub(crate) fn sign(dir: &Path, intent: &Value) -> Value {
    let private = read_json(dir, "dev-binding/private-key.json");
    let key = signing_key_from_d(private["privateKeyJwk"]["d"].as_str().unwrap()).unwrap();
    let intent = WriteIntent::from_json(intent).unwrap();
    let signature = sign_ed25519(&key, &intent.signing_bytes().unwrap());
    WriteAuthorization::from_json(&json!({
        "alg": "EdDSA",
        "kid": "ed25519:dev-localhost",
        "payload": intent.to_json(),
        "signature": signature,
    }))
    .unwrap()
    .to_json()
}

/// A `POST /releases` with `parts` as multipart form fields.
pub(crate) fn multipart_request(parts: &[(&str, Vec<u8>)]) -> Request<Body> {
    let boundary = "signed-test-boundary";
    let mut body = Vec::new();
    for (name, bytes) in parts {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    Request::post("/releases")
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .header("content-length", body.len())
        .body(Body::from(body))
        .unwrap()
}
