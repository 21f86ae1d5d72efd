//! Configuration: the YAML file (`--config`, documented by
//! `pipelines/output.example.yaml`) merged with the command line, where every
//! option also exists as a flag. Flags win over the file for global
//! settings; sinks named by flags are added to the file's sinks.
//!
//! The YAML is read with serde-saphyr, whose errors carry line and column.
//! Not for opening sinks: [`crate::pipeline`] does that from the
//! [`Config`] built here.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context as _};
use serde::Deserialize;

use crate::alert::{Priority, PriorityName};
use crate::cli::{Cli, Colour};
use crate::drops::{DropAlarm, DEFAULT_DROP_ALARM};
use crate::format::Format;
use crate::ratelimit::RateLimit;
use crate::sink::http::HttpOptions;
use crate::sink::syslog::{self, Target};
use crate::sink::{Backoff, DEFAULT_BACKOFF_MAX, DEFAULT_BACKOFF_MIN};

/// Alerts a sink keeps in memory unless configured.
pub const DEFAULT_QUEUE_ALERTS: usize = 10_000;
/// Bytes a sink's disk spool may hold unless configured.
pub const DEFAULT_SPOOL_BYTES: u64 = 256 << 20;
/// How long output keeps delivering after its input ends, unless configured;
/// what is left then stays in the spools for the next run.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// Timeout of one HTTP request or network syslog write unless configured.
pub const DEFAULT_NETWORK_TIMEOUT: Duration = Duration::from_secs(5);
/// Rate-limit defaults: off (0/s), bursts of 10, a summary every minute.
pub const DEFAULT_RATE_LIMIT: RateLimit = RateLimit {
    rate: 0.0,
    burst: 10.0,
    summary_interval: Duration::from_secs(60),
};

/// What a sink is.
#[derive(Debug, Clone)]
pub enum SinkKind {
    Stdout {
        format: Format,
    },
    File {
        path: PathBuf,
        format: Format,
    },
    Syslog {
        target: Target,
        facility: u8,
        format: Format,
        timeout: Duration,
    },
    Program {
        command: String,
        format: Format,
    },
    Http(HttpOptions),
}

impl SinkKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            SinkKind::Stdout { .. } => "stdout",
            SinkKind::File { .. } => "file",
            SinkKind::Syslog { .. } => "syslog",
            SinkKind::Program { .. } => "program",
            SinkKind::Http(_) => "http",
        }
    }

    /// Sinks whose destination can be away for long: spooled by default.
    pub fn is_remote(&self) -> bool {
        matches!(
            self,
            SinkKind::Syslog { .. } | SinkKind::Program { .. } | SinkKind::Http(_)
        )
    }
}

/// One sink, fully specified.
#[derive(Debug, Clone)]
pub struct SinkSpec {
    /// Unique; names the spool directory, so keep it stable across restarts.
    pub name: String,
    pub kind: SinkKind,
    pub min_priority: Priority,
    pub spool: bool,
    pub backoff: Backoff,
}

/// Everything output runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub sinks: Vec<SinkSpec>,
    pub spool_dir: Option<PathBuf>,
    pub queue_alerts: usize,
    pub spool_bytes: u64,
    pub drain_timeout: Duration,
    pub listen: Option<String>,
    pub colour: bool,
    pub rate_limit: RateLimit,
    pub drop_alarm: DropAlarm,
}

/// The YAML file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    spool_dir: Option<PathBuf>,
    queue_alerts: Option<usize>,
    spool_bytes: Option<u64>,
    drain_timeout: Option<f64>,
    listen: Option<String>,
    colour: Option<Colour>,
    rate_limit: Option<FileRateLimit>,
    drop_alert: Option<FileDropAlert>,
    #[serde(default)]
    sinks: Vec<FileSink>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRateLimit {
    rate: Option<f64>,
    burst: Option<f64>,
    summary_interval: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDropAlert {
    threshold: Option<f64>,
    rate: Option<f64>,
    burst: Option<f64>,
}

/// One sink in the file: `type` picks which of the other keys apply.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSink {
    #[serde(rename = "type")]
    kind: String,
    name: Option<String>,
    format: Option<Format>,
    min_priority: Option<PriorityName>,
    spool: Option<bool>,
    backoff_min: Option<f64>,
    backoff_max: Option<f64>,
    // file
    path: Option<PathBuf>,
    // syslog
    target: Option<String>,
    facility: Option<String>,
    // program
    command: Option<String>,
    // http, syslog
    url: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    timeout: Option<f64>,
    ca_file: Option<PathBuf>,
}

