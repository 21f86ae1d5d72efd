//! `output ctl stats` against the real output binary: after alerts flowed,
//! it answers output's own counters (alerts read, per-sink deliveries, the
//! live subscriptions), which travel in no in-band stats frame.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{eventually, Live, TestAlert};

/// `output ctl stats --json`'s counters, or `None` while the socket is not
/// answering.
fn counters(sock: &Path) -> Option<serde_json::Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_output"))
        .args(["ctl", "stats", "--json", "--control"])
        .arg(sock)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    assert_eq!(v["stage"], "output", "{v}");
    Some(v["counters"].clone())
}

#[test]
fn ctl_stats_shows_alerts_deliveries_and_subscriptions() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("output.ctl");
    let sock_arg = sock.to_str().expect("UTF-8 temp path");
    let mut live = Live::start(&["--json", "--control", sock_arg]);
    assert!(
        eventually(Duration::from_secs(10), || sock.exists()),
        "control socket never appeared"
    );
    let mut subscriber = Command::new(env!("CARGO_BIN_EXE_output"))
        .args([
            "ctl",
            "subscribe",
            "--json",
            "--count",
            "3",
            "--control",
            sock_arg,
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    assert!(
        eventually(Duration::from_secs(10), || {
            counters(&sock).is_some_and(|c| c["subscribers"] == 1)
        }),
        "the subscription never showed in ctl stats"
    );
    for i in 0..3 {
        live.alert(&TestAlert::new("Counted", &format!("n={i}")));
    }
    let start = Instant::now();
    let c = loop {
        let c = counters(&sock).expect("ctl stats answers");
        if c["sink.stdout-0.delivered"] == 3 && c["subscribers.sent"] == 3 {
            break c;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "counters never reached 3 delivered and 3 sent to the subscriber: {c}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(c["alerts"], 3, "{c}");
    assert_eq!(c["alerts.suppressed"], 0, "{c}");
    assert_eq!(c["sink.stdout-0.dropped"], 0, "{c}");
    assert_eq!(c["sink.stdout-0.failures"], 0, "{c}");
    assert_eq!(c["subscribers.dropped"], 0, "{c}");
    assert!(subscriber.wait().unwrap().success());
    let out = live.finish();
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert_eq!(common::stdout_lines(&out).len(), 3);
}
