//! The file sink: alerts appended to a file, one per line, and the file
//! reopened on SIGHUP so that logrotate can move it away.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use super::{DeliveryError, Sink};
use crate::alert::Alert;
use crate::format::{self, Format};

/// Bytes buffered before a write; flushed whenever no alert is waiting.
const FILE_BUFFER_BYTES: usize = 256 << 10;

/// Mode of a file the sink creates: alerts can be sensitive.
const FILE_MODE: u32 = 0o640;

pub struct FileSink {
    path: PathBuf,
    format: Format,
    out: Option<BufWriter<File>>,
    line: Vec<u8>,
}

impl FileSink {
    /// Opens `path` for appending (created if missing).
    pub fn new(path: PathBuf, format: Format) -> anyhow::Result<Self> {
        let f = open(&path)
            .map_err(|e| anyhow::anyhow!("cannot open file sink {}: {e}", path.display()))?;
        Ok(FileSink {
            path,
            format,
            out: Some(BufWriter::with_capacity(FILE_BUFFER_BYTES, f)),
            line: Vec::with_capacity(1024),
        })
    }

    fn out(&mut self) -> Result<&mut BufWriter<File>, DeliveryError> {
        if self.out.is_none() {
            let f = open(&self.path).map_err(|e| {
                DeliveryError::Retry(format!("cannot open {}: {e}", self.path.display()))
            })?;
            self.out = Some(BufWriter::with_capacity(FILE_BUFFER_BYTES, f));
        }
        // Just set above if it was missing.
        self.out
            .as_mut()
            .ok_or_else(|| DeliveryError::Retry("file not open".into()))
    }
}

fn open(path: &PathBuf) -> std::io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(FILE_MODE)
        .open(path)
}

impl Sink for FileSink {
    fn deliver(&mut self, alert: &Alert) -> Result<(), DeliveryError> {
        self.line.clear();
        match self.format {
            Format::Json => format::json_into(&mut self.line, alert)?,
            Format::Text => self
                .line
                .extend_from_slice(format::text(alert, false)?.as_bytes()),
        }
        self.line.push(b'\n');
        let line = std::mem::take(&mut self.line);
        let res = self.out()?.write_all(&line);
        self.line = line;
        res.map_err(|e| {
            // Reopen on the next try: the file may have been removed.
            self.out = None;
            DeliveryError::Retry(format!("cannot write {}: {e}", self.path.display()))
        })
    }

    fn flush(&mut self) -> Result<(), DeliveryError> {
        if let Some(out) = &mut self.out {
            out.flush().map_err(|e| {
                DeliveryError::Retry(format!("cannot write {}: {e}", self.path.display()))
            })?;
        }
        Ok(())
    }

    fn reopen(&mut self) {
        if let Some(mut out) = self.out.take() {
            if let Err(e) = out.flush() {
                tracing::warn!(
                    "file sink {}: flush before reopening: {e}",
                    self.path.display()
                );
            }
        }
        tracing::info!("file sink {}: reopened", self.path.display());
    }
}
