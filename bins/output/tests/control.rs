//! What output decides besides delivery: which frames count, rate limits,
//! minimum priorities, the drop alarm, metrics and health, the config file,
//! and how it refuses bad input.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::{eventually, run_output, stderr, stdout_lines, Live, Stream, TestAlert};
use schema::{Kind, Priority, Stage};

fn json_lines(out: &std::process::Output) -> Vec<serde_json::Value> {
    stdout_lines(out)
        .iter()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

#[test]
fn non_alert_frames_are_ignored() {
    let input = Stream::new()
        .event(Kind::Openat, 1)
        .stats(Stage::Capture, &[("events", 5)])
        .alert(&TestAlert::new("R", "the only alert"))
        .event(Kind::Execve, 2)
        .bytes();
    let out = run_output(&["--json"], &input);
    assert!(out.status.success(), "{}", stderr(&out));
    let v = json_lines(&out);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["output"], "22:13:20.123456789: Warning the only alert");
}

#[test]
fn a_malformed_frame_is_a_clear_error_after_delivering_what_came_before() {
    let good = Stream::new().alert(&TestAlert::new("R", "before")).bytes();
    let mut input = good.clone();
    // A frame that claims 1000 words but the stream ends.
    input.extend_from_slice(&[0, 0, 0, 0, 0xe8, 0x03, 0, 0]);
    input.extend_from_slice(&[0u8; 16]);
    let out = run_output(&["--json"], &input);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!(
            "output: error: truncated frame at byte {}",
            good.len()
        )),
        "{err}"
    );
    assert_eq!(json_lines(&out).len(), 1);
}

#[test]
fn a_stream_without_header_is_refused() {
    let out = run_output(
        &[],
        &Stream::headerless()
            .alert(&TestAlert::new("R", "x"))
            .bytes(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with("output: error: not a kestrel stream"),
        "{}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn empty_input_is_a_clean_stop() {
    let out = run_output(&[], b"");
    assert!(out.status.success());
    assert!(
        out.stdout.is_empty() && out.stderr.is_empty(),
        "{}",
        stderr(&out)
    );
}

#[test]
fn rate_limit_per_rule_with_a_summary() {
    let input = Stream::new()
        .numbered("Noisy", 0..10)
        .numbered("Quiet", 0..2)
        .bytes();
    let out = run_output(&["--json", "--rate", "0.001", "--burst", "3"], &input);
    assert!(out.status.success(), "{}", stderr(&out));
    let v = json_lines(&out);
    let rules: Vec<&str> = v.iter().map(|a| a["rule"].as_str().unwrap()).collect();
    assert_eq!(
        rules,
        [
            "Noisy",
            "Noisy",
            "Noisy",
            "Quiet",
            "Quiet",
            "Kestrel internal: alerts rate-limited"
        ]
    );
    let summary = &v[5];
    assert!(
        summary["output"]
            .as_str()
            .unwrap()
            .contains("suppressed 7 alerts"),
        "{summary}"
    );
    assert!(
        summary["output"].as_str().unwrap().contains("Noisy (7)"),
        "{summary}"
    );
    assert_eq!(summary["output_fields"]["suppressed.Noisy"], "7");
}

#[test]
fn each_sink_has_a_minimum_priority() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("all.json");
    let config = dir.path().join("output.yaml");
    std::fs::write(
        &config,
        format!(
            "sinks:\n  - type: json\n    min_priority: error\n  - type: file\n    path: {}\n",
            file.display()
        ),
    )
    .unwrap();
    let input = Stream::new()
        .alert(&TestAlert::new("A", "notice").priority(Priority::Notice))
        .alert(&TestAlert::new("B", "critical").priority(Priority::Critical))
        .alert(&TestAlert::new("C", "error").priority(Priority::Error))
        .alert(&TestAlert::new("D", "debug").priority(Priority::Debug))
        .bytes();
    let out = run_output(&["--config", config.to_str().unwrap()], &input);
    assert!(out.status.success(), "{}", stderr(&out));
    let outputs: Vec<String> = json_lines(&out)
        .iter()
        .map(|v| v["output"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        outputs,
        [
            "22:13:20.123456789: Critical critical",
            "22:13:20.123456789: Error error"
        ]
    );
    assert_eq!(common::file_lines(&file).len(), 4);
}

#[test]
fn a_bad_config_names_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("output.yaml");
    std::fs::write(&config, "sinks:\n  - type: http\n    urll: http://x/\n").unwrap();
    let out = run_output(
        &["--config", config.to_str().unwrap()],
        &Stream::new().bytes(),
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.starts_with("output: error: config "), "{err}");
    // The first line says where and what; a source snippet follows.
    let first = err.lines().next().unwrap();
    assert!(first.contains("line 3 column 5"), "{err}");
    assert!(first.contains("unknown field `urll`"), "{err}");
}

#[test]
fn capture_drops_past_the_threshold_raise_a_paced_internal_alert() {
    let t = 1_700_000_000_000_000_000u64;
    let s = 1_000_000_000u64;
    let input = Stream::new()
        .stats_at(
            Stage::Capture,
            &[("events", 1000), ("drops.ringbuf_full", 0)],
            t,
        )
        .stats_at(
            Stage::Capture,
            &[("events", 2000), ("drops.ringbuf_full", 10)],
            t + s,
        )
        .stats_at(
            Stage::Capture,
            &[("events", 2500), ("drops.ringbuf_full", 600)],
            t + 2 * s,
        )
        .stats_at(
            Stage::Capture,
            &[("events", 3000), ("drops.ringbuf_full", 1200)],
            t + 3 * s,
        )
        .bytes();
    let out = run_output(&["--json"], &input);
    assert!(out.status.success(), "{}", stderr(&out));
    let v = json_lines(&out);
    // 1% lost: nothing; then 54%: one alert; then 55% again: paced away.
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0]["rule"], "Kestrel internal: syscall event drop");
    assert_eq!(v[0]["priority"], "Critical");
    assert_eq!(v[0]["output_fields"]["n_drops"], "590");
    assert_eq!(v[0]["output_fields"]["n_drops_ringbuf_full"], "590");
}

