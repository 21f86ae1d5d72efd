//! Where a stage's frames come from and go to, chosen with one syntax shared
//! by every stage's `--input` and `--output`:
//!
//! | spelling | meaning |
//! |---|---|
//! | `-` | stdin / stdout (the default) |
//! | `unix:PATH` | connect to a listening Unix stream socket |
//! | `listen:PATH` | bind a Unix stream socket (mode 0600), accept one peer |
//! | `listen:PATH:mode=0660` | the same, with another socket mode |
//! | `fd:N` | an inherited descriptor (pipe, socket, file) |
//! | `systemd` | socket activation: the first fd of `LISTEN_FDS`; a listening socket is accepted on, a connected one used as is |
//!
//! Files are not a transport of their own: shells redirect (`> trace.kst`).
//! This module opens byte streams; framing is [`schema::reader`]'s and
//! [`schema::writer`]'s, and an output that outlives its reader is
//! [`crate::reconnect`]'s.

use std::fs::File;
use std::io::{self, Read, Write};
use std::mem::ManuallyDrop;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

/// Mode of sockets made by `listen:` unless the spelling says otherwise.
pub const DEFAULT_SOCKET_MODE: u32 = 0o600;

/// How long `unix:PATH` waits for the socket to appear and listen. Stages
/// of one pipeline start together (a pod's containers, a shell pipeline's
/// processes), so the writer may try to connect a moment before the reader
/// has bound its socket.
pub const CONNECT_WAIT: Duration = Duration::from_secs(5);

/// Pause between connection attempts while waiting.
pub const CONNECT_RETRY: Duration = Duration::from_millis(20);

/// First descriptor passed by systemd socket activation (`SD_LISTEN_FDS_START`).
pub const SD_LISTEN_FDS_START: RawFd = 3;

/// Capacity a stage asks for on a pipe it reads or writes (`-`, `fd:N`):
/// Linux's default of 64 KiB holds a few hundred events, so at hundreds of
/// thousands of events a second the two ends would wake each other
/// thousands of times a second, and a stage that stalls for a moment
/// would stall the one before it at once. 1 MiB is the most an
/// unprivileged process may ask for by default (`fs.pipe-max-size`); pipe
/// buffers are kernel memory, not the stage's. Refusals are ignored: the
/// pipe keeps working at its size.
pub const PIPE_BYTES: i32 = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Stdio,
    Unix(PathBuf),
    Listen { path: PathBuf, mode: u32 },
    Fd(RawFd),
    Systemd,
}

/// Why an endpoint could not be opened. Like [`schema::FrameError`], each
/// message is complete, cause included, and `source()` is `None`, so the
/// cause is printed once whether a stage prints `{}` or an anyhow chain.
#[derive(Debug)]
pub enum TransportError {
    Syntax { spec: String, why: String },
    Connect { path: PathBuf, source: io::Error },
    Listen { path: PathBuf, source: io::Error },
    BadFd { fd: RawFd },
    Systemd(String),
    Io(io::Error),
}

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TransportError::Syntax { spec, why } => write!(
                f,
                "bad endpoint {spec:?}: {why} (expected -, unix:PATH, \
                 listen:PATH[:mode=0600], fd:N or systemd)"
            ),
            TransportError::Connect { path, source } => {
                write!(f, "cannot connect to {}: {source}", path.display())
            }
            TransportError::Listen { path, source } => {
                write!(f, "cannot listen on {}: {source}", path.display())
            }
            TransportError::BadFd { fd } => write!(f, "fd:{fd} is not an open descriptor"),
            TransportError::Systemd(why) => write!(f, "systemd socket activation: {why}"),
            TransportError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for TransportError {}

impl From<io::Error> for TransportError {
    fn from(e: io::Error) -> Self {
        TransportError::Io(e)
    }
}

