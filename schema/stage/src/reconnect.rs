//! An output that outlives its reader: when the stage downstream restarts,
//! the writing stage keeps going, drops (and counts) the frames nobody can
//! take, and carries on with the next reader.
//!
//! Two ways to find the next reader, chosen by the stage ([`Redial`]):
//! - **accept** it on the listening socket the output was opened with
//!   (`listen:PATH`, or a listening `systemd` socket). This is capture's
//!   way: after its lock-down capture may still accept on a socket it
//!   holds, which reaches nothing new, but must not connect anywhere (still
//!   uid 0, it could reach root-owned sockets, and Landlock does not cover
//!   connecting to pathname Unix sockets).
//! - **connect** again to `unix:PATH`, with a bounded backoff.
//!
//! The unprivileged stages, enrich and evaluate, take either ([`Redial::Any`]):
//! under systemd they connect to the next stage's socket, in the Kubernetes
//! pod they listen on the shared volume and their reader connects.
//!
//! Other endpoints (`-`, `fd:N`, and the endpoint the policy does not
//! cover) are opened as by [`crate::transport::open_output`]: a broken pipe
//! there still ends the stage.
//!
//! Frames are never split between readers. The output sees bytes (a
//! [`schema::FrameWriter`] batches them and cuts batches where its buffer
//! fills) and finds the frame boundaries in them ([`cursor`]): when the
//! reader goes away in the middle of a frame, the rest of that frame is
//! dropped; a new reader is taken only between two frames, and it first
//! gets a copy of this stage's header. Each frame not delivered counts once
//! in [`Output::undelivered_frames`] and in the process-wide
//! [`undelivered_frames`]. Frames already in the socket buffer when the
//! reader died are lost with it: after each write the output looks at how
//! much the socket still queues (`SIOCOUTQ`), and the frames queued at the
//! last look count in [`lost_unread_frames`], an upper bound.
//!
//! When the reader goes away, the rest of the batch being written goes with
//! it: those frames were built before the stage could know (a stage whose
//! frames refer to earlier ones watches [`readers_lost`] and sends them
//! again), so they are not finished to the next reader.
//!
//! It does not buffer frames for the next reader: a restart is a gap, made
//! visible by the counter, not a replay.

mod cursor;
#[cfg(test)]
mod tests;

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use capnp::message::{Builder, HeapAllocator};

use crate::transport::{self, Endpoint, Stream, TransportError};
use cursor::FrameCursor;
use schema::kestrel_capnp::{frame, Stage};

/// First wait before connecting again after a failed attempt; it doubles
/// with each failure up to [`RECONNECT_BACKOFF_MAX`].
pub const RECONNECT_BACKOFF_MIN: Duration = Duration::from_millis(10);

/// Longest wait between two connection attempts. systemd restarts a unit
/// after `RestartSec=1`, so a second keeps the gap close to the restart's.
pub const RECONNECT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// How often an output with no reader looks for one on its listening
/// socket. A look is one `poll(2)` with no wait, but it is made between
/// frames, so without a pause it would cost a syscall per dropped frame.
pub const ACCEPT_POLL_INTERVAL: Duration = Duration::from_millis(10);

/// Frames this process could not deliver because its reader was gone, over
/// every [`Reconnecting`] output. A stage has one output, so this is its
/// `drops.downstream_disconnected`; it is global so that the code writing
/// the stage's stats need not reach the output through its writer.
static UNDELIVERED: AtomicU64 = AtomicU64::new(0);

/// Frames this process could not deliver because its reader was gone.
pub fn undelivered_frames() -> u64 {
    UNDELIVERED.load(Ordering::Relaxed)
}

/// Frames this process wrote to a reader that died before reading them,
/// as far as the socket's queue showed when last looked at (after each
/// write); see [`Reconnecting`].
static LOST_UNREAD: AtomicU64 = AtomicU64::new(0);

/// Frames written to a reader that died before reading them. An upper
/// bound: a Unix socket reports its queue (`SIOCOUTQ`) in buffer sizes, a
/// few hundred bytes more per write than the bytes themselves, and what the
/// reader read after the last look at the queue counts too.
pub fn lost_unread_frames() -> u64 {
    LOST_UNREAD.load(Ordering::Relaxed)
}

/// Frames whose delivery is followed at once per reader: a Unix socket's
/// send buffer (212,992 bytes by default, `net.core.wmem_default`) holds
/// at most about 13,000 of the smallest frames (16 bytes). Past this, the
/// oldest are taken as read, which can only undercount a loss.
pub const MAX_FRAMES_IN_FLIGHT: usize = 1 << 16;

