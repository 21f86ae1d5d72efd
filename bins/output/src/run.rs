//! The delivery mode: alerts read go to the [`Pipeline`] (and to live
//! subscribers), upstream stats frames to its view of the pipeline's
//! health; spools are made durable whenever the input goes quiet.
//!
//! The stream conventions (header, stats, idle flushes, exit codes) are the
//! stage driver's (`stage`); this is only what output does with a frame.

use std::sync::Arc;

use anyhow::Context as _;
use schema::kestrel_capnp::{frame, stats};
use schema::{FrameError, InFrame, Stage};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use stage::control::feed::{self, AlertFeed};
use stage::control::StageStatus;
use stage::{transport, Counters, Driver, Filter, Frames, Out, Sink, StageError, Which};

use crate::alert::Alert;
use crate::cli::Cli;
use crate::config::Config;
use crate::pipeline::Pipeline;
use crate::stats::StageStats;

/// output as a stage.
struct Delivery {
    pipeline: Arc<Pipeline>,
    /// Live subscribers (`output ctl subscribe`), with a control socket.
    feed: Option<Arc<AlertFeed>>,
}

impl Filter for Delivery {
    const STAGE: Stage = Stage::Output;

    fn on_frame<W: Sink>(
        &mut self,
        f: &InFrame<'_>,
        _root: frame::Reader<'_>,
        which: Which<'_>,
        _out: &mut Out<W>,
    ) -> Result<(), StageError> {
        let offset = f.offset();
        let which = which
            .map_err(|e| FrameError::corrupt(offset, format!("unknown frame kind {}", e.0)))?;
        match which {
            frame::Alert(a) => {
                let a = a.map_err(|e| FrameError::corrupt(offset, e))?;
                // Live subscribers get the frame as read; this never
                // waits on them.
                if let Some(feed) = &self.feed {
                    feed.offer(f.raw());
                }
                self.pipeline.on_alert(Alert::from_frame(a, offset)?);
            }
            _ => self.pipeline.on_other(),
        }
        Ok(())
    }

    fn on_stats(&mut self, s: stats::Reader<'_>, f: &InFrame<'_>) -> Result<(), StageError> {
        let s = StageStats::from_frame(s).map_err(|e| FrameError::corrupt(f.offset(), e))?;
        self.pipeline.on_stats(s);
        Ok(())
    }

    fn idle(&mut self) {
        self.pipeline.flush();
    }

    fn counters(&self, c: &mut Counters) {
        crate::counters::counters(&self.pipeline, self.feed.as_deref(), c);
    }
}

pub fn run(cli: &Cli) -> Result<(), StageError> {
    let setup = |e: anyhow::Error| StageError::stage(format!("{e:#}"));
    let cfg = Config::load(cli).map_err(setup)?;
    let pipeline = Pipeline::start(&cfg).map_err(setup)?;
    if let Some(addr) = &cfg.listen {
        let bound = crate::metrics::serve(addr, pipeline.clone()).map_err(setup)?;
        tracing::info!("serving /healthz and /metrics on {bound}");
    }
    let (status, feed, _control) = match &cli.control {
        Some(path) => {
            let status = StageStatus::new(Stage::Output, "output", env!("CARGO_PKG_VERSION"));
            let f = AlertFeed::new();
            let t = stage::control::spawn(
                Some(path),
                feed::bootstrap(status.clone(), f.clone()),
                vec![],
            )
            .map_err(|e| StageError::stage(e.to_string()))?;
            (Some(status), Some(f), Some(t))
        }
        None => (None, None, None),
    };
    handle_signals(pipeline.clone()).map_err(setup)?;
    pipeline.start_ticker().map_err(setup)?;

    let result = transport::open_input(&cli.input)
        .with_context(|| "cannot open --input".to_string())
        .map_err(setup)
        .and_then(|input| {
            let mut src = Frames::new(
                input,
                Delivery {
                    pipeline: pipeline.clone(),
                    feed: feed.clone(),
                },
            );
            Driver::new(Stage::Output)
                .status(status)
                .run(&mut src, &mut Out::<std::io::Sink>::discard())
        });
    pipeline.finish(cfg.drain_timeout);
    // Live subscribers get the last alerts too, within the same bound.
    let deadline = std::time::Instant::now() + cfg.drain_timeout;
    if feed.is_some_and(|f| !f.wait_delivered(deadline)) {
        tracing::warn!("a live subscriber had not taken every alert when output stopped");
    }
    if cli.latency_summary {
        print_latency(&pipeline);
    }
    result
}

/// One line per sink: `output: latency sink=NAME alerts=N p50_us=… p99_us=… mean_us=…`,
/// easy to read and to parse.
fn print_latency(pipeline: &Pipeline) {
    for s in pipeline.sinks() {
        let h = &s.stats.latency;
        let us = |d: Option<std::time::Duration>| d.map(|d| d.as_secs_f64() * 1e6).unwrap_or(0.0);
        let n = h.count();
        let mean = if n == 0 {
            0.0
        } else {
            h.sum().as_secs_f64() * 1e6 / n as f64
        };
        eprintln!(
            "output: latency sink={} alerts={n} p50_us={:.0} p99_us={:.0} mean_us={mean:.0}",
            s.name,
            us(h.quantile(0.5)),
            us(h.quantile(0.99)),
        );
    }
}

/// SIGHUP reopens files; SIGTERM and SIGINT stop at once, leaving what was
/// not delivered in the spools.
fn handle_signals(pipeline: Arc<Pipeline>) -> anyhow::Result<()> {
    let mut signals = signal_hook::iterator::Signals::new([SIGHUP, SIGTERM, SIGINT])
        .context("signal handlers")?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for sig in signals.forever() {
                if sig == SIGHUP {
                    pipeline.reopen_files();
                    continue;
                }
                tracing::info!("signal {sig}: stopping; undelivered alerts stay spooled");
                pipeline.abort();
                pipeline.flush();
                std::process::exit(0);
            }
        })?;
    Ok(())
}
