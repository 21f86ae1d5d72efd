//! Replays synthetic capture streams through enrich and checks the state
//! attached to each event: threads and ancestors, descriptors and their
//! names, path resolution, users and groups, containers, stats.

mod common;

use common::*;
use schema::kestrel_capnp::FdType;
use schema::{Kind, Stage};

const O_RDONLY: u64 = 0;
const O_DIRECTORY: u64 = 0o200_000;
const O_CLOEXEC: u64 = 0o2_000_000;

/// init (1) → bash (100) → tool (200), bash in /home/alice as alice.
fn family(st: &mut Stream) {
    let mut init = Snap::new(1, 0, "systemd");
    init.exepath = "/usr/lib/systemd/systemd".into();
    st.snap(&init);
    let mut bash = Snap::new(100, 1, "bash");
    bash.cwd = "/home/alice".into();
    bash.uid = 1000;
    bash.loginuid = 1000;
    bash.args = vec!["-l".into()];
    bash.fds = vec![
        (0, FdType::File, "/dev/pts/0".into()),
        (1, FdType::Pipe, "pipe:[77]".into()),
    ];
    st.snap(&bash);
}

#[test]
fn open_resolves_paths_and_close_shows_what_it_closed() {
    let mut st = Stream::new();
    family(&mut st);
    st.ev(
        Kind::Openat,
        100,
        100,
        3,
        &[
            P::Int(AT_FDCWD),
            b("../bob/./notes.txt"),
            P::Uint(O_RDONLY),
            P::Uint(0),
            P::Uint(0),
            P::Uint(0),
        ],
    );
    st.ev(Kind::Close, 100, 100, 0, &[P::Int(3)]);
    st.ev(Kind::Close, 100, 100, -9, &[P::Int(3)]);
    let ev = run(st.bytes());
    assert_eq!(ev.len(), 5);
    let open = &ev[2];
    assert_eq!(
        s(open, &["params", "name"]),
        "/home/bob/notes.txt",
        "path param rewritten"
    );
    assert_eq!(s(open, &["fd", "name"]), "/home/bob/notes.txt");
    assert_eq!(s(open, &["fd", "nameRaw"]), "../bob/./notes.txt");
    assert_eq!(s(open, &["fd", "num"]), "3");
    assert_eq!(s(open, &["fd", "type"]), "file");
    assert_eq!(s(open, &["fd", "nameChanged"]), "true");
    assert_eq!(s(open, &["thread", "name"]), "bash");
    assert_eq!(s(open, &["thread", "cwd"]), "/home/alice");
    assert_eq!(
        s(open, &["thread", "ancestors"]),
        r#"[{"args":[],"argsTruncated":false,"exe":"systemd","exepath":"/usr/lib/systemd/systemd","name":"systemd","pid":1}]"#
    );
    assert_eq!(s(open, &["thread", "parentStartTsNs"]), "1001");
    assert_eq!(
        s(open, &["thread", "stdioTypes"]),
        r#"["file","pipe","unknown"]"#
    );
    assert_eq!(s(open, &["user", "name"]), "alice");
    assert_eq!(s(open, &["user", "homedir"]), "/home/alice");
    assert_eq!(s(open, &["user", "shell"]), "/bin/zsh");
    assert_eq!(s(open, &["group", "name"]), "alice");
    assert_eq!(s(open, &["loginUser", "name"]), "alice");
    assert_eq!(s(open, &["container", "id"]), "host");
    assert_eq!(s(open, &["container", "name"]), "host");
    assert_eq!(s(open, &["container", "metadata"]), "none");
    let close = &ev[3];
    assert_eq!(s(close, &["fd", "name"]), "/home/bob/notes.txt");
    assert_eq!(s(close, &["fd", "nameChanged"]), "false");
    // The fd is gone after the first close: the failed one sees a partial fd.
    assert_eq!(s(&ev[4], &["fd", "type"]), "unknown");
    // The init process has no login: loginuid unset, no name.
    assert_eq!(s(&ev[0], &["loginUser", "uid"]), "4294967295");
    assert_eq!(s(&ev[0], &["loginUser", "name"]), "");
}

