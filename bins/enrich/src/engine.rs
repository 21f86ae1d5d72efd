//! The enrich engine: takes capture's events one at a time, updates the
//! thread, fd and container tables ([`crate::apply`]), and writes each event
//! with its state attached, holding back a new container's events until its
//! metadata arrives or the bounded wait runs out.
//!
//! It owns no I/O of its own: the caller ([`crate::run`]) reads frames, hands
//! events and runtime updates in, and gives it the writer to write to. Tests
//! and the benchmark drive it the same way.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::{Duration, Instant};

use capnp::message::Builder;
use capnp::struct_list;
use schema::kestrel_capnp::{event, frame, param, user};
use schema::{FrameWriter, Kind};

use crate::cgroup::{self, CgroupContainer, Runtime};
use crate::containers::{self, ContainerEntry, ContainerMeta, Containers, Meta};
use crate::emit::{stdio_types, write_thread};
use crate::fd::FdEntry;
use crate::holdback::{Held, HoldBack};
use crate::limits::{
    DEFAULT_MAX_THREADS, DEFAULT_METADATA_WAIT, MAX_CONTAINERS, REMOVED_CONTAINER_GRACE,
};
use crate::params::Params;
use crate::rawparams::RawList;
use crate::splice::{Cached, Part, Parts, RawParams, Splicer};
use crate::stats::{self, Counters, Tables};
use crate::threads::{Proc, Thread, ThreadKey, ThreadTable, UID_UNSET};
use crate::users::UserDb;

/// How the engine is set up.
#[derive(Debug, Clone)]
pub struct Options {
    pub max_threads: usize,
    /// Bounded wait for a new container's metadata.
    pub metadata_wait: Duration,
    pub passwd: PathBuf,
    pub group: PathBuf,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_threads: DEFAULT_MAX_THREADS,
            metadata_wait: DEFAULT_METADATA_WAIT,
            passwd: PathBuf::from("/etc/passwd"),
            group: PathBuf::from("/etc/group"),
        }
    }
}

/// A request to the runtime clients for one container's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchRequest {
    pub full_id: String,
    pub runtime: Runtime,
}

/// What the runtime clients report back to the engine.
#[derive(Debug, Clone)]
pub enum MetaUpdate {
    /// A container's metadata, or why there is none.
    Fetched {
        full_id: String,
        result: Result<Box<ContainerMeta>, String>,
    },
    /// The runtime destroyed a container.
    Removed(String),
}

/// The parts of an event that depend on its process alone, cached per
/// process.
const IDENTITY_PARTS: [Part; 5] = [
    Part::User,
    Part::Group,
    Part::LoginUser,
    Part::Container,
    Part::K8s,
];

/// What [`Enricher::fill_event`] writes besides the event's own fields
/// and descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fill {
    /// Parameters, thread, user, group and login user.
    All,
    /// Parameters only: the caller splices in the cached parts.
    NoParts,
    /// Neither: the caller splices in the cached parts and the parameters.
    NoPartsNoParams,
}

/// The descriptor an event concerns.
#[derive(Debug, Clone)]
pub enum EvFd {
    /// Descriptor `num` in the thread's process table.
    Table { num: i64, changed: bool },
    /// A descriptor that is not in the table (a failed open).
    Detached {
        num: i64,
        entry: FdEntry,
        changed: bool,
    },
}

/// One event being written: the input event's own fields, or a synthesised
/// one (containerStart) with no parameters.
struct Ev<'a> {
    kind: Kind,
    ts: u64,
    cpu: u16,
    tid: i32,
    pid: i32,
    /// The process of `tid` in the table once the event's changes are
    /// applied; None when the thread is not in the table.
    proc_pid: Option<i32>,
    ret: i64,
    flags: u32,
    params: Option<struct_list::Reader<'a, param::Owned>>,
    /// Its parameter list in the input frame's bytes, when it has the shape
    /// that can be copied as a block.
    raw: Option<RawList<'a>>,
    paths: &'a [(usize, Vec<u8>)],
    raw_name: Option<&'a [u8]>,
    fd: Option<EvFd>,
}

/// The enrich state and its counters.
pub struct Enricher {
    pub(crate) threads: ThreadTable,
    pub(crate) users: UserDb,
    pub(crate) containers: Containers,
    hold: HoldBack,
    splicer: RefCell<Splicer>,
    /// Whether events are written from cached parts (see [`Self::set_splicing`]).
    splicing: bool,
    /// Times a thread's cached `thread` was (re)built.
    thread_builds: Cell<u64>,
    pub stats: Counters,
    fetch: Option<Sender<FetchRequest>>,
    wait: Duration,
    hostname: String,
    /// Destroyed containers and when their metadata may leave the cache.
    removals: VecDeque<(Instant, String)>,
}

