//! Errors of reading and writing frame streams. Every reading error carries
//! the byte offset of the frame it concerns, so a user can find the damage
//! with `dd skip=`.

use std::{fmt, io};

/// What went wrong with a frame stream. Every variant names the byte offset
/// of the frame it concerns (`NoHeader` and `NewerVersion` concern byte 0).
///
/// Messages are complete on their own, causes included, and `source()` is
/// `None`: stages print them as one line with `{}` or in an anyhow chain
/// with `{:#}`, and either way the cause appears exactly once.
#[derive(Debug)]
pub enum FrameError {
    Io {
        offset: u64,
        source: io::Error,
    },
    Truncated {
        offset: u64,
        expected: u64,
        got: u64,
    },
    TooLarge {
        offset: u64,
        size: u64,
        limit: usize,
    },
    TooManySegments {
        offset: u64,
        count: u64,
        limit: usize,
    },
    Corrupt {
        offset: u64,
        reason: String,
    },
    NoHeader {
        reason: String,
    },
    NewerVersion {
        major: u16,
        minor: u16,
        ours: u16,
    },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Io { offset, source } => write!(f, "I/O error at byte {offset}: {source}"),
            FrameError::Truncated {
                offset,
                expected,
                got,
            } => write!(
                f,
                "truncated frame at byte {offset}: the stream ended {got} bytes into a frame \
                 that needs at least {expected}"
            ),
            FrameError::TooLarge {
                offset,
                size,
                limit,
            } => write!(
                f,
                "frame at byte {offset} is {size} bytes, over the limit of {limit} bytes"
            ),
            FrameError::TooManySegments {
                offset,
                count,
                limit,
            } => write!(
                f,
                "frame at byte {offset} claims {count} segments, over the limit of {limit}"
            ),
            FrameError::Corrupt { offset, reason } => {
                write!(f, "corrupt frame at byte {offset}: {reason}")
            }
            FrameError::NoHeader { reason } => write!(
                f,
                "not a kestrel stream: the first frame (byte 0) is not a header ({reason})"
            ),
            FrameError::NewerVersion { major, minor, ours } => write!(
                f,
                "stream at byte 0 has format version {major}.{minor}, newer than this \
                 reader's {ours}.x; upgrade kestrel"
            ),
        }
    }
}

impl std::error::Error for FrameError {}

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
