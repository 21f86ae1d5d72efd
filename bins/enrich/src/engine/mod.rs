//! The enrich engine: takes capture's events one at a time, updates the
//! thread, fd and container tables ([`crate::apply`]), and writes each event
//! with its state attached ([`crate::engine::compose`]), holding back a new
//! container's events until its metadata arrives or the bounded wait runs
//! out.
//!
//! It owns no I/O of its own: the caller ([`crate::run`]) reads frames, hands
//! events and runtime updates in, and gives it the writer to write to. Tests
//! and the benchmark drive it the same way.

pub mod compose;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::{Duration, Instant};

use capnp::message::{Builder, HeapAllocator};
use schema::kestrel_capnp::{event, frame};
use schema::{FrameWriter, Kind};

use crate::args::Arg;
use crate::forward::Forward;
use crate::holdback::{Held, HoldBack};
use crate::limits::{
    DEFAULT_MAX_THREADS, DEFAULT_METADATA_WAIT, MAX_CONTAINERS, REMOVED_CONTAINER_GRACE,
};
use crate::params::Params;
use crate::stats::{self, Counters, Tables};
use crate::tables::cgroup::{self, CgroupContainer, Runtime};
use crate::tables::containers::{ContainerEntry, ContainerMeta, Containers, Meta};
use crate::tables::fd::FdEntry;
use crate::tables::threads::ThreadTable;
use crate::tables::users::UserDb;
use crate::writer::fit::{self, to_io, Fitted};
use crate::writer::rawparams::RawList;
use crate::writer::splice::Splicer;
use crate::writer::statelink::StateLink;
use compose::Fill;

/// How the engine is set up.
#[derive(Debug, Clone)]
pub struct Options {
    pub max_threads: usize,
    /// Bounded wait for a new container's metadata.
    pub metadata_wait: Duration,
    pub passwd: PathBuf,
    pub group: PathBuf,
    /// The event kinds written downstream (`--forward`; default: all).
    pub forward: Forward,
    /// Every event carries its thread's state itself; no `state` frames
    /// (`--inline-state`).
    pub inline_state: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_threads: DEFAULT_MAX_THREADS,
            metadata_wait: DEFAULT_METADATA_WAIT,
            passwd: PathBuf::from("/etc/passwd"),
            group: PathBuf::from("/etc/group"),
            forward: Forward::all(),
            inline_state: false,
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
    /// No client was given for the runtime of this container (a Docker
    /// container while only CRI sockets are known): nothing will come, and
    /// that is no miss.
    Unasked(String),
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
pub(crate) struct Ev<'a> {
    pub(crate) kind: Kind,
    pub(crate) ts: u64,
    pub(crate) cpu: u16,
    pub(crate) tid: i32,
    pub(crate) pid: i32,
    /// The process of `tid` in the table once the event's changes are
    /// applied; None when the thread is not in the table.
    pub(crate) proc_pid: Option<i32>,
    pub(crate) ret: i64,
    pub(crate) flags: u32,
    /// The input event, whose parameters are copied (None for a
    /// synthesised event, which has none).
    pub(crate) event: Option<event::Reader<'a>>,
    /// Its parameter list in the input frame's bytes, when it has the shape
    /// that can be copied as a block.
    pub(crate) raw: Option<RawList<'a>>,
    pub(crate) paths: &'a [(usize, Vec<u8>)],
    pub(crate) raw_name: Option<&'a [u8]>,
    pub(crate) fd: Option<EvFd>,
}

