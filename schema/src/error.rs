//! Errors of reading and writing frame streams. Every reading error carries
//! the byte offset of the frame it concerns, so a user can find the damage
//! with `dd skip=`.

use std::io;

/// What went wrong with a frame stream. Every variant names the byte offset
/// of the frame it concerns (`NoHeader` and `NewerVersion` concern byte 0).
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    // The cause is the error's source, printed by `{:#}` (anyhow) after a
    // colon: repeating it here would print it twice.
    #[error("I/O error at byte {offset}")]
    Io {
        offset: u64,
        #[source]
        source: io::Error,
    },
    #[error("truncated frame at byte {offset}: the stream ended {got} bytes into a frame that needs at least {expected}")]
    Truncated {
        offset: u64,
        expected: u64,
        got: u64,
    },
    #[error("frame at byte {offset} is {size} bytes, over the limit of {limit} bytes")]
    TooLarge {
        offset: u64,
        size: u64,
        limit: usize,
    },
    #[error("frame at byte {offset} claims {count} segments, over the limit of {limit}")]
    TooManySegments {
        offset: u64,
        count: u64,
        limit: usize,
    },
    #[error("corrupt frame at byte {offset}: {reason}")]
    Corrupt { offset: u64, reason: String },
    #[error("not a kestrel stream: the first frame (byte 0) is not a header ({reason})")]
    NoHeader { reason: String },
    #[error("stream at byte 0 has format version {major}.{minor}, newer than this reader's {ours}.x; upgrade kestrel")]
    NewerVersion { major: u16, minor: u16, ours: u16 },
}

impl FrameError {
    /// Byte offset in the stream of the frame the error concerns.
    pub fn offset(&self) -> u64 {
        match self {
            FrameError::Io { offset, .. }
            | FrameError::Truncated { offset, .. }
            | FrameError::TooLarge { offset, .. }
            | FrameError::TooManySegments { offset, .. }
            | FrameError::Corrupt { offset, .. } => *offset,
            FrameError::NoHeader { .. } | FrameError::NewerVersion { .. } => 0,
        }
    }

    /// Wraps a Cap'n Proto decoding error met while reading the frame at
    /// `offset`.
    pub fn corrupt(offset: u64, err: impl std::fmt::Display) -> Self {
        FrameError::Corrupt {
            offset,
            reason: err.to_string(),
        }
    }
}
