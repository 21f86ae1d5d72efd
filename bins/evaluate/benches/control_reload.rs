//! What a live reload costs: evaluate runs the compat
//! default ruleset (`tests/compat/falco_rules.yaml` + `rules/`) while this
//! program feeds it 100,000 enriched events/s; half-way through, `evaluate
//! ctl reload` re-reads and recompiles the rules. It reports the time to
//! compile and to swap, and the per-event latency through evaluate in the
//! second before the reload and around it.
//!
//! Latency is sampled on marker events (one in [`MARKER_EVERY`]) that a
//! rule loaded first alerts on: from the event's timestamp, set when this
//! program writes it, to this program reading its alert back.
//!
//! It is not a throughput benchmark (see `benches/engine.rs`).

use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use evaluate::fields::sample;
use schema::kestrel_capnp::frame;
use schema::{FrameReader, FrameWriter, Kind, Stage};

const BIN: &str = env!("CARGO_BIN_EXE_evaluate");

/// Offered load, events per second.
const RATE: u64 = 100_000;
/// Events written per flush; flushes are paced to make up [`RATE`].
const BATCH: u64 = 100;
/// One event in this many is a marker whose latency is measured.
const MARKER_EVERY: u64 = 20;
/// Length of one run.
const RUN: Duration = Duration::from_secs(3);
/// When, into a run, the reload is asked for.
const RELOAD_AT: Duration = Duration::from_millis(1500);
/// The baseline window: this long before the reload, after warm-up.
const BASELINE: Duration = Duration::from_millis(1000);
/// The reload window extends this far past the reload call's return.
const AFTER: Duration = Duration::from_millis(100);
/// Runs; the report gives each and the medians.
const RUNS: usize = 9;

const MARKER_RULE: &str = r#"
- rule: Bench marker
  desc: latency probe of the control-plane benchmark
  condition: evt.type = execve and proc.name = kbench-marker
  output: "marker %proc.pid"
  priority: DEBUG
  tags: [bench]
"#;

/// Background events: execs and file opens by ordinary programs.
fn background(i: u64) -> sample::Event {
    let names = ["ls", "cat", "grep", "nginx", "java"];
    let name = names[(i % names.len() as u64) as usize];
    let thread = sample::Thread {
        pid: 1000 + (i % 50) as i32,
        tid: 1000 + (i % 50) as i32,
        name: name.into(),
        exe: format!("/usr/bin/{name}"),
        exepath: format!("/usr/bin/{name}"),
        args: vec!["-l".into()],
        ..Default::default()
    };
    if i.is_multiple_of(4) {
        sample::Event {
            kind: Kind::Execve,
            thread: Some(thread),
            ..Default::default()
        }
    } else {
        sample::Event {
            kind: Kind::Openat,
            thread: Some(thread),
            fd: Some(sample::Fd {
                name: format!("/usr/lib/x86_64-linux-gnu/lib{}.so", i % 97),
                ..Default::default()
            }),
            ..Default::default()
        }
    }
}