/// The enrich state and its counters.
pub struct Enricher {
    pub(crate) threads: ThreadTable,
    pub(crate) users: UserDb,
    pub(crate) containers: Containers,
    hold: HoldBack,
    pub(crate) splicer: RefCell<Splicer>,
    /// Whether events are written from cached parts (see [`Self::set_splicing`]).
    pub(crate) splicing: bool,
    /// Which thread states the reader holds.
    pub(crate) link: StateLink,
    /// Events carry their parts themselves instead of naming a `state`.
    pub(crate) inline_state: bool,
    /// Times a thread's cached `thread` was (re)built.
    pub(crate) thread_builds: Cell<u64>,
    /// Events written cut, and not written, for the wire limit
    /// ([`crate::writer::fit`]); cells, as events are written through `&self`.
    parts_trimmed: Cell<u64>,
    frame_too_large: Cell<u64>,
    pub stats: Counters,
    fetch: Option<Sender<FetchRequest>>,
    wait: Duration,
    /// Destroyed containers and when their metadata may leave the cache.
    removals: VecDeque<(Instant, String)>,
    forward: Forward,
    /// The last reason a fetch failed that was logged as a warning: an
    /// unreachable runtime fails every container's fetch alike, and says so
    /// once (each miss still counts in `meta_misses`).
    last_miss_warning: Option<String>,
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
            link: StateLink::new(),
            inline_state: opts.inline_state,
            thread_builds: Cell::new(0),
            parts_trimmed: Cell::new(0),
            frame_too_large: Cell::new(0),
            stats: Counters::default(),
            fetch,
            wait: opts.metadata_wait,
            removals: VecDeque::new(),
            forward: opts.forward.clone(),
            last_miss_warning: None,
        }
    }

    /// Turns off (or back on) writing events from cached, pre-serialised
    /// parts and copied parameter blocks: every event is then built field by
    /// field. The output must be the same either way; tests check that.
    pub fn set_splicing(&mut self, on: bool) {
        self.splicing = on;
    }

    /// Sets the byte budget of all descriptor tables (default
    /// [`crate::limits::FD_BUDGET_BYTES`]), for tests that reach it.
    pub fn set_fd_budget(&mut self, bytes: usize) {
        self.threads.fd_budget().set_limit(bytes);
    }

    /// Times a thread's serialised `thread` was built (the rest of the
    /// events reused it).
    pub fn thread_builds(&self) -> u64 {
        self.thread_builds.get()
    }

    /// `state` and `stateGone` frames written so far.
    pub fn states_sent(&self) -> (u64, u64) {
        (self.link.states_sent(), self.link.states_gone_sent())
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
        let raw_list = RawList::locate(raw);
        let params = Params::new(kind, ev, raw_list);
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
            .and(params.position(Arg::Name))
            .filter(|i| paths.iter().any(|(j, _)| j == i))
            .and_then(|_| params.bytes(Arg::Name));
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
            event: Some(ev),
            raw: raw_list,
            paths: &paths,
            raw_name,
            fd,
        };
        let cid = self.container_step(&e, w)?;
        if self.forward.contains(kind) {
            self.write_or_hold(&e, cid, w)?;
        } else {
            self.stats.events_not_forwarded += 1;
        }
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
                event: None,
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
            self.before_write(w)?;
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

    /// Releases container `cid`'s held events, filling their container from
    /// the current state.
    fn release<W: Write>(&mut self, cid: &str, w: &mut FrameWriter<W>) -> io::Result<usize> {
        let q = self.hold.take(cid);
        let n = q.len();
        if n > 0 {
            self.before_write(w)?;
        }
        for mut h in q {
            {
                let root = h.msg.get_root::<frame::Builder>().map_err(to_io)?;
                if let Ok(frame::Event(Ok(out))) = root.which() {
                    self.write_container(&h.container, out);
                }
            }
            self.write_event_msg(h.msg, &h.container, w)?;
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
                    Ok(mut m) => {
                        self.stats.meta_hits += 1;
                        // Cut by the runtime client already; again here,
                        // as whatever reaches a part must be.
                        m.limit();
                        self.stats.meta_cut += m.cut;
                        Meta::Complete(Arc::from(m))
                    }
                    Err(why) => {
                        if self.last_miss_warning.as_deref() == Some(why.as_str()) {
                            tracing::debug!(container = %full_id, "no metadata: {why}");
                        } else {
                            tracing::warn!(container = %full_id, "no metadata: {why}");
                            self.last_miss_warning = Some(why);
                        }
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
                            Meta::Complete(m) => Runtime::from_name(&m.runtime),
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
            MetaUpdate::Unasked(full_id) => {
                if let Some(c) = self.containers.get_mut(&full_id) {
                    if matches!(c.meta, Meta::Pending(_)) {
                        c.meta = Meta::NotAsked;
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

    /// Brings the reader's states up to date before a frame is written:
    /// notices a new reader (it holds no state, so each is sent again) and
    /// writes the `stateGone` frames owed for threads that left the table.
    /// Those come after every event that named the gone state (written
    /// earlier) and before any later `state` of a reused tid.
    fn before_write<W: Write>(&mut self, w: &mut FrameWriter<W>) -> io::Result<()> {
        self.link.check_reader();
        if self.threads.gone.is_empty() {
            return Ok(());
        }
        self.link.write_gone(&mut self.threads.gone, w)
    }

    /// The next reader of this stream holds no thread's state: each is
    /// sent again before its thread's next event. enrich notices a lost
    /// reader by itself (`stage::reconnect::reader_changes`); this is for a
    /// caller that changes readers otherwise, and for tests.
    pub fn new_reader(&mut self) {
        self.threads.gone.clear();
        self.link.new_reader();
    }

    /// Releases every queue whose wait has run out by `now`, re-reads the
    /// user databases if they changed, and writes the `stateGone` frames
    /// owed (so an idle stream does not keep states its reader can drop).
    pub fn tick<W: Write>(&mut self, now: Instant, w: &mut FrameWriter<W>) -> io::Result<()> {
        self.before_write(w)?;
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
        self.before_write(w)
    }

    /// enrich's counters as of now.
    pub fn counters(&self, c: &mut stage::Counters) {
        let t = Tables {
            threads: self.threads.thread_count() as u64,
            procs: self.threads.proc_count() as u64,
            fds: self.threads.fd_count() as u64,
            containers: self.containers.len() as u64,
            held_now: self.hold.len() as u64,
            thread_evictions: self.threads.evictions,
            fd_evictions: self.threads.fd_evictions,
            fd_bytes: self.threads.fd_budget().used() as u64,
            fd_budget_evictions: self.threads.fd_budget().cuts(),
            container_evictions: self.containers.evictions,
            user_reloads: self.users.reloads,
            thread_builds: self.thread_builds.get(),
            states_sent: self.link.states_sent(),
            states_gone_sent: self.link.states_gone_sent(),
        };
        let mut s = self.stats.clone();
        s.parts_trimmed = self.parts_trimmed.get();
        s.frame_too_large = self.frame_too_large.get();
        stats::counters(&s, &t, c)
    }

    /// Writes `msg`, a frame holding an event of container `cid`, within
    /// the wire limit ([`crate::writer::fit`]): never an error for its size.
    pub(crate) fn write_event_msg<W: Write>(
        &self,
        msg: Builder<HeapAllocator>,
        cid: &str,
        w: &mut FrameWriter<W>,
    ) -> io::Result<()> {
        let fitted = fit::write_fitted(w, msg, |c| match self.containers.get(cid) {
            Some(entry) if !cid.is_empty() => entry.write_container_summary(c),
            _ => crate::tables::containers::write_host(c),
        })?;
        match fitted {
            Fitted::Whole => {}
            Fitted::Trimmed => self.parts_trimmed.set(self.parts_trimmed.get() + 1),
            Fitted::Dropped => {
                tracing::warn!(
                    "an event's frame is over the wire limit even without its parts: dropped"
                );
                self.frame_too_large.set(self.frame_too_large.get() + 1);
            }
        }
        Ok(())
    }

    /// A container entry, for tests.
    pub fn container(&self, full_id: &str) -> Option<&ContainerEntry> {
        self.containers.get(full_id)
    }
}
