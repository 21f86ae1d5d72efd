//! enrich sends each thread's state once, in a `state` frame, and its
//! events name it (`stateGen`): counted here frame by frame. A new state
//! follows every change of what it shows (exec, setuid, container
//! metadata), a thread that leaves the table gets a `stateGone` before its
//! tid's next state, a fork child gets its own, a new reader gets every
//! state again, and `--inline-state` writes every event whole. A change
//! of stdio alone sends no new state: the events carry their stdio types.
//!
//! That the resolved events are right, event for event, is checked in
//! `caches.rs` (the same streams written every way) and by every other
//! test, whose `events()` resolves the references.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use enrich::Enricher;
use schema::{FrameReader, Kind};
use serde_json::Value;

const CONTAINER: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// init (1) → bash (100, alice, login).
fn family(st: &mut Stream) {
    st.snap(&Snap::new(1, 0, "systemd"));
    let mut bash = Snap::new(100, 1, "bash");
    bash.uid = 1000;
    bash.loginuid = 1000;
    st.snap(&bash);
}

/// A failed close by `tid`: an event that changes nothing.
fn probe(st: &mut Stream, tid: i32) {
    st.ev(Kind::Close, tid, tid, -9, &[P::Int(99)]);
}

/// A fork of `parent` into `child`, seen from both sides.
fn fork(st: &mut Stream, parent: i32, child: i32) {
    st.ev(
        Kind::Clone,
        parent,
        parent,
        i64::from(child),
        &[P::Uint(0x11)],
    );
    st.ev(Kind::Clone, child, child, 0, &[P::Uint(0x11)]);
}

fn exit(st: &mut Stream, tid: i32) {
    st.ev(Kind::ProcExit, tid, tid, 0, &[P::Int(0), P::Uint(0)]);
}

/// A fresh engine with the test user database; `inline` as
/// `--inline-state`.
fn engine(inline: bool) -> (tempfile::TempDir, Enricher) {
    let (dir, pw, gr) = userdb();
    let opts = enrich::Options {
        passwd: pw,
        group: gr,
        inline_state: inline,
        ..enrich::Options::default()
    };
    (dir, Enricher::new(&opts, None))
}

/// What a reader sees, frame by frame, in short: `state <tid> <gen>`,
/// `gone <tid>`, `event <kind> <tid> <gen>`.
fn trace(out: &[u8]) -> Vec<String> {
    frames(out)
        .iter()
        .filter_map(|f| {
            if let Some(st) = f.get("state") {
                Some(format!("state {} {}", st["tid"], st["stateGen"]))
            } else if let Some(tid) = f.get("stateGone") {
                Some(format!("gone {tid}"))
            } else {
                f.get("event")
                    .map(|e| format!("event {} {} {}", s(e, &["kind"]), e["tid"], e["stateGen"]))
            }
        })
        .collect()
}

/// The state frames of `out`, in order.
fn states(out: &[u8]) -> Vec<Value> {
    frames(out)
        .into_iter()
        .filter_map(|f| f.get("state").cloned())
        .collect()
}

fn counts(out: &[u8]) -> BTreeMap<String, usize> {
    frame_kinds(out).0
}

#[test]
fn one_state_serves_every_event_of_an_unchanged_thread() {
    let mut st = Stream::new();
    family(&mut st);
    for _ in 0..50 {
        probe(&mut st, 100);
    }
    let (_d, mut e) = engine(false);
    let out = drive(&st.bytes(), &mut e, |_, _, _| {});
    let (kinds, gens) = frame_kinds(&out);
    assert_eq!(kinds.get("state"), Some(&1), "{kinds:?}");
    assert_eq!(kinds.get("event"), Some(&52));
    // The snapshots are written whole; every close names the one state.
    assert_eq!(gens[..2], [0, 0]);
    assert!(
        gens[2..].iter().all(|&g| g == gens[2] && g != 0),
        "{gens:?}"
    );
    // An event naming a state is a few hundred bytes; the state is most
    // of what a whole event was.
    let sizes = frames_sizes(&out);
    assert!(sizes["event"] < 400, "{sizes:?}");
    let ev = events(&out);
    assert_eq!(s(&ev[51], &["thread", "name"]), "bash");
    assert_eq!(s(&ev[51], &["user", "name"]), "alice");
    assert_eq!(s(&ev[51], &["container", "id"]), "host");
}

