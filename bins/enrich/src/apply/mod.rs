//! How each kind of event changes the tables: snapshots and clone/exec/exit
//! for threads (`process`), setuid/setgid/capset for credentials (`creds`),
//! open/dup/fcntl and friends for descriptors (`files`),
//! socket/connect/accept/bind and datagrams for sockets (`net`); and which
//! descriptor each event concerns (Falco's semantics for `fd.*`).
//!
//! Changes that the event itself must show (a new fd, a new cwd) are applied
//! before it is written (`Enricher::apply_pre`); removals (close, exit)
//! after (`Enricher::apply_post`), so the event still shows what it closed.
//!
//! It reads parameters by position ([`crate::args`]) and writes nothing:
//! what an event carries is [`crate::engine::compose`]'s.

mod creds;
mod files;
mod net;
mod process;

use schema::kestrel_capnp::FdType;
use schema::table::ParamType;
use schema::Kind;

use crate::args::Arg;
use crate::engine::{Enricher, EvFd};
use crate::params::{Params, Value};
use crate::tables::fd::FdEntry;
use crate::tables::path::{self, AT_FDCWD};

/// One event, as the functions that apply it see it.
struct Call<'p, 'a> {
    kind: Kind,
    tid: i32,
    ret: i64,
    ts: u64,
    params: &'p Params<'a>,
    /// Path parameters made absolute ([`Enricher::resolve_paths`]): (index,
    /// path).
    paths: &'p [(usize, Vec<u8>)],
}

impl Call<'_, '_> {
    /// The call succeeded, for the syscalls that return 0 then (not those
    /// that return a descriptor or a pid).
    fn ok(&self) -> bool {
        self.ret == 0
    }

    /// Path parameter `arg`, made absolute when it was not.
    fn path(&self, arg: Arg) -> Option<Vec<u8>> {
        let i = self.params.position(arg)?;
        match self.paths.iter().find(|(j, _)| *j == i) {
            Some((_, p)) => Some(p.clone()),
            None => self.params.bytes(arg).map(<[u8]>::to_vec),
        }
    }
}

impl Enricher {
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
        let c = &Call {
            kind,
            tid,
            ret,
            ts,
            params,
            paths,
        };
        match kind {
            Kind::Clone | Kind::Clone3 | Kind::Fork | Kind::Vfork => {
                self.apply_fork(c);
                None
            }
            Kind::Execve | Kind::Execveat => {
                if c.ok() {
                    self.apply_exec(c);
                }
                None
            }
            Kind::Setuid | Kind::Setreuid | Kind::Setresuid => {
                self.apply_uids(c);
                None
            }
            Kind::Setgid | Kind::Setregid | Kind::Setresgid => {
                self.apply_gids(c);
                None
            }
            Kind::Capset => {
                self.apply_capset(c);
                None
            }
            Kind::Chdir => {
                self.apply_chdir(c);
                None
            }
            Kind::Fchdir => self.apply_fchdir(c),
            Kind::Prctl => {
                self.apply_prctl(c);
                None
            }
            Kind::Open | Kind::Openat | Kind::Openat2 | Kind::Creat => Some(self.apply_open(c)),
            Kind::MemfdCreate => Some(self.apply_memfd(c)),
            Kind::Userfaultfd => Some(self.apply_userfaultfd(c)),
            Kind::Dup | Kind::Dup2 | Kind::Dup3 => self.apply_dup(c),
            Kind::Fcntl => self.apply_fcntl(c),
            Kind::Socket => Some(self.apply_socket(c)),
            Kind::Socketpair => {
                self.apply_socketpair(c);
                None
            }
            Kind::Connect => self.apply_connect(c),
            Kind::Accept | Kind::Accept4 => self.apply_accept(c),
            Kind::Bind => self.apply_bind(c),
            Kind::Sendto | Kind::Sendmsg | Kind::Recvfrom | Kind::Recvmsg => self.apply_datagram(c),
            Kind::Close
            | Kind::Listen
            | Kind::Fchmod
            | Kind::Fchown
            | Kind::Setns
            | Kind::FinitModule => {
                let num = c.params.int(Arg::Fd)?;
                Some(self.fd_param(c.tid, num))
            }
            _ => None,
        }
    }

    /// Applies the removals `kind` makes once its event is written.
    pub(crate) fn apply_post(&mut self, kind: Kind, tid: i32, ret: i64, params: &Params<'_>) {
        match kind {
            Kind::Close if ret == 0 => {
                if let Some(num) = params.int(Arg::Fd) {
                    self.threads.remove_fd(tid, num);
                }
            }
            Kind::ProcExit => self.threads.remove_thread(tid),
            _ => {}
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
    /// did not keep it whole (see [`crate::tables::fdtable::Placed`]).
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
}
