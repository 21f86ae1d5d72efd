//! How the stage ends: the one-line messages and exit codes every kestrel
//! stage shares. Bad input is `output: error: …` and exit 1; a closed stdout
//! is `output: output closed` and exit 0; a setup problem is an error with
//! its context and exit 1.
//!
//! Not for alert delivery failures: those are retried, spooled and counted
//! by the sinks, never fatal.

use std::io;

use schema::transport::TransportError;
use schema::FrameError;

/// Why the stage stopped early.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// The input stream was unreadable or not a kestrel stream.
    #[error("{0}")]
    Input(#[from] FrameError),
    /// stdout went away (the reader of a pipe exited).
    #[error("output closed")]
    OutputClosed,
    /// Anything else: configuration, sockets, files.
    #[error("{0:#}")]
    Setup(#[from] anyhow::Error),
}

impl StageError {
    pub fn open_input(e: TransportError) -> Self {
        StageError::Setup(anyhow::Error::new(e).context("cannot open --input"))
    }

    pub fn open_output(e: TransportError) -> Self {
        StageError::Setup(anyhow::Error::new(e).context("cannot open stdout"))
    }

    /// Exit code and the line to print on stderr.
    pub fn report(&self) -> (i32, String) {
        match self {
            StageError::OutputClosed => (0, "output: output closed".into()),
            other => (1, format!("output: error: {other}")),
        }
    }
}

impl From<io::Error> for StageError {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::BrokenPipe {
            StageError::OutputClosed
        } else {
            StageError::Setup(anyhow::Error::new(e).context("cannot write to stdout"))
        }
    }
}
