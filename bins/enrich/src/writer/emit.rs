//! Writes the thread table's view of one thread as an event's `thread`:
//! its process's state, the ancestors nearest first (up to
//! [`MAX_ANCESTORS`]), the session and process-group leaders' names, and
//! the types of its stdio descriptors.
//!
//! It reads the tables only; changing them is [`crate::apply`]'s.

use capnp::{data_list, enum_list};
use schema::kestrel_capnp::{thread, FdType};

use crate::limits::{MAX_ANCESTORS, MAX_ANCESTOR_ARGS_BYTES};
use crate::tables::threads::{Proc, Thread, ThreadTable};

fn set_list(mut l: data_list::Builder<'_>, items: &[Vec<u8>]) {
    for (i, item) in items.iter().enumerate() {
        l.set(i as u32, item);
    }
}

/// True when `q` may be `p`'s parent or its session or group leader: it
/// did not start after `p` (or a start time is unknown). The kernel reuses
/// the pid of a process that is gone, and enrich keeps the ids a process
/// names (ppid, sid, pgid) as they were; a process that took such a pid
/// started after every process that still names it, and is not theirs.
/// This also keeps cached `thread` parts valid: a new process never shows
/// on the events of older ones, so it need not invalidate them.
fn predates(q: &Proc, p: &Proc) -> bool {
    q.start_ts_ns == 0 || p.start_ts_ns == 0 || q.start_ts_ns <= p.start_ts_ns
}

/// Stdio descriptors: 0, 1 and 2 (stdin, stdout, stderr).
pub const STDIO_FDS: u32 = 3;

/// Where an event shows its thread's stdio types (`fd.types[N]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stdio {
    /// In its `thread`, as a self-contained event does.
    InThread,
    /// In `Event.stdioTypes`, beside the `thread`: programs dup2 and close
    /// their stdio all the time, and a `thread` without them stays the same
    /// state across that (no `state` frame is sent again).
    OnEvent,
}

/// Fills `l` (`Thread.stdioTypes` or `Event.stdioTypes`, three long) with
/// the types of `p`'s descriptors 0, 1 and 2 (`unknown` when closed).
pub fn write_stdio_types(p: &Proc, mut l: enum_list::Builder<'_, FdType>) {
    for n in 0..l.len() {
        let ty = p.fds.get(i64::from(n)).map_or(FdType::Unknown, |e| e.ty);
        l.set(n, ty);
    }
}

