//! The engine benchmark: `cargo bench -p evaluate --bench engine`.
//!
//! 1. Throughput: events per second on one core, replaying an enriched
//!    trace (frames decoded from memory, every event checked against every
//!    candidate rule, all matches counted) through Falco's default ruleset
//!    (`tests/compat/falco_rules.yaml`) plus kestrel's own `rules/`.
//!    The trace is generated (a realistic mix of file opens and closes,
//!    execs, network calls and process events from shells, servers and
//!    daemons, in and out of containers) and, with `KESTREL_BENCH_TRACE`,
//!    also recorded (`capture | enrich > FILE`). For reference, the
//!    generated one is also replayed decoding frames where they lie, with
//!    no copy into a read buffer.
//! 2. Each template's rule cost alone, per event kind.
//! 3. The cost of one `in` check against lists of 10, 100 and 1,000 items.
//!
//! Each figure is the median of [`ROUNDS`] rounds. The output is a Markdown
//! table, ready for BENCHMARKS.md. `KESTREL_BENCH_PER_RULE`,
//! `KESTREL_BENCH_PROFILE` and `KESTREL_BENCH_WRITE_TRACE` are for finding
//! where the time goes (see their functions).

use std::hint::black_box;
use std::io::Cursor;
use std::path::PathBuf;

use evaluate::check::catalog::Registry;
use evaluate::compile::{compile, Compiler, Condition, NoNames, SystemResolver};
use evaluate::eval::CompiledRuleset;
use evaluate::fields::sample::{self, Addr, Ancestor, Container, Event, Fd, Param, Thread};
use evaluate::fields::{EventView, Scratch};
use evaluate::lang::parse;
use evaluate::loader;
use schema::kestrel_capnp::{frame, FdType, L4Proto};
use schema::state::StateTable;
use schema::{FrameReader, FrameWriter, Kind, Stage};

/// Rounds per measurement; the median is reported.
const ROUNDS: usize = 9;
/// Events in the generated trace.
const TRACE_EVENTS: usize = 200_000;
/// Events in each template's trace for the per-kind costs.
const PER_KIND_EVENTS: usize = 20_000;
/// Replays under `KESTREL_BENCH_PROFILE`.
const PROFILE_ROUNDS: usize = 20;
/// Names a recorded enriched trace (`capture | enrich > FILE`) to replay
/// as well as the generated one.
const RECORDED_TRACE_VAR: &str = "KESTREL_BENCH_TRACE";
/// Names a file to write the generated trace to, for timing the
/// `evaluate` binary on the same events.
const WRITE_TRACE_VAR: &str = "KESTREL_BENCH_WRITE_TRACE";
/// `in` checks per round of the list benchmark.
const IN_CHECKS: usize = 2_000_000;

const NOW: u64 = 1_700_000_000_000_000_000;

/// CPU time of this thread, in ns: what "one core" spends, unaffected by
/// other processes competing for the machine's cores.
fn cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Runs `f`, returning its result and the CPU ns it took.
fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let start = cpu_ns();
    let out = f();
    (out, (cpu_ns() - start) as f64)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}

/// The compiled syscall rules: (name, condition).
fn conditions() -> Vec<(String, Condition)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut paths = vec![root.join("tests/compat/falco_rules.yaml")];
    let own = root.join("rules");
    if own.is_dir() {
        paths.push(own);
    }
    let loaded = loader::load_paths(&paths, &Registry)
        .unwrap_or_else(|d| panic!("rules failed to load:\n{d}"));
    let mut compiled = Vec::new();
    // One session, as the ruleset compiles: shared macros compile once.
    let mut compiler = Compiler::new(&NoNames, &SystemResolver);
    for r in &loaded.rules {
        if r.source != "syscall" || !r.enabled {
            continue;
        }
        match compiler.compile(&r.condition) {
            Ok(c) => compiled.push((r.name.clone(), c)),
            Err(e) => panic!("rule `{}` does not compile: {e}", r.name),
        }
    }
    compiled
}

