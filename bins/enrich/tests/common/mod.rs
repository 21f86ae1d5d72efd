//! Shared helpers of enrich's integration tests: build synthetic capture
//! streams frame by frame, run enrich over them (in process or as the real
//! binary), and read the output back as JSON for assertions.
#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use capnp::message::Builder;
use enrich::{Enricher, MetaUpdate};
use schema::kestrel_capnp::{event, fd, frame, sock_addr, Family, FdType};
use schema::{FrameReader, FrameWriter, Kind, Stage};
use serde_json::Value;

/// The dirfd meaning "relative to the cwd".
pub const AT_FDCWD: i64 = -100;

/// One parameter value.
#[derive(Clone, Debug)]
pub enum P {
    Int(i64),
    Uint(u64),
    Bytes(Vec<u8>),
    List(Vec<Vec<u8>>),
    Addr(Addr),
    Tuple(Addr, Addr),
    None,
}

pub fn b(s: &str) -> P {
    P::Bytes(s.as_bytes().to_vec())
}

pub fn list(items: &[&str]) -> P {
    P::List(items.iter().map(|s| s.as_bytes().to_vec()).collect())
}

/// A socket address for parameters and snapshot fds.
#[derive(Clone, Debug)]
pub struct Addr {
    pub family: Family,
    pub ip: Vec<u8>,
    pub port: u16,
    pub path: Vec<u8>,
}

pub fn v4(ip: [u8; 4], port: u16) -> Addr {
    Addr {
        family: Family::Inet,
        ip: ip.to_vec(),
        port,
        path: Vec::new(),
    }
}

pub fn unix(path: &str) -> Addr {
    Addr {
        family: Family::Unix,
        ip: Vec::new(),
        port: 0,
        path: path.as_bytes().to_vec(),
    }
}

fn set_addr(a: &Addr, mut b: sock_addr::Builder<'_>) {
    b.set_family(a.family);
    b.set_addr(&a.ip);
    b.set_port(a.port);
    b.set_path(&a.path);
}

/// A process as capture's snapshot describes it.
#[derive(Clone, Debug, Default)]
pub struct Snap {
    pub tid: i32,
    pub pid: i32,
    pub ppid: i32,
    pub comm: String,
    pub exe: String,
    pub exepath: String,
    pub args: Vec<String>,
    pub cwd: String,
    pub uid: u32,
    pub loginuid: u32,
    pub cgroups: Vec<String>,
    pub start_ts: u64,
    /// (num, type, name)
    pub fds: Vec<(i64, FdType, String)>,
}

impl Snap {
    pub fn new(pid: i32, ppid: i32, comm: &str) -> Snap {
        Snap {
            tid: pid,
            pid,
            ppid,
            comm: comm.into(),
            exe: comm.into(),
            exepath: format!("/usr/bin/{comm}"),
            cwd: "/".into(),
            loginuid: u32::MAX,
            cgroups: vec!["::/user.slice".into()],
            start_ts: 1_000 + pid as u64,
            ..Snap::default()
        }
    }
}

/// A synthetic capture stream.
pub struct Stream {
    w: FrameWriter<Vec<u8>>,
    pub ts: u64,
}

impl Default for Stream {
    fn default() -> Self {
        Self::new()
    }
}

impl Stream {
    pub fn new() -> Stream {
        let mut w = FrameWriter::new(Vec::new());
        w.write_header(Stage::Capture).unwrap();
        Stream {
            w,
            ts: 1_700_000_000_000_000_000,
        }
    }

