//! Tests of the registry: resolution of names and arguments, and each class
//! of fields read from a built event.

use super::sample::{self, Addr, Ancestor, Container, Event, Fd, Mount, Param, Thread};
use super::*;
use schema::kestrel_capnp::{FdType, L4Proto};
use schema::Kind;

/// The field rendered from `ev`, which must read the same whether the
/// event carries its thread, user, container... itself or refers to a
/// `state` frame holding them (as enrich sends it).
fn render(ev: &Event, name: &str, arg: Option<&str>) -> String {
    let f = lookup(name, arg).unwrap_or_else(|e| panic!("{name}: {e}"));
    let read = |v: &EventView<'_>| {
        let mut out = String::new();
        f.render(v, &mut out);
        out
    };
    let inline = sample::with_view(ev, 7, read);
    let by_ref = sample::with_state_view(ev, 7, read);
    // The thread ids are the state's, not the sample's, by construction.
    if !matches!(name, "thread.tid" | "proc.tid") {
        assert_eq!(inline, by_ref, "{name} inline vs by reference");
    }
    inline
}

fn r(ev: &Event, name: &str) -> String {
    match name.split_once('[') {
        Some((n, a)) => render(ev, n, Some(a.trim_end_matches(']'))),
        None => render(ev, name, None),
    }
}

fn thread() -> Thread {
    Thread {
        tid: 101,
        pid: 100,
        vpid: 7,
        vpgid: 7,
        sid: 1,
        name: "cat".into(),
        exe: "/bin/cat".into(),
        exepath: "/usr/bin/cat".into(),
        args: vec!["-n".into(), "/etc/shadow".into()],
        env: vec!["HOME=/root".into(), "TERM=xterm".into()],
        cwd: "/root".into(),
        tty: 34816,
        euid: 0,
        loginuid: u32::MAX,
        cap_effective: (1 << 21) | (1 << 16),
        start_ts: 1_000,
        parent_start_ts: 500,
        exe_ctime: 400,
        sname: "bash".into(),
        ancestors: vec![
            Ancestor {
                pid: 90,
                name: "bash".into(),
                exe: "-bash".into(),
                exepath: "/usr/bin/bash".into(),
                args: vec!["-l".into()],
            },
            Ancestor {
                pid: 80,
                name: "sshd".into(),
                exe: "sshd".into(),
                exepath: "/usr/sbin/sshd".into(),
                args: vec![],
            },
        ],
        stdio: vec![FdType::Unix, FdType::Pipe, FdType::File],
        ..Thread::default()
    }
}

fn open_event() -> Event {
    Event {
        kind: Kind::Openat,
        ts: 6_000,
        ret: 3,
        params: vec![
            Param::Int(-100),
            Param::Bytes(b"/etc/shadow".to_vec()),
            Param::Uint(0o2000000),
            Param::Uint(0),
            Param::Uint(2049),
            Param::Uint(42),
        ],
        thread: Some(thread()),
        fd: Some(Fd {
            num: 3,
            name: "/etc/shadow".into(),
            name_raw: "../../etc/shadow".into(),
            name_changed: true,
            ..Fd::default()
        }),
        user: Some((0, "root".into())),
        login_user: None,
        group: Some((0, "root".into())),
        container: Some(Container {
            id: "host".into(),
            name: "host".into(),
            ..Container::default()
        }),
        k8s: None,
    }
}

