//! The input side of the enrich loop: a thread reads the input stream in
//! chunks and sends them, together with the runtime clients' metadata
//! updates, down one bounded channel. The loop reads frames from it through
//! [`ChannelRead`] and, when it has nothing to read, can wait with a timeout
//! ([`InputHandle::wait`]) so that held-back events are released on time and
//! stats frames go out even when the input is quiet.
//!
//! Chunk buffers go back to the input thread once read, so that it reuses
//! them instead of allocating and zeroing a new one per read.
//!
//! It does not parse frames: [`schema::FrameReader`] does, on top of it.

use std::cell::RefCell;
use std::io::{self, Read};
use std::rc::Rc;
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::time::Duration;

use crate::engine::MetaUpdate;
use crate::limits::{INPUT_CHUNK_BYTES, INPUT_QUEUE_CHUNKS};

/// What travels to the enrich loop.
pub enum Msg {
    /// A chunk buffer and how many of its bytes were read.
    Data(Vec<u8>, usize),
    Eof,
    Err(io::Error),
    Update(MetaUpdate),
}

struct Shared {
    rx: Receiver<Msg>,
    /// Where read buffers go back to the input thread.
    free: SyncSender<Vec<u8>>,
    cur: Vec<u8>,
    /// Bytes of `cur` that were read.
    len: usize,
    pos: usize,
    eof: bool,
    err: Option<io::Error>,
    updates: Vec<MetaUpdate>,
}

impl Shared {
    fn accept(&mut self, m: Msg) {
        match m {
            Msg::Data(d, len) => {
                let done = std::mem::replace(&mut self.cur, d);
                // The input thread allocates anew when the pool is full
                // or gone.
                if !done.is_empty() {
                    let _ = self.free.try_send(done);
                }
                self.len = len;
                self.pos = 0;
            }
            Msg::Eof => self.eof = true,
            Msg::Err(e) => self.err = Some(e),
            Msg::Update(u) => self.updates.push(u),
        }
    }

    fn ready(&self) -> bool {
        self.pos < self.len || self.eof || self.err.is_some()
    }
}

/// The byte stream the frame reader reads.
pub struct ChannelRead(Rc<RefCell<Shared>>);

/// The loop's handle on the same channel: waiting, and metadata updates.
pub struct InputHandle(Rc<RefCell<Shared>>);

/// Starts the input thread on `src`. Returns the reader, the handle, and a
/// sender the runtime clients use for their updates.
pub fn spawn<R: Read + Send + 'static>(
    mut src: R,
) -> io::Result<(ChannelRead, InputHandle, SyncSender<Msg>)> {
    let (tx, rx) = sync_channel(INPUT_QUEUE_CHUNKS);
    let (free, free_rx) = sync_channel::<Vec<u8>>(INPUT_QUEUE_CHUNKS);
    let data_tx = tx.clone();
    std::thread::Builder::new()
        .name("enrich-input".into())
        .spawn(move || loop {
            // Reused buffers keep their full length (and old bytes past
            // what is read into them), so they are never zeroed again.
            let mut buf = free_rx
                .try_recv()
                .ok()
                .filter(|b| b.len() == INPUT_CHUNK_BYTES)
                .unwrap_or_else(|| vec![0u8; INPUT_CHUNK_BYTES]);
            let msg = match src.read(&mut buf) {
                Ok(0) => Msg::Eof,
                Ok(n) => Msg::Data(buf, n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => Msg::Err(e),
            };
            let last = !matches!(msg, Msg::Data(..));
            if data_tx.send(msg).is_err() || last {
                break;
            }
        })?;
    let shared = Rc::new(RefCell::new(Shared {
        rx,
        free,
        cur: Vec::new(),
        len: 0,
        pos: 0,
        eof: false,
        err: None,
        updates: Vec::new(),
    }));
    Ok((ChannelRead(shared.clone()), InputHandle(shared), tx))
}

impl Read for ChannelRead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut s = self.0.borrow_mut();
        loop {
            if s.pos < s.len {
                let n = buf.len().min(s.len - s.pos);
                buf[..n].copy_from_slice(&s.cur[s.pos..s.pos + n]);
                s.pos += n;
                return Ok(n);
            }
            if let Some(e) = s.err.take() {
                return Err(e);
            }
            if s.eof {
                return Ok(0);
            }
            match s.rx.recv() {
                Ok(m) => s.accept(m),
                Err(_) => s.eof = true,
            }
        }
    }
}

impl ChannelRead {
    /// True when a read would not wait; takes in what the input thread
    /// and the runtime clients have sent meanwhile.
    pub fn poll_ready(&mut self) -> bool {
        let mut s = self.0.borrow_mut();
        loop {
            if s.ready() {
                return true;
            }
            match s.rx.try_recv() {
                Ok(m) => s.accept(m),
                Err(std::sync::mpsc::TryRecvError::Empty) => return false,
                Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                    s.eof = true;
                    return true;
                }
            }
        }
    }

    /// Waits up to `timeout` for input or a runtime update.
    pub fn wait_any(&mut self, timeout: Duration) {
        InputHandle(self.0.clone()).wait(timeout);
    }
}

impl InputHandle {
    /// True when input bytes (or its end) can be read without waiting.
    pub fn has_data(&self) -> bool {
        self.0.borrow().ready()
    }

    /// Waits up to `timeout` for input or an update; true if something came.
    pub fn wait(&self, timeout: Duration) -> bool {
        let mut s = self.0.borrow_mut();
        if s.ready() || !s.updates.is_empty() {
            return true;
        }
        match s.rx.recv_timeout(timeout) {
            Ok(m) => {
                s.accept(m);
                true
            }
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => {
                s.eof = true;
                true
            }
        }
    }

    /// Waits up to `timeout` for a runtime update, whatever the input does
    /// (used once the input has ended); true if one came.
    pub fn wait_update(&self, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        let mut s = self.0.borrow_mut();
        while s.updates.is_empty() {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match s.rx.recv_timeout(left) {
                Ok(m) => s.accept(m),
                Err(_) => return false,
            }
        }
        true
    }

    /// Updates received so far.
    pub fn take_updates(&self) -> Vec<MetaUpdate> {
        std::mem::take(&mut self.0.borrow_mut().updates)
    }
}