#[test]
fn a_dup2_onto_stdout_sends_no_new_state_the_events_carry_their_stdio_types() {
    let mut st = Stream::new();
    family(&mut st);
    probe(&mut st, 100);
    // socket(AF_INET, SOCK_STREAM) = 6, dup2(6, 1): a reverse shell's
    // stdout.
    st.ev(
        Kind::Socket,
        100,
        100,
        6,
        &[P::Uint(2), P::Uint(1), P::Uint(0)],
    );
    st.ev(Kind::Dup2, 100, 100, 1, &[P::Int(6), P::Int(1)]);
    probe(&mut st, 100);
    let (_d, mut e) = engine(false);
    let out = drive(&st.bytes(), &mut e, |_, _, _| {});
    let t = trace(&out);
    let of_100: Vec<&String> = t.iter().filter(|l| l.starts_with("state 100")).collect();
    assert_eq!(of_100.len(), 1, "one state for bash: {t:#?}");
    let probes: Vec<Value> = frames(&out)
        .into_iter()
        .filter_map(|f| f.get("event").cloned())
        .filter(|e| e["kind"] == "close")
        .collect();
    assert_eq!(probes.len(), 2);
    assert_eq!(
        probes[0]["stateGen"], probes[1]["stateGen"],
        "both probes name the one state"
    );
    assert_eq!(
        s(&probes[0], &["stdioTypes"]),
        r#"["unknown","unknown","unknown"]"#
    );
    assert_eq!(
        s(&probes[1], &["stdioTypes"]),
        r#"["unknown","ipv4","unknown"]"#
    );
    for state in states(&out) {
        assert!(state["thread"].get("stdioTypes").is_none(), "{state}");
    }
    // Resolved, the probe reads as a whole event would.
    let ev = events(&out);
    let last = ev.last().expect("events");
    assert_eq!(
        s(last, &["thread", "stdioTypes"]),
        r#"["unknown","ipv4","unknown"]"#
    );
}

/// The mean framed bytes of each kind of frame of `out`.
fn frames_sizes(out: &[u8]) -> BTreeMap<String, u64> {
    let mut r = schema::FrameReader::new(out);
    let mut sum: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    while let Some(f) = r.next().unwrap() {
        let json = schema::json::frame_to_json(f.root().unwrap()).unwrap();
        let kind = json.as_object().unwrap().keys().next().unwrap().clone();
        let e = sum.entry(kind).or_default();
        e.0 += 1;
        e.1 += f.raw().len() as u64;
    }
    sum.into_iter().map(|(k, (n, b))| (k, b / n)).collect()
}

