//! The command line: the default mode evaluates a frame stream; the
//! subcommands inspect rules (`validate`, `list-rules`, `list-fields`,
//! `syscalls`), run rule fixtures (`test`) and talk to a running evaluate
//! (`ctl`, see [`crate::control::ctl`]).
//!
//! It is not a place for rule or stream logic: each subcommand lives in its
//! own module and calls the library.

pub mod fixture_event;
pub mod fixtures;
pub mod info;
pub mod run;

use std::path::PathBuf;

use clap::{ArgMatches, Args, Parser, Subcommand, ValueEnum};
use schema::Priority;
use stage::Endpoint;

use crate::check::catalog::Registry;
use crate::loader::diag::Diagnostics;
use crate::loader::{self, Loaded};
use crate::ruleset::{RuleMatching, Toggle};

/// How alerts leave evaluate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One line per alert, for people.
    Text,
    /// One JSON object per line, Falco's shape.
    Json,
    /// Cap'n Proto `alert` frames (plus stats), for the `output` stage.
    Frames,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Matching {
    First,
    All,
}

impl From<Matching> for RuleMatching {
    fn from(m: Matching) -> Self {
        match m {
            Matching::First => RuleMatching::First,
            Matching::All => RuleMatching::All,
        }
    }
}

/// Which rule files to load.
#[derive(Debug, Clone, Args)]
pub struct RulePaths {
    /// A rules file or directory (its .yaml/.yml files, sorted). Repeatable;
    /// later files change earlier ones. Without -r, the built-in rules; with
    /// -r, only the files given, unless --builtin is also given.
    #[arg(short = 'r', long = "rules", value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// Load the built-in rules first, then the -r files, which may append to
    /// them or override them (Falco's `override:`/`append:`, or an item of
    /// the same name), as Falco loads its default rules before a user's
    /// rules files. An empty -r directory leaves the built-in rules as they
    /// are.
    #[arg(long)]
    pub builtin: bool,
}

/// Which rules to load and which of them to run.
#[derive(Debug, Clone, Args)]
pub struct RuleArgs {
    #[command(flatten)]
    pub paths: RulePaths,
    /// Enable rules by name, or by tag with `tag:NAME`; `*` and `?` are
    /// wildcards. Applied in order with --disable.
    #[arg(long, value_name = "PATTERN")]
    pub enable: Vec<String>,
    /// Disable rules by name, or by tag with `tag:NAME`; wildcards allowed.
    #[arg(long, value_name = "PATTERN")]
    pub disable: Vec<String>,
    /// Run only rules at least this severe.
    #[arg(long, value_name = "PRIORITY", default_value = "debug", value_parser = Priority::parse)]
    pub min_priority: Priority,
}

#[derive(Debug, Parser)]
#[command(
    name = "evaluate",
    version,
    about = "kestrel's rule engine: checks enriched events against Falco-compatible rules and writes alerts",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
}

/// The default mode: evaluate a stream.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub rules: RuleArgs,
    #[command(flatten)]
    pub common: stage::args::Common,
    /// Where enriched frames come from: -, unix:PATH, listen:PATH, fd:N, systemd.
    #[arg(long, default_value = "-")]
    pub input: Endpoint,
    /// Where alerts go: -, unix:PATH, listen:PATH, fd:N, systemd.
    #[arg(long, default_value = "-")]
    pub output: Endpoint,
    /// Alert format. Default: text on a terminal, frames otherwise.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Whether only the first matching rule alerts for an event, or all.
    #[arg(long, value_enum, default_value = "first")]
    pub rule_matching: Matching,
    /// Serve the control plane (health, stats, list-rules, enable/disable,
    /// reload) on this Unix socket, mode 0600; see `evaluate ctl`.
    #[arg(long, value_name = "PATH")]
    pub control: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load rules and report errors and warnings; exit 0 only if they load.
    Validate {
        #[command(flatten)]
        rules: RulePaths,
    },
    /// List the loaded rules: name, priority, source, enabled, tags.
    ListRules {
        #[command(flatten)]
        rules: RuleArgs,
    },
    /// List the fields conditions and outputs may use, with type and description.
    ListFields,
    /// Print the syscalls the selected rules need plus those enrich needs,
    /// comma-separated, for `capture --syscalls`.
    Syscalls {
        #[command(flatten)]
        rules: RuleArgs,
        /// Print only the event kinds the rules can match (non-syscall kinds
        /// such as `container` included), for `enrich --forward`.
        #[arg(long)]
        matched: bool,
    },
    /// Run rule fixtures (YAML files of DIR, see `evaluate::cli::fixtures`);
    /// every rule is checked, enabled or not.
    Test {
        /// Directory of fixture files.
        dir: PathBuf,
        #[command(flatten)]
        rules: RulePaths,
    },
    /// Talk to a running evaluate through its `--control` socket:
    /// health, stats, version, reload, list-rules, enable, disable
    /// (`evaluate ctl --help`).
    Ctl {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
}

/// The `--enable`/`--disable` toggles of `m`, in command-line order.
pub fn toggles(m: &ArgMatches) -> Vec<Toggle> {
    let mut out: Vec<(usize, Toggle)> = Vec::new();
    for (id, enable) in [("enable", true), ("disable", false)] {
        let (Some(idx), Some(vals)) = (m.indices_of(id), m.get_many::<String>(id)) else {
            continue;
        };
        for (i, v) in idx.zip(vals) {
            out.push((
                i,
                if enable {
                    Toggle::Enable(v.clone())
                } else {
                    Toggle::Disable(v.clone())
                },
            ));
        }
    }
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, t)| t).collect()
}

/// Loads the rules of `args`: the built-in rules when there is no path or
/// `--builtin` asks for them, then the given paths.
pub fn load(args: &RulePaths) -> Result<Loaded, Diagnostics> {
    if args.rules.is_empty() {
        loader::load_texts(crate::builtin::files(), &Registry)
    } else if args.builtin {
        loader::load_after(crate::builtin::files(), &args.rules, &Registry)
    } else {
        loader::load_paths(&args.rules, &Registry)
    }
}
