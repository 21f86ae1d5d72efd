//! Replays a stream recorded on these machines with the real capture
//! (`tests/fixtures/enrich/shell.kst`, made by `record.sh` beside it: a shell
//! in a scratch directory doing relative-path opens, a redirect, a failed
//! open and a loopback TCP connection) and checks the state enrich attaches:
//! key facts asserted one by one, and every event's state compared with the
//! golden projection `shell.golden.jsonl` (regenerate with UPDATE_GOLDEN=1);
//! and that its events, as enrich writes them by default (naming their
//! thread's state), read as the whole events of `--inline-state`.

mod common;

use common::*;
use schema::state::StateTable;
use schema::{frame, FrameReader};
use serde_json::{json, Value};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/enrich/shell.kst"
);
const GOLDEN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/enrich/shell.golden.jsonl"
);
const WD: &str = "/tmp/kestrel-fixture-wd";

fn replay() -> Vec<Value> {
    let bytes = std::fs::read(FIXTURE).expect("read the recorded fixture");
    run(bytes)
}

/// The part of an event the golden file pins down.
fn projection(e: &Value) -> Value {
    let t = &e["thread"];
    let names: Vec<Value> = t["ancestors"]
        .as_array()
        .map_or(vec![], |a| a.iter().map(|x| x["name"].clone()).collect());
    json!({
        "type": e["type"], "tid": e["tid"], "ret": e["ret"], "params": e["params"],
        "thread": {
            "pid": t["pid"], "ppid": t["ppid"], "name": t["name"], "exe": t["exe"], "exepath": t["exepath"],
            "args": t["args"], "cwd": t["cwd"], "partial": t["partial"], "ancestors": names,
            "stdioTypes": t["stdioTypes"], "uid": t["uid"], "loginuid": t["loginuid"],
        },
        "fd": e.get("fd").map(|f| json!({
            "num": f["num"], "type": f["type"], "name": f["name"], "nameRaw": f["nameRaw"],
            "l4proto": f["l4proto"], "isServer": f["isServer"], "connected": f["connected"], "nameChanged": f["nameChanged"],
        })),
        "user": e["user"]["name"], "group": e["group"]["name"], "loginUser": e["loginUser"]["name"],
        "container": e["container"]["id"],
    })
}

#[test]
fn recorded_shell_session_has_exactly_the_expected_state() {
    let ev = replay();
    let got: Vec<Value> = ev.iter().map(projection).collect();
    if std::env::var("UPDATE_GOLDEN").is_ok() {
        let text: String = got.iter().map(|v| format!("{v}\n")).collect();
        std::fs::write(GOLDEN, text).unwrap();
    }
    let want: Vec<Value> = std::fs::read_to_string(GOLDEN)
        .expect("golden file (UPDATE_GOLDEN=1 writes it)")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(got.len(), want.len(), "event count");
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "event {i} differs from the golden state");
    }
}

