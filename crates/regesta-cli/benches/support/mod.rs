//! What the benchmarks share: a real `regesta serve`, signed publishes
//! with the dev demo key, percentiles.
#![allow(dead_code, reason = "each bench uses part of it")]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use regesta_client::publish::{ArtifactUpload, PublishInput, build};
use regesta_client::sign::Signer;
use regesta_protocol::keys::signing_key_from_d;
use regesta_protocol::{ReleaseConfig, Timestamp};

pub(crate) const DEMO_KEY: &str =
    include_str!("../../../regesta-server/src/dev/demo-private-key.json");

pub(crate) fn tarball(name: &str) -> Vec<u8> {
    let json = format!(r#"{{"name":"@dev.localhost/{name}","version":"1.0.0"}}"#);
    regesta_testkit::npm_tarball(&[("package/package.json", json.as_bytes())])
}

pub(crate) fn now() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    Timestamp::from_unix_millis(i64::try_from(millis).unwrap()).unwrap()
}

pub(crate) fn request(name: &str, signer: &Signer) -> regesta_client::publish::PublishRequest {
    request_with_nonce(name, name, signer)
}

/// As [`request`], signed with `nonce` (distinct intents for one release).
pub(crate) fn request_with_nonce(
    name: &str,
    nonce: &str,
    signer: &Signer,
) -> regesta_client::publish::PublishRequest {
    request_with_source(
        name,
        nonce,
        format!("source of {name}").into_bytes(),
        signer,
    )
}

/// As [`request_with_nonce`], with `source` as the source archive bytes.
pub(crate) fn request_with_source(
    name: &str,
    nonce: &str,
    source: Vec<u8>,
    signer: &Signer,
) -> regesta_client::publish::PublishRequest {
    let config = ReleaseConfig::from_json(serde_json::json!({
        "id": format!("npm:dev.localhost/{name}"),
        "provenance": {"level": "source-attached"},
        "source": {"include": ["package.json"]},
        "version": "1.0.0",
    }))
    .unwrap();
    let input = PublishInput {
        config,
        source,
        artifacts: vec![ArtifactUpload {
            filename: format!("dev.localhost-{name}-1.0.0.tgz"),
            format: "npm-tarball".into(),
            media_type: "application/gzip".into(),
            role: "install".into(),
            bytes: tarball(name),
        }],
    };
    build(&input, signer, now(), nonce).unwrap()
}

/// The `hundredths`-th percentile of `sorted` (nearest rank below).
pub(crate) fn percentile(sorted: &[f64], hundredths: usize) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[(sorted.len() - 1) * hundredths.min(100) / 100]
}

/// A `regesta serve --dev` on a temp dir; killed and reaped on drop.
pub(crate) struct Server {
    child: std::process::Child,
    pub(crate) base: String,
    data: Option<tempfile::TempDir>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn start() -> Server {
    let data = tempfile::tempdir().unwrap();
    let mut server = start_in(data.path(), &[]);
    server.data = Some(data);
    server
}

/// A `regesta serve --dev` over `dir` with extra environment.
pub(crate) fn start_in(dir: &std::path::Path, env: &[(&str, &str)]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_regesta"))
        .args(["serve", "--dev", "--port", "0", "--data-dir"])
        .arg(dir)
        .envs(env.iter().copied())
        .env("REGESTA_LOG", "warn,regesta.server=info")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().unwrap().unwrap();
        let value: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        if let Some(address) = value["fields"]["address"].as_str() {
            break format!("http://{address}");
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Server {
        child,
        base,
        data: None,
    }
}

/// The dev demo key's signer.
pub(crate) fn demo_signer() -> Signer {
    let key: serde_json::Value = serde_json::from_str(DEMO_KEY).unwrap();
    Signer::Ed25519 {
        kid: "ed25519:dev-localhost".into(),
        key: Box::new(signing_key_from_d(key["privateKeyJwk"]["d"].as_str().unwrap()).unwrap()),
    }
}

/// `POST /releases` of a built request; the reply (connection errors too).
pub(crate) async fn post_release(
    client: &reqwest::Client,
    base: &str,
    request: regesta_client::publish::PublishRequest,
) -> reqwest::Result<reqwest::Response> {
    client
        .post(format!("{base}/releases"))
        .header("content-type", request.content_type)
        .body(request.body)
        .send()
        .await
}