fn http_get(addr: &str, path: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let code = resp.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (code, body)
}

#[test]
fn metrics_and_health_come_from_in_band_stats() {
    let port = common::receivers::free_port();
    let addr = format!("127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.json");
    let mut live = Live::start(&["--listen", &addr, "--file", file.to_str().unwrap()]);
    let now = schema::now_ns();
    live.stats(
        Stage::Capture,
        &[
            ("events", 1234),
            ("drops.ringbuf_full", 5),
            ("drops.too_long", 1),
        ],
        now,
    );
    live.stats(Stage::Enrich, &[("events", 1200)], now);
    live.stats(Stage::Evaluate, &[("events", 1100), ("alerts", 2)], now);
    live.alert(&TestAlert::new("Read sensitive file", "a"));
    live.alert(&TestAlert::new("Read sensitive file", "b"));
    live.alert(&TestAlert::new("Shell", "c").priority(Priority::Critical));
    assert!(eventually(Duration::from_secs(15), || common::file_lines(
        &file
    )
    .len()
        == 3));

    let (code, health) = http_get(&addr, "/healthz");
    assert_eq!(code, 200, "{health}");
    assert!(health.starts_with("ok\n"), "{health}");
    assert!(health.contains("sink file-0 (file): ok"), "{health}");

    let (code, m) = http_get(&addr, "/metrics");
    assert_eq!(code, 200);
    for want in [
        "kestrel_events_total{stage=\"capture\",instance=\"\",hostname=\"testhost\"} 1234",
        "kestrel_events_total{stage=\"enrich\",instance=\"\",hostname=\"testhost\"} 1200",
        "kestrel_drops_total{stage=\"capture\",instance=\"\",hostname=\"testhost\",reason=\"ringbuf_full\"} 5",
        "kestrel_drops_total{stage=\"capture\",instance=\"\",hostname=\"testhost\",reason=\"too_long\"} 1",
        "kestrel_stage_counter{stage=\"evaluate\",instance=\"\",hostname=\"testhost\",name=\"alerts\"} 2",
        "kestrel_alerts_total{rule=\"Read sensitive file\",priority=\"Warning\"} 2",
        "kestrel_alerts_total{rule=\"Shell\",priority=\"Critical\"} 1",
        "kestrel_sink_deliveries_total{sink=\"file-0\",type=\"file\"} 3",
        "kestrel_sink_failures_total{sink=\"file-0\",type=\"file\"} 0",
        "kestrel_sink_queue_depth{sink=\"file-0\",type=\"file\"} 0",
        "kestrel_sink_spool_depth{sink=\"file-0\",type=\"file\"} 0",
        "# TYPE kestrel_alert_latency_seconds histogram",
        "# TYPE kestrel_drops_total counter",
    ] {
        assert!(m.lines().any(|l| l == want), "missing {want:?} in\n{m}");
    }
    assert_eq!(http_get(&addr, "/nope").0, 404);
    let out = live.finish();
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn latency_from_evaluate_to_delivery_is_measured() {
    let mut s = Stream::new();
    let five_ms_ago = schema::now_ns() - 5_000_000;
    for i in 0..20 {
        let out = format!("n={i}");
        s = s.alert(&TestAlert {
            eval_ts_ns: five_ms_ago,
            ..TestAlert::new("R", &out)
        });
    }
    let out = run_output(&["--json", "--latency-summary"], &s.bytes());
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    let line = err
        .lines()
        .find(|l| l.starts_with("output: latency sink=stdout-0 alerts=20 "))
        .unwrap_or_else(|| panic!("no latency line in {err}"));
    let p50: f64 = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("p50_us="))
        .unwrap()
        .parse()
        .unwrap();
    // At least the 5 ms that had passed before output started, and not
    // absurdly more.
    assert!((5_000.0..5_000_000.0).contains(&p50), "{line}");
}

#[test]
fn sigterm_ends_cleanly_and_keeps_what_was_read() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.json");
    let mut live = Live::start(&["--file", file.to_str().unwrap()]);
    for i in 0..100 {
        live.alert(&TestAlert::new("R", &format!("n={i}")));
    }
    assert!(eventually(Duration::from_secs(15), || common::file_lines(
        &file
    )
    .len()
        == 100));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(live.child.id() as i32, libc::SIGTERM) };
    let out = live.finish();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(common::file_lines(&file).len(), 100);
}
