//! Threads and processes: snapshots, clone/fork, exec, the cwd and the
//! thread's name.

use schema::kestrel_capnp::{event, thread};
use schema::Kind;

use super::Call;
use crate::args::Arg;
use crate::engine::{Enricher, EvFd};
use crate::tables::cgroup;
use crate::tables::fd::FdEntry;
use crate::tables::threads::Proc;

/// clone flags that matter here.
const CLONE_VM: u64 = 0x100;
const CLONE_VFORK: u64 = 0x4000;
const CLONE_PARENT: u64 = 0x8000;
const CLONE_THREAD: u64 = 0x1_0000;
const CLONE_NEWPID: u64 = 0x2000_0000;
/// prctl option that renames the calling thread.
const PR_SET_NAME: u64 = 15;
/// Longest comm the kernel keeps (TASK_COMM_LEN - 1).
const COMM_MAX: usize = 15;

fn data_list(l: capnp::Result<capnp::data_list::Reader<'_>>) -> Vec<Vec<u8>> {
    l.map(|l| {
        l.iter()
            .filter_map(|d| d.ok().map(<[u8]>::to_vec))
            .collect()
    })
    .unwrap_or_default()
}

impl Enricher {
    /// Builds a thread and its process from a snapshot event's `thread`
    /// (read by capture from /proc) and its `snapshotFds`.
    pub(crate) fn apply_snapshot(&mut self, ev: event::Reader<'_>) {
        let tid = ev.get_tid();
        let Ok(t) = ev.get_thread() else {
            self.threads.ensure(tid, ev.get_pid());
            return;
        };
        let pid = if t.get_pid() > 0 {
            t.get_pid()
        } else {
            ev.get_pid()
        };
        let comm = t.get_name().map(<[u8]>::to_vec).unwrap_or_default();
        let mut p = self.threads.proc(pid).cloned().unwrap_or_default();
        // Each thread's snapshot carries its own start time; the process
        // started with its leader.
        let start_ts_ns = match (tid == pid, p.start_ts_ns) {
            (false, known) if known != 0 => known,
            _ => t.get_start_ts_ns(),
        };
        fill_proc_from_thread(&mut p, pid, t, &comm);
        p.start_ts_ns = start_ts_ns;
        if tid == pid || p.comm.is_empty() {
            p.comm = comm.clone();
        }
        if let Ok(fds) = ev.get_snapshot_fds() {
            if !fds.is_empty() {
                let budget = self.threads.fd_budget().clone();
                p.fds.clear();
                for f in fds.iter() {
                    let placed = p.fds.insert(f.get_num(), FdEntry::read(f), &budget);
                    self.threads.count_placed(&placed);
                }
            }
        }
        self.threads.put_proc_seen_before(p);
        self.threads.put_thread(tid, pid, t.get_vtid(), comm, false);
    }

    /// clone, clone3, fork and vfork: what they create, from the flags.
    pub(super) fn apply_fork(&mut self, c: &Call<'_, '_>) {
        let flags = match c.kind {
            Kind::Fork => 0,
            Kind::Vfork => CLONE_VM | CLONE_VFORK,
            _ => c.params.uint(Arg::Flags).unwrap_or(0),
        };
        if c.ret > 0 {
            self.apply_clone(c.tid, c.ret as i32, flags, c.ts);
        }
    }

    /// A clone/fork seen from the parent's side: `child` is the new
    /// thread or process.
    fn apply_clone(&mut self, tid: i32, child: i32, flags: u64, ts: u64) {
        let Some(parent) = self.threads.proc_of(tid) else {
            return;
        };
        let parent_pid = parent.pid;
        let comm = self
            .threads
            .thread(tid)
            .map(|t| t.comm.clone())
            .unwrap_or_default();
        // The child's own side may have been seen first, and even have
        // exec'd: only a partial entry is filled in.
        if let Some(t) = self.threads.thread(child) {
            let known = !t.partial && self.threads.proc(t.pid).is_some_and(|p| !p.partial);
            if known {
                return;
            }
        }
        if flags & CLONE_THREAD != 0 {
            let vtid = if parent.vpid == parent.pid { child } else { 0 };
            self.threads
                .put_thread(child, parent_pid, vtid, comm, false);
            return;
        }
        let mut p = parent.fork_child(child, ts);
        if flags & CLONE_PARENT != 0 {
            p.ppid = parent.ppid;
        }
        if flags & CLONE_NEWPID != 0 {
            p.vpid = 1;
        }
        p.comm = comm.clone();
        let vtid = p.vpid;
        self.threads.put_proc(p);
        self.threads.put_thread(child, child, vtid, comm, false);
    }

