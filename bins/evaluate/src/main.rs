//! `evaluate`: kestrel's rule engine stage. Reads enriched frames, checks
//! each event against Falco-compatible rules, writes alerts (text, JSON
//! lines or frames); subcommands inspect rules and run rule fixtures.
//!
//! This file only parses the command line, sets up logging and maps
//! outcomes to exit codes; the work is in the `evaluate` library.

use clap::{CommandFactory, FromArgMatches};
use evaluate::cli::{self, Cli, Command};
use tracing_subscriber::EnvFilter;

fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .init();
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if stage::ctl::wanted(&argv) {
        std::process::exit(stage::ctl::main::<evaluate::control::ctl::CtlCommand>(
            "evaluate", &argv,
        ));
    }
    let matches = Cli::command().get_matches_from(argv);
    let parsed = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    let code = match parsed.command {
        None => match cli::run::run(&parsed.run, &matches) {
            Ok(()) => 0,
            Err(e) => {
                let code = e.report("evaluate");
                i32::from(code != std::process::ExitCode::SUCCESS)
            }
        },
        Some(Command::Validate { rules }) => cli::info::validate(&rules),
        Some(Command::ListRules { rules }) => {
            let sub = matches.subcommand_matches("list-rules").unwrap_or(&matches);
            report(cli::info::list_rules(&rules, sub))
        }
        Some(Command::ListFields) => report(cli::info::list_fields()),
        Some(Command::Syscalls { rules, matched }) => {
            let sub = matches.subcommand_matches("syscalls").unwrap_or(&matches);
            report(cli::info::syscalls(&rules, sub, matched))
        }
        Some(Command::Test { dir, rules }) => cli::fixtures::run(&dir, &rules),
        // Handled before parsing, above; listed for --help.
        Some(Command::Ctl { .. }) => 2,
    };
    std::process::exit(code);
}

/// Exit code of a subcommand that may fail on output (a closed pipe is a
/// clean stop).
fn report(r: anyhow::Result<i32>) -> i32 {
    match r {
        Ok(c) => c,
        Err(e) => {
            let closed = stage::error::chain_is_broken_pipe(e.chain());
            if closed {
                eprintln!("evaluate: output closed");
                0
            } else {
                eprintln!("evaluate: error: {e:#}");
                1
            }
        }
    }
}