fn seconds(what: &str, s: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(s)
        .with_context(|| format!("{what}: {s} is not a number of seconds"))
}

impl Config {
    /// Reads `--config` (if given) and applies the flags.
    pub fn load(cli: &Cli) -> anyhow::Result<Config> {
        match &cli.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read config {}", path.display()))?;
                Self::from_yaml(&text, &path.display().to_string(), cli)
            }
            None => Self::merge(FileConfig::default(), cli),
        }
    }

    /// A configuration file's text, read from `origin`, merged with the
    /// flags: [`Self::load`] without the reading (pub for fuzzing).
    pub fn from_yaml(text: &str, origin: &str, cli: &Cli) -> anyhow::Result<Config> {
        let file = serde_saphyr::from_str::<FileConfig>(text)
            .map_err(|e| anyhow::anyhow!("config {origin}: {e}"))?;
        Self::merge(file, cli)
    }

    fn merge(file: FileConfig, cli: &Cli) -> anyhow::Result<Config> {
        let colour = match cli.colour.or(file.colour).unwrap_or(Colour::Auto) {
            Colour::Always => true,
            Colour::Never => false,
            Colour::Auto => {
                crate::sink::stdout::is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        };
        let rl = file.rate_limit.unwrap_or_default();
        let rate_limit = RateLimit {
            rate: cli.rate.or(rl.rate).unwrap_or(DEFAULT_RATE_LIMIT.rate),
            burst: cli.burst.or(rl.burst).unwrap_or(DEFAULT_RATE_LIMIT.burst),
            summary_interval: match cli.rate_summary_interval.or(rl.summary_interval) {
                Some(s) => seconds("rate_limit.summary_interval", s)?,
                None => DEFAULT_RATE_LIMIT.summary_interval,
            },
        };
        // Written positively so that NaN fails too.
        let sane = rate_limit.rate >= 0.0 && rate_limit.burst >= 1.0;
        if !sane {
            bail!("rate limit: rate must be >= 0 and burst >= 1");
        }
        let da = file.drop_alert.unwrap_or_default();
        let drop_alarm = DropAlarm {
            threshold: cli
                .drop_threshold
                .or(da.threshold)
                .unwrap_or(DEFAULT_DROP_ALARM.threshold),
            rate: cli
                .drop_alert_rate
                .or(da.rate)
                .unwrap_or(DEFAULT_DROP_ALARM.rate),
            burst: cli
                .drop_alert_burst
                .or(da.burst)
                .unwrap_or(DEFAULT_DROP_ALARM.burst),
        };
        let backoff_flags = (cli.backoff_min, cli.backoff_max);

        let mut sinks = Vec::new();
        for (i, s) in file.sinks.into_iter().enumerate() {
            sinks.push(file_sink(s, backoff_flags).with_context(|| format!("config: sinks[{i}]"))?);
        }
        let flag_min = cli.min_priority.unwrap_or(Priority::Debug);
        let timeout = match cli.timeout {
            Some(s) => seconds("--timeout", s)?,
            None => DEFAULT_NETWORK_TIMEOUT,
        };
        let mut flagged: Vec<SinkKind> = Vec::new();
        if cli.stdout {
            flagged.push(SinkKind::Stdout {
                format: Format::Text,
            });
        }
        if cli.json {
            flagged.push(SinkKind::Stdout {
                format: Format::Json,
            });
        }
        for path in &cli.file {
            flagged.push(SinkKind::File {
                path: path.clone(),
                format: cli.file_format,
            });
        }
        for target in &cli.syslog {
            flagged.push(SinkKind::Syslog {
                target: target.parse().map_err(anyhow::Error::msg)?,
                facility: syslog::facility(&cli.syslog_facility).map_err(anyhow::Error::msg)?,
                format: cli.syslog_format,
                timeout,
            });
        }
        for command in &cli.program {
            flagged.push(SinkKind::Program {
                command: command.clone(),
                format: cli.program_format,
            });
        }
        let headers = cli
            .http_header
            .iter()
            .map(|h| parse_header(h))
            .collect::<anyhow::Result<Vec<_>>>()?;
        for url in &cli.http {
            flagged.push(SinkKind::Http(HttpOptions {
                url: url.clone(),
                headers: headers.clone(),
                timeout,
                ca_file: cli.http_ca_file.clone(),
            }));
        }
        if sinks.is_empty() && flagged.is_empty() {
            flagged.push(SinkKind::Stdout {
                format: Format::Text,
            });
        }
        for kind in flagged {
            sinks.push(SinkSpec {
                name: String::new(),
                spool: kind.is_remote() && !cli.no_spool,
                kind,
                min_priority: flag_min,
                backoff: backoff(backoff_flags, None, None)?,
            });
        }
        name_sinks(&mut sinks)?;

        let spool_dir = cli
            .spool_dir
            .clone()
            .or(file.spool_dir)
            .or_else(default_spool_dir);
        Ok(Config {
            sinks,
            spool_dir,
            queue_alerts: cli
                .queue_alerts
                .or(file.queue_alerts)
                .unwrap_or(DEFAULT_QUEUE_ALERTS),
            spool_bytes: cli
                .spool_bytes
                .or(file.spool_bytes)
                .unwrap_or(DEFAULT_SPOOL_BYTES),
            drain_timeout: match cli.drain_timeout.or(file.drain_timeout) {
                Some(s) => seconds("drain_timeout", s)?,
                None => DEFAULT_DRAIN_TIMEOUT,
            },
            listen: cli.listen.clone().or(file.listen),
            colour,
            rate_limit,
            drop_alarm,
        })
    }
}