fn to_io(e: capnp::Error) -> io::Error {
    io::Error::other(e.to_string())
}

impl Enricher {
    /// An engine; `fetch` is where metadata requests go (None: no runtime
    /// client, so nothing is held back).
    pub fn new(opts: &Options, fetch: Option<Sender<FetchRequest>>) -> Enricher {
        Enricher {
            threads: ThreadTable::new(opts.max_threads),
            users: UserDb::open(&opts.passwd, &opts.group),
            containers: Containers::default(),
            hold: HoldBack::default(),
            splicer: RefCell::new(Splicer::new()),
            splicing: true,
            thread_builds: Cell::new(0),
            stats: Counters::default(),
            fetch,
            wait: opts.metadata_wait,
            hostname: schema::hostname(),
            removals: VecDeque::new(),
        }
    }

    /// Turns off (or back on) writing events from cached, pre-serialised
    /// parts and copied parameter blocks: every event is then built field by
    /// field. The output must be the same either way; tests check that.
    pub fn set_splicing(&mut self, on: bool) {
        self.splicing = on;
    }

    /// Times a thread's serialised `thread` was built (the rest of the
    /// events reused it).
    pub fn thread_builds(&self) -> u64 {
        self.thread_builds.get()
    }

    /// The thread table (read-only), for tests and the benchmark.
    pub fn threads(&self) -> &ThreadTable {
        &self.threads
    }

    /// Handles one event of the input: updates state, writes it (or holds
    /// it back) with its state attached. `raw` is the frame `ev` was read
    /// from, exactly as read ([`schema::InFrame::raw`]): its parameters are
    /// copied from it as a block when they can be.
    pub fn on_event<W: Write>(
        &mut self,
        ev: event::Reader<'_>,
        raw: &[u8],
        w: &mut FrameWriter<W>,
    ) -> io::Result<()> {
        self.stats.events_in += 1;
        let kind = ev.get_kind().unwrap_or(Kind::Unknown);
        let list = ev.get_params().ok();
        let raw_list = RawList::locate(raw);
        let params = Params::new(kind, list, raw_list);
        let tid = ev.get_tid();
        let pid = ev.get_pid();
        let ret = ev.get_ret();

        if kind == Kind::ProcSnapshot {
            self.apply_snapshot(ev);
        } else {
            self.stats.thread_lookups += 1;
            if !self.threads.ensure(tid, pid) {
                self.stats.thread_misses += 1;
            }
        }
        let paths = self.resolve_paths(tid, &params);
        let fd = self.apply_pre(kind, tid, ret, ev.get_ts_ns(), &params, &paths);
        // fd.nameraw: the path as passed, when resolution changed it.
        let raw_name = fd
            .as_ref()
            .filter(|_| !paths.is_empty())
            .and(params.index("name"))
            .filter(|i| paths.iter().any(|(j, _)| j == i))
            .and_then(|_| params.bytes("name"));
        let proc_pid = self.threads.thread(tid).map(|t| t.pid);
        let e = Ev {
            kind,
            ts: ev.get_ts_ns(),
            cpu: ev.get_cpu(),
            tid,
            pid: proc_pid.unwrap_or(pid),
            proc_pid,
            ret,
            flags: ev.get_flags(),
            params: list,
            raw: raw_list,
            paths: &paths,
            raw_name,
            fd,
        };
        let cid = self.container_step(&e, w)?;
        self.write_or_hold(&e, cid, w)?;
        self.apply_post(kind, tid, ret, &params);
        Ok(())
    }

    /// The container of `e`'s thread (empty: host); on the first event of a
    /// container's process, announces it with a containerStart event and
    /// asks for its metadata.
    fn container_step<W: Write>(
        &mut self,
        e: &Ev<'_>,
        w: &mut FrameWriter<W>,
    ) -> io::Result<String> {
        let Some(p) = e.proc_pid.and_then(|pid| self.threads.proc(pid)) else {
            return Ok(String::new());
        };
        if p.container.is_empty() {
            return Ok(String::new());
        }
        let cid = p.container.clone();
        if self.containers.get(&cid).is_none() {
            let found = cgroup::container_of(&p.cgroups).unwrap_or(CgroupContainer {
                id: cid.clone(),
                runtime: Runtime::Containerd,
                pod_uid: None,
            });
            let meta = match &self.fetch {
                Some(tx) => {
                    let req = FetchRequest {
                        full_id: cid.clone(),
                        runtime: found.runtime,
                    };
                    if tx.send(req).is_ok() {
                        Meta::Pending(Instant::now())
                    } else {
                        Meta::Failed
                    }
                }
                None => Meta::NotAsked,
            };
            self.containers.insert(&found, meta);
        }
        if self.containers.mark_announced(&cid) {
            self.stats.containers_started += 1;
            let start = Ev {
                kind: Kind::ContainerStart,
                ts: e.ts,
                cpu: e.cpu,
                tid: e.tid,
                pid: e.pid,
                proc_pid: e.proc_pid,
                ret: 0,
                flags: 0,
                params: None,
                raw: None,
                paths: &[],
                raw_name: None,
                fd: None,
            };
            self.write_or_hold(&start, cid.clone(), w)?;
        }
        Ok(cid)
    }

