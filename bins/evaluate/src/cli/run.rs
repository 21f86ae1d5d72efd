//! The default mode: each enriched event meets the ruleset, and each rule
//! it matches becomes an `alert` frame (rendered as a text or JSON line
//! when `--format` asks for lines).
//!
//! The stream conventions (header, upstream stats, the per-second stats
//! frame, flushing, broken pipes) are the stage driver's (`stage`); this
//! is only what evaluate does with a frame. It is not a place for rule
//! logic ([`crate::ruleset`]) or rendering ([`crate::alert::format`]).

use std::io::{self, IsTerminal};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use schema::kestrel_capnp::frame;
use schema::state::StateTable;
use schema::{HeaderInfo, InFrame, Stage};
use stage::control::StageStatus;
use stage::reconnect::{self, Output, Redial};
use stage::transport::{open_input, open_output};
use stage::{Counters, Driver, Filter, Frames, Out, Sink, StageError, Which};

use super::{toggles, Format, RunArgs};
use crate::alert::format::{self, AlertInfo};
use crate::control::{server, Controller, Live, RuleConfig};
use crate::fields::{EventView, Scratch};

/// evaluate as a stage: the live ruleset and what it has counted.
pub struct Evaluator {
    ctl: Arc<Controller>,
    live: Live,
    hostname: String,
    events: u64,
    alerts: u64,
    other_frames: u64,
    /// The threads' states enrich sent (see `schema::state`).
    states: StateTable,
    matched: Vec<usize>,
}

impl Filter for Evaluator {
    const STAGE: Stage = Stage::Evaluate;

    fn on_header<W: Sink>(&mut self, h: &HeaderInfo, _out: &mut Out<W>) -> Result<(), StageError> {
        // The node name the operator gave wins; else the name the stream's
        // producer wrote (capture's host, when evaluate runs elsewhere).
        if schema::hostname_override().is_none() && !h.hostname.is_empty() {
            self.hostname = h.hostname.clone();
        }
        Ok(())
    }

    fn on_frame<W: Sink>(
        &mut self,
        f: &InFrame<'_>,
        root: frame::Reader<'_>,
        which: Which<'_>,
        out: &mut Out<W>,
    ) -> Result<(), StageError> {
        // A reload or a change of selection takes effect here, between two
        // events: each event meets exactly one ruleset.
        if self.ctl.has_pending() {
            self.ctl.take(&mut self.live);
        }
        match which {
            Ok(frame::State(_)) | Ok(frame::StateGone(_)) => {
                self.states.apply(root, f.raw());
            }
            Ok(frame::Event(ev)) => {
                let ev = ev.map_err(|e| schema::FrameError::corrupt(f.offset(), e))?;
                self.events += 1;
                // Computed strings (proc.cmdline…) are built once per event,
                // however many rules and outputs read them.
                let scratch = Scratch::default();
                let state = self.states.get(ev);
                let view = EventView::with_scratch(ev, self.events, &self.hostname, &scratch)
                    .with_state(state);
                self.live.set.matches(&view, &mut self.matched);
                for &i in &self.matched {
                    let c = &self.live.set.rules[i];
                    self.live.hits[i].fetch_add(1, Ordering::Relaxed);
                    self.alerts += 1;
                    let rendered = c.output.render(&view);
                    let info = AlertInfo {
                        time_ns: view.ts(),
                        rule: &c.rule.name,
                        priority: c.rule.priority,
                        source: &c.rule.source,
                        tags: &c.rule.tags,
                        hostname: &self.hostname,
                    };
                    let now = schema::now_ns();
                    out.frame(|fb| format::fill_frame(fb, &info, &rendered, now))?;
                }
            }
            // Alerts of another evaluate upstream pass through.
            Ok(frame::Alert(_)) => out.forward(f.raw(), root)?,
            // A source kestrel does not evaluate yet.
            Ok(_) | Err(_) => self.other_frames += 1,
        }
        Ok(())
    }

    fn counters(&self, c: &mut Counters) {
        let s = &self.states.counters;
        c.events("events_evaluated", self.events)
            .count("alerts", self.alerts)
            .gauge("rules", self.live.set.rules.len() as u64)
            .count("frames_skipped", self.other_frames)
            .gauge("ruleset_generation", self.live.generation)
            .count("states", s.states)
            .gauge("states_held", self.states.len() as u64)
            .count("states_evicted", s.evicted)
            .count("states_corrupt", s.corrupt)
            // Events that named a thread state this stage never got (lost
            // in a restart between enrich and here): their proc.*, user.*
            // and container.* fields read as <NA>.
            .count("events_state_missing", s.missing);
        // Per-rule counts are cumulative since start, across reloads.
        for (r, h) in self.live.set.rules.iter().zip(&self.live.hits) {
            c.count(format!("alerts.{}", r.rule.name), h.load(Ordering::Relaxed));
        }
    }
}

/// Runs the stream mode. `m` holds the parsed arguments, for toggle order.
pub fn run(args: &RunArgs, m: &clap::ArgMatches) -> Result<(), StageError> {
    args.common.apply();
    let status = StageStatus::new(Stage::Evaluate, "evaluate", env!("CARGO_PKG_VERSION"));
    let config = RuleConfig {
        paths: args.rules.paths.clone(),
        toggles: toggles(m),
        min_priority: args.rules.min_priority,
        matching: args.rule_matching.into(),
    };
    let (ctl, live) = Controller::start(config, status.clone()).map_err(|e| {
        eprint!("{}", e.report);
        StageError::Stage(e.summary)
    })?;
    tracing::info!("evaluating with {} rules", live.set.rules.len());
    // Serves --control and SIGHUP; lives as long as the stream.
    let _control = stage::control::spawn(
        args.control.as_deref(),
        server::bootstrap(ctl.clone()),
        vec![server::sighup_task(ctl.clone())],
    )
    .map_err(|e| StageError::stage(e.to_string()))?;

    let input =
        open_input(&args.input).map_err(|e| StageError::stage(format!("opening input: {e}")))?;
    let format = args.format.unwrap_or_else(|| {
        if args.output == stage::Endpoint::Stdio && io::stdout().is_terminal() {
            Format::Text
        } else {
            Format::Frames
        }
    });
    // Frames to a `unix:` reader survive its restart (stage::reconnect);
    // text and JSON lines, and other endpoints, end evaluate on a broken pipe.
    let output = match format {
        Format::Frames => reconnect::open_output(&args.output, Stage::Evaluate, Redial::Any),
        _ => open_output(&args.output).map(Output::Plain),
    }
    .map_err(|e| StageError::stage(format!("opening output: {e}")))?;
    let mut out = match format {
        Format::Frames => Out::frames(output),
        Format::Json => Out::lines(output, Box::new(format::json_line)),
        Format::Text => Out::lines(output, Box::new(format::text_line)),
    };
    let evaluator = Evaluator {
        ctl,
        live,
        hostname: schema::hostname(),
        events: 0,
        alerts: 0,
        other_frames: 0,
        states: StateTable::new(),
        matched: Vec::new(),
    };
    let mut src = Frames::new(input, evaluator);
    Driver::new(Stage::Evaluate)
        .status(Some(status))
        .run(&mut src, &mut out)
}
