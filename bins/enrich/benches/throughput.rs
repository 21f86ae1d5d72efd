//! enrich's benchmark, one command: `cargo bench -p enrich --bench throughput`.
//!
//! 1. Throughput: a generated trace of a busy host (a process tree 6 deep,
//!    400 processes, then a stream of openat/close pairs with relative and
//!    absolute paths, socket/connect/close, and fork/exec/exit churn) is read
//!    from memory and enriched on one thread into a sink; events/s is the
//!    median of several runs.
//! 2. Memory: resident memory added by 100,000 live threads (snapshot events
//!    of 25,000 processes with 4 threads each), and that the table stays at
//!    its limit when more arrive.
//!
//! Results go in BENCHMARKS.md (section "enrich (issue 4)").

use std::alloc::{GlobalAlloc, Layout};
use std::io;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use std::time::Instant;

use capnp::message::Builder;
use schema::kestrel_capnp::{event, frame};
use schema::{FrameReader, FrameWriter, Kind, Stage};

/// The allocator the enrich binary uses (see its `main.rs`), so that the
/// figure is the binary's, counting the bytes it holds while asked to.
#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Whether [`Counting`] counts (only while memory is measured).
static COUNTING: AtomicBool = AtomicBool::new(false);
/// Heap bytes allocated and not freed while counting.
static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

/// mimalloc, counting the heap bytes held: resident memory alone says
/// little here, as the allocator keeps pages the throughput runs freed.
struct Counting;

fn count(delta: isize) {
    if COUNTING.load(Ordering::Relaxed) {
        LIVE_BYTES.fetch_add(delta, Ordering::Relaxed);
    }
}

// SAFETY: every call is passed to mimalloc unchanged; the counter has no
// effect on the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize);
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { mimalloc::MiMalloc.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize);
        // SAFETY: as above.
        unsafe { mimalloc::MiMalloc.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as isize));
        // SAFETY: as above.
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size as isize - layout.size() as isize);
        // SAFETY: as above.
        unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) }
    }
}

const RUNS: usize = 5;
const EVENTS: usize = 2_000_000;
const PROCS: i32 = 400;
const LIVE_THREADS: i32 = 100_000;

struct Gen {
    w: FrameWriter<Vec<u8>>,
    ts: u64,
}

impl Gen {
    fn new() -> Gen {
        let mut w = FrameWriter::new(Vec::new());
        w.write_header(Stage::Capture).unwrap();
        Gen {
            w,
            ts: 1_700_000_000_000_000_000,
        }
    }