fn backoff(
    flags: (Option<f64>, Option<f64>),
    min: Option<f64>,
    max: Option<f64>,
) -> anyhow::Result<Backoff> {
    let min = match min.or(flags.0) {
        Some(s) => seconds("backoff_min", s)?,
        None => DEFAULT_BACKOFF_MIN,
    };
    let max = match max.or(flags.1) {
        Some(s) => seconds("backoff_max", s)?,
        None => DEFAULT_BACKOFF_MAX,
    };
    Ok(Backoff {
        min,
        max: max.max(min),
    })
}

fn file_sink(s: FileSink, backoff_flags: (Option<f64>, Option<f64>)) -> anyhow::Result<SinkSpec> {
    let format = s.format;
    let timeout = match s.timeout {
        Some(t) => seconds("timeout", t)?,
        None => DEFAULT_NETWORK_TIMEOUT,
    };
    let need = |v: Option<String>, key: &str| {
        v.with_context(|| format!("a {} sink needs `{key}`", s.kind))
    };
    let kind = match s.kind.as_str() {
        "stdout" => SinkKind::Stdout {
            format: format.unwrap_or(Format::Text),
        },
        "json" => SinkKind::Stdout {
            format: Format::Json,
        },
        "file" => SinkKind::File {
            path: s.path.clone().context("a file sink needs `path`")?,
            format: format.unwrap_or(Format::Json),
        },
        "syslog" => SinkKind::Syslog {
            target: s
                .target
                .clone()
                .unwrap_or_else(|| syslog::DEV_LOG.to_string())
                .parse()
                .map_err(anyhow::Error::msg)?,
            facility: syslog::facility(s.facility.as_deref().unwrap_or("user"))
                .map_err(anyhow::Error::msg)?,
            format: format.unwrap_or(Format::Text),
            timeout,
        },
        "program" => SinkKind::Program {
            command: need(s.command.clone(), "command")?,
            format: format.unwrap_or(Format::Json),
        },
        "http" => SinkKind::Http(HttpOptions {
            url: need(s.url.clone(), "url")?,
            headers: s.headers.clone().into_iter().collect(),
            timeout,
            ca_file: s.ca_file.clone(),
        }),
        other => bail!(
            "unknown sink type {other:?} (expected stdout, json, file, syslog, program or http)"
        ),
    };
    Ok(SinkSpec {
        name: s.name.clone().unwrap_or_default(),
        spool: s.spool.unwrap_or(kind.is_remote()),
        kind,
        min_priority: s.min_priority.map(|p| p.0).unwrap_or(Priority::Debug),
        backoff: backoff(backoff_flags, s.backoff_min, s.backoff_max)?,
    })
}

/// Unnamed sinks are called TYPE-N (N counting sinks of that type), which
/// is stable as long as the configuration is.
fn name_sinks(sinks: &mut [SinkSpec]) -> anyhow::Result<()> {
    let mut per_type: BTreeMap<&'static str, usize> = BTreeMap::new();
    for s in sinks.iter_mut() {
        let n = per_type.entry(s.kind.type_name()).or_default();
        if s.name.is_empty() {
            s.name = format!("{}-{n}", s.kind.type_name());
        }
        *n += 1;
    }
    let mut seen = std::collections::BTreeSet::new();
    for s in sinks.iter() {
        if !s
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
            || s.name.starts_with('.')
        {
            bail!("sink name {:?}: use letters, digits, '-', '_' and '.' (it names a spool directory)", s.name);
        }
        if !seen.insert(s.name.clone()) {
            bail!("two sinks are named {:?}", s.name);
        }
    }
    Ok(())
}