    fn frame(&mut self, f: impl FnOnce(event::Builder<'_>)) {
        self.ts += 1000;
        let ts = self.ts;
        let mut msg = Builder::new_default();
        let mut e = msg.init_root::<frame::Builder>().init_event();
        e.set_ts_ns(ts);
        f(e);
        self.w.write(&msg).unwrap();
    }

    /// A syscall exit event.
    pub fn ev(&mut self, kind: Kind, tid: i32, pid: i32, ret: i64, params: &[P]) -> &mut Self {
        self.frame(|mut e| {
            e.set_kind(kind);
            e.set_tid(tid);
            e.set_pid(pid);
            e.set_ret(ret);
            let mut l = e.init_params(params.len() as u32);
            for (i, p) in params.iter().enumerate() {
                let mut b = l.reborrow().get(i as u32);
                match p {
                    P::Int(v) => b.set_int(*v),
                    P::Uint(v) => b.set_uint(*v),
                    P::Bytes(v) => b.set_bytes(v),
                    P::List(v) => {
                        let mut lb = b.init_list(v.len() as u32);
                        for (j, item) in v.iter().enumerate() {
                            lb.set(j as u32, item);
                        }
                    }
                    P::Addr(a) => set_addr(a, b.init_sockaddr()),
                    P::Tuple(l, r) => {
                        let mut t = b.init_tuple();
                        set_addr(l, t.reborrow().init_local());
                        set_addr(r, t.init_remote());
                    }
                    P::None => b.set_none(()),
                }
            }
        });
        self
    }

    /// A procSnapshot event.
    pub fn snap(&mut self, s: &Snap) -> &mut Self {
        self.frame(|mut e| {
            e.set_kind(Kind::ProcSnapshot);
            e.set_tid(s.tid);
            e.set_pid(s.pid);
            let mut t = e.reborrow().init_thread();
            t.set_tid(s.tid);
            t.set_pid(s.pid);
            t.set_ppid(s.ppid);
            t.set_vtid(s.tid);
            t.set_vpid(s.pid);
            t.set_sid(1);
            t.set_pgid(s.pid);
            t.set_name(s.comm.as_bytes());
            t.set_exe(s.exe.as_bytes());
            t.set_exepath(s.exepath.as_bytes());
            let mut a = t.reborrow().init_args(s.args.len() as u32);
            for (i, x) in s.args.iter().enumerate() {
                a.set(i as u32, x.as_bytes());
            }
            t.set_cwd(s.cwd.as_bytes());
            t.set_uid(s.uid);
            t.set_euid(s.uid);
            t.set_gid(s.uid);
            t.set_egid(s.uid);
            t.set_loginuid(s.loginuid);
            t.set_start_ts_ns(s.start_ts);
            let mut c = t.init_cgroups(s.cgroups.len() as u32);
            for (i, x) in s.cgroups.iter().enumerate() {
                c.set(i as u32, x.as_str());
            }
            let mut fl = e.init_snapshot_fds(s.fds.len() as u32);
            for (i, (num, ty, name)) in s.fds.iter().enumerate() {
                let mut f: fd::Builder<'_> = fl.reborrow().get(i as u32);
                f.set_num(*num);
                f.set_type(*ty);
                f.set_name(name.as_bytes());
            }
        });
        self
    }

    /// A `state` frame, as enrich writes them (for streams that are not
    /// capture's).
    pub fn state(&mut self, tid: i32, gen: u64, name: &str) -> &mut Self {
        let mut msg = Builder::new_default();
        let mut s = msg.init_root::<frame::Builder>().init_state();
        s.set_tid(tid);
        s.set_state_gen(gen);
        s.init_thread().set_name(name.as_bytes());
        self.w.write(&msg).unwrap();
        self
    }

    /// A stats frame from an upstream stage.
    pub fn stats(&mut self, stage: Stage, name: &str, value: u64) -> &mut Self {
        let mut msg = Builder::new_default();
        let mut s = msg.init_root::<frame::Builder>().init_stats();
        s.set_stage(stage);
        let mut c = s.init_counters(1);
        c.reborrow().get(0).set_name(name);
        c.reborrow().get(0).set_value(value);
        self.w.write(&msg).unwrap();
        self
    }

    /// The bytes written since the last `take` (the whole stream so far
    /// on the first), to feed a stage piece by piece.
    pub fn take(&mut self) -> Vec<u8> {
        self.w.flush().unwrap();
        std::mem::take(self.w.get_mut())
    }

    pub fn bytes(&mut self) -> Vec<u8> {
        self.w.flush().unwrap();
        self.w.get_ref().clone()
    }
}

/// An openat by `tid` (its own process) of `path`, returning `ret`.
pub fn openat(st: &mut Stream, tid: i32, ret: i64, path: &str) {
    let params = [
        P::Int(AT_FDCWD),
        b(path),
        P::Uint(0),
        P::Uint(0),
        P::Uint(0),
        P::Uint(0),
    ];
    st.ev(Kind::Openat, tid, tid, ret, &params);
}

/// A successful execve of `argv` by process `pid` (child of `ppid`), with
/// its credentials (`uid` for all of them) and cgroup.
pub fn exec(st: &mut Stream, pid: i32, ppid: i64, argv: &[&str], uid: u64, cgroup: &str) {
    let params = [
        b(&format!("/usr/bin/{}", argv[0])),
        b(&format!("/usr/bin/{}", argv[0])),
        list(argv),
        P::Uint(0),
        b("/srv"),
        P::Uint(uid),
        P::Uint(uid),
        P::Uint(uid),
        P::Uint(uid),
        P::Uint(uid),
        P::Uint(0),
        P::Int(ppid),
        P::Int(i64::from(pid)),
        P::Int(i64::from(pid)),
        P::Int(i64::from(pid)),
        P::Int(ppid),
        b(argv[0]),
        list(&[cgroup]),
    ];
    st.ev(Kind::Execve, pid, pid, 0, &params);
}

/// The runtime's answer for container `id`: named `web`, in pod `web-0`.
pub fn container_meta(id: &str) -> MetaUpdate {
    let meta = enrich::tables::containers::ContainerMeta {
        name: "web".into(),
        image: "busybox:1.36".into(),
        runtime: "docker".into(),
        labels: vec![("io.kubernetes.pod.name".into(), "web-0".into())],
        ..Default::default()
    };
    MetaUpdate::Fetched {
        full_id: id.into(),
        result: Ok(Box::new(meta)),
    }
}

/// Runs the events of `input` through `engine` (no runtime client),
/// calling `between(i, engine, writer)` before the `i`th, and ends as the
/// stage does (what is held released, then the stats); returns what it
/// wrote.
pub fn drive(
    input: &[u8],
    engine: &mut Enricher,
    mut between: impl FnMut(usize, &mut Enricher, &mut FrameWriter<Vec<u8>>),
) -> Vec<u8> {
    let mut w = FrameWriter::new(Vec::new());
    let mut r = FrameReader::new(input);
    r.read_header().unwrap();
    let mut n = 0;
    while let Some(f) = r.next().unwrap() {
        let frame::Event(Ok(ev)) = f.root().unwrap().which().unwrap() else {
            continue;
        };
        between(n, engine, &mut w);
        engine.on_event(ev, f.raw(), &mut w).unwrap();
        n += 1;
    }
    engine.release_all(&mut w).unwrap();
    let mut c = stage::Counters::new();
    engine.counters(&mut c);
    c.write(&mut w, schema::Stage::Enrich, "test").unwrap();
    w.flush().unwrap();
    w.get_ref().clone()
}

/// Every frame of a stream as JSON.
pub fn frames(bytes: &[u8]) -> Vec<Value> {
    let mut r = FrameReader::new(bytes);
    let mut out = Vec::new();
    while let Some(f) = r.next().expect("enrich wrote a corrupt stream") {
        out.push(schema::json::frame_to_json(f.root().unwrap()).unwrap());
    }
    out
}

/// The parts of an event a `state` frame holds for it.
pub const STATE_PARTS: [&str; 6] = ["thread", "user", "group", "loginUser", "container", "k8s"];

/// The events of a stream, as JSON objects, each whole: an event that
/// names its thread's state (`stateGen`) gets that state's parts merged
/// in, as a reader resolving state frames sees it, and its own
/// `stdioTypes` moved into its `thread`, where a self-contained event has
/// them; `stateGen` is left out, so that events read the same whether
/// enrich wrote them whole or not. Panics on a reference that does not
/// resolve to the last state of the event's tid, on an event that names a
/// state and carries parts of its own or no stdio types, and on a state
/// whose thread shows stdio types.
pub fn events(bytes: &[u8]) -> Vec<Value> {
    let mut states: std::collections::HashMap<i64, Value> = Default::default();
    let mut out = Vec::new();
    for f in frames(bytes) {
        if let Some(st) = f.get("state") {
            let tid = st["tid"].as_i64().expect("a state names its tid");
            assert_ne!(st["stateGen"], 0, "a state with stateGen 0: {st}");
            for field in ["params", "fd", "snapshotFds"] {
                assert!(st.get(field).is_none(), "a state carries {field}: {st}");
            }
            states.insert(tid, st.clone());
        } else if let Some(tid) = f.get("stateGone") {
            let tid = tid.as_i64().expect("stateGone is a tid");
            assert!(
                states.remove(&tid).is_some(),
                "stateGone for tid {tid}, whose state was not sent"
            );
        } else if let Some(ev) = f.get("event") {
            let mut ev = ev.clone();
            let gen = ev["stateGen"].as_u64().expect("stateGen");
            if gen != 0 {
                let tid = ev["tid"].as_i64().expect("tid");
                let st = states.get(&tid).unwrap_or_else(|| {
                    panic!("event {ev} names state {gen} of tid {tid}, which was never sent or is gone")
                });
                assert_eq!(
                    st["stateGen"], gen,
                    "event {ev} names a state other than its thread's last"
                );
                for part in STATE_PARTS {
                    assert!(
                        ev.get(part).is_none(),
                        "event {ev} names a state and carries {part}"
                    );
                    if let Some(v) = st.get(part) {
                        ev[part] = v.clone();
                    }
                }
                assert!(
                    st["thread"].get("stdioTypes").is_none(),
                    "a state's thread shows stdio types: {st}"
                );
                let stdio = ev.as_object_mut().and_then(|o| o.remove("stdioTypes"));
                let stdio = stdio
                    .unwrap_or_else(|| panic!("event {ev} names a state and has no stdioTypes"));
                ev["thread"]["stdioTypes"] = stdio;
            }
            if let Some(obj) = ev.as_object_mut() {
                obj.remove("stateGen");
            }
            out.push(ev);
        }
    }
    out
}

/// How many frames of `bytes` are of each kind (`state`, `stateGone`,
/// `event`, ...), and the `stateGen` of each event in order.
pub fn frame_kinds(bytes: &[u8]) -> (std::collections::BTreeMap<String, usize>, Vec<u64>) {
    let mut counts = std::collections::BTreeMap::new();
    let mut gens = Vec::new();
    for f in frames(bytes) {
        let kind = f
            .as_object()
            .and_then(|o| o.keys().next().cloned())
            .expect("a frame is a one-member union");
        if let Some(ev) = f.get("event") {
            gens.push(ev["stateGen"].as_u64().expect("stateGen"));
        }
        *counts.entry(kind).or_insert(0) += 1;
    }
    (counts, gens)
}

/// passwd and group files for tests.
pub fn userdb() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("passwd");
    let gr = dir.path().join("group");
    std::fs::write(
        &pw,
        "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:Alice:/home/alice:/bin/zsh\n",
    )
    .unwrap();
    std::fs::write(&gr, "root:x:0:\nalice:x:1000:\n").unwrap();
    (dir, pw, gr)
}

/// Runs the enrich binary over `input` with `args`; returns (exit code,
/// stdout, stderr).
pub fn run_bin(input: &[u8], args: &[&str]) -> (i32, Vec<u8>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_enrich"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start enrich");
    let mut stdin = child.stdin.take().unwrap();
    let data = input.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    (
        out.status.code().unwrap_or(-1),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs enrich in process over `input` with the test user database.
pub fn run(input: Vec<u8>) -> Vec<Value> {
    let (_d, pw, gr) = userdb();
    let opts = enrich::Options {
        passwd: pw,
        group: gr,
        ..enrich::Options::default()
    };
    let mut out = Vec::new();
    let mut none = |_tx| None;
    enrich::run::run(std::io::Cursor::new(input), &mut out, &opts, &mut none)
        .expect("enrich failed");
    events(&out)
}

/// `v[path...]` as a string ("" when absent).
pub fn s(v: &Value, path: &[&str]) -> String {
    let mut cur = v;
    for p in path {
        cur = match cur.get(p) {
            Some(c) => c,
            None => return String::new(),
        };
    }
    match cur {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