#[test]
fn recorded_shell_session_key_facts() {
    let ev = replay();
    let find = |pred: &dyn Fn(&Value) -> bool| ev.iter().find(|e| pred(e)).cloned();
    let opened = |name: &str| {
        find(&|e: &Value| e["type"] == "openat" && s(e, &["fd", "name"]) == name)
            .unwrap_or_else(|| panic!("no open of {name}"))
    };
    // cat ../a.txt from sub/: resolved through the cwd set by `cd`.
    let a = opened(&format!("{WD}/a.txt"));
    assert_eq!(s(&a, &["thread", "name"]), "cat");
    assert_eq!(s(&a, &["thread", "cwd"]), format!("{WD}/sub"));
    assert_eq!(s(&a, &["fd", "nameRaw"]), "../a.txt");
    assert_eq!(s(&a, &["params", "name"]), format!("{WD}/a.txt"));
    assert_eq!(s(&a["thread"]["ancestors"][0], &["name"]), "sh");
    assert_eq!(s(&a, &["thread", "partial"]), "false");
    assert_eq!(s(&a, &["user", "name"]), "root");
    assert_eq!(s(&a, &["container", "id"]), "host");
    // The redirect: sh opens ./b.txt for writing, then dup2s it onto stdout.
    let b = opened(&format!("{WD}/sub/b.txt"));
    assert_eq!(s(&b, &["thread", "name"]), "sh");
    assert_eq!(s(&b, &["fd", "nameRaw"]), "./b.txt");
    // The failed open of ./missing still names the path.
    let m = find(&|e: &Value| s(e, &["params", "name"]) == format!("{WD}/sub/missing"))
        .expect("open of ./missing");
    assert!(m["ret"].as_i64().unwrap() < 0);
    assert_eq!(s(&m, &["fd", "name"]), format!("{WD}/sub/missing"));
    // Loopback TCP: both ends named client first, the accepting end a server.
    let c = find(&|e: &Value| e["type"] == "connect").expect("connect");
    let acc = find(&|e: &Value| e["type"] == "accept4" || e["type"] == "accept").expect("accept");
    let cname = s(&c, &["fd", "name"]);
    assert!(
        cname.starts_with("127.0.0.1:") && cname.contains("->127.0.0.1:"),
        "{cname}"
    );
    assert_eq!(
        s(&acc, &["fd", "name"]),
        cname,
        "both ends name the connection alike"
    );
    assert_eq!(s(&acc, &["fd", "isServer"]), "true");
    assert_eq!(s(&c, &["fd", "isServer"]), "false");
    assert_eq!(s(&c, &["fd", "l4proto"]), "tcp");
    assert_eq!(s(&c, &["thread", "name"]), "python3");
    // Nothing was built lazily but a vfork child's first event, which the
    // kernel delivers before its parent's vfork returns: only the exec after
    // it names the parent.
    for e in &ev {
        let child_side = ["vfork", "clone", "clone3", "fork"]
            .contains(&e["type"].as_str().unwrap_or(""))
            && e["ret"] == 0;
        assert!(
            child_side || s(e, &["thread", "partial"]) == "false",
            "partial thread: {e}"
        );
    }
}

#[test]
fn recorded_session_by_reference_reads_as_the_whole_events_through_state_table() {
    let bytes = std::fs::read(FIXTURE).expect("read the recorded fixture");
    let (code, by_ref, err) = run_bin(&bytes, &[]);
    assert_eq!(code, 0, "{err}");
    let (code, whole, err) = run_bin(&bytes, &["--inline-state"]);
    assert_eq!(code, 0, "{err}");
    // The test helper's resolution: the very same events, JSON for JSON.
    assert_eq!(events(&by_ref), events(&whole));
    // And the reader's own (schema::state::StateTable, as evaluate reads
    // it): every event that names a state finds it, and it is the state
    // the whole event shows.
    let whole = events(&whole);
    let mut table = StateTable::new();
    let mut r = FrameReader::new(&by_ref[..]);
    r.read_header().unwrap();
    let (mut i, mut named) = (0, 0);
    while let Some(f) = r.next().unwrap() {
        let root = f.root().unwrap();
        if table.apply(root, f.raw()) {
            continue;
        }
        let Ok(frame::Event(Ok(ev))) = root.which() else {
            continue;
        };
        let want = &whole[i];
        i += 1;
        if ev.get_state_gen() == 0 {
            continue;
        }
        named += 1;
        assert!(
            !ev.has_thread() && !ev.has_user(),
            "event {i} names a state and carries parts"
        );
        let st = table
            .get(ev)
            .unwrap_or_else(|| panic!("event {i}'s state not found"));
        let t = st.thread.expect("the state has a thread");
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        assert_eq!(text(t.get_name().unwrap()), s(want, &["thread", "name"]));
        assert_eq!(text(t.get_cwd().unwrap()), s(want, &["thread", "cwd"]));
        assert_eq!(
            t.get_ancestors().unwrap().len() as usize,
            want["thread"]["ancestors"].as_array().map_or(0, Vec::len)
        );
        assert_eq!(
            st.user
                .expect("the state has a user")
                .get_name()
                .unwrap()
                .to_str()
                .unwrap(),
            s(want, &["user", "name"])
        );
        assert_eq!(
            st.container
                .expect("the state has a container")
                .get_id()
                .unwrap()
                .to_str()
                .unwrap(),
            s(want, &["container", "id"])
        );
    }
    assert_eq!(i, whole.len());
    assert!(
        named > whole.len() / 2,
        "most events name a state: {named} of {i}"
    );
    assert_eq!(table.counters.missing, 0);
    assert_eq!((table.counters.corrupt, table.counters.evicted), (0, 0));
}
