//! The loop every stage runs, written once: take work from the source in
//! batches, look at the clock between batches (the stage's timers, the
//! per-second stats frame, a stop signal, `--duration`), flush and wait
//! when there is nothing to do, and at the end drain, write the final
//! stats frame and flush.
//!
//! A stage is a [`Source`]: capture's is its ring buffer; every other
//! stage reads frames and implements [`crate::Filter`], which
//! [`crate::Frames`] turns into a source (header check, forwarding of
//! upstream stats).
//!
//! The same loop keeps a reconnecting output honest: between batches a
//! lost reader is replaced ([`Out::between_batches`]), and a new reader
//! gets a stats frame at once, so the gap shows in-band.
//!
//! It is not a place for what a stage does with a frame.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::control::StageStatus;
use crate::counters::{Counters, DOWNSTREAM_DISCONNECTED, LOST_UNREAD};
use crate::error::StageError;
use crate::out::{Out, Sink};

/// How often a stage writes its stats frame.
pub const STATS_INTERVAL: Duration = Duration::from_secs(1);

/// Units of work (frames read, records drained) between two looks at the
/// clock: reading the clock per event would cost more than handling many.
pub const BATCH: usize = 4096;

/// Longest a quiet stage waits before publishing its counters to the
/// control plane, so `ctl stats` is current soon after a burst without a
/// publish per frame.
pub const PUBLISH_DELAY: Duration = Duration::from_millis(50);

/// What one call to [`Source::pump`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pumped {
    /// This much work was done (at least one unit).
    Worked(usize),
    /// Nothing to do now: the driver flushes and waits.
    Idle,
    /// The input ended: the driver finishes.
    End,
}

/// Where a stage's work comes from, and what the stage does with it.
pub trait Source {
    /// Does up to `max` units of work.
    fn pump<W: Sink>(&mut self, out: &mut Out<W>, max: usize) -> Result<Pumped, StageError>;

    /// Sleeps until there may be work, or `timeout` passes.
    fn wait(&mut self, timeout: Duration);

    /// Called between batches and when idle: timers (held events whose
    /// wait ran out), messages from the stage's own threads.
    fn tick<W: Sink>(&mut self, _now: Instant, _out: &mut Out<W>) -> Result<(), StageError> {
        Ok(())
    }

    /// Called when the stage is about to wait: e.g. output hands its
    /// batch to its sinks.
    fn idle(&mut self) {}

    /// The next time [`Self::tick`] has something to do, if any.
    fn deadline(&self) -> Option<Instant> {
        None
    }

    /// At the end of the input or on a stop: what is held is written.
    fn finish<W: Sink>(&mut self, _out: &mut Out<W>) -> Result<(), StageError> {
        Ok(())
    }

    /// The stage's counters as of now.
    fn counters(&self, c: &mut Counters);

    /// Whether the stage has begun its stream: a frame-reading stage that
    /// met an empty or foreign input writes nothing at all, not even its
    /// final stats.
    fn started(&self) -> bool {
        true
    }
}

/// Runs a [`Source`] into an [`Out`].
pub struct Driver {
    stage: schema::Stage,
    hostname: String,
    status: Option<Arc<StageStatus>>,
    stop: Option<&'static AtomicBool>,
    until: Option<Instant>,
}

impl Driver {
    /// A driver for `stage`, reporting this machine's hostname.
    pub fn new(stage: schema::Stage) -> Self {
        Driver {
            stage,
            hostname: schema::hostname(),
            status: None,
            stop: None,
            until: None,
        }
    }

    /// The hostname stats frames carry (capture reads it before its
    /// lock-down hides /proc).
    pub fn hostname(mut self, h: impl Into<String>) -> Self {
        self.hostname = h.into();
        self
    }

    /// Publishes counters and connection state to a control socket's status.
    pub fn status(mut self, s: Option<Arc<StageStatus>>) -> Self {
        self.status = s;
        self
    }