    /// Writes `e` now, or queues it while its container's metadata is
    /// pending (or while its thread has earlier events queued).
    fn write_or_hold<W: Write>(
        &mut self,
        e: &Ev<'_>,
        cid: String,
        w: &mut FrameWriter<W>,
    ) -> io::Result<()> {
        let queue = match self.hold.queue_of(e.tid).map(str::to_string) {
            Some(q) => Some(q),
            None if !cid.is_empty() && self.still_waiting(&cid) => Some(cid.clone()),
            None => None,
        };
        let Some(queue) = queue else {
            self.stats.events_out += 1;
            return self.write_now(e, &cid, w);
        };
        if self.hold.full() {
            if let Some(oldest) = self.hold.oldest().map(str::to_string) {
                self.time_out(&oldest, w)?;
            }
        }
        let mut msg = Builder::new_default();
        let tp = self.threads.thread(e.tid).zip(self.threads.proc_of(e.tid));
        let out = msg.init_root::<frame::Builder>().init_event();
        self.fill_event(e, tp, out, Fill::All).map_err(to_io)?;
        self.stats.held_events += 1;
        self.hold.push(
            &queue,
            Held {
                msg,
                tid: e.tid,
                container: cid,
            },
        );
        Ok(())
    }

    /// True while container `cid`'s metadata is pending and its wait has not
    /// run out.
    fn still_waiting(&mut self, cid: &str) -> bool {
        let Some(Meta::Pending(since)) = self.containers.get(cid).map(|c| &c.meta) else {
            return false;
        };
        if since.elapsed() < self.wait {
            return true;
        }
        if let Some(c) = self.containers.get_mut(cid) {
            c.meta = Meta::TimedOut;
        }
        false
    }

    /// Writes `e` at once. Its thread, user, group, login user and
    /// container come from the thread's and the process's caches when the
    /// state they show has not changed since (see [`crate::splice`]).
    fn write_now<W: Write>(&self, e: &Ev<'_>, cid: &str, w: &mut FrameWriter<W>) -> io::Result<()> {
        let tp = e
            .proc_pid
            .and_then(|pid| self.threads.thread(e.tid).zip(self.threads.proc(pid)));
        // A snapshot is a thread's first event and, for most threads of a
        // host, its last for a long while: its parts are built in place,
        // not cached, so that idle threads hold no serialised copy.
        let cache = self.splicing && e.kind != Kind::ProcSnapshot;
        if let (Some((t, p)), true) = (tp, cache) {
            let key = (p.ver, t.ver, self.threads.epoch, p.stdio_ver);
            // A change of stdio alone is patched in: it is common (programs
            // close or redirect their stdio) and shows three values only.
            let patch = |old: ThreadKey, part: &mut Cached| {
                old.0 == key.0
                    && old.1 == key.1
                    && old.2 == key.2
                    && part.patch_stdio(stdio_types(p))
            };
            let thread = t.cache.get_or_patch(key, patch, || {
                self.thread_builds.set(self.thread_builds.get() + 1);
                self.splicer.borrow_mut().cached(&[Part::Thread], |parts| {
                    if let Some(b) = parts.thread() {
                        write_thread(&self.threads, t, p, b);
                    }
                })
            });
            let identity_key = (p.ver, self.users.reloads, self.containers.generation());
            let identity = p.identity.get(identity_key, || {
                self.splicer
                    .borrow_mut()
                    .cached(&IDENTITY_PARTS, |parts| self.write_identity(p, cid, parts))
            });
            if let (Some(thread), Some(identity)) = (&*thread, &*identity) {
                let params = e.raw.map(|list| RawParams {
                    list,
                    rewrites: e.paths,
                });
                let mut splicer = self.splicer.borrow_mut();
                let written = splicer.write(w, &[thread, identity], params, |out, copied| {
                    let fill = if copied {
                        Fill::NoPartsNoParams
                    } else {
                        Fill::NoParts
                    };
                    self.fill_event(e, Some((t, p)), out, fill)
                })?;
                if written {
                    return Ok(());
                }
            }
        }
        w.build(|f| -> io::Result<()> {
            let mut out = f.init_event();
            let tp = self.threads.thread(e.tid).zip(self.threads.proc_of(e.tid));
            self.fill_event(e, tp, out.reborrow(), Fill::All)
                .map_err(to_io)?;
            self.write_container(cid, out);
            Ok(())
        })
    }

