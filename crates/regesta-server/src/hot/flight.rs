//! One handler run per missing answer: when a GET finds no kept answer,
//! it asks the router, and GETs for the same key that arrive meanwhile wait
//! for that answer instead of asking again. Without it, the first reads of
//! a popular package after a publish each render the same documents at
//! once: the database work and the memory of the render times the requests
//! in flight.
//!
//! A waiter is woken when the first request's handler has answered (and
//! its answer was kept, or not), or when that request went away; it then
//! looks in the cache once more and, finding nothing it may serve, asks the
//! router itself. So it waits at most one handler run, never a chain.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::watch;

use super::Key;

/// The keys whose answer a request is asking the router for.
#[derive(Debug, Default)]
pub(super) struct Flights(Arc<Mutex<HashMap<Key, watch::Sender<()>>>>);

/// What a request missing its answer does.
#[derive(Debug)]
pub(super) enum Flight {
    /// Ask the router; waiters are woken when this is dropped.
    Lead(Landing),
    /// Wait for the request that is asking ([`Flight::wait`]).
    Follow(watch::Receiver<()>),
}

/// Held by the request asking the router for `key`: dropping it (once
/// the answer is kept, or when the request is dropped) wakes the waiters.
#[derive(Debug)]
pub(super) struct Landing {
    flights: Arc<Mutex<HashMap<Key, watch::Sender<()>>>>,
    key: Key,
}

impl Flights {
    /// Leads the flight for `key`, or follows the one in the air.
    pub(super) fn join(&self, key: &Key) -> Flight {
        let mut flights = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(sender) = flights.get(key) {
            // Subscribed under the lock: the sender is dropped only after
            // the lead removes it under the same lock, so the wake-up
            // cannot be missed.
            return Flight::Follow(sender.subscribe());
        }
        flights.insert(key.clone(), watch::channel(()).0);
        Flight::Lead(Landing {
            flights: Arc::clone(&self.0),
            key: key.clone(),
        })
    }

    /// Keys in the air (for tests).
    #[cfg(test)]
    pub(super) fn in_air(&self) -> usize {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

impl Flight {
    /// Waits for the lead to land; a lead returns at once.
    pub(super) async fn wait(self) -> Option<Landing> {
        match self {
            Self::Lead(landing) => Some(landing),
            Self::Follow(mut landed) => {
                // Nothing is ever sent: the lead's sender closing is the
                // signal, so the result says nothing more.
                let _ = landed.changed().await;
                None
            }
        }
    }
}

impl Drop for Landing {
    fn drop(&mut self) {
        self.flights
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.key);
    }
}
