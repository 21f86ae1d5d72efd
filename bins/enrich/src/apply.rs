//! How each kind of event changes the tables: snapshots and clone/exec/exit
//! for threads, open/socket/connect/accept/dup/close and friends for
//! descriptors, chdir/setuid/capset/prctl for process state; and which
//! descriptor each event concerns (Falco's semantics for `fd.*`).
//!
//! Changes that the event itself must show (a new fd, a new cwd) are applied
//! before it is written (`Enricher::apply_pre`); removals (close, exit)
//! after (`Enricher::apply_post`), so the event still shows what it closed.

use schema::kestrel_capnp::{event, thread, Family, FdType, L4Proto};
use schema::table::ParamType;
use schema::Kind;

use crate::cgroup;
use crate::engine::{Enricher, EvFd};
use crate::fd::{self, Addr, FdEntry, O_CLOEXEC, O_DIRECTORY};
use crate::params::{Params, Value};
use crate::path::{self, AT_FDCWD};
use crate::threads::Proc;

/// clone flags that matter here.
const CLONE_VM: u64 = 0x100;
const CLONE_VFORK: u64 = 0x4000;
const CLONE_PARENT: u64 = 0x8000;
const CLONE_THREAD: u64 = 0x1_0000;
const CLONE_NEWPID: u64 = 0x2000_0000;
/// fcntl commands that duplicate a descriptor.
const F_DUPFD: u64 = 0;
const F_DUPFD_CLOEXEC: u64 = 1030;
/// prctl option that renames the calling thread.
const PR_SET_NAME: u64 = 15;
/// Longest comm the kernel keeps (TASK_COMM_LEN - 1).
const COMM_MAX: usize = 15;
/// connect's "in progress" errno, which Falco counts as a connection.
const EINPROGRESS: i64 = 115;
/// memfd_create's close-on-exec flag.
const MFD_CLOEXEC: u64 = 1;
/// creat() is open with these flags: O_CREAT|O_WRONLY|O_TRUNC.
const CREAT_FLAGS: u32 = 0o100 | 0o1 | 0o1000;

fn data_list(l: capnp::Result<capnp::data_list::Reader<'_>>) -> Vec<Vec<u8>> {
    l.map(|l| {
        l.iter()
            .filter_map(|d| d.ok().map(<[u8]>::to_vec))
            .collect()
    })
    .unwrap_or_default()
}