/// Readers this process's outputs have lost. A stage whose frames refer
/// to earlier frames (enrich's events to their thread's `state`, see
/// [`schema::state`]) watches it: once it moves, the next reader may lack
/// what was sent before, so the stage sends it again.
static READERS_LOST: AtomicU64 = AtomicU64::new(0);

/// Readers this process's outputs have lost so far.
pub fn readers_lost() -> u64 {
    READERS_LOST.load(Ordering::Relaxed)
}

/// New readers this process's outputs have taken after losing one.
static READERS_TAKEN: AtomicU64 = AtomicU64::new(0);

/// Times this process's outputs changed reader: each loss and each new
/// reader. A stage whose frames refer to earlier frames watches it rather
/// than [`readers_lost`] alone: what it wrote between the two went nowhere,
/// so the new reader holds none of it either.
pub fn reader_changes() -> u64 {
    READERS_LOST.load(Ordering::Relaxed) + READERS_TAKEN.load(Ordering::Relaxed)
}

/// How an output finds its next reader; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redial {
    /// Accept on the `listen:` or listening `systemd` socket it holds.
    Accept,
    /// Connect again to `unix:PATH`.
    Connect,
    /// Either, as the endpoint says: for stages that may connect anywhere.
    Any,
}

/// Opens `ep` for writing frames of `stage`. With `redial`'s endpoints the
/// output survives its reader (see [`Redial`]); any other endpoint is
/// opened as by [`transport::open_output`]. Blocks until the first reader
/// is there, as [`transport::open_output`] does.
pub fn open_output(ep: &Endpoint, stage: Stage, redial: Redial) -> Result<Output, TransportError> {
    match (redial, ep) {
        (Redial::Connect | Redial::Any, Endpoint::Unix(path)) => {
            let first = transport::connect(path)?;
            let source = Source::Connect(path.clone());
            Ok(Reconnecting::new(source, Stream::Unix(first), stage)?.into())
        }
        (Redial::Accept | Redial::Any, Endpoint::Listen { path, mode }) => {
            let listener = OwnedFd::from(transport::listen(path, *mode)?);
            let first = accept_first(&listener).map_err(|source| TransportError::Listen {
                path: path.clone(),
                source,
            })?;
            Ok(Reconnecting::new(Source::Accept(listener), first, stage)?.into())
        }
        (Redial::Accept | Redial::Any, Endpoint::Systemd) => {
            let fd = transport::systemd_fd()?;
            // SAFETY: systemd passed us this descriptor to own.
            let owned = unsafe { OwnedFd::from_raw_fd(fd) };
            if !transport::is_listening(fd) {
                // Accept=yes: one connection, nothing to accept again on.
                return Ok(Output::Plain(Stream::File(File::from(owned))));
            }
            let first = accept_first(&owned).map_err(|e| {
                TransportError::Systemd(format!("accept on the inherited socket: {e}"))
            })?;
            Ok(Reconnecting::new(Source::Accept(owned), first, stage)?.into())
        }
        _ => transport::open_output(ep).map(Output::Plain),
    }
}

fn accept_first(listener: &OwnedFd) -> io::Result<Stream> {
    let fd = transport::accept(listener, true)?
        .ok_or_else(|| io::Error::other("no connection to accept"))?;
    Ok(Stream::File(File::from(fd)))
}

/// A stage's output: a plain stream, or one that survives its reader.
pub enum Output {
    Plain(Stream),
    Reconnecting(Reconnecting),
}

impl From<Reconnecting> for Output {
    fn from(r: Reconnecting) -> Self {
        Output::Reconnecting(r)
    }
}

impl Output {
    /// False while a reconnecting output has no reader.
    pub fn is_connected(&self) -> bool {
        match self {
            Output::Plain(_) => true,
            Output::Reconnecting(r) => r.is_connected(),
        }
    }

    /// Readers this output has had: 1 until the first one goes away and
    /// another comes.
    pub fn readers(&self) -> u64 {
        match self {
            Output::Plain(_) => 1,
            Output::Reconnecting(r) => r.readers(),
        }
    }

    /// Frames this output dropped because its reader was gone.
    pub fn undelivered_frames(&self) -> u64 {
        match self {
            Output::Plain(_) => 0,
            Output::Reconnecting(r) => r.undelivered_frames(),
        }
    }