/// With `KESTREL_BENCH_PER_RULE` set: the rules that cost most per event,
/// each replayed alone.
fn per_rule(trace: &[u8], conds: &[(String, Condition)]) {
    let mut costs: Vec<(f64, &str)> = conds
        .iter()
        .map(|(name, c)| {
            let one = CompiledRuleset::new(vec![(0, c.clone())]);
            let ((events, _), ns) = timed(|| replay(trace, &one));
            (ns / events as f64, name.as_str())
        })
        .collect();
    let base = CompiledRuleset::new(Vec::new());
    let ((events, _), ns) = timed(|| replay(trace, &base));
    eprintln!("decode only: {:.0} ns/event", ns / events as f64);
    costs.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (ns, name) in costs.iter().take(12) {
        eprintln!("{ns:8.0} ns/event  {name}");
    }
}

fn proc(
    name: &str,
    exe: &str,
    args: &[&str],
    parents: &[&str],
    container: bool,
) -> (Thread, Container) {
    let t = Thread {
        tid: 1000,
        pid: 1000,
        vpid: if container { 7 } else { 1000 },
        name: name.into(),
        exe: exe.into(),
        exepath: exe.into(),
        args: args.iter().map(|a| a.to_string()).collect(),
        cwd: "/srv".into(),
        loginuid: u32::MAX,
        cap_effective: if container {
            0xa80425fb
        } else {
            0x1ff_ffff_ffff
        },
        start_ts: NOW - 3_600_000_000_000,
        ancestors: parents
            .iter()
            .map(|p| Ancestor {
                pid: 1,
                name: p.to_string(),
                exe: p.to_string(),
                exepath: format!("/usr/bin/{p}"),
                args: vec![],
            })
            .collect(),
        stdio: vec![FdType::Pipe, FdType::Pipe, FdType::File],
        ..Thread::default()
    };
    let c = if container {
        Container {
            id: "0123456789ab".into(),
            name: "web".into(),
            image_repository: "docker.io/library/nginx".into(),
            image_tag: "1.27".into(),
            ..Container::default()
        }
    } else {
        Container {
            id: "host".into(),
            name: "host".into(),
            ..Container::default()
        }
    };
    (t, c)
}

fn ev(
    kind: Kind,
    (thread, container): (Thread, Container),
    ret: i64,
    params: Vec<Param>,
    fd: Option<Fd>,
) -> Event {
    Event {
        kind,
        ts: NOW,
        ret,
        params,
        thread: Some(thread),
        fd,
        user: Some((33, "www-data".into())),
        login_user: None,
        group: Some((33, "www-data".into())),
        container: Some(container),
        k8s: None,
    }
}

fn file(path: &str) -> Fd {
    Fd {
        num: 7,
        ty: FdType::File,
        name: path.into(),
        name_changed: true,
        ..Fd::default()
    }
}