/// `Name: value`.
fn parse_header(h: &str) -> anyhow::Result<(String, String)> {
    let (k, v) = h
        .split_once(':')
        .with_context(|| format!("bad header {h:?}: expected `Name: value`"))?;
    let k = k.trim();
    if k.is_empty() || !k.bytes().all(|b| b.is_ascii_graphic()) {
        bail!("bad header name in {h:?}");
    }
    Ok((k.to_string(), v.trim().to_string()))
}

/// `$STATE_DIRECTORY` (systemd's StateDirectory=), else the XDG state
/// directory.
fn default_spool_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("STATE_DIRECTORY") {
        // systemd may list several, colon-separated: take the first.
        let first = d
            .to_string_lossy()
            .split(':')
            .next()
            .unwrap_or("")
            .to_string();
        if !first.is_empty() {
            return Some(PathBuf::from(first).join("spool"));
        }
    }
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    Some(base.join("kestrel/output/spool"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn cli(args: &[&str]) -> Cli {
        Cli::parse_from(std::iter::once("output").chain(args.iter().copied()))
    }

    #[test]
    fn file_and_flags_merge() {
        let yaml = r#"
spool_dir: /tmp/spool
rate_limit: { rate: 5, burst: 20 }
sinks:
  - type: http
    name: sidekick
    url: http://127.0.0.1:2801/
    headers: { Authorization: "Bearer t" }
    timeout: 2.5
    min_priority: warning
  - type: file
    path: /tmp/alerts.json
"#;
        let file: FileConfig = serde_saphyr::from_str(yaml).unwrap();
        let c = Config::merge(
            file,
            &cli(&[
                "--rate",
                "7",
                "--http",
                "http://x/",
                "--http-header",
                "X-A: b",
            ]),
        )
        .unwrap();
        assert_eq!(c.rate_limit.rate, 7.0);
        assert_eq!(c.rate_limit.burst, 20.0);
        let names: Vec<&str> = c.sinks.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["sidekick", "file-0", "http-1"]);
        let SinkKind::Http(h) = &c.sinks[0].kind else {
            panic!("http")
        };
        assert_eq!(h.timeout, Duration::from_millis(2500));
        assert_eq!(
            h.headers,
            [("Authorization".to_string(), "Bearer t".to_string())]
        );
        assert_eq!(c.sinks[0].min_priority, Priority::Warning);
        assert!(c.sinks[0].spool && !c.sinks[1].spool);
        let SinkKind::Http(h) = &c.sinks[2].kind else {
            panic!("http")
        };
        assert_eq!(h.headers, [("X-A".to_string(), "b".to_string())]);
    }

    #[test]
    fn the_documented_example_loads() {
        let yaml = include_str!("../../../pipelines/output.example.yaml");
        let file: FileConfig = serde_saphyr::from_str(yaml).unwrap();
        let c = Config::merge(file, &cli(&[])).unwrap();
        let names: Vec<&str> = c.sinks.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            ["stdout-0", "file-0", "syslog-0", "program-0", "sidekick"]
        );
        assert_eq!(c.listen.as_deref(), Some("127.0.0.1:8765"));
        assert_eq!(c.drop_alarm.threshold, 0.1);
        let SinkKind::Syslog { facility, .. } = &c.sinks[2].kind else {
            panic!("syslog")
        };
        assert_eq!(*facility, 16);
    }

    #[test]
    fn no_sink_means_stdout_text() {
        let c = Config::merge(FileConfig::default(), &cli(&[])).unwrap();
        assert_eq!(c.sinks.len(), 1);
        assert!(matches!(
            c.sinks[0].kind,
            SinkKind::Stdout {
                format: Format::Text
            }
        ));
    }

    #[test]
    fn mistakes_are_reported() {
        assert!(
            serde_saphyr::from_str::<FileConfig>("sinks:\n  - type: http\n    uri: x\n").is_err()
        );
        let file: FileConfig =
            serde_saphyr::from_str("sinks:\n  - type: carrier-pigeon\n").unwrap();
        let e = Config::merge(file, &cli(&[])).unwrap_err();
        assert!(format!("{e:#}").contains("unknown sink type"), "{e:#}");
        assert!(Config::merge(
            FileConfig::default(),
            &cli(&["--http-header", "nocolon", "--http", "http://x/"])
        )
        .is_err());
    }
}