    /// Stops, cleanly, once `flag` is set (a signal handler's).
    pub fn stop_on(mut self, flag: &'static AtomicBool) -> Self {
        self.stop = Some(flag);
        self
    }

    /// Stops, cleanly, at `t`.
    pub fn until(mut self, t: Option<Instant>) -> Self {
        self.until = t;
        self
    }

    /// Runs until the input ends, a stop, or an error. What was read before
    /// a bad input is still written, with the final stats.
    pub fn run<S: Source, W: Sink>(&self, src: &mut S, out: &mut Out<W>) -> Result<(), StageError> {
        if let Some(s) = &self.status {
            s.set_input_connected(true);
            s.set_output_connected(out.is_connected());
        }
        let result = self.run_loop(src, out);
        if let Some(s) = &self.status {
            s.set_input_connected(false);
        }
        match result {
            // The output is gone or broken: nothing more can be written.
            Err(e @ (StageError::OutputClosed | StageError::Output(_))) => Err(e),
            other if src.started() => {
                src.finish(out)?;
                self.write_stats(src, out)?;
                out.flush()?;
                other
            }
            other => other,
        }
    }

    fn run_loop<S: Source, W: Sink>(
        &self,
        src: &mut S,
        out: &mut Out<W>,
    ) -> Result<(), StageError> {
        let mut next_stats = Instant::now() + STATS_INTERVAL;
        let mut readers = out.readers();
        let mut unpublished = false;
        let mut last_publish = Instant::now();
        loop {
            let idle = match src.pump(out, BATCH)? {
                Pumped::End => return Ok(()),
                Pumped::Idle => true,
                Pumped::Worked(_) => {
                    unpublished = true;
                    false
                }
            };
            out.between_batches()?;
            let now = Instant::now();
            src.tick(now, out)?;
            let new_reader = out.readers() != readers;
            if new_reader || (now >= next_stats && out.is_connected()) {
                readers = out.readers();
                self.write_stats(src, out)?;
                next_stats = now + STATS_INTERVAL;
                unpublished = false;
                last_publish = now;
            }
            let stopped = self.stop.is_some_and(|f| f.load(Ordering::Relaxed));
            if stopped || self.until.is_some_and(|t| now >= t) {
                return Ok(());
            }
            if !idle {
                continue;
            }
            out.flush()?;
            src.idle();
            let mut wake = src.deadline().map_or(next_stats, |d| d.min(next_stats));
            if let Some(t) = self.until {
                wake = wake.min(t);
            }
            if unpublished {
                if now.duration_since(last_publish) >= PUBLISH_DELAY {
                    self.publish(src, out);
                    unpublished = false;
                    last_publish = now;
                } else {
                    wake = wake.min(last_publish + PUBLISH_DELAY);
                }
            }
            src.wait(wake.saturating_duration_since(now));
        }
    }

    /// The stage's counters and the driver's own.
    fn counters<S: Source, W: Sink>(&self, src: &S, out: &Out<W>) -> Counters {
        let mut c = Counters::new();
        src.counters(&mut c);
        // Frames the reader of a reconnecting output was not there to take.
        if c.get(&format!("drops.{DOWNSTREAM_DISCONNECTED}")).is_none() {
            c.drops(DOWNSTREAM_DISCONNECTED, out.undelivered_frames());
        }
        // Frames a reader took into its socket and died without reading.
        c.drops(LOST_UNREAD, out.lost_unread_frames());
        c
    }

    fn publish<S: Source, W: Sink>(&self, src: &S, out: &Out<W>) {
        if let Some(s) = &self.status {
            s.publish_counters(&self.counters(src, out).pairs());
            s.set_output_connected(out.is_connected());
        }
    }

    fn write_stats<S: Source, W: Sink>(&self, src: &S, out: &mut Out<W>) -> Result<(), StageError> {
        let c = self.counters(src, out);
        if let Some(s) = &self.status {
            s.publish_counters(&c.pairs());
            s.set_output_connected(out.is_connected());
        }
        out.stats(self.stage, &self.hostname, &c)
    }
}
