//! Tokio frame reader and writer, for stages whose I/O is asynchronous
//! (output's sinks, the control plane). Same framing, limits and errors as the
//! blocking [`crate::reader`] and [`crate::writer`]; the hot paths of capture,
//! enrich and evaluate use the blocking ones on dedicated threads.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};

use capnp::message::{Builder, Reader};
use capnp::serialize::NoAllocBufferSegments;

use crate::error::FrameError;
use crate::header::{self, HeaderInfo};
use crate::kestrel_capnp::{frame, Stage};
use crate::limits::{self, MAX_FRAME_BYTES, MAX_SEGMENTS, READ_BUFFER_BYTES, WRITE_BATCH_BYTES};

/// Reads frames from an async byte stream.
pub struct AsyncFrameReader<R> {
    inner: BufReader<R>,
    buf: Vec<capnp::Word>,
    offset: u64,
}

/// One frame, borrowed from the reader until the next read.
pub struct AsyncInFrame<'a> {
    pub msg: Reader<NoAllocBufferSegments<&'a [u8]>>,
    pub raw: &'a [u8],
    pub offset: u64,
}

impl AsyncInFrame<'_> {
    pub fn root(&self) -> Result<frame::Reader<'_>, FrameError> {
        self.msg
            .get_root::<frame::Reader>()
            .map_err(|e| FrameError::corrupt(self.offset, e))
    }
}

impl<R: AsyncRead + Unpin> AsyncFrameReader<R> {
    pub fn new(r: R) -> Self {
        AsyncFrameReader {
            inner: BufReader::with_capacity(READ_BUFFER_BYTES, r),
            buf: Vec::new(),
            offset: 0,
        }
    }

    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Reads and checks the header; `Ok(None)` on empty input.
    pub async fn read_header(&mut self) -> Result<Option<HeaderInfo>, FrameError> {
        let frame = match self.next().await {
            Ok(Some(f)) => f,
            Ok(None) => return Ok(None),
            Err(e @ FrameError::Io { .. }) => return Err(e),
            Err(e) => return Err(FrameError::NoHeader { reason: e.to_string() }),
        };
        let root = frame
            .root()
            .map_err(|e| FrameError::NoHeader { reason: e.to_string() })?;
        match root.which() {
            Ok(frame::Header(Ok(h))) => header::check(h).map(Some),
            Ok(frame::Header(Err(e))) => Err(FrameError::NoHeader { reason: e.to_string() }),
            _ => Err(FrameError::NoHeader {
                reason: "it is some other kind of frame".into(),
            }),
        }
    }

    /// Reads the next frame; `Ok(None)` at a clean end of stream.
    pub async fn next(&mut self) -> Result<Option<AsyncInFrame<'_>>, FrameError> {
        let start = self.offset;
        let io = |source| FrameError::Io { offset: start, source };
        let mut first = [0u8; 4];
        let got = read_full(&mut self.inner, &mut first).await.map_err(io)?;
        if got == 0 {
            return Ok(None);
        }
        if got < 4 {
            return Err(FrameError::Truncated { offset: start, expected: 4, got: got as u64 });
        }
        let seg_count = u32::from_le_bytes(first) as u64 + 1;
        if seg_count > MAX_SEGMENTS as u64 {
            return Err(FrameError::TooManySegments { offset: start, count: seg_count, limit: MAX_SEGMENTS });
        }
        let table_words = (seg_count as usize / 2) + 1;
        let table_bytes = table_words * 8;
        self.buf.clear();
        self.buf.resize(table_words, capnp::word(0, 0, 0, 0, 0, 0, 0, 0));
        let bytes = capnp::Word::words_to_bytes_mut(&mut self.buf);
        bytes[..4].copy_from_slice(&first);
        let got = read_full(&mut self.inner, &mut bytes[4..]).await.map_err(io)?;
        if got < table_bytes - 4 {
            return Err(FrameError::Truncated { offset: start, expected: table_bytes as u64, got: (4 + got) as u64 });
        }
        let body_words: u64 = (0..seg_count as usize)
            .map(|i| {
                let o = 4 + 4 * i;
                u32::from_le_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]) as u64
            })
            .sum();
        let total = table_bytes as u64 + body_words * 8;
        if total > MAX_FRAME_BYTES as u64 {
            return Err(FrameError::TooLarge { offset: start, size: total, limit: MAX_FRAME_BYTES });
        }
        self.buf.resize(total as usize / 8, capnp::word(0, 0, 0, 0, 0, 0, 0, 0));
        let bytes = capnp::Word::words_to_bytes_mut(&mut self.buf);
        let got = read_full(&mut self.inner, &mut bytes[table_bytes..]).await.map_err(io)?;
        if got < total as usize - table_bytes {
            return Err(FrameError::Truncated { offset: start, expected: total, got: (table_bytes + got) as u64 });
        }
        self.offset += total;
        let raw: &[u8] = capnp::Word::words_to_bytes(&self.buf);
        let mut slice = raw;
        let msg = capnp::serialize::read_message_from_flat_slice_no_alloc(&mut slice, limits::reader_options())
            .map_err(|e| FrameError::corrupt(start, e))?;
        Ok(Some(AsyncInFrame { msg, raw, offset: start }))
    }
}

async fn read_full<R: AsyncRead + Unpin>(r: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]).await {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Writes frames to an async byte stream, batched until [`Self::flush`].
pub struct AsyncFrameWriter<W> {
    inner: BufWriter<W>,
    bytes: Vec<u8>,
}

impl<W: AsyncWrite + Unpin> AsyncFrameWriter<W> {
    pub fn new(w: W) -> Self {
        AsyncFrameWriter { inner: BufWriter::with_capacity(WRITE_BATCH_BYTES, w), bytes: Vec::new() }
    }

    pub async fn write_header(&mut self, stage: Stage) -> std::io::Result<()> {
        let mut msg = Builder::new_default();
        header::fill(msg.init_root::<frame::Builder>().init_header(), stage);
        self.write(&msg).await
    }

    pub async fn write<A: capnp::message::Allocator>(&mut self, msg: &Builder<A>) -> std::io::Result<()> {
        self.bytes.clear();
        capnp::serialize::write_message(&mut self.bytes, msg).map_err(|e| std::io::Error::other(e.to_string()))?;
        self.inner.write_all(&self.bytes).await
    }

    pub async fn write_raw(&mut self, raw: &[u8]) -> std::io::Result<()> {
        self.inner.write_all(raw).await
    }

    pub async fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush().await
    }
}
