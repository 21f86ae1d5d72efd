//! The enrich stage's loop, per the stage conventions: read the header,
//! write ours, then for each frame enrich events, forward upstream stats and
//! other frames unchanged (but thread states: ours replace them), flush
//! whenever the input has nothing buffered, write our own stats about once
//! a second and at the end, release held events when their wait runs out.
//!
//! Errors are typed so the binary can tell a broken downstream pipe (a clean
//! stop) from a bad input stream (one line, exit 1).

use std::io::{self, Write};
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use schema::{frame, FrameError, FrameReader, FrameWriter, Stage};

use crate::engine::{Enricher, FetchRequest, Options};
use crate::input::{self, Msg};
use crate::limits::STATS_INTERVAL;

/// Events handled between checks of the clock under load.
const CLOCK_CHECK_EVERY: u64 = 1024;

/// Why the loop stopped early.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The input stream is not a valid kestrel stream, or broke.
    #[error("{0}")]
    Input(#[from] FrameError),
    /// Writing failed (a broken pipe is the usual case).
    #[error("writing output")]
    Output(#[source] io::Error),
}

impl RunError {
    /// True when the downstream reader went away.
    pub fn is_broken_pipe(&self) -> bool {
        // Frames built in place go through Cap'n Proto's writer, which turns
        // EPIPE into its own "Disconnected" error, carried as text.
        matches!(self, RunError::Output(e)
            if e.kind() == io::ErrorKind::BrokenPipe
                || e.raw_os_error() == Some(libc::EPIPE)
                || e.to_string().contains("os error 32"))
    }
}

/// Starts the runtime clients, given the sender their updates go to; returns
/// where the engine sends fetch requests (None: no client).
pub type StartClients<'a> =
    &'a mut dyn FnMut(std::sync::mpsc::SyncSender<Msg>) -> Option<Sender<FetchRequest>>;

/// Runs enrich from `input` to `output` until the input ends.
pub fn run<R, W>(
    input: R,
    output: W,
    opts: &Options,
    start_clients: StartClients<'_>,
) -> Result<Enricher, RunError>
where
    R: io::Read + Send + 'static,
    W: Write,
{
    let (chan, handle, tx) = input::spawn(input).map_err(RunError::Output)?;
    let fetch = start_clients(tx);
    let mut engine = Enricher::new(opts, fetch);
    let mut reader = FrameReader::new(chan);
    let mut w = FrameWriter::new(output);
    let out = RunError::Output;

    if reader.read_header()?.is_none() {
        return Ok(engine);
    }
    w.write_header(Stage::Enrich).map_err(out)?;
    let mut next_stats = Instant::now() + STATS_INTERVAL;
    let mut since_check = 0u64;

    let result = loop {
        if !reader.has_buffered() && !handle.has_data() {
            w.flush().map_err(out)?;
            // Idle: wake for held events, stats and runtime updates.
            loop {
                let now = Instant::now();
                for u in handle.take_updates() {
                    engine.on_update(u, &mut w).map_err(out)?;
                }
                engine.tick(now, &mut w).map_err(out)?;
                if now >= next_stats {
                    engine.write_stats(&mut w).map_err(out)?;
                    next_stats = now + STATS_INTERVAL;
                }
                w.flush().map_err(out)?;
                let until = engine
                    .next_deadline()
                    .map_or(next_stats, |d| d.min(next_stats));
                let timeout = until
                    .saturating_duration_since(now)
                    .max(Duration::from_millis(1));
                if handle.wait(timeout) && handle.has_data() {
                    break;
                }
            }
        }
        let frame = match reader.next() {
            Ok(Some(f)) => f,
            Ok(None) => break Ok(()),
            Err(e) => break Err(RunError::Input(e)),
        };
        let root = match frame.root() {
            Ok(r) => r,
            Err(e) => break Err(RunError::Input(e)),
        };
        match root.which() {
            Ok(frame::Event(Ok(ev))) => engine.on_event(ev, frame.raw(), &mut w).map_err(out)?,
            Ok(frame::Stats(_)) => {
                engine.stats.stats_forwarded += 1;
                w.write_raw(frame.raw()).map_err(out)?;
            }
            // A second header (concatenated recordings) is not forwarded:
            // the output stream has one, ours. Nor are upstream thread
            // states (an enriched stream fed back in): our events name
            // our own states, and a reader would take theirs for ours.
            Ok(frame::Header(_) | frame::State(_) | frame::StateGone(_)) => {}
            Ok(frame::Event(Err(e))) => {
                break Err(RunError::Input(FrameError::corrupt(frame.offset(), e)))
            }
            Ok(_) | Err(_) => {
                engine.stats.other_forwarded += 1;
                w.write_raw(frame.raw()).map_err(out)?;
            }
        }
        since_check += 1;
        if since_check >= CLOCK_CHECK_EVERY {
            since_check = 0;
            let now = Instant::now();
            for u in handle.take_updates() {
                engine.on_update(u, &mut w).map_err(out)?;
            }
            engine.tick(now, &mut w).map_err(out)?;
            if now >= next_stats {
                engine.write_stats(&mut w).map_err(out)?;
                next_stats = now + STATS_INTERVAL;
            }
        }
    };
    // At the end of the input, held events still get their bounded wait:
    // a short stream of a new container must not lose its metadata.
    if result.is_ok() {
        while let Some(deadline) = engine.next_deadline() {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            if handle.wait_update(deadline - now) {
                for u in handle.take_updates() {
                    engine.on_update(u, &mut w).map_err(out)?;
                }
            }
        }
    }
    // What was read is written, even when the input broke.
    for u in handle.take_updates() {
        engine.on_update(u, &mut w).map_err(out)?;
    }
    engine.release_all(&mut w).map_err(out)?;
    engine.write_stats(&mut w).map_err(out)?;
    w.flush().map_err(out)?;
    result.map(|()| engine)
}
