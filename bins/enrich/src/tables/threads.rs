//! The thread table: every live thread and the process state its threads
//! share (ids, exe, args, cwd, credentials, capabilities, descriptors,
//! cgroups), bounded by a named limit with oldest-first eviction.
//!
//! It does not decide how syscalls change that state ([`crate::apply`]) nor
//! how it is written on events ([`crate::writer::emit`]).

use std::cell::Cell;
use std::collections::VecDeque;

use rustc_hash::FxHashMap;

use crate::tables::fd::FdEntry;
use crate::tables::fdtable::{FdBudget, FdTable, Placed};
use crate::writer::partcache::PartCache;
use crate::writer::statelink::SentMark;

/// What a thread's cached `thread` was built from: its process's version,
/// its own, the table epoch (for the ancestors and leaders it shows), and
/// its process's stdio version when the part shows the stdio types (with
/// `--inline-state`; by reference the events carry them instead).
pub type ThreadKey = (u64, u64, u64, Option<u64>);

/// What a process's cached user, group, login user and container were
/// built from: its version, the user databases' reload count and the
/// container table's generation.
pub type IdentityKey = (u64, u64, u64);

/// State shared by the threads of one process.
#[derive(Debug, Clone, Default)]
pub struct Proc {
    pub pid: i32,
    pub ppid: i32,
    pub vpid: i32,
    pub sid: i32,
    pub pgid: i32,
    pub vpgid: i32,
    /// `argv[0]`.
    pub exe: Vec<u8>,
    pub exepath: Vec<u8>,
    /// `argv[1..]`.
    pub args: Vec<Vec<u8>>,
    pub args_truncated: bool,
    pub env: Vec<Vec<u8>>,
    pub cwd: Vec<u8>,
    pub tty: u32,
    pub uid: u32,
    pub gid: u32,
    pub euid: u32,
    pub egid: u32,
    pub loginuid: u32,
    pub cap_effective: u64,
    pub cap_permitted: u64,
    pub cap_inheritable: u64,
    pub start_ts_ns: u64,
    pub exe_upper_layer: bool,
    pub exe_from_memfd: bool,
    pub exe_ino: u64,
    pub exe_ctime_ns: u64,
    pub exe_mtime_ns: u64,
    pub pidns_ino: u64,
    pub cgroups: Vec<String>,
    /// Full container id, empty for the host.
    pub container: String,
    /// Comm of the process's main thread, for ancestors and group leaders.
    pub comm: Vec<u8>,
    /// Shared with fork children until either side changes it.
    pub fds: FdTable,
    /// Built lazily from an event of a process never seen before.
    pub partial: bool,
    /// Live threads of this process in the table.
    threads: u32,
    /// Bumped on every change that shows on this process's events; keys
    /// the cached `thread` of its threads.
    pub(crate) ver: u64,
    /// Set once this process shows on another's events (as an ancestor or a
    /// session or group leader): its changes then invalidate every cache.
    pub(crate) in_chain: Cell<bool>,
    /// Bumped when descriptor 0, 1 or 2 changes (it shows as
    /// `stdioTypes`); not part of `ver`, so that such a change rebuilds
    /// only the cached threads that show it (see [`ThreadKey`]).
    pub(crate) stdio_ver: u64,
    /// Its events' user, group, login user and container, serialised.
    pub(crate) identity: PartCache<IdentityKey>,
}

/// uid value meaning "not set" (loginuid of processes outside a login).
pub const UID_UNSET: u32 = u32::MAX;

impl Proc {
    /// A process known only by its id.
    pub fn partial(pid: i32) -> Proc {
        Proc {
            pid,
            loginuid: UID_UNSET,
            partial: true,
            ..Proc::default()
        }
    }

    /// The state a child process starts from after fork/clone: everything
    /// but its ids, descriptors included (shared until either side changes
    /// them).
    pub fn fork_child(&self, pid: i32, start_ts_ns: u64) -> Proc {
        let mut child = self.clone();
        child.pid = pid;
        child.ppid = self.pid;
        child.vpid = if self.vpid == self.pid { pid } else { 0 };
        child.start_ts_ns = start_ts_ns;
        child.partial = false;
        child.threads = 0;
        child.ver = 0;
        child.in_chain = Cell::new(false);
        child
    }
}