#[test]
fn names_resolve_with_their_arguments() {
    assert!(lookup("proc.name", None).is_ok());
    assert_eq!(
        lookup("proc.aname", Some("2")).map(|f| f.arg),
        Ok(FieldArg::Index(2))
    );
    assert_eq!(
        lookup("evt.arg.flags", None).map(|f| (f.def.name, f.arg)),
        Ok(("evt.arg", FieldArg::Key("flags".into())))
    );
    assert_eq!(
        lookup("evt.arg", Some("0")).map(|f| f.arg),
        Ok(FieldArg::Index(0))
    );
    assert_eq!(
        lookup("proc.nope", None),
        Err(FieldError::Unknown("proc.nope".into()))
    );
    assert_eq!(
        lookup("proc.name", Some("1")),
        Err(FieldError::ArgNotAllowed("proc.name".into()))
    );
    assert_eq!(
        lookup("container.label", None),
        Err(FieldError::ArgRequired("container.label".into()))
    );
    assert!(matches!(
        lookup("proc.aname", Some("x")),
        Err(FieldError::BadIndex { .. })
    ));
    assert_eq!(
        lookup("ka.verb", None),
        Err(FieldError::OtherSource("ka.verb".into()))
    );
    assert_eq!(source_of("jevt.value"), Some("k8s_audit"));
    assert_eq!(source_of("fd.name"), Some("syscall"));
}

#[test]
fn registry_names_are_unique_and_described() {
    let mut names: Vec<_> = FIELDS.iter().map(|f| f.name).collect();
    names.sort();
    let n = names.len();
    names.dedup();
    assert_eq!(names.len(), n, "duplicate field names");
    for f in FIELDS {
        assert!(
            f.desc.ends_with('.'),
            "{} needs a one-sentence description",
            f.name
        );
    }
}

/// Every field the compat rules name (conditions and outputs) resolves.
#[test]
fn compat_rule_fields_all_exist() {
    for name in [
        "container.id",
        "container.image.repository",
        "container.privileged",
        "container.start_ts",
        "evt.arg.domain",
        "evt.arg.flags",
        "evt.arg.oldpath",
        "evt.arg.newpath",
        "evt.arg.target",
        "evt.arg.linkpath",
        "evt.arg.request",
        "evt.args",
        "evt.is_open_read",
        "evt.is_open_write",
        "evt.num",
        "evt.rawres",
        "evt.res",
        "evt.type",
        "fd.connected",
        "fd.directory",
        "fd.filename",
        "fd.ip",
        "fd.l4proto",
        "fd.lport",
        "fd.name",
        "fd.name_changed",
        "fd.nameraw",
        "fd.net",
        "fd.num",
        "fd.rport",
        "fd.sip",
        "fd.sip.name",
        "fd.snet",
        "fd.sport",
        "fd.type",
        "fd.typechar",
        "group.gid",
        "group.name",
        "k8s.ns.name",
        "proc.aexepath[2]",
        "proc.aname",
        "proc.aname[7]",
        "proc.args",
        "proc.cmdline",
        "proc.cwd",
        "proc.duration",
        "proc.exe",
        "proc.exe_ino.ctime",
        "proc.exe_ino.ctime_duration_proc_start",
        "proc.exe_ino.mtime",
        "proc.exepath",
        "proc.is_exe_from_memfd",
        "proc.is_exe_upper_layer",
        "proc.is_vpgid_leader",
        "proc.name",
        "proc.pcmdline",
        "proc.pexe",
        "proc.pexepath",
        "proc.pname",
        "proc.ppid.duration",
        "proc.sname",
        "proc.tty",
        "proc.vpgid.exe",
        "proc.vpgid.name",
        "thread.cap_effective",
        "user.loginname",
        "user.loginuid",
        "user.name",
        "user.uid",
    ] {
        let (n, a) = match name.split_once('[') {
            Some((n, a)) => (n, Some(a.trim_end_matches(']'))),
            None => (name, None),
        };
        assert!(lookup(n, a).is_ok(), "{name} is not in the registry");
    }
}

