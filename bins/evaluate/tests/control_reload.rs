//! evaluate's control plane end to end, over its real `--control` socket:
//! reloads (by `evaluate ctl reload` and by SIGHUP) under a steady stream
//! meet every event exactly once; a broken rules file is rejected and the
//! old rules keep running; list-rules, enable and disable.

use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use evaluate::fields::sample;
use schema::kestrel_capnp::frame;
use schema::{FrameReader, FrameWriter, Kind, Stage};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_evaluate");

/// Every this many events, one is a "marker" that the rules alert on.
const MARKER_EVERY: u64 = 10;

/// How long to wait for evaluate's socket or for a reload to show.
const WAIT: Duration = Duration::from_secs(10);

fn rules(version: &str) -> String {
    format!(
        r#"
- rule: Marker {version}
  desc: every tenth event
  condition: evt.type = execve and proc.name = marker
  output: "marker pid=%proc.pid"
  priority: WARNING
  tags: [test, gen_{version}]
- rule: Never
  desc: matches nothing the test sends
  condition: evt.type = execve and proc.name = nothing
  output: "never"
  priority: DEBUG
  tags: [test]
"#
    )
}

const BROKEN: &str = r#"
- rule: Broken
  desc: a condition that does not parse
  condition: evt.type = execve and and
  output: "x"
  priority: WARNING
"#;