#[test]
fn at_syscalls_resolve_through_the_dirfd_and_chdir_moves_the_cwd() {
    let mut st = Stream::new();
    family(&mut st);
    st.ev(
        Kind::Openat,
        100,
        100,
        4,
        &[
            P::Int(AT_FDCWD),
            b("/etc"),
            P::Uint(O_DIRECTORY),
            P::Uint(0),
            P::Uint(0),
            P::Uint(0),
        ],
    );
    st.ev(
        Kind::Openat,
        100,
        100,
        5,
        &[
            P::Int(4),
            b("ssh/sshd_config"),
            P::Uint(O_RDONLY),
            P::Uint(0),
            P::Uint(0),
            P::Uint(0),
        ],
    );
    st.ev(
        Kind::Unlinkat,
        100,
        100,
        0,
        &[P::Int(4), b("../tmp/x"), P::Uint(0)],
    );
    st.ev(Kind::Chdir, 100, 100, 0, &[b("/var//log/")]);
    st.ev(
        Kind::Open,
        100,
        100,
        6,
        &[b("syslog"), P::Uint(0), P::Uint(0), P::Uint(0), P::Uint(0)],
    );
    st.ev(Kind::Fchdir, 100, 100, 0, &[P::Int(4)]);
    st.ev(Kind::Mkdir, 100, 100, 0, &[b("newdir"), P::Uint(0o755)]);
    let ev = run(st.bytes());
    assert_eq!(s(&ev[2], &["fd", "type"]), "directory");
    assert_eq!(s(&ev[3], &["fd", "name"]), "/etc/ssh/sshd_config");
    assert_eq!(s(&ev[4], &["params", "name"]), "/tmp/x");
    assert_eq!(s(&ev[5], &["params", "path"]), "/var/log");
    assert_eq!(
        s(&ev[5], &["thread", "cwd"]),
        "/var/log",
        "chdir shows the new cwd"
    );
    assert_eq!(s(&ev[6], &["fd", "name"]), "/var/log/syslog");
    assert_eq!(s(&ev[7], &["thread", "cwd"]), "/etc");
    assert_eq!(s(&ev[7], &["fd", "name"]), "/etc");
    assert_eq!(s(&ev[8], &["params", "path"]), "/etc/newdir");
}

