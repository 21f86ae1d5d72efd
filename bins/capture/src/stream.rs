//! The ring buffer as capture's source of work for the stage driver
//! (`stage::Driver`, which flushes, sends the stats frame about once per
//! second, and stops on SIGINT, SIGTERM or `--duration`): drain it into
//! event frames, wait for more with a short timed poll.
//!
//! With a `listen:` or `systemd` output the reader may go away and come
//! back ([`stage::reconnect`]): while it is away the ring buffer is still
//! drained, so the probe does not back up, and each event is counted in
//! `drops.downstream_disconnected` instead of encoded; the driver lets the
//! output accept the next reader between batches and sends it a stats
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
use stage::{Counters, Out, Pumped, Sink, StageError};

use crate::encode::fill_event;
use crate::layout::DROP_REASONS;
use crate::record;
use crate::stats::Stats;

/// Longest wait for the ring buffer when no wake-up comes: the worst added
/// latency of an event on a quiet host.
pub const POLL_TIMEOUT_MS: i32 = 10;

/// Malformed records logged individually before the log goes quiet (they
/// are all counted in `bad_records`).
const MAX_LOGGED_BAD_RECORDS: u64 = 10;

pub static STOP: AtomicBool = AtomicBool::new(false);

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

/// The ring buffer as the stage driver's source of work, with capture's
/// counters.
pub struct Ring {
    pub src: Source,
    pub stats: Stats,
}

impl stage::Source for Ring {
    fn pump<W: Sink>(&mut self, out: &mut Out<W>, max: usize) -> Result<Pumped, StageError> {
        let n = drain(&mut self.src, out, &mut self.stats, max)?;
        Ok(if n == 0 {
            Pumped::Idle
        } else {
            Pumped::Worked(n)
        })
    }

    fn wait(&mut self, timeout: Duration) {
        let ms = timeout.as_millis().min(POLL_TIMEOUT_MS as u128) as i32;
        wait_readable(self.src.ring.as_raw_fd(), ms);
    }

    /// Brings the counters the driver is about to report up to date.
    fn tick<W: Sink>(&mut self, _now: Instant, out: &mut Out<W>) -> Result<(), StageError> {
        read_drops(&self.src, &mut self.stats);
        self.stats.undelivered_frames = out.undelivered_frames();
        self.stats.lost_unread = out.lost_unread_frames();
        Ok(())
    }

    /// Stops the probe, then delivers what it wrote before. The probe is
    /// stopped first so the ring buffer only empties: on a busy host a
    /// running probe could refill it as fast as it is drained.
    fn finish<W: Sink>(&mut self, out: &mut Out<W>) -> Result<(), StageError> {
        if let Err(e) = self.src.stop_probe() {
            // Still correct, only the drain may last longer.
            tracing::warn!("cannot stop the probe before the final drain: {e}");
        }
        while drain(&mut self.src, out, &mut self.stats, stage::BATCH)? > 0 {}
        self.tick(Instant::now(), out)
    }

    fn counters(&self, c: &mut Counters) {
        self.stats.counters(c);
    }
}

/// Turns up to `max` records into frames; returns how many were read.
/// While the output has no reader, records are only counted.
fn drain<W: Sink>(
    src: &mut Source,
    out: &mut Out<W>,
    stats: &mut Stats,
    max: usize,
) -> Result<usize, StageError> {
    let mut n = 0;
    while n < max {
        let Some(item) = src.ring.next() else { break };
        n += 1;
        if !out.is_connected() {
            stats.skipped_no_reader += 1;
            continue;
        }
        match record::parse(&item) {
            Ok(rec) => {
                out.frame(|f| fill_event(f.init_event(), &rec, src.boot_wall_ns))?;
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