/// The kinds of traffic in the trace, with their weights (per 100 events).
fn templates() -> Vec<(u32, Event)> {
    let nginx = || {
        proc(
            "nginx",
            "/usr/sbin/nginx",
            &["-g", "daemon off;"],
            &["containerd-shim", "systemd"],
            true,
        )
    };
    let java = || {
        proc(
            "java",
            "/usr/bin/java",
            &["-jar", "app.jar"],
            &["bash", "sshd", "systemd"],
            false,
        )
    };
    let bash = || {
        proc(
            "bash",
            "/bin/bash",
            &["-c", "ls /tmp"],
            &["sshd", "systemd"],
            false,
        )
    };
    let openat = |p: (Thread, Container), path: &str, flags: u64| {
        ev(
            Kind::Openat,
            p,
            7,
            vec![
                Param::Int(-100),
                Param::Bytes(path.as_bytes().to_vec()),
                Param::Uint(flags),
                Param::Uint(0o644),
                Param::Uint(2049),
                Param::Uint(1234),
            ],
            Some(file(path)),
        )
    };
    let close = |p: (Thread, Container), path: &str| {
        ev(Kind::Close, p, 0, vec![Param::Int(7)], Some(file(path)))
    };
    let tcp = |local: [u8; 4], remote: [u8; 4], port: u16| Fd {
        num: 9,
        ty: FdType::Ipv4,
        name: format!(
            "{}.{}.{}.{}:40000->{}.{}.{}.{}:{port}",
            local[0], local[1], local[2], local[3], remote[0], remote[1], remote[2], remote[3]
        ),
        l4proto: L4Proto::Tcp,
        local: Addr::v4(local, 40000),
        remote: Addr::v4(remote, port),
        connected: true,
        name_changed: true,
        ..Fd::default()
    };
    vec![
        (
            14,
            openat(nginx(), "/usr/share/nginx/html/index.html", 0o2000000),
        ),
        (10, openat(java(), "/opt/app/lib/rt.jar", 0o2000000)),
        (6, openat(bash(), "/etc/ld.so.cache", 0o2000000)),
        (
            4,
            openat(java(), "/var/log/app/app.log", 1 | 0o2000 | 0o100),
        ),
        (2, openat(nginx(), "/etc/nginx/nginx.conf", 0)),
        (
            2,
            Event {
                ret: -2,
                fd: Some(Fd {
                    num: -1,
                    ..file("/etc/missing.conf")
                }),
                ..openat(bash(), "/etc/missing.conf", 0)
            },
        ),
        (26, close(nginx(), "/usr/share/nginx/html/index.html")),
        (6, close(java(), "/opt/app/lib/rt.jar")),
        (
            3,
            ev(
                Kind::Execve,
                proc(
                    "ls",
                    "/bin/ls",
                    &["-la", "/tmp"],
                    &["bash", "sshd", "systemd"],
                    false,
                ),
                0,
                vec![Param::Bytes(b"/bin/ls".to_vec())],
                None,
            ),
        ),
        (
            1,
            ev(
                Kind::Execve,
                proc(
                    "sh",
                    "/bin/sh",
                    &["-c", "date"],
                    &["nginx", "containerd-shim"],
                    true,
                ),
                0,
                vec![Param::Bytes(b"/bin/sh".to_vec())],
                None,
            ),
        ),
        (
            2,
            ev(Kind::Clone, java(), 1001, vec![Param::Uint(0x3d0f00)], None),
        ),
        (
            5,
            ev(
                Kind::Connect,
                java(),
                0,
                vec![Param::Int(9), Param::Addr(Addr::v4([10, 0, 3, 4], 5432))],
                Some(tcp([10, 0, 1, 2], [10, 0, 3, 4], 5432)),
            ),
        ),
        (
            2,
            ev(
                Kind::Connect,
                bash(),
                -115,
                vec![Param::Int(9), Param::Addr(Addr::v4([140, 82, 112, 3], 443))],
                Some(tcp([10, 0, 1, 2], [140, 82, 112, 3], 443)),
            ),
        ),
        (
            5,
            ev(
                Kind::Accept4,
                nginx(),
                9,
                vec![Param::Int(6)],
                Some(Fd {
                    is_server: true,
                    ..tcp([172, 17, 0, 2], [10, 0, 0, 9], 80)
                }),
            ),
        ),
        (
            4,
            ev(
                Kind::Sendto,
                nginx(),
                512,
                vec![Param::Int(9), Param::Uint(512)],
                Some(Fd {
                    is_server: true,
                    ..tcp([172, 17, 0, 2], [10, 0, 0, 9], 80)
                }),
            ),
        ),
        (
            2,
            ev(
                Kind::Socket,
                java(),
                9,
                vec![Param::Uint(2), Param::Uint(1), Param::Uint(6)],
                None,
            ),
        ),
        (
            2,
            ev(
                Kind::Dup2,
                bash(),
                1,
                vec![Param::Int(7), Param::Int(1)],
                Some(Fd {
                    ty: FdType::Pipe,
                    name: "pipe:[1234]".into(),
                    ..Fd::default()
                }),
            ),
        ),
        (
            2,
            ev(
                Kind::ProcExit,
                bash(),
                0,
                vec![Param::Int(0), Param::Uint(0)],
                None,
            ),
        ),
        (
            2,
            ev(
                Kind::Unlinkat,
                bash(),
                0,
                vec![
                    Param::Int(-100),
                    Param::Bytes(b"/tmp/x.lock".to_vec()),
                    Param::Uint(0),
                ],
                None,
            ),
        ),
    ]
}

