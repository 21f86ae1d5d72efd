//! enrich as a stage: each event gets its thread's state, the stage's
//! timers release events held for container metadata, and the runtime
//! clients' answers are applied between frames.
//!
//! The stream conventions (header, upstream stats, the per-second stats
//! frame, flushing, broken pipes) are the stage driver's (`stage`); this is
//! only what enrich does with a frame.

use std::io;
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::Instant;

use schema::kestrel_capnp::{frame, stats};
use schema::{FrameError, InFrame, Stage};
use stage::control::StageStatus;
use stage::{Counters, Driver, Filter, Frames, Out, Sink, StageError, Which};

use crate::engine::{Enricher, FetchRequest, Options};
use crate::input::{self, ChannelRead, InputHandle, Msg};

/// Starts the runtime clients, given the sender their updates go to; returns
/// where the engine sends fetch requests (None: no client).
pub type StartClients<'a> =
    &'a mut dyn FnMut(std::sync::mpsc::SyncSender<Msg>) -> Option<Sender<FetchRequest>>;

/// The enricher and the input it reads, which also carries the runtime
/// clients' answers.
pub struct EnrichStage {
    pub engine: Enricher,
    handle: InputHandle,
}

/// enrich writes frames only; a frame-less output is a setup mistake.
fn writer<W: Sink>(out: &mut Out<W>) -> Result<&mut schema::FrameWriter<W>, StageError> {
    out.writer()
        .ok_or_else(|| StageError::stage("enrich writes frames only"))
}

impl EnrichStage {
    fn apply_updates<W: Sink>(&mut self, out: &mut Out<W>) -> Result<(), StageError> {
        let w = writer(out)?;
        for u in self.handle.take_updates() {
            self.engine.on_update(u, w)?;
        }
        Ok(())
    }
}

impl Filter for EnrichStage {
    const STAGE: Stage = Stage::Enrich;

    fn on_frame<W: Sink>(
        &mut self,
        f: &InFrame<'_>,
        root: frame::Reader<'_>,
        which: Which<'_>,
        out: &mut Out<W>,
    ) -> Result<(), StageError> {
        match which {
            Ok(frame::Event(Ok(ev))) => self.engine.on_event(ev, f.raw(), writer(out)?)?,
            Ok(frame::Event(Err(e))) => return Err(FrameError::corrupt(f.offset(), e).into()),
            // Upstream thread states (an enriched stream fed back in) are
            // not forwarded: our events name our own states, and a reader
            // would take theirs for ours.
            Ok(frame::State(_) | frame::StateGone(_)) => {}
            Ok(_) | Err(_) => {
                self.engine.stats.other_forwarded += 1;
                out.forward(f.raw(), root)?;
            }
        }
        Ok(())
    }

    fn on_stats(&mut self, _s: stats::Reader<'_>, _f: &InFrame<'_>) -> Result<(), StageError> {
        self.engine.stats.stats_forwarded += 1;
        Ok(())
    }

    fn tick<W: Sink>(&mut self, now: Instant, out: &mut Out<W>) -> Result<(), StageError> {
        self.apply_updates(out)?;
        self.engine.tick(now, writer(out)?)?;
        Ok(())
    }

    fn deadline(&self) -> Option<Instant> {
        self.engine.next_deadline()
    }

    /// Held events still get their bounded wait at the end of the input: a
    /// short stream of a new container must not lose its metadata. What
    /// was read is written, even when the input broke.
    fn finish<W: Sink>(&mut self, out: &mut Out<W>) -> Result<(), StageError> {
        while let Some(deadline) = self.engine.next_deadline() {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            if self.handle.wait_update(deadline - now) {
                self.apply_updates(out)?;
            }
        }
        self.apply_updates(out)?;
        self.engine.release_all(writer(out)?)?;
        Ok(())
    }

    fn counters(&self, c: &mut Counters) {
        self.engine.counters(c);
    }
}

/// The input side: frames, and wake-ups for the runtime clients' answers.
impl stage::Input for ChannelRead {
    fn ready(&mut self) -> bool {
        self.poll_ready()
    }
    fn wait(&mut self, timeout: std::time::Duration) {
        self.wait_any(timeout);
    }
}

/// Runs enrich from `input` to `output` until the input ends; the enricher
/// afterwards, for its tables and counters.
pub fn run<R, W>(
    input: R,
    output: W,
    opts: &Options,
    start_clients: StartClients<'_>,
) -> Result<Enricher, StageError>
where
    R: io::Read + Send + 'static,
    W: Sink,
{
    run_with_status(input, output, opts, start_clients, None)
}

/// [`run`], reporting to a control socket's status.
pub fn run_with_status<R, W>(
    input: R,
    output: W,
    opts: &Options,
    start_clients: StartClients<'_>,
    status: Option<Arc<StageStatus>>,
) -> Result<Enricher, StageError>
where
    R: io::Read + Send + 'static,
    W: Sink,
{
    let (chan, handle, tx) = input::spawn(input)?;
    let fetch = start_clients(tx);
    let stage = EnrichStage {
        engine: Enricher::new(opts, fetch),
        handle,
    };
    let mut src = Frames::new(chan, stage);
    let mut out = Out::frames(output);
    Driver::new(Stage::Enrich)
        .status(status)
        .run(&mut src, &mut out)?;
    Ok(src.into_filter().engine)
}
