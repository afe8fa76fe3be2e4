//! Channel writes: `PUT` and `DELETE /packages/{id}/channels/{channel}`.
//!
//! As in the reference, the signed intent must name the channel's current
//! version as `previousVersion` (absent when the channel does not exist), so
//! every move is a compare-and-swap the owner signed; the commit repeats the
//! check inside its transaction and a lost race is 409
//! `package_channel_conflict`.

use regesta_protocol::json::parse_strict;
use regesta_protocol::{
    ChannelName, Event, EventBody, IntentAction, PackageId, SealedEvent, Version,
    WriteAuthorization,
};
use regesta_store::{ChannelCommit, StoreError};
use serde_json::Value;

use crate::error::CoreError;
use crate::publish::{MAX_JSON_PART_BYTES, mismatch, parse_authorization_value};
use crate::registry::Registry;
use crate::render::render_event;

/// A committed channel write.
#[derive(Debug, Clone)]
pub struct ChannelWritten {
    /// The package.
    pub package: PackageId,
    /// The channel.
    pub channel: ChannelName,
    /// The new target (`None` after a delete).
    pub version: Option<Version>,
    /// The version the channel pointed at before.
    pub previous_version: Option<Version>,
    /// The appended event.
    pub event: SealedEvent,
}

/// The body of a channel write: `{authorization, version}` for an update,
/// `{authorization}` for a delete.
struct ChannelBody {
    authorization: Value,
    version: Option<Version>,
}

fn parse_body(bytes: &[u8], with_version: bool) -> Result<ChannelBody, CoreError> {
    let value = parse_strict(bytes, MAX_JSON_PART_BYTES)
        .map_err(|e| CoreError::invalid("Invalid JSON request body", vec![e.to_string()]))?;
    let invalid = |issue: String| CoreError::invalid("Invalid channel request body", vec![issue]);
    let Value::Object(map) = value else {
        return Err(invalid("Must be an object".into()));
    };
    if let Some(extra) = map
        .keys()
        .find(|k| !(k.as_str() == "authorization" || (with_version && k.as_str() == "version")))
    {
        return Err(invalid(format!("{extra}: Unknown key")));
    }
    let authorization = match map.get("authorization") {
        Some(v @ Value::Object(_)) => v.clone(),
        _ => return Err(invalid("authorization: Must be an object".into())),
    };
    let version = if with_version {
        let text = map
            .get("version")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| invalid("version: Must be a non-empty string".into()))?;
        Some(Version::parse(text).map_err(|e| {
            CoreError::invalid("Invalid version", vec![e.said_of("Package version")])
        })?)
    } else {
        None
    };
    Ok(ChannelBody {
        authorization,
        version,
    })
}

/// The signed intent must be exactly this channel write.
fn check_intent(
    auth: &WriteAuthorization,
    package: &PackageId,
    channel: &ChannelName,
    target: Option<&Version>,
    current: Option<&Version>,
) -> Result<(), CoreError> {
    let (signed_channel, signed_target, signed_previous) = match (&auth.payload.action, target) {
        (
            IntentAction::ChannelUpdate {
                channel,
                version,
                previous_version,
            },
            Some(_),
        ) => (channel, Some(version), previous_version.as_ref()),
        (
            IntentAction::ChannelDelete {
                channel,
                previous_version,
            },
            None,
        ) => (channel, None, previous_version.as_ref()),
        _ => return Err(mismatch()),
    };
    let checks = [
        &auth.payload.package == package,
        signed_channel == channel,
        signed_target == target,
        signed_previous == current,
    ];
    if checks.iter().all(|ok| *ok) {
        Ok(())
    } else {
        Err(mismatch())
    }
}

impl Registry {
    /// Points `channel` at a published version, signed by the owner domain.
    ///
    /// # Errors
    /// 400 for a bad body, 401 for a bad authorization or a stale
    /// `previousVersion`, 404 when the version is not published, 409 for a
    /// replay or a lost race.
    pub async fn update_channel(
        &self,
        package: &PackageId,
        channel: &ChannelName,
        body: &[u8],
    ) -> Result<ChannelWritten, CoreError> {
        let body = parse_body(body, true)?;
        self.write_channel(package, channel, body).await
    }

    /// Deletes `channel`, signed by the owner domain. Deleting a channel that
    /// does not exist is 404 `channel_not_found` and appends nothing.
    ///
    /// # Errors
    /// As [`Self::update_channel`], plus 404 for a missing channel.
    pub async fn delete_channel(
        &self,
        package: &PackageId,
        channel: &ChannelName,
        body: &[u8],
    ) -> Result<ChannelWritten, CoreError> {
        let body = parse_body(body, false)?;
        self.write_channel(package, channel, body).await
    }

    async fn write_channel(
        &self,
        package: &PackageId,
        channel: &ChannelName,
        body: ChannelBody,
    ) -> Result<ChannelWritten, CoreError> {
        let auth = parse_authorization_value(&body.authorization)?;
        let current = self
            .db
            .channel(package, channel)
            .await?
            .map(|record| record.version);
        check_intent(
            &auth,
            package,
            channel,
            body.version.as_ref(),
            current.as_ref(),
        )?;
        let proof = self.authorize(&auth).await?;
        self.refuse_replay(&proof).await?;
        let event_body = if let Some(version) = &body.version {
            if self.db.release(package, version).await?.is_none() {
                return Err(CoreError::release_not_found(package, version));
            }
            EventBody::ChannelUpdated {
                package: package.clone(),
                channel: channel.clone(),
                version: version.clone(),
                previous_version: current.clone(),
            }
        } else {
            if current.is_none() {
                return Err(CoreError::not_found(
                    crate::error::ErrorCode::ChannelNotFound,
                    "Channel not found",
                ));
            }
            EventBody::ChannelDeleted {
                package: package.clone(),
                channel: channel.clone(),
                previous_version: current.clone(),
            }
        };
        let event = Event {
            timestamp: auth.payload.timestamp,
            authorization: Some(proof.clone()),
            body: event_body,
        }
        .seal()
        .map_err(CoreError::internal)?;
        let rendered = render_event(&event)?;
        self.db
            .commit_channel(&ChannelCommit {
                package: package.clone(),
                channel: channel.clone(),
                expected: current.clone(),
                target: body.version.clone(),
                timestamp: auth.payload.timestamp,
                event_id: event.id,
                event_bytes: rendered.bytes,
                event_listing: rendered.listing,
                payload_digest: Some(proof.payload_digest),
            })
            .await
            .map_err(|e| match e {
                StoreError::StaleChannel => CoreError::ChannelConflict {
                    package: package.clone(),
                    channel: channel.clone(),
                },
                StoreError::Replayed => CoreError::Replayed(proof.payload_digest),
                other => other.into(),
            })?;
        Ok(ChannelWritten {
            package: package.clone(),
            channel: channel.clone(),
            version: body.version,
            previous_version: current,
            event,
        })
    }
}