#[test]
fn evt_fields() {
    let ev = open_event();
    assert_eq!(r(&ev, "evt.type"), "openat");
    assert_eq!(r(&ev, "evt.dir"), "<");
    assert_eq!(r(&ev, "evt.num"), "7");
    assert_eq!(r(&ev, "evt.res"), "SUCCESS");
    assert_eq!(r(&ev, "evt.rawres"), "3");
    assert_eq!(r(&ev, "evt.category"), "file");
    assert_eq!(r(&ev, "evt.arg.flags"), "O_RDONLY|O_CLOEXEC");
    assert_eq!(r(&ev, "evt.arg[1]"), "/etc/shadow");
    assert_eq!(r(&ev, "evt.rawarg.flags"), "524288");
    assert_eq!(r(&ev, "evt.arg.nope"), "<NA>");
    assert_eq!(r(&ev, "evt.is_open_read"), "true");
    assert_eq!(r(&ev, "evt.is_open_write"), "false");
    assert_eq!(r(&ev, "evt.hostname"), "test-host");
    assert!(r(&ev, "evt.args")
        .starts_with("res=3 dirfd=-100 name=/etc/shadow flags=O_RDONLY|O_CLOEXEC"));
    let mut failed = ev.clone();
    failed.ret = -2;
    assert_eq!(r(&failed, "evt.res"), "ENOENT");
    assert_eq!(r(&failed, "evt.failed"), "true");
    let mut w = ev.clone();
    w.params[2] = Param::Uint(2 | 0o100);
    assert_eq!(r(&w, "evt.is_open_write"), "true");
    assert_eq!(r(&w, "evt.is_open_read"), "true");
    let ptrace = Event {
        kind: Kind::Ptrace,
        params: vec![Param::Uint(16), Param::Int(55)],
        ..Event::default()
    };
    assert_eq!(r(&ptrace, "evt.arg.request"), "PTRACE_ATTACH");
    assert_eq!(r(&ptrace, "evt.is_open_read"), "false");
    let mut t = ev.clone();
    t.ts = 1_700_000_000_123_456_789;
    assert_eq!(r(&t, "evt.time"), "22:13:20.123456789");
    assert_eq!(r(&t, "evt.datetime"), "2023-11-14 22:13:20.123456789");
}

#[test]
fn proc_and_thread_fields() {
    let ev = open_event();
    assert_eq!(r(&ev, "proc.name"), "cat");
    assert_eq!(r(&ev, "proc.exe"), "/bin/cat");
    assert_eq!(r(&ev, "proc.exepath"), "/usr/bin/cat");
    assert_eq!(r(&ev, "proc.args"), "-n /etc/shadow");
    assert_eq!(r(&ev, "proc.cmdline"), "cat -n /etc/shadow");
    assert_eq!(r(&ev, "proc.pname"), "bash");
    assert_eq!(r(&ev, "proc.pexe"), "-bash");
    assert_eq!(r(&ev, "proc.pexepath"), "/usr/bin/bash");
    assert_eq!(r(&ev, "proc.pcmdline"), "bash -l");
    assert_eq!(r(&ev, "proc.aname[0]"), "cat");
    assert_eq!(r(&ev, "proc.aname[1]"), "bash");
    assert_eq!(r(&ev, "proc.aname[2]"), "sshd");
    assert_eq!(r(&ev, "proc.aname[3]"), "<NA>");
    assert_eq!(r(&ev, "proc.aname"), "bash,sshd");
    assert_eq!(r(&ev, "proc.aexepath[2]"), "/usr/sbin/sshd");
    assert_eq!(r(&ev, "proc.apid[1]"), "90");
    assert_eq!(r(&ev, "proc.duration"), "5000");
    assert_eq!(r(&ev, "proc.ppid.duration"), "5500");
    assert_eq!(r(&ev, "proc.exe_ino.ctime_duration_proc_start"), "600");
    assert_eq!(r(&ev, "proc.exe_ino.mtime"), "<NA>");
    assert_eq!(r(&ev, "proc.tty"), "34816");
    assert_eq!(r(&ev, "proc.sname"), "bash");
    assert_eq!(r(&ev, "proc.is_vpgid_leader"), "true");
    assert_eq!(r(&ev, "proc.env[HOME]"), "/root");
    assert_eq!(r(&ev, "proc.env[NOPE]"), "<NA>");
    assert_eq!(
        r(&ev, "thread.cap_effective"),
        "CAP_SYS_MODULE CAP_SYS_ADMIN"
    );
    assert_eq!(r(&ev, "thread.ismain"), "false");
    let mut orphan = ev.clone();
    if let Some(t) = orphan.thread.as_mut() {
        t.ancestors.clear();
    }
    assert_eq!(r(&orphan, "proc.pname"), "<NA>");
    assert_eq!(r(&orphan, "proc.aname"), "<NA>");
    let bare = Event::default();
    assert_eq!(r(&bare, "proc.name"), "<NA>");
    assert_eq!(r(&bare, "proc.cmdline"), "<NA>");
}

