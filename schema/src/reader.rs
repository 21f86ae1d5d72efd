//! Blocking frame reader: standard Cap'n Proto stream framing, checked against
//! the limits of [`crate::limits`] before anything is allocated, read into one
//! reused, word-aligned read-ahead buffer ([`crate::framing::ReadBuf`]) where
//! each message is decoded in place: strings and data are borrowed from that
//! buffer, never copied.
//!
//! It does not interpret frames beyond the header check; stages do.

use std::io::{self, Read};

use capnp::message::Reader;

use crate::error::FrameError;
use crate::framing::{self, FrameSegments, Measure, ReadBuf};
use crate::header::{self, HeaderInfo};
use crate::kestrel_capnp::frame;

/// One frame read from a stream, borrowed from the reader's buffer until the
/// next call to [`FrameReader::next`].
pub struct InFrame<'a> {
    msg: Reader<FrameSegments<'a>>,
    bytes: &'a [u8],
    offset: u64,
}

impl<'a> InFrame<'a> {
    /// The frame's root.
    pub fn root(&self) -> Result<frame::Reader<'_>, FrameError> {
        self.msg
            .get_root::<frame::Reader>()
            .map_err(|e| FrameError::corrupt(self.offset, e))
    }

    /// Byte offset of this frame in the stream.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The frame exactly as read (segment table and segments), for stages that
    /// forward a frame unchanged.
    pub fn raw(&self) -> &'a [u8] {
        self.bytes
    }

    /// The underlying message, for callers that need typed access to other
    /// roots (tests).
    pub fn message(&self) -> &Reader<FrameSegments<'a>> {
        &self.msg
    }
}

/// Reads frames from a byte stream.
pub struct FrameReader<R> {
    inner: R,
    buf: ReadBuf,
    frames: u64,
}

impl<R: Read> FrameReader<R> {
    pub fn new(r: R) -> Self {
        FrameReader {
            inner: r,
            buf: ReadBuf::new(),
            frames: 0,
        }
    }

    /// Reads and checks the stream's first frame, which must be a header.
    /// `Ok(None)` means the input was empty: a clean stop.
    pub fn read_header(&mut self) -> Result<Option<HeaderInfo>, FrameError> {
        match self.next() {
            Ok(Some(f)) => header::check_frame(f.root()).map(Some),
            Ok(None) => Ok(None),
            Err(e) => Err(header::not_a_header(e)),
        }
    }

    /// Byte offset of the next frame.
    pub fn offset(&self) -> u64 {
        self.buf.offset()
    }

    /// Frames read so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// True when read-ahead data is waiting, so the next frame can be read
    /// without a system call. Stages flush their writer when this is false,
    /// which batches under load and keeps latency low when idle.
    pub fn has_buffered(&self) -> bool {
        self.buf.buffered() > 0
    }

    /// True when [`Self::next`] would return without reading: a whole
    /// frame is buffered, or what is buffered is already known to be bad.
    /// A stage about to wait for input flushes first, so a frame it wrote
    /// is never held back behind half a frame it reads.
    pub fn has_frame(&self) -> bool {
        !matches!(self.buf.measure(), Ok(Measure::Need(_)))
    }

    /// The underlying reader.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The underlying reader, mutably (to wait on it); bytes it yields go
    /// past this reader's buffer, so do not read from it.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// Reads the next frame. `Ok(None)` is a clean end of stream (EOF exactly
    /// between frames); EOF inside a frame is [`FrameError::Truncated`].
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<InFrame<'_>>, FrameError> {
        let len = loop {
            match self.buf.measure()? {
                Measure::Complete(len) => break len,
                Measure::Need(need) => {
                    let offset = self.buf.offset();
                    let n = read_some(&mut self.inner, self.buf.spare(need))
                        .map_err(|source| FrameError::Io { offset, source })?;
                    if n == 0 {
                        if self.buf.buffered() == 0 {
                            return Ok(None);
                        }
                        return Err(self.buf.truncated(need));
                    }
                    self.buf.filled(n);
                }
            }
        };
        let (bytes, offset) = self.buf.take(len);
        let msg = framing::decode(bytes, offset)?;
        self.frames += 1;
        Ok(Some(InFrame { msg, bytes, offset }))
    }
}

/// One `read`, retried on EINTR.
fn read_some<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}
