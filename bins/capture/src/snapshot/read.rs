//! Reading one process from /proc: its process-wide facts (argv, exe, cwd,
//! loginuid, cgroups, namespaces, fds) and each thread's ids and sets.
//!
//! A process can exit at any point while it is read. Whatever is needed to
//! describe it at all (`stat` and `status` of each thread) failing means it
//! vanished and it is skipped; optional facts (exe, cwd of a kernel thread,
//! a closed fd) are left empty.

use std::collections::HashMap;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;

use super::exe::{self, ExeInfo, MountCache};
use super::fds::{self, FdEntry};
use super::net::SocketTable;
use super::proc::{self, TaskInfo};

/// Most network namespaces whose socket tables are kept during one snapshot;
/// processes of further namespaces get unresolved sockets.
pub const MAX_NET_NAMESPACES: usize = 1024;

/// Most threads read per process (the snapshot as a whole is bounded by
/// [`super::MAX_SNAPSHOT_THREADS`]).
pub const MAX_THREADS_PER_PROCESS: usize = 65_536;

/// Caches shared by all processes of one snapshot.
#[derive(Default)]
pub struct Context {
    sockets: HashMap<u64, SocketTable>,
    mounts: MountCache,
    empty: SocketTable,
}

/// Everything the snapshot reports about one process.
pub struct Process {
    pub pid: i32,
    pub argv0: Vec<u8>,
    pub args: Vec<Vec<u8>>,
    pub args_truncated: bool,
    pub exe: ExeInfo,
    pub cwd: Vec<u8>,
    pub loginuid: u32,
    pub cgroups: Vec<String>,
    pub pidns_ino: u64,
    /// Threads by tid, the group leader included when it is still alive.
    pub tasks: Vec<(i32, TaskInfo)>,
    pub fds: Vec<FdEntry>,
    pub fds_left_out: u64,
    /// Threads that exited while the process was read.
    pub tasks_vanished: u64,
    /// Threads not read because of the thread bounds.
    pub tasks_left_out: u64,
}

/// Reads `pid`; `None` when it vanished (or is unreadable) before any of
/// its threads could be read.
pub fn process(pid: i32, ctx: &mut Context, max_tasks: usize) -> Option<Process> {
    let base = format!("/proc/{pid}");
    let cmdline = fs::read(format!("{base}/cmdline")).ok()?;
    let (argv0, args, args_truncated) = proc::parse_cmdline(&cmdline);
    let cwd = fs::read_link(format!("{base}/cwd"))
        .map(|p| p.as_os_str().as_bytes().to_vec())
        .unwrap_or_default();
    let loginuid = fs::read_to_string(format!("{base}/loginuid"))
        .map(|t| proc::parse_loginuid(&t))
        .unwrap_or(u32::MAX);
    let cgroups = fs::read_to_string(format!("{base}/cgroup"))
        .map(|t| proc::parse_cgroups(&t))
        .unwrap_or_default();
    let pidns_ino = ns_ino(pid, "pid").unwrap_or(0);
    let exe = exe::read(pid, &mut ctx.mounts);

    let sockets = ctx.sockets_of(pid);
    let (fds, fds_left_out) = fds::list(pid, sockets).unwrap_or_default();

    let mut tids: Vec<i32> = fs::read_dir(format!("{base}/task"))
        .ok()?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    tids.sort_unstable();
    let keep = max_tasks.min(MAX_THREADS_PER_PROCESS);
    let tasks_left_out = tids.len().saturating_sub(keep) as u64;
    tids.truncate(keep);
    let mut tasks = Vec::with_capacity(tids.len());
    let mut tasks_vanished = 0;
    for tid in tids {
        match task(pid, tid) {
            Some(t) => tasks.push((tid, t)),
            None => tasks_vanished += 1,
        }
    }
    if tasks.is_empty() {
        return None;
    }
    Some(Process {
        pid,
        argv0,
        args,
        args_truncated,
        exe,
        cwd,
        loginuid,
        cgroups,
        pidns_ino,
        tasks,
        fds,
        fds_left_out,
        tasks_vanished,
        tasks_left_out,
    })
}

fn task(pid: i32, tid: i32) -> Option<TaskInfo> {
    let base = format!("/proc/{pid}/task/{tid}");
    let stat = fs::read(format!("{base}/stat")).ok()?;
    let status = fs::read(format!("{base}/status")).ok()?;
    let mut t = TaskInfo::default();
    proc::parse_stat(&stat, &mut t)?;
    proc::parse_status(&status, &mut t);
    Some(t)
}

/// How many threads `pid` has, for counting what the bounds left out.
pub fn thread_count(pid: i32) -> u64 {
    fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| d.count() as u64)
        .unwrap_or(0)
}

/// Inode of the namespace `/proc/PID/ns/KIND` links to.
fn ns_ino(pid: i32, kind: &str) -> Option<u64> {
    fs::metadata(format!("/proc/{pid}/ns/{kind}"))
        .ok()
        .map(|m| m.ino())
}

impl Context {
    /// The socket table of `pid`'s network namespace, read once per namespace.
    fn sockets_of(&mut self, pid: i32) -> &SocketTable {
        let Some(ns) = ns_ino(pid, "net") else {
            return &self.empty;
        };
        if !self.sockets.contains_key(&ns) && self.sockets.len() < MAX_NET_NAMESPACES {
            self.sockets.insert(ns, SocketTable::read(pid));
        }
        self.sockets.get(&ns).unwrap_or(&self.empty)
    }
}
