//! `regesta verify`, `verify-package` and `verify-log`: check a registry from
//! public data only. Every event's id is recomputed (the log is read by
//! pages, see [`crate::verify_events`]), every object re-hashed, transport headers checked against the v0 rules,
//! and package state replayed from the log. Problems are collected, not
//! thrown: exit 0 (ok), 1 (problems), 2 (could not check).

use std::collections::BTreeMap;

use anyhow::{Context as _, bail};
use regesta_client::http::{RegistryClient, Reply};
use regesta_protocol::json::{parse_strict, to_canonical_vec};
use regesta_protocol::{
    ArtifactDescriptor, Digest, EventBody, ObjectDescriptor, PackageId, PackageState,
    ReleaseManifest, SealedEvent, Version,
};
use serde_json::json;

use crate::printer::Printer;
use crate::verify_events::{Refetch, each_page};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// Problems found so far.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    problems: Vec<String>,
    checked: usize,
}

impl Findings {
    pub(crate) fn problem(&mut self, text: String) {
        self.problems.push(text);
    }

    /// The problems found, for a caller that reports them itself.
    pub(crate) fn into_problems(self) -> Vec<String> {
        self.problems
    }

    pub(crate) fn check(&mut self, ok: bool, text: impl FnOnce() -> String) {
        self.checked += 1;
        if !ok {
            self.problem(text());
        }
    }

    /// Adds what another (concurrent) check found.
    pub(crate) fn merge(&mut self, other: Self) {
        self.problems.extend(other.problems);
        self.checked += other.checked;
    }

    /// One check whose failures are already spelled out: it passes when
    /// `problems` is empty.
    pub(crate) fn check_all(&mut self, problems: impl IntoIterator<Item = String>) {
        self.checked += 1;
        self.problems.extend(problems);
    }

    /// Transport rules every immutable read must follow.
    pub(crate) fn immutable_headers(&mut self, what: &str, reply: &Reply, etag: &str) {
        self.check(reply.header("cache-control") == Some(IMMUTABLE), || {
            format!(
                "{what}: Cache-Control is {:?}, expected {IMMUTABLE:?}",
                reply.header("cache-control")
            )
        });
        self.check(reply.header("etag") == Some(etag), || {
            format!(
                "{what}: ETag is {:?}, expected {etag:?}",
                reply.header("etag")
            )
        });
        self.exact_length(what, reply);
    }

    /// A mutable view's transport rules: `Cache-Control: no-cache` and an
    /// exact `Content-Length`.
    pub(crate) fn mutable_headers(&mut self, what: &str, reply: &Reply) {
        self.check(reply.header("cache-control") == Some("no-cache"), || {
            format!(
                "{what}: Cache-Control is {:?}",
                reply.header("cache-control")
            )
        });
        self.exact_length(what, reply);
    }

    pub(crate) fn exact_length(&mut self, what: &str, reply: &Reply) {
        let declared = reply
            .header("content-length")
            .and_then(|v| v.parse::<usize>().ok());
        self.check(declared.is_none_or(|n| n == reply.body.len()), || {
            format!(
                "{what}: Content-Length {declared:?} but {} bytes received",
                reply.body.len()
            )
        });
    }

    /// Reports and returns the exit code.
    pub(crate) fn finish(self, subject: &str, printer: &Printer) -> u8 {
        let ok = self.problems.is_empty();
        let human = if ok {
            format!("{} {subject} ({} checks)", printer.ok("ok"), self.checked)
        } else {
            let mut lines = vec![format!("{} problem(s) in {subject}:", self.problems.len())];
            lines.extend(
                self.problems
                    .iter()
                    .map(|p| format!("  {} {p}", printer.problem_prefix())),
            );
            lines.join("\n")
        };
        printer.result(&human, &json!({"subject": subject, "ok": ok, "checks": self.checked, "problems": self.problems}));
        u8::from(!ok)
    }
}

fn segment(id: &PackageId) -> String {
    id.to_path_segment()
}

pub(crate) async fn get_ok(client: &RegistryClient, path: &str) -> anyhow::Result<Reply> {
    let reply = client.get(path).await?;
    if reply.status != 200 {
        bail!("GET {path}: {}", reply.error_message());
    }
    Ok(reply)
}

