//! `capture`: kestrel's only privileged stage. It loads the eBPF probe,
//! attaches the programs of the selected syscalls, writes the stream header
//! and a /proc snapshot, drops every privilege, then streams one event frame
//! per captured syscall to its output, with a stats frame every second.
//!
//! It keeps no state about processes or descriptors (enrich does) and
//! evaluates nothing.
//!
//! ```text
//! sudo capture | enrich | evaluate | output
//! sudo capture --syscalls execve,connect --duration 60 > trace.kst
//! sudo capture --control /run/kestrel/capture.ctl | …
//! capture ctl set-syscalls openat,execve --control /run/kestrel/capture.ctl
//! ```

mod control;
mod ctl;
mod encode;
mod layout;
mod probe;
mod record;
mod sandbox;
mod selection;
mod snapshot;
mod stats;
mod stream;
mod syscalls;

use std::io;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use schema::Stage;
use stage::reconnect::{self, Redial};
use stage::{Endpoint, Out};

/// Ring buffer size when `--buffer-size` is not given, MiB. At about 100
/// bytes per event, 16 MiB holds some 150,000 events: a tenth of a second
/// of the heaviest load capture is built for, while the reader is busy.
const DEFAULT_BUFFER_MIB: u32 = 16;

/// The floor of how many bytes the probe writes into the ring buffer
/// before it wakes the reader; the ring-wide figure is the larger of this
/// and a quarter of the ring, shared between the CPUs
/// (`probe::per_cpu_wakeup_bytes`). Below it, the reader's timed poll picks
/// events up.
const WAKEUP_BYTES: u64 = 256 << 10;

#[derive(Parser, Debug)]
#[command(
    name = "capture",
    version,
    about = "kestrel: capture syscall events with the eBPF probe"
)]
struct Args {
    #[command(flatten)]
    common: stage::args::Common,
    /// Where frames go: -, unix:PATH, listen:PATH[:mode=0600], fd:N or systemd.
    /// On listen: and a listening systemd socket, when the reader goes away
    /// capture keeps running and takes the next one that connects.
    #[arg(long, default_value = "-")]
    output: Endpoint,
    /// Comma-separated event names to capture (evt.type spelling, plus
    /// procexit). Default: all.
    #[arg(long, value_name = "LIST")]
    syscalls: Option<String>,
    /// Ring buffer size in MiB, a power of two.
    #[arg(long, value_name = "MIB", default_value_t = DEFAULT_BUFFER_MIB)]
    buffer_size: u32,
    /// Stop after this many seconds.
    #[arg(long, value_name = "SECS")]
    duration: Option<f64>,
    /// Skip the /proc snapshot at start.
    #[arg(long)]
    no_snapshot: bool,
    /// Directory for the verifier log of a rejected program (a new file;
    /// default: the log is written to stderr only).
    #[arg(long, value_name = "DIR")]
    verifier_log_dir: Option<PathBuf>,
    /// Serve the control socket here (mode 0600): health, stats, and
    /// changing --syscalls while capture runs (`capture ctl …`). Attaches
    /// every syscall's program, unselected ones returning at once.
    #[arg(long, value_name = "PATH")]
    control: Option<PathBuf>,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if stage::ctl::wanted(&argv) {
        let code = stage::ctl::main::<ctl::CtlCommand>("capture", &argv);
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    let args = Args::parse_from(argv);
    args.common.apply();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if stage::error::chain_is_broken_pipe(e.chain()) => {
            eprintln!("capture: output closed");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("capture: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> anyhow::Result<()> {
    let kinds = match &args.syscalls {
        Some(list) => syscalls::parse(list)?,
        None => syscalls::all(),
    };
    let duration = match args.duration {
        Some(s) if !(s.is_finite() && s >= 0.0) => {
            anyhow::bail!("--duration {s}: expected a number of seconds")
        }
        Some(s) => Some(Duration::from_secs_f64(s)),
        None => None,
    };
    stream::install_signal_handlers().context("installing signal handlers")?;

    // Everything that needs a file is done before the privilege drop.
    // A `listen:` or `systemd` output accepts the next reader when one goes
    // away (stage::reconnect); capture never connects after its lock-down.
    let output = reconnect::open_output(&args.output, Stage::Capture, Redial::Accept)
        .with_context(|| format!("opening --output {}", args.output))?;
    let mut out = Out::frames(output);
    // Bound now, served after the privilege drop (see `control`).
    let control = match &args.control {
        Some(path) => {
            Some(control::bind(path).with_context(|| format!("--control {}", path.display()))?)
        }
        None => None,
    };
    // Read now: after the privilege drop /proc is out of reach.
    let hostname = schema::hostname();
    let mut stats = stats::Stats::new();
    let boot_wall_ns = schema::header::boot_time_ns();

    let self_pid = std::process::id();
    let mut probe = probe::Probe::start(&probe::ProbeConfig {
        kinds: &kinds,
        buffer_mib: args.buffer_size,
        wakeup_bytes: WAKEUP_BYTES,
        own_tgid: self_pid,
        log_dir: args.verifier_log_dir.clone(),
        explicit: args.syscalls.is_some(),
        attach_all: control.is_some(),
    })?;
    stats.selection = Some(probe.selection_state());
    let src = stream::Source {
        ring: probe.ring()?,
        drops: probe.drops()?,
        control: probe.control()?,
        boot_wall_ns,
    };

    out.header(Stage::Capture).context("writing the header")?;
    if !args.no_snapshot {
        let w = out.writer().context("capture writes frames")?;
        let snap =
            snapshot::write_snapshot(w, self_pid as i32).context("writing the /proc snapshot")?;
        stats.extra.extend(
            [
                ("snapshot.processes", snap.processes),
                ("snapshot.threads", snap.threads),
                ("snapshot.fds", snap.fds),
                ("snapshot.vanished", snap.vanished),
                ("snapshot.fds_left_out", snap.fds_left_out),
                ("snapshot.threads_left_out", snap.threads_left_out),
            ]
            .map(|(k, v)| (k.to_string(), v)),
        );
    }
    out.flush().context("writing the header")?;

    let selector = match control {
        Some(_) => Some(probe.selector()?),
        None => None,
    };
    sandbox::lock_down(&sandbox::SandboxConfig::default()).context("dropping privileges")?;
    let (_control, status) = match (control, selector) {
        (Some((bound, status)), Some(selector)) => {
            let t = control::serve(bound, status.clone(), selector)
                .context("starting the control thread")?;
            (Some(t), Some(status))
        }
        _ => (None, None),
    };
    tracing::info!(attached = probe.attached, "streaming");

    let mut ring = stream::Ring { src, stats };
    stage::Driver::new(Stage::Capture)
        .hostname(hostname)
        .status(status)
        .stop_on(&stream::STOP)
        .until(duration.map(|d| std::time::Instant::now() + d))
        .run(&mut ring, &mut out)
        .context("writing events")?;
    tracing::debug!(events = ring.stats.events(), "stream ended");
    // The reader sees the end of the stream now, not after the kernel has
    // detached every program (which the exit does, and which takes seconds).
    drop(out);
    if args.output == Endpoint::Stdio {
        // SAFETY: nothing writes to stdout after this; the frames went
        // through `out`, which is flushed and gone.
        unsafe { libc::close(libc::STDOUT_FILENO) };
    }
    drop(probe);
    tracing::debug!("probe detached");
    Ok(())
}
