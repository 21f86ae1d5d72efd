//! output's own `ctl` subcommand, `subscribe`: follow the alerts a running
//! output reads, live, one per line. The generic subcommands and options
//! are the stage crate's (`stage::ctl`).

use std::io::Write;
use std::path::Path;

use clap::Subcommand;
use stage::control::client;

/// What `output ctl` adds to the generic subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum CtlCommand {
    /// Print alerts as they come, one per line.
    Subscribe {
        /// Only alerts of rule NAME (wildcards `*`, `?`), of a tag
        /// (`tag:PATTERN`) or at least as severe as `priority:LEVEL`.
        #[arg(long, default_value = "")]
        filter: String,
        /// Stop after N alerts.
        #[arg(long, value_name = "N")]
        count: Option<u64>,
    },
}

impl stage::ctl::StageCtl for CtlCommand {
    fn run(&self, path: &Path, json: bool) -> anyhow::Result<i32> {
        let CtlCommand::Subscribe { filter, count } = self;
        subscribe(path, filter, *count, json)
    }
}

fn subscribe(path: &Path, filter: &str, count: Option<u64>, json: bool) -> anyhow::Result<i32> {
    let mut seen = 0u64;
    let mut stdout = std::io::stdout().lock();
    let r = client::block_on(client::subscribe(path, filter, |v| {
        let line = if json {
            v.to_string()
        } else {
            format!(
                "{} {} {}",
                v["rule"].as_str().unwrap_or("?"),
                v["priority"].as_str().unwrap_or("?"),
                v["output"].as_str().unwrap_or("?")
            )
        };
        seen += 1;
        // A closed stdout (e.g. `| head`) ends the subscription.
        writeln!(stdout, "{line}")
            .and_then(|_| stdout.flush())
            .is_ok()
            && count.is_none_or(|n| seen < n)
    }))??;
    if let Some((sent, dropped)) = r {
        if dropped > 0 {
            eprintln!("output: {sent} alerts received, {dropped} dropped (subscriber too slow)");
        }
    }
    Ok(0)
}
