//! The default mode: read enriched frames, run the ruleset on each event,
//! write alerts as text, JSON lines or frames.
//!
//! Stage conventions: the input must open with a header (empty input is a
//! clean exit); a reading error is one line with its byte offset and exit 1;
//! a closed output is one line and exit 0. In frames mode evaluate writes
//! its own header, forwards upstream `stats` frames unchanged, and adds its
//! own (events evaluated, alerts, alerts per rule) about once a second and
//! at the end. The writer is flushed whenever the input has nothing
//! buffered, so alerts leave at once when the stream is quiet.
//!
//! It is not a place for rule logic ([`crate::ruleset`]) or rendering
//! ([`crate::alert::format`]).

use std::io::{self, BufWriter, IsTerminal, Write};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use schema::control::StageStatus;
use schema::kestrel_capnp::frame;
use schema::reconnect::{self, Output, Redial};
use schema::state::StateTable;
use schema::transport::{open_input, open_output};
use schema::{FrameReader, FrameWriter, Stage};

use super::{toggles, Format, RunArgs};
use crate::alert::format::{self, AlertInfo, LineFormat};
use crate::control::{server, Controller, Live, RuleConfig};
use crate::fields::{EventView, Scratch};

/// How often evaluate emits its stats frame.
pub const STATS_INTERVAL: Duration = Duration::from_secs(1);

/// Bytes of text or JSON lines buffered before a write: like the frame
/// writer's batch, it turns a burst of alerts into few `write(2)` calls.
const LINE_BUFFER_BYTES: usize = 64 << 10;

/// Events between two looks at the clock for the stats interval: reading
/// the clock per event would cost more than evaluating many of them.
const CLOCK_CHECK_EVENTS: u64 = 4096;

/// How a run ended, for the exit code.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A setup or input problem: message, exit 1.
    #[error("{0}")]
    Fatal(String),
    /// The reader of our output went away: exit 0.
    #[error("output closed")]
    OutputClosed,
}

fn out_err(e: io::Error) -> RunError {
    if e.kind() == io::ErrorKind::BrokenPipe {
        RunError::OutputClosed
    } else {
        RunError::Fatal(format!("writing output: {e}"))
    }
}

/// Alert destination.
enum Sink<W: Write> {
    Lines(BufWriter<W>),
    Frames(FrameWriter<W>),
}

impl<W: Write> Sink<W> {
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Lines(w) => w.flush(),
            Sink::Frames(w) => w.flush(),
        }
    }
}

impl Sink<Output> {
    /// False while a reconnecting output waits for its reader to return.
    fn is_connected(&self) -> bool {
        match self {
            Sink::Lines(w) => w.get_ref().is_connected(),
            Sink::Frames(w) => w.get_ref().is_connected(),
        }
    }
}

struct Counters {
    events: u64,
    alerts: u64,
    other_frames: u64,
    /// The threads' states enrich sent (see `schema::state`), with its
    /// own counters.
    states: StateTable,
}