/// One thread.
#[derive(Debug, Clone)]
pub struct Thread {
    pub tid: i32,
    pub pid: i32,
    pub vtid: i32,
    /// comm (`proc.name`), per thread as in the kernel.
    pub comm: Vec<u8>,
    pub partial: bool,
    /// Creation sequence number, for oldest-first eviction.
    seq: u64,
    /// Bumped on every change of this thread's own fields.
    pub(crate) ver: u64,
    /// This thread's `thread` as last written (see [`crate::writer::splice`]).
    pub(crate) cache: PartCache<ThreadKey>,
    /// The state of this thread the reader holds ([`crate::writer::statelink`]).
    pub(crate) sent: SentMark,
}

/// Threads and processes, bounded by `max_threads`.
pub struct ThreadTable {
    threads: FxHashMap<i32, Thread>,
    procs: FxHashMap<i32, Proc>,
    /// Creation order, for eviction; entries of threads that are gone (or
    /// were replaced) are skipped lazily by sequence number.
    order: VecDeque<(u64, i32)>,
    next_seq: u64,
    max_threads: usize,
    /// Bumped when a process that shows on others' events changes or goes:
    /// every cached `thread` is stale then.
    pub(crate) epoch: u64,
    pub evictions: u64,
    /// Descriptors not tracked because their process had
    /// [`crate::limits::MAX_FDS_PER_PROCESS`].
    pub fd_evictions: u64,
    /// What every descriptor table of this table is charged to.
    fd_budget: FdBudget,
    /// Threads that left the table after their state was sent: (tid,
    /// `stateGen` last sent). The engine writes their `stateGone` before
    /// its next frame ([`crate::writer::statelink`]).
    pub(crate) gone: Vec<(i32, u64)>,
}

impl ThreadTable {
    pub fn new(max_threads: usize) -> ThreadTable {
        ThreadTable {
            threads: FxHashMap::default(),
            procs: FxHashMap::default(),
            order: VecDeque::new(),
            next_seq: 0,
            max_threads: max_threads.max(1),
            epoch: 0,
            evictions: 0,
            fd_evictions: 0,
            fd_budget: FdBudget::default(),
            gone: Vec::new(),
        }
    }

    pub fn thread_count(&self) -> usize {
        self.threads.len()
    }

    pub fn proc_count(&self) -> usize {
        self.procs.len()
    }

    /// Descriptors over all processes (a table shared by several counts
    /// once for each).
    pub fn fd_count(&self) -> usize {
        self.procs.values().map(|p| p.fds.len()).sum()
    }

    /// The budget of all descriptor tables: bytes charged, limit, cuts.
    pub fn fd_budget(&self) -> &FdBudget {
        &self.fd_budget
    }

    /// Adds or replaces descriptor `num` of thread `tid`'s process; what
    /// was not kept whole is counted. None when the thread is unknown.
    pub fn put_fd(&mut self, tid: i32, num: i64, e: FdEntry) -> Option<Placed> {
        let (fds, budget) = self.fds_for(tid, num)?;
        let placed = fds.insert(num, e, budget);
        if matches!(placed, Placed::TableFull(_)) {
            self.fd_evictions += 1;
        }
        Some(placed)
    }

    /// Changes descriptor `num` of thread `tid`'s process in place.
    pub fn update_fd<R>(
        &mut self,
        tid: i32,
        num: i64,
        f: impl FnOnce(&mut FdEntry) -> R,
    ) -> Option<R> {
        let (fds, budget) = self.fds_for(tid, num)?;
        fds.update(num, budget, f)
    }

    /// Removes descriptor `num` of thread `tid`'s process.
    pub fn remove_fd(&mut self, tid: i32, num: i64) {
        if let Some((fds, budget)) = self.fds_for(tid, num) {
            fds.remove(num, budget);
        }
    }

    /// Thread `tid`'s descriptor table, for a change of descriptor `num`,
    /// beside the budget it charges. The change shows on the process's
    /// events (as `stdioTypes`) only for 0, 1 and 2.
    fn fds_for(&mut self, tid: i32, num: i64) -> Option<(&mut FdTable, &FdBudget)> {
        let pid = self.threads.get(&tid)?.pid;
        let p = self.procs.get_mut(&pid)?;
        if (0..=2).contains(&num) {
            p.stdio_ver += 1;
        }
        Some((&mut p.fds, &self.fd_budget))
    }

