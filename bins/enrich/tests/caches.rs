//! The cached parts of events (each thread's `thread`, each process's user,
//! group, login user and container) and the parameter blocks copied from
//! the input follow every change of the state they show, and so do the
//! `state` frames built from them: each stream here goes through enrich
//! three times, as it runs (states sent once, events naming them), with
//! every event spliced whole (`--inline-state`) and building every event
//! field by field, and the three outputs, references resolved, must be
//! the same event for event.

mod common;

use std::time::{Duration, Instant};

use common::*;
use enrich::Enricher;
use proptest::prelude::*;
use schema::kestrel_capnp::FdType;
use schema::Kind;
use serde_json::Value;

const CONTAINER: &str = "4f2a8c1d9e7b6a5f3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b";

/// Something done to the engine between two input events.
#[derive(Clone)]
enum Between {
    /// The passwd file names uid 1000 differently from now on.
    RenameUser,
    /// The runtime answers with the container's metadata.
    ContainerMeta,
}

/// How the engine under test writes events.
#[derive(Clone, Copy, Debug)]
enum Mode {
    /// Field by field (`set_splicing(false)`).
    Built,
    /// From cached parts, each thread's state in `state` frames (default).
    States,
    /// From cached parts spliced into every event (`--inline-state`).
    Inline,
}

/// Runs `input` through a fresh engine writing as `mode` says, doing
/// `between[i]` before the `i`th event; returns the events as JSON (state
/// references resolved).
fn enrich(input: &[u8], mode: Mode, between: &[(usize, Between)]) -> Vec<Value> {
    let (dir, pw, gr) = userdb();
    let opts = enrich::Options {
        passwd: pw.clone(),
        group: gr,
        inline_state: matches!(mode, Mode::Inline),
        ..enrich::Options::default()
    };
    let mut engine = Enricher::new(&opts, None);
    engine.set_splicing(!matches!(mode, Mode::Built));
    let mut later = Instant::now();
    let out = drive(input, &mut engine, |n, engine, w| {
        for (_, b) in between.iter().filter(|(at, _)| *at == n) {
            match b {
                Between::RenameUser => {
                    std::fs::write(
                        &pw,
                        "root:x:0:0:root:/root:/bin/bash\nbob:x:1000:1000::/home/bob:/bin/sh\n",
                    )
                    .unwrap();
                    let f = std::fs::File::options().write(true).open(&pw).unwrap();
                    f.set_modified(std::time::SystemTime::now() + Duration::from_secs(60))
                        .unwrap();
                    later += Duration::from_secs(5);
                    engine.tick(later, w).unwrap();
                }
                Between::ContainerMeta => engine.on_update(container_meta(CONTAINER), w).unwrap(),
            }
        }
    });
    drop(dir);
    events(&out)
}

/// Asserts the outputs written every way are the same; returns them.
fn same_both_ways(input: &[u8], between: &[(usize, Between)]) -> Vec<Value> {
    let spliced = enrich(input, Mode::States, between);
    for mode in [Mode::Built, Mode::Inline] {
        let other = enrich(input, mode, between);
        assert_eq!(spliced.len(), other.len());
        for (i, (a, b)) in spliced.iter().zip(&other).enumerate() {
            assert_eq!(a, b, "event {i} differs from {mode:?}");
        }
    }
    spliced
}

/// init (1) → bash (100, alice, login) → make (200).
fn family(st: &mut Stream) {
    st.snap(&Snap::new(1, 0, "systemd"));
    let mut bash = Snap::new(100, 1, "bash");
    bash.cwd = "/home/alice".into();
    bash.uid = 1000;
    bash.loginuid = 1000;
    bash.fds = vec![(0, FdType::File, "/dev/pts/0".into())];
    st.snap(&bash);
    let mut make = Snap::new(200, 100, "make");
    make.fds = vec![(0, FdType::File, "/dev/null".into())];
    st.snap(&make);
}

