//! Read-model documents: package state and object inventory pages.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::event::{EventBody, SealedEvent};
use crate::ids::{PackageId, Version};
use crate::manifest::ObjectDescriptor;
use crate::timestamp::Timestamp;

/// One release as listed in a package state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PackageStateRelease {
    /// Publish time.
    pub created_at: Timestamp,
    /// Digest of the manifest object.
    pub manifest_digest: Digest,
    /// Version.
    pub version: Version,
}

/// `regesta.package-state`: channels and releases of one package, keys in
/// sorted order (which is also how the reference serves it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PackageState {
    /// Channel name → version.
    pub channels: BTreeMap<String, Version>,
    /// Ecosystem key.
    pub ecosystem: String,
    /// Package id.
    pub id: PackageId,
    /// `owner-domain/name`.
    pub name: String,
    /// Always `regesta.package-state`.
    pub object: String,
    /// Releases ordered by `createdAt`, then version.
    pub releases: Vec<PackageStateRelease>,
}

impl PackageState {
    /// An empty state for `id`.
    pub fn new(id: PackageId) -> Self {
        Self {
            channels: BTreeMap::new(),
            ecosystem: id.ecosystem().to_owned(),
            name: id.name().to_owned(),
            id,
            object: "regesta.package-state".to_owned(),
            releases: Vec::new(),
        }
    }

    /// Applies one event (events of other packages are ignored): how anyone
    /// replays package state from the public event log.
    pub fn apply(&mut self, event: &SealedEvent) {
        if event.event.package() != &self.id {
            return;
        }
        match &event.event.body {
            EventBody::ReleasePublished {
                version,
                manifest_digest,
                channel,
                ..
            } => {
                self.releases.push(PackageStateRelease {
                    created_at: event.event.timestamp,
                    manifest_digest: *manifest_digest,
                    version: version.clone(),
                });
                self.channels
                    .insert(channel.as_str().to_owned(), version.clone());
            }
            EventBody::ChannelUpdated {
                channel, version, ..
            } => {
                self.channels
                    .insert(channel.as_str().to_owned(), version.clone());
            }
            EventBody::ChannelDeleted { channel, .. } => {
                self.channels.remove(channel.as_str());
            }
        }
    }

    /// Sorts releases into the v0 order: `createdAt` ascending, version as
    /// the tie-breaker.
    pub fn sort_releases(&mut self) {
        self.releases.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.version.as_str().cmp(b.version.as_str()))
        });
    }
}

/// `regesta.object-inventory`: one page of objects in digest order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ObjectInventory {
    /// Always `regesta.object-inventory`.
    pub object: String,
    /// The page.
    pub objects: Vec<ObjectDescriptor>,
    /// Cursor for the next page, when there may be more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_after: Option<Digest>,
}