#[test]
fn user_group_fields() {
    let mut ev = open_event();
    ev.login_user = Some((1000, "alice".into()));
    assert_eq!(r(&ev, "user.uid"), "0");
    assert_eq!(r(&ev, "user.name"), "root");
    assert_eq!(r(&ev, "user.loginuid"), "-1");
    assert_eq!(r(&ev, "user.loginname"), "alice");
    assert_eq!(r(&ev, "group.gid"), "0");
    assert_eq!(r(&ev, "group.name"), "root");
}

/// `fd.types` and `fd.types[1]` of `ev` with `own` set as the event's
/// stdio types, beside those of its thread.
fn stdio_over_thread(ev: &Event, own: [FdType; 3]) -> (String, String) {
    let mut msg = ev.to_message();
    let root = msg
        .get_root::<schema::frame::Builder>()
        .expect("a frame root");
    let Ok(schema::frame::Which::Event(Ok(e))) = root.which() else {
        panic!("a message built here holds an event")
    };
    let mut l = e.init_stdio_types(3);
    for (i, ty) in own.into_iter().enumerate() {
        l.set(i as u32, ty);
    }
    let reader = msg
        .get_root_as_reader::<schema::frame::Reader>()
        .expect("a frame root");
    let Ok(schema::frame::Which::Event(Ok(e))) = reader.which() else {
        panic!("a message built here holds an event")
    };
    let view = EventView::new(e, 7, "test-host");
    let read = |arg: Option<&str>| {
        let mut out = String::new();
        lookup("fd.types", arg)
            .unwrap_or_else(|e| panic!("fd.types: {e}"))
            .render(&view, &mut out);
        out
    };
    (read(None), read(Some("1")))
}

#[test]
fn fd_types_reads_the_events_own_over_its_threads() {
    let ev = open_event();
    assert_eq!(r(&ev, "fd.types[1]"), "pipe", "the thread's");
    let own = [FdType::Unix, FdType::Ipv4, FdType::File];
    let (all, one) = stdio_over_thread(&ev, own);
    assert_eq!((all.as_str(), one.as_str()), ("unix,ipv4,file", "ipv4"));
}

#[test]
fn fd_file_fields() {
    let ev = open_event();
    assert_eq!(r(&ev, "fd.num"), "3");
    assert_eq!(r(&ev, "fd.type"), "file");
    assert_eq!(r(&ev, "fd.typechar"), "f");
    assert_eq!(r(&ev, "fd.name"), "/etc/shadow");
    assert_eq!(r(&ev, "fd.nameraw"), "../../etc/shadow");
    assert_eq!(r(&ev, "fd.directory"), "/etc");
    assert_eq!(r(&ev, "fd.filename"), "shadow");
    assert_eq!(r(&ev, "fd.name_changed"), "true");
    assert_eq!(r(&ev, "fd.sip"), "<NA>");
    assert_eq!(r(&ev, "fd.types"), "unix,pipe,file");
    assert_eq!(r(&ev, "fd.types[1]"), "pipe");
    assert_eq!(r(&ev, "fd.containername"), "host:/etc/shadow");
    assert_eq!(r(&ev, "fs.path.name"), "/etc/shadow");
    let mut root = ev.clone();
    if let Some(f) = root.fd.as_mut() {
        f.name = "/x".into();
    }
    assert_eq!(r(&root, "fd.directory"), "/");
    let link = Event {
        kind: Kind::Symlinkat,
        params: vec![
            Param::Bytes(b"/etc/shadow".to_vec()),
            Param::Int(-100),
            Param::Bytes(b"/tmp/l".to_vec()),
        ],
        ..Event::default()
    };
    assert_eq!(r(&link, "fs.path.source"), "/etc/shadow");
    assert_eq!(r(&link, "fs.path.target"), "/tmp/l");
    assert_eq!(r(&link, "fs.path.name"), "<NA>");
    assert_eq!(r(&link, "evt.arg.target"), "/etc/shadow");
}

