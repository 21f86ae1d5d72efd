//! A sink's disk spool: the alerts it has not yet delivered, in order, on
//! disk, so that they survive a destination outage and an output restart.
//!
//! Layout of a spool directory: numbered segment files (`00000000000000000001.seg`,
//! …), each a sequence of records, one alert as a JSON line per record, and
//! a `cursor` file holding the position of the oldest undelivered record.
//! Records are appended to the last segment; a segment is deleted once every
//! record in it is delivered. When the spool would pass its byte limit the
//! oldest segment is deleted whole and its undelivered records are counted
//! as dropped: old alerts give way to new ones.
//!
//! The cursor is written after each delivery, so after a crash at most the
//! alert being delivered is sent again (at-least-once). A record cut short by
//! a crash mid-append is discarded when the spool is opened.
//!
//! Not for deciding what to deliver when: that is [`crate::queue`].

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Size at which the write segment is closed and a new one started. Small
/// enough that dropping the oldest segment loses a bounded number of alerts,
/// large enough that file creation is rare.
pub const SEGMENT_BYTES: u64 = 1 << 20;

/// Smallest spool limit accepted: two segments, so that dropping the oldest
/// one always leaves room.
pub const MIN_SPOOL_BYTES: u64 = 2 * SEGMENT_BYTES;

/// Bytes of appended records buffered before a write.
const APPEND_BUFFER_BYTES: usize = 64 << 10;

/// Mode of a sink's spool directory.
const SPOOL_DIR_MODE: u32 = 0o700;

const CURSOR_FILE: &str = "cursor";
const SEGMENT_SUFFIX: &str = ".seg";

/// Where a record starts: segment id and byte offset in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub seg: u64,
    pub off: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("spool {dir}: {what}: {source}")]
    Io {
        dir: PathBuf,
        what: &'static str,
        #[source]
        source: io::Error,
    },
}

/// One sink's spool, opened.
pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    /// (id, size in bytes) of each segment, oldest first; the last one is
    /// being written.
    segments: VecDeque<(u64, u64)>,
    writer: BufWriter<File>,
    reader: Option<(Pos, BufReader<File>)>,
    cursor: Pos,
    cursor_file: File,
    pending: u64,
    dropped: u64,
}