    /// Fills an output event but its container, and but what `fill` says
    /// the caller splices in.
    fn fill_event(
        &self,
        e: &Ev<'_>,
        tp: Option<(&Thread, &Proc)>,
        mut out: event::Builder<'_>,
        fill: Fill,
    ) -> capnp::Result<()> {
        out.set_ts_ns(e.ts);
        out.set_cpu(e.cpu);
        out.set_tid(e.tid);
        out.set_pid(e.pid);
        out.set_kind(e.kind);
        out.set_ret(e.ret);
        out.set_flags(e.flags);
        if let (Some(list), false) = (e.params, fill == Fill::NoPartsNoParams) {
            out.set_params(list)?;
            if !e.paths.is_empty() {
                let mut pl = out.reborrow().get_params()?;
                for (i, path) in e.paths {
                    pl.reborrow().get(*i as u32).set_bytes(path);
                }
            }
        }
        let Some((t, p)) = tp else {
            return Ok(());
        };
        if fill == Fill::All {
            write_thread(&self.threads, t, p, out.reborrow().init_thread());
            self.users.write_user(p.euid, out.reborrow().init_user());
            self.users.write_group(p.egid, out.reborrow().init_group());
            self.write_login_user(p, out.reborrow().init_login_user());
        }

        let written = match &e.fd {
            Some(EvFd::Table { num, changed }) => match p.fds.get(num) {
                Some(entry) => {
                    entry.write(*num, *changed, out.reborrow().init_fd());
                    true
                }
                None => false,
            },
            Some(EvFd::Detached {
                num,
                entry,
                changed,
            }) => {
                entry.write(*num, *changed, out.reborrow().init_fd());
                true
            }
            None => false,
        };
        if let (true, Some(raw)) = (written, e.raw_name) {
            out.get_fd()?.set_name_raw(raw);
        }
        Ok(())
    }

    /// The login user: no name for processes outside a login.
    fn write_login_user(&self, p: &Proc, mut b: user::Builder<'_>) {
        if p.loginuid == UID_UNSET {
            b.set_uid(p.loginuid);
        } else {
            self.users.write_user(p.loginuid, b);
        }
    }

    /// The process-wide parts of `p`'s events ([`IDENTITY_PARTS`]), for its
    /// cache; `cid` is its container.
    fn write_identity(&self, p: &Proc, cid: &str, parts: &mut Parts<'_>) {
        if let Some(b) = parts.user() {
            self.users.write_user(p.euid, b);
        }
        if let Some(b) = parts.group() {
            self.users.write_group(p.egid, b);
        }
        if let Some(b) = parts.login_user() {
            self.write_login_user(p, b);
        }
        match self.containers.get(cid).filter(|_| !cid.is_empty()) {
            Some(c) => {
                if let Some(b) = parts.container() {
                    c.write_container(b);
                }
                if c.has_k8s() {
                    if let Some(b) = parts.k8s() {
                        c.write_k8s(b);
                    }
                }
            }
            None => {
                if let Some(b) = parts.container() {
                    containers::write_host(b);
                }
            }
        }
    }

    fn write_container(&self, cid: &str, out: event::Builder<'_>) {
        match self.containers.get(cid) {
            Some(c) if !cid.is_empty() => c.write(out),
            _ => containers::write_host(out.init_container()),
        }
    }

    /// Releases container `cid`'s held events, filling their container from
    /// the current state.
    fn release<W: Write>(&mut self, cid: &str, w: &mut FrameWriter<W>) -> io::Result<usize> {
        let q = self.hold.take(cid);
        let n = q.len();
        for mut h in q {
            {
                let root = h.msg.get_root::<frame::Builder>().map_err(to_io)?;
                if let Ok(frame::Event(Ok(out))) = root.which() {
                    self.write_container(&h.container, out);
                }
            }
            w.write(&h.msg)?;
            self.stats.events_out += 1;
        }
        Ok(n)
    }

