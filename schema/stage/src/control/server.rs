//! The control socket: bound with mode 0600, served by capnp-rpc on a
//! tokio `LocalSet` in a dedicated thread, every connection checked with
//! `SO_PEERCRED`.
//!
//! It is not a place for the methods themselves: the caller passes a
//! function that makes the bootstrap capability for each connection.

use std::cell::Cell;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::rc::Rc;

use capnp_rpc::{rpc_twoparty_capnp::Side, twoparty, RpcSystem};
use futures::AsyncReadExt;
use tokio::net::{UnixListener, UnixStream};
use tokio_util::compat::TokioAsyncReadCompatExt;

use super::ControlError;
use crate::transport;

/// The control socket's file mode: owner only. The uid check of
/// [`peer_allowed`] holds even if someone loosens it.
pub const CONTROL_SOCKET_MODE: u32 = 0o600;

/// Control connections served at once; more are closed at accept. Control
/// is for operators and tools, a handful at a time.
pub const MAX_CONNECTIONS: usize = 16;

/// Bytes a control message may take. Requests and answers are small (the
/// largest is a rule list); garbage claiming more is refused before it is
/// read.
pub const MAX_MESSAGE_BYTES: usize = 16 << 20;

/// Pause after a failed `accept` (e.g. out of descriptors), so that a
/// persistent failure does not spin the control thread.
pub const ACCEPT_RETRY: std::time::Duration = std::time::Duration::from_millis(50);

/// Background work a stage runs on the control thread beside the socket
/// (e.g. evaluate's SIGHUP handler).
pub type Task = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The running control thread. Dropping it removes the socket file; the
/// thread itself ends with the process.
pub struct ControlThread {
    path: Option<PathBuf>,
}

impl Drop for ControlThread {
    fn drop(&mut self) {
        if let Some(p) = &self.path {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Binds `path` (if given) now, so that errors show at start-up and the
/// socket exists when this returns, then serves it on a new thread with a
/// fresh capability from `bootstrap` per connection. `tasks` run on the same
/// thread.
pub fn spawn<B>(
    path: Option<&Path>,
    bootstrap: B,
    tasks: Vec<Task>,
) -> Result<ControlThread, ControlError>
where
    B: Fn() -> capnp::capability::Client + Send + 'static,
{
    bind(path)?.serve(bootstrap, tasks)
}

/// A control socket bound, and the runtime that will serve it built, but
/// no thread started yet. The split exists for a stage that locks itself
/// down in between (capture): binding creates a file and building the
/// runtime creates an epoll instance, which a sandbox then forbids, while
/// a thread started after the lock-down inherits every restriction of it.
pub struct Bound {
    listener: Option<std::os::unix::net::UnixListener>,
    runtime: tokio::runtime::Runtime,
    owner: u32,
    /// Removes the socket file if the socket is never served.
    guard: ControlThread,
}

/// The first half of [`spawn`]: binds `path` (if given) with
/// [`CONTROL_SOCKET_MODE`] and builds the serving runtime, on the calling
/// thread.
pub fn bind(path: Option<&Path>) -> Result<Bound, ControlError> {
    let listener = match path {
        Some(p) => {
            let l = transport::listen(p, CONTROL_SOCKET_MODE)?;
            l.set_nonblocking(true).map_err(ControlError::Thread)?;
            Some(l)
        }
        None => None,
    };
    // The socket file belongs to our effective uid: that uid and root are
    // served.
    // SAFETY: geteuid has no failure mode and touches no memory.
    let owner = unsafe { libc::geteuid() };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ControlError::Thread)?;
    Ok(Bound {
        listener,
        runtime,
        owner,
        guard: ControlThread {
            path: path.map(Path::to_path_buf),
        },
    })
}

impl Bound {
    /// The second half of [`spawn`]: starts the control thread, which
    /// serves the socket with a fresh capability from `bootstrap` per
    /// connection and runs `tasks`.
    pub fn serve<B>(self, bootstrap: B, tasks: Vec<Task>) -> Result<ControlThread, ControlError>
    where
        B: Fn() -> capnp::capability::Client + Send + 'static,
    {
        let Bound {
            listener,
            runtime,
            owner,
            guard,
        } = self;
        std::thread::Builder::new()
            .name("control".into())
            .spawn(move || {
                let local = tokio::task::LocalSet::new();
                local.block_on(&runtime, async move {
                    for t in tasks {
                        tokio::spawn(t);
                    }
                    match listener.map(UnixListener::from_std) {
                        Some(Ok(l)) => accept_loop(l, owner, bootstrap).await,
                        Some(Err(e)) => tracing::error!("control socket: {e}"),
                        // No socket: stay up for the tasks.
                        None => std::future::pending::<()>().await,
                    }
                })
            })
            .map_err(ControlError::Thread)?;
        Ok(guard)
    }
}

/// True when a peer of `uid` may use a socket owned by `owner`.
pub fn peer_allowed(uid: u32, owner: u32) -> bool {
    uid == owner || uid == 0
}

async fn accept_loop<B>(listener: UnixListener, owner: u32, bootstrap: B)
where
    B: Fn() -> capnp::capability::Client,
{
    let open = Rc::new(Cell::new(0usize));
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                tracing::warn!("control socket accept: {e}");
                tokio::time::sleep(ACCEPT_RETRY).await;
                continue;
            }
        };
        let uid = match stream.peer_cred() {
            Ok(c) => c.uid(),
            Err(e) => {
                tracing::warn!("control connection without credentials ({e}): closed");
                continue;
            }
        };
        if !peer_allowed(uid, owner) {
            tracing::warn!("control connection from uid {uid} refused (only {owner} and root)");
            continue;
        }
        if open.get() >= MAX_CONNECTIONS {
            tracing::warn!("control connection refused: {MAX_CONNECTIONS} already open");
            continue;
        }
        open.set(open.get() + 1);
        let rpc = rpc_system(stream, Side::Server, Some(bootstrap()));
        let open = open.clone();
        tokio::task::spawn_local(async move {
            // A client that sends garbage or vanishes ends here, alone.
            if let Err(e) = rpc.await {
                tracing::debug!("control connection ended: {e}");
            }
            open.set(open.get() - 1);
        });
    }
}

/// A capnp-rpc system over one Unix stream.
pub(crate) fn rpc_system(
    stream: UnixStream,
    side: Side,
    bootstrap: Option<capnp::capability::Client>,
) -> RpcSystem<Side> {
    let (r, w) = stream.compat().split();
    let mut options = schema::limits::reader_options();
    options.traversal_limit_in_words(Some(MAX_MESSAGE_BYTES / 8));
    let network = twoparty::VatNetwork::new(
        futures::io::BufReader::new(r),
        futures::io::BufWriter::new(w),
        side,
        options,
    );
    RpcSystem::new(Box::new(network), bootstrap)
}