impl Spool {
    /// Opens (or creates) the spool in `dir`, keeping at most `max_bytes`.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<Spool, SpoolError> {
        let err = |what: &'static str| {
            let dir = dir.to_path_buf();
            move |source| SpoolError::Io { dir, what, source }
        };
        fs::create_dir_all(dir).map_err(err("cannot create the directory"))?;
        // Alerts name users, files and commands: only output's user may
        // read them.
        fs::set_permissions(dir, fs::Permissions::from_mode(SPOOL_DIR_MODE))
            .map_err(err("cannot restrict the directory's permissions"))?;
        let mut ids: Vec<u64> = fs::read_dir(dir)
            .map_err(err("cannot list the directory"))?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                name.strip_suffix(SEGMENT_SUFFIX)?.parse().ok()
            })
            .collect();
        ids.sort_unstable();
        if ids.is_empty() {
            ids.push(1);
        }
        let mut segments = VecDeque::new();
        for (i, id) in ids.iter().enumerate() {
            let path = segment_path(dir, *id);
            let file = OpenOptions::new()
                .create(true)
                .read(true)
                .append(true)
                .open(&path)
                .map_err(err("cannot open a segment"))?;
            let mut size = file.metadata().map_err(err("cannot stat a segment"))?.len();
            if i + 1 == ids.len() {
                size = cut_partial_record(&file, size)
                    .map_err(err("cannot repair the last segment"))?;
            }
            segments.push_back((*id, size));
        }
        let (last_id, _) = *segments.back().unwrap_or(&(1, 0));
        let writer = OpenOptions::new()
            .append(true)
            .open(segment_path(dir, last_id))
            .map_err(err("cannot open the write segment"))?;
        let cursor_file = OpenOptions::new()
            .create(true)
            .read(true)
            .write(true)
            .truncate(false)
            .open(dir.join(CURSOR_FILE))
            .map_err(err("cannot open the cursor"))?;
        let first = segments.front().map(|s| s.0).unwrap_or(1);
        let mut cursor = read_cursor(&cursor_file).unwrap_or(Pos { seg: first, off: 0 });
        let known = segments.iter().find(|s| s.0 == cursor.seg);
        match known {
            Some((_, size)) if cursor.off <= *size => {}
            _ => cursor = Pos { seg: first, off: 0 },
        }
        let mut spool = Spool {
            dir: dir.to_path_buf(),
            max_bytes: max_bytes.max(MIN_SPOOL_BYTES),
            segments,
            writer: BufWriter::with_capacity(APPEND_BUFFER_BYTES, writer),
            reader: None,
            cursor,
            cursor_file,
            pending: 0,
            dropped: 0,
        };
        spool.pending = spool
            .count_from(cursor)
            .map_err(err("cannot read the spool"))?;
        spool
            .delete_before(cursor.seg)
            .map_err(err("cannot delete a delivered segment"))?;
        Ok(spool)
    }

    /// Appends one record (no newline inside) and returns its position.
    pub fn append(&mut self, record: &[u8]) -> io::Result<Pos> {
        let len = record.len() as u64 + 1;
        let (mut id, mut size) = *self.segments.back().unwrap_or(&(1, 0));
        if size >= SEGMENT_BYTES {
            self.writer.flush()?;
            id += 1;
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(segment_path(&self.dir, id))?;
            self.writer = BufWriter::with_capacity(APPEND_BUFFER_BYTES, f);
            self.segments.push_back((id, 0));
            size = 0;
        }
        while self.total_bytes() + len > self.max_bytes && self.segments.len() > 1 {
            self.drop_oldest()?;
        }
        self.writer.write_all(record)?;
        self.writer.write_all(b"\n")?;
        if let Some(last) = self.segments.back_mut() {
            last.1 = size + len;
        }
        self.pending += 1;
        Ok(Pos { seg: id, off: size })
    }

    /// Writes buffered records to the segment file.
    pub fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }

    /// The oldest undelivered record: its bytes, its position and the
    /// position after it. `None` when everything is delivered.
    pub fn oldest(&mut self) -> io::Result<Option<(Vec<u8>, Pos, Pos)>> {
        loop {
            let Some(&(seg_id, seg_size)) = self.segments.iter().find(|s| s.0 == self.cursor.seg)
            else {
                return Ok(None);
            };
            let is_last = self.segments.back().map(|s| s.0) == Some(seg_id);
            if self.cursor.off >= seg_size {
                if is_last {
                    return Ok(None);
                }
                // Segment exhausted: move on; it is deleted at the next ack.
                let next = self.segments.iter().find(|s| s.0 > seg_id).map(|s| s.0);
                match next {
                    Some(n) => {
                        self.cursor = Pos { seg: n, off: 0 };
                        continue;
                    }
                    None => return Ok(None),
                }
            }
            if is_last {
                self.writer.flush()?;
            }
            let at = self.cursor;
            let reader = match &mut self.reader {
                Some((pos, r)) if *pos == at => r,
                _ => {
                    let mut f = File::open(segment_path(&self.dir, at.seg))?;
                    f.seek(SeekFrom::Start(at.off))?;
                    &mut self.reader.insert((at, BufReader::new(f))).1
                }
            };
            let mut line = Vec::new();
            let n = reader.read_until(b'\n', &mut line)?;
            if n == 0 || line.last() != Some(&b'\n') {
                // The segment's size said there was a record here; the file
                // disagrees (removed or cut by hand). Skip what is left.
                self.reader = None;
                self.cursor = Pos {
                    seg: at.seg,
                    off: seg_size,
                };
                continue;
            }
            line.pop();
            let next = Pos {
                seg: at.seg,
                off: at.off + n as u64,
            };
            if let Some((pos, _)) = &mut self.reader {
                *pos = next;
            }
            return Ok(Some((line, at, next)));
        }
    }

    /// Marks every record before `next` delivered, and records that on disk.
    pub fn ack(&mut self, next: Pos) -> io::Result<()> {
        if next <= self.cursor {
            return Ok(());
        }
        self.cursor = next;
        self.pending = self.pending.saturating_sub(1);
        write_cursor(&self.cursor_file, next)?;
        self.delete_before(next.seg)
    }

    /// Records not yet delivered.
    pub fn pending(&self) -> u64 {
        self.pending
    }

    /// Records dropped because the spool was full, since it was opened.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Bytes on disk.
    pub fn total_bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.1).sum()
    }

    pub fn cursor(&self) -> Pos {
        self.cursor
    }

    fn drop_oldest(&mut self) -> io::Result<()> {
        let Some((id, size)) = self.segments.pop_front() else {
            return Ok(());
        };
        let lost = if self.cursor.seg > id {
            0
        } else {
            count_records(&segment_path(&self.dir, id), self.cursor.off.min(size))?
        };
        fs::remove_file(segment_path(&self.dir, id))?;
        if self.cursor.seg <= id {
            let first = self.segments.front().map(|s| s.0).unwrap_or(id + 1);
            self.cursor = Pos { seg: first, off: 0 };
            self.reader = None;
            write_cursor(&self.cursor_file, self.cursor)?;
        }
        self.pending = self.pending.saturating_sub(lost);
        self.dropped += lost;
        Ok(())
    }

    fn delete_before(&mut self, seg: u64) -> io::Result<()> {
        while self.segments.len() > 1 && self.segments.front().is_some_and(|s| s.0 < seg) {
            if let Some((id, _)) = self.segments.pop_front() {
                fs::remove_file(segment_path(&self.dir, id))?;
            }
        }
        Ok(())
    }

    fn count_from(&self, from: Pos) -> io::Result<u64> {
        let mut n = 0;
        for (id, _) in self.segments.iter().filter(|s| s.0 >= from.seg) {
            let skip = if *id == from.seg { from.off } else { 0 };
            n += count_records(&segment_path(&self.dir, *id), skip)?;
        }
        Ok(n)
    }
}