/// The trace as a framed stream: header, then [`TRACE_EVENTS`] events in
/// an interleaved order.
fn trace() -> Vec<u8> {
    let frames: Vec<Template> = templates()
        .iter()
        .enumerate()
        .map(|(i, (w, e))| template_frames(i, *w, e))
        .collect();
    framed(&frames, TRACE_EVENTS)
}

/// A template as enrich writes it: (weight, its thread's `state` frame,
/// the event frame that refers to it).
type Template = (u32, Vec<u8>, Vec<u8>);

/// Template `i` with weight `w`: each template is its own thread.
fn template_frames(i: usize, w: u32, e: &Event) -> Template {
    let (state, event) = e.to_state_messages(1000 + i as i32, i as u64 + 1);
    (
        w,
        capnp::serialize::write_message_to_words(&state),
        capnp::serialize::write_message_to_words(&event),
    )
}

/// A header, every template's state (sent once, as enrich does while a
/// thread does not change), then `events` event frames drawn from the
/// weighted templates.
fn framed(frames: &[Template], events: usize) -> Vec<u8> {
    let total: u32 = frames.iter().map(|(w, _, _)| w).sum();
    let mut out = Vec::new();
    let mut w = FrameWriter::new(&mut out);
    w.write_header(Stage::Enrich).expect("writing to memory");
    for (_, state, _) in frames {
        w.write_raw(state).expect("writing to memory");
    }
    // A fixed pseudo-random walk over the weighted templates.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..events {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let mut pick = (x % total as u64) as u32;
        let frame = frames.iter().find(|(w, _, _)| {
            if pick < *w {
                true
            } else {
                pick -= w;
                false
            }
        });
        let (_, _, bytes) = frame.unwrap_or(&frames[0]);
        w.write_raw(bytes).expect("writing to memory");
    }
    w.flush().expect("writing to memory");
    drop(w);
    out
}

/// One replay of the trace; returns (events, matches).
fn replay(trace: &[u8], rules: &CompiledRuleset) -> (u64, u64) {
    let mut r = FrameReader::new(Cursor::new(trace));
    let host = match r.read_header() {
        Ok(Some(h)) => h.hostname,
        _ => panic!("the trace has no header"),
    };
    let (mut events, mut matches) = (0u64, 0u64);
    // As the stream loop does: one scratch per event, one result vector.
    let mut matched = Vec::new();
    let mut states = StateTable::new();
    while let Ok(Some(f)) = r.next() {
        let Ok(root) = f.root() else { continue };
        match root.which() {
            Ok(frame::Which::Event(Ok(e))) => {
                events += 1;
                let scratch = Scratch::default();
                let view =
                    EventView::with_scratch(e, events, &host, &scratch).with_state(states.get(e));
                rules.matches(&view, false, &mut matched);
                matches += matched.len() as u64;
            }
            // As the stream loop does: the union is read once per frame.
            Ok(frame::Which::State(_) | frame::Which::StateGone(_)) => {
                states.apply(root, f.raw());
            }
            _ => {}
        }
    }
    (events, matches)
}

/// One replay decoding each frame where it lies in `trace` (word-aligned),
/// with no copy into a read buffer: what a reader of a memory-mapped
/// recording could do. For reference only; `evaluate` reads streams.
fn replay_in_place(trace: &[capnp::Word], rules: &CompiledRuleset) -> (u64, u64) {
    let mut bytes = capnp::Word::words_to_bytes(trace);
    let (mut events, mut matches) = (0u64, 0u64);
    let mut matched = Vec::new();
    let mut states = StateTable::new();
    while !bytes.is_empty() {
        let before = bytes;
        let Ok(msg) = capnp::serialize::read_message_from_flat_slice_no_alloc(
            &mut bytes,
            schema::limits::reader_options(),
        ) else {
            break;
        };
        let raw = &before[..before.len() - bytes.len()];
        let Ok(root) = msg.get_root::<frame::Reader>() else {
            continue;
        };
        if states.apply(root, raw) {
            continue;
        }
        if let Ok(frame::Which::Event(Ok(e))) = root.which() {
            events += 1;
            let scratch = Scratch::default();
            let view =
                EventView::with_scratch(e, events, "bench", &scratch).with_state(states.get(e));
            rules.matches(&view, false, &mut matched);
            matches += matched.len() as u64;
        }
    }
    (events, matches)
}