    /// The wait for `cid` ran out: its held events leave without metadata.
    fn time_out<W: Write>(&mut self, cid: &str, w: &mut FrameWriter<W>) -> io::Result<()> {
        if let Some(c) = self.containers.get_mut(cid) {
            if matches!(c.meta, Meta::Pending(_)) {
                c.meta = Meta::TimedOut;
            }
        }
        let n = self.release(cid, w)?;
        self.stats.meta_timeouts += n as u64;
        Ok(())
    }

    /// Applies a runtime client's report.
    pub fn on_update<W: Write>(&mut self, u: MetaUpdate, w: &mut FrameWriter<W>) -> io::Result<()> {
        match u {
            MetaUpdate::Fetched { full_id, result } => {
                let known = self
                    .containers
                    .get(&full_id)
                    .is_some_and(|c| matches!(c.meta, Meta::Complete(_)));
                if known && result.is_err() {
                    // A second fetch (on `start` after `create`) that fails
                    // because the container is already gone must not undo
                    // the first one's answer.
                    return self.release(&full_id, w).map(drop);
                }
                let meta = match result {
                    Ok(m) => {
                        self.stats.meta_hits += 1;
                        Meta::Complete(Arc::from(m))
                    }
                    Err(why) => {
                        tracing::warn!(container = %full_id, "no metadata: {why}");
                        self.stats.meta_misses += 1;
                        Meta::Failed
                    }
                };
                match self.containers.get_mut(&full_id) {
                    Some(c) => c.meta = meta,
                    None => {
                        // Announced by the runtime's event stream before
                        // any of its processes showed up.
                        let runtime = match &meta {
                            Meta::Complete(m) if m.runtime == "podman" => Runtime::Podman,
                            _ => Runtime::Docker,
                        };
                        let found = CgroupContainer {
                            id: full_id.clone(),
                            runtime,
                            pod_uid: None,
                        };
                        self.containers.insert(&found, meta);
                    }
                }
                self.release(&full_id, w)?;
            }
            MetaUpdate::Removed(full_id) => {
                self.release(&full_id, w)?;
                if self.removals.len() >= MAX_CONTAINERS {
                    if let Some((_, oldest)) = self.removals.pop_front() {
                        self.containers.remove(&oldest);
                    }
                }
                self.removals
                    .push_back((Instant::now() + REMOVED_CONTAINER_GRACE, full_id));
            }
        }
        Ok(())
    }

    /// When the next held event's wait runs out, if any is held.
    pub fn next_deadline(&self) -> Option<Instant> {
        if self.hold.is_empty() {
            return None;
        }
        self.hold
            .containers()
            .iter()
            .map(|c| match self.containers.get(c).map(|c| &c.meta) {
                Some(Meta::Pending(t)) => *t + self.wait,
                // Held behind a container that is no longer pending: due now.
                _ => Instant::now(),
            })
            .min()
    }

    /// Releases every queue whose wait has run out by `now`, and re-reads the
    /// user databases if they changed.
    pub fn tick<W: Write>(&mut self, now: Instant, w: &mut FrameWriter<W>) -> io::Result<()> {
        self.users.refresh(now);
        while self.removals.front().is_some_and(|(due, _)| *due <= now) {
            if let Some((_, id)) = self.removals.pop_front() {
                self.containers.remove(&id);
            }
        }
        for cid in self.hold.containers() {
            let due = match self.containers.get(&cid).map(|c| &c.meta) {
                Some(Meta::Pending(t)) => now.duration_since(*t) >= self.wait,
                _ => true,
            };
            if due {
                self.time_out(&cid, w)?;
            }
        }
        Ok(())
    }

    /// Releases everything held (end of input, or before a fatal error), as
    /// timed out.
    pub fn release_all<W: Write>(&mut self, w: &mut FrameWriter<W>) -> io::Result<()> {
        for cid in self.hold.containers() {
            self.time_out(&cid, w)?;
        }
        Ok(())
    }

    /// Writes enrich's stats frame.
    pub fn write_stats<W: Write>(&self, w: &mut FrameWriter<W>) -> io::Result<()> {
        let t = Tables {
            threads: self.threads.thread_count() as u64,
            procs: self.threads.proc_count() as u64,
            fds: self.threads.fd_count() as u64,
            containers: self.containers.len() as u64,
            held_now: self.hold.len() as u64,
            thread_evictions: self.threads.evictions,
            fd_evictions: self.threads.fd_evictions,
            container_evictions: self.containers.evictions,
            user_reloads: self.users.reloads,
            thread_builds: self.thread_builds.get(),
        };
        stats::write(w, &self.hostname, &self.stats, &t)
    }

    /// A container entry, for tests.
    pub fn container(&self, full_id: &str) -> Option<&ContainerEntry> {
        self.containers.get(full_id)
    }
}