impl FromStr for Endpoint {
    type Err = TransportError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| TransportError::Syntax {
            spec: s.to_string(),
            why: why.to_string(),
        };
        if s == "-" || s == "stdio" {
            return Ok(Endpoint::Stdio);
        }
        if s == "systemd" {
            return Ok(Endpoint::Systemd);
        }
        if let Some(p) = s.strip_prefix("unix:") {
            if p.is_empty() {
                return Err(bad("empty path"));
            }
            return Ok(Endpoint::Unix(PathBuf::from(p)));
        }
        if let Some(rest) = s.strip_prefix("listen:") {
            let (path, mode) = match rest.rsplit_once(":mode=") {
                Some((path, mode)) => {
                    let m = u32::from_str_radix(mode, 8).map_err(|_| bad("mode must be octal"))?;
                    if m > 0o777 {
                        return Err(bad("mode must be at most 0777"));
                    }
                    (path, m)
                }
                None => (rest, DEFAULT_SOCKET_MODE),
            };
            if path.is_empty() {
                return Err(bad("empty path"));
            }
            return Ok(Endpoint::Listen {
                path: PathBuf::from(path),
                mode,
            });
        }
        if let Some(n) = s.strip_prefix("fd:") {
            let fd: RawFd = n.parse().map_err(|_| bad("fd must be a number"))?;
            if fd < 0 {
                return Err(bad("fd must not be negative"));
            }
            return Ok(Endpoint::Fd(fd));
        }
        Err(bad("unknown transport"))
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Stdio => write!(f, "-"),
            Endpoint::Unix(p) => write!(f, "unix:{}", p.display()),
            Endpoint::Listen { path, mode } => {
                write!(f, "listen:{}:mode={:o}", path.display(), mode)
            }
            Endpoint::Fd(n) => write!(f, "fd:{n}"),
            Endpoint::Systemd => write!(f, "systemd"),
        }
    }
}

/// A byte stream that does not close the descriptor it borrows (stdin,
/// stdout): the process owns those.
pub struct BorrowedFd(ManuallyDrop<File>);

impl BorrowedFd {
    /// # Safety
    /// `fd` must stay open for the life of the value.
    unsafe fn new(fd: RawFd) -> Self {
        BorrowedFd(ManuallyDrop::new(File::from_raw_fd(fd)))
    }
}

impl Read for BorrowedFd {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for BorrowedFd {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A connected stream of any transport.
pub enum Stream {
    Fd(BorrowedFd),
    File(File),
    Unix(UnixStream),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Fd(f) => f.read(buf),
            Stream::File(f) => f.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl AsRawFd for Stream {
    fn as_raw_fd(&self) -> RawFd {
        match self {
            Stream::Fd(f) => f.0.as_raw_fd(),
            Stream::File(f) => f.as_raw_fd(),
            Stream::Unix(s) => s.as_raw_fd(),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Fd(f) => f.write(buf),
            Stream::File(f) => f.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Fd(f) => f.flush(),
            Stream::File(f) => f.flush(),
            Stream::Unix(s) => s.flush(),
        }
    }
}

/// Opens `ep` for reading frames. Blocks until a peer connects for
/// `listen:` and listening `systemd` sockets. For `systemd`, call it before
/// starting threads: it removes the `LISTEN_*` variables from the
/// environment so that children do not inherit them.
pub fn open_input(ep: &Endpoint) -> Result<Stream, TransportError> {
    open(ep, 0)
}

/// Opens `ep` for writing frames; see [`open_input`].
pub fn open_output(ep: &Endpoint) -> Result<Stream, TransportError> {
    open(ep, 1)
}

fn open(ep: &Endpoint, stdio_fd: RawFd) -> Result<Stream, TransportError> {
    match ep {
        // SAFETY: stdin/stdout stay open for the life of the process.
        Endpoint::Stdio => {
            enlarge_pipe(stdio_fd);
            Ok(Stream::Fd(unsafe { BorrowedFd::new(stdio_fd) }))
        }
        Endpoint::Unix(path) => connect(path).map(Stream::Unix),
        Endpoint::Listen { path, mode } => {
            let listener = listen(path, *mode)?;
            let (s, _) = listener.accept().map_err(|source| TransportError::Listen {
                path: path.clone(),
                source,
            })?;
            Ok(Stream::Unix(s))
        }
        Endpoint::Fd(fd) => {
            check_fd(*fd)?;
            enlarge_pipe(*fd);
            // SAFETY: the descriptor is open (checked) and was handed to us
            // to own by whoever spawned us.
            Ok(Stream::File(unsafe { File::from_raw_fd(*fd) }))
        }
        Endpoint::Systemd => {
            let fd = systemd_fd()?;
            // SAFETY: systemd passed us this descriptor to own.
            let owned = unsafe { OwnedFd::from_raw_fd(fd) };
            if is_listening(fd) {
                // Accept=no: we got the listening socket; serve one peer.
                // Accepted at the syscall level so that any stream socket
                // family works (a unit may listen on TCP as well as Unix).
                let conn = accept(&owned, true)
                    .and_then(|c| c.ok_or_else(|| io::Error::other("no connection")))
                    .map_err(|e| {
                        TransportError::Systemd(format!("accept on the inherited socket: {e}"))
                    })?;
                Ok(Stream::File(File::from(conn)))
            } else {
                // Accept=yes: we got one connection.
                Ok(Stream::File(File::from(owned)))
            }
        }
    }
}

/// Raises the capacity of `fd` to [`PIPE_BYTES`] if it is a pipe or FIFO
/// smaller than that.
fn enlarge_pipe(fd: RawFd) {
    // SAFETY: fstat writes one stat through a valid pointer; fcntl with
    // F_GETPIPE_SZ/F_SETPIPE_SZ takes plain integers.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(fd, &mut st) != 0 || st.st_mode & libc::S_IFMT != libc::S_IFIFO {
            return;
        }
        if libc::fcntl(fd, libc::F_GETPIPE_SZ) >= PIPE_BYTES {
            return;
        }
        if libc::fcntl(fd, libc::F_SETPIPE_SZ, PIPE_BYTES) < 0 {
            tracing::debug!(
                "could not enlarge pipe fd {fd} to {PIPE_BYTES} bytes: {}",
                io::Error::last_os_error()
            );
        }
    }
}

/// Accepts one connection on a listening socket, retrying on EINTR. With
/// `wait` it blocks until a peer comes, even on a non-blocking socket (a
/// socket-activation manager may pass one); without, it returns `None` when
/// no peer is waiting. The new descriptor is close-on-exec and blocking.
pub(crate) fn accept(listener: &OwnedFd, wait: bool) -> io::Result<Option<OwnedFd>> {
    loop {
        if !wait_readable(listener.as_raw_fd(), if wait { -1 } else { 0 })? {
            return Ok(None);
        }
        // SAFETY: accept4 with null address pointers writes nothing but
        // returns a new descriptor, which we take ownership of at once.
        let fd = unsafe {
            libc::accept4(
                listener.as_raw_fd(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                libc::SOCK_CLOEXEC,
            )
        };
        if fd >= 0 {
            // SAFETY: a fresh descriptor nobody else owns.
            return Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }));
        }
        let e = io::Error::last_os_error();
        match e.kind() {
            // Interrupted, or the peer that woke us went away before we
            // took it: look again.
            io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock => {}
            _ if e.raw_os_error() == Some(libc::ECONNABORTED) => {}
            _ => return Err(e),
        }
    }
}

