//! `NAME ctl …`, the client of a running stage's control socket: one
//! command line for every stage. The generic subcommands (`health`,
//! `stats`, `version`) and the options (`--control PATH`, `--json`) are
//! here; a stage adds its own subcommands by implementing [`StageCtl`] for
//! a clap `Subcommand` enum (capture's `set-syscalls`, evaluate's
//! `reload`, output's `subscribe`).
//!
//! It is not a place for the server side ([`crate::control`]) nor for any
//! stage's own methods.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{Args, FromArgMatches, Parser, Subcommand};

use crate::control::client::{self, Generic};

/// The subcommands every stage answers.
#[derive(Debug, Clone, Copy, Subcommand)]
pub enum GenericCmd {
    /// Up since, input and output connected, last error.
    Health,
    /// The counters the stage sends in-band.
    Stats,
    /// Program and format version.
    Version,
}

/// Options of every `ctl` subcommand.
#[derive(Debug, Clone, Args)]
pub struct CtlOpts {
    /// The running stage's control socket (its --control PATH).
    #[arg(long, global = true, value_name = "PATH")]
    pub control: Option<PathBuf>,
    /// Print one JSON document instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

/// A stage's own `ctl` subcommands.
pub trait StageCtl: Subcommand {
    /// Runs the subcommand against the socket at `path`; the exit code.
    /// Errors are printed by the caller as one line.
    fn run(&self, path: &Path, json: bool) -> anyhow::Result<i32>;
}

/// For stages with only the generic subcommands.
#[derive(Debug, Clone, Copy, Subcommand)]
pub enum NoSubcommands {}

impl StageCtl for NoSubcommands {
    fn run(&self, _path: &Path, _json: bool) -> anyhow::Result<i32> {
        match *self {}
    }
}

#[derive(Debug, Parser)]
struct CtlCli<E: StageCtl> {
    #[command(subcommand)]
    cmd: Cmd<E>,
    #[command(flatten)]
    opts: CtlOpts,
}

#[derive(Debug, Subcommand)]
enum Cmd<E: StageCtl> {
    #[command(flatten)]
    Generic(GenericCmd),
    #[command(flatten)]
    Stage(E),
}

/// True when the command line asks for `ctl` (`NAME ctl …`).
pub fn wanted(args: &[OsString]) -> bool {
    args.get(1).and_then(|a| a.to_str()) == Some("ctl")
}

/// Runs `PROGRAM ctl ARGS…` (`args` is the whole command line, program
/// name and `ctl` first); the exit code: 0 done, 1 failed, 2 usage.
pub fn main<E: StageCtl>(program: &str, args: &[OsString]) -> i32 {
    let name = format!("{program} ctl");
    let argv = std::iter::once(OsString::from(&name)).chain(args.iter().skip(2).cloned());
    let cmd = <CtlCli<E> as clap::CommandFactory>::command().bin_name(name.clone());
    let parsed = cmd
        .try_get_matches_from(argv)
        .and_then(|m| CtlCli::<E>::from_arg_matches(&m));
    let cli = match parsed {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    let Some(path) = cli.opts.control else {
        eprintln!("{program}: error: ctl needs --control PATH");
        return 2;
    };
    let r = match cli.cmd {
        Cmd::Generic(g) => run_generic(g, &path, cli.opts.json),
        Cmd::Stage(s) => s.run(&path, cli.opts.json),
    };
    match r {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{program}: error: {e:#}");
            1
        }
    }
}

fn run_generic(g: GenericCmd, path: &Path, json: bool) -> anyhow::Result<i32> {
    let what = match g {
        GenericCmd::Health => Generic::Health,
        GenericCmd::Stats => Generic::Stats,
        GenericCmd::Version => Generic::Version,
    };
    println!("{}", client::run_generic(path, what, json)?);
    Ok(0)
}
