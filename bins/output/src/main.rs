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
mod ctl;
mod drops;
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

fn main() -> std::process::ExitCode {
    init_logging();
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if stage::ctl::wanted(&argv) {
        let code = stage::ctl::main::<ctl::CtlCommand>("output", &argv);
        return std::process::ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    let cli = Cli::parse_from(argv);
    cli.common.apply();
    let result = if cli.raw {
        raw::run(&cli.input)
    } else {
        run::run(&cli)
    };
    stage::error::exit_code("output", result)
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