/// Runs the stream mode. `m` holds the parsed arguments, for toggle order.
pub fn run(args: &RunArgs, m: &clap::ArgMatches) -> Result<(), RunError> {
    let status = StageStatus::new(Stage::Evaluate, "evaluate", env!("CARGO_PKG_VERSION"));
    let config = RuleConfig {
        paths: args.rules.paths.clone(),
        toggles: toggles(m),
        min_priority: args.rules.min_priority,
        matching: args.rule_matching.into(),
    };
    let (ctl, mut live) = Controller::start(config, status.clone()).map_err(|e| {
        eprint!("{}", e.report);
        RunError::Fatal(e.summary)
    })?;
    tracing::info!("evaluating with {} rules", live.set.rules.len());
    // Serves --control and SIGHUP; lives as long as the stream.
    let _control = schema::control::spawn(
        args.control.as_deref(),
        server::bootstrap(ctl.clone()),
        vec![server::sighup_task(ctl.clone())],
    )
    .map_err(|e| RunError::Fatal(e.to_string()))?;

    let input =
        open_input(&args.input).map_err(|e| RunError::Fatal(format!("opening input: {e}")))?;
    status.set_input_connected(true);
    let mut reader = FrameReader::new(input);
    let header = match reader.read_header() {
        Ok(None) => return Ok(()),
        Ok(Some(h)) => h,
        Err(e) => return Err(RunError::Fatal(e.to_string())),
    };
    let format = args.format.unwrap_or_else(|| {
        if args.output == schema::Endpoint::Stdio && io::stdout().is_terminal() {
            Format::Text
        } else {
            Format::Frames
        }
    });
    // Frames to a `unix:` reader survive its restart (schema::reconnect);
    // text and JSON lines, and other endpoints, end evaluate on a broken pipe.
    let output = match format {
        Format::Frames => reconnect::open_output(&args.output, Stage::Evaluate, Redial::Any),
        _ => open_output(&args.output).map(Output::Plain),
    }
    .map_err(|e| RunError::Fatal(format!("opening output: {e}")))?;
    let mut sink = match format {
        Format::Frames => {
            let mut w = FrameWriter::new(output);
            w.write_header(Stage::Evaluate).map_err(out_err)?;
            Sink::Frames(w)
        }
        _ => Sink::Lines(BufWriter::with_capacity(LINE_BUFFER_BYTES, output)),
    };
    status.set_output_connected(true);
    let hostname = if header.hostname.is_empty() {
        schema::hostname()
    } else {
        header.hostname.clone()
    };
    let mut counters = Counters {
        events: 0,
        alerts: 0,
        other_frames: 0,
        states: StateTable::new(),
    };
    let mut matched = Vec::new();
    let mut last_stats = Instant::now();
    let mut published_events = 0;
    loop {
        let frame = match reader.next() {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err(RunError::Fatal(e.to_string())),
        };
        // A reload or a change of selection takes effect here, between two
        // events: each event meets exactly one ruleset.
        if ctl.has_pending() {
            ctl.take(&mut live);
        }
        let offset = frame.offset();
        let root = frame.root().map_err(|e| RunError::Fatal(e.to_string()))?;
        match root.which() {
            Ok(frame::State(_)) | Ok(frame::StateGone(_)) => {
                counters.states.apply(root, frame.raw());
            }
            Ok(frame::Event(ev)) => {
                let ev = ev.map_err(|e| {
                    RunError::Fatal(format!("corrupt event frame at byte {offset}: {e}"))
                })?;
                counters.events += 1;
                // Computed strings (proc.cmdline…) are built once per event,
                // however many rules and outputs read them.
                let scratch = Scratch::default();
                let state = counters.states.get(ev);
                let view = EventView::with_scratch(ev, counters.events, &hostname, &scratch)
                    .with_state(state);
                live.set.matches(&view, &mut matched);
                for &i in &matched {
                    let c = &live.set.rules[i];
                    live.hits[i].fetch_add(1, Ordering::Relaxed);
                    counters.alerts += 1;
                    let rendered = c.output.render(&view);
                    let info = AlertInfo {
                        time_ns: view.ts(),
                        rule: &c.rule.name,
                        priority: c.rule.priority,
                        source: &c.rule.source,
                        tags: &c.rule.tags,
                        hostname: &hostname,
                    };
                    match &mut sink {
                        Sink::Lines(w) => {
                            let line = match format {
                                Format::Json => LineFormat::Json,
                                _ => LineFormat::Text,
                            };
                            format::write_line(w, line, &info, &rendered).map_err(out_err)?;
                        }
                        Sink::Frames(w) => {
                            let now = schema::now_ns();
                            w.build(|f| {
                                format::fill_frame(f, &info, &rendered, now);
                                Ok::<(), io::Error>(())
                            })
                            .map_err(out_err)?;
                        }
                    }
                }
            }
            Ok(frame::Stats(_)) | Ok(frame::Alert(_)) => {
                if let Sink::Frames(w) = &mut sink {
                    w.write_raw(frame.raw()).map_err(out_err)?;
                }
            }
            // A second header (concatenated recordings) or a source kestrel
            // does not evaluate yet.
            Ok(_) | Err(_) => counters.other_frames += 1,
        }
        let check_clock =
            counters.events.is_multiple_of(CLOCK_CHECK_EVENTS) || !reader.has_buffered();
        if check_clock && last_stats.elapsed() >= STATS_INTERVAL {
            last_stats = Instant::now();
            write_stats(&mut sink, &live, &counters, &hostname, &status)?;
        }
        if !reader.has_buffered() {
            sink.flush().map_err(out_err)?;
            // About to wait for input: let the control plane see counters
            // as they are now, not as of the last stats frame, which may
            // be long ago if the stream goes quiet.
            if counters.events != published_events {
                published_events = counters.events;
                status.publish_counters(&stats_counters(&live, &counters));
            }
        }
    }
    status.set_input_connected(false);
    write_stats(&mut sink, &live, &counters, &hostname, &status)?;
    sink.flush().map_err(out_err)?;
    Ok(())
}

/// Publishes the counters to the control plane and, in frames mode,
/// writes them as a stats frame. Per-rule alert counts are cumulative
/// since start, across reloads.
fn write_stats(
    sink: &mut Sink<Output>,
    live: &Live,
    c: &Counters,
    hostname: &str,
    status: &StageStatus,
) -> Result<(), RunError> {
    let counters = stats_counters(live, c);
    status.publish_counters(&counters);
    status.set_output_connected(sink.is_connected());
    let Sink::Frames(w) = sink else { return Ok(()) };
    w.build(|f| {
        let mut s = f.init_stats();
        s.set_stage(Stage::Evaluate);
        s.set_time_ns(schema::now_ns());
        s.set_hostname(hostname);
        let mut list = s.init_counters(counters.len() as u32);
        for (i, (n, v)) in counters.iter().enumerate() {
            let mut e = list.reborrow().get(i as u32);
            e.set_name(n.as_str());
            e.set_value(*v);
        }
        Ok::<(), io::Error>(())
    })
    .map_err(out_err)
}

/// evaluate's named counters, as its stats frame and `ctl stats` give them.
fn stats_counters(live: &Live, c: &Counters) -> Vec<(String, u64)> {
    let mut counters: Vec<(String, u64)> = vec![
        ("events_evaluated".into(), c.events),
        ("alerts".into(), c.alerts),
        ("rules".into(), live.set.rules.len() as u64),
        ("frames_skipped".into(), c.other_frames),
        ("ruleset_generation".into(), live.generation),
        ("states".into(), c.states.counters.states),
        ("states_held".into(), c.states.len() as u64),
        ("states_evicted".into(), c.states.counters.evicted),
        ("states_corrupt".into(), c.states.counters.corrupt),
        // Events that named a thread state this stage never got (lost in a
        // restart between enrich and here): their proc.*, user.* and
        // container.* fields read as <NA>.
        ("events_state_missing".into(), c.states.counters.missing),
        // Frames (alerts and forwarded stats) dropped while the reader of a
        // `unix:` output was restarting.
        (
            "drops.downstream_disconnected".into(),
            reconnect::undelivered_frames(),
        ),
    ];
    counters.extend(
        live.set
            .rules
            .iter()
            .zip(&live.hits)
            .map(|(r, h)| (format!("alerts.{}", r.rule.name), h.load(Ordering::Relaxed))),
    );
    counters
}
