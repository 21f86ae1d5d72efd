//! The live loop: drain the ring buffer into event frames, flush when it is
//! empty, wait for more with a short timed poll, send a stats frame about
//! once per second, and stop on SIGINT, SIGTERM or `--duration`, flushing
//! what was read.
//!
//! With a `listen:` or `systemd` output the reader may go away and come
//! back ([`schema::reconnect`]): while it is away the loop keeps draining
//! the ring buffer, so the probe does not back up, and counts each event in
//! `drops.downstream_disconnected` instead of encoding it; between batches
//! it lets the output accept the next reader, and sends that reader a stats
//! frame right after the header, so the gap shows in-band at once.
//!
//! Why a timed poll: the probe wakes the reader only once a batch has built
//! up ([`crate::probe::ProbeConfig::wakeup_bytes`]), since a wake-up per event made
//! traced syscalls many times slower; a quiet trickle of events is picked up
//! by the timeout instead.
//!
//! It does not load the probe or drop privileges; it only needs the maps.

use std::io;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use aya::maps::{Array, MapData, PerCpuArray, RingBuf};
use schema::reconnect::Output;
use schema::FrameWriter;

use crate::encode::fill_event;
use crate::layout::DROP_REASONS;
use crate::record;
use crate::stats::Stats;

/// Longest wait for the ring buffer when no wake-up comes: the worst added
/// latency of an event on a quiet host.
pub const POLL_TIMEOUT_MS: i32 = 10;

/// How often a stats frame is sent.
pub const STATS_INTERVAL: Duration = Duration::from_secs(1);

/// Records handled between checks of the clock and of the stop flag, so a
/// flooded ring buffer cannot delay stats or a stop for long.
const BATCH_RECORDS: usize = 4096;

/// Malformed records logged individually before the log goes quiet (they
/// are all counted in `bad_records`).
const MAX_LOGGED_BAD_RECORDS: u64 = 10;

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop_signal(sig: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
    // A second signal kills: the clean stop can be stuck behind a reader
    // that no longer reads.
    // SAFETY: signal() with SIG_DFL is async-signal-safe.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
    }
}

/// Makes SIGINT and SIGTERM end the loop cleanly (a second one ends capture
/// at once). Without SA_RESTART, so a signal also cuts a poll short.
pub fn install_signal_handlers() -> io::Result<()> {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: a zeroed sigaction is valid; the handler only stores to an
        // atomic, which is async-signal-safe.
        let rc = unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_stop_signal as *const () as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut())
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// What the loop reads from.
pub struct Source {
    pub ring: RingBuf<MapData>,
    pub drops: PerCpuArray<MapData, u64>,
    pub control: Array<MapData, u32>,
    /// Wall-clock time of boot, ns: record times are CLOCK_BOOTTIME.
    pub boot_wall_ns: u64,
}

impl Source {
    /// Makes every program return before writing anything. Detaching them
    /// would do the same, but the kernel waits for an RCU grace period per
    /// program, one after the other: seconds for the full selection.
    pub fn stop_probe(&mut self) -> io::Result<()> {
        self.control.set(0, 1, 0).map_err(io::Error::other)
    }
}

/// Runs until stopped; then the caller calls [`finish`]. An I/O error is the output's (a broken pipe included); the
/// caller decides how to report it.
pub fn run(
    src: &mut Source,
    out: &mut FrameWriter<Output>,
    stats: &mut Stats,
    duration: Option<Duration>,
) -> io::Result<()> {
    let start = Instant::now();
    let deadline = duration.map(|d| start + d);
    let mut next_stats = start + STATS_INTERVAL;
    let mut readers = out.get_ref().readers();
    let fd = src.ring.as_raw_fd();
    loop {
        let got = drain(src, out, stats, BATCH_RECORDS)?;
        if !out.get_ref().is_connected() {
            // What is left of the batch the reader did not take goes
            // nowhere (counted), so the output stands between frames and
            // may take a new reader.
            out.flush()?;
            out.get_mut().redial();
        }
        let now = Instant::now();
        let new_reader = out.get_ref().readers() != readers;
        if new_reader || (now >= next_stats && out.get_ref().is_connected()) {
            readers = out.get_ref().readers();
            write_stats(src, out, stats)?;
            next_stats = now + STATS_INTERVAL;
        }
        if STOP.load(Ordering::Relaxed) || deadline.is_some_and(|d| now >= d) {
            break;
        }
        if got == 0 {
            out.flush()?;
            let timeout = deadline
                .map(|d| {
                    d.saturating_duration_since(now)
                        .as_millis()
                        .min(POLL_TIMEOUT_MS as u128) as i32
                })
                .unwrap_or(POLL_TIMEOUT_MS);
            wait_readable(fd, timeout);
        }
    }
    Ok(())
}

/// Stops the probe, delivers what it wrote before, then the final stats.
/// The probe is stopped first so the ring buffer only empties: on a busy
/// host a running probe could refill it as fast as it is drained.
pub fn finish(
    src: &mut Source,
    out: &mut FrameWriter<Output>,
    stats: &mut Stats,
) -> io::Result<()> {
    if let Err(e) = src.stop_probe() {
        // Still correct, only the drain may last longer.
        tracing::warn!("cannot stop the probe before the final drain: {e}");
    }
    while drain(src, out, stats, BATCH_RECORDS)? > 0 {}
    write_stats(src, out, stats)?;
    out.flush()
}

/// Brings the counters up to date and writes a stats frame.
fn write_stats(src: &Source, out: &mut FrameWriter<Output>, stats: &mut Stats) -> io::Result<()> {
    read_drops(src, stats);
    stats.undelivered_frames = out.get_ref().undelivered_frames();
    stats.write_frame(out)
}

/// Turns up to `max` records into frames; returns how many were read.
/// While the output has no reader, records are only counted.
fn drain(
    src: &mut Source,
    out: &mut FrameWriter<Output>,
    stats: &mut Stats,
    max: usize,
) -> io::Result<usize> {
    let mut n = 0;
    while n < max {
        let Some(item) = src.ring.next() else { break };
        n += 1;
        if !out.get_ref().is_connected() {
            stats.skipped_no_reader += 1;
            continue;
        }
        match record::parse(&item) {
            Ok(rec) => {
                out.build(|f| -> io::Result<()> {
                    fill_event(f.init_event(), &rec, src.boot_wall_ns);
                    Ok(())
                })?;
                stats.count(rec.kind);
            }
            Err(e) => {
                stats.bad_records += 1;
                if stats.bad_records <= MAX_LOGGED_BAD_RECORDS {
                    tracing::warn!("dropping a malformed probe record: {e}");
                }
            }
        }
    }
    Ok(n)
}

/// Sums the probe's per-CPU drop counters into `stats`.
fn read_drops(src: &Source, stats: &mut Stats) {
    for (i, slot) in stats.drops.iter_mut().enumerate().take(DROP_REASONS.len()) {
        match src.drops.get(&(i as u32), 0) {
            Ok(values) => *slot = values.iter().sum(),
            Err(e) => tracing::warn!("reading drop counter {}: {e}", DROP_REASONS[i]),
        }
    }
}

fn wait_readable(fd: i32, timeout_ms: i32) {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd. EINTR (a stop signal) just returns early.
    unsafe {
        libc::poll(&mut p, 1, timeout_ms);
    }
}
