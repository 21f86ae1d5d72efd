//! `output`: kestrel's last stage. It reads alert frames (and the stats
//! frames of every upstream stage that travel with them) and delivers the
//! alerts to sinks, rate-limited per rule, spooled to disk while a
//! destination is down; it serves `/healthz` and Prometheus `/metrics`.
//! With `--raw` it instead prints every frame as JSON, for inspecting any
//! point of a pipeline.
//!
//! It is not a rule engine (evaluate decides what is an alert) and keeps no
//! event state: everything it needs arrives in-band.

mod alert;
mod cli;
mod config;
mod counters;
mod drops;
mod exit;
mod format;
mod latency;
mod metrics;
mod pipeline;
mod queue;
mod ratelimit;
mod raw;
mod run;
mod sink;
mod spool;
mod stats;

use clap::Parser;
use cli::Cli;

/// Alerts are decoded on the reading thread and freed on each sink's
/// thread; mimalloc handles such cross-thread frees far better than glibc's
/// allocator (whose arena locking dominated profiles of the file sink).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    init_logging();
    // `output ctl …` and `--control PATH`: see schema::control::stage.
    let cli = Cli::parse_from(schema::control::stage::stage_args(
        schema::Stage::Output,
        "output",
        env!("CARGO_PKG_VERSION"),
    ));
    let result = if cli.raw {
        raw::run(&cli.input)
    } else {
        run::run(&cli)
    };
    if let Err(e) = result {
        let (code, line) = e.report();
        eprintln!("{line}");
        std::process::exit(code);
    }
}

/// Logs go to stderr (stdout carries alerts), at the level of `RUST_LOG`,
/// warn by default.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .init();
}
