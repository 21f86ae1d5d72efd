//! enrich's own counters, written in-band as a `stats` frame by the stage
//! driver about once a second and at the end. All are cumulative since
//! start, except the table sizes, which are current (gauges).

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
    /// ([`crate::tables::containers::ContainerMeta::limit`]).
    pub meta_cut: u64,
    /// Events written with parts cut, their whole frame being over the
    /// wire limit ([`crate::writer::fit`]).
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
    /// `state` frames written ([`crate::writer::statelink`]).
    pub states_sent: u64,
    /// `stateGone` frames written.
    pub states_gone_sent: u64,
}

/// The counters, typed, in the order they have always been written.
pub fn counters(c: &Counters, t: &Tables, out: &mut stage::Counters) {
    out.events("events_in", c.events_in)
        .count("events_out", c.events_out)
        .count("events_not_forwarded", c.events_not_forwarded)
        .count("containers_started", c.containers_started)
        .count("thread_lookups", c.thread_lookups)
        .count("thread_misses", c.thread_misses)
        .count("fd_lookups", c.fd_lookups)
        .count("fd_misses", c.fd_misses)
        .count("meta_hits", c.meta_hits)
        .count("meta_misses", c.meta_misses)
        .count("meta_timeouts", c.meta_timeouts)
        .count("held_events", c.held_events)
        .count("meta_cut", c.meta_cut)
        .count("parts_trimmed", c.parts_trimmed)
        .drops("frame_too_large", c.frame_too_large)
        .count("stats_forwarded", c.stats_forwarded)
        .count("other_forwarded", c.other_forwarded)
        .gauge("threads", t.threads)
        .gauge("procs", t.procs)
        .gauge("fds", t.fds)
        .gauge("containers", t.containers)
        .gauge("held_now", t.held_now)
        .count("thread_evictions", t.thread_evictions)
        .count("fd_evictions", t.fd_evictions)
        .gauge("fd_bytes", t.fd_bytes)
        .count("fd_budget_evictions", t.fd_budget_evictions)
        .count("container_evictions", t.container_evictions)
        .count("user_reloads", t.user_reloads)
        .count("thread_builds", t.thread_builds)
        .count("states_sent", t.states_sent)
        .count("states_gone_sent", t.states_gone_sent);
}