/// Waits up to `timeout_ms` (-1: without limit) for `fd` to be readable;
/// false when the time ran out. A signal ends the wait early (true, so the
/// caller looks and finds nothing yet).
fn wait_readable(fd: RawFd, timeout_ms: libc::c_int) -> io::Result<bool> {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let rc = unsafe { libc::poll(&mut p, 1, timeout_ms) };
    if rc < 0 {
        let e = io::Error::last_os_error();
        return match e.kind() {
            io::ErrorKind::Interrupted => Ok(true),
            _ => Err(e),
        };
    }
    Ok(rc > 0)
}

/// Connects to the Unix socket at `path`, waiting up to [`CONNECT_WAIT`] for
/// it to appear or start listening.
pub(crate) fn connect(path: &Path) -> Result<UnixStream, TransportError> {
    let deadline = Instant::now() + CONNECT_WAIT;
    loop {
        match UnixStream::connect(path) {
            Ok(s) => return Ok(s),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
                ) && Instant::now() < deadline =>
            {
                std::thread::sleep(CONNECT_RETRY);
            }
            Err(source) => {
                return Err(TransportError::Connect {
                    path: path.to_path_buf(),
                    source,
                })
            }
        }
    }
}

/// Binds a Unix stream socket at `path` with `mode`, replacing a stale socket
/// file but never any other kind of file.
pub fn listen(path: &Path, mode: u32) -> Result<UnixListener, TransportError> {
    let err = |source| TransportError::Listen {
        path: path.to_path_buf(),
        source,
    };
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.file_type().is_socket() {
            std::fs::remove_file(path).map_err(err)?;
        } else {
            return Err(err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "a file that is not a socket is in the way",
            )));
        }
    }
    // Bind under a restrictive umask so that the socket is never reachable
    // with looser permissions than asked for, even for an instant.
    // SAFETY: umask only changes this process's file creation mask.
    let old = unsafe { libc::umask(0o177) };
    let bound = UnixListener::bind(path);
    // SAFETY: as above.
    unsafe { libc::umask(old) };
    let listener = bound.map_err(err)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(err)?;
    Ok(listener)
}

