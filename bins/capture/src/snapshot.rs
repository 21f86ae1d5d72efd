//! The /proc snapshot capture writes right after its header: one
//! `procSnapshot` event per live thread, with the thread's ids, credentials,
//! capabilities, exe, argv, cwd, cgroups and start time, and on the thread
//! group leader's event the process's open descriptors. From these, enrich
//! builds its thread and fd tables from the stream alone, so a recorded
//! stream is complete.
//!
//! It is not the live view: anything that changes while /proc is walked is
//! caught by the probe, which is attached before the snapshot starts.
//! Everything read is bounded by named limits ([`MAX_SNAPSHOT_THREADS`] here,
//! and those of the submodules), and a process that exits mid-read is
//! skipped and counted, never an error.

mod exe;
mod fds;
mod net;
mod proc;
mod read;
#[cfg(test)]
mod tests;

use std::io::{self, Write};

use anyhow::Context as _;
use schema::kestrel_capnp::{event, fd, sock_addr, thread, Family, FdType, Kind};
use schema::FrameWriter;

/// Most thread events one snapshot writes. pid_max allows four million; a
/// host with more than this many threads gets the first ones by pid, and the
/// rest are counted in [`SnapshotStats::threads_left_out`].
pub const MAX_SNAPSHOT_THREADS: usize = 262_144;

/// `Event.flags` bit: a parameter (here argv) was truncated.
const FLAG_TRUNCATED: u32 = 1;

/// What one snapshot wrote and what it had to leave out; capture reports
/// these in its stats.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SnapshotStats {
    pub processes: u64,
    /// Events written: one per thread.
    pub threads: u64,
    /// Descriptors reported, over all processes.
    pub fds: u64,
    /// Processes and threads that exited while /proc was read.
    pub vanished: u64,
    /// Descriptors past [`fds::MAX_FDS_PER_PROCESS`].
    pub fds_left_out: u64,
    /// Threads past [`MAX_SNAPSHOT_THREADS`] or
    /// [`read::MAX_THREADS_PER_PROCESS`].
    pub threads_left_out: u64,
}

/// Clock facts that turn /proc's start ticks into wall-clock ns.
struct Clock {
    boot_time_ns: u64,
    ticks_per_sec: u64,
}

impl Clock {
    fn now() -> Self {
        // SAFETY: sysconf has no preconditions.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        Clock {
            boot_time_ns: schema::header::boot_time_ns(),
            ticks_per_sec: if ticks > 0 { ticks as u64 } else { 100 },
        }
    }

    fn start_ns(&self, ticks: u64) -> u64 {
        let since_boot = (ticks as u128 * 1_000_000_000 / self.ticks_per_sec as u128) as u64;
        self.boot_time_ns.saturating_add(since_boot)
    }
}

/// Writes one `procSnapshot` event per live thread of every process but
/// `self_pid` (capture itself; pass 0 to include every process). Errors are
/// write errors only: /proc entries that vanish are skipped and counted.
pub fn write_snapshot<W: Write>(
    w: &mut FrameWriter<W>,
    self_pid: i32,
) -> anyhow::Result<SnapshotStats> {
    let clock = Clock::now();
    let mut ctx = read::Context::default();
    let mut stats = SnapshotStats::default();
    let mut pids: Vec<i32> = std::fs::read_dir("/proc")
        .context("listing /proc")?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&p: &i32| p != self_pid)
        .collect();
    // Parents mostly before children, as enrich likes to meet them.
    pids.sort_unstable();
    let mut budget = MAX_SNAPSHOT_THREADS;
    for pid in pids {
        if budget == 0 {
            stats.threads_left_out += read::thread_count(pid);
            continue;
        }
        let Some(p) = read::process(pid, &mut ctx, budget) else {
            stats.vanished += 1;
            continue;
        };
        budget -= p.tasks.len();
        stats.processes += 1;
        stats.vanished += p.tasks_vanished;
        stats.fds_left_out += p.fds_left_out;
        stats.threads_left_out += p.tasks_left_out;
        let ts = schema::now_ns();
        for (tid, task) in &p.tasks {
            let leader = *tid == p.pid;
            w.build(|frame| -> io::Result<()> {
                let mut ev = frame.init_event();
                fill_event(ev.reborrow(), ts, *tid, &p, task, &clock);
                if leader {
                    fill_fds(ev.init_snapshot_fds(p.fds.len() as u32), &p);
                }
                Ok(())
            })
            .with_context(|| format!("writing the snapshot event of thread {tid}"))?;
            stats.threads += 1;
            if leader {
                stats.fds += p.fds.len() as u64;
            }
        }
    }
    Ok(stats)
}

