//! Named limits that bound enrich's memory and waiting, whatever the input.
//!
//! Every table enrich keeps is bounded here; what is pushed out is counted in
//! the stats frames, so a limit that is too low shows up as a counter, never
//! as unbounded growth. Command-line flags may lower or raise the ones marked
//! "default".
//!
//! # Worst case
//!
//! What these limits let outside input (the event stream, container
//! runtimes' answers) make enrich hold, at the defaults:
//!
//! - Threads and processes: [`DEFAULT_MAX_THREADS`] entries of about
//!   0.8 KiB idle, some 200 MiB, plus each one's cached, serialised parts
//!   (thread and identity, a few KiB for typical ones).
//! - Descriptors: [`MAX_FDS_PER_PROCESS`] per process, but all tables
//!   together hold at most [`FD_BUDGET_BYTES`] (256 MiB) of slots, socket
//!   paths and names, however many processes share or copied them; each
//!   table's own header (under 100 bytes) is outside it, bounded by the
//!   number of processes. Without the budget, threads × descriptors would
//!   be 262,144 × 16,384 entries of 0.4 KiB and more.
//! - Container metadata: [`MAX_CONTAINERS`] entries of at most
//!   [`MAX_CONTAINER_META_BYTES`] of text (32 KiB) plus the overhead of
//!   128 labels and 64 mounts, under 200 MiB in all; each process of a
//!   container also caches its identity part, which holds a copy of that
//!   container's part (at most one 64 KiB cached segment). One answer read
//!   from a runtime is at most [`MAX_HTTP_BODY_BYTES`] (a CRI message
//!   [`MAX_CRI_MESSAGE_BYTES`]). The CRI client keeps its own copy of the
//!   answers, as many again at most, and [`MAX_CRI_PODS`] pods' parts
//!   (their labels within the same per-container bounds).
//! - Held events: [`MAX_HELD_EVENTS`], each a whole event (a few KiB).
//! - Every event frame written is within `schema::limits::MAX_FRAME_BYTES`;
//!   one that would not be goes out cut (`crate::writer::fit`), never fatal.

use std::time::Duration;

/// Default most threads kept in the thread table (`--max-threads`). When full,
/// the oldest entry (by creation) is evicted. An idle thread costs about
/// 0.8 KiB of resident memory, its process's share included (see
/// BENCHMARKS.md, enrich), so the default bounds the table near 200 MiB
/// even on the busiest host.
pub const DEFAULT_MAX_THREADS: usize = 262_144;

/// Most descriptors tracked per process. Beyond it, new descriptors are not
/// tracked (counted as `fd_evictions`) and events on them carry a partial fd.
pub const MAX_FDS_PER_PROCESS: usize = 16_384;

/// Most bytes all descriptor tables together may hold: their slots, socket
/// paths and names, each name counted once however many tables share it
/// (see [`crate::tables::fdtable`]). Past it a new descriptor is kept without its
/// name, or not at all, and a table copied on write (after a fork) loses
/// its highest descriptors; each cut counts as `fd_budget_evictions`.
///
/// Why this value: a descriptor costs about 0.45 KiB here with a typical
/// 60-byte path ([`crate::tables::fdtable::FD_SLOT_BYTES`] plus the name), so
/// 256 MiB keeps some 600,000 of them whole, more than a busy host has open
/// in processes enrich sees; and it is all one unprivileged user can make
/// enrich hold, where 16,000 descriptors on 4,000-byte paths, copied by
/// each of a dozen forks, would take some 900 MB.
pub const FD_BUDGET_BYTES: usize = 256 << 20;

/// How many ancestors each event's thread carries, nearest first
/// (`proc.aname[1..=N]`). Falco's rules look up to 7 levels up.
pub const MAX_ANCESTORS: usize = 8;

/// Most bytes of argument text each event carries for an ancestor beyond
/// the parent (`proc.acmdline[2]` and up); past it the arguments are cut and
/// the ancestor is flagged `argsTruncated`. The parent's arguments
/// (`proc.pcmdline`, read by many rules) are carried whole, within capture's
/// own bound. Every event repeats its ancestors, and the command lines of
/// long-lived ancestors (shells running long scripts, JVMs, agents) were
/// most of an enriched event's bytes: 1.7 KB of 3.4 KB in a recorded
/// open/close load, where the event's own fields take a few hundred.
pub const MAX_ANCESTOR_ARGS_BYTES: usize = 512;

/// Most containers whose metadata is cached. Removed containers leave the
/// cache [`REMOVED_CONTAINER_GRACE`] after the runtime's event stream reports
/// them destroyed; beyond this, the oldest entries go first.
pub const MAX_CONTAINERS: usize = 4_096;

/// How long a destroyed container's metadata stays cached. Its last events
/// (still in capture's ring, the pipe, or held back) reach enrich after the
/// runtime has reported it gone, and a `docker run --rm` container is gone
/// within milliseconds of its exit: asking the runtime again then gets a
/// 404, so the cached answer must outlive the report.
pub const REMOVED_CONTAINER_GRACE: Duration = Duration::from_secs(10);

