//! How a stage's run ends, and the one place that decides what a write
//! error means: a reader that went away is a clean stop (exit 0, one
//! line), anything else is a failure (exit 1, one line).
//!
//! Frames built in place go through Cap'n Proto's serializer, which turns
//! an `EPIPE` into its own `Disconnected` error; `schema::writer` maps that
//! back to [`io::ErrorKind::BrokenPipe`], so here the kind alone decides.

use std::io;
use std::process::ExitCode;

use schema::FrameError;

/// Why a stage stopped before the end of its input.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// The input is not a kestrel stream, or broke (the message names the
    /// byte offset).
    #[error("{0}")]
    Input(#[from] FrameError),
    /// The reader of our output went away: a clean stop.
    #[error("output closed")]
    OutputClosed,
    /// Writing failed otherwise.
    #[error("writing output: {0}")]
    Output(#[source] io::Error),
    /// A stage-specific failure, already worded for the operator.
    #[error("{0}")]
    Stage(String),
}

impl From<io::Error> for StageError {
    fn from(e: io::Error) -> Self {
        if is_broken_pipe(&e) {
            StageError::OutputClosed
        } else {
            StageError::Output(e)
        }
    }
}

impl StageError {
    /// A stage's own failure, e.g. `StageError::stage(format!(…))`.
    pub fn stage(msg: impl Into<String>) -> Self {
        StageError::Stage(msg.into())
    }

    /// Prints the one line this outcome deserves on stderr and gives the
    /// exit code: 0 for a closed output, 1 otherwise.
    pub fn report(&self, program: &str) -> ExitCode {
        match self {
            StageError::OutputClosed => {
                eprintln!("{program}: output closed");
                ExitCode::SUCCESS
            }
            e => {
                eprintln!("{program}: error: {e}");
                ExitCode::FAILURE
            }
        }
    }
}

/// True when `e` says the reader of what we write has gone.
pub fn is_broken_pipe(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe || e.raw_os_error() == Some(libc::EPIPE)
}

/// The exit code of a whole run: `Ok` is 0; errors are reported by
/// [`StageError::report`].
pub fn exit_code(program: &str, r: Result<(), StageError>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => e.report(program),
    }
}

/// True when an `anyhow` chain holds a broken pipe (for binaries whose
/// errors travel as `anyhow::Error` up to `main`).
pub fn chain_is_broken_pipe<'a>(
    mut chain: impl Iterator<Item = &'a (dyn std::error::Error + 'static)>,
) -> bool {
    chain.any(|c| {
        c.downcast_ref::<io::Error>().is_some_and(is_broken_pipe)
            || matches!(
                c.downcast_ref::<StageError>(),
                Some(StageError::OutputClosed)
            )
    })
}