#[test]
fn every_change_shows_on_the_next_event() {
    let mut st = Stream::new();
    family(&mut st);
    let probe = |st: &mut Stream| {
        st.ev(Kind::Close, 200, 200, -9, &[P::Int(99)]);
    };
    probe(&mut st);
    // Its own cwd, then a relative path resolved through it.
    st.ev(Kind::Chdir, 200, 200, 0, &[b("/var/tmp")]);
    openat(&mut st, 200, 3, "out/../log.txt");
    // fchdir through the directory it opened.
    openat(&mut st, 200, 4, "/etc");
    st.ev(Kind::Fchdir, 200, 200, 0, &[P::Int(4)]);
    probe(&mut st);
    // Credentials and capabilities.
    st.ev(Kind::Setuid, 200, 200, 0, &[P::Uint(1000)]);
    probe(&mut st);
    st.ev(
        Kind::Setresgid,
        200,
        200,
        0,
        &[P::Uint(1000), P::Uint(1000), P::Uint(u64::MAX)],
    );
    probe(&mut st);
    st.ev(
        Kind::Capset,
        200,
        200,
        0,
        &[P::Uint(0), P::Uint(0x20), P::Uint(0x20)],
    );
    probe(&mut st);
    // Its stdio: a new stdout, then stdin closed.
    st.ev(Kind::Dup2, 200, 200, 1, &[P::Int(3), P::Int(1)]);
    probe(&mut st);
    st.ev(Kind::Close, 200, 200, 0, &[P::Int(0)]);
    probe(&mut st);
    // Its thread's name, then a second thread.
    st.ev(
        Kind::Prctl,
        200,
        200,
        0,
        &[P::Uint(15), b("worker"), P::Int(0)],
    );
    probe(&mut st);
    st.ev(Kind::Clone, 200, 200, 201, &[P::Uint(0x10000 | 0x100)]);
    st.ev(Kind::Close, 201, 200, -9, &[P::Int(99)]);
    // The parent changes its name, then execs into a container.
    st.ev(
        Kind::Prctl,
        100,
        100,
        0,
        &[P::Uint(15), b("bash2"), P::Int(0)],
    );
    probe(&mut st);
    exec(
        &mut st,
        100,
        1,
        &["sh", "-c", "true"],
        0,
        &format!("0::/docker/{CONTAINER}"),
    );
    probe(&mut st);
    // make execs itself; its other thread is gone.
    exec(
        &mut st,
        200,
        100,
        &["cc", "-O2", "x.c"],
        1000,
        "0::/user.slice",
    );
    probe(&mut st);
    // A child of make, which exits; then make's parent exits.
    st.ev(Kind::Clone, 200, 200, 300, &[P::Uint(0x11)]);
    st.ev(Kind::Clone, 300, 300, 0, &[P::Uint(0x11)]);
    openat(&mut st, 300, 5, "rel/path");
    st.ev(Kind::ProcExit, 300, 300, 0, &[P::Int(0), P::Uint(0)]);
    st.ev(Kind::ProcExit, 100, 100, 0, &[P::Int(0), P::Uint(0)]);
    probe(&mut st);
    // A process of the container, then its metadata, then a user renamed.
    let mut web = Snap::new(400, 1, "httpd");
    web.cgroups = vec![format!("0::/docker/{CONTAINER}")];
    web.uid = 1000;
    st.snap(&web);
    st.ev(Kind::Close, 400, 400, -9, &[P::Int(99)]);
    st.ev(Kind::Close, 400, 400, -9, &[P::Int(99)]);
    probe(&mut st);
    probe(&mut st);
    let input = st.bytes();
    let total = events(&input).len();
    let between = [
        (total - 3, Between::ContainerMeta),
        (total - 1, Between::RenameUser),
    ];
    let ev = same_both_ways(&input, &between);

    // The changes did show (the comparison alone would pass if neither
    // way showed them).
    let last = |kind: &str, tid: i64| -> Vec<&Value> {
        ev.iter()
            .filter(|e| e["kind"] == kind && e["tid"] == tid)
            .collect()
    };
    let probes: Vec<&Value> = last("close", 200)
        .into_iter()
        .filter(|e| e["fd"]["num"] == 99)
        .collect();
    assert_eq!(s(probes[1], &["thread", "cwd"]), "/etc");
    assert_eq!(s(probes[2], &["user", "name"]), "alice");
    assert_eq!(s(probes[3], &["group", "name"]), "alice");
    assert_eq!(s(probes[4], &["thread", "capEffective"]), "32");
    assert_eq!(
        s(probes[5], &["thread", "stdioTypes"]),
        r#"["file","file","unknown"]"#
    );
    assert_eq!(
        s(probes[6], &["thread", "stdioTypes"]),
        r#"["unknown","file","unknown"]"#
    );
    assert_eq!(s(probes[7], &["thread", "name"]), "worker");
    let parent = |e: &Value| s(e, &["thread", "ancestors"]);
    assert!(parent(probes[8]).contains("bash2"));
    assert!(parent(probes[9]).contains("/usr/bin/sh"));
    assert_eq!(s(probes[10], &["thread", "exepath"]), "/usr/bin/cc");
    assert!(!parent(probes[11]).contains("bash2"), "the parent exited");
    let web = last("close", 400);
    assert_eq!(s(web[0], &["container", "metadata"]), "none");
    assert_eq!(s(web[1], &["container", "name"]), "web");
    assert_eq!(s(web[1], &["k8s", "podName"]), "web-0");
    assert_eq!(s(web[1], &["user", "name"]), "alice");
    let n = probes.len();
    assert_eq!(s(probes[n - 2], &["user", "name"]), "alice");
    assert_eq!(s(probes[n - 1], &["user", "name"]), "bob", "passwd re-read");
    let opened = last("openat", 300);
    assert_eq!(s(opened[0], &["fd", "name"]), "/srv/rel/path");
}