    /// Frames written to readers that died before reading them.
    pub fn lost_unread_frames(&self) -> u64 {
        match self {
            Output::Plain(_) => 0,
            Output::Reconnecting(r) => r.lost_unread_frames(),
        }
    }

    /// Looks for a new reader now, if there is none; see
    /// [`Reconnecting::redial`].
    pub fn redial(&mut self) -> bool {
        match self {
            Output::Plain(_) => false,
            Output::Reconnecting(r) => r.redial(),
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Output::Plain(s) => s.write(buf),
            Output::Reconnecting(r) => r.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Output::Plain(s) => s.flush(),
            Output::Reconnecting(r) => r.flush(),
        }
    }
}

/// Where the next reader comes from.
enum Source {
    Connect(PathBuf),
    Accept(OwnedFd),
}

impl Source {
    /// The wait after a first failed look: accepting backs off no
    /// further, since looking costs nobody else anything.
    fn first_backoff(&self) -> Duration {
        match self {
            Source::Connect(_) => RECONNECT_BACKOFF_MIN,
            Source::Accept(_) => ACCEPT_POLL_INTERVAL,
        }
    }
}

/// A byte stream of frames whose reader may come and go.
pub struct Reconnecting {
    source: Source,
    reader: Option<Stream>,
    /// This stage's header frame, written first to each new reader.
    greeting: Vec<u8>,
    cursor: FrameCursor,
    undelivered: u64,
    /// Bytes written to the current reader since its header.
    sent: u64,
    /// Stream offsets (in `sent`'s terms) at which frames written to the
    /// current reader end and which its socket's queue still held when
    /// last looked at.
    in_flight: std::collections::VecDeque<u64>,
    lost_unread: u64,
    readers: u64,
    next_attempt: Instant,
    backoff: Duration,
}

impl Reconnecting {
    /// An output writing to `first`, which the caller connected or
    /// accepted and will give its header through the frame writer.
    fn new(source: Source, first: Stream, stage: Stage) -> io::Result<Self> {
        let mut msg = Builder::new(HeapAllocator::new());
        schema::header::fill(msg.init_root::<frame::Builder>().init_header(), stage);
        let mut greeting = Vec::new();
        capnp::serialize::write_message(&mut greeting, &msg).map_err(io::Error::other)?;
        let backoff = source.first_backoff();
        Ok(Reconnecting {
            source,
            reader: Some(first),
            greeting,
            cursor: FrameCursor::default(),
            undelivered: 0,
            sent: 0,
            in_flight: std::collections::VecDeque::new(),
            lost_unread: 0,
            readers: 1,
            next_attempt: Instant::now(),
            backoff,
        })
    }

    pub fn is_connected(&self) -> bool {
        self.reader.is_some()
    }

    pub fn readers(&self) -> u64 {
        self.readers
    }

    pub fn undelivered_frames(&self) -> u64 {
        self.undelivered
    }

    /// Frames written to readers that died before reading them.
    pub fn lost_unread_frames(&self) -> u64 {
        self.lost_unread
    }

    /// After `n` bytes of `buf` reached the reader: notes the frames that
    /// ended in them, then forgets those the reader has taken from its
    /// socket (all but the socket's queued bytes, `SIOCOUTQ`).
    fn delivered(&mut self, buf: &[u8], fd: i32) -> io::Result<()> {
        let base = self.sent;
        let in_flight = &mut self.in_flight;
        self.cursor.pass(buf, |at| {
            if in_flight.len() == MAX_FRAMES_IN_FLIGHT {
                in_flight.pop_front();
            }
            in_flight.push_back(base + at as u64);
        })?;
        self.sent += buf.len() as u64;
        let read_to = self.sent.saturating_sub(queued_bytes(fd));
        while self.in_flight.front().is_some_and(|&end| end <= read_to) {
            self.in_flight.pop_front();
        }
        Ok(())
    }

