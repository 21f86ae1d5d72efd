//! The `enrich` binary: command line, logging and exit codes around
//! [`enrich::run::run_with_status`].

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use stage::control::StageStatus;
use stage::reconnect::Redial;
use stage::transport::open_input;
use stage::Endpoint;

use enrich::forward::Forward;
use enrich::limits::{DEFAULT_MAX_THREADS, DEFAULT_METADATA_WAIT};
use enrich::Options;

/// Every event allocates and frees small blocks (Cap'n Proto's segment
/// tables, paths, descriptor names); mimalloc does that in about half the
/// time glibc's allocator takes (BENCHMARKS.md, enrich).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Attaches process, fd, user, group and container state to every event of
/// a kestrel stream.
#[derive(Parser, Debug)]
#[command(name = "enrich", version)]
struct Cli {
    #[command(flatten)]
    common: stage::args::Common,
    /// Where frames come from: -, unix:PATH, listen:PATH, fd:N or systemd.
    #[arg(long, default_value = "-")]
    input: Endpoint,
    /// Where enriched frames go: -, unix:PATH, listen:PATH, fd:N or systemd.
    /// On unix:, enrich connects again when the reader restarts.
    #[arg(long, default_value = "-")]
    output: Endpoint,
    /// Docker API socket to ask for container metadata (repeatable).
    #[arg(long = "docker-socket", value_name = "PATH")]
    docker_sockets: Vec<PathBuf>,
    /// Podman's Docker-compatible API socket (repeatable).
    #[arg(long = "podman-socket", value_name = "PATH")]
    podman_sockets: Vec<PathBuf>,
    /// CRI runtime socket (containerd, CRI-O) to ask for container and pod
    /// metadata (repeatable). Default: those of
    /// /run/containerd/containerd.sock, /run/crio/crio.sock and
    /// /run/k3s/containerd/containerd.sock that exist.
    #[arg(long = "cri-socket", value_name = "PATH", conflicts_with = "no_cri")]
    cri_sockets: Vec<PathBuf>,
    /// Ask no CRI runtime, not even at the default sockets.
    #[arg(long)]
    no_cri: bool,
    /// Longest wait, in ms, for a new container's metadata before its
    /// events go on without it.
    #[arg(long, default_value_t = DEFAULT_METADATA_WAIT.as_millis() as u64)]
    metadata_wait_ms: u64,
    /// Most threads kept; the oldest are evicted beyond it.
    #[arg(long, default_value_t = DEFAULT_MAX_THREADS)]
    max_threads: usize,
    /// passwd file for user names.
    #[arg(long, default_value = "/etc/passwd")]
    passwd: PathBuf,
    /// group file for group names.
    #[arg(long, default_value = "/etc/group")]
    group: PathBuf,
    /// Write only events of these kinds (comma-separated `evt.type` names,
    /// as `evaluate syscalls --matched` prints them); the others still
    /// update the tables. Default: every event.
    #[arg(long, value_name = "KINDS")]
    forward: Option<String>,
    /// Serve the control socket here (mode 0600): health, stats, version
    /// (`enrich ctl …`).
    #[arg(long, value_name = "PATH")]
    control: Option<PathBuf>,
    /// Write every event whole, its thread, user, group, login user,
    /// container and k8s in it, instead of sending each thread's state once
    /// in a `state` frame that its events name (`stateGen`). Larger output;
    /// for `enrich | output --raw | jq`, comparisons, and readers that do
    /// not resolve state frames.
    #[arg(long)]
    inline_state: bool,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if stage::ctl::wanted(&argv) {
        let code = stage::ctl::main::<stage::ctl::NoSubcommands>("enrich", &argv);
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    let cli = Cli::parse_from(argv);
    cli.common.apply();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => match e.downcast::<stage::StageError>() {
            Ok(e) => e.report("enrich"),
            Err(e) => {
                eprintln!("enrich: error: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    use anyhow::Context;
    let forward = match &cli.forward {
        Some(list) => Forward::parse(list)?,
        None => Forward::all(),
    };
    let opts = Options {
        max_threads: cli.max_threads,
        metadata_wait: Duration::from_millis(cli.metadata_wait_ms),
        passwd: cli.passwd,
        group: cli.group,
        forward,
        inline_state: cli.inline_state,
    };
    let (status, _control) = match &cli.control {
        Some(path) => {
            let status =
                StageStatus::new(schema::Stage::Enrich, "enrich", env!("CARGO_PKG_VERSION"));
            let t = stage::control::spawn(
                Some(path),
                stage::control::generic::bootstrap(status.clone()),
                vec![],
            )?;
            (Some(status), Some(t))
        }
        None => (None, None),
    };
    let input = open_input(&cli.input).with_context(|| format!("opening input {}", cli.input))?;
    // A `unix:` output connects again when evaluate restarts
    // (stage::reconnect); other endpoints end enrich on a broken pipe.
    let output = stage::reconnect::open_output(&cli.output, schema::Stage::Enrich, Redial::Any)
        .with_context(|| format!("opening output {}", cli.output))?;
    let sockets = enrich::runtime::Sockets {
        docker: cli.docker_sockets,
        podman: cli.podman_sockets,
        cri: enrich::runtime::cri::sockets(&cli.cri_sockets, cli.no_cri),
    };
    let mut start = |tx| enrich::runtime::start(&sockets, tx);
    enrich::run::run_with_status(input, output, &opts, &mut start, status)?;
    Ok(())
}
