//! The delivery mode's main loop: read frames, hand alerts and stats to the
//! [`Pipeline`], flush spools when the input is idle, and end cleanly on end
//! of input, bad input or a signal.

use std::sync::Arc;

use anyhow::Context as _;
use schema::{frame, transport, FrameReader};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use crate::alert::Alert;
use crate::cli::Cli;
use crate::config::Config;
use crate::exit::StageError;
use crate::pipeline::Pipeline;
use crate::stats::StageStats;

pub fn run(cli: &Cli) -> Result<(), StageError> {
    let cfg = Config::load(cli)?;
    let pipeline = Pipeline::start(&cfg)?;
    if let Some(addr) = &cfg.listen {
        let bound = crate::metrics::serve(addr, pipeline.clone())?;
        tracing::info!("serving /healthz and /metrics on {bound}");
    }
    handle_signals(pipeline.clone())?;
    pipeline.start_ticker()?;

    let result = read_input(cli, &pipeline);
    pipeline.finish(cfg.drain_timeout);
    // Live subscribers get the last alerts too, within the same bound.
    if !schema::control::stage::wait_feeds_delivered(cfg.drain_timeout) {
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

fn read_input(cli: &Cli, pipeline: &Pipeline) -> Result<(), StageError> {
    let stream = transport::open_input(&cli.input).map_err(StageError::open_input)?;
    let mut reader = FrameReader::new(stream);
    if reader.read_header()?.is_none() {
        return Ok(());
    }
    schema::control::stage::set_input_connected(true);
    loop {
        let idle = {
            let Some(f) = reader.next()? else { break };
            let offset = f.offset();
            let root = f.root()?;
            let which = root.which().map_err(|e| {
                schema::FrameError::corrupt(offset, format!("unknown frame kind {}", e.0))
            })?;
            match which {
                frame::Alert(a) => {
                    let a = a.map_err(|e| schema::FrameError::corrupt(offset, e))?;
                    // Live subscribers (`output ctl subscribe`) get the frame
                    // as read; this never waits on them.
                    schema::control::stage::offer_alert(f.raw());
                    pipeline.on_alert(Alert::from_frame(a, offset)?);
                }
                frame::Stats(s) => {
                    let s = s
                        .and_then(StageStats::from_frame)
                        .map_err(|e| schema::FrameError::corrupt(offset, e))?;
                    pipeline.on_stats(s);
                }
                _ => pipeline.on_other(),
            }
            !reader.has_buffered()
        };
        if idle {
            pipeline.flush();
        }
    }
    Ok(())
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
