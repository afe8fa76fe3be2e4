//! Package state replayed from the event log alone: what an auditor or a
//! mirror recomputes to check the registry's materialized view.

use regesta_protocol::json::parse_strict;
use regesta_protocol::{PackageId, PackageState, SealedEvent};

use crate::error::CoreError;
use crate::reads::{MAX_PAGE_LIMIT, PageQuery};
use crate::registry::Registry;

impl Registry {
    /// Replays the whole event log for `id`, re-verifying every event id on
    /// the way, and returns the package state the events imply.
    ///
    /// # Errors
    /// An event whose bytes do not parse or do not match its id (the log is
    /// corrupt), or storage failure.
    pub async fn replay_package_state(&self, id: &PackageId) -> Result<PackageState, CoreError> {
        let mut state = PackageState::new(id.clone());
        let mut query = PageQuery {
            after: None,
            limit: MAX_PAGE_LIMIT,
        };
        loop {
            let events = self
                .db
                .events_after(query.after.as_ref(), query.limit)
                .await?;
            let Some(last) = events.last() else { break };
            query.after = Some(last.id);
            for stored in &events {
                if &stored.package != id {
                    continue;
                }
                let sealed = parse_strict(&stored.bytes, stored.bytes.len())
                    .ok()
                    .and_then(|v| SealedEvent::from_json(&v).ok())
                    .filter(|e| e.id == stored.id)
                    .ok_or_else(|| {
                        CoreError::internal(format!("event {} is corrupt", stored.id))
                    })?;
                state.apply(&sealed);
            }
        }
        state.sort_releases();
        Ok(state)
    }
}