/// The trace copied into words, so that frames lie word-aligned.
fn aligned(trace: &[u8]) -> Vec<capnp::Word> {
    let mut words = vec![capnp::word(0, 0, 0, 0, 0, 0, 0, 0); trace.len().div_ceil(8)];
    capnp::Word::words_to_bytes_mut(&mut words)[..trace.len()].copy_from_slice(trace);
    words
}

/// Each template's rule cost alone: a trace of that one event, replayed
/// with and without the rules.
fn per_kind(rules: &CompiledRuleset) -> Vec<(String, f64)> {
    let empty = CompiledRuleset::new(Vec::new());
    templates()
        .iter()
        .enumerate()
        .map(|(i, (_, e))| {
            let t = framed(&[template_frames(i, 1, e)], PER_KIND_EVENTS);
            let cost = |r: &CompiledRuleset| {
                median(
                    (0..ROUNDS)
                        .map(|_| {
                            let ((n, _), ns) = timed(|| replay(&t, r));
                            ns / n as f64
                        })
                        .collect(),
                )
            };
            let name = e.thread.as_ref().map_or("", |t| t.name.as_str());
            let label = format!("{} by {name}", schema::table::info(e.kind).name);
            (label, cost(rules) - cost(&empty))
        })
        .collect()
}

/// With `KESTREL_BENCH_PROFILE=rules` (or `decode`, or a template's
/// number): replays the trace (or that template alone) many times and
/// nothing else, for `perf record`.
fn profile(trace: &[u8], rules: &CompiledRuleset, what: &str) {
    let empty = CompiledRuleset::new(Vec::new());
    let (trace, rules, rounds) = match what.parse::<usize>() {
        // A template number: that event alone, many times.
        Ok(i) => {
            let e = &templates()[i].1;
            let t = framed(&[template_frames(i, 1, e)], PER_KIND_EVENTS);
            (t, rules, PROFILE_ROUNDS * 50)
        }
        Err(_) if what == "decode" => (trace.to_vec(), &empty, PROFILE_ROUNDS),
        Err(_) => (trace.to_vec(), rules, PROFILE_ROUNDS),
    };
    for _ in 0..rounds {
        black_box(replay(&trace, rules));
    }
}

fn in_check(n: usize) -> (f64, f64) {
    let items: Vec<String> = (0..n).map(|i| format!("binary-{i:04}")).collect();
    let cond = |extra: &str| -> Condition {
        let src = format!("proc.name in ({}{extra})", items.join(", "));
        compile(&parse(&src).expect("generated condition parses"), &NoNames)
            .expect("generated condition compiles")
    };
    let c = cond("");
    let hit = cond(", bash");
    let (t, cont) = proc("bash", "/bin/bash", &[], &["sshd"], false);
    let e = ev(Kind::Execve, (t, cont), 0, vec![], None);
    sample::with_view(&e, 1, |v| {
        let time = |c: &Condition| {
            median(
                (0..ROUNDS)
                    .map(|_| {
                        let ((), ns) = timed(|| {
                            for _ in 0..IN_CHECKS {
                                black_box(evaluate::eval::matches(c, black_box(v)));
                            }
                        });
                        ns / IN_CHECKS as f64
                    })
                    .collect(),
            )
        };
        assert!(!evaluate::eval::matches(&c, v) && evaluate::eval::matches(&hit, v));
        (time(&c), time(&hit))
    })
}

/// Throughput over `trace`: (events/s, decode-only ns/event, alerts per
/// replay, events), medians of [`ROUNDS`] rounds.
fn throughput(trace: &[u8], rules: &CompiledRuleset) -> (f64, f64, u64, u64) {
    let empty = CompiledRuleset::new(Vec::new());
    let (mut rates, mut decode) = (Vec::new(), Vec::new());
    let (mut matches, mut events) = (0, 0);
    for _ in 0..ROUNDS {
        let ((n, m), ns) = timed(|| replay(trace, rules));
        rates.push(n as f64 / (ns / 1e9));
        (events, matches) = (n, m);
        let ((n, _), ns) = timed(|| replay(trace, &empty));
        decode.push(ns / n as f64);
    }
    (median(rates), median(decode), matches, events)
}

