//! Control for a stage that answers only the generic methods (health,
//! stats, version), wired in with one call before its own argument
//! parsing: [`stage_args`] runs `NAME ctl …` and exits, or takes
//! `--control PATH` out of the arguments and starts serving it; the rest
//! goes to the stage's parser.
//!
//! The stage then reports through the free functions of this module
//! ([`publish_counters`], [`set_input_connected`], …), which do nothing
//! when no control socket was asked for, so call sites need no plumbing.
//!
//! It is not a place for stage-specific methods: a stage with more (like
//! evaluate) declares `--control` in its own parser and serves its own
//! interface with [`super::spawn`].

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use super::client::{self, Generic};
use super::{feed, generic, StageStatus};
use crate::Stage;

/// The serving stage's status, set once by [`stage_args`].
static STATUS: OnceLock<Arc<StageStatus>> = OnceLock::new();

/// output's alert fan-out for `subscribe`, set by [`stage_args`] when the
/// stage is output.
static FEED: OnceLock<Arc<feed::AlertFeed>> = OnceLock::new();

/// Keeps the control thread's handle for the life of the process (the
/// socket file is left behind at exit; the next bind replaces it).
static THREAD: OnceLock<super::ControlThread> = OnceLock::new();

/// Handles the control plane's part of the command line: `ctl …` runs and
/// exits; `--control PATH` / `--control=PATH` is removed and served. Returns
/// the remaining arguments (program name first), for `Parser::parse_from`.
pub fn stage_args(stage: Stage, program: &'static str, version: &'static str) -> Vec<OsString> {
    let args: Vec<OsString> = std::env::args_os().collect();
    if args.get(1).and_then(|a| a.to_str()) == Some("ctl") {
        std::process::exit(ctl_main(program, &args[2..]));
    }
    let (rest, path) = match take_control(args) {
        Ok(x) => x,
        Err(msg) => {
            eprintln!("{program}: error: {msg}");
            std::process::exit(2);
        }
    };
    if let Some(path) = path {
        let status = StageStatus::new(stage, program, version);
        let served = if stage == Stage::Output {
            let f = feed::AlertFeed::new();
            let _ = FEED.set(f.clone());
            super::spawn(Some(&path), feed::bootstrap(status.clone(), f), vec![])
        } else {
            super::spawn(Some(&path), generic::bootstrap(status.clone()), vec![])
        };
        match served {
            Ok(t) => {
                let _ = THREAD.set(t);
                let _ = STATUS.set(status);
            }
            Err(e) => {
                eprintln!("{program}: error: {e}");
                std::process::exit(1);
            }
        }
    }
    rest
}

/// Makes the free functions of this module ([`publish_counters`],
/// [`set_output_connected`], …) report to `status`, for a stage that serves
/// an interface of its own (capture) rather than going through
/// [`stage_args`]. Only the first call counts.
pub fn register(status: Arc<StageStatus>) {
    let _ = STATUS.set(status);
}

/// Splits `--control PATH` out of `args`.
fn take_control(args: Vec<OsString>) -> Result<(Vec<OsString>, Option<PathBuf>), String> {
    let mut rest = Vec::with_capacity(args.len());
    let mut path = None;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.to_str() {
            Some("--control") => match it.next() {
                Some(p) => path = Some(PathBuf::from(p)),
                None => return Err("--control needs a PATH".into()),
            },
            Some(s) if s.starts_with("--control=") => {
                path = Some(PathBuf::from(&s["--control=".len()..]));
            }
            // Everything after `--` belongs to the stage as is.
            Some("--") => {
                rest.push(a);
                rest.extend(it.by_ref());
            }
            _ => rest.push(a),
        }
    }
    Ok((rest, path))
}

fn usage(program: &str) -> String {
    let mut u = format!("usage: {program} ctl health|stats|version --control PATH [--json]");
    if program == "output" {
        u.push_str(
            "\n       output ctl subscribe --control PATH [--filter NAME|tag:P|priority:LEVEL] [--count N] [--json]",
        );
    }
    u
}

