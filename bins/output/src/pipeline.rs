//! The running stage: its sinks (each a queue and a delivery thread), the
//! rate limiter, the drop monitor and the pipeline statistics, shared by
//! the frame-reading thread, the once-a-second ticker, the signal thread and
//! the metrics server.
//!
//! Not for reading frames (that is `main`'s loop) nor for formatting.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::alert::{Alert, Priority};
use crate::config::{Config, SinkKind, SinkSpec};
use crate::drops::DropMonitor;
use crate::queue::{Queue, WhenFull};
use crate::ratelimit::RuleLimiter;
use crate::sink::{self, Sink, SinkStats};
use crate::spool::Spool;
use crate::stats::{PipelineStats, StageStats};

/// How often the ticker raises due summaries and notices.
pub const TICK: Duration = Duration::from_secs(1);

/// Least time between two "alerts were dropped" notices for one sink.
pub const DROP_NOTICE_INTERVAL: Duration = Duration::from_secs(30);

/// How long memory-only sinks may take to write out what they hold after
/// SIGTERM or SIGINT.
pub const SIGNAL_GRACE: Duration = Duration::from_secs(1);

/// Rule name of the notice that a sink lost alerts.
pub const SINK_DROP_RULE: &str = "Kestrel internal: alerts dropped";

/// One sink at run time.
pub struct SinkEntry {
    pub name: String,
    pub kind: &'static str,
    pub min_priority: Priority,
    pub queue: Arc<Queue>,
    pub stats: Arc<SinkStats>,
    reopen: Arc<AtomicBool>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// Dropped count at the last notice, and when it was raised.
    noticed: Mutex<(u64, Option<Instant>)>,
}

impl SinkEntry {
    pub fn is_running(&self) -> bool {
        self.thread
            .lock()
            .map(|t| t.as_ref().is_some_and(|h| !h.is_finished()))
            .unwrap_or(false)
    }
}

pub struct Pipeline {
    sinks: Vec<SinkEntry>,
    stats: Mutex<PipelineStats>,
    limiter: Mutex<RuleLimiter>,
    drops: Mutex<DropMonitor>,
    done: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Pipeline {
    /// Opens every sink and starts its delivery thread.
    pub fn start(cfg: &Config) -> anyhow::Result<Arc<Pipeline>> {
        let now = Instant::now();
        let mut sinks = Vec::new();
        for spec in &cfg.sinks {
            sinks.push(start_sink(spec, cfg).with_context(|| format!("sink {}", spec.name))?);
        }
        Ok(Arc::new(Pipeline {
            sinks,
            stats: Mutex::new(PipelineStats::default()),
            limiter: Mutex::new(RuleLimiter::new(cfg.rate_limit, now)),
            drops: Mutex::new(DropMonitor::new(cfg.drop_alarm, now)),
            done: AtomicBool::new(false),
        }))
    }

    pub fn sinks(&self) -> &[SinkEntry] {
        &self.sinks
    }

    pub fn stats(&self) -> MutexGuard<'_, PipelineStats> {
        lock(&self.stats)
    }

    /// An alert read from the input: counted, rate-limited, delivered.
    pub fn on_alert(&self, alert: Alert) {
        lock(&self.stats).record_alert(&alert);
        if !lock(&self.limiter).admit(&alert.rule, alert.priority, Instant::now()) {
            lock(&self.stats).suppressed += 1;
            return;
        }
        self.dispatch(alert);
    }

    /// A stats frame read from the input.
    pub fn on_stats(&self, s: StageStats) {
        let alarm = lock(&self.drops).observe(&s, Instant::now());
        lock(&self.stats).record_stats(s);
        if let Some(a) = alarm {
            self.raise(a);
        }
    }

    /// A frame that is neither alert nor stats.
    pub fn on_other(&self) {
        lock(&self.stats).frames_ignored += 1;
    }

    /// An alert of output's own: never rate-limited by rule.
    pub fn raise(&self, alert: Alert) {
        // Rule names in the summaries come from rule files and event
        // streams: escaped like any text line, for the terminal's sake.
        tracing::warn!(
            "{}: {}",
            render::escape(&alert.rule),
            render::escape(&alert.output)
        );
        lock(&self.stats).internal_alerts += 1;
        self.dispatch(alert);
    }

    fn dispatch(&self, alert: Alert) {
        let alert = Arc::new(alert);
        for s in &self.sinks {
            if alert.priority.at_least(s.min_priority) {
                s.queue.push(alert.clone());
            }
        }
    }

    /// Makes spooled alerts durable; called when the input is idle.
    pub fn flush(&self) {
        for s in &self.sinks {
            s.queue.flush();
        }
    }

    /// Periodic work: a due rate-limit summary, notices of lost alerts.
    pub fn tick(&self, force: bool) {
        let now = Instant::now();
        let summary = lock(&self.limiter).summary(now, force);
        if let Some(a) = summary {
            self.raise(a);
        }
        for s in &self.sinks {
            let dropped = s.queue.depth().dropped;
            let notice = {
                let mut n = lock(&s.noticed);
                let due =
                    n.1.is_none_or(|t| now.duration_since(t) >= DROP_NOTICE_INTERVAL);
                if dropped > n.0 && (due || force) {
                    let lost = dropped - n.0;
                    *n = (dropped, Some(now));
                    Some(lost)
                } else {
                    None
                }
            };
            if let Some(lost) = notice {
                self.raise(Alert::internal(
                    SINK_DROP_RULE,
                    Priority::Critical,
                    format!(
                        "Kestrel internal: {lost} alerts for sink {} were dropped (its queue or spool was full; {dropped} in all)",
                        s.name
                    ),
                    vec![
                        ("sink".into(), s.name.clone()),
                        ("n_dropped".into(), lost.to_string()),
                        ("n_dropped_total".into(), dropped.to_string()),
                    ],
                ));
            }
        }
    }

