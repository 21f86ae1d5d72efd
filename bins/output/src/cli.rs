//! The command line. Every option of the config file is also a flag here;
//! the meaning of each is documented once, in the flag's help and in
//! `pipelines/output.example.yaml`.

use std::path::PathBuf;

use clap::Parser;
use serde::Deserialize;
use stage::Endpoint;

use crate::alert::Priority;
use crate::format::Format;

/// When to colour the stdout sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Colour {
    /// On a terminal, unless NO_COLOR is set.
    Auto,
    Always,
    Never,
}

#[derive(Debug, Parser)]
#[command(
    name = "output",
    version,
    about = "Deliver kestrel alerts to sinks",
    long_about = "Reads kestrel frames and delivers their alerts to sinks: stdout (text or JSON), files, syslog, programs and HTTP webhooks. With no sink named, alerts go to stdout as text. With --raw, every frame is printed as JSON instead."
)]
pub struct Cli {
    #[command(flatten)]
    pub common: stage::args::Common,
    /// Where frames come from: -, unix:PATH, listen:PATH, fd:N or systemd.
    #[arg(long, default_value = "-")]
    pub input: Endpoint,

    /// Serve the control socket here (mode 0600): health, stats, version
    /// and live alerts (`output ctl subscribe`).
    #[arg(long, value_name = "PATH")]
    pub control: Option<PathBuf>,

    /// Print every frame (header, events, alerts, stats) as one JSON object
    /// per line instead of delivering alerts.
    #[arg(long)]
    pub raw: bool,

    /// YAML configuration file (see pipelines/output.example.yaml).
    #[arg(short, long)]
    pub config: Option<PathBuf>,

    /// Alerts to stdout as Falco's text lines.
    #[arg(long)]
    pub stdout: bool,

    /// Alerts to stdout as Falco's JSON, one object per line.
    #[arg(long)]
    pub json: bool,

    /// Append alerts to FILE (reopened on SIGHUP). Repeatable.
    #[arg(long, value_name = "FILE")]
    pub file: Vec<PathBuf>,

    /// Format of --file sinks.
    #[arg(long, value_enum, default_value = "json")]
    pub file_format: Format,

    /// Alerts to syslog: /dev/log, unix:PATH, udp:HOST:PORT or tcp:HOST:PORT. Repeatable.
    #[arg(long, value_name = "TARGET")]
    pub syslog: Vec<String>,

    /// Facility of --syslog sinks.
    #[arg(long, default_value = "user")]
    pub syslog_facility: String,

    /// Format of the message of --syslog sinks.
    #[arg(long, value_enum, default_value = "text")]
    pub syslog_format: Format,

    /// Pipe alerts as lines to `sh -c COMMAND`, restarted if it dies. Repeatable.
    #[arg(long, value_name = "COMMAND")]
    pub program: Vec<String>,

    /// Format of --program sinks.
    #[arg(long, value_enum, default_value = "json")]
    pub program_format: Format,

    /// POST each alert as Falco's JSON to URL (http or https). Repeatable.
    #[arg(long, value_name = "URL")]
    pub http: Vec<String>,

    /// Header of --http requests, `Name: value`. Repeatable.
    #[arg(long, value_name = "HEADER")]
    pub http_header: Vec<String>,

    /// PEM file of CA certificates trusted by --http sinks instead of the
    /// built-in roots.
    #[arg(long, value_name = "FILE")]
    pub http_ca_file: Option<PathBuf>,

    /// Timeout in seconds of one HTTP request or network syslog write.
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<f64>,

    /// First retry delay in seconds after a failed delivery (doubles).
    #[arg(long, value_name = "SECONDS")]
    pub backoff_min: Option<f64>,

    /// Longest retry delay in seconds.
    #[arg(long, value_name = "SECONDS")]
    pub backoff_max: Option<f64>,

    /// Least severe priority that sinks named by flags deliver.
    #[arg(long, value_name = "PRIORITY")]
    pub min_priority: Option<Priority>,

    /// Directory of the disk spools of syslog, program and HTTP sinks.
    /// Default: $STATE_DIRECTORY/spool, else ~/.local/state/kestrel/output/spool.
    #[arg(long, value_name = "DIR")]
    pub spool_dir: Option<PathBuf>,

    /// Sinks named by flags keep alerts in memory only, without a disk
    /// spool (faster; alerts waiting at exit are lost).
    #[arg(long)]
    pub no_spool: bool,

    /// Alerts each sink keeps in memory.
    #[arg(long, value_name = "N")]
    pub queue_alerts: Option<usize>,

    /// Bytes each sink's disk spool may hold; past it the oldest alerts are
    /// dropped, counted and reported.
    #[arg(long, value_name = "BYTES")]
    pub spool_bytes: Option<u64>,

    /// Seconds to keep delivering after the input ends; what is left stays
    /// spooled for the next run.
    #[arg(long, value_name = "SECONDS")]
    pub drain_timeout: Option<f64>,

    /// Alerts per second allowed per rule (token bucket); 0 disables.
    #[arg(long, value_name = "PER_SECOND")]
    pub rate: Option<f64>,

    /// Alerts a rule may raise at once (bucket size).
    #[arg(long, value_name = "N")]
    pub burst: Option<f64>,

    /// Seconds between summaries of rate-limited alerts.
    #[arg(long, value_name = "SECONDS")]
    pub rate_summary_interval: Option<f64>,

    /// Share of events dropped by capture (0..1) that raises an internal alert.
    #[arg(long, value_name = "RATIO")]
    pub drop_threshold: Option<f64>,

    /// Drop alerts per second at most.
    #[arg(long, value_name = "PER_SECOND")]
    pub drop_alert_rate: Option<f64>,

    /// Drop alerts at once at most.
    #[arg(long, value_name = "N")]
    pub drop_alert_burst: Option<f64>,

    /// Serve /healthz and Prometheus /metrics on ADDR (e.g. 127.0.0.1:8765).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,

    /// At exit, print each sink's latency (p50, p99) from evaluate reading
    /// the event to the alert leaving the sink, on stderr.
    #[arg(long)]
    pub latency_summary: bool,

    /// Colour the stdout sink's priorities.
    #[arg(long, value_enum)]
    pub colour: Option<Colour>,
}