/// `NAME ctl health|stats|version --control PATH [--json]`; the exit code.
pub fn ctl_main(program: &str, args: &[OsString]) -> i32 {
    let mut what = None;
    let mut json = false;
    let mut path = None;
    let mut subscribe = false;
    let mut filter = String::new();
    let mut count: Option<u64> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.to_str() {
            Some("subscribe") if program == "output" => subscribe = true,
            Some("--filter") if subscribe => {
                filter = it
                    .next()
                    .and_then(|f| f.to_str())
                    .unwrap_or_default()
                    .to_string()
            }
            Some("--count") if subscribe => {
                count = it
                    .next()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.parse().ok())
            }
            Some("health") => what = Some(Generic::Health),
            Some("stats") => what = Some(Generic::Stats),
            Some("version") => what = Some(Generic::Version),
            Some("--json") => json = true,
            Some("--control") => path = it.next().map(PathBuf::from),
            Some(s) if s.starts_with("--control=") => {
                path = Some(PathBuf::from(&s["--control=".len()..]))
            }
            Some("-h") | Some("--help") => {
                println!("{}", usage(program));
                return 0;
            }
            _ => {
                eprintln!("{program}: error: unexpected {a:?}\n{}", usage(program));
                return 2;
            }
        }
    }
    if subscribe {
        let Some(path) = path else {
            eprintln!("{}", usage(program));
            return 2;
        };
        return subscribe_main(program, &path, &filter, count, json);
    }
    let (Some(what), Some(path)) = (what, path) else {
        eprintln!("{}", usage(program));
        return 2;
    };
    match client::run_generic(&path, what, json) {
        Ok(text) => {
            println!("{text}");
            0
        }
        Err(e) => {
            eprintln!("{program}: error: {e}");
            1
        }
    }
}

/// `output ctl subscribe`: prints alerts as they come, one per line.
fn subscribe_main(program: &str, path: &Path, filter: &str, count: Option<u64>, json: bool) -> i32 {
    use std::io::Write;
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
    }));
    match r {
        Ok(Ok(Some((sent, dropped)))) => {
            if dropped > 0 {
                eprintln!(
                    "{program}: {sent} alerts received, {dropped} dropped (subscriber too slow)"
                );
            }
            0
        }
        Ok(Ok(None)) => 0,
        Ok(Err(e)) | Err(e) => {
            eprintln!("{program}: error: {e}");
            1
        }
    }
}

/// Offers one frame read by output (as read, framing included) to the
/// live subscribers; non-alert frames are ignored. Never waits. Does
/// nothing without a control socket or without subscribers.
pub fn offer_alert(raw: &[u8]) {
    if let Some(f) = FEED.get() {
        f.offer(raw);
    }
}

/// Waits, up to `timeout`, until every live subscriber has been sent what
/// it was offered (output, at the end of its input); true if it has or
/// there is no feed.
pub fn wait_feeds_delivered(timeout: std::time::Duration) -> bool {
    FEED.get()
        .is_none_or(|f| f.wait_delivered(std::time::Instant::now() + timeout))
}

/// The live subscriptions' counts (output); `None` without a control
/// socket.
pub fn feed_totals() -> Option<feed::FeedTotals> {
    FEED.get().map(|f| f.totals())
}

/// Publishes the counters the stage just put in its in-band `stats`
/// frame. Does nothing without a control socket.
pub fn publish_counters(counters: &[(String, u64)]) {
    if let Some(s) = STATUS.get() {
        s.publish_counters(counters);
    }
}

pub fn set_input_connected(on: bool) {
    if let Some(s) = STATUS.get() {
        s.set_input_connected(on);
    }
}

pub fn set_output_connected(on: bool) {
    if let Some(s) = STATUS.get() {
        s.set_output_connected(on);
    }
}

pub fn record_error(message: impl Into<String>) {
    if let Some(s) = STATUS.get() {
        s.record_error(message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn control_flag_is_taken_out() {
        let (rest, p) = take_control(os(&["enrich", "--control", "/s", "--input", "-"])).unwrap();
        assert_eq!(rest, os(&["enrich", "--input", "-"]));
        assert_eq!(p, Some(PathBuf::from("/s")));
        let (rest, p) = take_control(os(&["x", "--control=/t", "a"])).unwrap();
        assert_eq!((rest, p), (os(&["x", "a"]), Some(PathBuf::from("/t"))));
        let (rest, p) = take_control(os(&["x", "--", "--control", "y"])).unwrap();
        assert_eq!((rest, p), (os(&["x", "--", "--control", "y"]), None));
        assert!(take_control(os(&["x", "--control"])).is_err());
    }
}