#[test]
fn fd_socket_fields() {
    let ev = Event {
        kind: Kind::Connect,
        params: vec![Param::Int(4), Param::Addr(Addr::v4([1, 2, 3, 4], 443))],
        fd: Some(Fd {
            num: 4,
            ty: FdType::Ipv4,
            name: "10.0.0.2:40000->1.2.3.4:443".into(),
            l4proto: L4Proto::Tcp,
            local: Addr::v4([10, 0, 0, 2], 40000),
            remote: Addr::v4([1, 2, 3, 4], 443),
            connected: true,
            ..Fd::default()
        }),
        ..Event::default()
    };
    assert_eq!(r(&ev, "fd.typechar"), "4");
    assert_eq!(r(&ev, "fd.l4proto"), "tcp");
    assert_eq!(r(&ev, "fd.sip"), "1.2.3.4");
    assert_eq!(r(&ev, "fd.cip"), "10.0.0.2");
    assert_eq!(r(&ev, "fd.lip"), "10.0.0.2");
    assert_eq!(r(&ev, "fd.rport"), "443");
    assert_eq!(r(&ev, "fd.sport"), "443");
    assert_eq!(r(&ev, "fd.cport"), "40000");
    assert_eq!(r(&ev, "fd.ip"), "10.0.0.2,1.2.3.4");
    assert_eq!(r(&ev, "fd.sockfamily"), "ip");
    assert_eq!(r(&ev, "fd.sip.name"), "<NA>");
    assert_eq!(r(&ev, "fd.directory"), "<NA>");
    assert_eq!(r(&ev, "evt.arg.addr"), "1.2.3.4:443");
    let mut server = ev.clone();
    if let Some(f) = server.fd.as_mut() {
        f.is_server = true;
    }
    assert_eq!(r(&server, "fd.sip"), "10.0.0.2");
    assert_eq!(r(&server, "fd.sport"), "40000");
    assert_eq!(r(&server, "fd.lport"), "40000");
}

/// The open event in a privileged nginx container of a pod.
fn container_event() -> Event {
    let mut ev = open_event();
    ev.container = Some(Container {
        id: "0123456789ab".into(),
        name: "web".into(),
        image_repository: "docker.io/library/nginx".into(),
        image_tag: "1.27".into(),
        privileged: true,
        start_ts: 2_000,
        mounts: vec![Mount {
            source: "/var/data".into(),
            dest: "/data".into(),
            rw: true,
        }],
        labels: vec![("app".into(), "web".into())],
    });
    ev.k8s = Some(("prod".into(), "web-0".into()));
    ev
}

#[test]
fn container_and_k8s_fields() {
    let ev = container_event();
    assert_eq!(r(&ev, "container.id"), "0123456789ab");
    assert_eq!(
        r(&ev, "container.image.repository"),
        "docker.io/library/nginx"
    );
    assert_eq!(r(&ev, "container.privileged"), "true");
    assert_eq!(r(&ev, "container.start_ts"), "2000");
    assert_eq!(r(&ev, "container.duration"), "4000");
    assert_eq!(r(&ev, "container.mount.dest[/var/data]"), "/data");
    assert_eq!(r(&ev, "container.mount.source[/data]"), "/var/data");
    assert_eq!(r(&ev, "container.mount.rdwr[0]"), "true");
    assert_eq!(r(&ev, "container.mount[0]"), "/var/data:/data::true:");
    assert_eq!(r(&ev, "container.label[app]"), "web");
    assert_eq!(r(&ev, "container.labels"), "app:web");
    assert_eq!(r(&ev, "k8s.ns.name"), "prod");
    assert_eq!(r(&ev, "k8s.pod.name"), "web-0");
    assert_eq!(r(&open_event(), "k8s.ns.name"), "<NA>");
}

