//! Blocking frame writer: standard Cap'n Proto stream framing, unpacked,
//! batched through a buffer of [`WRITE_BATCH_BYTES`] so that many frames leave
//! in one `write(2)`.
//!
//! Why unpacked: on a local pipe the packing pass costs more CPU than the bytes
//! it saves (BENCHMARKS.md, pipe hop), and unpacked frames can be read in place.
//!
//! Batching is the caller's to bound: a stage calls [`FrameWriter::flush`] when
//! its input has nothing buffered (see [`crate::FrameReader::has_buffered`]),
//! so a quiet stream is not held back.

use std::io::{self, BufWriter, Write};

use capnp::message::{Builder, HeapAllocator};

use crate::arena::ReusedArena;
use crate::header;
use crate::kestrel_capnp::{frame, Stage};
use crate::limits::{MAX_FRAME_BYTES, WRITE_BATCH_BYTES};

/// Size of the reused first segment for [`FrameWriter::build`], in words
/// (64 KiB). A typical enriched event needs about 1 KiB and a large snapshot
/// event tens of KiB; larger frames spill to the heap. Only the words a frame
/// used are re-zeroed, so the size costs memory, not time.
const SCRATCH_WORDS: usize = 8 << 10;

/// Writes frames to a byte stream.
pub struct FrameWriter<W: Write> {
    inner: BufWriter<W>,
    batched: bool,
    arena: ReusedArena,
    frames: u64,
    bytes: u64,
}

impl<W: Write> FrameWriter<W> {
    /// A writer that batches frames until [`Self::flush`] or a full buffer.
    pub fn new(w: W) -> Self {
        Self::with_batching(w, true)
    }

    /// A writer that flushes after every frame (used by the benchmark's
    /// unbatched mode, and by tools where each frame must leave at once).
    pub fn unbatched(w: W) -> Self {
        Self::with_batching(w, false)
    }

    fn with_batching(w: W, batched: bool) -> Self {
        FrameWriter {
            inner: BufWriter::with_capacity(WRITE_BATCH_BYTES, w),
            batched,
            arena: ReusedArena::new(SCRATCH_WORDS),
            frames: 0,
            bytes: 0,
        }
    }

    /// Writes the stream's header frame for `stage`.
    pub fn write_header(&mut self, stage: Stage) -> io::Result<()> {
        let mut msg = Builder::new(HeapAllocator::new());
        header::fill(msg.init_root::<frame::Builder>().init_header(), stage);
        self.write(&msg)
    }

    /// Writes one message whose root is a `Frame`. A frame over
    /// [`MAX_FRAME_BYTES`] is refused with [`io::ErrorKind::InvalidInput`]
    /// and nothing is written: every reader would refuse it, so the producer
    /// is the place to report it.
    pub fn write<A: capnp::message::Allocator>(&mut self, msg: &Builder<A>) -> io::Result<()> {
        let size = check_size(msg)?;
        capnp::serialize::write_message(&mut self.inner, msg).map_err(to_io)?;
        self.after_frame(size)
    }

    /// Builds a frame in a reused arena and writes it. `fill` receives the
    /// frame's root. Frames over [`MAX_FRAME_BYTES`] are refused as by
    /// [`Self::write`].
    pub fn build<E, F>(&mut self, fill: F) -> Result<(), E>
    where
        F: FnOnce(frame::Builder<'_>) -> Result<(), E>,
        E: From<io::Error>,
    {
        let size;
        {
            let mut msg = Builder::new(&mut self.arena);
            fill(msg.init_root::<frame::Builder>())?;
            size = check_size(&msg)?;
            capnp::serialize::write_message(&mut self.inner, &msg).map_err(to_io)?;
        }
        self.after_frame(size)?;
        Ok(())
    }

    /// Writes a frame exactly as read from another stream
    /// ([`crate::InFrame::raw`]).
    pub fn write_raw(&mut self, frame: &[u8]) -> io::Result<()> {
        self.inner.write_all(frame)?;
        self.after_frame(frame.len())
    }

    fn after_frame(&mut self, size: usize) -> io::Result<()> {
        self.frames += 1;
        self.bytes += size as u64;
        if !self.batched {
            self.inner.flush()?;
        }
        Ok(())
    }

    /// Sends everything buffered.
    pub fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }

    /// Frames written so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Bytes written so far (framing included).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Bytes waiting in the batch buffer.
    pub fn pending(&self) -> usize {
        self.inner.buffer().len()
    }

    /// The underlying writer.
    pub fn get_ref(&self) -> &W {
        self.inner.get_ref()
    }

    /// The underlying writer, mutably: e.g. for a stage to let a
    /// the stage crate's reconnecting output look for a new reader between batches.
    /// Bytes still in the batch buffer have not reached it.
    pub fn get_mut(&mut self) -> &mut W {
        self.inner.get_mut()
    }
}

/// The serialized size of `msg` in bytes, or an error if no reader would
/// accept a frame that large.
pub(crate) fn check_size<A: capnp::message::Allocator>(msg: &Builder<A>) -> io::Result<usize> {
    let size = capnp::serialize::compute_serialized_size_in_words(msg) * 8;
    if size > MAX_FRAME_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("frame of {size} bytes is over the limit of {MAX_FRAME_BYTES} bytes"),
        ));
    }
    Ok(size)
}

/// Cap'n Proto's serializer reports a writer's `EPIPE` (and the other
/// ways a peer goes away) as its own `Disconnected`; it goes back to
/// [`io::ErrorKind::BrokenPipe`] here, so callers tell a reader that left
/// from a failure by the kind alone.
pub(crate) fn to_io(e: capnp::Error) -> io::Error {
    if e.kind == capnp::ErrorKind::Disconnected {
        io::Error::new(io::ErrorKind::BrokenPipe, e.to_string())
    } else {
        io::Error::other(e.to_string())
    }
}
