//! The byte layout of one frame in Cap'n Proto's standard stream framing, and
//! the read-ahead buffer both readers ([`crate::reader`], [`crate::aio`])
//! parse frames from in place.
//!
//! A frame is a segment table (a little-endian `u32` holding the segment
//! count minus one, one `u32` word count per segment, padding to 8 bytes)
//! followed by the segments. Everything here is checked against
//! [`crate::limits`] before the buffer grows, so a hostile length field cannot
//! make a reader allocate more than [`MAX_FRAME_BYTES`].
//!
//! It does no I/O: the readers own the byte source and call
//! [`ReadBuf::spare`]/[`ReadBuf::filled`] around their own `read`.

use capnp::message::{Reader, ReaderSegments};
use capnp::serialize::NoAllocBufferSegments;

use crate::error::FrameError;
use crate::limits::{self, MAX_FRAME_BYTES, MAX_SEGMENTS, READ_BUFFER_BYTES};

/// Bytes per Cap'n Proto word; frames are whole words long.
const WORD: usize = 8;

/// How much of a frame the buffered bytes already hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Measure {
    /// The whole frame is buffered; it is this many bytes long.
    Complete(usize),
    /// At least this many bytes (from the frame's start) are needed before
    /// the frame can be measured or is complete.
    Need(usize),
}

/// Measures the frame that starts at `bytes[0]` (the stream's byte `offset`),
/// refusing segment counts and sizes over the limits.
pub(crate) fn measure(bytes: &[u8], offset: u64) -> Result<Measure, FrameError> {
    if bytes.len() < 4 {
        return Ok(Measure::Need(4));
    }
    let seg_count = u64::from(le_u32(bytes, 0)) + 1;
    if seg_count > MAX_SEGMENTS as u64 {
        return Err(FrameError::TooManySegments {
            offset,
            count: seg_count,
            limit: MAX_SEGMENTS,
        });
    }
    // The count plus one size per segment, rounded up to whole words.
    let table_bytes = (seg_count as usize / 2 + 1) * WORD;
    if bytes.len() < table_bytes {
        return Ok(Measure::Need(table_bytes));
    }
    let body_words: u64 = (0..seg_count as usize)
        .map(|i| u64::from(le_u32(bytes, 4 + 4 * i)))
        .sum();
    let total = table_bytes as u64 + body_words * WORD as u64;
    if total > MAX_FRAME_BYTES as u64 {
        return Err(FrameError::TooLarge {
            offset,
            size: total,
            limit: MAX_FRAME_BYTES,
        });
    }
    let total = total as usize;
    if bytes.len() < total {
        return Ok(Measure::Need(total));
    }
    Ok(Measure::Complete(total))
}

/// The little-endian u32 at byte `at`; callers have checked that `b` holds
/// it (one bounds check, not four).
fn le_u32(b: &[u8], at: usize) -> u32 {
    let mut w = [0; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(w)
}

/// Decodes a complete, word-aligned frame in place, with the reader limits.
/// `bytes` is exactly one frame, as [`measure`] found it.
pub(crate) fn decode(bytes: &[u8], offset: u64) -> Result<Reader<FrameSegments<'_>>, FrameError> {
    if bytes.len() >= WORD && le_u32(bytes, 0) == 0 {
        // One segment: the table is one word and the segment the rest, as
        // `measure` checked. Cap'n Proto checks the segment's alignment
        // and every pointer against its bounds as it reads.
        let segments = FrameSegments::One(&bytes[WORD..]);
        return Ok(Reader::new(segments, limits::reader_options()));
    }
    let mut slice = bytes;
    NoAllocBufferSegments::from_slice(&mut slice, limits::reader_options())
        .map(|s| Reader::new(FrameSegments::Many(s), limits::reader_options()))
        .map_err(|e| FrameError::corrupt(offset, e))
}

/// The segments of one frame, borrowed from the buffer it was read into.
///
/// Cap'n Proto asks its segment source for a segment on every pointer it
/// follows. Nearly every frame is one segment, and for those this hands out
/// the one slice it holds instead of working it out of the segment table
/// each time.
pub enum FrameSegments<'a> {
    One(&'a [u8]),
    Many(NoAllocBufferSegments<&'a [u8]>),
}

impl ReaderSegments for FrameSegments<'_> {
    #[inline]
    fn get_segment(&self, idx: u32) -> Option<&[u8]> {
        match self {
            FrameSegments::One(s) => (idx == 0).then_some(*s),
            FrameSegments::Many(m) => m.get_segment(idx),
        }
    }

    #[inline]
    fn len(&self) -> usize {
        match self {
            FrameSegments::One(_) => 1,
            FrameSegments::Many(m) => m.len(),
        }
    }
}