    pub fn thread(&self, tid: i32) -> Option<&Thread> {
        self.threads.get(&tid)
    }

    pub fn thread_mut(&mut self, tid: i32) -> Option<&mut Thread> {
        let t = self.threads.get_mut(&tid)?;
        t.ver += 1;
        Some(t)
    }

    pub fn proc(&self, pid: i32) -> Option<&Proc> {
        self.procs.get(&pid)
    }

    /// A process, for a change that shows on its events.
    pub fn proc_mut(&mut self, pid: i32) -> Option<&mut Proc> {
        let p = self.procs.get_mut(&pid)?;
        p.ver += 1;
        if p.in_chain.get() {
            self.epoch += 1;
        }
        Some(p)
    }

    /// The process of thread `tid`.
    pub fn proc_of(&self, tid: i32) -> Option<&Proc> {
        self.threads.get(&tid).and_then(|t| self.procs.get(&t.pid))
    }

    pub fn proc_of_mut(&mut self, tid: i32) -> Option<&mut Proc> {
        let pid = self.threads.get(&tid)?.pid;
        self.proc_mut(pid)
    }

    /// Inserts or replaces process `p` (its threads are kept).
    /// A new process needs no invalidation here when it is a fork child,
    /// which cannot be anyone's parent yet; other new processes go through
    /// [`Self::put_proc_seen_before`].
    pub fn put_proc(&mut self, mut p: Proc) {
        if let Some(old) = self.procs.get(&p.pid) {
            p.threads = old.threads;
            p.ver = old.ver + 1;
            p.in_chain = Cell::new(old.in_chain.get());
            if old.in_chain.get() {
                self.epoch += 1;
            }
        }
        self.procs.insert(p.pid, p);
    }

    /// Inserts a process that may already be someone's parent (from a
    /// snapshot, or built lazily): caches naming its pid are stale.
    pub fn put_proc_seen_before(&mut self, p: Proc) {
        self.epoch += 1;
        self.put_proc(p);
    }