/// A uid/gid parameter that may be -1 ("unchanged").
fn id_param(v: Option<u64>) -> Option<u32> {
    v.filter(|&v| v as u32 != u32::MAX).map(|v| v as u32)
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

    /// Resolves every path parameter to an absolute normalised path,
    /// through the cwd or the dirfd's path; returns the ones that changed.
    pub(crate) fn resolve_paths(&self, tid: i32, params: &Params<'_>) -> Vec<(usize, Vec<u8>)> {
        let mut out = Vec::new();
        for (i, info) in params.info.params.iter().enumerate() {
            if info.ty != ParamType::Path {
                continue;
            }
            let Some(Value::Bytes(raw)) = params.at(i) else {
                continue;
            };
            if raw.is_empty() || path::is_normal(raw) {
                continue;
            }
            let proc = self.threads.proc_of(tid);
            let cwd: &[u8] = proc.map_or(&[], |p| &p.cwd);
            let base: &[u8] = match info.dirfd {
                Some(d) => match params.at(d as usize) {
                    Some(Value::Int(AT_FDCWD)) | None => cwd,
                    Some(Value::Int(fd)) => proc
                        .and_then(|p| p.fds.get(fd))
                        .map_or(&[], |e| e.name.as_bytes()),
                    Some(_) => cwd,
                },
                None => cwd,
            };
            out.push((i, path::resolve(base, raw)));
        }
        out
    }

    /// Applies the state changes `kind` makes that its own event must show;
    /// returns the descriptor the event concerns.
    pub(crate) fn apply_pre(
        &mut self,
        kind: Kind,
        tid: i32,
        ret: i64,
        ts: u64,
        params: &Params<'_>,
        paths: &[(usize, Vec<u8>)],
    ) -> Option<EvFd> {
        let path = |name: &str| -> Option<Vec<u8>> {
            let i = params.index(name)?;
            match paths.iter().find(|(j, _)| *j == i) {
                Some((_, p)) => Some(p.clone()),
                None => params.bytes(name).map(<[u8]>::to_vec),
            }
        };
        let ok = ret == 0;
        match kind {
            Kind::Clone | Kind::Clone3 | Kind::Fork | Kind::Vfork => {
                let flags = match kind {
                    Kind::Fork => 0,
                    Kind::Vfork => CLONE_VM | CLONE_VFORK,
                    _ => params.uint("flags").unwrap_or(0),
                };
                if ret > 0 {
                    self.apply_clone(tid, ret as i32, flags, ts);
                }
                None
            }
            Kind::Execve | Kind::Execveat => {
                if ok {
                    self.apply_exec(tid, ts, params, &path);
                }
                None
            }
            Kind::Setuid | Kind::Setreuid | Kind::Setresuid => {
                if ok {
                    let p = self.threads.proc_of_mut(tid)?;
                    if kind == Kind::Setuid {
                        if let Some(u) = id_param(params.uint("uid")) {
                            if p.euid == 0 {
                                p.uid = u;
                            }
                            p.euid = u;
                        }
                    } else {
                        if let Some(u) = id_param(params.uint("ruid")) {
                            p.uid = u;
                        }
                        if let Some(u) = id_param(params.uint("euid")) {
                            p.euid = u;
                        }
                    }
                }
                None
            }
            Kind::Setgid | Kind::Setregid | Kind::Setresgid => {
                if ok {
                    let p = self.threads.proc_of_mut(tid)?;
                    if kind == Kind::Setgid {
                        if let Some(g) = id_param(params.uint("gid")) {
                            if p.euid == 0 {
                                p.gid = g;
                            }
                            p.egid = g;
                        }
                    } else {
                        if let Some(g) = id_param(params.uint("rgid")) {
                            p.gid = g;
                        }
                        if let Some(g) = id_param(params.uint("egid")) {
                            p.egid = g;
                        }
                    }
                }
                None
            }
            Kind::Capset => {
                if ok {
                    let p = self.threads.proc_of_mut(tid)?;
                    p.cap_inheritable = params.uint("cap_inheritable").unwrap_or(p.cap_inheritable);
                    p.cap_permitted = params.uint("cap_permitted").unwrap_or(p.cap_permitted);
                    p.cap_effective = params.uint("cap_effective").unwrap_or(p.cap_effective);
                }
                None
            }
            Kind::Chdir => {
                if let (true, Some(cwd)) = (ok, path("path")) {
                    self.threads.proc_of_mut(tid)?.cwd = cwd;
                }
                None
            }
            Kind::Fchdir => {
                let num = params.int("fd")?;
                let efd = self.fd_param(tid, num);
                if ok {
                    let p = self.threads.proc_of_mut(tid)?;
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
            Kind::Prctl => {
                if let (true, Some(PR_SET_NAME), Some(name)) =
                    (ok, params.uint("option"), params.bytes("arg2_str"))
                {
                    let comm = name[..name.len().min(COMM_MAX)].to_vec();
                    let pid = self.threads.thread(tid)?.pid;
                    if tid == pid {
                        self.threads.proc_mut(pid)?.comm = comm.clone();
                    }
                    self.threads.thread_mut(tid)?.comm = comm;
                }
                None
            }
            Kind::Open | Kind::Openat | Kind::Openat2 | Kind::Creat => {
                let mut e = FdEntry::new(FdType::File);
                e.name = path("name").unwrap_or_default().into();
                e.open_flags = match kind {
                    Kind::Creat => CREAT_FLAGS,
                    _ => params.uint("flags").unwrap_or(0) as u32,
                };
                if e.open_flags & O_DIRECTORY != 0 {
                    e.ty = FdType::Directory;
                }
                e.cloexec = e.open_flags & O_CLOEXEC != 0;
                e.dev = params.uint("dev").unwrap_or(0);
                e.ino = params.uint("ino").unwrap_or(0);
                Some(self.new_fd(tid, ret, e))
            }
            Kind::MemfdCreate => {
                let mut e = FdEntry::new(FdType::Memfd);
                let mut name = b"memfd:".to_vec();
                name.extend_from_slice(params.bytes("name").unwrap_or_default());
                e.name = name.into();
                e.cloexec = params.uint("flags").unwrap_or(0) & MFD_CLOEXEC != 0;
                Some(self.new_fd(tid, ret, e))
            }
            Kind::Userfaultfd => {
                let mut e = FdEntry::new(FdType::Userfaultfd);
                e.cloexec = params.uint("flags").unwrap_or(0) as u32 & O_CLOEXEC != 0;
                Some(self.new_fd(tid, ret, e))
            }
            Kind::Socket => {
                let domain = params.uint("domain").unwrap_or(0);
                let ty = params.uint("type").unwrap_or(0) as u32;
                let mut e = FdEntry::new(fd::socket_type(domain));
                e.l4 = fd::l4proto(domain, ty, params.uint("proto").unwrap_or(0));
                e.sock_type = ty & 0xf;
                e.cloexec = ty & O_CLOEXEC != 0;
                Some(self.new_fd(tid, ret, e))
            }
            Kind::Socketpair => {
                if ok {
                    let domain = params.uint("domain").unwrap_or(1);
                    let ty = params.uint("type").unwrap_or(0) as u32;
                    for name in ["fd1", "fd2"] {
                        if let Some(num) = params.int(name) {
                            let mut e = FdEntry::new(fd::socket_type(domain));
                            e.sock_type = ty & 0xf;
                            e.cloexec = ty & O_CLOEXEC != 0;
                            let _ = self.put_fd(tid, num, e);
                        }
                    }
                }
                None
            }
            Kind::Dup | Kind::Dup2 | Kind::Dup3 => {
                let old = params.int("fd")?;
                if ret < 0 {
                    return Some(self.fd_param(tid, old));
                }
                let cloexec =
                    kind == Kind::Dup3 && params.uint("flags").unwrap_or(0) as u32 & O_CLOEXEC != 0;
                self.dup_fd(tid, old, ret, cloexec);
                Some(EvFd::Table {
                    num: ret,
                    changed: false,
                })
            }
            Kind::Fcntl => {
                let num = params.int("fd")?;
                match params.uint("cmd") {
                    Some(cmd @ (F_DUPFD | F_DUPFD_CLOEXEC)) if ret >= 0 => {
                        self.dup_fd(tid, num, ret, cmd == F_DUPFD_CLOEXEC);
                        Some(EvFd::Table {
                            num: ret,
                            changed: false,
                        })
                    }
                    _ => Some(self.fd_param(tid, num)),
                }
            }
            Kind::Connect => {
                let num = params.int("fd")?;
                let mut efd = self.fd_param(tid, num);
                if ok || ret == -EINPROGRESS {
                    let (local, remote) = match params.tuple("tuple") {
                        Some(t) => (
                            t.get_local().ok().map(Addr::read),
                            t.get_remote().ok().map(Addr::read),
                        ),
                        None => (None, params.sockaddr("addr").map(Addr::read)),
                    };
                    let updated = self.threads.update_fd(tid, num, |e| {
                        if e.ty == FdType::Unknown {
                            if let Some(a) = remote.as_ref().or(local.as_ref()) {
                                e.ty = fd::family_type(a.family);
                            }
                        }
                        if local.is_some() {
                            e.local = local;
                        }
                        if remote.is_some() {
                            e.remote = remote;
                        }
                        e.is_server = false;
                        e.connected = true;
                        e.rename();
                    });
                    if updated.is_some() {
                        efd = EvFd::Table { num, changed: true };
                    }
                }
                Some(efd)
            }
            Kind::Accept | Kind::Accept4 => {
                let listener = params.int("fd")?;
                if ret < 0 {
                    return Some(self.fd_param(tid, listener));
                }
                let base = self
                    .threads
                    .proc_of(tid)
                    .and_then(|p| p.fds.get(listener))
                    .cloned();
                let mut e = FdEntry::new(base.as_ref().map_or(FdType::Unknown, |b| b.ty));
                if let Some(b) = &base {
                    e.l4 = b.l4;
                    e.sock_type = b.sock_type;
                    e.local = b.local.clone();
                }
                if let Some(t) = params.tuple("tuple") {
                    let local = t.get_local().ok().map(Addr::read);
                    let remote = t.get_remote().ok().map(Addr::read);
                    if e.ty == FdType::Unknown {
                        if let Some(a) = local.as_ref().or(remote.as_ref()) {
                            e.ty = fd::family_type(a.family);
                        }
                    }
                    if local.as_ref().is_some_and(|a| a.family != Family::Unspec) {
                        e.local = local;
                    }
                    e.remote = remote;
                }
                if e.l4 == L4Proto::Unknown && matches!(e.ty, FdType::Ipv4 | FdType::Ipv6) {
                    e.l4 = L4Proto::Tcp;
                }
                e.is_server = true;
                e.connected = true;
                e.cloexec = kind == Kind::Accept4
                    && params.uint("flags").unwrap_or(0) as u32 & O_CLOEXEC != 0;
                e.rename();
                if e.name.is_empty() {
                    if let Some(b) = &base {
                        e.name = b.name.clone();
                    }
                }
                Some(self.new_fd(tid, ret, e))
            }
            Kind::Bind => {
                let num = params.int("fd")?;
                let mut efd = self.fd_param(tid, num);
                if let (true, Some(addr)) = (ok, params.sockaddr("addr")) {
                    let a = Addr::read(addr);
                    let updated = self.threads.update_fd(tid, num, |e| {
                        if e.ty == FdType::Unknown {
                            e.ty = fd::family_type(a.family);
                        }
                        e.local = Some(a);
                        e.rename();
                    });
                    if updated.is_some() {
                        efd = EvFd::Table { num, changed: true };
                    }
                }
                Some(efd)
            }
            Kind::Sendto | Kind::Sendmsg | Kind::Recvfrom | Kind::Recvmsg => {
                let num = params.int("fd")?;
                let mut efd = self.fd_param(tid, num);
                let peer = params
                    .sockaddr("addr")
                    .map(Addr::read)
                    .filter(|a| a.is_ip());
                if let (true, Some(peer)) = (ret >= 0, peer) {
                    let server = matches!(kind, Kind::Recvfrom | Kind::Recvmsg);
                    let news = self
                        .threads
                        .proc_of(tid)
                        .and_then(|p| p.fds.get(num))
                        .is_some_and(|e| !e.connected && e.remote.as_ref() != Some(&peer));
                    // Only a new peer changes the entry: an unconnected
                    // socket's every datagram must not copy a shared table.
                    let changed = news
                        .then(|| {
                            self.threads.update_fd(tid, num, |e| {
                                e.remote = Some(peer);
                                e.is_server = server;
                                if e.local.is_none() {
                                    e.local = Some(Addr {
                                        family: e
                                            .remote
                                            .as_ref()
                                            .map_or(Family::Inet, |a| a.family),
                                        ..Addr::default()
                                    });
                                }
                                let before = std::mem::take(&mut e.name);
                                e.rename();
                                before != e.name
                            })
                        })
                        .flatten();
                    if let Some(changed) = changed {
                        efd = EvFd::Table { num, changed };
                    }
                }
                Some(efd)
            }
            Kind::Close
            | Kind::Listen
            | Kind::Fchmod
            | Kind::Fchown
            | Kind::Setns
            | Kind::FinitModule => {
                let num = params.int("fd")?;
                Some(self.fd_param(tid, num))
            }
            _ => None,
        }
    }

    /// Applies the removals `kind` makes once its event is written.
    pub(crate) fn apply_post(&mut self, kind: Kind, tid: i32, ret: i64, params: &Params<'_>) {
        match kind {
            Kind::Close if ret == 0 => {
                if let Some(num) = params.int("fd") {
                    self.threads.remove_fd(tid, num);
                }
            }
            Kind::ProcExit => self.threads.remove_thread(tid),
            _ => {}
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
    fn apply_exec(
        &mut self,
        tid: i32,
        ts: u64,
        params: &Params<'_>,
        path: &dyn Fn(&str) -> Option<Vec<u8>>,
    ) {
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
                .int("ppid")
                .and_then(|pp| self.threads.proc(pp as i32))
                .filter(|q| q.pid != pid);
            if let Some(parent) = parent {
                let child = parent.fork_child(pid, ts);
                self.threads.put_proc(child);
            }
        }
        let comm = params.bytes("comm").map(<[u8]>::to_vec);
        let vtid = params.int("vtid");
        let budget = self.threads.fd_budget().clone();
        let Some(p) = self.threads.proc_mut(pid) else {
            return;
        };
        if let Some(exepath) = path("exepath")
            .or_else(|| path("filename"))
            .or_else(|| path("pathname"))
        {
            p.exepath = exepath;
        }
        if let Some(argv) = params.list("args") {
            let mut it = argv.into_iter();
            p.exe = it.next().map(<[u8]>::to_vec).unwrap_or_default();
            p.args = it.map(<[u8]>::to_vec).collect();
        }
        p.args_truncated = params.uint("args_truncated").unwrap_or(0) != 0;
        if let Some(cwd) = path("cwd") {
            p.cwd = cwd;
        }
        let u32p = |n: &str| params.uint(n).map(|v| v as u32);
        let i32p = |n: &str| params.int(n).map(|v| v as i32);
        p.uid = u32p("uid").unwrap_or(p.uid);
        p.gid = u32p("gid").unwrap_or(p.gid);
        p.euid = u32p("euid").unwrap_or(p.euid);
        p.egid = u32p("egid").unwrap_or(p.egid);
        p.loginuid = u32p("loginuid").unwrap_or(p.loginuid);
        p.tty = u32p("tty").unwrap_or(p.tty);
        p.sid = i32p("sid").unwrap_or(p.sid);
        p.vpid = i32p("vpid").unwrap_or(p.vpid);
        p.pgid = i32p("pgid").unwrap_or(p.pgid);
        p.ppid = i32p("ppid").unwrap_or(p.ppid);
        p.cap_effective = params.uint("cap_effective").unwrap_or(p.cap_effective);
        p.cap_permitted = params.uint("cap_permitted").unwrap_or(p.cap_permitted);
        p.cap_inheritable = params.uint("cap_inheritable").unwrap_or(p.cap_inheritable);
        p.exe_upper_layer = params.uint("exe_upper_layer").unwrap_or(0) != 0;
        p.exe_from_memfd = params.uint("exe_from_memfd").unwrap_or(0) != 0;
        p.exe_ino = params.uint("exe_ino").unwrap_or(0);
        p.exe_ctime_ns = params.uint("exe_ino_ctime").unwrap_or(0);
        p.exe_mtime_ns = params.uint("exe_ino_mtime").unwrap_or(0);
        p.pidns_ino = params.uint("pidns_ino").unwrap_or(p.pidns_ino);
        if let Some(cg) = params.list("cgroups") {
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

    /// The descriptor named by an fd parameter, building a partial entry
    /// when it was never seen.
    fn fd_param(&mut self, tid: i32, num: i64) -> EvFd {
        self.stats.fd_lookups += 1;
        let known = self
            .threads
            .proc_of(tid)
            .is_some_and(|p| p.fds.contains(num));
        if !known && num >= 0 {
            self.stats.fd_misses += 1;
            let mut e = FdEntry::new(FdType::Unknown);
            e.partial = true;
            let _ = self.put_fd(tid, num, e);
        }
        EvFd::Table {
            num,
            changed: false,
        }
    }

    /// Adds descriptor `num`; returns the entry as given when the table
    /// did not keep it whole (see [`crate::fdtable::Placed`]).
    fn put_fd(&mut self, tid: i32, num: i64, e: FdEntry) -> Option<FdEntry> {
        self.threads.put_fd(tid, num, e)?.into_cut()
    }

    /// A syscall that returns a new descriptor: tracked when it succeeded,
    /// shown detached (with its would-be name) when it failed. One the
    /// table could not keep whole still shows whole on this event.
    fn new_fd(&mut self, tid: i32, ret: i64, e: FdEntry) -> EvFd {
        if ret < 0 {
            return EvFd::Detached {
                num: ret,
                entry: e,
                changed: false,
            };
        }
        match self.put_fd(tid, ret, e) {
            Some(entry) => EvFd::Detached {
                num: ret,
                entry,
                changed: true,
            },
            None => EvFd::Table {
                num: ret,
                changed: true,
            },
        }
    }

    /// `new` becomes a copy of `old` (dup family); close-on-exec is the
    /// new descriptor's own.
    fn dup_fd(&mut self, tid: i32, old: i64, new: i64, cloexec: bool) {
        if old == new {
            return;
        }
        let src = self
            .threads
            .proc_of(tid)
            .and_then(|p| p.fds.get(old))
            .cloned();
        let mut e = match src {
            Some(e) => e,
            None => {
                self.stats.fd_misses += 1;
                let mut e = FdEntry::new(FdType::Unknown);
                e.partial = true;
                e
            }
        };
        e.cloexec = cloexec;
        let _ = self.put_fd(tid, new, e);
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