/// Writes thread `t` of process `p`, with its stdio types if `stdio` says
/// they go there.
pub fn write_thread(
    table: &ThreadTable,
    t: &Thread,
    p: &Proc,
    stdio: Stdio,
    mut b: thread::Builder<'_>,
) {
    b.set_tid(t.tid);
    b.set_pid(p.pid);
    b.set_ppid(p.ppid);
    b.set_vtid(t.vtid);
    b.set_vpid(p.vpid);
    b.set_sid(p.sid);
    b.set_pgid(p.pgid);
    b.set_name(&t.comm);
    b.set_exe(&p.exe);
    b.set_exepath(&p.exepath);
    set_list(b.reborrow().init_args(p.args.len() as u32), &p.args);
    b.set_cwd(&p.cwd);
    b.set_tty(p.tty);
    b.set_uid(p.uid);
    b.set_gid(p.gid);
    b.set_euid(p.euid);
    b.set_egid(p.egid);
    b.set_loginuid(p.loginuid);
    b.set_cap_effective(p.cap_effective);
    b.set_cap_permitted(p.cap_permitted);
    b.set_cap_inheritable(p.cap_inheritable);
    b.set_start_ts_ns(p.start_ts_ns);
    b.set_exe_upper_layer(p.exe_upper_layer);
    b.set_exe_from_memfd(p.exe_from_memfd);
    b.set_args_truncated(p.args_truncated);
    if !p.cgroups.is_empty() {
        let mut l = b.reborrow().init_cgroups(p.cgroups.len() as u32);
        for (i, c) in p.cgroups.iter().enumerate() {
            l.set(i as u32, c.as_str());
        }
    }
    b.set_partial(t.partial || p.partial);
    if !p.env.is_empty() {
        set_list(b.reborrow().init_env(p.env.len() as u32), &p.env);
    }
    b.set_pidns_ino(p.pidns_ino);
    b.set_exe_ino(p.exe_ino);
    b.set_exe_ctime_ns(p.exe_ctime_ns);
    b.set_exe_mtime_ns(p.exe_mtime_ns);
    b.set_vpgid(p.vpgid);
    // Processes shown here are marked, so that their changes invalidate
    // cached threads (see `Proc::in_chain`).
    if let Some(s) = table.proc(p.sid).filter(|s| p.sid > 0 && predates(s, p)) {
        s.in_chain.set(s.in_chain.get() || s.pid != p.pid);
        b.set_sname(&s.comm);
    }
    if let Some(g) = table.proc(p.pgid).filter(|g| p.pgid > 0 && predates(g, p)) {
        g.in_chain.set(g.in_chain.get() || g.pid != p.pid);
        b.set_vpgid_name(&g.comm);
        b.set_vpgid_exe(&g.exe);
    }
    if stdio == Stdio::InThread {
        write_stdio_types(p, b.reborrow().init_stdio_types(STDIO_FDS));
    }

    let mut chain: [Option<&Proc>; MAX_ANCESTORS] = [None; MAX_ANCESTORS];
    let mut depth = 0;
    let mut cur = p;
    while depth < MAX_ANCESTORS {
        // A process cannot be its own ancestor; stop at loops and at pid 0.
        let Some(parent) = table
            .proc(cur.ppid)
            .filter(|q| cur.ppid > 0 && q.pid != cur.pid && q.pid != p.pid && predates(q, cur))
        else {
            break;
        };
        parent.in_chain.set(true);
        chain[depth] = Some(parent);
        depth += 1;
        cur = parent;
    }
    if let Some(parent) = chain[0] {
        b.set_parent_start_ts_ns(parent.start_ts_ns);
    }
    let mut anc = b.init_ancestors(depth as u32);
    for (i, a) in chain.iter().take(depth).flatten().enumerate() {
        let mut ab = anc.reborrow().get(i as u32);
        ab.set_pid(a.pid);
        ab.set_name(&a.comm);
        ab.set_exe(&a.exe);
        ab.set_exepath(&a.exepath);
        if i == 0 {
            set_list(ab.reborrow().init_args(a.args.len() as u32), &a.args);
            ab.set_args_truncated(a.args_truncated);
        } else {
            let (args, cut) = bounded(&a.args, MAX_ANCESTOR_ARGS_BYTES);
            let mut l = ab.reborrow().init_args(args.len() as u32);
            for (j, arg) in args.iter().enumerate() {
                l.set(j as u32, arg);
            }
            ab.set_args_truncated(cut || a.args_truncated);
        }
    }
}

/// The leading arguments of `items` holding at most `limit` bytes, the last
/// one cut if it does not fit; true if anything was left out.
fn bounded(items: &[Vec<u8>], limit: usize) -> (Vec<&[u8]>, bool) {
    let mut left = limit;
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        if left == 0 {
            return (out, true);
        }
        let take = item.len().min(left);
        out.push(&item[..take]);
        left -= take;
        if take < item.len() {
            return (out, true);
        }
    }
    (out, false)
}

#[cfg(test)]
mod tests {
    use super::bounded;

    fn v(items: &[&str]) -> Vec<Vec<u8>> {
        items.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn arguments_are_kept_whole_within_the_bound() {
        let args = v(&["bash", "-c", "true"]);
        let (got, cut) = bounded(&args, 10);
        assert_eq!(got, [&b"bash"[..], b"-c", b"true"]);
        assert!(!cut);
    }

    #[test]
    fn the_argument_that_crosses_the_bound_is_cut_and_flagged() {
        let args = v(&["java", "-cp", "a:b:c:d", "Main"]);
        let (got, cut) = bounded(&args, 9);
        assert_eq!(got, [&b"java"[..], b"-cp", b"a:"]);
        assert!(cut);
        // Exactly at the bound, with arguments left: flagged, none empty.
        let (got, cut) = bounded(&args, 7);
        assert_eq!(got, [&b"java"[..], b"-cp"]);
        assert!(cut);
    }
}
