//! Where a byte stream of frames stands: inside which frame, and how far
//! from its end. A [`super::Reconnecting`] output sees only bytes (a
//! `BufWriter` cuts batches wherever its buffer fills); the cursor finds the
//! frame boundaries in them from each frame's segment table, so that a frame
//! is either written whole to one reader or dropped whole.
//!
//! It only measures: it keeps the bytes of a segment table that arrives in
//! pieces, never a frame's body.

use std::io;

use schema::limits::{MAX_FRAME_BYTES, MAX_SEGMENTS};

/// Bytes per Cap'n Proto word; frames and segment tables are whole words.
const WORD: usize = 8;

/// Bytes of the segment count at the start of every frame.
const COUNT_BYTES: usize = 4;

/// Position in a stream of frames.
#[derive(Debug, Default)]
pub(crate) struct FrameCursor {
    /// The current frame's segment table so far, while it is incomplete.
    table: Vec<u8>,
    /// Body bytes of the current frame still to come, once its table is
    /// complete.
    body_left: Option<usize>,
}

impl FrameCursor {
    /// True between two frames: the next byte starts a frame.
    pub(crate) fn at_boundary(&self) -> bool {
        self.table.is_empty() && self.body_left.is_none()
    }

    /// Moves over `bytes`, which continue the stream; calls `end` with
    /// the offset within `bytes` just past each frame that ends there.
    pub(crate) fn pass(&mut self, bytes: &[u8], mut end: impl FnMut(usize)) -> io::Result<()> {
        let mut at = 0;
        while at < bytes.len() {
            let (used, done) = self.pass_in_frame(&bytes[at..])?;
            at += used;
            if done {
                end(at);
            }
        }
        Ok(())
    }

    /// Moves over the part of `bytes` that belongs to the current frame;
    /// returns how many bytes that was and whether the frame ended there.
    pub(crate) fn pass_in_frame(&mut self, bytes: &[u8]) -> io::Result<(usize, bool)> {
        let mut used = 0;
        let body_left = loop {
            if let Some(left) = self.body_left {
                break left;
            }
            let need = table_bytes(&self.table)?;
            if self.table.len() == need {
                let body = body_bytes(&self.table)?;
                self.table.clear();
                self.body_left = Some(body);
                continue;
            }
            if used == bytes.len() {
                return Ok((used, false));
            }
            let take = (need - self.table.len()).min(bytes.len() - used);
            self.table.extend_from_slice(&bytes[used..used + take]);
            used += take;
        };
        let take = body_left.min(bytes.len() - used);
        used += take;
        if take == body_left {
            self.body_left = None;
            Ok((used, true))
        } else {
            self.body_left = Some(body_left - take);
            Ok((used, false))
        }
    }
}

/// Length of the segment table that starts `table`: the count alone until
/// the count is known, then the count, one size per segment and padding.
fn table_bytes(table: &[u8]) -> io::Result<usize> {
    if table.len() < COUNT_BYTES {
        return Ok(COUNT_BYTES);
    }
    let segments = le_u32(table, 0) as usize + 1;
    if segments > MAX_SEGMENTS {
        return Err(not_frames(format!(
            "a frame claims {segments} segments, over the limit of {MAX_SEGMENTS}"
        )));
    }
    Ok((segments / 2 + 1) * WORD)
}

/// Body length of the frame whose complete segment table is `table`.
fn body_bytes(table: &[u8]) -> io::Result<usize> {
    let segments = le_u32(table, 0) as usize + 1;
    let words: u64 = (0..segments)
        .map(|i| u64::from(le_u32(table, COUNT_BYTES * (i + 1))))
        .sum();
    let body = words * WORD as u64;
    if body + table.len() as u64 > MAX_FRAME_BYTES as u64 {
        return Err(not_frames(format!(
            "a frame of {} bytes is over the limit of {MAX_FRAME_BYTES} bytes",
            body + table.len() as u64
        )));
    }
    Ok(body as usize)
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// What is written is not a stream of frames: a bug in the writing stage,
/// since every frame writer refuses frames over the limits.
fn not_frames(why: String) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("not a frame stream: {why}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use schema::FrameWriter;

    /// Three frames of different sizes, as one stream.
    fn stream() -> (Vec<u8>, Vec<usize>) {
        let mut w = FrameWriter::unbatched(Vec::new());
        let mut ends = Vec::new();
        for n in [0usize, 3, 200] {
            w.build(|f| -> io::Result<()> {
                let mut s = f.init_stats();
                s.set_hostname("h".repeat(n).as_str());
                Ok(())
            })
            .expect("build a frame");
            ends.push(w.get_ref().len());
        }
        (w.get_ref().clone(), ends)
    }

    #[test]
    fn finds_every_boundary_however_the_bytes_are_cut() {
        let (bytes, ends) = stream();
        for piece in [1, 3, 4, 7, 8, 13, bytes.len()] {
            let mut c = FrameCursor::default();
            let mut pos = 0;
            let mut seen = Vec::new();
            for chunk in bytes.chunks(piece) {
                let mut rest = chunk;
                while !rest.is_empty() {
                    let (used, done) = c.pass_in_frame(rest).expect("valid frames");
                    pos += used;
                    rest = &rest[used..];
                    if done {
                        assert!(c.at_boundary());
                        seen.push(pos);
                    }
                }
            }
            assert_eq!(seen, ends, "pieces of {piece} bytes");
        }
    }

    #[test]
    fn finds_the_frames_that_end_in_a_pass() {
        let (bytes, ends) = stream();
        let mut c = FrameCursor::default();
        let cut = ends[1] + 2;
        let mut seen = Vec::new();
        c.pass(&bytes[..cut], |at| seen.push(at)).expect("valid");
        assert_eq!(seen, ends[..2]);
        assert!(!c.at_boundary());
        seen.clear();
        c.pass(&bytes[cut..], |at| seen.push(cut + at))
            .expect("valid");
        assert_eq!(seen, ends[2..]);
        assert!(c.at_boundary());
    }

    #[test]
    fn refuses_a_table_over_the_limits() {
        let mut c = FrameCursor::default();
        let err = c
            .pass(&u32::MAX.to_le_bytes(), |_| {})
            .expect_err("too many segments");
        assert!(err.to_string().contains("segments"), "{err}");
        let mut c = FrameCursor::default();
        let mut big = 0u32.to_le_bytes().to_vec();
        big.extend_from_slice(&u32::MAX.to_le_bytes());
        let err = c.pass(&big, |_| {}).expect_err("too large");
        assert!(err.to_string().contains("over the limit"), "{err}");
    }
}
