//! `capture ctl …`: the client of a running capture's control socket.
//! Prints text for people, or one JSON document with `--json`.
//!
//! ```text
//! capture ctl health|stats|version --control PATH [--json]
//! capture ctl syscalls --control PATH [--json]
//! capture ctl set-syscalls openat,execve --control PATH [--force] [--json]
//! ```
//!
//! It is not a place for the generic client machinery (that is
//! `schema::control::client`) nor for the server ([`crate::control`]).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};
use schema::control::client::{self, Generic};
use schema::control::ControlError;
use schema::control_capnp::capture_control;
use serde_json::{json, Value};

#[derive(Parser, Debug)]
#[command(name = "capture ctl", about = "Query or change a running capture")]
struct CtlArgs {
    #[command(subcommand)]
    cmd: CtlCommand,
    /// The running capture's control socket (its --control PATH).
    #[arg(long, global = true, value_name = "PATH")]
    control: Option<PathBuf>,
    /// Print one JSON document instead of text.
    #[arg(long, global = true)]
    json: bool,
}

/// What `capture ctl` asks.
#[derive(Subcommand, Debug, Clone)]
enum CtlCommand {
    /// Up since, output connected, last error.
    Health,
    /// The counters capture sends in-band.
    Stats,
    /// Program and format version.
    Version,
    /// The event kinds captured now.
    Syscalls,
    /// Capture exactly these event kinds from now on (comma-separated,
    /// `evt.type` spelling, plus procexit); with an unknown name nothing
    /// changes and the exit code is 1. An empty list, or one that leaves
    /// out kinds captured now, is refused the same way unless --force.
    SetSyscalls {
        #[arg(value_name = "LIST")]
        list: String,
        /// Allow a selection that captures nothing or less than now.
        #[arg(long)]
        force: bool,
    },
}

/// Runs `capture ctl ARGS…` (`args` starts after `ctl`); the exit code.
pub fn main(args: &[OsString]) -> i32 {
    let argv = std::iter::once(OsString::from("capture ctl")).chain(args.iter().cloned());
    let cli = match CtlArgs::try_parse_from(argv) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    let Some(path) = cli.control else {
        eprintln!("capture: error: ctl needs --control PATH");
        return 2;
    };
    match run(&cli.cmd, &path, cli.json) {
        Ok(code) => code,
        // The control errors name the socket and their cause already.
        Err(e) => {
            eprintln!("capture: error: {e}");
            1
        }
    }
}

fn run(cmd: &CtlCommand, path: &Path, as_json: bool) -> Result<i32, ControlError> {
    let generic = match cmd {
        CtlCommand::Health => Some(Generic::Health),
        CtlCommand::Stats => Some(Generic::Stats),
        CtlCommand::Version => Some(Generic::Version),
        _ => None,
    };
    if let Some(g) = generic {
        println!("{}", client::run_generic(path, g, as_json)?);
        return Ok(0);
    }
    let v = client::block_on(call(cmd, path))??;
    let ok = v["errors"].as_array().is_none_or(|e| e.is_empty());
    if as_json {
        println!("{v}");
    } else {
        print!("{}", text(&v));
    }
    Ok(if ok { 0 } else { 1 })
}

/// Calls `syscalls` or `setSyscalls`; the answer as JSON:
/// `{"selected": [names…], "errors": [messages…]}`.
async fn call(cmd: &CtlCommand, path: &Path) -> Result<Value, ControlError> {
    let c: capture_control::Client = client::connect(path).await?;
    let (selected, errors) = match cmd {
        CtlCommand::SetSyscalls { list, force } => {
            let names: Vec<&str> = list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            let mut req = c.set_syscalls_request();
            req.get().set_force(*force);
            let mut l = req.get().init_syscalls(names.len() as u32);
            for (i, n) in names.iter().enumerate() {
                l.set(i as u32, *n);
            }
            let resp = req.send().promise.await?;
            let r = resp.get()?;
            (texts(r.get_selected()?)?, texts(r.get_errors()?)?)
        }
        _ => {
            let resp = c.syscalls_request().send().promise.await?;
            (texts(resp.get()?.get_selected()?)?, Vec::new())
        }
    };
    Ok(json!({ "selected": selected, "errors": errors }))
}

fn texts(list: capnp::text_list::Reader<'_>) -> capnp::Result<Vec<String>> {
    list.iter()
        .map(|t| Ok(String::from_utf8_lossy(t?.as_bytes()).into_owned()))
        .collect()
}

fn text(v: &Value) -> String {
    let names = |k: &str| -> Vec<&str> {
        v[k].as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    };
    let mut out = String::new();
    for e in names("errors") {
        out.push_str(&format!("error: {e}\n"));
    }
    let selected = names("selected");
    out.push_str(&format!(
        "selected ({}): {}\n",
        selected.len(),
        selected.join(",")
    ));
    out
}