    /// Looks for a new reader now if there is none, the stream stands
    /// between two frames and the backoff allows; true if one was found
    /// (it has been sent the header). Writes and flushes call it too, so
    /// a stage only needs it to take a reader while it has nothing to
    /// write, or to learn at once that one came.
    pub fn redial(&mut self) -> bool {
        if self.reader.is_some() || !self.cursor.at_boundary() {
            return false;
        }
        let now = Instant::now();
        if now < self.next_attempt {
            return false;
        }
        match self.next_reader() {
            Ok(Some(mut r)) => match r.write_all(&self.greeting) {
                Ok(()) => {
                    self.reader = Some(r);
                    self.readers += 1;
                    self.sent = 0;
                    self.in_flight.clear();
                    READERS_TAKEN.fetch_add(1, Ordering::Relaxed);
                    self.backoff = self.source.first_backoff();
                    tracing::warn!(
                        undelivered = self.undelivered,
                        "a new reader is connected; frames resume"
                    );
                    return true;
                }
                Err(e) => tracing::debug!("the new reader went away at once: {e}"),
            },
            Ok(None) => {}
            Err(e) => tracing::debug!("looking for a new reader: {e}"),
        }
        self.next_attempt = now + self.backoff;
        if let Source::Connect(_) = self.source {
            self.backoff = (self.backoff * 2).min(RECONNECT_BACKOFF_MAX);
        }
        false
    }

    fn next_reader(&self) -> io::Result<Option<Stream>> {
        match &self.source {
            Source::Connect(path) => match UnixStream::connect(path) {
                Ok(s) => Ok(Some(Stream::Unix(s))),
                // Not there yet, or not listening yet: the restart is under
                // way; anything else is worth a line at debug level.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
                    ) =>
                {
                    Ok(None)
                }
                Err(e) => Err(e),
            },
            Source::Accept(listener) => {
                Ok(transport::accept(listener, false)?.map(|fd| Stream::File(File::from(fd))))
            }
        }
    }

    /// The reader is gone: from here on, frames are dropped until
    /// [`Self::redial`] finds another.
    fn lose_reader(&mut self, e: &io::Error) {
        self.reader = None;
        // Its socket's queue went with it, unread.
        let lost = self.in_flight.len() as u64;
        self.in_flight.clear();
        self.lost_unread += lost;
        LOST_UNREAD.fetch_add(lost, Ordering::Relaxed);
        READERS_LOST.fetch_add(1, Ordering::Relaxed);
        self.next_attempt = Instant::now();
        tracing::warn!(
            "the reader of this stage's output went away ({e}); frames are dropped and \
             counted until a new one {}",
            match self.source {
                Source::Connect(_) => "can be connected",
                Source::Accept(_) => "connects",
            }
        );
    }

    /// Drops all of `buf`, counting each frame that ends in it.
    fn discard_all(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut used = 0;
        while used < buf.len() {
            let n = self.discard(&buf[used..])?;
            if n == 0 {
                break;
            }
            used += n;
        }
        Ok(buf.len())
    }

    /// Drops the part of `buf` that belongs to the current frame, counting
    /// the frame when its end is reached.
    fn discard(&mut self, buf: &[u8]) -> io::Result<usize> {
        let (used, ended) = self.cursor.pass_in_frame(buf)?;
        if ended {
            self.undelivered += 1;
            UNDELIVERED.fetch_add(1, Ordering::Relaxed);
        }
        Ok(used)
    }
}

impl Write for Reconnecting {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.reader.is_none() {
            self.redial();
        }
        let Some(reader) = self.reader.as_mut() else {
            return self.discard(buf);
        };
        match reader.write(buf) {
            Ok(n) => {
                let fd = reader.as_raw_fd();
                self.delivered(&buf[..n], fd)?;
                Ok(n)
            }
            Err(e) if is_disconnect(&e) => {
                // The frame under way is lost: its start went to the reader
                // that died, or nothing of it did. So is the rest of this
                // batch: its frames were built before the stage could learn
                // of the loss (`readers_lost`), and may refer to frames the
                // next reader will never get (enrich's events to their
                // thread's `state`); frames built after it are the next
                // reader's.
                self.lose_reader(&e);
                self.discard_all(buf)
            }
            Err(e) => Err(e),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.reader.as_mut() {
            Some(r) => r.flush(),
            None => {
                self.redial();
                Ok(())
            }
        }
    }
}

/// Bytes written to the socket `fd` that its reader has not read yet
/// (`SIOCOUTQ`); 0 when the kernel cannot say (not a socket).
fn queued_bytes(fd: i32) -> u64 {
    let mut n: libc::c_int = 0;
    // SAFETY: SIOCOUTQ (TIOCOUTQ) writes one int through the pointer.
    let rc = unsafe { libc::ioctl(fd, libc::TIOCOUTQ, &mut n) };
    if rc == 0 {
        n.max(0) as u64
    } else {
        0
    }
}

/// True for the errors of writing to a reader that went away.
fn is_disconnect(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::NotConnected
    )
}