/// Share of each event kind in `trace`, most frequent first.
fn kind_mix(trace: &[u8]) -> Vec<(&'static str, f64)> {
    let mut counts = vec![0u64; schema::table::TABLE.len()];
    let mut r = FrameReader::new(Cursor::new(trace));
    let _ = r.read_header();
    let mut total = 0;
    while let Ok(Some(f)) = r.next() {
        let Ok(root) = f.root() else { continue };
        if let Ok(frame::Which::Event(Ok(e))) = root.which() {
            if let Some(c) = e.get_kind().ok().and_then(|k| counts.get_mut(k as usize)) {
                *c += 1;
                total += 1;
            }
        }
    }
    let mut mix: Vec<(&'static str, f64)> = schema::table::TABLE
        .iter()
        .zip(&counts)
        .filter(|(_, &c)| c > 0)
        .map(|(row, &c)| (row.name, 100.0 * c as f64 / total.max(1) as f64))
        .collect();
    mix.sort_by(|a, b| b.1.total_cmp(&a.1));
    mix
}

fn main() {
    let conds = conditions();
    let n_rules = conds.len();
    let trace = trace();
    if let Some(path) = std::env::var_os(WRITE_TRACE_VAR) {
        std::fs::write(&path, &trace)
            .unwrap_or_else(|e| panic!("writing {}: {e}", path.to_string_lossy()));
    }
    if std::env::var_os("KESTREL_BENCH_PER_RULE").is_some() {
        per_rule(&trace, &conds);
    }
    let rules = CompiledRuleset::new(conds.into_iter().enumerate().map(|(i, (_, c))| (i, c)));
    if let Ok(what) = std::env::var("KESTREL_BENCH_PROFILE") {
        profile(&trace, &rules, &what);
        return;
    }
    let (rate, decode, matches, _) = throughput(&trace, &rules);
    println!("## evaluate: engine\n");
    println!("`cargo bench -p evaluate --bench engine` — median of {ROUNDS} rounds, CPU time of the one thread doing the work.\n");
    println!("| measurement | result |");
    println!("|---|---|");
    println!(
        "| replay of a generated enriched trace ({TRACE_EVENTS} events, {:.1} MB) through {n_rules} rules (compat default + kestrel's `rules/`); decode + evaluate, all matches | **{:.2} M events/s** ({:.0} ns/event; {matches} alerts per replay) |",
        trace.len() as f64 / 1e6,
        rate / 1e6,
        1e9 / rate
    );
    println!("| of which frame reading and decoding alone (no rules) | {decode:.0} ns/event |");
    let words = aligned(&trace);
    let in_place = median(
        (0..ROUNDS)
            .map(|_| {
                let ((n, _), ns) = timed(|| replay_in_place(&words, &rules));
                ns / n as f64
            })
            .collect(),
    );
    drop(words);
    println!("| the same, decoding frames in place (no copy into a read buffer; reference only) | {in_place:.0} ns/event |");
    if let Some(path) = std::env::var_os(RECORDED_TRACE_VAR) {
        let recorded = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.to_string_lossy()));
        let (rate, decode, matches, events) = throughput(&recorded, &rules);
        let mix: Vec<String> = kind_mix(&recorded)
            .iter()
            .take(8)
            .map(|(k, pct)| format!("{k} {pct:.0}%"))
            .collect();
        println!(
            "| replay of a recorded enriched trace ({events} events, {:.0} bytes each; {}) | **{:.2} M events/s** ({:.0} ns/event, of which decoding {decode:.0} ns; {matches} alerts) |",
            recorded.len() as f64 / events.max(1) as f64,
            mix.join(", "),
            rate / 1e6,
            1e9 / rate
        );
    }
    for (label, ns) in per_kind(&rules) {
        println!("| rules alone, one `{label}` | {ns:.0} ns |");
    }
    for n in [10, 100, 1000] {
        let (miss, hit) = in_check(n);
        println!("| `proc.name in (…)` with {n} items: miss / hit | {miss:.1} ns / {hit:.1} ns |");
    }
}