fn dir(test: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kestrel-eval-ctl-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn event(i: u64) -> sample::Event {
    let marker = i.is_multiple_of(MARKER_EVERY);
    sample::Event {
        kind: Kind::Execve,
        ts: 1_795_885_381_000_000_000 + i,
        thread: Some(sample::Thread {
            pid: i as i32,
            tid: i as i32,
            name: if marker { "marker" } else { "other" }.into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn start(rules: &Path, sock: &Path) -> Child {
    Command::new(BIN)
        .args([
            "-r",
            rules.to_str().expect("utf-8 path"),
            "--format",
            "frames",
        ])
        .arg("--control")
        .arg(sock)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("evaluate runs")
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let until = Instant::now() + WAIT;
    while !f() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `evaluate ctl ARGS --control SOCK --json`: exit code and JSON answer.
fn ctl(sock: &Path, args: &[&str]) -> (i32, Value) {
    let out = Command::new(BIN)
        .arg("ctl")
        .args(args)
        .arg("--control")
        .arg(sock)
        .arg("--json")
        .output()
        .expect("evaluate ctl runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let v = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "ctl {args:?}: not JSON ({e}): {text}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), v)
}

fn rule_names(sock: &Path) -> Vec<String> {
    let (_, v) = ctl(sock, &["list-rules"]);
    v.as_array()
        .expect("a list")
        .iter()
        .filter_map(|r| r["name"].as_str().map(str::to_string))
        .collect()
}

/// Streams events into evaluate until `stop`, then closes its input.
/// Returns how many it sent.
fn feed(stdin: ChildStdin, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut w = FrameWriter::new(BufWriter::new(stdin));
        w.write_header(Stage::Enrich).expect("header");
        let mut i = 0u64;
        while !stop.load(Ordering::Relaxed) {
            for _ in 0..500 {
                w.write(&event(i).to_message()).expect("event");
                i += 1;
            }
            w.flush().expect("flush");
            std::thread::sleep(Duration::from_millis(1));
        }
        w.flush().expect("flush");
        i
    })
}

/// What evaluate wrote: (rule, pid) of each alert, and its last
/// events_evaluated counter.
fn read_output(bytes: &[u8]) -> (Vec<(String, u64)>, u64) {
    let mut r = FrameReader::new(bytes);
    r.read_header().expect("header").expect("not empty");
    let (mut alerts, mut evaluated) = (Vec::new(), 0);
    while let Some(f) = r.next().expect("frame") {
        match f.root().expect("root").which() {
            Ok(frame::Alert(a)) => {
                let a = a.expect("alert");
                let rule = a.get_rule().expect("rule").to_string().expect("utf-8");
                let out = a.get_output().expect("output").to_string().expect("utf-8");
                let pid = out
                    .rsplit("pid=")
                    .next()
                    .and_then(|p| p.trim().parse().ok())
                    .unwrap_or_else(|| panic!("no pid in {out:?}"));
                alerts.push((rule, pid));
            }
            Ok(frame::Stats(s)) => {
                let s = s.expect("stats");
                for c in s.get_counters().expect("counters") {
                    if c.get_name().expect("name").to_str() == Ok("events_evaluated") {
                        evaluated = c.get_value();
                    }
                }
            }
            _ => {}
        }
    }
    (alerts, evaluated)
}

#[test]
fn reload_under_load_meets_every_event_once() {
    let d = dir("reload");
    let (rules_path, sock) = (d.join("rules.yaml"), d.join("ctl.sock"));
    std::fs::write(&rules_path, rules("v1")).expect("write rules");
    let mut child = start(&rules_path, &sock);
    let stop = Arc::new(AtomicBool::new(false));
    let feeder = feed(child.stdin.take().expect("stdin"), stop.clone());
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut buf).expect("read output");
        buf
    });
    wait_for("the control socket", || sock.exists());
    std::thread::sleep(Duration::from_millis(150));

    // A broken file is refused; v1 keeps running.
    std::fs::write(&rules_path, BROKEN).expect("write rules");
    let (code, v) = ctl(&sock, &["reload"]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["ok"], false);
    assert!(!v["errors"].as_array().expect("errors").is_empty(), "{v}");
    assert_eq!(v["generation"], 1, "{v}");
    assert_eq!(rule_names(&sock), ["Marker v1", "Never"]);

    // v2 by ctl reload: taken by the event loop while events flow.
    std::fs::write(&rules_path, rules("v2")).expect("write rules");
    let (code, v) = ctl(&sock, &["reload"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["ok"], true);
    assert_eq!(v["generation"], 2);
    assert_eq!(v["rules_running"], 2);
    assert!(
        v["swap_ns"].as_u64() > Some(0),
        "swapped while events flow: {v}"
    );
    std::thread::sleep(Duration::from_millis(150));

    // v3 by SIGHUP.
    std::fs::write(&rules_path, rules("v3")).expect("write rules");
    // SAFETY: signals our own child.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGHUP) }, 0);
    wait_for("the SIGHUP reload", || {
        rule_names(&sock).contains(&"Marker v3".to_string())
    });
    std::thread::sleep(Duration::from_millis(150));

    stop.store(true, Ordering::Relaxed);
    let sent = feeder.join().expect("feeder");
    let status = child.wait().expect("evaluate exits");
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
    }
    assert!(status.success(), "evaluate failed: {stderr}");
    let (alerts, evaluated) = read_output(&reader.join().expect("reader"));

    assert_eq!(evaluated, sent, "every event evaluated once");
    // Each marker alerted exactly once, in order, by one ruleset or the
    // next, the rulesets following each other without overlap.
    let markers: Vec<u64> = (0..sent).filter(|i| i % MARKER_EVERY == 0).collect();
    let pids: Vec<u64> = alerts.iter().map(|(_, p)| *p).collect();
    assert_eq!(pids, markers, "one alert per marker event");
    let order = |r: &str| match r {
        "Marker v1" => 1,
        "Marker v2" => 2,
        "Marker v3" => 3,
        other => panic!("unexpected rule {other}"),
    };
    let gens: Vec<u32> = alerts.iter().map(|(r, _)| order(r)).collect();
    assert!(gens.windows(2).all(|w| w[0] <= w[1]), "rulesets overlap");
    for g in 1..=3 {
        assert!(
            gens.contains(&g),
            "no alert from v{g}: the stream did not cover it"
        );
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn list_enable_disable_health() {
    let d = dir("list");
    let (rules_path, sock) = (d.join("rules.yaml"), d.join("ctl.sock"));
    std::fs::write(&rules_path, rules("v1")).expect("write rules");
    let mut child = start(&rules_path, &sock);
    let mut w = FrameWriter::new(child.stdin.take().expect("stdin"));
    w.write_header(Stage::Enrich).expect("header");
    for i in 0..25 {
        w.write(&event(i).to_message()).expect("event");
    }
    w.flush().expect("flush");
    wait_for("the control socket", || sock.exists());
    wait_for("three hits", || {
        let (_, v) = ctl(&sock, &["list-rules"]);
        v[0]["hits"] == 3
    });

    let (_, v) = ctl(&sock, &["list-rules"]);
    assert_eq!(v[0]["name"], "Marker v1");
    assert_eq!(v[0]["enabled"], true);
    assert_eq!(v[0]["priority"], "Warning");
    assert_eq!(v[0]["source"], "syscall");
    assert_eq!(v[0]["tags"], serde_json::json!(["test", "gen_v1"]));
    assert_eq!(v[1]["hits"], 0);

    // By tag, with a wildcard: only the marker rule carries gen_*.
    let (code, v) = ctl(&sock, &["disable", "tag:gen_*"]);
    assert_eq!(
        (code, &v["matched"], &v["rules_running"]),
        (0, &1.into(), &1.into())
    );
    let (_, v) = ctl(&sock, &["list-rules"]);
    assert_eq!(
        (&v[0]["enabled"], &v[1]["enabled"]),
        (&false.into(), &true.into())
    );
    // Hits survive the rebuild.
    assert_eq!(v[0]["hits"], 3);
    let (code, v) = ctl(&sock, &["enable", "Mark*"]);
    assert_eq!(
        (code, &v["matched"], &v["rules_running"]),
        (0, &1.into(), &2.into())
    );

    let (code, v) = ctl(&sock, &["health"]);
    assert_eq!(code, 0);
    assert_eq!(v["stage"], "evaluate");
    assert_eq!(v["input_connected"], true);
    assert_eq!(v["output_connected"], true);
    assert_eq!(v["pid"], child.id());
    let (_, v) = ctl(&sock, &["version"]);
    assert_eq!(v["program"], "evaluate");
    // The input went quiet after 25 events: the counters are current all
    // the same, not those of a stats frame from before.
    let (code, v) = ctl(&sock, &["stats"]);
    assert_eq!(code, 0);
    assert_eq!(v["stage"], "evaluate");
    assert_eq!(v["counters"]["events_evaluated"], 25, "{v}");
    assert_eq!(v["counters"]["alerts.Marker v1"], 3, "{v}");

    drop(w);
    let out = child.wait_with_output().expect("evaluate exits");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (alerts, evaluated) = read_output(&out.stdout);
    assert_eq!(evaluated, 25);
    assert_eq!(alerts.len(), 3);
    assert!(!sock.exists(), "the socket is removed at exit");
    let _ = std::fs::remove_dir_all(&d);
}
