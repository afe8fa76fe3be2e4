//! Signed npm releases for the benchmarks, built the way `regesta publish`
//! builds them, under the dev demo key's `dev.localhost`.

use bytes::Bytes;
use regesta_client::publish::{ArtifactUpload, PublishInput, build, sign_parts};
use regesta_client::sign::Signer;
use regesta_core::{FilePart, PublishRequest};
use regesta_protocol::keys::signing_key_from_d;
use regesta_protocol::{ReleaseConfig, Timestamp};

/// The owner domain every fixture is published under.
pub(crate) const DOMAIN: &str = "dev.localhost";

/// One release to publish.
#[derive(Debug, Clone)]
pub(crate) struct Release {
    /// Package name below `@dev.localhost/`.
    pub(crate) name: String,
    /// Version.
    pub(crate) version: String,
    /// Source archive bytes (sized to taste by the caller).
    pub(crate) source: Vec<u8>,
    /// npm dependencies (`@dev.localhost/<name>` at `^1.0.0`).
    pub(crate) dependencies: Vec<String>,
}

impl Release {
    /// A small release: a few hundred bytes of source.
    pub(crate) fn small(name: &str, version: &str) -> Self {
        Self {
            name: name.to_owned(),
            version: version.to_owned(),
            source: format!("source of {name}@{version}\n").into_bytes(),
            dependencies: Vec::new(),
        }
    }

    /// The npm tarball: `package/package.json` and `package/index.js`.
    ///
    /// # Errors
    /// Never in practice (in-memory tar).
    pub(crate) fn tarball(&self) -> anyhow::Result<Vec<u8>> {
        let dependencies: serde_json::Map<String, serde_json::Value> = self
            .dependencies
            .iter()
            .map(|d| (format!("@{DOMAIN}/{d}"), "^1.0.0".into()))
            .collect();
        let manifest = serde_json::json!({
            "name": format!("@{DOMAIN}/{}", self.name),
            "version": self.version,
            "main": "index.js",
            "dependencies": dependencies,
        })
        .to_string();
        let index = format!("module.exports = {:?};\n", self.name);
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::fast(),
        ));
        for (path, body) in [
            ("package/package.json", manifest.as_bytes()),
            ("package/index.js", index.as_bytes()),
        ] {
            let mut header = tar::Header::new_gnu();
            header.set_size(body.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(0);
            builder.append_data(&mut header, path, body)?;
        }
        Ok(builder.into_inner()?.finish()?)
    }

    /// What `regesta publish` would send for this release.
    ///
    /// # Errors
    /// An invalid name or version.
    pub(crate) fn input(&self) -> anyhow::Result<PublishInput> {
        let config = ReleaseConfig::from_json(serde_json::json!({
            "id": format!("npm:{DOMAIN}/{}", self.name),
            "provenance": {"level": "source-attached"},
            "source": {"include": ["package.json", "index.js"]},
            "version": self.version,
        }))?;
        Ok(PublishInput {
            config,
            source: self.source.clone(),
            artifacts: vec![ArtifactUpload {
                filename: format!("{DOMAIN}-{}-{}.tgz", self.name, self.version),
                format: "npm-tarball".into(),
                media_type: "application/gzip".into(),
                role: "install".into(),
                bytes: self.tarball()?,
            }],
        })
    }

    /// The signed parts as core's publish use case takes them.
    ///
    /// # Errors
    /// As [`Self::input`].
    pub(crate) fn core_request(
        &self,
        signer: &Signer,
        nonce: &str,
    ) -> anyhow::Result<PublishRequest> {
        let input = self.input()?;
        let parts = sign_parts(&input, signer, now()?, nonce)?;
        let files = input
            .artifacts
            .into_iter()
            .zip(parts.artifact_parts)
            .map(|(a, name)| FilePart {
                name,
                bytes: Bytes::from(a.bytes),
            })
            .collect();
        Ok(PublishRequest {
            config: Bytes::from(parts.config),
            source: Bytes::from(input.source),
            artifacts: Bytes::from(parts.artifacts),
            authorization: Bytes::from(parts.authorization.to_json().to_string()),
            files,
            created_at: None,
        })
    }

    /// The multipart `POST /releases` body and its content type.
    ///
    /// # Errors
    /// As [`Self::input`].
    pub(crate) fn http_request(
        &self,
        signer: &Signer,
        nonce: &str,
    ) -> anyhow::Result<(String, Vec<u8>)> {
        let built = build(&self.input()?, signer, now()?, nonce)?;
        Ok((built.content_type, built.body))
    }
}

/// The server's notion of now, for intent timestamps.
///
/// # Errors
/// A clock before 1970.
pub(crate) fn now() -> anyhow::Result<Timestamp> {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis();
    Ok(Timestamp::from_unix_millis(i64::try_from(millis)?)?)
}

/// The dev demo key (public on purpose), which `regesta serve --dev`
/// accepts for `dev.localhost`.
///
/// # Errors
/// Never for the built-in key.
pub(crate) fn demo_signer() -> anyhow::Result<Signer> {
    let key: serde_json::Value = serde_json::from_slice(regesta_server::dev::DEMO_PRIVATE_KEY)?;
    let d = key["privateKeyJwk"]["d"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("demo key has no d"))?;
    Ok(Signer::Ed25519 {
        kid: regesta_server::dev::DEMO_KID.into(),
        key: Box::new(signing_key_from_d(d)?),
    })
}

/// The signed body of `PUT /packages/<id>/channels/<channel>` moving
/// `channel` of `@dev.localhost/<name>` from `previous` to `version`.
///
/// # Errors
/// An invalid name, channel or version.
pub(crate) fn channel_body(
    signer: &Signer,
    name: &str,
    channel: &str,
    version: &str,
    previous: Option<&str>,
    nonce: &str,
) -> anyhow::Result<Vec<u8>> {
    use regesta_protocol::{
        ChannelName, IntentAction, OwnerDomain, PackageId, Version, WriteIntent,
    };
    let intent = WriteIntent {
        domain: OwnerDomain::parse(DOMAIN)?,
        package: PackageId::parse(&format!("npm:{DOMAIN}/{name}"))?,
        nonce: nonce.to_owned(),
        timestamp: now()?,
        action: IntentAction::ChannelUpdate {
            channel: ChannelName::parse(channel)?,
            version: Version::parse(version)?,
            previous_version: previous.map(Version::parse).transpose()?,
        },
    };
    let authorization = signer.sign(intent)?.to_json();
    Ok(
        serde_json::json!({"authorization": authorization, "version": version})
            .to_string()
            .into_bytes(),
    )
}
