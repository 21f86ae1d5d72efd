//! The stdout sink: Falco's text lines (coloured on a terminal) or JSON
//! lines, batched and flushed when no more alerts are waiting.

use std::io::{BufWriter, ErrorKind, Write};

use stage::transport::{self, Endpoint, Stream};

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
    /// Reused for each line.
    line: Vec<u8>,
}

impl StdoutSink {
    pub fn new(format: Format, colour: bool) -> anyhow::Result<Self> {
        let out = transport::open_output(&Endpoint::Stdio)?;
        Ok(StdoutSink {
            out: BufWriter::with_capacity(STDOUT_BUFFER_BYTES, out),
            format,
            colour,
            line: Vec::with_capacity(1024),
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
        self.line.clear();
        match self.format {
            Format::Json => format::json_into(&mut self.line, alert)?,
            Format::Text => self
                .line
                .extend_from_slice(format::text(alert, self.colour)?.as_bytes()),
        }
        self.line.push(b'\n');
        self.out.write_all(&self.line).map_err(io_error)
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
