//! kestrel-pipe-bench: the two ends of the pipe-hop benchmark
//! (`tests/bench/pipe.sh`). `write` sends N typical enriched events to stdout;
//! `read` reads them from stdin, touching several strings of each in place as
//! a stage would, and prints one JSON line of results.
//!
//! The packed encoding is measured for comparison only; kestrel streams are
//! unpacked (see schema/README.md).

use std::io::{self, BufReader, BufWriter, Read, Write};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context};
use capnp::message::Builder;
use clap::{Parser, Subcommand};
use kestrel_tests::frames::{capture_event, referenced_event, typical_event, typical_state};
use schema::arena::ReusedArena;
use schema::kestrel_capnp::{event, frame, Stage};
use schema::limits::{reader_options, READ_BUFFER_BYTES, WRITE_BATCH_BYTES};
use schema::state::StateTable;
use schema::{FrameReader, FrameWriter};

#[derive(Parser)]
#[command(
    name = "kestrel-pipe-bench",
    about = "One end of the pipe-hop benchmark"
)]
struct Args {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Shape {
    /// `frames::typical_event`: an openat with thread, ancestors, fd, user,
    /// group and container.
    Enriched,
    /// The same openat as capture emits it: header fields and parameters.
    Capture,
    /// The enriched openat as enrich sends it by reference: the event's
    /// own fields and fd, naming a `state` frame with the thread, user,
    /// group and container, sent once after the header.
    Referenced,
}

impl Shape {
    fn fill(self, e: event::Builder<'_>, seq: u64) {
        match self {
            Shape::Enriched => typical_event(e, seq),
            Shape::Capture => capture_event(e, seq),
            Shape::Referenced => referenced_event(e, seq),
        }
    }

