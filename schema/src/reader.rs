//! Blocking frame reader: standard Cap'n Proto stream framing, checked against
//! the limits of [`crate::limits`] before anything is allocated, read into one
//! reused, word-aligned buffer so that the message is decoded in place (strings
//! and data are borrowed from that buffer, never copied).
//!
//! It does not interpret frames beyond the header check; stages do.

use std::io::{self, BufRead, BufReader, Read};

use capnp::message::Reader;
use capnp::serialize::NoAllocBufferSegments;

use crate::error::FrameError;
use crate::header::{self, HeaderInfo};
use crate::kestrel_capnp::frame;
use crate::limits::{self, MAX_FRAME_BYTES, MAX_SEGMENTS, READ_BUFFER_BYTES};

/// One frame read from a stream, borrowed from the reader's buffer until the
/// next call to [`FrameReader::next`].
pub struct InFrame<'a> {
    msg: Reader<NoAllocBufferSegments<&'a [u8]>>,
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
    pub fn message(&self) -> &Reader<NoAllocBufferSegments<&'a [u8]>> {
        &self.msg
    }
}

/// Reads frames from a byte stream.
pub struct FrameReader<R> {
    inner: BufReader<R>,
    buf: Vec<capnp::Word>,
    offset: u64,
    frames: u64,
}

impl<R: Read> FrameReader<R> {
    pub fn new(r: R) -> Self {
        FrameReader {
            inner: BufReader::with_capacity(READ_BUFFER_BYTES, r),
            buf: Vec::new(),
            offset: 0,
            frames: 0,
        }
    }

    /// Reads and checks the stream's first frame, which must be a header.
    /// `Ok(None)` means the input was empty: a clean stop.
    pub fn read_header(&mut self) -> Result<Option<HeaderInfo>, FrameError> {
        let frame = match self.next() {
            Ok(Some(f)) => f,
            Ok(None) => return Ok(None),
            Err(FrameError::Io { offset, source }) => return Err(FrameError::Io { offset, source }),
            Err(e) => {
                return Err(FrameError::NoHeader {
                    reason: e.to_string(),
                })
            }
        };
        let root = frame.root().map_err(|e| FrameError::NoHeader {
            reason: e.to_string(),
        })?;
        match root.which() {
            Ok(frame::Header(h)) => {
                let h = h.map_err(|e| FrameError::NoHeader {
                    reason: e.to_string(),
                })?;
                header::check(h).map(Some)
            }
            Ok(_) => Err(FrameError::NoHeader {
                reason: "it is some other kind of frame".into(),
            }),
            Err(e) => Err(FrameError::NoHeader {
                reason: format!("unknown frame kind {}", e.0),
            }),
        }
    }

    /// Byte offset of the next frame.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Frames read so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// True when read-ahead data is waiting, so the next frame can be read
    /// without a system call. Stages flush their writer when this is false,
    /// which batches under load and keeps latency low when idle.
    pub fn has_buffered(&self) -> bool {
        !self.inner.buffer().is_empty()
    }

    /// Reads the next frame. `Ok(None)` is a clean end of stream (EOF exactly
    /// between frames).
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<InFrame<'_>>, FrameError> {
        let start = self.offset;
        let mut first = [0u8; 8];
        let got = read_full(&mut self.inner, &mut first[..4]).map_err(|source| FrameError::Io {
            offset: start,
            source,
        })?;
        if got == 0 {
            return Ok(None);
        }
        if got < 4 {
            return Err(FrameError::Truncated {
                offset: start,
                expected: 4,
                got: got as u64,
            });
        }
        let seg_count = u32::from_le_bytes([first[0], first[1], first[2], first[3]]) as u64 + 1;
        if seg_count > MAX_SEGMENTS as u64 {
            return Err(FrameError::TooManySegments {
                offset: start,
                count: seg_count,
                limit: MAX_SEGMENTS,
            });
        }
        // Segment table: count word, one u32 per segment, padded to 8 bytes.
        let table_words = (seg_count as usize / 2) + 1;
        let table_bytes = table_words * 8;
        self.buf.clear();
        self.buf.resize(table_words, capnp::word(0, 0, 0, 0, 0, 0, 0, 0));
        {
            let bytes = capnp::Word::words_to_bytes_mut(&mut self.buf);
            bytes[..4].copy_from_slice(&first[..4]);
            let need = table_bytes - 4;
            let got = read_full(&mut self.inner, &mut bytes[4..]).map_err(|source| FrameError::Io {
                offset: start,
                source,
            })?;
            if got < need {
                return Err(FrameError::Truncated {
                    offset: start,
                    expected: (table_bytes) as u64,
                    got: (4 + got) as u64,
                });
            }
        }
        let body_words: u64 = {
            let bytes = capnp::Word::words_to_bytes(&self.buf);
            (0..seg_count as usize)
                .map(|i| {
                    let o = 4 + 4 * i;
                    u32::from_le_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]) as u64
                })
                .sum()
        };
        let total = table_bytes as u64 + body_words * 8;
        if total > MAX_FRAME_BYTES as u64 {
            return Err(FrameError::TooLarge {
                offset: start,
                size: total,
                limit: MAX_FRAME_BYTES,
            });
        }
        let total_words = total as usize / 8;
        self.buf
            .resize(total_words, capnp::word(0, 0, 0, 0, 0, 0, 0, 0));
        let bytes = capnp::Word::words_to_bytes_mut(&mut self.buf);
        let got = read_full(&mut self.inner, &mut bytes[table_bytes..]).map_err(|source| FrameError::Io {
            offset: start,
            source,
        })?;
        if got < (total as usize - table_bytes) {
            return Err(FrameError::Truncated {
                offset: start,
                expected: total,
                got: (table_bytes + got) as u64,
            });
        }
        self.offset += total;
        self.frames += 1;
        let bytes: &[u8] = capnp::Word::words_to_bytes(&self.buf);
        let mut slice = bytes;
        let msg = capnp::serialize::read_message_from_flat_slice_no_alloc(
            &mut slice,
            limits::reader_options(),
        )
        .map_err(|e| FrameError::corrupt(start, e))?;
        Ok(Some(InFrame {
            msg,
            bytes,
            offset: start,
        }))
    }
}

/// Reads until `buf` is full or EOF; returns how many bytes were read.
fn read_full<R: BufRead>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
