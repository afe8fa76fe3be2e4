//! The log line sink: one thread owns stdout, and every log line — the
//! `tracing` events and the per-request lines — reaches it through one
//! bounded queue, so a request never waits on a write to a slow pipe or
//! terminal. When the queue is full a line is dropped and counted, and the
//! writer reports the count in a `regesta.log` warning line, so losses are
//! visible instead of silent.
//!
//! The per-request line is formatted here by hand, in the same JSON shape
//! `tracing-subscriber` writes (`timestamp`, `level`, `fields`, `target`):
//! the generic formatter costs as much as serving a cached response. It is
//! appended to a per-thread batch, which is queued whole when it holds
//! [`BATCH_BYTES`], when its first line is [`BATCH_AGE`] old, and when the
//! thread goes idle (the runtime's park hook calls [`flush_thread`]), so a
//! request costs a copy into a buffer, not a queue operation.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};

use regesta_protocol::Timestamp;

/// Messages (single lines or batches of request lines) the queue holds
/// before new ones are dropped: with batches of at most [`BATCH_BYTES`],
/// at most 16 MiB.
pub const QUEUE_MESSAGES: usize = 1024;

/// A thread's request lines are queued once they fill this many bytes.
pub const BATCH_BYTES: usize = 16 * 1024;

/// ... or once the oldest of them is this old, whichever comes first.
pub const BATCH_AGE: std::time::Duration = std::time::Duration::from_millis(50);

enum Message {
    /// Whole lines, each ending in `\n`.
    Lines(Vec<u8>),
    Stop,
}

/// The installed sink.
#[derive(Debug)]
struct Sink {
    queue: SyncSender<Message>,
    dropped: AtomicU64,
}

static SINK: OnceLock<Sink> = OnceLock::new();