    /// The frame this shape's events refer to, written once after the
    /// header.
    fn state(self) -> Option<fn(frame::Builder<'_>)> {
        match self {
            Shape::Referenced => Some(|f| typical_state(f.init_state())),
            _ => None,
        }
    }
}

#[derive(Subcommand)]
enum Mode {
    /// Write a header and FRAMES typical events to stdout.
    Write {
        #[arg(long, default_value_t = 5_000_000)]
        frames: u64,
        /// One write(2) per frame instead of batches.
        #[arg(long)]
        unbatched: bool,
        /// Cap'n Proto packed encoding instead of kestrel's unpacked frames.
        #[arg(long)]
        packed: bool,
        /// Which event: enrich's output, or capture's (no enrichment).
        #[arg(long, value_enum, default_value_t = Shape::Enriched)]
        event: Shape,
    },
    /// Read a stream from stdin and report frames/s and MB/s as JSON.
    Read {
        #[arg(long)]
        packed: bool,
        /// Only frame and decode the root, touching no strings: the cost
        /// of the hop itself.
        #[arg(long)]
        no_touch: bool,
    },
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match args.mode {
        Mode::Write {
            frames,
            unbatched,
            packed: false,
            event,
        } => write_unpacked(frames, unbatched, event),
        Mode::Write {
            frames,
            unbatched,
            packed: true,
            event,
        } => write_packed(frames, unbatched, event),
        Mode::Read {
            packed: false,
            no_touch,
        } => read_unpacked(!no_touch),
        Mode::Read {
            packed: true,
            no_touch,
        } => read_packed(!no_touch),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kestrel-pipe-bench: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Standard output as the stages open it: the raw descriptor, not Rust's
/// line-buffered `Stdout`, whose newline scan would be measured too.
fn stdout() -> anyhow::Result<stage::transport::Stream> {
    Ok(stage::transport::open_output(&stage::Endpoint::Stdio)?)
}

fn write_unpacked(frames: u64, unbatched: bool, shape: Shape) -> anyhow::Result<()> {
    let out = stdout()?;
    let mut w = if unbatched {
        FrameWriter::unbatched(out)
    } else {
        FrameWriter::new(out)
    };
    w.write_header(Stage::Enrich)?;
    if let Some(state) = shape.state() {
        w.build(|f| {
            state(f);
            Ok::<_, io::Error>(())
        })?;
    }
    let start_cpu = cpu_ns();
    for i in 0..frames {
        w.build(|f: frame::Builder<'_>| {
            shape.fill(f.init_event(), i);
            Ok::<_, io::Error>(())
        })?;
    }
    w.flush()?;
    report_writer_cpu(start_cpu, frames);
    Ok(())
}

fn write_packed(frames: u64, unbatched: bool, shape: Shape) -> anyhow::Result<()> {
    let mut out = BufWriter::with_capacity(WRITE_BATCH_BYTES, stdout()?);
    let mut arena = ReusedArena::new(1024);
    {
        let mut msg = Builder::new_default();
        schema::header::fill(
            msg.init_root::<frame::Builder>().init_header(),
            Stage::Enrich,
        );
        capnp::serialize_packed::write_message(&mut out, &msg)?;
    }
    if let Some(state) = shape.state() {
        let mut msg = Builder::new_default();
        state(msg.init_root::<frame::Builder>());
        capnp::serialize_packed::write_message(&mut out, &msg)?;
    }
    let start_cpu = cpu_ns();
    for i in 0..frames {
        let mut msg = Builder::new(&mut arena);
        shape.fill(msg.init_root::<frame::Builder>().init_event(), i);
        capnp::serialize_packed::write_message(&mut out, &msg)?;
        if unbatched {
            out.flush()?;
        }
    }
    out.flush()?;
    report_writer_cpu(start_cpu, frames);
    Ok(())
}

/// What the reader touches in each event: the strings a rule on a file open
/// typically reads, borrowed from the frame, plus a checksum over them so
/// the work cannot be optimised away.
fn touch(e: event::Reader<'_>, states: &mut StateTable) -> capnp::Result<u64> {
    let mut sum = 0u64;
    let mut add = |b: &[u8]| {
        sum = sum.wrapping_add(b.len() as u64 + u64::from(b.first().copied().unwrap_or(0)))
    };
    // `try_get`, not `get`: list indexing panics past the end, and the
    // frame came from outside.
    if let Some(p) = e.get_params()?.try_get(1) {
        if let schema::param::Bytes(b) = p.which()? {
            add(b?);
        }
    }
    if !e.has_fd() {
        // A capture event: the path is all there is.
        return Ok(sum);
    }
    add(e.get_fd()?.get_name()?);
    // The thread, user and container: the event's own, or those of the
    // state it names.
    let (thread, user, container) = match states.get(e) {
        Some(st) => (st.thread, st.user, st.container),
        None => (
            Some(e.get_thread()?),
            Some(e.get_user()?),
            Some(e.get_container()?),
        ),
    };
    if let Some(t) = thread {
        add(t.get_exepath()?);
        if let Some(parent) = t.get_ancestors()?.try_get(0) {
            add(parent.get_exepath()?);
        }
    }
    if let Some(u) = user {
        add(u.get_name()?.as_bytes());
    }
    if let Some(c) = container {
        add(c.get_id()?.as_bytes());
    }
    Ok(sum)
}

/// CPU time (user + system) this process has used, in ns. Unlike wall-clock
/// rates it hardly moves when other work shares the machine, so it shows
/// what each end costs per frame.
fn cpu_ns() -> u64 {
    // SAFETY: rusage is plain data that getrusage fills.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: writes into the local we own.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } != 0 {
        return 0;
    }
    let ns = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1_000;
    ns(u.ru_utime) + ns(u.ru_stime)
}

/// Reports the writer's CPU cost per frame on stderr (stdout is the stream).
fn report_writer_cpu(start_cpu: u64, frames: u64) {
    eprintln!(
        "{}",
        serde_json::json!({ "writer_cpu_ns_per_frame": (cpu_ns() - start_cpu) as f64 / frames.max(1) as f64 })
    );
}

struct Tally {
    start: Instant,
    start_cpu: u64,
    frames: u64,
    bytes: u64,
    sum: u64,
}

impl Tally {
    fn report(&self) {
        let secs = self.start.elapsed().as_secs_f64();
        println!(
            "{}",
            serde_json::json!({
                "frames": self.frames,
                "bytes": self.bytes,
                "secs": secs,
                "frames_per_s": self.frames as f64 / secs,
                "mb_per_s": self.bytes as f64 / secs / 1e6,
                "frame_bytes": self.bytes / self.frames.max(1),
                "checksum": self.sum,
                "reader_cpu_ns_per_frame": (cpu_ns() - self.start_cpu) as f64 / self.frames.max(1) as f64,
            })
        );
    }
}

fn read_unpacked(touching: bool) -> anyhow::Result<()> {
    let mut r = FrameReader::new(stage::transport::open_input(&stage::Endpoint::Stdio)?);
    if r.read_header()?.is_none() {
        bail!("empty input");
    }
    let mut t = Tally {
        start: Instant::now(),
        start_cpu: cpu_ns(),
        frames: 0,
        bytes: 0,
        sum: 0,
    };
    let mut states = StateTable::new();
    while let Some(f) = r.next()? {
        let offset = f.offset();
        let root = f.root()?;
        if touching {
            // As evaluate's stream loop does: the union is read once.
            match root.which().context("frame kind")? {
                frame::Event(e) => {
                    t.sum = t.sum.wrapping_add(
                        touch(e?, &mut states)
                            .with_context(|| format!("event at byte {offset}"))?,
                    );
                }
                frame::State(_) | frame::StateGone(_) => {
                    states.apply(root, f.raw());
                    continue;
                }
                _ => {}
            }
        }
        t.frames += 1;
        t.bytes += f.raw().len() as u64;
    }
    t.report();
    Ok(())
}

/// Counts bytes passing through, for the packed reader's MB/s.
struct Counting<R> {
    inner: R,
    bytes: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
}

fn read_packed(touching: bool) -> anyhow::Result<()> {
    let mut r = BufReader::with_capacity(
        READ_BUFFER_BYTES,
        Counting {
            inner: stage::transport::open_input(&stage::Endpoint::Stdio)?,
            bytes: 0,
        },
    );
    let Some(_header) = capnp::serialize_packed::try_read_message(&mut r, reader_options())? else {
        bail!("empty input");
    };
    let mut t = Tally {
        start: Instant::now(),
        start_cpu: cpu_ns(),
        frames: 0,
        bytes: 0,
        sum: 0,
    };
    let mut states = StateTable::new();
    while let Some(msg) = capnp::serialize_packed::try_read_message(&mut r, reader_options())? {
        let root = msg.get_root::<frame::Reader>()?;
        if let (true, frame::State(_)) = (touching, root.which().context("frame kind")?) {
            // The table keeps frames as unpacked bytes.
            let mut unpacked = Builder::new_default();
            unpacked.set_root(root)?;
            states.apply(root, &capnp::serialize::write_message_to_words(&unpacked));
            continue;
        }
        if let (true, frame::Event(e)) = (touching, root.which().context("frame kind")?) {
            t.sum = t.sum.wrapping_add(touch(e?, &mut states)?);
        }
        t.frames += 1;
    }
    t.bytes = r.get_ref().bytes;
    t.report();
    Ok(())
}