/// Default bounded wait for a new container's metadata (`--metadata-wait-ms`).
pub const DEFAULT_METADATA_WAIT: Duration = Duration::from_millis(250);

/// Most events held back while metadata is awaited, over all containers.
/// Past it, the oldest held events are released without metadata (counted as
/// timeouts), so a runtime that never answers cannot make enrich grow.
pub const MAX_HELD_EVENTS: usize = 65_536;

/// How often /etc/passwd and /etc/group are checked for changes (by mtime).
pub const USERDB_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// Largest passwd or group file read. Bigger ones are read up to this size.
pub const MAX_USERDB_BYTES: u64 = 64 << 20;

/// Timeout of one request to a container runtime's API.
pub const RUNTIME_REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// Largest HTTP response body read from a container runtime, and the
/// largest object of its event stream. An inspect answer is a few KiB (tens
/// for a container with many mounts or labels); a bigger one is refused
/// before it is parsed, so a runtime, or whoever sets a container's labels,
/// cannot make enrich hold megabytes per container.
pub const MAX_HTTP_BODY_BYTES: usize = 1 << 20;

/// Most labels kept of a container. Kubernetes and Compose set a dozen or
/// two; beyond this they are cut (the pod's name, namespace and uid labels
/// are kept first) and counted as `meta_cut`.
pub const MAX_CONTAINER_LABELS: usize = 128;

/// Longest label key kept (Kubernetes allows 317 bytes: a 253-byte prefix,
/// `/` and a 63-byte name). A longer key drops its label.
pub const MAX_LABEL_KEY_BYTES: usize = 320;

/// Longest label value, container name, image reference, mount path or
/// other text of a container kept; longer ones are cut at a character
/// boundary. Kubernetes label values are at most 63 bytes, image
/// references a few hundred.
pub const MAX_CONTAINER_TEXT_BYTES: usize = 1024;

/// Longest container command line kept (`container.cmdline`).
pub const MAX_CONTAINER_CMDLINE_BYTES: usize = 4096;

/// Most mounts kept of a container.
pub const MAX_CONTAINER_MOUNTS: usize = 64;

/// Most bytes of text one container's metadata keeps in all: labels and
/// mounts past it are cut. 32 KiB keeps a container's part, serialised,
/// within the one 64 KiB segment a process's cached identity is built in
/// (see [`crate::writer::splice`]), and every event's frame far below the wire
/// limit (`schema::limits::MAX_FRAME_BYTES`).
pub const MAX_CONTAINER_META_BYTES: usize = 32 << 10;

/// Longest wait for a CRI runtime's socket to accept a connection and
/// finish the HTTP/2 handshake. Each request then has
/// [`RUNTIME_REQUEST_TIMEOUT`].
pub const CRI_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// How often enrich lists the containers of a CRI runtime that has no
/// container event stream (containerd 1.6), to find the ones that are gone:
/// a container it answered for and the runtime no longer lists leaves the
/// caches [`REMOVED_CONTAINER_GRACE`] later, as if the runtime had reported
/// it deleted. Two `List` calls per period, whatever the node runs.
pub const CRI_SWEEP_INTERVAL: Duration = Duration::from_secs(5);

/// First wait before a CRI socket that failed (missing, refused, too slow,
/// not speaking gRPC) is tried again; it doubles on each failure up to
/// [`CRI_RECONNECT_MAX`]. Meanwhile lookups on that socket fail at once, so
/// a new container's events are not held for a runtime that is down.
pub const CRI_RECONNECT_MIN: Duration = Duration::from_millis(100);

/// Longest wait between two attempts to reach a failed CRI socket.
pub const CRI_RECONNECT_MAX: Duration = Duration::from_secs(5);

/// Largest gRPC message decoded from a CRI runtime. A verbose
/// `ContainerStatus` (the OCI spec included) is tens of KiB; the default
/// of 4 MiB would let a runtime make enrich hold that per answer.
pub const MAX_CRI_MESSAGE_BYTES: usize = 1 << 20;

/// Largest verbose `info` JSON of a CRI answer that is parsed; a larger one
/// is ignored (privileged, the command line and the sandbox id are then
/// unknown), as it cannot be a real container's.
pub const MAX_CRI_INFO_BYTES: usize = 512 << 10;

/// Most pod sandboxes whose status the CRI client keeps, so that a pod's
/// containers ask for it once. The oldest go first.
pub const MAX_CRI_PODS: usize = 1_024;

/// Largest HTTP header block accepted from a container runtime.
pub const MAX_HTTP_HEADER_BYTES: usize = 64 << 10;

/// Wait before reconnecting to a runtime's event stream after it failed.
pub const RUNTIME_RECONNECT_DELAY: Duration = Duration::from_secs(2);

/// Bytes per chunk handed from the input thread to the enrich loop.
pub const INPUT_CHUNK_BYTES: usize = 128 << 10;

/// Chunks that may wait between the input thread and the enrich loop; the
/// input thread blocks beyond it (back-pressure instead of growth).
pub const INPUT_QUEUE_CHUNKS: usize = 16;

/// Longest path enrich builds when resolving a relative one (PATH_MAX).
pub const MAX_PATH_BYTES: usize = 4096;