/// One step of a random workload.
#[derive(Debug, Clone)]
enum Op {
    Open {
        who: usize,
        path: usize,
    },
    Close {
        who: usize,
        fd: i64,
    },
    Dup2 {
        who: usize,
        to: i64,
    },
    Chdir {
        who: usize,
        path: usize,
    },
    Setuid {
        who: usize,
        uid: u64,
    },
    Rename {
        who: usize,
        name: usize,
    },
    Fork {
        who: usize,
        /// Whether the child takes the tid of a process that exited, as
        /// the kernel does once pids wrap.
        reuse: bool,
    },
    Exec {
        who: usize,
        name: usize,
        container: bool,
    },
    Exit {
        who: usize,
    },
}

const PATHS: [&str; 4] = ["/etc/hosts", "data/x", "../y", "/a/./b//c"];
const NAMES: [&str; 3] = ["ls", "python3", "nginx"];

fn op() -> impl Strategy<Value = Op> {
    let who = 0usize..8;
    prop_oneof![
        4 => (who.clone(), 0..PATHS.len()).prop_map(|(who, path)| Op::Open { who, path }),
        4 => (who.clone(), 0i64..6).prop_map(|(who, fd)| Op::Close { who, fd }),
        1 => (who.clone(), 0i64..3).prop_map(|(who, to)| Op::Dup2 { who, to }),
        1 => (who.clone(), 0..PATHS.len()).prop_map(|(who, path)| Op::Chdir { who, path }),
        1 => (who.clone(), 0u64..2).prop_map(|(who, uid)| Op::Setuid { who, uid: uid * 1000 }),
        1 => (who.clone(), 0..NAMES.len()).prop_map(|(who, name)| Op::Rename { who, name }),
        1 => (who.clone(), any::<bool>()).prop_map(|(who, reuse)| Op::Fork { who, reuse }),
        1 => (who.clone(), 0..NAMES.len(), any::<bool>())
            .prop_map(|(who, name, container)| Op::Exec { who, name, container }),
        1 => who.prop_map(|who| Op::Exit { who }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn random_workloads_read_the_same_spliced_or_built(ops in prop::collection::vec(op(), 1..120)) {
        let mut st = Stream::new();
        family(&mut st);
        // Live processes, by pid; a process picked by `who` is one of them.
        let mut live: Vec<i32> = vec![100, 200];
        let mut next_pid = 1000;
        let mut exited: Vec<i32> = Vec::new();
        let mut next_fd = 3;
        for op in &ops {
            let Some(&pid) = live.get(match op {
                Op::Open { who, .. }
                | Op::Close { who, .. }
                | Op::Dup2 { who, .. }
                | Op::Chdir { who, .. }
                | Op::Setuid { who, .. }
                | Op::Rename { who, .. }
                | Op::Fork { who, .. }
                | Op::Exec { who, .. }
                | Op::Exit { who } => who % live.len().max(1),
            }) else {
                break;
            };
            match *op {
                Op::Open { path, .. } => {
                    openat(&mut st, pid, next_fd, PATHS[path]);
                    next_fd = 3 + (next_fd - 2) % 4;
                }
                Op::Close { fd, .. } => {
                    st.ev(Kind::Close, pid, pid, 0, &[P::Int(fd)]);
                }
                Op::Dup2 { to, .. } => {
                    st.ev(Kind::Dup2, pid, pid, to, &[P::Int(3), P::Int(to)]);
                }
                Op::Chdir { path, .. } => {
                    st.ev(Kind::Chdir, pid, pid, 0, &[b(PATHS[path])]);
                }
                Op::Setuid { uid, .. } => {
                    st.ev(Kind::Setuid, pid, pid, 0, &[P::Uint(uid)]);
                }
                Op::Rename { name, .. } => {
                    st.ev(Kind::Prctl, pid, pid, 0, &[P::Uint(15), b(NAMES[name]), P::Int(0)]);
                }
                Op::Fork { reuse, .. } => {
                    let child = match exited.pop().filter(|_| reuse) {
                        Some(old) => old,
                        None => {
                            next_pid += 1;
                            next_pid
                        }
                    };
                    st.ev(Kind::Clone, pid, pid, i64::from(child), &[P::Uint(0x11)]);
                    st.ev(Kind::Clone, child, child, 0, &[P::Uint(0x11)]);
                    live.push(child);
                }
                Op::Exec { name, container, .. } => {
                    let cgroup = if container {
                        format!("0::/docker/{CONTAINER}")
                    } else {
                        "0::/user.slice".to_string()
                    };
                    exec(&mut st, pid, 1, &[NAMES[name], "-x"], 0, &cgroup);
                }
                Op::Exit { .. } => {
                    st.ev(Kind::ProcExit, pid, pid, 0, &[P::Int(0), P::Uint(0)]);
                    live.retain(|p| *p != pid);
                    exited.push(pid);
                }
            }
        }
        let input = st.bytes();
        let n = events(&input).len();
        let between = [(n / 2, Between::ContainerMeta), (2 * n / 3, Between::RenameUser)];
        let spliced = enrich(&input, Mode::States, &between);
        for mode in [Mode::Built, Mode::Inline] {
            let other = enrich(&input, mode, &between);
            prop_assert_eq!(spliced.len(), other.len());
            for (i, (a, b)) in spliced.iter().zip(&other).enumerate() {
                prop_assert_eq!(a, b, "event {} differs from {:?}", i, mode);
            }
        }
    }
}

#[test]
fn an_event_too_big_to_splice_is_built_whole() {
    // A 40 KB path: the event's own segment (with its fd named by it)
    // outgrows the splicer's scratch, and the event is built field by field.
    let mut st = Stream::new();
    family(&mut st);
    let long = format!("/{}", "d".repeat(40 << 10));
    openat(&mut st, 200, 3, &long);
    st.ev(Kind::Close, 200, 200, 0, &[P::Int(3)]);
    let ev = same_both_ways(&st.bytes(), &[]);
    let open = &ev[ev.len() - 2];
    assert_eq!(s(open, &["fd", "name"]).len(), long.len());
    assert_eq!(s(open, &["thread", "name"]), "make");
    assert_eq!(s(open, &["user", "uid"]), "0");
    assert_eq!(s(&ev[ev.len() - 1], &["thread", "name"]), "make");
}
