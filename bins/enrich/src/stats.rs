//! enrich's own counters, written in-band as a `stats` frame about once per
//! [`crate::limits::STATS_INTERVAL`] and at the end. All are cumulative
//! since start, except the table sizes, which are current.

use std::io::Write;

use schema::{FrameWriter, Stage};

/// Counters of events and lookups.
#[derive(Debug, Default, Clone)]
pub struct Counters {
    pub events_in: u64,
    pub events_out: u64,
    /// Events that updated the tables but were not written (`--forward`).
    pub events_not_forwarded: u64,
    /// Events of kind containerStart that enrich synthesised.
    pub containers_started: u64,
    pub thread_lookups: u64,
    /// Events of threads never seen (partial entries built).
    pub thread_misses: u64,
    pub fd_lookups: u64,
    /// Events on descriptors never seen (partial entries built).
    pub fd_misses: u64,
    /// Runtime answers with metadata.
    pub meta_hits: u64,
    /// Runtime answers without it (unknown container, runtime error).
    pub meta_misses: u64,
    /// Events released without metadata because the wait ran out.
    pub meta_timeouts: u64,
    /// Events held back while metadata was awaited.
    pub held_events: u64,
    /// Container labels, mounts and texts cut to their limits
    /// ([`crate::containers::ContainerMeta::limit`]).
    pub meta_cut: u64,
    /// Events written with parts cut, their whole frame being over the
    /// wire limit ([`crate::fit`]).
    pub parts_trimmed: u64,
    /// Events not written: even cut, their frame was over the wire limit.
    pub frame_too_large: u64,
    pub stats_forwarded: u64,
    /// Frames that were neither header, event nor stats, forwarded as is.
    pub other_forwarded: u64,
}

/// Current table sizes and eviction counts, gathered at write time.
#[derive(Debug, Default, Clone)]
pub struct Tables {
    pub threads: u64,
    pub procs: u64,
    pub fds: u64,
    pub containers: u64,
    pub held_now: u64,
    pub thread_evictions: u64,
    pub fd_evictions: u64,
    /// Bytes charged to the descriptor tables' budget
    /// ([`crate::limits::FD_BUDGET_BYTES`]).
    pub fd_bytes: u64,
    /// Descriptor names and descriptors left out for that budget.
    pub fd_budget_evictions: u64,
    pub container_evictions: u64,
    pub user_reloads: u64,
    pub thread_builds: u64,
    /// `state` frames written ([`crate::statelink`]).
    pub states_sent: u64,
    /// `stateGone` frames written.
    pub states_gone_sent: u64,
}

/// Writes one stats frame.
pub fn write<W: Write>(
    w: &mut FrameWriter<W>,
    hostname: &str,
    c: &Counters,
    t: &Tables,
) -> std::io::Result<()> {
    let counters: [(&str, u64); 32] = [
        ("events_in", c.events_in),
        ("events_out", c.events_out),
        ("events_not_forwarded", c.events_not_forwarded),
        ("containers_started", c.containers_started),
        ("thread_lookups", c.thread_lookups),
        ("thread_misses", c.thread_misses),
        ("fd_lookups", c.fd_lookups),
        ("fd_misses", c.fd_misses),
        ("meta_hits", c.meta_hits),
        ("meta_misses", c.meta_misses),
        ("meta_timeouts", c.meta_timeouts),
        ("held_events", c.held_events),
        ("meta_cut", c.meta_cut),
        ("parts_trimmed", c.parts_trimmed),
        ("drops.frame_too_large", c.frame_too_large),
        ("stats_forwarded", c.stats_forwarded),
        ("other_forwarded", c.other_forwarded),
        ("threads", t.threads),
        ("procs", t.procs),
        ("fds", t.fds),
        ("containers", t.containers),
        ("held_now", t.held_now),
        ("thread_evictions", t.thread_evictions),
        ("fd_evictions", t.fd_evictions),
        ("fd_bytes", t.fd_bytes),
        ("fd_budget_evictions", t.fd_budget_evictions),
        ("container_evictions", t.container_evictions),
        ("user_reloads", t.user_reloads),
        ("thread_builds", t.thread_builds),
        ("states_sent", t.states_sent),
        ("states_gone_sent", t.states_gone_sent),
        // Frames dropped while the reader of a `unix:` output restarted
        // (schema::reconnect; one output per process).
        (
            "drops.downstream_disconnected",
            schema::reconnect::undelivered_frames(),
        ),
    ];
    // The same counters answer `enrich ctl stats` (a no-op without --control).
    let owned: Vec<(String, u64)> = counters.iter().map(|(n, v)| (n.to_string(), *v)).collect();
    schema::control::stage::publish_counters(&owned);
    w.build(|f| -> std::io::Result<()> {
        let mut s = f.init_stats();
        s.set_stage(Stage::Enrich);
        s.set_time_ns(schema::now_ns());
        s.set_hostname(hostname);
        let mut l = s.init_counters(counters.len() as u32);
        for (i, (name, value)) in counters.iter().enumerate() {
            let mut b = l.reborrow().get(i as u32);
            b.set_name(*name);
            b.set_value(*value);
        }
        Ok(())
    })
}
