//! `capture ctl …`: the client of a running capture's control socket.
//! Prints text for people, or one JSON document with `--json`.
//!
//! ```text
//! capture ctl health|stats|version --control PATH [--json]
//! capture ctl syscalls --control PATH [--json]
//! capture ctl set-syscalls openat,execve --control PATH [--force] [--json]
//! ```
//!
//! The generic subcommands and options are the stage crate's
//! (`stage::ctl`). It is not a place for the server ([`crate::control`]).

use std::path::Path;

use clap::Subcommand;
use schema::control_capnp::capture_control;
use serde_json::{json, Value};
use stage::control::client;
use stage::control::ControlError;

/// What `capture ctl` adds to the generic subcommands.
#[derive(Subcommand, Debug, Clone)]
pub enum CtlCommand {
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

impl stage::ctl::StageCtl for CtlCommand {
    fn run(&self, path: &Path, as_json: bool) -> anyhow::Result<i32> {
        let v = client::block_on(call(self, path))??;
        let ok = v["errors"].as_array().is_none_or(|e| e.is_empty());
        if as_json {
            println!("{v}");
        } else {
            print!("{}", text(&v));
        }
        Ok(if ok { 0 } else { 1 })
    }
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
        CtlCommand::Syscalls => {
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