fn fill_event(
    mut ev: event::Builder<'_>,
    ts: u64,
    tid: i32,
    p: &read::Process,
    t: &proc::TaskInfo,
    clock: &Clock,
) {
    ev.set_ts_ns(ts);
    ev.set_tid(tid);
    ev.set_pid(p.pid);
    ev.set_kind(Kind::ProcSnapshot);
    ev.set_ret(0);
    ev.set_flags(if p.args_truncated { FLAG_TRUNCATED } else { 0 });
    fill_thread(ev.init_thread(), tid, p, t, clock);
}

fn fill_thread(
    mut th: thread::Builder<'_>,
    tid: i32,
    p: &read::Process,
    t: &proc::TaskInfo,
    clock: &Clock,
) {
    th.set_tid(tid);
    th.set_pid(p.pid);
    th.set_ppid(t.ppid);
    th.set_vtid(t.vtid);
    th.set_vpid(t.vpid);
    th.set_sid(t.sid);
    th.set_pgid(t.pgid);
    th.set_vpgid(t.vpgid);
    th.set_name(&t.comm);
    th.set_exe(&p.argv0);
    th.set_exepath(&p.exe.path);
    {
        let mut args = th.reborrow().init_args(p.args.len() as u32);
        for (i, a) in p.args.iter().enumerate() {
            args.set(i as u32, a);
        }
    }
    th.set_args_truncated(p.args_truncated);
    th.set_cwd(&p.cwd);
    th.set_tty(t.tty);
    th.set_uid(t.uid);
    th.set_gid(t.gid);
    th.set_euid(t.euid);
    th.set_egid(t.egid);
    th.set_loginuid(p.loginuid);
    th.set_cap_effective(t.cap_effective);
    th.set_cap_permitted(t.cap_permitted);
    th.set_cap_inheritable(t.cap_inheritable);
    th.set_start_ts_ns(clock.start_ns(t.start_ticks));
    {
        let mut cg = th.reborrow().init_cgroups(p.cgroups.len() as u32);
        for (i, c) in p.cgroups.iter().enumerate() {
            cg.set(i as u32, c.as_str());
        }
    }
    th.set_exe_from_memfd(p.exe.from_memfd);
    th.set_exe_upper_layer(p.exe.upper_layer);
    th.set_exe_ino(p.exe.ino);
    th.set_exe_ctime_ns(p.exe.ctime_ns);
    th.set_exe_mtime_ns(p.exe.mtime_ns);
    th.set_pidns_ino(p.pidns_ino);
    let mut stdio = th.init_stdio_types(3);
    for n in 0..3 {
        let kind = p
            .fds
            .iter()
            .find(|f| f.num == n)
            .map_or(FdType::Unknown, |f| f.kind);
        stdio.set(n as u32, kind);
    }
}

fn fill_fds(mut list: capnp::struct_list::Builder<'_, fd::Owned>, p: &read::Process) {
    for (i, f) in p.fds.iter().enumerate() {
        let mut b = list.reborrow().get(i as u32);
        b.set_num(f.num);
        b.set_type(f.kind);
        b.set_name(&f.name);
        b.set_open_flags(f.open_flags);
        b.set_dev(f.dev);
        b.set_ino(f.ino);
        b.set_l4proto(f.l4proto());
        if let Some(s) = &f.sock {
            b.set_sock_type(s.sock_type);
            b.set_connected(s.connected);
            b.set_is_server(s.is_server);
            let family = match s.family {
                net::Family::Inet => Family::Inet,
                net::Family::Inet6 => Family::Inet6,
                net::Family::Unix => Family::Unix,
                net::Family::Netlink => Family::Netlink,
            };
            fill_addr(b.reborrow().init_local(), family, &s.local, &s.path);
            fill_addr(b.reborrow().init_remote(), family, &s.remote, &[]);
        }
    }
}

fn fill_addr(mut a: sock_addr::Builder<'_>, family: Family, e: &net::Endpoint, path: &[u8]) {
    a.set_family(family);
    a.set_addr(&e.addr);
    a.set_port(e.port);
    a.set_path(path);
    a.set_raw_family(match family {
        Family::Inet => libc::AF_INET as u16,
        Family::Inet6 => libc::AF_INET6 as u16,
        Family::Unix => libc::AF_UNIX as u16,
        Family::Netlink => libc::AF_NETLINK as u16,
        _ => 0,
    });
}