    /// Starts the ticker thread.
    pub fn start_ticker(self: &Arc<Self>) -> anyhow::Result<()> {
        let p = self.clone();
        std::thread::Builder::new()
            .name("ticker".into())
            .spawn(move || {
                while !p.done.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    p.tick(false);
                }
            })?;
        Ok(())
    }

    /// Sets every file sink to reopen its file (SIGHUP).
    pub fn reopen_files(&self) {
        for s in &self.sinks {
            s.reopen.store(true, Ordering::Relaxed);
        }
    }

    /// End of input: final summaries, then delivery until everything is out
    /// or `drain` has passed; spooled leftovers wait for the next run.
    pub fn finish(&self, drain: Duration) {
        self.tick(true);
        self.done.store(true, Ordering::Relaxed);
        for s in &self.sinks {
            s.queue.close();
        }
        let deadline = Instant::now() + drain;
        for s in &self.sinks {
            if !s.queue.wait_empty(deadline) {
                let d = s.queue.depth();
                if d.spooled > 0 {
                    tracing::warn!(
                        "sink {}: {} alerts not yet delivered; they stay in the spool for the next run",
                        s.name,
                        d.spooled
                    );
                } else {
                    tracing::error!(
                        "sink {}: {} alerts could not be delivered and are lost",
                        s.name,
                        d.memory
                    );
                }
            }
        }
        self.stop();
    }

    /// Stops every delivery thread now and waits for them.
    pub fn stop(&self) {
        self.done.store(true, Ordering::Relaxed);
        for s in &self.sinks {
            s.queue.stop();
        }
        for s in &self.sinks {
            if let Some(h) = lock(&s.thread).take() {
                let _ = h.join();
            }
        }
    }

    /// SIGTERM/SIGINT: spooled sinks stop at once (their alerts are on
    /// disk for the next run); memory-only sinks get [`SIGNAL_GRACE`] to
    /// write out what they hold, then flush and stop.
    pub fn abort(&self) {
        self.done.store(true, Ordering::Relaxed);
        let deadline = Instant::now() + SIGNAL_GRACE;
        for s in self.sinks.iter().filter(|s| !s.queue.is_spooled()) {
            s.queue.close();
            s.queue.wait_empty(deadline);
        }
        for s in &self.sinks {
            s.queue.stop();
        }
        // Memory-only sinks are local (stdout, file) or give up at their
        // timeout: wait for their last flush.
        for s in self.sinks.iter().filter(|s| !s.queue.is_spooled()) {
            if let Some(h) = lock(&s.thread).take() {
                let _ = h.join();
            }
        }
        self.flush();
    }
}

fn start_sink(spec: &SinkSpec, cfg: &Config) -> anyhow::Result<SinkEntry> {
    let sink: Box<dyn Sink> = match &spec.kind {
        SinkKind::Stdout { format } => {
            Box::new(sink::stdout::StdoutSink::new(*format, cfg.colour)?)
        }
        SinkKind::File { path, format } => {
            Box::new(sink::file::FileSink::new(path.clone(), *format)?)
        }
        SinkKind::Syslog {
            target,
            facility,
            format,
            timeout,
        } => Box::new(sink::syslog::SyslogSink::new(
            target.clone(),
            *facility,
            *format,
            *timeout,
        )),
        SinkKind::Program { command, format } => {
            Box::new(sink::program::ProgramSink::new(command.clone(), *format))
        }
        SinkKind::Http(opts) => Box::new(sink::http::HttpSink::new(opts.clone())?),
    };
    let queue = match (&cfg.spool_dir, spec.spool) {
        (Some(dir), true) => {
            let spool = Spool::open(&dir.join(&spec.name), cfg.spool_bytes)?;
            if spool.pending() > 0 {
                tracing::info!(
                    "sink {}: {} alerts waiting from an earlier run",
                    spec.name,
                    spool.pending()
                );
            }
            Queue::spooled(spool, cfg.queue_alerts)
        }
        (None, true) => {
            tracing::warn!(
                "sink {}: no spool directory; alerts wait in memory only",
                spec.name
            );
            Queue::memory(cfg.queue_alerts, WhenFull::DropOldest)
        }
        (_, false) if spec.kind.is_remote() => {
            Queue::memory(cfg.queue_alerts, WhenFull::DropOldest)
        }
        (_, false) => Queue::memory(cfg.queue_alerts, WhenFull::Wait),
    };
    let queue = Arc::new(queue);
    let stats = Arc::new(SinkStats::default());
    let reopen = Arc::new(AtomicBool::new(false));
    let thread = {
        let (name, queue, stats, reopen, backoff) = (
            spec.name.clone(),
            queue.clone(),
            stats.clone(),
            reopen.clone(),
            spec.backoff,
        );
        std::thread::Builder::new()
            .name(format!("sink-{}", spec.name))
            .spawn(move || sink::run(&name, sink, &queue, &stats, backoff, &reopen))?
    };
    Ok(SinkEntry {
        name: spec.name.clone(),
        kind: spec.kind.type_name(),
        min_priority: spec.min_priority,
        queue,
        stats,
        reopen,
        thread: Mutex::new(Some(thread)),
        noticed: Mutex::new((0, None)),
    })
}
