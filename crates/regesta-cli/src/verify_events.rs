//! Reading the event log by pages for the verifiers: every listed event's
//! id recomputed from its content, pipelined over the cores, and the events
//! a verifier names refetched from their own URLs.

use std::collections::HashSet;

use anyhow::Context as _;
use regesta_client::http::RegistryClient;
use regesta_protocol::json::parse_strict;
use regesta_protocol::{Digest, PackageId, SealedEvent};

use crate::verify::{Findings, check_event, get_ok};

/// Event refetches in flight at once: enough to hide the round trip, few
/// enough not to flood the registry.
const REFETCHES_IN_FLIGHT: usize = 32;

/// One page of the event log: its events (each id recomputed) in order and
/// what was found checking the page itself.
struct EventPage {
    events: Vec<SealedEvent>,
    findings: Findings,
}

/// A fetched page of `/events[?after=]`, strictly parsed, its events not
/// checked yet.
struct RawPage {
    path: String,
    page: serde_json::Value,
    findings: Findings,
}

impl RawPage {
    /// The cursor of the next page: the id the last event is listed with
    /// (checked against the event's content with the rest of the page).
    fn cursor(&self) -> Option<Digest> {
        self.page["events"]
            .as_array()
            .and_then(|events| events.last())
            .and_then(|event| event["id"].as_str())
            .and_then(|id| Digest::parse(id).ok())
    }
}

/// Fetches `/events[?after=]` and checks the reply itself.
async fn fetch_page(client: RegistryClient, after: Option<Digest>) -> anyhow::Result<RawPage> {
    let path = match &after {
        Some(d) => format!("/events?after={d}"),
        None => "/events".to_owned(),
    };
    let mut f = Findings::default();
    let reply = get_ok(&client, &path).await?;
    f.mutable_headers(&path, &reply);
    let page = parse_strict(&reply.body, reply.body.len())
        .with_context(|| format!("{path}: not strict JSON"))?;
    Ok(RawPage {
        path,
        page,
        findings: f,
    })
}

/// Recomputes every listed event's id from its content (the CPU-heavy
/// part, run off the async workers) and checks `nextAfter`.
fn check_page(raw: RawPage) -> EventPage {
    let RawPage {
        path,
        page,
        findings: mut f,
    } = raw;
    let mut events = Vec::new();
    for item in page["events"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        match SealedEvent::from_json(item) {
            Ok(event) => events.push(event),
            Err(_) => f.problem(format!("{path}: an event's id does not match its content")),
        }
    }
    if let Some(last) = events.last() {
        let last = last.id.to_string();
        f.check(page["nextAfter"].as_str() == Some(last.as_str()), || {
            format!("{path}: nextAfter is not the last event")
        });
    }
    EventPage {
        events,
        findings: f,
    }
}

/// Refetches `event` by id and checks it. The listed event's id was
/// recomputed already, so a refetch whose bytes are exactly its canonical
/// bytes is the same event: only a refetch that differs is parsed and
/// re-hashed, to say how it differs.
async fn refetch(client: &RegistryClient, event: &SealedEvent) -> anyhow::Result<Findings> {
    let mut f = Findings::default();
    let expected = event.served_bytes()?;
    let path = format!("/events/sha256/{}", event.id.hex());
    let reply = get_ok(client, &path).await?;
    if reply.body.as_ref() == expected.as_slice() {
        f.immutable_headers(&path, &reply, &format!("W/\"{}\"", event.id));
        // The id, canonical-bytes and same-event checks, all passed.
        for _ in 0..3 {
            f.check(true, String::new);
        }
        return Ok(f);
    }
    let refetched = check_event(client, &event.id, &mut f).await?;
    f.check(refetched.as_ref() == Some(event), || {
        format!("event {} differs between the log and its own URL", event.id)
    });
    Ok(f)
}

/// Refetches every event of `events` by id, up to [`REFETCHES_IN_FLIGHT`]
/// at once, and checks each against its listing; findings in log order.
async fn refetch_all(client: &RegistryClient, events: &[&SealedEvent]) -> anyhow::Result<Findings> {
    use futures_util::{StreamExt as _, TryStreamExt as _};
    let checked: Vec<Findings> = futures_util::stream::iter(events)
        .map(|event| refetch(client, event))
        .buffered(REFETCHES_IN_FLIGHT)
        .try_collect()
        .await?;
    let mut all = Findings::default();
    for f in checked {
        all.merge(f);
    }
    Ok(all)
}

/// Which listed events are also refetched from their own URL.
#[derive(Clone, Copy)]
pub(crate) enum Refetch<'a> {
    /// The events of one package (`verify-package`).
    Package(&'a PackageId),
    /// The first event of every page: a spot check that the event URLs
    /// agree with the log (`verify-log`). Every event's id is recomputed
    /// from the listed bytes anyway, so a refetch adds only that check,
    /// and one request per event would make a large log slow to verify.
    FirstOfPage,
}

/// Every event of the log, page by page, each id recomputed, the events
/// `refetch` names checked against their refetch, each page handed to
/// `visit` in log order and then dropped: a verifier keeps what it needs
/// of an event, not the event, so memory does not grow with the log's
/// bytes. Pipelined on all cores: the next page is fetched and parsed on
/// one worker while this page's events are re-hashed on the blocking pool
/// and its refetches run. The number of events read.
pub(crate) async fn each_page(
    client: &RegistryClient,
    refetch: Refetch<'_>,
    f: &mut Findings,
    mut visit: impl FnMut(Vec<SealedEvent>, &mut Findings),
) -> anyhow::Result<usize> {
    let mut seen = HashSet::new();
    let mut count = 0;
    let mut raw = fetch_page(client.clone(), None).await?;
    loop {
        let next = raw
            .cursor()
            .map(|cursor| tokio::spawn(fetch_page(client.clone(), Some(cursor))));
        let mut page = tokio::task::spawn_blocking(move || check_page(raw)).await?;
        f.merge(std::mem::take(&mut page.findings));
        let Some(last) = page.events.last().map(|e| e.id) else {
            if let Some(next) = next {
                next.abort();
            }
            break;
        };
        // A last entry listed without a usable id: go on after the last
        // event that checked, as a page-at-a-time reader would.
        let next = next.unwrap_or_else(|| tokio::spawn(fetch_page(client.clone(), Some(last))));
        for event in &page.events {
            f.check(seen.insert(event.id), || {
                format!("event {} appears twice in the log", event.id)
            });
        }
        let checked: Vec<&SealedEvent> = match refetch {
            Refetch::Package(id) => page
                .events
                .iter()
                .filter(|e| e.event.package() == id)
                .collect(),
            Refetch::FirstOfPage => page.events.iter().take(1).collect(),
        };
        f.merge(refetch_all(client, &checked).await?);
        count += page.events.len();
        visit(page.events, f);
        raw = next.await??;
    }
    Ok(count)
}
