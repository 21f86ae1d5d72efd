//! The stdout sink: Falco's text lines (coloured on a terminal) or JSON
//! lines, batched and flushed when no more alerts are waiting.

use std::io::{BufWriter, ErrorKind, Write};

use schema::transport::{self, Endpoint, Stream};

use super::{DeliveryError, Sink};
use crate::alert::Alert;
use crate::format::{self, Format};

/// Bytes buffered before a write, when alerts come faster than stdout takes
/// them.
const STDOUT_BUFFER_BYTES: usize = 64 << 10;

pub struct StdoutSink {
    out: BufWriter<Stream>,
    format: Format,
    colour: bool,
}

impl StdoutSink {
    pub fn new(format: Format, colour: bool) -> anyhow::Result<Self> {
        let out = transport::open_output(&Endpoint::Stdio)?;
        Ok(StdoutSink {
            out: BufWriter::with_capacity(STDOUT_BUFFER_BYTES, out),
            format,
            colour,
        })
    }
}

fn io_error(e: std::io::Error) -> DeliveryError {
    if e.kind() == ErrorKind::BrokenPipe {
        DeliveryError::OutputClosed
    } else {
        DeliveryError::Retry(e.to_string())
    }
}

impl Sink for StdoutSink {
    fn deliver(&mut self, alert: &Alert) -> Result<(), DeliveryError> {
        let line = format::render(alert, self.format, self.colour);
        self.out.write_all(line.as_bytes()).map_err(io_error)?;
        self.out.write_all(b"\n").map_err(io_error)
    }

    fn flush(&mut self) -> Result<(), DeliveryError> {
        self.out.flush().map_err(io_error)
    }
}

/// Whether stdout is a terminal (colour by default).
pub fn is_terminal() -> bool {
    // SAFETY: isatty only queries the descriptor.
    unsafe { libc::isatty(1) == 1 }
}
