//! Renderings stored at write time, so reads serve bytes.

use bytes::Bytes;
use regesta_protocol::{EventKeyOrder, SealedEvent};

use crate::error::CoreError;

/// An event's two stored byte forms.
#[derive(Debug, Clone)]
pub(crate) struct RenderedEvent {
    /// Canonical JSON with `id`, plus `\n` (single-event read).
    pub(crate) bytes: Bytes,
    /// Stored key order, no newline (event pages).
    pub(crate) listing: Bytes,
}

/// Renders both byte forms of `event`.
pub(crate) fn render_event(event: &SealedEvent) -> Result<RenderedEvent, CoreError> {
    let bytes = event.served_bytes().map_err(CoreError::internal)?;
    let listing =
        serde_json::to_vec(&event.to_json(EventKeyOrder::Stored)).map_err(CoreError::internal)?;
    Ok(RenderedEvent {
        bytes: Bytes::from(bytes),
        listing: Bytes::from(listing),
    })
}
