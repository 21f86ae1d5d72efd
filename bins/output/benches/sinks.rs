//! Alerts per second through `output` to the file sink and to the HTTP
//! sink (spooled and memory-only), and frames per second through `--raw`.
//!
//! Run with `cargo bench -p output`. Each case runs the release binary
//! RUNS times on the same recorded stream, from start to exit (input read,
//! every alert delivered, spools flushed), and reports the median. Results
//! are recorded in BENCHMARKS.md, section "output (issue 6)".

#[path = "../tests/common/receivers.rs"]
#[allow(dead_code)]
mod receivers;

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use schema::{FrameWriter, Priority, Stage};

/// Runs per case; the median is reported.
const RUNS: usize = 5;
/// Alerts per run for local sinks.
const LOCAL_ALERTS: u32 = 200_000;
/// Alerts per run for the HTTP sink (one POST each).
const HTTP_ALERTS: u32 = 20_000;

/// A stream of `n` alerts shaped like the default ruleset's: an output of
/// about 200 bytes and eight fields.
fn write_stream(path: &Path, n: u32) {
    let mut w = FrameWriter::new(File::create(path).unwrap());
    w.write_header(Stage::Evaluate).unwrap();
    for i in 0..n {
        let pid = (1000 + i % 5000).to_string();
        w.build::<std::io::Error, _>(|f| {
            let mut a = f.init_alert();
            a.set_time_ns(1_700_000_000_000_000_000 + i as u64 * 1000);
            a.set_rule("Read sensitive file untrusted");
            a.set_priority(Priority::Warning);
            a.set_source("syscall");
            a.set_output(format!(
                "Sensitive file opened for reading by non-trusted program (file=/etc/shadow gparent=systemd ggparent=<NA> ggggparent=<NA> evt_type=openat user=root user_uid=0 user_loginuid=-1 process=cat proc_exepath=/usr/bin/cat parent=bash command=cat /etc/shadow terminal=34816 pid={pid})"
            ));
            a.set_hostname("bench-host");
            let mut tags = a.reborrow().init_tags(3);
            tags.set(0, "filesystem");
            tags.set(1, "mitre_credential_access");
            tags.set(2, "T1555");
            let fields = [
                ("evt.type", "openat"),
                ("fd.name", "/etc/shadow"),
                ("proc.name", "cat"),
                ("proc.pid", pid.as_str()),
                ("proc.cmdline", "cat /etc/shadow"),
                ("user.name", "root"),
                ("user.uid", "0"),
                ("container.id", "host"),
            ];
            let mut fl = a.init_fields(fields.len() as u32);
            for (j, (k, v)) in fields.iter().enumerate() {
                let mut e = fl.reborrow().get(j as u32);
                e.set_name(k);
                e.set_value(v);
            }
            Ok(())
        })
        .unwrap();
    }
    w.flush().unwrap();
}

/// CPU time (user + system) used by waited-for children so far.
fn children_cpu() -> Duration {
    // SAFETY: getrusage writes into the struct we own.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Wall time and CPU time of one `output ARGS < input` run.
fn time_run(args: &[&str], input: &Path) -> (Duration, Duration) {
    let cpu0 = children_cpu();
    let t0 = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_output"))
        .args(args)
        .stdin(File::open(input).unwrap())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let took = t0.elapsed();
    assert!(
        out.status.success(),
        "output failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (took, children_cpu() - cpu0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Prints the median rate over wall time (what a user sees; sensitive to
/// other load on the machine) and over output's own CPU time.
fn report(name: &str, n: u32, runs: Vec<(Duration, Duration)>) {
    let per_cpu = median(
        runs.iter()
            .map(|(_, c)| n as f64 / c.as_secs_f64())
            .collect(),
    );
    let rates: Vec<f64> = runs
        .iter()
        .map(|(d, _)| n as f64 / d.as_secs_f64())
        .collect();
    let (lo, hi) = (
        rates.iter().cloned().fold(f64::MAX, f64::min),
        rates.iter().cloned().fold(0.0, f64::max),
    );
    println!(
        "{name:<34} {n:>7} alerts  median {:>7.0} alerts/s (min {lo:.0}, max {hi:.0}, {RUNS} runs), {per_cpu:>7.0} alerts per CPU-second",
        median(rates)
    );
}

fn main() {
    // `cargo bench` passes --bench; a filter argument is not supported.
    // OUTPUT_BENCH_STREAM=PATH only writes the local stream, for profiling.
    if let Some(path) = std::env::var_os("OUTPUT_BENCH_STREAM") {
        write_stream(Path::new(&path), LOCAL_ALERTS);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("local.kst");
    let remote = dir.path().join("http.kst");
    write_stream(&local, LOCAL_ALERTS);
    write_stream(&remote, HTTP_ALERTS);
    let out_file = dir.path().join("alerts.json");
    let spool = dir.path().join("spool");
    let (spool_s, out_s) = (spool.to_str().unwrap(), out_file.to_str().unwrap());

    let mut runs = Vec::new();
    for _ in 0..RUNS {
        let _ = std::fs::remove_file(&out_file);
        runs.push(time_run(&["--file", out_s, "--spool-dir", spool_s], &local));
    }
    report("file sink (JSON)", LOCAL_ALERTS, runs);

    let mut runs = Vec::new();
    for _ in 0..RUNS {
        let _ = std::fs::remove_file(&out_file);
        runs.push(time_run(
            &[
                "--file",
                out_s,
                "--file-format",
                "text",
                "--spool-dir",
                spool_s,
            ],
            &local,
        ));
    }
    report("file sink (text)", LOCAL_ALERTS, runs);

    let runs = (0..RUNS).map(|_| time_run(&["--json"], &local)).collect();
    report("stdout sink (JSON) to /dev/null", LOCAL_ALERTS, runs);

    let runs = (0..RUNS).map(|_| time_run(&["--raw"], &local)).collect();
    report("--raw (frames/s) to /dev/null", LOCAL_ALERTS, runs);

    for (name, extra) in [
        ("HTTP sink, spooled", &[][..]),
        (
            "HTTP sink, memory only",
            &["--no-spool", "--queue-alerts", "100000"][..],
        ),
    ] {
        let mut runs = Vec::new();
        for _ in 0..RUNS {
            let rx = receivers::HttpReceiver::start("127.0.0.1:0", 200);
            let url = rx.url();
            let _ = std::fs::remove_dir_all(&spool);
            let mut args = vec![
                "--http",
                url.as_str(),
                "--spool-dir",
                spool_s,
                "--drain-timeout",
                "120",
            ];
            args.extend_from_slice(extra);
            runs.push(time_run(&args, &remote));
            assert_eq!(rx.count(), HTTP_ALERTS as usize, "every alert delivered");
        }
        report(name, HTTP_ALERTS, runs);
    }
}
