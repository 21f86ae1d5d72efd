//! `--listen ADDR`: a small HTTP server for `/healthz` and Prometheus
//! `/metrics`, built from the in-band stats of every stage and output's own
//! counters.
//!
//! Deliberately minimal (one thread, one request per connection, GET only,
//! short timeouts): it serves scrapers and probes on a trusted address, not
//! the public.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::pipeline::Pipeline;

/// How long a client may take to send its request or read the answer.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

/// Longest request line or header line read.
const MAX_REQUEST_LINE: usize = 8 << 10;

/// Most header lines read before answering.
const MAX_HEADER_LINES: usize = 100;

/// Binds `addr` and serves on a thread of its own.
pub fn serve(addr: &str, pipeline: Arc<Pipeline>) -> anyhow::Result<std::net::SocketAddr> {
    let listener =
        TcpListener::bind(addr).map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr()?;
    std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            for conn in listener.incoming() {
                match conn {
                    Ok(s) => {
                        if let Err(e) = handle(s, &pipeline) {
                            tracing::debug!("metrics client: {e}");
                        }
                    }
                    Err(e) => tracing::warn!("metrics: accept: {e}"),
                }
            }
        })?;
    Ok(local)
}

fn handle(stream: TcpStream, pipeline: &Pipeline) -> std::io::Result<()> {
    stream.set_read_timeout(Some(CLIENT_TIMEOUT))?;
    stream.set_write_timeout(Some(CLIENT_TIMEOUT))?;
    respond(stream.try_clone()?, stream, pipeline)
}