/// A word-aligned read-ahead buffer. Frames are whole words long and the
/// first one starts at byte 0, so every frame starts on a word boundary of
/// this buffer and can be decoded where it lies, without a copy.
pub(crate) struct ReadBuf {
    words: Vec<capnp::Word>,
    /// First byte not yet handed out as a frame.
    start: usize,
    /// End of the bytes read from the source.
    end: usize,
    /// Stream offset of `start`.
    offset: u64,
    /// The length of the frame at `start`, once measured whole: a stage
    /// asks whether a frame is ready ([`crate::FrameReader::has_frame`])
    /// and then reads it, and the segment table is parsed once for both.
    complete: std::cell::Cell<Option<usize>>,
}

impl ReadBuf {
    pub(crate) fn new() -> Self {
        ReadBuf {
            words: vec![capnp::word(0, 0, 0, 0, 0, 0, 0, 0); READ_BUFFER_BYTES / WORD],
            start: 0,
            end: 0,
            offset: 0,
            complete: std::cell::Cell::new(None),
        }
    }

    /// Stream offset of the next frame.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// Bytes read ahead and not yet handed out.
    pub(crate) fn buffered(&self) -> usize {
        self.end - self.start
    }

    /// Measures the next frame from what is buffered.
    pub(crate) fn measure(&self) -> Result<Measure, FrameError> {
        if let Some(len) = self.complete.get() {
            return Ok(Measure::Complete(len));
        }
        let m = measure(&self.bytes()[self.start..self.end], self.offset)?;
        if let Measure::Complete(len) = m {
            self.complete.set(Some(len));
        }
        Ok(m)
    }

    /// Room to read into, at least `need - buffered()` bytes, for a frame that
    /// needs `need` bytes in all (`need` is at most [`MAX_FRAME_BYTES`], as
    /// [`measure`] guarantees). Moves the partial frame to the front when
    /// the tail is too short, and grows the buffer only for frames larger
    /// than it.
    pub(crate) fn spare(&mut self, need: usize) -> &mut [u8] {
        let cap = self.words.len() * WORD;
        if self.start + need > cap {
            // `start` is a frame boundary, hence word-aligned: the move keeps
            // every later frame aligned.
            let len = self.buffered();
            let start = self.start;
            capnp::Word::words_to_bytes_mut(&mut self.words).copy_within(start..start + len, 0);
            self.start = 0;
            self.end = len;
            if need > cap {
                let words = need.div_ceil(WORD);
                self.words
                    .resize(words, capnp::word(0, 0, 0, 0, 0, 0, 0, 0));
            }
        }
        let end = self.end;
        &mut capnp::Word::words_to_bytes_mut(&mut self.words)[end..]
    }

    /// Records that `n` bytes were read into [`Self::spare`].
    pub(crate) fn filled(&mut self, n: usize) {
        self.end += n;
    }

    /// Hands out the next `len` bytes (a complete frame) and the stream offset
    /// they start at.
    pub(crate) fn take(&mut self, len: usize) -> (&[u8], u64) {
        self.complete.set(None);
        let at = self.start;
        let offset = self.offset;
        self.start += len;
        self.offset += len as u64;
        if self.start == self.end {
            // Empty: the next read may use the whole buffer.
            self.start = 0;
            self.end = 0;
        }
        (&self.bytes()[at..at + len], offset)
    }

    /// The error for a source that ended inside a frame needing `need` bytes.
    pub(crate) fn truncated(&self, need: usize) -> FrameError {
        FrameError::Truncated {
            offset: self.offset,
            expected: need as u64,
            got: self.buffered() as u64,
        }
    }

    fn bytes(&self) -> &[u8] {
        capnp::Word::words_to_bytes(&self.words)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_step_by_step() {
        // One segment of two words.
        let mut f = vec![0u8, 0, 0, 0, 2, 0, 0, 0];
        f.extend_from_slice(&[0; 16]);
        assert_eq!(measure(&f[..3], 0).unwrap(), Measure::Need(4));
        assert_eq!(measure(&f[..4], 0).unwrap(), Measure::Need(8));
        assert_eq!(measure(&f[..8], 0).unwrap(), Measure::Need(24));
        assert_eq!(measure(&f, 0).unwrap(), Measure::Complete(24));
    }

    #[test]
    fn refuses_oversized_lengths_before_reading_them() {
        let f = [0u8, 0, 0, 0, 0xff, 0xff, 0xff, 0xff];
        match measure(&f, 40) {
            Err(FrameError::TooLarge { offset: 40, .. }) => {}
            other => panic!("expected TooLarge at 40, got {other:?}"),
        }
        let f = [0xffu8, 0xff, 0xff, 0xff];
        match measure(&f, 8) {
            Err(FrameError::TooManySegments { offset: 8, .. }) => {}
            other => panic!("expected TooManySegments at 8, got {other:?}"),
        }
    }
}