/// Fetches `/events/sha256/<hex>` and checks it is the canonical event with
/// that id.
pub(crate) async fn check_event(
    client: &RegistryClient,
    id: &Digest,
    f: &mut Findings,
) -> anyhow::Result<Option<SealedEvent>> {
    let path = format!("/events/sha256/{}", id.hex());
    let reply = get_ok(client, &path).await?;
    f.immutable_headers(&path, &reply, &format!("W/\"{id}\""));
    let parsed = parse_strict(&reply.body, reply.body.len())
        .ok()
        .and_then(|v| SealedEvent::from_json(&v).ok());
    let Some(event) = parsed else {
        f.problem(format!(
            "{path}: not a valid event whose id matches its content"
        ));
        return Ok(None);
    };
    f.check(event.id == *id, || {
        format!(
            "{path}: event id {} differs from the requested {id}",
            event.id
        )
    });
    let served = event.served_bytes()?;
    f.check(served == reply.body.as_ref(), || {
        format!("{path}: bytes are not the canonical event plus newline")
    });
    Ok(Some(event))
}

/// Fetches an object and checks its digest, size and headers.
async fn check_object(
    client: &RegistryClient,
    descriptor: &ObjectDescriptor,
    f: &mut Findings,
) -> anyhow::Result<Option<bytes::Bytes>> {
    let path = format!("/objects/{}", descriptor.digest);
    let reply = get_ok(client, &path).await?;
    f.immutable_headers(&path, &reply, &format!("\"{}\"", descriptor.digest));
    f.check(Digest::of(&reply.body) == descriptor.digest, || {
        format!("{path}: bytes hash to {}", Digest::of(&reply.body))
    });
    f.check(reply.body.len() as u64 == descriptor.size, || {
        format!(
            "{path}: {} bytes, descriptor says {}",
            reply.body.len(),
            descriptor.size
        )
    });
    f.check(
        reply.header("content-type") == Some(descriptor.media_type.as_str()),
        || {
            format!(
                "{path}: Content-Type {:?}, descriptor says {}",
                reply.header("content-type"),
                descriptor.media_type
            )
        },
    );
    Ok(Some(reply.body))
}