#[test]
fn fork_exec_and_exit_build_the_process_tree() {
    let mut st = Stream::new();
    family(&mut st);
    st.ev(
        Kind::Openat,
        100,
        100,
        7,
        &[
            P::Int(AT_FDCWD),
            b("/tmp/keep"),
            P::Uint(0),
            P::Uint(0),
            P::Uint(0),
            P::Uint(0),
        ],
    );
    st.ev(
        Kind::Openat,
        100,
        100,
        8,
        &[
            P::Int(AT_FDCWD),
            b("/tmp/cloexec"),
            P::Uint(O_CLOEXEC),
            P::Uint(0),
            P::Uint(0),
            P::Uint(0),
        ],
    );
    st.ev(Kind::Clone, 100, 100, 200, &[P::Uint(0x11)]); // SIGCHLD: a new process
    st.ev(Kind::Clone, 200, 200, 0, &[P::Uint(0x11)]);
    let exec_params = [
        b("/usr/bin/curl"),
        b("/usr/bin/curl"),
        list(&["curl", "-s", "http://x"]),
        P::Uint(0),
        b("/home/alice"),
        P::Uint(1000),
        P::Uint(1000),
        P::Uint(1000),
        P::Uint(1000),
        P::Uint(1000),
        P::Uint(34816),
        P::Int(100),
        P::Int(200),
        P::Int(200),
        P::Int(200),
        P::Int(100),
        b("curl"),
        list(&["0::/user.slice"]),
    ];
    st.ev(Kind::Execve, 200, 200, 0, &exec_params);
    st.ev(Kind::Close, 200, 200, 0, &[P::Int(7)]);
    st.ev(Kind::Close, 200, 200, -9, &[P::Int(8)]);
    st.ev(Kind::Close, 100, 100, 0, &[P::Int(8)]);
    st.ev(Kind::ProcExit, 200, 200, 0, &[P::Int(0), P::Uint(0)]);
    st.ev(Kind::Close, 200, 200, -9, &[P::Int(7)]);
    let ev = run(st.bytes());
    let child_clone = &ev[5];
    assert_eq!(s(child_clone, &["thread", "tid"]), "200");
    assert_eq!(
        s(child_clone, &["thread", "name"]),
        "bash",
        "a fork child runs its parent's image"
    );
    assert_eq!(s(child_clone, &["thread", "ppid"]), "100");
    assert_eq!(s(child_clone, &["thread", "partial"]), "false");
    let exec = &ev[6];
    assert_eq!(s(exec, &["thread", "name"]), "curl");
    assert_eq!(s(exec, &["thread", "exe"]), "curl");
    assert_eq!(s(exec, &["thread", "exepath"]), "/usr/bin/curl");
    assert_eq!(s(exec, &["thread", "args"]), r#"["-s","http://x"]"#);
    let anc: Vec<String> = exec["thread"]["ancestors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| s(a, &["name"]))
        .collect();
    assert_eq!(anc, ["bash", "systemd"]);
    assert_eq!(s(&exec["thread"]["ancestors"][0], &["args"]), r#"["-l"]"#);
    assert_eq!(
        s(&ev[7], &["fd", "name"]),
        "/tmp/keep",
        "inherited across fork and exec"
    );
    assert_eq!(
        s(&ev[8], &["fd", "type"]),
        "unknown",
        "close-on-exec fds are gone after exec"
    );
    assert_eq!(
        s(&ev[9], &["fd", "name"]),
        "/tmp/cloexec",
        "the parent keeps its own"
    );
    assert_eq!(s(&ev[10], &["kind"]), "procExit");
    assert_eq!(
        s(&ev[10], &["thread", "name"]),
        "curl",
        "exit shows the exiting thread"
    );
    assert_eq!(
        s(&ev[11], &["thread", "partial"]),
        "true",
        "exited threads leave the table"
    );
}

#[test]
fn threads_share_process_state() {
    let mut st = Stream::new();
    family(&mut st);
    st.ev(
        Kind::Clone,
        100,
        100,
        101,
        &[P::Uint(0x10000 | 0x100 | 0x200 | 0x400 | 0x800)],
    );
    st.ev(Kind::Chdir, 101, 100, 0, &[b("/srv")]);
    st.ev(
        Kind::Openat,
        101,
        100,
        9,
        &[
            P::Int(AT_FDCWD),
            b("data"),
            P::Uint(0),
            P::Uint(0),
            P::Uint(0),
            P::Uint(0),
        ],
    );
    st.ev(Kind::Close, 100, 100, 0, &[P::Int(9)]);
    let ev = run(st.bytes());
    assert_eq!(s(&ev[4], &["fd", "name"]), "/srv/data");
    assert_eq!(s(&ev[4], &["thread", "tid"]), "101");
    assert_eq!(s(&ev[4], &["thread", "pid"]), "100");
    assert_eq!(
        s(&ev[5], &["thread", "cwd"]),
        "/srv",
        "the main thread sees the cwd its sibling set"
    );
    assert_eq!(s(&ev[5], &["fd", "name"]), "/srv/data");
}

#[test]
fn a_process_starts_with_its_leader_whatever_the_order_of_its_threads() {
    let mut st = Stream::new();
    family(&mut st);
    // A second thread of bash, started later, snapshotted after it.
    let mut worker = Snap::new(100, 1, "bash");
    worker.tid = 150;
    worker.start_ts = 9_000;
    st.snap(&worker);
    st.ev(Kind::Close, 150, 100, -9, &[P::Int(99)]);
    let ev = run(st.bytes());
    assert_eq!(s(&ev[3], &["thread", "tid"]), "150");
    assert_eq!(
        s(&ev[3], &["thread", "startTsNs"]),
        "1100",
        "bash's own start"
    );
}

#[test]
fn a_process_that_took_a_gone_parents_pid_is_not_that_parent() {
    let mut st = Stream::new();
    family(&mut st);
    st.snap(&Snap::new(200, 100, "make"));
    // bash exits; make is an orphan that still names pid 100 as its parent.
    st.ev(Kind::ProcExit, 100, 100, 0, &[P::Int(0), P::Uint(0)]);
    st.ev(Kind::Close, 200, 200, -9, &[P::Int(99)]);
    // The kernel hands pid 100 to make's own child.
    st.ev(Kind::Clone, 200, 200, 100, &[P::Uint(0x11)]);
    st.ev(Kind::Clone, 100, 100, 0, &[P::Uint(0x11)]);
    // A change of make's own, so that its `thread` is built again.
    st.ev(Kind::Chdir, 200, 200, 0, &[b("/tmp")]);
    st.ev(Kind::Close, 200, 200, -9, &[P::Int(99)]);
    let ev = run(st.bytes());
    let ancestors = |e: &serde_json::Value| s(e, &["thread", "ancestors"]);
    let last = ev.last().unwrap();
    assert_eq!(s(last, &["thread", "tid"]), "200");
    assert_eq!(ancestors(last), "[]", "not its own child");
    assert_eq!(s(last, &["thread", "cwd"]), "/tmp");
    let child = &ev[ev.len() - 3];
    assert_eq!(s(child, &["thread", "tid"]), "100");
    assert_eq!(s(&child["thread"]["ancestors"][0], &["name"]), "make");
}

#[test]
fn sockets_are_named_as_falco_names_them() {
    let mut st = Stream::new();
    family(&mut st);
    // Client: socket, connect.
    st.ev(
        Kind::Socket,
        100,
        100,
        3,
        &[P::Uint(2), P::Uint(1), P::Uint(0)],
    );
    st.ev(
        Kind::Connect,
        100,
        100,
        0,
        &[
            P::Int(3),
            P::Addr(v4([1, 2, 3, 4], 443)),
            P::Tuple(v4([10, 0, 0, 5], 40000), v4([1, 2, 3, 4], 443)),
        ],
    );
    st.ev(
        Kind::Sendto,
        100,
        100,
        10,
        &[P::Int(3), P::Uint(10), P::None],
    );
    // Server: socket, bind, listen, accept.
    st.ev(
        Kind::Socket,
        100,
        100,
        4,
        &[P::Uint(2), P::Uint(1 | O_CLOEXEC), P::Uint(6)],
    );
    st.ev(
        Kind::Bind,
        100,
        100,
        0,
        &[P::Int(4), P::Addr(v4([0, 0, 0, 0], 8080))],
    );
    st.ev(Kind::Listen, 100, 100, 0, &[P::Int(4), P::Int(128)]);
    st.ev(
        Kind::Accept4,
        100,
        100,
        5,
        &[
            P::Int(4),
            P::Tuple(v4([10, 0, 0, 5], 8080), v4([10, 0, 0, 9], 51000)),
            P::Uint(0),
        ],
    );
    // Unix client and dup2 onto stdout.
    st.ev(
        Kind::Socket,
        100,
        100,
        6,
        &[P::Uint(1), P::Uint(1), P::Uint(0)],
    );
    st.ev(
        Kind::Connect,
        100,
        100,
        0,
        &[
            P::Int(6),
            P::Addr(unix("/run/docker.sock")),
            P::Tuple(unix(""), unix("/run/docker.sock")),
        ],
    );
    st.ev(Kind::Dup2, 100, 100, 1, &[P::Int(6), P::Int(1)]);
    st.ev(Kind::Fcntl, 100, 100, 12, &[P::Int(5), P::Uint(1030)]);
    st.ev(Kind::Close, 100, 100, 0, &[P::Int(12)]);
    let ev = run(st.bytes());
    let c = &ev[3];
    assert_eq!(s(c, &["fd", "type"]), "ipv4");
    assert_eq!(s(c, &["fd", "l4proto"]), "tcp");
    assert_eq!(s(c, &["fd", "name"]), "10.0.0.5:40000->1.2.3.4:443");
    assert_eq!(s(c, &["fd", "connected"]), "true");
    assert_eq!(s(c, &["fd", "isServer"]), "false");
    assert_eq!(s(c, &["fd", "nameChanged"]), "true");
    assert_eq!(s(&ev[4], &["fd", "name"]), "10.0.0.5:40000->1.2.3.4:443");
    assert_eq!(s(&ev[4], &["fd", "nameChanged"]), "false");
    assert_eq!(s(&ev[6], &["fd", "name"]), "0.0.0.0:8080");
    assert_eq!(s(&ev[7], &["fd", "name"]), "0.0.0.0:8080");
    let a = &ev[8];
    assert_eq!(s(a, &["fd", "num"]), "5");
    assert_eq!(
        s(a, &["fd", "name"]),
        "10.0.0.9:51000->10.0.0.5:8080",
        "client first"
    );
    assert_eq!(s(a, &["fd", "isServer"]), "true");
    assert_eq!(s(a, &["fd", "l4proto"]), "tcp");
    assert_eq!(s(&ev[10], &["fd", "name"]), "/run/docker.sock");
    assert_eq!(s(&ev[10], &["fd", "type"]), "unix");
    assert_eq!(s(&ev[11], &["fd", "num"]), "1");
    assert_eq!(s(&ev[11], &["fd", "name"]), "/run/docker.sock");
    assert_eq!(
        s(&ev[11], &["thread", "stdioTypes"]),
        r#"["file","unix","unknown"]"#
    );
    assert_eq!(s(&ev[12], &["fd", "num"]), "12");
    assert_eq!(s(&ev[13], &["fd", "name"]), "10.0.0.9:51000->10.0.0.5:8080");
}

#[test]
fn unknown_threads_get_partial_entries() {
    let mut st = Stream::new();
    st.ev(
        Kind::Openat,
        555,
        550,
        3,
        &[
            P::Int(AT_FDCWD),
            b("rel/x"),
            P::Uint(0),
            P::Uint(0),
            P::Uint(0),
            P::Uint(0),
        ],
    );
    st.ev(Kind::Close, 556, 550, 0, &[P::Int(3)]);
    let ev = run(st.bytes());
    assert_eq!(s(&ev[0], &["thread", "partial"]), "true");
    assert_eq!(s(&ev[0], &["thread", "pid"]), "550");
    // No cwd known: the path stays relative (normalised), not invented.
    assert_eq!(s(&ev[0], &["fd", "name"]), "rel/x");
    assert_eq!(s(&ev[1], &["thread", "tid"]), "556");
    assert_eq!(
        s(&ev[1], &["fd", "name"]),
        "rel/x",
        "a new thread of a known process shares its fds"
    );
}

#[test]
fn containers_are_announced_before_their_first_event() {
    let id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let mut st = Stream::new();
    family(&mut st);
    let mut c = Snap::new(300, 100, "sh");
    c.cgroups = vec![format!("::/docker/{id}")];
    st.snap(&c);
    st.ev(
        Kind::Openat,
        300,
        300,
        3,
        &[
            P::Int(AT_FDCWD),
            b("/etc/shadow"),
            P::Uint(0),
            P::Uint(0),
            P::Uint(0),
            P::Uint(0),
        ],
    );
    let ev = run(st.bytes());
    assert_eq!(ev.len(), 5);
    assert_eq!(s(&ev[2], &["kind"]), "containerStart");
    assert_eq!(s(&ev[2], &["tid"]), "300");
    assert_eq!(s(&ev[2], &["container", "id"]), &id[..12]);
    assert_eq!(s(&ev[2], &["container", "fullId"]), id);
    assert_eq!(s(&ev[2], &["container", "runtime"]), "docker");
    assert_eq!(
        s(&ev[2], &["container", "metadata"]),
        "none",
        "no runtime socket given"
    );
    assert_eq!(s(&ev[3], &["kind"]), "procSnapshot");
    assert_eq!(s(&ev[4], &["container", "id"]), &id[..12]);
    assert_eq!(s(&ev[1], &["container", "id"]), "host");
}

#[test]
fn stats_are_forwarded_and_added() {
    let mut st = Stream::new();
    st.stats(Stage::Capture, "events", 42);
    family(&mut st);
    let (_d, pw, gr) = userdb();
    let opts = enrich::Options {
        passwd: pw,
        group: gr,
        ..enrich::Options::default()
    };
    let mut out = Vec::new();
    let mut none = |_tx| None;
    enrich::run::run(std::io::Cursor::new(st.bytes()), &mut out, &opts, &mut none).unwrap();
    let f = frames(&out);
    assert_eq!(s(&f[0], &["header", "stage"]), "enrich");
    assert_eq!(s(&f[1], &["stats", "stage"]), "capture");
    assert_eq!(f[1]["stats"]["counters"][0]["value"], 42);
    let last = f.last().unwrap();
    assert_eq!(s(last, &["stats", "stage"]), "enrich");
    let counters = last["stats"]["counters"].as_array().unwrap();
    let get = |n: &str| {
        counters
            .iter()
            .find(|c| c["name"] == n)
            .map(|c| c["value"].as_u64().unwrap())
    };
    assert_eq!(get("events_in"), Some(2));
    assert_eq!(get("events_out"), Some(2));
    assert_eq!(get("threads"), Some(2));
    assert_eq!(get("stats_forwarded"), Some(1));
}

#[test]
fn an_ancestor_that_changes_shows_on_its_descendants_next_events() {
    let mut st = Stream::new();
    family(&mut st);
    st.snap(&Snap::new(200, 100, "make"));
    st.ev(Kind::Close, 200, 200, 0, &[P::Int(3)]);
    // bash renames itself; then exits: make's ancestors follow both.
    st.ev(
        Kind::Prctl,
        100,
        100,
        0,
        &[P::Uint(15), b("renamed"), P::Int(0)],
    );
    st.ev(Kind::Close, 200, 200, 0, &[P::Int(3)]);
    st.ev(Kind::ProcExit, 100, 100, 0, &[P::Int(0), P::Uint(0)]);
    st.ev(Kind::Close, 200, 200, 0, &[P::Int(3)]);
    // And its own stdio follows dup2.
    st.ev(
        Kind::Openat,
        200,
        200,
        3,
        &[
            P::Int(AT_FDCWD),
            b("/tmp/log"),
            P::Uint(0),
            P::Uint(0),
            P::Uint(0),
            P::Uint(0),
        ],
    );
    st.ev(Kind::Dup2, 200, 200, 1, &[P::Int(3), P::Int(1)]);
    let ev = run(st.bytes());
    let names = |e: &serde_json::Value| -> Vec<String> {
        e["thread"]["ancestors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| s(a, &["name"]))
            .collect()
    };
    assert_eq!(names(&ev[3]), ["bash", "systemd"]);
    assert_eq!(names(&ev[5]), ["renamed", "systemd"]);
    assert_eq!(names(&ev[7]), Vec::<String>::new(), "the parent is gone");
    assert_eq!(
        s(&ev[8], &["thread", "stdioTypes"]),
        r#"["unknown","unknown","unknown"]"#
    );
    assert_eq!(
        s(&ev[9], &["thread", "stdioTypes"]),
        r#"["unknown","file","unknown"]"#
    );
}

#[test]
fn forward_writes_only_the_listed_kinds_and_the_rest_still_updates_the_tables() {
    let mut st = Stream::new();
    family(&mut st);
    let open = |st: &mut Stream, path: &str| {
        st.ev(
            Kind::Openat,
            100,
            100,
            3,
            &[
                P::Int(AT_FDCWD),
                b(path),
                P::Uint(O_RDONLY),
                P::Uint(0),
                P::Uint(0),
                P::Uint(0),
            ],
        );
    };
    open(&mut st, "/etc/first");
    st.ev(Kind::Close, 100, 100, 0, &[P::Int(3)]);
    // Not written, but it moves the cwd the next relative open resolves in.
    st.ev(Kind::Chdir, 100, 100, 0, &[b("/srv")]);
    open(&mut st, "data.txt");
    st.ev(Kind::Dup2, 100, 100, 7, &[P::Int(3), P::Int(7)]);
    let (code, out, err) = run_bin(&st.bytes(), &["--forward", "openat"]);
    assert_eq!(code, 0, "{err}");
    let ev = events(&out);
    let kinds: Vec<String> = ev.iter().map(|e| s(e, &["kind"])).collect();
    assert_eq!(
        kinds,
        ["procSnapshot", "procSnapshot", "openat", "openat"],
        "snapshots always, then only openat"
    );
    assert_eq!(s(&ev[3], &["fd", "name"]), "/srv/data.txt");
    let last = frames(&out)
        .into_iter()
        .rev()
        .find(|f| f.get("stats").is_some())
        .expect("a stats frame");
    let counter = |name: &str| {
        last["stats"]["counters"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["name"] == name))
            .map(|c| c["value"].to_string())
            .unwrap_or_default()
    };
    assert_eq!(counter("events_not_forwarded"), "3");

    let (code, _, err) = run_bin(&st.bytes(), &["--forward", "openat,opnat"]);
    assert_eq!(code, 1);
    assert!(err.contains("opnat"), "{err}");
}