fn marker(i: u64) -> sample::Event {
    sample::Event {
        kind: Kind::Execve,
        thread: Some(sample::Thread {
            pid: i as i32,
            tid: i as i32,
            name: "kbench-marker".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

struct Run {
    compile_ns: u64,
    swap_ns: u64,
    /// (p50, p99, max) latency in µs: before the reload, around it.
    before: (f64, f64, f64),
    around: (f64, f64, f64),
    sent: u64,
}

fn percentiles(mut v: Vec<u64>) -> (f64, f64, f64) {
    if v.is_empty() {
        return (0.0, 0.0, 0.0);
    }
    v.sort_unstable();
    let at = |q: f64| v[((v.len() - 1) as f64 * q) as usize] as f64 / 1e3;
    (at(0.5), at(0.99), at(1.0))
}

fn one_run(dir: &Path, rules: &[PathBuf]) -> Run {
    let sock = dir.join("ctl.sock");
    let mut cmd = Command::new(BIN);
    for r in rules {
        cmd.arg("-r").arg(r);
    }
    let mut child = cmd
        .args(["--format", "frames", "--control"])
        .arg(&sock)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        // The compat rules' load warnings, once per run, are not results.
        .stderr(Stdio::null())
        .spawn()
        .expect("evaluate runs");
    let stdin = child.stdin.take().expect("stdin");
    let stdout = child.stdout.take().expect("stdout");
    let start_ns = schema::now_ns();
    let feeder = std::thread::spawn(move || {
        let mut w = FrameWriter::new(BufWriter::new(stdin));
        w.write_header(Stage::Enrich).expect("header");
        let start = Instant::now();
        let mut i = 0u64;
        let mut batch = 0u64;
        while start.elapsed() < RUN {
            let due = start + Duration::from_nanos(batch * BATCH * 1_000_000_000 / RATE);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            for _ in 0..BATCH {
                let mut ev = if i.is_multiple_of(MARKER_EVERY) {
                    marker(i)
                } else {
                    background(i)
                };
                ev.ts = schema::now_ns();
                w.write(&ev.to_message()).expect("event");
                i += 1;
            }
            w.flush().expect("flush");
            batch += 1;
        }
        i
    });
    let reader = std::thread::spawn(move || {
        let mut r = FrameReader::new(stdout);
        r.read_header().expect("header").expect("output");
        // (event time, latency)
        let mut lat = Vec::new();
        while let Some(f) = r.next().expect("frame") {
            if let Ok(frame::Alert(Ok(a))) = f.root().expect("root").which() {
                if a.get_rule().ok().and_then(|t| t.to_str().ok()) == Some("Bench marker") {
                    let now = schema::now_ns();
                    lat.push((a.get_time_ns(), now.saturating_sub(a.get_time_ns())));
                }
            }
        }
        lat
    });
    let until = Instant::now() + Duration::from_secs(10);
    while !sock.exists() {
        assert!(Instant::now() < until, "no control socket");
        std::thread::sleep(Duration::from_millis(5));
    }
    let wait = Duration::from_nanos(
        (start_ns + RELOAD_AT.as_nanos() as u64).saturating_sub(schema::now_ns()),
    );
    std::thread::sleep(wait);
    let t0 = schema::now_ns();
    let out = Command::new(BIN)
        .args(["ctl", "reload", "--json", "--control"])
        .arg(&sock)
        .output()
        .expect("ctl runs");
    let t1 = schema::now_ns();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ctl JSON");
    assert_eq!(v["ok"], true, "reload failed: {v}");
    let sent = feeder.join().expect("feeder");
    let lat = reader.join().expect("reader");
    assert!(child.wait().expect("evaluate exits").success());
    let window = |from: u64, to: u64| {
        lat.iter()
            .filter(|(t, _)| *t >= from && *t < to)
            .map(|(_, l)| *l)
            .collect::<Vec<_>>()
    };
    Run {
        compile_ns: v["compile_ns"].as_u64().unwrap_or(0),
        swap_ns: v["swap_ns"].as_u64().unwrap_or(0),
        before: percentiles(window(t0 - BASELINE.as_nanos() as u64, t0)),
        around: percentiles(window(t0, t1 + AFTER.as_nanos() as u64)),
        sent,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = std::env::temp_dir().join(format!("kestrel-ctl-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let marker_file = dir.join("marker.yaml");
    std::fs::write(&marker_file, MARKER_RULE).expect("marker rules");
    let rules = vec![
        marker_file,
        root.join("tests/compat/falco_rules.yaml"),
        root.join("rules"),
    ];
    if let Ok(l) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average: {}", l.trim());
    }
    println!("run | sent | compile ms | swap µs | before p50/p99/max µs | around p50/p99/max µs");
    let mut runs = Vec::new();
    for n in 0..RUNS {
        let r = one_run(&dir, &rules);
        println!(
            "{n} | {} | {:.1} | {:.1} | {:.0}/{:.0}/{:.0} | {:.0}/{:.0}/{:.0}",
            r.sent,
            r.compile_ns as f64 / 1e6,
            r.swap_ns as f64 / 1e3,
            r.before.0,
            r.before.1,
            r.before.2,
            r.around.0,
            r.around.1,
            r.around.2,
        );
        runs.push(r);
    }
    let m = |f: &dyn Fn(&Run) -> f64| median(runs.iter().map(f).collect());
    println!(
        "median | {:.0} | {:.1} | {:.1} | {:.0}/{:.0}/{:.0} | {:.0}/{:.0}/{:.0}",
        m(&|r| r.sent as f64),
        m(&|r| r.compile_ns as f64 / 1e6),
        m(&|r| r.swap_ns as f64 / 1e3),
        m(&|r| r.before.0),
        m(&|r| r.before.1),
        m(&|r| r.before.2),
        m(&|r| r.around.0),
        m(&|r| r.around.1),
        m(&|r| r.around.2),
    );
    if let Ok(l) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average: {}", l.trim());
    }
    let _ = std::fs::remove_dir_all(&dir);
}