    /// A successful execve: the process takes the new image's state, and
    /// close-on-exec descriptors are gone.
    pub(super) fn apply_exec(&mut self, c: &Call<'_, '_>) {
        let (tid, params) = (c.tid, c.params);
        let Some(pid) = self.threads.thread(tid).map(|t| t.pid) else {
            return;
        };
        // The exec'ing thread becomes the only one left (de_thread).
        self.threads.remove_other_threads(pid, tid);
        // A child whose clone returned in the child before it did in the
        // parent (always so for vfork) is still partial: it inherited its
        // parent's state, and the exec names the parent.
        if self.threads.proc(pid).is_some_and(|p| p.partial) {
            let parent = params
                .int(Arg::Ppid)
                .and_then(|pp| self.threads.proc(pp as i32))
                .filter(|q| q.pid != pid);
            if let Some(parent) = parent {
                let child = parent.fork_child(pid, c.ts);
                self.threads.put_proc(child);
            }
        }
        let comm = params.bytes(Arg::Comm).map(<[u8]>::to_vec);
        let vtid = params.int(Arg::Vtid);
        let budget = self.threads.fd_budget().clone();
        let Some(p) = self.threads.proc_mut(pid) else {
            return;
        };
        if let Some(exepath) = c
            .path(Arg::Exepath)
            .or_else(|| c.path(Arg::Filename))
            .or_else(|| c.path(Arg::Pathname))
        {
            p.exepath = exepath;
        }
        if let Some(argv) = params.list(Arg::Args) {
            let mut it = argv.into_iter();
            p.exe = it.next().map(<[u8]>::to_vec).unwrap_or_default();
            p.args = it.map(<[u8]>::to_vec).collect();
        }
        p.args_truncated = params.uint(Arg::ArgsTruncated).unwrap_or(0) != 0;
        if let Some(cwd) = c.path(Arg::Cwd) {
            p.cwd = cwd;
        }
        let u32p = |a: Arg| params.uint(a).map(|v| v as u32);
        let i32p = |a: Arg| params.int(a).map(|v| v as i32);
        p.uid = u32p(Arg::Uid).unwrap_or(p.uid);
        p.gid = u32p(Arg::Gid).unwrap_or(p.gid);
        p.euid = u32p(Arg::Euid).unwrap_or(p.euid);
        p.egid = u32p(Arg::Egid).unwrap_or(p.egid);
        p.loginuid = u32p(Arg::Loginuid).unwrap_or(p.loginuid);
        p.tty = u32p(Arg::Tty).unwrap_or(p.tty);
        p.sid = i32p(Arg::Sid).unwrap_or(p.sid);
        p.vpid = i32p(Arg::Vpid).unwrap_or(p.vpid);
        p.pgid = i32p(Arg::Pgid).unwrap_or(p.pgid);
        p.ppid = i32p(Arg::Ppid).unwrap_or(p.ppid);
        p.cap_effective = params.uint(Arg::CapEffective).unwrap_or(p.cap_effective);
        p.cap_permitted = params.uint(Arg::CapPermitted).unwrap_or(p.cap_permitted);
        p.cap_inheritable = params
            .uint(Arg::CapInheritable)
            .unwrap_or(p.cap_inheritable);
        p.exe_upper_layer = params.uint(Arg::ExeUpperLayer).unwrap_or(0) != 0;
        p.exe_from_memfd = params.uint(Arg::ExeFromMemfd).unwrap_or(0) != 0;
        p.exe_ino = params.uint(Arg::ExeIno).unwrap_or(0);
        p.exe_ctime_ns = params.uint(Arg::ExeInoCtime).unwrap_or(0);
        p.exe_mtime_ns = params.uint(Arg::ExeInoMtime).unwrap_or(0);
        p.pidns_ino = params.uint(Arg::PidnsIno).unwrap_or(p.pidns_ino);
        if let Some(cg) = params.list(Arg::Cgroups) {
            p.cgroups = cg
                .iter()
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect();
            p.container = cgroup::container_of(&p.cgroups)
                .map(|c| c.id)
                .unwrap_or_default();
        }
        if let Some(c) = &comm {
            p.comm = c.clone();
        }
        p.fds.retain(&budget, |_, e| !e.cloexec);
        p.partial = false;
        if let Some(t) = self.threads.thread_mut(tid) {
            if let Some(c) = comm {
                t.comm = c;
            }
            if let Some(v) = vtid {
                t.vtid = v as i32;
            }
            t.partial = false;
        }
    }

