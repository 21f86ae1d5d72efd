//! `enrich ctl health|stats` against the real binary: the counters that travel
//! in-band answer on the control socket too.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/enrich/shell.kst"
);

#[test]
fn ctl_stats_and_health_answer_while_the_stream_is_open() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("enrich.ctl");
    let mut enrich = Command::new(env!("CARGO_BIN_EXE_enrich"))
        .arg("--control")
        .arg(&sock)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = enrich.stdin.take().unwrap();
    stdin.write_all(&std::fs::read(FIXTURE).unwrap()).unwrap();
    stdin.flush().unwrap();
    // Input stays open: the stage is idle, not finished.
    let ctl = |what: &str| {
        Command::new(env!("CARGO_BIN_EXE_enrich"))
            .args(["ctl", what, "--json", "--control"])
            .arg(&sock)
            .output()
            .unwrap()
    };
    let start = Instant::now();
    let stats = loop {
        let out = ctl("stats");
        if out.status.success() {
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON stats");
            if v.to_string().contains("events_in") {
                break v;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no stats on the control socket"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let text = stats.to_string();
    assert!(text.contains("events_out"), "{text}");
    let health = ctl("health");
    assert!(health.status.success());
    let h = String::from_utf8_lossy(&health.stdout);
    assert!(h.contains("true"), "input/output should be connected: {h}");
    drop(stdin);
    assert!(enrich.wait().unwrap().success());
}