/// Fetches and checks a release's artifacts, then re-derives what its
/// ecosystem's processor derives from them (npm per install file; PyPI
/// and Cargo from the release's files together, once all verified).
async fn check_artifacts(
    client: &RegistryClient,
    path: &str,
    manifest: &ReleaseManifest,
    published: regesta_protocol::Timestamp,
    f: &mut Findings,
) -> anyhow::Result<()> {
    // Files of ecosystems whose processor takes the release's files
    // together (PyPI, Cargo), checked once all verified.
    let mut files = Vec::new();
    for artifact in &manifest.artifacts {
        let artifact_descriptor = ObjectDescriptor {
            digest: artifact.digest,
            media_type: artifact.media_type.clone(),
            size: artifact.size,
        };
        let bytes = check_object(client, &artifact_descriptor, f).await?;
        let Some(bytes) = bytes.filter(|b| Digest::of(b) == artifact.digest) else {
            continue;
        };
        if manifest.ecosystem == "npm" && artifact.role.as_str() == "install" {
            crate::verify_npm::check_npm_release(client, path, manifest, artifact, bytes, f)
                .await?;
        } else {
            files.push((artifact.clone(), bytes));
        }
    }
    // A file that failed its digest check is already reported.
    if files.len() == manifest.artifacts.len() {
        match manifest.ecosystem.as_str() {
            "pypi" => {
                crate::verify_pypi::check_pypi_release(client, path, manifest, files, f).await?;
            }
            "go" => {
                crate::verify_go::check_go_release(client, path, manifest, files, f).await?;
            }
            "cargo" => {
                crate::verify_cargo::check_cargo_release(
                    client, path, manifest, published, files, f,
                )
                .await?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// What an ecosystem's processor derives again from a release's verified
/// file bytes: its facts as JSON (null without any) and its derived
/// objects' bytes, in order.
pub(crate) struct Rederived {
    pub(crate) facts: serde_json::Value,
    pub(crate) derived: Vec<bytes::Bytes>,
}

/// Re-runs `processor` on the release's files, then `then` on what it
/// derives, off the async workers (decompressing is CPU work). A refusal by
/// either is a finding, `<path>: <not>: <why>`, and gives `None`.
pub(crate) async fn rederive<T: Send + 'static>(
    processor: &'static dyn regesta_core::ArtifactProcessor,
    (path, manifest, files): (
        &str,
        &ReleaseManifest,
        Vec<(ArtifactDescriptor, bytes::Bytes)>,
    ),
    not: &str,
    then: impl FnOnce(Rederived) -> Result<T, String> + Send + 'static,
    f: &mut Findings,
) -> anyhow::Result<Option<T>> {
    let manifest = manifest.clone();
    let derived = tokio::task::spawn_blocking(move || {
        let processed = regesta_core::ecosystem::reprocess(processor, &manifest, &files)
            .map_err(|e| e.message().to_owned())?;
        let facts = processed
            .facts
            .as_deref()
            .and_then(|f| serde_json::from_slice(f).ok())
            .unwrap_or(serde_json::Value::Null);
        let derived = processed.derived.into_iter().map(|d| d.bytes).collect();
        then(Rederived { facts, derived })
    })
    .await?;
    match derived {
        Ok(derived) => Ok(Some(derived)),
        Err(error) => {
            f.problem(format!("{path}: {not}: {error}"));
            Ok(None)
        }
    }
}

/// Checks that the object a processor derived (`what`: `core metadata`,
/// `.mod`) is served as `bytes`, the bytes re-derived from `from` (the
/// file, the zip).
pub(crate) async fn check_derived_object(
    client: &RegistryClient,
    path: &str,
    (what, from): (&str, &str),
    bytes: &[u8],
    f: &mut Findings,
) {
    let object = format!("/objects/{}", Digest::of(bytes));
    // A server that finds the object corrupt ends the response early: a
    // finding about this object, not an unreachable registry.
    match client.get(&object).await {
        Ok(reply) => f.check(reply.status == 200 && reply.body == bytes, || {
            format!("{path}: {what} object {object} is missing or differs from the {from}'s")
        }),
        Err(error) => f.problem(format!(
            "{path}: {what} object {object} could not be read: {error}"
        )),
    }
}

/// Checks one release end to end.
pub(crate) async fn check_release(
    client: &RegistryClient,
    id: &PackageId,
    version: &Version,
    f: &mut Findings,
) -> anyhow::Result<()> {
    let path = format!(
        "/packages/{}/releases/{}",
        segment(id),
        regesta_protocol::ids::encode_uri_component(version.as_str())
    );
    let reply = get_ok(client, &path).await?;
    let envelope = parse_strict(&reply.body, reply.body.len())
        .with_context(|| format!("{path}: not strict JSON"))?;
    let mut canonical = to_canonical_vec(&envelope)?;
    canonical.push(b'\n');
    f.check(canonical == reply.body.as_ref(), || {
        format!("{path}: not canonical JSON plus newline")
    });
    let event = SealedEvent::from_json(&envelope["event"])
        .with_context(|| format!("{path}: invalid event"))?;
    f.immutable_headers(&path, &reply, &format!("W/\"{}\"", event.id));
    let manifest: ReleaseManifest = serde_json::from_value(envelope["manifest"].clone())
        .with_context(|| format!("{path}: invalid manifest"))?;
    let descriptor: ObjectDescriptor =
        serde_json::from_value(envelope["manifestDescriptor"].clone())
            .with_context(|| format!("{path}: invalid manifest descriptor"))?;
    f.check(&manifest.id == id && &manifest.version == version, || {
        format!(
            "{path}: manifest is for {}@{}",
            manifest.id, manifest.version
        )
    });
    let refetched = check_event(client, &event.id, f).await?;
    f.check(refetched.as_ref() == Some(&event), || {
        format!("{path}: the event served by id differs from the envelope's")
    });
    if let Some(bytes) = check_object(client, &descriptor, f).await? {
        f.check(manifest.object_bytes()? == bytes.as_ref(), || {
            format!("{path}: manifest object differs from the envelope's manifest")
        });
    }
    check_object(client, &manifest.source, f).await?;
    check_artifacts(client, &path, &manifest, event.event.timestamp, f).await?;
    match &event.event.body {
        EventBody::ReleasePublished {
            package,
            version: v,
            manifest_digest,
            source_digest,
            artifact_digests,
            ..
        } => {
            f.check(package == id && v == version, || {
                format!("{path}: event is for {package}@{v}")
            });
            f.check(*manifest_digest == descriptor.digest, || {
                format!("{path}: event names manifest {manifest_digest}")
            });
            f.check(*source_digest == manifest.source.digest, || {
                format!("{path}: event names source {source_digest}")
            });
            f.check(
                artifact_digests
                    .iter()
                    .eq(manifest.artifacts.iter().map(|a| &a.digest)),
                || format!("{path}: event names other artifacts"),
            );
        }
        _ => f.problem(format!("{path}: envelope event is not release.published")),
    }
    if let Some(proof) = crate::log_check::check_event_proof(client, &event, None).await? {
        f.check_all(proof.err().map(|problem| problem.to_string()));
    }
    if let Some(proof) = &event.event.authorization {
        f.check(proof.domain.as_str() == id.owner_domain(), || {
            format!(
                "{path}: authorized by {} instead of the owner domain",
                proof.domain
            )
        });
    }
    Ok(())
}

/// `regesta verify <id@version>`.
pub(crate) async fn verify(registry: &str, target: &str, printer: &Printer) -> anyhow::Result<u8> {
    let (id, version) = target
        .rsplit_once('@')
        .context("expected <id>@<version>, e.g. npm:some.dev/sdk@1.0.0")?;
    let id = PackageId::parse(id)?;
    let version = Version::parse(version)?;
    let client = RegistryClient::new(registry)?;
    let mut f = Findings::default();
    check_release(&client, &id, &version, &mut f).await?;
    Ok(f.finish(&format!("{id}@{version}"), printer))
}

/// `regesta verify-package <id>`: every release, and the state replayed
/// from the log equals the served state.
pub(crate) async fn verify_package(
    registry: &str,
    id: &str,
    printer: &Printer,
) -> anyhow::Result<u8> {
    let id = PackageId::parse(id)?;
    let client = RegistryClient::multiplexed(registry).await?;
    let mut f = Findings::default();
    let path = format!("/packages/{}", segment(&id));
    let reply = get_ok(&client, &path).await?;
    f.mutable_headers(&path, &reply);
    let served: PackageState = serde_json::from_slice(&reply.body)
        .with_context(|| format!("{path}: not a package state"))?;
    let mut events = Vec::new();
    each_page(&client, Refetch::Package(&id), &mut f, |page, _| {
        events.extend(page.into_iter().filter(|e| e.event.package() == &id));
    })
    .await?;
    let mut replayed = PackageState::new(id.clone());
    for event in &events {
        replayed.apply(event);
    }
    replayed.sort_releases();
    f.check(replayed == served, || {
        format!("{path}: served state differs from the state replayed from the event log")
    });
    let head = events
        .iter()
        .rev()
        .find(|e| e.event.package() == &id)
        .map(|e| e.id);
    f.check(
        head.map(|h| format!("W/\"{h}\"")).as_deref() == reply.header("etag"),
        || format!("{path}: ETag is not the package's last event"),
    );
    for release in &served.releases {
        check_release(&client, &id, &release.version, &mut f).await?;
    }
    Ok(f.finish(&id.to_string(), printer))
}

/// `regesta verify-log`: every event re-hashed (the first of each page also
/// refetched from its own URL), no duplicates, channel events only for
/// published versions.
pub(crate) async fn verify_log(registry: &str, printer: &Printer) -> anyhow::Result<u8> {
    let client = RegistryClient::multiplexed(registry).await?;
    let mut f = Findings::default();
    // What is kept of each event: its id (for the log check), its Go
    // release if any (for the checksum database) and its package's
    // replayed state, never the event itself.
    let mut ids: Vec<Digest> = Vec::new();
    let mut go_releases = Vec::new();
    let mut states: BTreeMap<PackageId, PackageState> = BTreeMap::new();
    let count = each_page(&client, Refetch::FirstOfPage, &mut f, |page, f| {
        for event in &page {
            ids.push(event.id);
            go_releases.extend(crate::sumdb_check::go_release(event));
            replay_checked(&mut states, event, f);
        }
    })
    .await?;
    if let Some(problems) = crate::log_check::check_log_ids(&client, &ids).await? {
        f.check_all(problems);
    }
    crate::sumdb_check::check_log(&client, &go_releases, &mut f).await?;
    Ok(f.finish(&format!("{} ({count} events)", client.base()), printer))
}

/// Applies `event` to its package's state in `states`, after checking it
/// fits: a version is published once, and channels move only to published
/// versions and are deleted only when present.
fn replay_checked(
    states: &mut BTreeMap<PackageId, PackageState>,
    event: &SealedEvent,
    f: &mut Findings,
) {
    let package = event.event.package().clone();
    let state = states
        .entry(package.clone())
        .or_insert_with(|| PackageState::new(package.clone()));
    match &event.event.body {
        EventBody::ReleasePublished { version, .. } => {
            f.check(
                !state.releases.iter().any(|r| &r.version == version),
                || format!("{package}@{version} is published twice"),
            );
        }
        EventBody::ChannelUpdated { version, .. } => {
            f.check(state.releases.iter().any(|r| &r.version == version), || {
                format!(
                    "{} moves a channel of {package} to unpublished {version}",
                    event.id
                )
            });
        }
        EventBody::ChannelDeleted { channel, .. } => {
            f.check(state.channels.contains_key(channel.as_str()), || {
                format!(
                    "{} deletes missing channel {channel} of {package}",
                    event.id
                )
            });
        }
    }
    state.apply(event);
}
