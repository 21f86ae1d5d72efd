//! A stage that reads frames: the stream conventions every such stage
//! keeps, so that the stage itself only says what it does with a frame.
//!
//! - The input opens with a header; an empty input is a clean stop with
//!   nothing written, anything else that is not a header (or a newer
//!   format major) is refused with its byte offset.
//! - The stage writes its own header once it has read one, never the one
//!   it read.
//! - Upstream `stats` frames are forwarded unchanged, then shown to the
//!   stage; a second header (recordings concatenated with `cat`) is
//!   checked and skipped.
//!
//! It is not a place for the loop's timing ([`crate::Driver`]) or for what
//! a stage does with events.

use std::time::{Duration, Instant};

use schema::kestrel_capnp::{frame, stats};
use schema::{header, FrameError, FrameReader, HeaderInfo, InFrame};

use crate::counters::Counters;
use crate::driver::{Pumped, Source};
use crate::error::StageError;
use crate::input::Input;
use crate::out::{Out, Sink};

/// What a frame's union holds, as `frame::Reader::which` gives it.
pub type Which<'a> = Result<frame::WhichReader<'a>, capnp::NotInSchema>;

/// What a frame-reading stage does.
pub trait Filter {
    /// Which stage this is: its header and stats frames say so.
    const STAGE: schema::Stage;

    /// The input's header was read and ours written.
    fn on_header<W: Sink>(&mut self, _h: &HeaderInfo, _out: &mut Out<W>) -> Result<(), StageError> {
        Ok(())
    }

    /// One frame that is neither a header nor stats: its root and what
    /// its union holds, read once by the driver.
    fn on_frame<W: Sink>(
        &mut self,
        f: &InFrame<'_>,
        root: frame::Reader<'_>,
        which: Which<'_>,
        out: &mut Out<W>,
    ) -> Result<(), StageError>;

    /// An upstream stats frame, already forwarded.
    fn on_stats(&mut self, _s: stats::Reader<'_>, _f: &InFrame<'_>) -> Result<(), StageError> {
        Ok(())
    }

    /// See [`Source::tick`].
    fn tick<W: Sink>(&mut self, _now: Instant, _out: &mut Out<W>) -> Result<(), StageError> {
        Ok(())
    }

    /// See [`Source::idle`].
    fn idle(&mut self) {}

    /// See [`Source::deadline`].
    fn deadline(&self) -> Option<Instant> {
        None
    }

    /// See [`Source::finish`].
    fn finish<W: Sink>(&mut self, _out: &mut Out<W>) -> Result<(), StageError> {
        Ok(())
    }

    /// See [`Source::counters`].
    fn counters(&self, c: &mut Counters);
}

/// A [`Filter`] reading frames from an [`Input`]: a [`Source`] for the
/// driver.
pub struct Frames<I: Input, F: Filter> {
    reader: FrameReader<I>,
    pub filter: F,
    started: bool,
}

impl<I: Input, F: Filter> Frames<I, F> {
    pub fn new(input: I, filter: F) -> Self {
        Frames {
            reader: FrameReader::new(input),
            filter,
            started: false,
        }
    }

    /// The stage, after the run.
    pub fn into_filter(self) -> F {
        self.filter
    }
}

impl<I: Input, F: Filter> Source for Frames<I, F> {
    fn pump<W: Sink>(&mut self, out: &mut Out<W>, max: usize) -> Result<Pumped, StageError> {
        if !self.started {
            let Some(h) = self.reader.read_header()? else {
                return Ok(Pumped::End);
            };
            self.started = true;
            out.header(F::STAGE)?;
            self.filter.on_header(&h, out)?;
        }
        let mut n = 0;
        while n < max {
            if !self.reader.has_frame() && !self.reader.get_mut().ready() {
                break;
            }
            let Some(f) = self.reader.next()? else {
                return Ok(Pumped::End);
            };
            n += 1;
            let root = f.root()?;
            match root.which() {
                Ok(frame::Header(h)) => {
                    let h = h.map_err(|e| FrameError::corrupt(f.offset(), e))?;
                    header::check(h).map_err(|e| {
                        FrameError::corrupt(f.offset(), format!("a second header: {e}"))
                    })?;
                }
                Ok(frame::Stats(s)) => {
                    let s = s.map_err(|e| FrameError::corrupt(f.offset(), e))?;
                    out.forward(f.raw(), root)?;
                    self.filter.on_stats(s, &f)?;
                }
                which => self.filter.on_frame(&f, root, which, out)?,
            }
        }
        Ok(if n == 0 {
            Pumped::Idle
        } else {
            Pumped::Worked(n)
        })
    }

    fn wait(&mut self, timeout: Duration) {
        self.reader.get_mut().wait(timeout)
    }

    fn tick<W: Sink>(&mut self, now: Instant, out: &mut Out<W>) -> Result<(), StageError> {
        self.filter.tick(now, out)
    }

    fn idle(&mut self) {
        self.filter.idle()
    }

    fn deadline(&self) -> Option<Instant> {
        self.filter.deadline()
    }

    fn finish<W: Sink>(&mut self, out: &mut Out<W>) -> Result<(), StageError> {
        self.filter.finish(out)
    }

    fn counters(&self, c: &mut Counters) {
        self.filter.counters(c)
    }

    fn started(&self) -> bool {
        self.started
    }
}
