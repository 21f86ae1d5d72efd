//! What a stage writes to: frames (the usual case), lines rendered from
//! the alert frames a stage builds (evaluate's `--format text|json`), or
//! nothing (output, whose alerts leave through its sinks).
//!
//! A stage always builds frames; whether they leave as frames or as lines
//! is decided here, once, so a stage has one way to emit an alert. In
//! lines mode only alerts are rendered: events, states and stats are for
//! the stages downstream, and a person reading lines has none.
//!
//! [`Sink`] is what the bytes go to: a reconnecting socket output
//! ([`crate::reconnect::Output`]) or anything else that is written, such
//! as a test's buffer.
//!
//! It is not a place for rendering (the stage passes its renderer) nor for
//! deciding when to flush (the driver does).

use std::io::{self, BufWriter, Write};

use capnp::message::{Builder, HeapAllocator};
use schema::kestrel_capnp::{alert, frame};
use schema::{FrameWriter, Stage};

use crate::error::StageError;
use crate::reconnect::Output;

/// Bytes of rendered lines buffered before a write: like the frame
/// writer's batch, it turns a burst of alerts into few `write(2)` calls.
pub const LINE_BUFFER_BYTES: usize = 64 << 10;

/// Where a stage's bytes go, and whether a reader is there to take them.
pub trait Sink: Write {
    /// False while a reconnecting output waits for its next reader.
    fn is_connected(&self) -> bool {
        true
    }
    /// Readers this output has had; it moves when a new one comes.
    fn readers(&self) -> u64 {
        1
    }
    /// Frames dropped because no reader was there.
    fn undelivered_frames(&self) -> u64 {
        0
    }
    /// Frames written to readers that died before reading them.
    fn lost_unread_frames(&self) -> u64 {
        0
    }
    /// Looks for the next reader, if there is none.
    fn redial(&mut self) {}
}

impl Sink for Output {
    fn is_connected(&self) -> bool {
        Output::is_connected(self)
    }
    fn readers(&self) -> u64 {
        Output::readers(self)
    }
    fn undelivered_frames(&self) -> u64 {
        Output::undelivered_frames(self)
    }
    fn lost_unread_frames(&self) -> u64 {
        Output::lost_unread_frames(self)
    }
    fn redial(&mut self) {
        Output::redial(self);
    }
}

impl Sink for Vec<u8> {}
impl Sink for io::Sink {}
impl Sink for io::Cursor<Vec<u8>> {}
impl<S: Sink + ?Sized> Sink for &mut S {
    fn is_connected(&self) -> bool {
        (**self).is_connected()
    }
    fn readers(&self) -> u64 {
        (**self).readers()
    }
    fn undelivered_frames(&self) -> u64 {
        (**self).undelivered_frames()
    }
    fn lost_unread_frames(&self) -> u64 {
        (**self).lost_unread_frames()
    }
    fn redial(&mut self) {
        (**self).redial()
    }
}