/// What `state_only` promises: a field so marked reads the same for every
/// event naming the same state, whatever the event's own kind, time,
/// return value, parameters and fd. (The engine keeps such test results
/// per state, so a field wrongly marked would give stale answers.)
#[test]
fn state_only_fields_ignore_everything_but_the_state() {
    let mut rich = container_event();
    rich.login_user = Some((1000, "alice".into()));
    let mut other = rich.clone();
    other.kind = Kind::Connect;
    other.ts = 99_000;
    other.ret = -13;
    other.params = vec![Param::Int(5), Param::Bytes(b"/tmp/x".to_vec())];
    other.fd = Some(Fd {
        num: 9,
        name: "/tmp/x".into(),
        ..Fd::default()
    });
    let read = |ev: &Event, f: &Field| {
        sample::with_state_view(ev, 7, |v| {
            let mut out = String::new();
            f.render(v, &mut out);
            out
        })
    };
    let mut checked = 0;
    for def in FIELDS {
        let args: &[Option<&str>] = match def.arg {
            ArgKind::None => &[None],
            ArgKind::OptIndex => &[None, Some("0"), Some("1"), Some("2")],
            ArgKind::OptKey => &[None, Some("HOME")],
            ArgKind::Key => &[Some("app")],
            ArgKind::IndexOrKey => &[Some("0"), Some("/data"), Some("/var/data")],
        };
        for &arg in args {
            let f = lookup(def.name, arg).unwrap_or_else(|e| panic!("{}: {e}", def.name));
            let (a, b) = (read(&rich, &f), read(&other, &f));
            if def.state_only() {
                assert_eq!(a, b, "{} ({arg:?}) is marked state-only", def.name);
                checked += 1;
            }
        }
    }
    assert!(checked > 60, "only {checked} state-only fields checked");
    // The check has teeth: fields that read the event's time differ.
    for name in ["proc.duration", "container.duration"] {
        let f = lookup(name, None).unwrap();
        assert!(!f.state_only(), "{name}");
        assert_ne!(read(&rich, &f), read(&other, &f), "{name}");
    }
}

/// The pod fields a CRI runtime fills (schema minor 2): pod IP, sandbox id
/// and the host namespaces, read from an event carrying them.
#[test]
fn cri_pod_fields() {
    let mut msg = container_event().to_message();
    {
        let root = msg
            .get_root::<schema::kestrel_capnp::frame::Builder>()
            .unwrap();
        let schema::kestrel_capnp::frame::Which::Event(Ok(mut ev)) = root.which().unwrap() else {
            unreachable!("a sample message holds an event")
        };
        let mut k = ev.reborrow().get_k8s().unwrap();
        k.set_pod_ip("10.1.2.3");
        k.set_sandbox_id("e867542cacee7a7cf70304f159d2ee5fb3f8fe43cd0c6249609a13b37d272864");
        let mut c = ev.get_container().unwrap();
        c.set_ip("10.1.2.3");
        c.set_host_network(true);
    }
    let read = |name: &str| {
        let f = lookup(name, None).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut out = String::new();
        f.render(
            &EventView::new(sample::event_of(&msg), 7, "test-host"),
            &mut out,
        );
        out
    };
    assert_eq!(read("k8s.pod.ip"), "10.1.2.3");
    assert_eq!(read("container.ip"), "10.1.2.3");
    assert_eq!(read("k8s.pod.sandbox_id"), "e867542cacee");
    assert_eq!(
        read("k8s.pod.full_sandbox_id"),
        "e867542cacee7a7cf70304f159d2ee5fb3f8fe43cd0c6249609a13b37d272864"
    );
    assert_eq!(read("container.host_network"), "true");
    assert_eq!(read("container.host_pid"), "false");
    assert_eq!(r(&open_event(), "k8s.pod.sandbox_id"), "<NA>");
}
