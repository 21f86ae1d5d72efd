//! kestrel-bench-latency: the two ends of the alert-latency benchmark
//! (`tests/bench/latency/run.sh`, BENCHMARKS.md "Alert latency").
//!
//! `send` writes enriched events into `evaluate`, paced in small batches,
//! each stamped with the wall clock at the moment it is built, a fixed share
//! of them shaped to match a built-in rule. `receive` sits behind output's
//! sink, stamps each alert line on arrival and reports arrival minus the
//! alert's time, which evaluate copies from the event's time.
//!
//! It measures the stages as a user runs them; it is not a test of rule
//! semantics (the rule fixtures are) and it does not drive the kernel.

use std::fs;
use std::io::{self, BufRead, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use kestrel_tests::frames::typical_event;
use schema::kestrel_capnp::{event, frame, Stage};
use schema::FrameWriter;
use serde_json::Value;

/// The file a benign event opens instead of `/etc/shadow`: read-only, in a
/// directory no built-in rule watches.
const BENIGN_PATH: &[u8] = b"/usr/share/zoneinfo/UTC";

/// Timer slack asked of the kernel for the sender's sleeps, in ns: the
/// default 50 µs would be half a batch period at the default pace.
const TIMER_SLACK_NS: libc::c_ulong = 1_000;

/// Most alert lines the receiver keeps samples of, so that a runaway
/// producer cannot make it grow without bound (100 s at 1,000 alerts/s).
const MAX_SAMPLES: usize = 100_000;

/// Longest alert line read; Falco-shaped alerts are well under 4 KiB.
const MAX_LINE_BYTES: u64 = 64 << 10;

#[derive(Parser)]
#[command(
    name = "kestrel-bench-latency",
    about = "One end of the alert-latency benchmark"
)]
struct Args {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Write a header and paced enriched events to stdout.
    Send {
        /// Events per second.
        #[arg(long, default_value_t = 100_000)]
        rate: u64,
        /// How long to send, in seconds.
        #[arg(long, default_value_t = 5)]
        secs: u64,
        /// One event in N is built to match a built-in rule.
        #[arg(long, default_value_t = 100)]
        match_every: u64,
        /// Events written per flush; the pace is kept batch by batch.
        #[arg(long, default_value_t = 10)]
        batch: u64,
        /// Where the JSON summary goes (events sent, matching, rate).
        #[arg(long)]
        report: PathBuf,
    },
    /// Read alert lines (Falco's JSON) from stdin and report latencies.
    Receive {
        /// Where the JSON summary goes (count, p50, p99, max in µs).
        #[arg(long)]
        report: PathBuf,
    },
}

