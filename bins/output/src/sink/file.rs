//! The file sink: alerts appended to a file, one whole line per alert, and
//! the file reopened on SIGHUP so that logrotate can move it away.
//!
//! A line is never left half written. Each alert goes out in its own
//! `write` as soon as it is delivered (as Falco's file output flushes every
//! line), so an alert the queue counts as delivered is in the file even if
//! output is killed next; a write that fails part way (disk full) is cut
//! back to the last whole line before it is retried; and a file that ends
//! in a partial line, from a process killed in the middle of a write, has
//! that tail cut when it is opened.
//!
//! It is not a log rotator: it only reopens when told to.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::{DeliveryError, Sink};
use crate::alert::Alert;
use crate::format::{self, Format};

/// Mode of a file the sink creates: alerts can be sensitive.
const FILE_MODE: u32 = 0o640;

/// How far back from its end a file is searched for the last whole line
/// when it ends in a partial one: the longest line an alert can make (a
/// frame is at most 4 MiB, escaping at most doubles it) and then some. A
/// file whose last newline is further back is not a file of alerts; it is
/// left as it is, with a warning.
const MAX_TORN_TAIL_BYTES: u64 = 16 << 20;

/// Bytes read at a time while looking for that newline.
const TAIL_CHUNK_BYTES: usize = 64 << 10;

pub struct FileSink {
    path: PathBuf,
    format: Format,
    out: Option<File>,
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
            out: Some(f),
            line: Vec::with_capacity(1024),
        })
    }

    fn out(&mut self) -> Result<&mut File, DeliveryError> {
        if self.out.is_none() {
            let f = open(&self.path).map_err(|e| {
                DeliveryError::Retry(format!("cannot open {}: {e}", self.path.display()))
            })?;
            self.out = Some(f);
        }
        // Just set above if it was missing.
        self.out
            .as_mut()
            .ok_or_else(|| DeliveryError::Retry("file not open".into()))
    }
}

/// Opens `path` for appending, cutting a partial last line.
fn open(path: &Path) -> io::Result<File> {
    let f = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(FILE_MODE)
        .open(path)?;
    let meta = f.metadata()?;
    // Regular files only: a FIFO or a terminal has no tail to cut.
    if meta.is_file() && meta.len() > 0 {
        // A file the sink may append to but not read is left as it is.
        match File::open(path) {
            Ok(mut r) => {
                if let Some(cut) = cut_torn_tail(&mut r, &f)? {
                    tracing::warn!(
                        "file sink {}: cut a partial last line of {cut} bytes (a write that did not finish)",
                        path.display()
                    );
                }
            }
            Err(e) => tracing::debug!(
                "file sink {}: not readable ({e}), not checked",
                path.display()
            ),
        }
    }
    Ok(f)
}

/// Truncates the file (`w`, read through `f`) after its last newline when
/// it does not end with one; returns the bytes cut.
fn cut_torn_tail(f: &mut File, w: &File) -> io::Result<Option<u64>> {
    let len = f.metadata()?.len();
    if len == 0 {
        return Ok(None);
    }
    let mut last = [0u8; 1];
    f.read_exact_at(&mut last, len - 1)?;
    if last[0] == b'\n' {
        return Ok(None);
    }
    let floor = len.saturating_sub(MAX_TORN_TAIL_BYTES);
    let mut end = len;
    let mut chunk = vec![0u8; TAIL_CHUNK_BYTES];
    while end > floor {
        let start = end.saturating_sub(TAIL_CHUNK_BYTES as u64).max(floor);
        let buf = &mut chunk[..(end - start) as usize];
        f.seek(SeekFrom::Start(start))?;
        f.read_exact(buf)?;
        if let Some(i) = memchr::memrchr(b'\n', buf) {
            let keep = start + i as u64 + 1;
            w.set_len(keep)?;
            return Ok(Some(len - keep));
        }
        end = start;
    }
    if floor == 0 {
        // No newline at all: the whole file is one partial line.
        w.set_len(0)?;
        return Ok(Some(len));
    }
    tracing::warn!(
        "file sink: no line end in the last {MAX_TORN_TAIL_BYTES} bytes; file left as it is"
    );
    Ok(None)
}

/// Writes all of `line` at the end of `f`; on an error part way, cuts what
/// did get written, so that the file still ends with a whole line.
fn append_whole(f: &mut File, line: &[u8]) -> io::Result<()> {
    let mut written = 0;
    while written < line.len() {
        match f.write(&line[written..]) {
            Ok(0) => {
                let e = io::Error::new(io::ErrorKind::WriteZero, "the file took no bytes");
                return Err(undo(f, written, e));
            }
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(undo(f, written, e)),
        }
    }
    Ok(())
}

/// Cuts the `written` bytes of a line that could not be finished.
fn undo(f: &File, written: usize, e: io::Error) -> io::Error {
    if written == 0 {
        return e;
    }
    let cut = f
        .metadata()
        .and_then(|m| f.set_len(m.len().saturating_sub(written as u64)));
    match cut {
        Ok(()) => e,
        Err(c) => io::Error::new(
            e.kind(),
            format!("{e}; and the {written} bytes written could not be cut: {c}"),
        ),
    }
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
        let res = append_whole(self.out()?, &line);
        self.line = line;
        res.map_err(|e| {
            // Reopen on the next try: the file may have been removed.
            self.out = None;
            DeliveryError::Retry(format!("cannot write {}: {e}", self.path.display()))
        })
    }

    fn flush(&mut self) -> Result<(), DeliveryError> {
        // Every alert was written when it was delivered.
        Ok(())
    }

    fn reopen(&mut self) {
        self.out = None;
        tracing::info!("file sink {}: reopened", self.path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn torn(content: &[u8]) -> (Vec<u8>, Option<u64>) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("alerts");
        std::fs::write(&p, content).unwrap();
        let mut f = File::open(&p).unwrap();
        let cut = cut_torn_tail(&mut f, &open_plain(&p)).unwrap();
        (std::fs::read(&p).unwrap(), cut)
    }

    fn open_plain(p: &Path) -> File {
        OpenOptions::new().read(true).append(true).open(p).unwrap()
    }

    #[test]
    fn a_partial_last_line_is_cut_at_open_and_whole_lines_stay() {
        assert_eq!(
            torn(b"{\"a\":1}\n{\"b\":2}\n{\"c\""),
            (b"{\"a\":1}\n{\"b\":2}\n".to_vec(), Some(4))
        );
        assert_eq!(torn(b"{\"a\":1}\n"), (b"{\"a\":1}\n".to_vec(), None));
        assert_eq!(torn(b""), (Vec::new(), None));
        assert_eq!(torn(b"no newline at all"), (Vec::new(), Some(17)));
    }

    #[test]
    fn the_last_newline_is_found_across_read_chunks() {
        let mut content = b"first\n".to_vec();
        content.extend(std::iter::repeat_n(b'x', 3 * TAIL_CHUNK_BYTES + 17));
        let (kept, cut) = torn(&content);
        assert_eq!(kept, b"first\n");
        assert_eq!(cut, Some(3 * TAIL_CHUNK_BYTES as u64 + 17));
    }

    #[test]
    fn a_write_that_fails_part_way_leaves_no_partial_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("alerts");
        std::fs::write(&p, b"whole\n").unwrap();
        // Three bytes of a line that did not finish, as a short write
        // would have left them.
        let mut f = open_plain(&p);
        f.write_all(b"par").unwrap();
        let e = undo(&f, 3, io::Error::other("disk full"));
        assert_eq!(e.to_string(), "disk full");
        assert_eq!(std::fs::read(&p).unwrap(), b"whole\n");
    }
}