    /// Inserts thread `tid` of process `pid` (which must be in the table),
    /// replacing any older thread of that id, evicting the oldest thread if
    /// the table is full.
    pub fn put_thread(&mut self, tid: i32, pid: i32, vtid: i32, comm: Vec<u8>, partial: bool) {
        if let Some(old) = self.threads.remove(&tid) {
            self.forget(&old);
            self.release(old.pid, old.pid != pid);
        }
        while self.threads.len() >= self.max_threads {
            if !self.evict_oldest(pid) {
                break;
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.threads.insert(
            tid,
            Thread {
                tid,
                pid,
                vtid,
                comm,
                partial,
                seq,
                ver: 0,
                cache: PartCache::default(),
                sent: SentMark::default(),
            },
        );
        if let Some(p) = self.procs.get_mut(&pid) {
            p.threads += 1;
        }
        self.order.push_back((seq, tid));
        // Exited threads leave stale order entries; compact before they
        // outnumber live ones, so the queue stays bounded too.
        if self.order.len() > 2 * self.threads.len() + 1024 {
            let threads = &self.threads;
            self.order
                .retain(|(s, t)| threads.get(t).is_some_and(|th| th.seq == *s));
        }
    }

    /// Evicts the oldest thread not of process `keep` (the one a thread is
    /// being added to, which must survive).
    fn evict_oldest(&mut self, keep: i32) -> bool {
        let mut skipped = 0;
        while let Some((seq, tid)) = self.order.pop_front() {
            let Some(t) = self.threads.get(&tid).filter(|t| t.seq == seq) else {
                continue;
            };
            if t.pid == keep {
                self.order.push_back((seq, tid));
                skipped += 1;
                if skipped > self.threads.len() {
                    return false;
                }
                continue;
            }
            self.remove_thread(tid);
            self.evictions += 1;
            return true;
        }
        false
    }

    /// Removes thread `tid`; its process goes with its last thread.
    pub fn remove_thread(&mut self, tid: i32) {
        if let Some(t) = self.threads.remove(&tid) {
            self.forget(&t);
            self.release(t.pid, true);
        }
    }

    /// Thread `t` left the table: its reader must drop its state, if it was
    /// sent one.
    fn forget(&mut self, t: &Thread) {
        if let Some(gen) = t.sent.gen() {
            self.gone.push((t.tid, gen));
        }
    }

    /// One thread of `pid` is gone; drop the process with its last thread
    /// when `drop_empty`.
    fn release(&mut self, pid: i32, drop_empty: bool) {
        let gone = match self.procs.get_mut(&pid) {
            Some(p) => {
                p.threads = p.threads.saturating_sub(1);
                p.threads == 0
            }
            None => false,
        };
        if gone && drop_empty {
            if let Some(p) = self.procs.remove(&pid) {
                if p.in_chain.get() {
                    self.epoch += 1;
                }
            }
        }
    }

    /// Removes every thread of process `pid` but `keep` (after an execve,
    /// the kernel has killed the others).
    pub fn remove_other_threads(&mut self, pid: i32, keep: i32) {
        let others: Vec<i32> = self
            .threads
            .values()
            .filter(|t| t.pid == pid && t.tid != keep)
            .map(|t| t.tid)
            .collect();
        for tid in others {
            self.remove_thread(tid);
        }
    }

    /// Ensures thread `tid` of process `pid` exists, building a partial entry
    /// (no /proc lookups: replay must be deterministic) when it does not.
    /// Returns true when the thread was already known.
    pub fn ensure(&mut self, tid: i32, pid: i32) -> bool {
        if let Some(t) = self.threads.get(&tid) {
            if t.pid == pid || pid <= 0 {
                return true;
            }
        }
        let pid = if pid > 0 { pid } else { tid };
        let (comm, partial) = match self.procs.get(&pid) {
            Some(p) => (p.comm.clone(), false),
            None => {
                self.put_proc_seen_before(Proc::partial(pid));
                (Vec::new(), true)
            }
        };
        self.put_thread(tid, pid, 0, comm, partial);
        false
    }

    /// Records how a descriptor built outside the table (a snapshot's) was
    /// taken in.
    pub fn count_placed(&mut self, placed: &Placed) {
        if matches!(placed, Placed::TableFull(_)) {
            self.fd_evictions += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proc(pid: i32) -> Proc {
        Proc {
            pid,
            ..Proc::default()
        }
    }

    #[test]
    fn oldest_threads_are_evicted_first_and_counted() {
        let mut t = ThreadTable::new(3);
        for pid in 1..=4 {
            t.put_proc(proc(pid));
            t.put_thread(pid, pid, pid, b"x".to_vec(), false);
        }
        assert_eq!(t.thread_count(), 3);
        assert_eq!(t.evictions, 1);
        assert!(t.thread(1).is_none());
        assert!(
            t.proc(1).is_none(),
            "the process leaves with its last thread"
        );
        assert!(t.thread(4).is_some());
    }

    #[test]
    fn threads_share_their_process_until_the_last_exits() {
        let mut t = ThreadTable::new(10);
        t.put_proc(proc(100));
        t.put_thread(100, 100, 1, b"a".to_vec(), false);
        t.put_thread(101, 100, 2, b"a".to_vec(), false);
        t.proc_of_mut(101).unwrap().cwd = b"/tmp".to_vec();
        assert_eq!(t.proc_of(100).unwrap().cwd, b"/tmp");
        t.remove_thread(100);
        assert!(t.proc(100).is_some());
        t.remove_thread(101);
        assert!(t.proc(100).is_none());
    }

    #[test]
    fn unknown_threads_get_partial_entries() {
        let mut t = ThreadTable::new(10);
        assert!(!t.ensure(7, 7));
        assert!(t.proc(7).unwrap().partial);
        assert!(t.thread(7).unwrap().partial);
        assert!(!t.ensure(8, 7));
        assert!(
            !t.thread(8).unwrap().partial,
            "a new thread of a known process"
        );
        assert!(t.ensure(8, 7));
    }

    #[test]
    fn order_queue_stays_bounded_under_churn() {
        let mut t = ThreadTable::new(100);
        t.put_proc(proc(1));
        for i in 0..100_000 {
            t.put_thread(2, 1, 0, Vec::new(), false);
            if i % 2 == 0 {
                t.remove_thread(2);
            }
        }
        assert!(t.order.len() < 2000);
    }
}
