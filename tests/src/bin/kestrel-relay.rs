//! kestrel-relay: copies a frame stream from `--input` to `--output`, following
//! the conventions every stage follows (header check, own header, batching
//! flushed when input is idle, stats forwarded and emitted, one-line errors,
//! clean stop on EOF and on a closed output, concatenated streams joined).
//!
//! It exists to test the pipe itself (every transport, every bad stream)
//! without any stage's logic in the way; it is not a stage.

use std::io;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use schema::header;
use schema::kestrel_capnp::{frame, Stage};
use schema::{FrameError, FrameReader, FrameWriter};
use stage::transport::{open_input, open_output};
use stage::Endpoint;

/// How often the relay emits its own stats frame.
const STATS_INTERVAL: Duration = Duration::from_secs(1);

/// Name of this program in messages and in its stats frames.
const NAME: &str = "kestrel-relay";

#[derive(Parser)]
#[command(name = NAME, about = "Copy a kestrel frame stream (pipe tests)")]
struct Args {
    /// Where frames come from: -, unix:PATH, listen:PATH[:mode=0600], fd:N, systemd.
    #[arg(long, default_value = "-")]
    input: Endpoint,
    /// Where frames go, same syntax.
    #[arg(long, default_value = "-")]
    output: Endpoint,
}

/// Why the relay stopped early.
enum Stop {
    /// The reader downstream went away: not an error.
    OutputClosed,
    Failed(anyhow::Error),
}

impl From<anyhow::Error> for Stop {
    fn from(e: anyhow::Error) -> Self {
        Stop::Failed(e)
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let args = Args::parse();
    match relay(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Stop::OutputClosed) => {
            eprintln!("{NAME}: output closed");
            ExitCode::SUCCESS
        }
        Err(Stop::Failed(e)) => {
            eprintln!("{NAME}: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Counters the relay reports in its stats frames.
#[derive(Default)]
struct Counters {
    frames: u64,
    bytes: u64,
}

fn relay(args: &Args) -> Result<(), Stop> {
    let input = open_input(&args.input).with_context(|| format!("input {}", args.input))?;
    let mut reader = FrameReader::new(input);
    let Some(header) = reader.read_header().context("reading the header")? else {
        return Ok(());
    };
    tracing::info!(?header, "input header");
    let output = open_output(&args.output).with_context(|| format!("output {}", args.output))?;
    let mut writer = FrameWriter::new(output);
    writer.write_header(Stage::Unknown).map_err(write_err)?;
    let mut counters = Counters::default();
    let mut next_stats = Instant::now() + STATS_INTERVAL;
    loop {
        let Some(f) = reader.next().context("reading")? else {
            break;
        };
        counters.frames += 1;
        counters.bytes += f.raw().len() as u64;
        // A header here starts a concatenated stream (`cat a.kst b.kst`):
        // checked like the first, not forwarded, since this stream has
        // its own. Every other frame, stats included, goes on unchanged.
        let root = f.root().context("reading")?;
        if let Ok(frame::Header(_)) = root.which() {
            let offset = f.offset();
            match header::check_frame(Ok(root)) {
                Ok(_) => {}
                // Its own message says "byte 0", the start of a stream: name
                // where this stream starts instead.
                Err(FrameError::NewerVersion { major, minor, ours }) => {
                    return Err(anyhow::anyhow!(
                        "concatenated stream at byte {offset} has format version \
                         {major}.{minor}, newer than this reader's {ours}.x; upgrade kestrel"
                    )
                    .into())
                }
                Err(e) => {
                    return Err(anyhow::Error::new(e)
                        .context(format!("concatenated stream at byte {offset}"))
                        .into())
                }
            }
        } else {
            writer.write_raw(f.raw()).map_err(write_err)?;
        }
        if Instant::now() >= next_stats {
            write_stats(&mut writer, &counters)?;
            next_stats += STATS_INTERVAL;
        }
        if !reader.has_buffered() {
            writer.flush().map_err(write_err)?;
        }
    }
    write_stats(&mut writer, &counters)?;
    writer.flush().map_err(write_err)?;
    Ok(())
}

fn write_stats<W: io::Write>(w: &mut FrameWriter<W>, c: &Counters) -> Result<(), Stop> {
    let hostname = schema::hostname();
    w.build(|f: frame::Builder<'_>| {
        let mut s = f.init_stats();
        s.set_stage(Stage::Unknown);
        s.set_time_ns(schema::now_ns());
        s.set_hostname(hostname.as_str());
        s.set_instance(NAME);
        let mut list = s.init_counters(2);
        list.reborrow().get(0).set_name("frames");
        list.reborrow().get(0).set_value(c.frames);
        list.reborrow().get(1).set_name("bytes");
        list.get(1).set_value(c.bytes);
        Ok::<_, io::Error>(())
    })
    .map_err(write_err)
}

fn write_err(e: io::Error) -> Stop {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Stop::OutputClosed
    } else {
        Stop::Failed(anyhow::Error::new(e).context("writing"))
    }
}
