//! `output ctl subscribe` against the real output binary: alerts read from
//! the input reach a live subscriber, filtered, while the sinks still deliver.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Stream, TestAlert};
use schema::Priority;

fn wait_for(path: &Path) {
    let start = Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_subscriber_follows_alerts_live_with_its_filter() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("output.ctl");
    let mut output = Command::new(env!("CARGO_BIN_EXE_output"))
        .args(["--json", "--control"])
        .arg(&sock)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = output.stdin.take().unwrap();
    // The header alone: output is now running and serving its socket.
    let header = Stream::new().bytes();
    stdin.write_all(&header).unwrap();
    stdin.flush().unwrap();
    wait_for(&sock);
    let subscriber = Command::new(env!("CARGO_BIN_EXE_output"))
        .args([
            "ctl",
            "subscribe",
            "--json",
            "--count",
            "2",
            "--filter",
            "priority:warning",
            "--control",
        ])
        .arg(&sock)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Give the subscription time to be registered before alerts flow.
    std::thread::sleep(Duration::from_millis(500));
    let mut alerts = Stream::headerless();
    for (rule, p) in [
        ("Loud", Priority::Critical),
        ("Quiet", Priority::Notice),
        ("Loud2", Priority::Warning),
    ] {
        alerts = alerts.alert(&TestAlert::new(rule, rule).priority(p));
    }
    stdin.write_all(&alerts.bytes()).unwrap();
    drop(stdin);
    let sub = subscriber.wait_with_output().unwrap();
    let out = output.wait_with_output().unwrap();
    assert!(
        sub.status.success(),
        "subscriber: {}",
        String::from_utf8_lossy(&sub.stderr)
    );
    let got: Vec<serde_json::Value> = String::from_utf8_lossy(&sub.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let rules: Vec<&str> = got.iter().filter_map(|v| v["rule"].as_str()).collect();
    assert_eq!(rules, ["Loud", "Loud2"], "{got:?}");
    // The sinks delivered everything, subscriber or not.
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 3);
}
