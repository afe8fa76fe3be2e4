//! `regesta publish` and `regesta channel set|rm`: signed writes.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use regesta_client::http::RegistryClient;
use regesta_client::publish::build;
use regesta_client::sign::Signer;
use regesta_protocol::{
    ChannelName, Digest, IntentAction, OwnerDomain, PackageId, Timestamp, Version, WriteIntent,
};
use serde_json::json;

use crate::keys::nonce;
use crate::printer::Printer;
use crate::project::{Overrides, load};

/// Now, as a protocol timestamp.
pub(crate) fn now() -> anyhow::Result<Timestamp> {
    let millis = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis();
    Ok(Timestamp::from_unix_millis(i64::try_from(millis)?)?)
}

/// `regesta publish [dir]`.
pub(crate) async fn publish(
    dir: &Path,
    registry: &str,
    signer: Option<&Signer>,
    overrides: &Overrides,
    dry_run: bool,
    printer: &Printer,
) -> anyhow::Result<()> {
    let (input, entries) = load(dir, overrides, printer)?;
    let id = input.config.id.clone();
    let version = input.config.version.clone().context("no version")?;
    let source_digest = Digest::of(&input.source);
    let files: Vec<serde_json::Value> = input
        .artifacts
        .iter()
        .map(|a| json!({"filename": a.filename, "role": a.role, "format": a.format, "digest": Digest::of(&a.bytes).to_string(), "size": a.bytes.len()}))
        .collect();
    let summary = json!({
        "id": id.as_str(),
        "version": version.as_str(),
        "configDigest": input.config.digest()?.to_string(),
        "source": {"digest": source_digest.to_string(), "size": input.source.len(), "entries": entries},
        "artifacts": files,
    });
    let human_summary = format!(
        "{id}@{version}\n  source    {source_digest} ({} bytes, {} entries)\n{}",
        input.source.len(),
        entries.len(),
        input
            .artifacts
            .iter()
            .map(|a| format!(
                "  {:<9} {} {} ({} bytes)",
                a.role,
                Digest::of(&a.bytes),
                a.filename,
                a.bytes.len()
            ))
            .collect::<Vec<_>>()
            .join("\n")
    );
    if dry_run {
        printer.result(
            &format!("{human_summary}\n(dry run: nothing sent)"),
            &json!({"dryRun": true, "release": summary}),
        );
        return Ok(());
    }
    let signer = signer.context(
        "a publish needs a key: --auth-key <private-key.json> or --ssh-key <id_ed25519>",
    )?;
    let request = build(&input, signer, now()?, &nonce())?;
    printer.detail(&format!("signed with kid {}", signer.kid()));
    let client = RegistryClient::new(registry)?;
    printer.step(&format!(
        "publishing {id}@{version} to {} ({} bytes)",
        client.base(),
        request.body.len()
    ));
    let reply = client
        .post_with_progress(
            "/releases",
            &request.content_type,
            request.body,
            printer.upload_bar(),
        )
        .await?;
    if reply.status != 201 {
        bail!(
            "{}{}",
            reply.error_message(),
            hint(&reply, signer, id.owner_domain())
        );
    }
    let body = reply.json();
    let event = body["event"]["id"].as_str().unwrap_or_default().to_owned();
    let manifest = body["manifestDescriptor"]["digest"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    printer.result(
        &format!("{} {human_summary}\n  manifest  {manifest}\n  event     {event}", printer.ok("published")),
        &json!({"published": summary, "event": event, "manifestDigest": manifest, "channel": body["channel"]}),
    );
    Ok(())
}

/// A hint for the common authorization failures.
fn hint(reply: &regesta_client::http::Reply, signer: &Signer, domain: &str) -> String {
    let message = reply.json()["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    match message.as_str() {
        "Domain binding key not found or inactive" => format!(
            "\nhint: the binding at https://{domain}/.well-known/regesta.json has no active key with kid {}",
            signer.kid()
        ),
        "Domain binding not found" | "Domain binding fetch failed" => format!(
            "\nhint: publish your binding at https://{domain}/.well-known/regesta.json (regesta keygen writes it)"
        ),
        "Write intent timestamp is outside window" => {
            "\nhint: check this machine's clock".to_owned()
        }
        _ => String::new(),
    }
}

/// The version a channel points at now (`None` when it does not exist).
async fn current_channel(
    client: &RegistryClient,
    id: &PackageId,
    channel: &ChannelName,
) -> anyhow::Result<Option<Version>> {
    let path = format!(
        "/packages/{}/channels/{}",
        id.to_path_segment(),
        regesta_protocol::ids::encode_uri_component(channel.as_str())
    );
    let reply = client.get(&path).await?;
    match reply.status {
        200 => {
            let version = reply.json()["manifest"]["version"]
                .as_str()
                .map(str::to_owned)
                .context("the channel read has no manifest version")?;
            Ok(Some(Version::parse(&version)?))
        }
        404 if reply.json()["code"] == "channel_not_found"
            || reply.json()["code"] == "package_not_found" =>
        {
            Ok(None)
        }
        _ => bail!("cannot read channel {channel}: {}", reply.error_message()),
    }
}

/// `regesta channel set <id> <channel> <version>` (`version: Some`) or
/// `regesta channel rm <id> <channel>` (`version: None`).
pub(crate) async fn channel(
    registry: &str,
    signer: &Signer,
    id: &str,
    channel: &str,
    version: Option<&str>,
    printer: &Printer,
) -> anyhow::Result<()> {
    let id = PackageId::parse(id)?;
    let channel = ChannelName::parse(channel)?;
    let version = version.map(Version::parse).transpose()?;
    let client = RegistryClient::new(registry)?;
    let previous = current_channel(&client, &id, &channel).await?;
    if version.is_none() && previous.is_none() {
        bail!("channel {channel} of {id} does not exist");
    }
    let action = match &version {
        Some(version) => IntentAction::ChannelUpdate {
            channel: channel.clone(),
            version: version.clone(),
            previous_version: previous.clone(),
        },
        None => IntentAction::ChannelDelete {
            channel: channel.clone(),
            previous_version: previous.clone(),
        },
    };
    let intent = WriteIntent {
        domain: OwnerDomain::parse(id.owner_domain())?,
        package: id.clone(),
        nonce: nonce(),
        timestamp: now()?,
        action,
    };
    let authorization = signer.sign(intent)?.to_json();
    printer.detail(&format!("signed with kid {}", signer.kid()));
    let path = format!(
        "/packages/{}/channels/{}",
        id.to_path_segment(),
        regesta_protocol::ids::encode_uri_component(channel.as_str())
    );
    let (method, body) = match &version {
        Some(v) => (
            "PUT",
            json!({"authorization": authorization, "version": v.as_str()}),
        ),
        None => ("DELETE", json!({"authorization": authorization})),
    };
    let reply = client.send_json(method, &path, &body).await?;
    if reply.status != 200 {
        bail!(
            "{}{}",
            reply.error_message(),
            hint(&reply, signer, id.owner_domain())
        );
    }
    let event = reply.json()["event"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let from = previous
        .as_ref()
        .map_or("(none)".to_owned(), ToString::to_string);
    let human = match &version {
        Some(v) => format!(
            "{} {id} {channel}: {from} -> {v}\n  event {event}",
            printer.ok("moved")
        ),
        None => format!(
            "{} {id} {channel} (was {from})\n  event {event}",
            printer.ok("deleted")
        ),
    };
    printer.result(&human, &json!({"package": id.as_str(), "channel": channel.as_str(), "version": version.map(|v| v.to_string()), "previousVersion": previous.map(|v| v.to_string()), "event": event}));
    Ok(())
}
