//! The control plane: each stage's Cap'n Proto RPC interface (see
//! `capnp/control.capnp`) served on a `--control PATH` Unix socket, and the
//! client that `NAME ctl …` uses to talk to it.
//!
//! The server runs capnp-rpc on a tokio `LocalSet` in a thread of its own,
//! so a slow or hostile control client can never stall a stage's event
//! path: the two sides share only [`StageStatus`] (atomics and short-held
//! mutexes) and whatever a stage chooses to share through its own server.
//! Only the socket owner's uid and root are served, checked on every
//! connection with `SO_PEERCRED`, not only through the socket's file mode.
//!
//! It is not a place for stage logic: a stage implements its own interface
//! (e.g. `EvaluateControl`) in its own crate and answers the generic
//! methods by calling [`generic`].

pub mod client;
pub mod feed;
pub mod generic;
pub mod server;

pub mod status;

pub use server::{bind, spawn, Bound, ControlThread};
pub use status::StageStatus;

use std::path::PathBuf;

/// What can go wrong setting up or using a control socket.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("control socket: {0}")]
    Listen(#[from] crate::transport::TransportError),
    #[error("control thread: {0}")]
    Thread(std::io::Error),
    #[error("cannot connect to control socket {path}: {source}")]
    Connect {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("control call failed: {0}")]
    Rpc(#[from] capnp::Error),
}
