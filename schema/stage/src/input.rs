//! The input side of a frame-reading stage: a byte stream the driver can
//! ask whether a read would wait, and wait on with a timeout, so that a
//! quiet input does not hold back flushes, timers and stats.
//!
//! It does not parse frames: [`schema::FrameReader`] does, on top of it.

use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::time::Duration;

use crate::transport::Stream;

/// A byte stream with readiness.
pub trait Input: Read {
    /// True when a read would not wait: bytes, the end of the input or an
    /// error are there.
    fn ready(&mut self) -> bool;
    /// Sleeps until [`Self::ready`], until the stage has something to do
    /// (an input that also carries the stage's own messages wakes for
    /// them), or until `timeout` has passed.
    fn wait(&mut self, timeout: Duration);
}

/// Polls `fd` for input for up to `timeout`; true when it is readable or
/// hung up. `EINTR` counts as not ready: the caller loops.
pub fn poll_readable(fd: i32, timeout: Duration) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: one valid pollfd for the duration of the call.
    let n = unsafe { libc::poll(&mut p, 1, ms) };
    n > 0
}

impl Input for Stream {
    fn ready(&mut self) -> bool {
        poll_readable(self.as_raw_fd(), Duration::ZERO)
    }
    fn wait(&mut self, timeout: Duration) {
        poll_readable(self.as_raw_fd(), timeout);
    }
}

/// In-memory input (tests, replays held in memory): always ready.
impl<T: AsRef<[u8]>> Input for io::Cursor<T> {
    fn ready(&mut self) -> bool {
        true
    }
    fn wait(&mut self, _timeout: Duration) {}
}

impl Input for &[u8] {
    fn ready(&mut self) -> bool {
        true
    }
    fn wait(&mut self, _timeout: Duration) {}
}