/// Stops the writer thread when dropped, after it wrote every queued line.
#[derive(Debug)]
pub struct SinkGuard {
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for SinkGuard {
    fn drop(&mut self) {
        if let Some(sink) = SINK.get() {
            let _ = sink.queue.send(Message::Stop);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Starts the writer thread on stdout. Call once, before logging; a second
/// call returns a guard that does nothing.
#[must_use]
pub fn install() -> SinkGuard {
    let (queue, lines) = std::sync::mpsc::sync_channel(QUEUE_MESSAGES);
    if SINK
        .set(Sink {
            queue,
            dropped: AtomicU64::new(0),
        })
        .is_err()
    {
        return SinkGuard { thread: None };
    }
    let thread = std::thread::Builder::new()
        .name("regesta-log".into())
        .spawn(move || write_lines(&lines))
        .ok();
    SinkGuard { thread }
}

/// How long the writer sleeps when the queue is empty. It polls instead of
/// blocking so that queuing a line never has to wake a thread (a futex
/// syscall per request); a line reaches stdout at most this late.
const IDLE_WAIT: std::time::Duration = std::time::Duration::from_millis(10);

/// The writer: writes whatever is queued into one buffer, so a burst of
/// lines costs one syscall, and reports dropped lines.
fn write_lines(lines: &Receiver<Message>) {
    use std::sync::mpsc::TryRecvError;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let mut reported = 0;
    loop {
        match lines.try_recv() {
            Ok(Message::Lines(lines)) => {
                let _ = out.write_all(&lines);
                continue;
            }
            Ok(Message::Stop) | Err(TryRecvError::Disconnected) => {
                let _ = out.flush();
                return;
            }
            Err(TryRecvError::Empty) => {}
        }
        let dropped = SINK.get().map_or(0, |s| s.dropped.load(Ordering::Relaxed));
        if dropped > reported {
            let _ = out.write_all(dropped_line(dropped - reported).as_bytes());
            reported = dropped;
        }
        let _ = out.flush();
        std::thread::sleep(IDLE_WAIT);
    }
}

fn dropped_line(count: u64) -> String {
    format!(
        "{{\"timestamp\":\"{}\",\"level\":\"WARN\",\"fields\":{{\"message\":\"log lines dropped: the log queue was full\",\"dropped\":{count}}},\"target\":\"regesta.log\"}}\n",
        now()
    )
}

fn now() -> Timestamp {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    Timestamp::from_unix_millis(millis).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Queues `count` whole lines (each with its `\n`), or counts them
/// dropped. False when no sink is installed.
fn push(lines: Vec<u8>, count: u64) -> bool {
    let Some(sink) = SINK.get() else {
        return false;
    };
    match sink.queue.try_send(Message::Lines(lines)) {
        Ok(()) => {}
        Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
            sink.dropped.fetch_add(count, Ordering::Relaxed);
        }
    }
    true
}

/// A thread's request lines not queued yet.
struct Batch {
    lines: String,
    count: u64,
    oldest: Option<std::time::Instant>,
}

impl Batch {
    fn queue(&mut self) {
        if self.count > 0 {
            let lines = std::mem::replace(&mut self.lines, String::with_capacity(BATCH_BYTES));
            push(lines.into_bytes(), self.count);
            self.count = 0;
            self.oldest = None;
        }
    }
}

impl Drop for Batch {
    /// A thread that ends (the runtime shutting down) queues what it holds.
    fn drop(&mut self) {
        self.queue();
    }
}

thread_local! {
    static BATCH: std::cell::RefCell<Batch> = const { std::cell::RefCell::new(Batch {
        lines: String::new(),
        count: 0,
        oldest: None,
    }) };
}

/// Queues this thread's pending request lines; the server's runtime calls
/// it whenever a worker thread goes idle, so no line waits for traffic.
pub fn flush_thread() {
    let _ = BATCH.try_with(|batch| {
        if let Ok(mut batch) = batch.try_borrow_mut() {
            batch.queue();
        }
    });
}

/// How many lines were dropped so far.
pub fn dropped() -> u64 {
    SINK.get().map_or(0, |s| s.dropped.load(Ordering::Relaxed))
}

/// An [`std::io::Write`] onto the sink for `tracing-subscriber`: each
/// `write` is one formatted event, queued whole (falls back to stdout when
/// no sink is installed).
#[derive(Debug, Clone, Copy, Default)]
pub struct SinkWriter;

impl std::io::Write for SinkWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if !push(buf.to_vec(), 1) {
            std::io::stdout().write_all(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One finished request, for its log line.
#[derive(Debug)]
pub struct RequestLine<'a> {
    /// The request id sent back in `x-request-id`.
    pub request_id: &'a str,
    /// The method.
    pub method: &'a str,
    /// The path (no query).
    pub path: &'a str,
    /// The response status.
    pub status: u16,
    /// Time to the response head, in microseconds (logged as
    /// milliseconds with three decimals at most).
    pub duration_us: u64,
    /// What the prepared-response cache did for it.
    pub cache: CacheUse,
}

/// What the prepared-response cache did for one request, logged as its
/// `cache` field so an operator can read the hit ratio off the request log
/// (and a test can tell a kept route from one rendered every time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheUse {
    /// Answered from memory (prepared bytes, or `/ready` from its
    /// background probe); no handler ran.
    Hit,
    /// A handler answered and its answer was handed to the cache.
    Stored,
    /// A handler answered and nothing was kept: a write, a range, a
    /// failure, an answer too large or not marked as preparable.
    Passed,
}

impl CacheUse {
    /// The field's value.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Hit => "hit",
            Self::Stored => "stored",
            Self::Passed => "passed",
        }
    }
}

/// Writes the `regesta.request` line for `request`: through the sink when
/// one is installed, else as a `tracing` event.
pub fn request(request: &RequestLine<'_>) {
    if SINK.get().is_none() {
        tracing::info!(
            target: "regesta.request",
            request_id = %request.request_id,
            method = %request.method,
            path = %request.path,
            status = request.status,
            duration_ms = millis(request.duration_us),
            cache = request.cache.as_str(),
        );
        return;
    }
    let at = now();
    let appended = BATCH.try_with(|batch| {
        let Ok(mut batch) = batch.try_borrow_mut() else {
            return false;
        };
        let started = *batch.oldest.get_or_insert_with(std::time::Instant::now);
        write_request(&mut batch.lines, at, request);
        batch.count += 1;
        if batch.lines.len() >= BATCH_BYTES || started.elapsed() >= BATCH_AGE {
            batch.queue();
        }
        true
    });
    if appended != Ok(true) {
        push(format_request(at, request).into_bytes(), 1);
    }
}

/// Microseconds as the milliseconds `f64` the line shows.
#[allow(clippy::cast_precision_loss)] // exact below 2^53 µs (285 years)
fn millis(micros: u64) -> f64 {
    micros as f64 / 1e3
}

/// The line as `tracing-subscriber`'s JSON formatter writes it.
fn format_request(at: Timestamp, r: &RequestLine<'_>) -> String {
    let mut line = String::with_capacity(160 + r.path.len());
    write_request(&mut line, at, r);
    line
}

/// Writes the line for `r` into `line`: by hand, with integer arithmetic,
/// since at a hundred thousand lines a second the generic float and date
/// formatting was most of the log's cost.
fn write_request(line: &mut String, at: Timestamp, r: &RequestLine<'_>) {
    line.push_str("{\"timestamp\":\"");
    push_timestamp(line, at);
    line.push_str("\",\"level\":\"INFO\",\"fields\":{\"request_id\":");
    json_string(line, r.request_id);
    line.push_str(",\"method\":");
    json_string(line, r.method);
    line.push_str(",\"path\":");
    json_string(line, r.path);
    let _ = write!(line, ",\"status\":{},\"duration_ms\":", r.status);
    push_millis(line, r.duration_us);
    line.push_str(",\"cache\":\"");
    line.push_str(r.cache.as_str());
    line.push_str("\"},\"target\":\"regesta.request\"}\n");
}

/// `at` as RFC 3339 text, formatted once per millisecond per thread.
fn push_timestamp(out: &mut String, at: Timestamp) {
    use std::cell::RefCell;
    thread_local! {
        static LAST: RefCell<(i64, String)> = const { RefCell::new((i64::MIN, String::new())) };
    }
    LAST.with_borrow_mut(|(millis, text)| {
        if *millis != at.unix_millis() {
            *millis = at.unix_millis();
            text.clear();
            let _ = write!(text, "{at}");
        }
        out.push_str(text);
    });
}

/// Microseconds as the shortest decimal milliseconds, exactly as `f64`'s
/// `Display` shows `micros / 1000` (`0.25`, `12`, `3.007`).
fn push_millis(out: &mut String, micros: u64) {
    let (whole, mut frac) = (micros / 1000, micros % 1000);
    let _ = write!(out, "{whole}");
    if frac == 0 {
        return;
    }
    let mut digits = 3;
    while frac % 10 == 0 {
        frac /= 10;
        digits -= 1;
    }
    let _ = write!(out, ".{frac:0digits$}");
}

/// `value` as a JSON string; runs that need no escape are copied whole.
fn json_string(out: &mut String, value: &str) {
    out.push('"');
    let mut rest = value;
    while let Some(at) = rest
        .bytes()
        .position(|b| b == b'"' || b == b'\\' || b < 0x20 || b == 0x7f)
    {
        out.push_str(&rest[..at]);
        match rest.as_bytes()[at] {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b => {
                let _ = write!(out, "\\u{:04x}", u32::from(b));
            }
        }
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines_are_json_in_the_tracing_shape() {
        let at = Timestamp::parse("2026-12-05T08:00:00.123Z").unwrap();
        let line = format_request(
            at,
            &RequestLine {
                request_id: "abc",
                method: "GET",
                path: "/odd\"\\\u{1}path",
                status: 200,
                duration_us: 250,
                cache: CacheUse::Stored,
            },
        );
        assert!(line.ends_with('\n'));
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["timestamp"], "2026-12-05T08:00:00.123Z");
        assert_eq!(value["level"], "INFO");
        assert_eq!(value["target"], "regesta.request");
        let fields = &value["fields"];
        assert_eq!(fields["request_id"], "abc");
        assert_eq!(fields["method"], "GET");
        assert_eq!(fields["path"], "/odd\"\\\u{1}path");
        assert_eq!(fields["status"], 200);
        assert_eq!(fields["duration_ms"], 0.25);
        assert_eq!(fields["cache"], "stored");
    }

    #[test]
    fn durations_read_as_the_float_milliseconds_they_are() {
        for micros in [
            0,
            1,
            10,
            250,
            1000,
            1001,
            12_340,
            3_007,
            999_999,
            86_400_000_123,
        ] {
            let mut text = String::new();
            push_millis(&mut text, micros);
            assert_eq!(text, millis(micros).to_string(), "{micros}");
        }
    }

    #[test]
    fn dropped_lines_are_reported_as_json() {
        let value: serde_json::Value = serde_json::from_str(&dropped_line(7)).unwrap();
        assert_eq!(value["fields"]["dropped"], 7);
        assert_eq!(value["level"], "WARN");
    }
}