fn check_fd(fd: RawFd) -> Result<(), TransportError> {
    // SAFETY: F_GETFD only queries the descriptor table.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return Err(TransportError::BadFd { fd });
    }
    Ok(())
}

/// The first socket-activation descriptor, after checking that it was meant
/// for this process. The variables are removed so that children do not
/// inherit them.
pub(crate) fn systemd_fd() -> Result<RawFd, TransportError> {
    let pid = std::env::var("LISTEN_PID").map_err(|_| {
        TransportError::Systemd("LISTEN_PID is not set: not started by socket activation".into())
    })?;
    let fds = std::env::var("LISTEN_FDS")
        .map_err(|_| TransportError::Systemd("LISTEN_FDS is not set".into()))?;
    let pid: u32 = pid
        .parse()
        .map_err(|_| TransportError::Systemd(format!("LISTEN_PID={pid:?} is not a number")))?;
    if pid != std::process::id() {
        return Err(TransportError::Systemd(format!(
            "LISTEN_PID={pid} is not this process ({})",
            std::process::id()
        )));
    }
    let n: i32 = fds
        .parse()
        .map_err(|_| TransportError::Systemd(format!("LISTEN_FDS={fds:?} is not a number")))?;
    if n < 1 {
        return Err(TransportError::Systemd(
            "LISTEN_FDS is 0: no socket was passed".into(),
        ));
    }
    std::env::remove_var("LISTEN_PID");
    std::env::remove_var("LISTEN_FDS");
    std::env::remove_var("LISTEN_FDNAMES");
    check_fd(SD_LISTEN_FDS_START)?;
    // SAFETY: set close-on-exec on a descriptor we now own.
    unsafe { libc::fcntl(SD_LISTEN_FDS_START, libc::F_SETFD, libc::FD_CLOEXEC) };
    Ok(SD_LISTEN_FDS_START)
}

pub(crate) fn is_listening(fd: RawFd) -> bool {
    let mut val: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `val`.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ACCEPTCONN,
            &mut val as *mut _ as *mut libc::c_void,
            &mut len,
        )
    };
    rc == 0 && val != 0
}

#[cfg(test)]
mod tests {

    #[test]
    fn pipes_are_enlarged_and_other_descriptors_left_alone() {
        let mut fds = [0; 2];
        // SAFETY: pipe writes two descriptors into the array.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        for fd in fds {
            enlarge_pipe(fd);
            // SAFETY: a plain query on a descriptor we own.
            assert_eq!(unsafe { libc::fcntl(fd, libc::F_GETPIPE_SZ) }, PIPE_BYTES);
            // SAFETY: closing the descriptors this test opened.
            unsafe { libc::close(fd) };
        }
        let file = tempfile::tempfile().expect("temp file");
        // Not a pipe: nothing to do, and no error.
        enlarge_pipe(std::os::fd::AsRawFd::as_raw_fd(&file));
    }

    use super::*;

    #[test]
    fn parses_every_spelling() {
        assert_eq!("-".parse::<Endpoint>().unwrap(), Endpoint::Stdio);
        assert_eq!("systemd".parse::<Endpoint>().unwrap(), Endpoint::Systemd);
        assert_eq!(
            "unix:/run/k.sock".parse::<Endpoint>().unwrap(),
            Endpoint::Unix("/run/k.sock".into())
        );
        assert_eq!(
            "listen:/run/k.sock".parse::<Endpoint>().unwrap(),
            Endpoint::Listen {
                path: "/run/k.sock".into(),
                mode: 0o600
            }
        );
        assert_eq!(
            "listen:/run/k.sock:mode=0660".parse::<Endpoint>().unwrap(),
            Endpoint::Listen {
                path: "/run/k.sock".into(),
                mode: 0o660
            }
        );
        assert_eq!("fd:7".parse::<Endpoint>().unwrap(), Endpoint::Fd(7));
        for bad in [
            "",
            "unix:",
            "fd:x",
            "fd:-1",
            "tcp:1.2.3.4:5",
            "listen:/x:mode=999",
            "listen:",
        ] {
            assert!(
                bad.parse::<Endpoint>().is_err(),
                "{bad:?} should be refused"
            );
        }
    }
}