    fn ev(
        &mut self,
        kind: Kind,
        tid: i32,
        pid: i32,
        ret: i64,
        fill: impl FnOnce(event::Builder<'_>),
    ) {
        self.ts += 700;
        let mut msg = Builder::new_default();
        let mut e = msg.init_root::<frame::Builder>().init_event();
        e.set_ts_ns(self.ts);
        e.set_kind(kind);
        e.set_tid(tid);
        e.set_pid(pid);
        e.set_ret(ret);
        fill(e);
        self.w.write(&msg).unwrap();
    }

    fn snapshot(&mut self, tid: i32, pid: i32, ppid: i32, comm: &str) {
        self.ev(Kind::ProcSnapshot, tid, pid, 0, |e| {
            let mut t = e.init_thread();
            t.set_tid(tid);
            t.set_pid(pid);
            t.set_ppid(ppid);
            t.set_vtid(tid);
            t.set_vpid(pid);
            t.set_sid(1);
            t.set_pgid(pid);
            t.set_name(comm.as_bytes());
            t.set_exe(comm.as_bytes());
            t.set_exepath(format!("/usr/bin/{comm}").as_bytes());
            let mut a = t.reborrow().init_args(2);
            a.set(0, b"--config");
            a.set(1, b"/etc/app/config.yaml");
            t.set_cwd(b"/var/lib/app");
            t.set_uid(1000);
            t.set_euid(1000);
            t.set_loginuid(1000);
            t.set_start_ts_ns(1_000 + pid as u64);
            let mut c = t.init_cgroups(1);
            c.set(0, "::/system.slice/app.service");
        });
    }

    fn params(e: event::Builder<'_>, ints: &[i64], path: Option<&[u8]>, uints: &[u64]) {
        let n = ints.len() + path.is_some() as usize + uints.len();
        let mut l = e.init_params(n as u32);
        let mut i = 0;
        for v in ints {
            l.reborrow().get(i).set_int(*v);
            i += 1;
        }
        if let Some(p) = path {
            l.reborrow().get(i).set_bytes(p);
            i += 1;
        }
        for v in uints {
            l.reborrow().get(i).set_uint(*v);
            i += 1;
        }
    }

    fn bytes(mut self) -> Vec<u8> {
        self.w.flush().unwrap();
        self.w.get_ref().clone()
    }
}

/// The busy-host trace.
fn busy_trace() -> (Vec<u8>, usize) {
    let mut g = Gen::new();
    g.snapshot(1, 1, 0, "systemd");
    // A tree: each process's parent is an earlier one, so chains run deep.
    for pid in 2..=PROCS {
        let ppid = if pid < 8 { pid - 1 } else { pid / 2 };
        g.snapshot(
            pid,
            pid,
            ppid,
            if pid % 3 == 0 { "python3" } else { "nginx" },
        );
    }
    let mut n = PROCS as usize;
    let mut next_pid = 10_000;
    let mut i = 0usize;
    while n < EVENTS {
        let pid = 2 + (i as i32 * 7919) % (PROCS - 1);
        match i % 50 {
            0 => {
                // fork, exec, exit churn
                let child = next_pid;
                next_pid += 1;
                g.ev(Kind::Clone, pid, pid, child as i64, |e| {
                    Gen::params(e, &[], None, &[0x11])
                });
                g.ev(Kind::Clone, child, child, 0, |e| {
                    Gen::params(e, &[], None, &[0x11])
                });
                g.ev(Kind::ProcExit, child, child, 0, |e| {
                    Gen::params(e, &[0], None, &[0])
                });
                n += 3;
            }
            1 => {
                g.ev(Kind::Socket, pid, pid, 40, |e| {
                    Gen::params(e, &[], None, &[2, 1, 0])
                });
                g.ev(Kind::Close, pid, pid, 0, |e| {
                    Gen::params(e, &[40], None, &[])
                });
                n += 2;
            }
            k => {
                let rel = k % 4 == 0;
                let path: &[u8] = if rel {
                    b"../data/cache/item.json"
                } else {
                    b"/etc/ssl/certs/ca-certificates.crt"
                };
                g.ev(Kind::Openat, pid, pid, 7, |e| {
                    Gen::params(e, &[-100], Some(path), &[0, 0, 2049, 123456])
                });
                g.ev(Kind::Close, pid, pid, 0, |e| {
                    Gen::params(e, &[7], None, &[])
                });
                n += 2;
            }
        }
        i += 1;
    }
    (g.bytes(), n)
}

fn enrich_all(
    input: &[u8],
    engine: &mut enrich::Enricher,
    out: &mut FrameWriter<io::Sink>,
) -> usize {
    let mut r = FrameReader::new(input);
    r.read_header().unwrap();
    let mut n = 0;
    while let Some(f) = r.next().unwrap() {
        if let Ok(frame::Event(Ok(ev))) = f.root().unwrap().which() {
            engine.on_event(ev, f.raw(), out).unwrap();
            n += 1;
        }
    }
    out.flush().unwrap();
    n
}

/// CPU time of this thread, in seconds: the figure is "per core" even when
/// the machine is shared, as wall time would not be.
fn thread_cpu_secs() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

fn rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = s
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Set (to a snapshot trace's path) in the child process that measures
/// memory.
const MEMORY_CHILD: &str = "ENRICH_BENCH_MEMORY_TRACE";

/// The memory measurement, in its own process: loads the trace at `path`
/// into a fresh engine and prints the resident memory this added (KiB) and
/// the heap bytes the engine holds.
fn memory_child(path: &str) {
    let snaps = std::fs::read(path).expect("reading the snapshot trace");
    let opts = enrich::Options::default();
    let mut out = FrameWriter::new(io::sink());
    let before = rss_kib();
    COUNTING.store(true, Ordering::Relaxed);
    let mut engine = enrich::Enricher::new(&opts, None);
    enrich_all(&snaps, &mut engine, &mut out);
    COUNTING.store(false, Ordering::Relaxed);
    let after = rss_kib();
    assert!(engine.threads().thread_count() > LIVE_THREADS as usize);
    println!(
        "{} {}",
        after.saturating_sub(before),
        LIVE_BYTES.load(Ordering::Relaxed)
    );
}

fn main() {
    if let Ok(path) = std::env::var(MEMORY_CHILD) {
        return memory_child(&path);
    }
    let opts = enrich::Options::default();
    let (trace, n) = busy_trace();
    println!(
        "enrich throughput: trace of {n} events, {} MiB",
        trace.len() >> 20
    );
    let mut rates = Vec::new();
    let mut bytes_out = 0;
    for run in 0..RUNS {
        let mut engine = enrich::Enricher::new(&opts, None);
        let mut out = FrameWriter::new(io::sink());
        let t0 = Instant::now();
        let c0 = thread_cpu_secs();
        let got = enrich_all(&trace, &mut engine, &mut out);
        let secs = thread_cpu_secs() - c0;
        let wall = t0.elapsed().as_secs_f64();
        let rate = got as f64 / secs;
        bytes_out = out.bytes();
        println!(
            "  run {run}: {got} events in {secs:.3} s CPU ({wall:.3} s wall) = {:.0} events/s per core ({:.0} ns/event)",
            rate,
            1e9 / rate
        );
        rates.push(rate);
        if run == 0 {
            let (states, gone) = engine.states_sent();
            println!(
                "  (thread struct built {} times, reused for the other events; {states} state frames, {gone} stateGone)",
                engine.thread_builds()
            );
        }
    }
    // The floor: reading every frame and writing it back unchanged.
    let c0 = thread_cpu_secs();
    let mut out = FrameWriter::new(io::sink());
    let mut r = FrameReader::new(&trace[..]);
    r.read_header().unwrap();
    while let Some(f) = r.next().unwrap() {
        if let Ok(frame::Event(Ok(ev))) = f.root().unwrap().which() {
            std::hint::black_box(ev.get_tid());
        }
        out.write_raw(f.raw()).unwrap();
    }
    let floor = thread_cpu_secs() - c0;
    println!(
        "  floor (decode and forward unchanged): {:.0} ns/event",
        floor * 1e9 / n as f64
    );
    let m = median(rates);
    println!(
        "enrich throughput median: {:.0} events/s ({:.0} ns/event), {} output bytes/event",
        m,
        1e9 / m,
        bytes_out / n as u64
    );

    // Memory with 100,000 live threads.
    let mut g = Gen::new();
    g.snapshot(1, 1, 0, "systemd");
    for p in 0..LIVE_THREADS / 4 {
        let pid = 1000 + p * 4;
        for t in 0..4 {
            g.snapshot(pid + t, pid, 1, "worker");
        }
    }
    let snaps = g.bytes();
    // Measured in a fresh process each time: in this one, the allocator
    // keeps (and would hand back) the pages the runs above freed.
    let path = std::env::temp_dir().join(format!("enrich-bench-{}.kst", std::process::id()));
    std::fs::write(&path, &snaps).expect("writing the snapshot trace");
    let mut mems = Vec::new();
    let mut heaps = Vec::new();
    for _ in 0..3 {
        let out = std::process::Command::new(std::env::current_exe().expect("own path"))
            .env(MEMORY_CHILD, &path)
            .output()
            .expect("running the memory measurement");
        let text = String::from_utf8_lossy(&out.stdout);
        let mut v = text
            .split_whitespace()
            .map(|x| x.parse::<f64>().unwrap_or(0.0));
        mems.push(v.next().unwrap_or(0.0));
        heaps.push(v.next().unwrap_or(0.0));
    }
    let _ = std::fs::remove_file(&path);
    let mem = median(mems);
    let heap = median(heaps);
    println!(
        "enrich memory: {} live threads add {:.1} MiB resident ({:.0} bytes/thread), of which {:.1} MiB heap held",
        LIVE_THREADS,
        mem / 1024.0,
        mem * 1024.0 / LIVE_THREADS as f64,
        heap / (1 << 20) as f64,
    );
    // The bound: past the limit, the table evicts instead of growing.
    let small = enrich::Options {
        max_threads: 50_000,
        ..opts
    };
    let mut engine = enrich::Enricher::new(&small, None);
    enrich_all(&snaps, &mut engine, &mut FrameWriter::new(io::sink()));
    println!(
        "enrich bound: with --max-threads 50000, {} threads kept, {} evicted",
        engine.threads().thread_count(),
        engine.threads().evictions
    );
}