#[test]
fn exec_setuid_and_container_metadata_each_send_a_new_state() {
    let mut st = Stream::new();
    family(&mut st);
    fork(&mut st, 100, 200);
    probe(&mut st, 200);
    exec(
        &mut st,
        200,
        100,
        &["curl", "-s", "http://x"],
        1000,
        &format!("0::/docker/{CONTAINER}"),
    );
    probe(&mut st, 200);
    st.ev(Kind::Setuid, 200, 200, 0, &[P::Uint(0)]);
    probe(&mut st, 200);
    probe(&mut st, 200);
    let input = st.bytes();
    let n = events(&input).len();
    let (_d, mut e) = engine(false);
    // The runtime answers just before the last probe.
    let out = drive(&input, &mut e, |i, e, w| {
        if i == n - 1 {
            e.on_update(container_meta(CONTAINER), w).unwrap();
        }
    });
    let sent = states(&out);
    let of_200: Vec<&Value> = sent.iter().filter(|s| s["tid"] == 200).collect();
    // Forked (bash), exec'd (curl, in the container), setuid (root),
    // container named: four states of tid 200.
    assert_eq!(
        of_200.len(),
        4,
        "{}",
        serde_json::to_string(&of_200).unwrap()
    );
    assert_eq!(s(of_200[0], &["thread", "name"]), "bash");
    assert_eq!(s(of_200[1], &["thread", "name"]), "curl");
    assert_eq!(s(of_200[1], &["thread", "args"]), r#"["-s","http://x"]"#);
    assert_eq!(s(of_200[1], &["container", "id"]), CONTAINER[..12]);
    assert_eq!(s(of_200[1], &["user", "name"]), "alice");
    assert_eq!(s(of_200[2], &["user", "name"]), "root");
    assert_eq!(s(of_200[2], &["thread", "euid"]), "0");
    assert_eq!(s(of_200[2], &["container", "name"]), "");
    assert_eq!(s(of_200[3], &["container", "name"]), "web");
    assert_eq!(s(of_200[3], &["k8s", "podName"]), "web-0");
    let gens: Vec<u64> = of_200
        .iter()
        .map(|s| s["stateGen"].as_u64().unwrap())
        .collect();
    assert!(gens.windows(2).all(|w| w[0] < w[1]), "fresh each: {gens:?}");
    // The last two probes differ only by the metadata, which came between
    // them: they name different states.
    let t = trace(&out);
    let last_two: Vec<&String> = t
        .iter()
        .filter(|l| l.starts_with("event close 200"))
        .skip(2)
        .collect();
    assert_eq!(last_two.len(), 2);
    assert_ne!(last_two[0], last_two[1], "the metadata changed the state");
}

#[test]
fn an_exited_thread_is_gone_after_its_last_event_and_a_reused_tid_starts_afresh() {
    let mut st = Stream::new();
    family(&mut st);
    fork(&mut st, 100, 200);
    probe(&mut st, 200);
    exit(&mut st, 200);
    // The kernel hands tid 200 out again.
    fork(&mut st, 100, 200);
    probe(&mut st, 200);
    let (_d, mut e) = engine(false);
    let out = drive(&st.bytes(), &mut e, |_, _, _| {});
    let t = trace(&out);
    let pos = |line: &str| {
        t.iter()
            .position(|l| l.starts_with(line))
            .unwrap_or_else(|| panic!("no {line:?} in {t:#?}"))
    };
    let exit_at = pos("event procExit 200");
    let gone_at = pos("gone 200");
    assert!(gone_at > exit_at, "the exit names the state: {t:#?}");
    let first = t.iter().position(|l| l.starts_with("state 200")).unwrap();
    let again = t[gone_at..]
        .iter()
        .position(|l| l.starts_with("state 200"))
        .map(|i| i + gone_at)
        .expect("a new state after the tid's reuse");
    assert!(again > gone_at);
    assert_ne!(t[first], t[again], "a fresh generation");
    // At the end, every thread whose state was sent and that left is gone
    // exactly once; bash (100) and the second 200 are still there.
    assert_eq!(t.iter().filter(|l| l.starts_with("gone")).count(), 1);
    let counters = stats(&out);
    assert_eq!(counters["states_gone_sent"], 1);
    assert_eq!(
        counters["states_sent"],
        counts(&out).get("state").copied().unwrap_or(0) as u64
    );
    // The references all resolve (events() asserts it) to the right threads.
    let ev = events(&out);
    assert!(ev
        .iter()
        .all(|e| e["tid"] != 200 || e["thread"]["tid"] == 200));
}

/// enrich's own last stats frame, as name → value.
fn stats(out: &[u8]) -> BTreeMap<String, u64> {
    let f = frames(out);
    let last = f
        .iter()
        .rev()
        .find(|f| f.get("stats").is_some())
        .expect("a stats frame");
    last["stats"]["counters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (s(c, &["name"]), c["value"].as_u64().unwrap()))
        .collect()
}

#[test]
fn a_fork_child_gets_its_own_state() {
    let mut st = Stream::new();
    family(&mut st);
    probe(&mut st, 100);
    fork(&mut st, 100, 200);
    probe(&mut st, 200);
    probe(&mut st, 100);
    let (_d, mut e) = engine(false);
    let out = drive(&st.bytes(), &mut e, |_, _, _| {});
    let sent = states(&out);
    let child: Vec<&Value> = sent.iter().filter(|s| s["tid"] == 200).collect();
    assert_eq!(child.len(), 1, "{sent:?}");
    assert_eq!(s(child[0], &["thread", "tid"]), "200");
    assert_eq!(s(child[0], &["thread", "ppid"]), "100");
    let parent_gen = sent.iter().find(|s| s["tid"] == 100).unwrap()["stateGen"].clone();
    assert_ne!(child[0]["stateGen"], parent_gen);
    // The parent's state did not change with the fork: sent once.
    assert_eq!(sent.iter().filter(|s| s["tid"] == 100).count(), 1);
    let t = trace(&out);
    assert!(t.contains(&format!("event close 200 {}", child[0]["stateGen"])));
}

/// Runs `input` through an engine whose reader changes before input event
/// `at`; the traces written to the first reader and to the second.
fn reader_changes_before(input: &[u8], at: usize) -> (Vec<String>, Vec<String>) {
    let (_d, mut e) = engine(false);
    let mut cut = 0;
    let out = drive(input, &mut e, |i, e, w| {
        if i == at {
            w.flush().unwrap();
            cut = w.get_ref().len();
            e.new_reader();
        }
    });
    (trace(&out[..cut]), trace(&out[cut..]))
}

#[test]
fn a_new_reader_is_sent_every_state_again() {
    let mut st = Stream::new();
    family(&mut st);
    fork(&mut st, 100, 200);
    probe(&mut st, 100);
    probe(&mut st, 200);
    // Here the reader changes.
    probe(&mut st, 100);
    exit(&mut st, 200);
    probe(&mut st, 100);
    let input = st.bytes();
    let n = events(&input).len();
    let (before, after) = reader_changes_before(&input, n - 3);
    assert!(before.iter().any(|l| l.starts_with("state 100")));
    // The new reader gets bash's state again (a new generation) before its
    // next event, and 200's with its exit; the old reader's states are not
    // gone to it, only the one it was sent.
    assert!(after[0].starts_with("state 100"), "{after:#?}");
    assert!(!before.contains(&after[0]), "a new generation");
    assert!(after[1].starts_with("event close 100"));
    assert!(after[2].starts_with("state 200"), "{after:#?}");
    assert!(after[3].starts_with("event procExit 200"));
    assert_eq!(after[4], "gone 200");
    assert!(after[5].starts_with("event close 100"));
    assert_eq!(after.len(), 6, "{after:#?}");
}

#[test]
fn gone_is_owed_only_to_the_reader_that_was_sent_the_state() {
    let mut st = Stream::new();
    family(&mut st);
    fork(&mut st, 100, 200);
    probe(&mut st, 200);
    exit(&mut st, 200);
    probe(&mut st, 100);
    let input = st.bytes();
    let n = events(&input).len();
    // The reader changes between 200's exit and the next frame: the new
    // one never had 200's state, so no stateGone is written to it.
    let (_, after) = reader_changes_before(&input, n - 1);
    assert!(after.iter().all(|l| !l.starts_with("gone")), "{after:#?}");
}

#[test]
fn inline_state_writes_every_event_whole_and_no_state_frames() {
    let mut st = Stream::new();
    family(&mut st);
    fork(&mut st, 100, 200);
    probe(&mut st, 200);
    exit(&mut st, 200);
    probe(&mut st, 100);
    let input = st.bytes();
    let (code, out, err) = run_bin(&input, &["--inline-state"]);
    assert_eq!(code, 0, "{err}");
    let (kinds, gens) = frame_kinds(&out);
    assert_eq!(kinds.get("state"), None, "{kinds:?}");
    assert_eq!(kinds.get("stateGone"), None, "{kinds:?}");
    assert!(gens.iter().all(|&g| g == 0), "{gens:?}");
    for f in frames(&out) {
        if let Some(e) = f.get("event") {
            assert!(
                e.get("thread").is_some() && e.get("container").is_some(),
                "{e}"
            );
            assert!(
                e["thread"].get("stdioTypes").is_some() && e.get("stdioTypes").is_none(),
                "a whole event has its stdio types in its thread: {e}"
            );
        }
    }
    let stats = stats(&out);
    assert_eq!(stats["states_sent"], 0);
    // The same events as with state frames, references resolved.
    let (code, by_ref, err) = run_bin(&input, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(frame_kinds(&by_ref).0.contains_key("state"));
    assert_eq!(events(&out), events(&by_ref));
}

/// Reads frames from `r` until an event of `tid` that names a state; the
/// frames read, as JSON.
fn read_until_event_of(r: &mut FrameReader<UnixStream>, tid: i32) -> Vec<Value> {
    let mut seen = Vec::new();
    loop {
        let f = r
            .next()
            .expect("a valid stream")
            .unwrap_or_else(|| panic!("the stream ended before an event of {tid}: {seen:?}"));
        let json = schema::json::frame_to_json(f.root().unwrap()).unwrap();
        let done = json
            .get("event")
            .is_some_and(|e| e["tid"] == tid && e["stateGen"] != 0);
        seen.push(json);
        if done {
            return seen;
        }
    }
}

/// How long the reconnect test waits for enrich to connect or write.
const WAIT: Duration = Duration::from_secs(10);

/// The next connection to `listener`, with its reads bounded by [`WAIT`];
/// fails rather than hangs when enrich does not connect within it.
fn accept_within(listener: &UnixListener) -> UnixStream {
    listener.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        match listener.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false).unwrap();
                s.set_read_timeout(Some(WAIT)).unwrap();
                return s;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(Instant::now() < deadline, "enrich did not connect");
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

#[test]
fn a_reader_that_reconnects_is_sent_the_states_again() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("enrich.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_enrich"))
        .args(["--output", &format!("unix:{}", sock.display())])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start enrich");
    let mut stdin = child.stdin.take().unwrap();
    let mut st = Stream::new();
    family(&mut st);
    probe(&mut st, 100);
    stdin.write_all(&st.take()).unwrap();
    stdin.flush().unwrap();
    // The first reader gets bash's state, then its event; then it goes.
    let mut r = FrameReader::new(accept_within(&listener));
    let seen = read_until_event_of(&mut r, 100);
    assert!(seen.iter().any(|f| f["state"]["tid"] == 100), "{seen:?}");
    drop(r);
    // This event meets the closed socket and is lost (enrich counts it);
    // enrich connects again.
    probe(&mut st, 100);
    stdin.write_all(&st.take()).unwrap();
    stdin.flush().unwrap();
    let second = accept_within(&listener);
    // The event that found no reader may or may not be the next one;
    // send more until the new reader sees one of bash's.
    probe(&mut st, 100);
    stdin.write_all(&st.take()).unwrap();
    drop(stdin);
    let mut r = FrameReader::new(second);
    r.read_header()
        .expect("a header")
        .expect("the new reader gets enrich's header first");
    let seen = read_until_event_of(&mut r, 100);
    let state_at = seen
        .iter()
        .position(|f| f["state"]["tid"] == 100)
        .unwrap_or_else(|| panic!("the new reader was not sent bash's state: {seen:?}"));
    let ev = seen.last().unwrap();
    assert_eq!(seen[state_at]["state"]["stateGen"], ev["event"]["stateGen"]);
    while r.next().expect("a valid stream").is_some() {}
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "{err}");
}

#[test]
fn upstream_states_are_not_forwarded() {
    // An enriched stream fed back in: its states would pass for ours.
    let mut st = Stream::new();
    family(&mut st);
    st.state(100, 1, "impostor");
    probe(&mut st, 100);
    let (code, out, err) = run_bin(&st.bytes(), &[]);
    assert_eq!(code, 0, "{err}");
    let sent = states(&out);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(s(&sent[0], &["thread", "name"]), "bash");
    assert_eq!(s(&events(&out)[2], &["thread", "name"]), "bash");
}