/// Reads one request from `input` and writes the answer to `out`: the
/// whole HTTP side of [`handle`], apart from the socket (pub for fuzzing).
pub fn respond(input: impl Read, mut out: impl Write, pipeline: &Pipeline) -> std::io::Result<()> {
    let mut reader = BufReader::new(input).take(MAX_REQUEST_LINE as u64 * MAX_HEADER_LINES as u64);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    // Read the headers so that the client sees a normal exchange.
    for _ in 0..MAX_HEADER_LINES {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
    }
    let mut parts = request.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or("");
    let (status, ctype, body) = match (method, path) {
        ("GET", "/healthz") => {
            let (ok, text) = health(pipeline);
            (
                if ok {
                    "200 OK"
                } else {
                    "503 Service Unavailable"
                },
                "text/plain; charset=utf-8",
                text,
            )
        }
        ("GET", "/metrics") => (
            "200 OK",
            "text/plain; version=0.0.4; charset=utf-8",
            render(pipeline),
        ),
        ("GET", _) => (
            "404 Not Found",
            "text/plain",
            "not found: try /healthz or /metrics\n".into(),
        ),
        _ => ("405 Method Not Allowed", "text/plain", "only GET\n".into()),
    };
    write!(
        out,
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    out.flush()
}

/// Healthy when every sink's delivery thread is running. A failing
/// destination is reported but keeps output healthy: the alerts wait in
/// the spool, and restarting output would not help.
fn health(p: &Pipeline) -> (bool, String) {
    let mut ok = true;
    let mut text = String::new();
    for s in p.sinks() {
        let alive = s.is_running();
        ok &= alive;
        let failing = s.stats.failing.load(Ordering::Relaxed);
        let state = match (alive, failing) {
            (false, _) => "stopped",
            (true, true) => "failing",
            (true, false) => "ok",
        };
        let d = s.queue.depth();
        let _ = writeln!(
            text,
            "sink {} ({}): {state}, {} waiting",
            s.name,
            s.kind,
            d.memory.max(d.spooled)
        );
    }
    (
        ok,
        if ok {
            format!("ok\n{text}")
        } else {
            format!("unhealthy\n{text}")
        },
    )
}

/// Prometheus text exposition of everything output knows.
pub fn render(p: &Pipeline) -> String {
    let mut o = String::new();
    let st = p.stats();
    help(
        &mut o,
        "kestrel_stage_counter",
        "counter",
        "Every counter of every stage, from its latest in-band stats frame.",
    );
    for s in st.stages.values() {
        for (name, v) in &s.counters {
            let _ = writeln!(
                o,
                "kestrel_stage_counter{{{},name=\"{}\"}} {v}",
                stage_labels(&s.key),
                esc(name)
            );
        }
    }
    help(
        &mut o,
        "kestrel_events_total",
        "counter",
        "Events counted by each stage (capture: captured; later stages: processed).",
    );
    for s in st.stages.values() {
        if let Some(v) = s.events {
            let _ = writeln!(o, "kestrel_events_total{{{}}} {v}", stage_labels(&s.key));
        }
    }
    help(
        &mut o,
        "kestrel_drops_total",
        "counter",
        "Events lost, by stage and reason.",
    );
    for s in st.stages.values() {
        for (reason, v) in &s.drops {
            let _ = writeln!(
                o,
                "kestrel_drops_total{{{},reason=\"{}\"}} {v}",
                stage_labels(&s.key),
                esc(reason)
            );
        }
    }
    help(
        &mut o,
        "kestrel_stage_stats_time_seconds",
        "gauge",
        "Time of each stage's latest stats frame.",
    );
    for s in st.stages.values() {
        let _ = writeln!(
            o,
            "kestrel_stage_stats_time_seconds{{{}}} {:.3}",
            stage_labels(&s.key),
            s.time_ns as f64 / 1e9
        );
    }
    help(
        &mut o,
        "kestrel_alerts_total",
        "counter",
        "Alerts read by output, by rule and priority (before rate limiting).",
    );
    for ((rule, prio), n) in &st.alerts {
        let _ = writeln!(
            o,
            "kestrel_alerts_total{{rule=\"{}\",priority=\"{}\"}} {n}",
            esc(rule),
            prio.name()
        );
    }
    help(
        &mut o,
        "kestrel_alerts_suppressed_total",
        "counter",
        "Alerts suppressed by per-rule rate limiting.",
    );
    let _ = writeln!(o, "kestrel_alerts_suppressed_total {}", st.suppressed);
    help(
        &mut o,
        "kestrel_internal_alerts_total",
        "counter",
        "Alerts raised by output itself (drops, rate-limit summaries, spool loss).",
    );
    let _ = writeln!(o, "kestrel_internal_alerts_total {}", st.internal_alerts);
    help(
        &mut o,
        "kestrel_output_frames_ignored_total",
        "counter",
        "Frames that were neither alerts nor stats.",
    );
    let _ = writeln!(
        o,
        "kestrel_output_frames_ignored_total {}",
        st.frames_ignored
    );
    drop(st);

    let sinks = p.sinks();
    let per_sink: [(&str, &str, &str); 4] = [
        (
            "kestrel_sink_deliveries_total",
            "counter",
            "Alerts delivered, by sink.",
        ),
        (
            "kestrel_sink_failures_total",
            "counter",
            "Failed delivery attempts (each retried), by sink.",
        ),
        (
            "kestrel_sink_refused_total",
            "counter",
            "Alerts the destination refused for good (e.g. HTTP 4xx), by sink.",
        ),
        (
            "kestrel_sink_dropped_total",
            "counter",
            "Alerts lost to a full queue or spool, by sink.",
        ),
    ];
    for (i, (name, kind, text)) in per_sink.iter().enumerate() {
        help(&mut o, name, kind, text);
        for s in sinks {
            let v = match i {
                0 => s.stats.delivered.load(Ordering::Relaxed),
                1 => s.stats.failures.load(Ordering::Relaxed),
                2 => s.stats.refused.load(Ordering::Relaxed),
                _ => s.queue.depth().dropped,
            };
            let _ = writeln!(
                o,
                "{name}{{sink=\"{}\",type=\"{}\"}} {v}",
                esc(&s.name),
                s.kind
            );
        }
    }
    let gauges: [(&str, &str); 3] = [
        (
            "kestrel_sink_queue_depth",
            "Alerts held in memory, by sink.",
        ),
        (
            "kestrel_sink_spool_depth",
            "Alerts waiting in the disk spool, by sink.",
        ),
        (
            "kestrel_sink_spool_bytes",
            "Bytes of the disk spool, by sink.",
        ),
    ];
    for (i, (name, text)) in gauges.iter().enumerate() {
        help(&mut o, name, "gauge", text);
        for s in sinks {
            let d = s.queue.depth();
            let v = [d.memory, d.spooled, d.spool_bytes][i];
            let _ = writeln!(
                o,
                "{name}{{sink=\"{}\",type=\"{}\"}} {v}",
                esc(&s.name),
                s.kind
            );
        }
    }
    let name = "kestrel_alert_latency_seconds";
    help(
        &mut o,
        name,
        "histogram",
        "From evaluate reading the event to the alert leaving the sink.",
    );
    for s in sinks {
        let h = &s.stats.latency;
        let labels = format!("sink=\"{}\",type=\"{}\"", esc(&s.name), s.kind);
        for le in crate::latency::EXPORTED_BOUNDS {
            let _ = writeln!(
                o,
                "{name}_bucket{{{labels},le=\"{le}\"}} {}",
                h.count_le(le)
            );
        }
        let _ = writeln!(o, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", h.count());
        let _ = writeln!(o, "{name}_sum{{{labels}}} {:.6}", h.sum().as_secs_f64());
        let _ = writeln!(o, "{name}_count{{{labels}}} {}", h.count());
    }
    o
}

fn help(o: &mut String, name: &str, kind: &str, text: &str) {
    let _ = writeln!(o, "# HELP {name} {text}\n# TYPE {name} {kind}");
}

fn stage_labels(k: &crate::stats::StageKey) -> String {
    format!(
        "stage=\"{}\",instance=\"{}\",hostname=\"{}\"",
        esc(&k.stage),
        esc(&k.instance),
        esc(&k.hostname)
    )
}

/// Escapes a Prometheus label value.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '"' => o.push_str("\\\""),
            '\n' => o.push_str("\\n"),
            c => o.push(c),
        }
    }
    o
}
