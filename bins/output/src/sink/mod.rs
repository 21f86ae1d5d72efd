//! Sinks: where alerts go. Each sink runs on its own thread, fed by its own
//! [`Queue`], so a slow or hanging destination delays only itself.
//!
//! A sink only knows how to deliver one alert; retrying with backoff,
//! giving up on refused alerts, reopening on SIGHUP and counting live in
//! [`run`], shared by all sinks.

pub mod file;
pub mod http;
pub mod program;
pub mod stdout;
pub mod syslog;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::alert::Alert;
use crate::queue::Queue;

/// Why one delivery failed.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The destination is unreachable or failing: try again later.
    #[error("{0}")]
    Retry(String),
    /// The destination refused this alert for good (e.g. HTTP 400): retrying
    /// cannot help, so it is counted and skipped.
    #[error("refused: {0}")]
    Refused(String),
    /// stdout was closed: the stage ends.
    #[error("output closed")]
    OutputClosed,
}

/// An alert the renderer refuses would be refused again on every retry.
impl From<render::RenderError> for DeliveryError {
    fn from(e: render::RenderError) -> Self {
        DeliveryError::Refused(e.to_string())
    }
}

/// One destination.
pub trait Sink: Send {
    /// Delivers one alert (possibly into a buffer that [`Sink::flush`]
    /// empties).
    fn deliver(&mut self, alert: &Alert) -> Result<(), DeliveryError>;

    /// Sends what [`Sink::deliver`] buffered. Called when the queue is empty.
    fn flush(&mut self) -> Result<(), DeliveryError> {
        Ok(())
    }

    /// Reopens files after SIGHUP (logrotate).
    fn reopen(&mut self) {}
}

/// Counters of one sink, read by the metrics endpoint.
#[derive(Debug, Default)]
pub struct SinkStats {
    pub delivered: AtomicU64,
    pub failures: AtomicU64,
    pub refused: AtomicU64,
    /// Whether the last delivery attempt failed.
    pub failing: AtomicBool,
    /// From evaluate reading the event to the alert leaving this sink.
    pub latency: crate::latency::Histogram,
}

/// Retry delays: doubling from `min` up to `max`.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub min: Duration,
    pub max: Duration,
}

/// First retry delay unless configured.
pub const DEFAULT_BACKOFF_MIN: Duration = Duration::from_millis(100);
/// Longest retry delay unless configured: a destination that comes back is
/// noticed within this.
pub const DEFAULT_BACKOFF_MAX: Duration = Duration::from_secs(10);

/// Delivered alerts whose latency is held until the sink's next flush (when
/// they really leave); past this many the sink is flushed early.
const LATENCY_BATCH: usize = 1024;

/// Failures between two repeated warnings about the same failing sink, so a
/// long outage does not flood the log.
const FAILURE_LOG_EVERY: u64 = 100;

/// Delivers everything `queue` holds to `sink` until the queue is stopped,
/// or closed and empty.
pub fn run(
    name: &str,
    mut sink: Box<dyn Sink>,
    queue: &Queue,
    stats: &SinkStats,
    backoff: Backoff,
    reopen: &AtomicBool,
) {
    let mut unflushed = false;
    // evalTsNs of alerts delivered but maybe still in the sink's buffer.
    let mut pending: Vec<u64> = Vec::with_capacity(LATENCY_BATCH);
    'alerts: loop {
        let item = match queue.next(false) {
            Some(item) => item,
            None => {
                if unflushed {
                    unflushed = false;
                    flush(name, sink.as_mut(), stats, &mut pending);
                }
                match queue.next(true) {
                    Some(item) => item,
                    None => break,
                }
            }
        };
        let (alert, ticket) = item;
        // Checked after waiting, so that the first alert after SIGHUP
        // already goes to the new file.
        if reopen.swap(false, Ordering::Relaxed) {
            sink.reopen();
        }
        let mut delay = backoff.min;
        loop {
            match sink.deliver(&alert) {
                Ok(()) => {
                    stats.delivered.fetch_add(1, Ordering::Relaxed);
                    if stats.failing.swap(false, Ordering::Relaxed) {
                        tracing::warn!("sink {name}: delivering again");
                    }
                    queue.ack(ticket);
                    unflushed = true;
                    if alert.eval_ts_ns != 0 {
                        pending.push(alert.eval_ts_ns);
                        if pending.len() >= LATENCY_BATCH {
                            flush(name, sink.as_mut(), stats, &mut pending);
                        }
                    }
                    break;
                }
                Err(DeliveryError::Refused(why)) => {
                    stats.refused.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!("sink {name}: alert of rule {:?} refused: {why}", alert.rule);
                    queue.ack(ticket);
                    break;
                }
                Err(e) => {
                    fail(name, &e, stats);
                    if queue.sleep(delay) {
                        break 'alerts;
                    }
                    delay = (delay * 2).min(backoff.max);
                }
            }
        }
    }
    flush(name, sink.as_mut(), stats, &mut pending);
}

/// Flushes the sink; the alerts it held have now left, so their latency is
/// recorded.
fn flush(name: &str, sink: &mut dyn Sink, stats: &SinkStats, pending: &mut Vec<u64>) {
    if let Err(e) = sink.flush() {
        fail(name, &e, stats);
    }
    let now = schema::now_ns();
    for t in pending.drain(..) {
        stats.latency.record(now.saturating_sub(t));
    }
}

fn fail(name: &str, e: &DeliveryError, stats: &SinkStats) {
    if matches!(e, DeliveryError::OutputClosed) {
        // Same ending as every stage whose stdout goes away.
        eprintln!("output: output closed");
        std::process::exit(0);
    }
    let n = stats.failures.fetch_add(1, Ordering::Relaxed);
    let was_failing = stats.failing.swap(true, Ordering::Relaxed);
    if !was_failing || n.is_multiple_of(FAILURE_LOG_EVERY) {
        tracing::warn!("sink {name}: delivery failed, will retry: {e}");
    }
}