fn main() -> ExitCode {
    let result = match Args::parse().mode {
        Mode::Send {
            rate,
            secs,
            match_every,
            batch,
            report,
        } => send(rate, secs, match_every, batch, &report),
        Mode::Receive { report } => receive(&report),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kestrel-bench-latency: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The typical enriched event ([`typical_event`]: `cat` opening
/// `/etc/shadow` in a container), or the same open of a harmless file.
fn fill(e: event::Builder<'_>, seq: u64, matching: bool) -> capnp::Result<()> {
    let mut e = e;
    typical_event(e.reborrow(), seq);
    e.set_ts_ns(schema::now_ns());
    if !matching {
        e.reborrow().get_params()?.get(1).set_bytes(BENIGN_PATH);
        e.reborrow().get_fd()?.set_name(BENIGN_PATH);
        e.get_thread()?.get_args()?.set(0, BENIGN_PATH);
    }
    Ok(())
}

fn send(
    rate: u64,
    secs: u64,
    match_every: u64,
    batch: u64,
    report: &std::path::Path,
) -> anyhow::Result<()> {
    if rate == 0 || batch == 0 || match_every == 0 {
        bail!("--rate, --batch and --match-every must be positive");
    }
    // SAFETY: prctl(PR_SET_TIMERSLACK) takes a plain integer and touches no
    // memory of ours.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, TIMER_SLACK_NS, 0, 0, 0) };
    let out = stage::transport::open_output(&stage::Endpoint::Stdio)?;
    let mut w = FrameWriter::new(out);
    w.write_header(Stage::Enrich)?;
    w.flush()?;
    let total = rate * secs;
    let period = Duration::from_secs_f64(batch as f64 / rate as f64);
    let start = Instant::now();
    let (mut sent, mut matching, mut batches) = (0u64, 0u64, 0u32);
    while sent < total {
        for _ in 0..batch.min(total - sent) {
            let m = sent % match_every == match_every - 1;
            w.build(|f: frame::Builder<'_>| fill(f.init_event(), sent, m))
                .context("building an event")?;
            matching += u64::from(m);
            sent += 1;
        }
        w.flush().context("writing to evaluate")?;
        batches += 1;
        // Sleep to the next batch's due time; behind schedule, go on at once.
        if let Some(wait) = (period * batches).checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let summary = serde_json::json!({
        "events": sent,
        "matching": matching,
        "secs": elapsed,
        "rate": sent as f64 / elapsed,
    });
    fs::write(report, format!("{summary}\n")).with_context(|| format!("{}", report.display()))?;
    Ok(())
}

/// The alert's time in ns since the epoch: `output_fields["evt.time"]` when
/// it is the raw number, else the RFC 3339 `time`.
fn alert_time_ns(v: &Value) -> Option<u64> {
    if let Some(t) = v.pointer("/output_fields/evt.time").and_then(Value::as_u64) {
        return Some(t);
    }
    rfc3339_ns(v.get("time")?.as_str()?)
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction]Z` (UTC only, as output writes it).
fn rfc3339_ns(s: &str) -> Option<u64> {
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut t = hms.splitn(3, ':').map(|p| p.parse::<u64>().ok());
    let (hh, mm, ss) = (t.next()??, t.next()??, t.next()??);
    if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let nanos = if frac.is_empty() {
        0
    } else {
        frac.parse::<u64>().ok()? * 10u64.pow(9 - frac.len() as u32)
    };
    let days = u64::try_from(days_from_civil(y, m, day)).ok()?;
    Some(((days * 86_400 + hh * 3_600 + mm * 60 + ss) * 1_000_000_000) + nanos)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// well-known civil-from-days inverse).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn receive(report: &std::path::Path) -> anyhow::Result<()> {
    let stdin = io::stdin();
    let mut input = stdin.lock();
    let mut lat_ns: Vec<i64> = Vec::new();
    let (mut lines, mut unparsed) = (0u64, 0u64);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = (&mut input)
            .take(MAX_LINE_BYTES)
            .read_until(b'\n', &mut line)
            .context("reading alerts")?;
        if n == 0 {
            break;
        }
        let arrival = schema::now_ns();
        lines += 1;
        let time = serde_json::from_slice::<Value>(&line)
            .ok()
            .as_ref()
            .and_then(alert_time_ns);
        match time {
            Some(t) if lat_ns.len() < MAX_SAMPLES => lat_ns.push(arrival as i64 - t as i64),
            Some(_) => {}
            None => unparsed += 1,
        }
    }
    lat_ns.sort_unstable();
    let pct = |p: f64| -> f64 {
        if lat_ns.is_empty() {
            return f64::NAN;
        }
        let i = ((p / 100.0) * (lat_ns.len() - 1) as f64).round() as usize;
        lat_ns[i.min(lat_ns.len() - 1)] as f64 / 1e3
    };
    let summary = serde_json::json!({
        "alerts": lines,
        "unparsed": unparsed,
        "p50_us": pct(50.0),
        "p99_us": pct(99.0),
        "max_us": pct(100.0),
    });
    let mut f = fs::File::create(report).with_context(|| format!("{}", report.display()))?;
    writeln!(f, "{summary}")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_matches_output_format() {
        assert_eq!(
            rfc3339_ns("2023-11-14T22:13:20.123456789Z"),
            Some(1_700_000_000_123_456_789)
        );
        assert_eq!(rfc3339_ns("1970-01-01T00:00:01Z"), Some(1_000_000_000));
        assert_eq!(
            rfc3339_ns("2024-02-29T00:00:00.5Z"),
            Some(1_709_164_800_500_000_000)
        );
        assert_eq!(rfc3339_ns("2024-02-29 00:00:00Z"), None);
    }
}