fn segment_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id:020}{SEGMENT_SUFFIX}"))
}

/// Complete records in the file at `path` after byte `skip`.
fn count_records(path: &Path, skip: u64) -> io::Result<u64> {
    let mut f = File::open(path)?;
    f.seek(SeekFrom::Start(skip))?;
    let mut buf = vec![0u8; 64 << 10];
    let mut n = 0;
    loop {
        let got = f.read(&mut buf)?;
        if got == 0 {
            return Ok(n);
        }
        n += buf[..got].iter().filter(|b| **b == b'\n').count() as u64;
    }
}

/// Cuts a trailing record that has no newline (a crash mid-append) and
/// returns the new size.
fn cut_partial_record(f: &File, size: u64) -> io::Result<u64> {
    if size == 0 {
        return Ok(0);
    }
    let mut last = [0u8; 1];
    f.read_exact_at(&mut last, size - 1)?;
    if last[0] == b'\n' {
        return Ok(size);
    }
    // Walk back to the last newline.
    let mut end = size;
    let mut buf = vec![0u8; 4096];
    while end > 0 {
        let start = end.saturating_sub(buf.len() as u64);
        let chunk = &mut buf[..(end - start) as usize];
        f.read_exact_at(chunk, start)?;
        if let Some(i) = chunk.iter().rposition(|b| *b == b'\n') {
            let keep = start + i as u64 + 1;
            f.set_len(keep)?;
            return Ok(keep);
        }
        end = start;
    }
    f.set_len(0)?;
    Ok(0)
}

/// Cursor file: "SEGMENT OFFSET\n", fixed width so that one positional write
/// replaces it whole.
fn write_cursor(f: &File, p: Pos) -> io::Result<()> {
    f.write_all_at(format!("{:020} {:020}\n", p.seg, p.off).as_bytes(), 0)
}

fn read_cursor(f: &File) -> Option<Pos> {
    let mut buf = [0u8; 42];
    f.read_exact_at(&mut buf, 0).ok()?;
    let s = std::str::from_utf8(&buf).ok()?;
    let (seg, off) = s.trim().split_once(' ')?;
    Some(Pos {
        seg: seg.parse().ok()?,
        off: off.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(s: &mut Spool) -> Vec<String> {
        let mut out = Vec::new();
        while let Some((rec, _, next)) = s.oldest().unwrap() {
            out.push(String::from_utf8(rec).unwrap());
            s.ack(next).unwrap();
        }
        out
    }

    #[test]
    fn records_survive_a_reopen_in_order() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut s = Spool::open(dir.path(), MIN_SPOOL_BYTES).unwrap();
            for i in 0..5 {
                s.append(format!("r{i}").as_bytes()).unwrap();
            }
            let (rec, _, next) = s.oldest().unwrap().unwrap();
            assert_eq!(rec, b"r0");
            s.ack(next).unwrap();
            s.flush().unwrap();
        }
        let mut s = Spool::open(dir.path(), MIN_SPOOL_BYTES).unwrap();
        assert_eq!(s.pending(), 4);
        let mode = fs::metadata(dir.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, SPOOL_DIR_MODE);
        s.append(b"r5").unwrap();
        assert_eq!(drain(&mut s), ["r1", "r2", "r3", "r4", "r5"]);
        assert_eq!(s.pending(), 0);
    }

    #[test]
    fn a_record_cut_by_a_crash_is_discarded() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut s = Spool::open(dir.path(), MIN_SPOOL_BYTES).unwrap();
            s.append(b"whole").unwrap();
            s.flush().unwrap();
        }
        let seg = segment_path(dir.path(), 1);
        let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
        f.write_all(b"{\"half").unwrap();
        let mut s = Spool::open(dir.path(), MIN_SPOOL_BYTES).unwrap();
        assert_eq!(drain(&mut s), ["whole"]);
    }

    #[test]
    fn when_full_the_oldest_records_are_dropped_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Spool::open(dir.path(), MIN_SPOOL_BYTES).unwrap();
        let record = vec![b'x'; 1000];
        let total = 3 * SEGMENT_BYTES / 1001;
        for _ in 0..total {
            s.append(&record).unwrap();
        }
        assert!(s.total_bytes() <= MIN_SPOOL_BYTES);
        assert!(s.dropped() > 0);
        assert_eq!(s.dropped() + s.pending(), total);
        assert_eq!(drain(&mut s).len() as u64, total - s.dropped());
        // Delivered segments are deleted.
        let segs = fs::read_dir(dir.path()).unwrap().count();
        assert!(segs <= 2, "{segs} files left");
    }
}