    /// chdir: the process's new cwd.
    pub(super) fn apply_chdir(&mut self, c: &Call<'_, '_>) {
        if let (true, Some(cwd)) = (c.ok(), c.path(Arg::Path)) {
            if let Some(p) = self.threads.proc_of_mut(c.tid) {
                p.cwd = cwd;
            }
        }
    }

    /// fchdir: the process's new cwd is the descriptor's path, when it has
    /// one. None when the process is not in the table.
    pub(super) fn apply_fchdir(&mut self, c: &Call<'_, '_>) -> Option<EvFd> {
        let num = c.params.int(Arg::Fd)?;
        let efd = self.fd_param(c.tid, num);
        if c.ok() {
            let p = self.threads.proc_of_mut(c.tid)?;
            if let Some(name) = p
                .fds
                .get(num)
                .map(|e| e.name.to_vec())
                .filter(|n| !n.is_empty())
            {
                p.cwd = name;
            }
        }
        Some(efd)
    }

    /// prctl(PR_SET_NAME): the thread's (and, for a leader, the process's)
    /// new comm, cut as the kernel cuts it.
    pub(super) fn apply_prctl(&mut self, c: &Call<'_, '_>) {
        let (ok, tid, params) = (c.ok(), c.tid, c.params);
        let (true, Some(PR_SET_NAME), Some(name)) = (
            ok,
            params.uint(Arg::PrctlOption),
            params.bytes(Arg::Arg2Str),
        ) else {
            return;
        };
        let comm = name[..name.len().min(COMM_MAX)].to_vec();
        let Some(pid) = self.threads.thread(tid).map(|t| t.pid) else {
            return;
        };
        if tid == pid {
            let Some(p) = self.threads.proc_mut(pid) else {
                return;
            };
            p.comm = comm.clone();
        }
        if let Some(t) = self.threads.thread_mut(tid) {
            t.comm = comm;
        }
    }
}

/// Fills process state from a snapshot's `thread`.
fn fill_proc_from_thread(p: &mut Proc, pid: i32, t: thread::Reader<'_>, comm: &[u8]) {
    p.pid = pid;
    p.ppid = t.get_ppid();
    p.vpid = t.get_vpid();
    p.sid = t.get_sid();
    p.pgid = t.get_pgid();
    p.vpgid = t.get_vpgid();
    p.exe = t.get_exe().map(<[u8]>::to_vec).unwrap_or_default();
    p.exepath = t.get_exepath().map(<[u8]>::to_vec).unwrap_or_default();
    p.args = data_list(t.get_args());
    p.args_truncated = t.get_args_truncated();
    p.env = data_list(t.get_env());
    p.cwd = t.get_cwd().map(<[u8]>::to_vec).unwrap_or_default();
    p.tty = t.get_tty();
    p.uid = t.get_uid();
    p.gid = t.get_gid();
    p.euid = t.get_euid();
    p.egid = t.get_egid();
    p.loginuid = t.get_loginuid();
    p.cap_effective = t.get_cap_effective();
    p.cap_permitted = t.get_cap_permitted();
    p.cap_inheritable = t.get_cap_inheritable();
    p.start_ts_ns = t.get_start_ts_ns();
    p.exe_upper_layer = t.get_exe_upper_layer();
    p.exe_from_memfd = t.get_exe_from_memfd();
    p.exe_ino = t.get_exe_ino();
    p.exe_ctime_ns = t.get_exe_ctime_ns();
    p.exe_mtime_ns = t.get_exe_mtime_ns();
    p.pidns_ino = t.get_pidns_ino();
    p.cgroups = t
        .get_cgroups()
        .map(|l| {
            l.iter()
                .filter_map(|c| c.ok().and_then(|c| c.to_str().ok()).map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    p.container = cgroup::container_of(&p.cgroups)
        .map(|c| c.id)
        .unwrap_or_default();
    if p.comm.is_empty() {
        p.comm = comm.to_vec();
    }
    p.partial = t.get_partial();
}