/// Renders one alert frame as a line (no newline); an error names what
/// was wrong with the frame.
pub type Renderer = Box<dyn FnMut(alert::Reader<'_>, &mut String) -> Result<(), String>>;

/// A stage's output.
pub struct Out<W: Sink> {
    mode: Mode<W>,
}

enum Mode<W: Sink> {
    Frames(FrameWriter<W>),
    Lines {
        w: BufWriter<W>,
        render: Renderer,
        line: String,
    },
    Discard,
}

impl<W: Sink> Out<W> {
    /// Frames to `w`, batched.
    pub fn frames(w: W) -> Self {
        Out {
            mode: Mode::Frames(FrameWriter::new(w)),
        }
    }

    /// Alerts rendered by `render`, a line each, to `w`.
    pub fn lines(w: W, render: Renderer) -> Self {
        Out {
            mode: Mode::Lines {
                w: BufWriter::with_capacity(LINE_BUFFER_BYTES, w),
                render,
                line: String::new(),
            },
        }
    }

    /// Nothing leaves (the stage delivers by other means).
    pub fn discard() -> Self {
        Out {
            mode: Mode::Discard,
        }
    }

    /// Whether frames leave as frames: stages that only make sense in a
    /// frame stream (enrich) refuse other outputs up front.
    pub fn is_frames(&self) -> bool {
        matches!(self.mode, Mode::Frames(_))
    }

    /// The frame writer, for stages that write frames through code of
    /// their own (enrich's zero-copy splicing). `None` outside frames mode.
    pub fn writer(&mut self) -> Option<&mut FrameWriter<W>> {
        match &mut self.mode {
            Mode::Frames(w) => Some(w),
            _ => None,
        }
    }

    /// Writes the stream's header (frames mode only).
    pub fn header(&mut self, stage: Stage) -> Result<(), StageError> {
        if let Mode::Frames(w) = &mut self.mode {
            w.write_header(stage)?;
        }
        Ok(())
    }

    /// Builds one frame with `fill` and writes it; in lines mode an alert
    /// is rendered and anything else is not written.
    pub fn frame<F>(&mut self, fill: F) -> Result<(), StageError>
    where
        F: FnOnce(frame::Builder<'_>),
    {
        match &mut self.mode {
            Mode::Frames(w) => w.build(|f| {
                fill(f);
                Ok::<(), io::Error>(())
            })?,
            Mode::Lines { w, render, line } => {
                // A fresh message per alert: reusing one would keep every
                // earlier alert's words. Alerts are rare next to events.
                let mut scratch = Builder::new(HeapAllocator::new());
                fill(scratch.init_root::<frame::Builder>());
                let root = scratch
                    .get_root_as_reader::<frame::Reader>()
                    .map_err(|e| StageError::stage(format!("rendering a frame: {e}")))?;
                write_line(w, render, line, root)?;
            }
            Mode::Discard => {}
        }
        Ok(())
    }

    /// Writes a frame exactly as read (forwarding); lines mode renders it
    /// if it is an alert.
    pub fn forward(&mut self, raw: &[u8], root: frame::Reader<'_>) -> Result<(), StageError> {
        match &mut self.mode {
            Mode::Frames(w) => w.write_raw(raw)?,
            Mode::Lines { w, render, line } => write_line(w, render, line, root)?,
            Mode::Discard => {}
        }
        Ok(())
    }

    /// Sends what is batched.
    pub fn flush(&mut self) -> Result<(), StageError> {
        match &mut self.mode {
            Mode::Frames(w) => w.flush()?,
            Mode::Lines { w, .. } => w.flush()?,
            Mode::Discard => {}
        }
        Ok(())
    }

    fn sink(&self) -> Option<&W> {
        match &self.mode {
            Mode::Frames(w) => Some(w.get_ref()),
            Mode::Lines { w, .. } => Some(w.get_ref()),
            Mode::Discard => None,
        }
    }

    /// False while a reconnecting output has no reader.
    pub fn is_connected(&self) -> bool {
        self.sink().is_none_or(Sink::is_connected)
    }

    /// Readers the output has had.
    pub fn readers(&self) -> u64 {
        self.sink().map_or(1, Sink::readers)
    }

    /// Frames dropped because no reader was there.
    pub fn undelivered_frames(&self) -> u64 {
        self.sink().map_or(0, Sink::undelivered_frames)
    }

    /// Frames written to readers that died before reading them.
    pub fn lost_unread_frames(&self) -> u64 {
        self.sink().map_or(0, Sink::lost_unread_frames)
    }

    /// Between two batches: with no reader, the rest of the batch goes
    /// nowhere (it is counted by the output) and the next reader is looked
    /// for, so that a new reader never gets half a frame.
    pub fn between_batches(&mut self) -> Result<(), StageError> {
        if self.is_connected() {
            return Ok(());
        }
        self.flush()?;
        match &mut self.mode {
            Mode::Frames(w) => w.get_mut().redial(),
            Mode::Lines { w, .. } => w.get_mut().redial(),
            Mode::Discard => {}
        }
        Ok(())
    }

    /// Writes a stats frame (frames mode only: lines carry alerts).
    pub(crate) fn stats(
        &mut self,
        stage: Stage,
        hostname: &str,
        counters: &crate::Counters,
    ) -> Result<(), StageError> {
        if let Mode::Frames(w) = &mut self.mode {
            counters.write(w, stage, hostname)?;
        }
        Ok(())
    }
}

/// Renders `root`, if it is an alert, as one line to `w`.
fn write_line<W: Write>(
    w: &mut W,
    render: &mut Renderer,
    line: &mut String,
    root: frame::Reader<'_>,
) -> Result<(), StageError> {
    if let Ok(frame::Alert(Ok(a))) = root.which() {
        line.clear();
        render(a, line).map_err(StageError::Stage)?;
        line.push('\n');
        w.write_all(line.as_bytes())?;
    }
    Ok(())
}
