//! Tokio frame reader and writer, for stages whose I/O is asynchronous
//! (output's sinks, the control plane). Same framing, limits, errors and
//! in-place decoding as the blocking [`crate::reader`] and [`crate::writer`];
//! the hot paths of capture, enrich and evaluate use the blocking ones on
//! dedicated threads.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter};

use crate::framing::FrameSegments;
use capnp::message::{Builder, Reader};

use crate::error::FrameError;
use crate::framing::{self, Measure, ReadBuf};
use crate::header::{self, HeaderInfo};
use crate::kestrel_capnp::{frame, Stage};
use crate::limits::WRITE_BATCH_BYTES;

/// Reads frames from an async byte stream.
pub struct AsyncFrameReader<R> {
    inner: R,
    buf: ReadBuf,
    frames: u64,
}

/// One frame, borrowed from the reader until the next read.
pub struct AsyncInFrame<'a> {
    pub msg: Reader<FrameSegments<'a>>,
    /// The frame exactly as read, for forwarding unchanged.
    pub raw: &'a [u8],
    /// Byte offset of this frame in the stream.
    pub offset: u64,
}

impl AsyncInFrame<'_> {
    /// The frame's root.
    pub fn root(&self) -> Result<frame::Reader<'_>, FrameError> {
        self.msg
            .get_root::<frame::Reader>()
            .map_err(|e| FrameError::corrupt(self.offset, e))
    }
}

impl<R: AsyncRead + Unpin> AsyncFrameReader<R> {
    pub fn new(r: R) -> Self {
        AsyncFrameReader {
            inner: r,
            buf: ReadBuf::new(),
            frames: 0,
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

    /// True when the next frame is (at least partly) read ahead; see
    /// [`crate::FrameReader::has_buffered`].
    pub fn has_buffered(&self) -> bool {
        self.buf.buffered() > 0
    }

    /// Reads and checks the header; `Ok(None)` on empty input.
    pub async fn read_header(&mut self) -> Result<Option<HeaderInfo>, FrameError> {
        match self.next().await {
            Ok(Some(f)) => header::check_frame(f.root()).map(Some),
            Ok(None) => Ok(None),
            Err(e) => Err(header::not_a_header(e)),
        }
    }

    /// Reads the next frame; `Ok(None)` at a clean end of stream, EOF inside
    /// a frame is [`FrameError::Truncated`].
    pub async fn next(&mut self) -> Result<Option<AsyncInFrame<'_>>, FrameError> {
        let len = loop {
            match self.buf.measure()? {
                Measure::Complete(len) => break len,
                Measure::Need(need) => {
                    let offset = self.buf.offset();
                    let n = loop {
                        match self.inner.read(self.buf.spare(need)).await {
                            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                            other => break other,
                        }
                    }
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
        let (raw, offset) = self.buf.take(len);
        let msg = framing::decode(raw, offset)?;
        self.frames += 1;
        Ok(Some(AsyncInFrame { msg, raw, offset }))
    }
}

/// Writes frames to an async byte stream, batched until [`Self::flush`].
pub struct AsyncFrameWriter<W> {
    inner: BufWriter<W>,
    bytes: Vec<u8>,
    frames: u64,
}

impl<W: AsyncWrite + Unpin> AsyncFrameWriter<W> {
    pub fn new(w: W) -> Self {
        AsyncFrameWriter {
            inner: BufWriter::with_capacity(WRITE_BATCH_BYTES, w),
            bytes: Vec::new(),
            frames: 0,
        }
    }

    /// Writes the stream's header frame for `stage`.
    pub async fn write_header(&mut self, stage: Stage) -> std::io::Result<()> {
        let mut msg = Builder::new_default();
        header::fill(msg.init_root::<frame::Builder>().init_header(), stage);
        self.write(&msg).await
    }

    /// Writes one message whose root is a `Frame`; refuses one over
    /// [`crate::limits::MAX_FRAME_BYTES`], which no reader would accept.
    pub async fn write<A: capnp::message::Allocator>(
        &mut self,
        msg: &Builder<A>,
    ) -> std::io::Result<()> {
        crate::writer::check_size(msg)?;
        self.bytes.clear();
        capnp::serialize::write_message(&mut self.bytes, msg).map_err(crate::writer::to_io)?;
        self.inner.write_all(&self.bytes).await?;
        self.frames += 1;
        Ok(())
    }

    /// Writes a frame exactly as read from another stream.
    pub async fn write_raw(&mut self, raw: &[u8]) -> std::io::Result<()> {
        self.inner.write_all(raw).await?;
        self.frames += 1;
        Ok(())
    }

    /// Sends everything buffered.
    pub async fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush().await
    }

    /// Frames written so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }
}
