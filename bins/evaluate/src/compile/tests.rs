//! Tests of the checker and compiler: semantics on built events, errors with
//! their spans, macro and list inlining, and event-type indexing.

use std::collections::HashMap;

use super::*;
use crate::fields::sample::{self, Addr, Ancestor, Event, Fd, Param, Thread};
use crate::lang::ast::Expr;
use crate::lang::parse;
use schema::kestrel_capnp::{FdType, L4Proto};
use schema::Kind;

#[derive(Default)]
struct Defs {
    macros: HashMap<String, Expr>,
    lists: HashMap<String, Vec<String>>,
}

impl Names for Defs {
    fn macro_condition(&self, name: &str) -> Option<&Expr> {
        self.macros.get(name)
    }
    fn list_items(&self, name: &str) -> Option<&[String]> {
        self.lists.get(name).map(Vec::as_slice)
    }
}

fn defs() -> Defs {
    let mut d = Defs::default();
    let m = |s: &str| parse(s).unwrap();
    d.macros.insert(
        "spawned_process".into(),
        m("evt.type in (execve, execveat)"),
    );
    d.macros
        .insert("shell_procs".into(), m("proc.name in (shell_binaries)"));
    d.macros
        .insert("loop_a".into(), m("loop_b and proc.name=x"));
    d.macros
        .insert("loop_b".into(), m("proc.pid > 1 and loop_a"));
    d.macros.insert("bad".into(), m("proc.nope = 1"));
    let l = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    d.lists
        .insert("shell_binaries".into(), l(&["bash", "sh", "zsh"]));
    d.lists.insert(
        "more_shells".into(),
        l(&["shell_binaries", "fish", "\"(systemd)\"", "\"quoted\""]),
    );
    d.lists
        .insert("nets".into(), l(&["\"10.0.0.0/8\"", "\"192.168.0.0/16\""]));
    d.lists.insert("self_ref".into(), l(&["self_ref"]));
    d
}

fn cond(src: &str) -> Result<Condition, CompileError> {
    compile(
        &parse(src).map_err(|e| CompileError {
            message: e.message,
            span: e.span,
            macros: vec![],
        })?,
        &defs(),
    )
}

fn holds(src: &str, ev: &Event) -> bool {
    let c = cond(src).unwrap_or_else(|e| panic!("{src}: {e}"));
    sample::with_view(ev, 1, |v| crate::eval::matches(&c, v))
}

fn exec_event() -> Event {
    Event {
        kind: Kind::Execve,
        ts: 10_000_000_000,
        params: vec![Param::Bytes(b"/bin/bash".to_vec())],
        thread: Some(Thread {
            pid: 10,
            name: "bash".into(),
            exe: "bash".into(),
            exepath: "/usr/bin/bash".into(),
            args: vec!["-c".into(), "cat /etc/shadow".into()],
            start_ts: 9_000_000_000,
            cap_effective: 1 << 21,
            ancestors: vec![
                Ancestor {
                    pid: 9,
                    name: "nginx".into(),
                    ..Ancestor::default()
                },
                Ancestor {
                    pid: 1,
                    name: "systemd".into(),
                    ..Ancestor::default()
                },
            ],
            stdio: vec![FdType::Ipv4, FdType::Ipv4, FdType::File],
            ..Thread::default()
        }),
        user: Some((0, "root".into())),
        ..Event::default()
    }
}

fn connect_event(ip: [u8; 4], port: u16) -> Event {
    Event {
        kind: Kind::Connect,
        ret: 0,
        fd: Some(Fd {
            num: 3,
            ty: FdType::Ipv4,
            l4proto: L4Proto::Tcp,
            local: Addr::v4([172, 17, 0, 2], 40000),
            remote: Addr::v4(ip, port),
            ..Fd::default()
        }),
        ..Event::default()
    }
}

#[test]
fn string_operators() {
    let ev = exec_event();
    assert!(holds("proc.name = bash", &ev));
    assert!(holds("proc.name == bash", &ev));
    assert!(!holds("proc.name != bash", &ev));
    assert!(holds("proc.cmdline contains shadow", &ev));
    assert!(holds("proc.cmdline icontains SHADOW", &ev));
    assert!(holds("proc.cmdline startswith \"bash -c\"", &ev));
    assert!(holds("proc.exepath endswith /bash", &ev));
    assert!(holds("proc.exepath glob '/usr/*/ba?h'", &ev));
    assert!(holds("proc.exepath iglob '/USR/*'", &ev));
    assert!(holds("proc.exepath regex '/usr/bin/[a-z]+'", &ev));
    assert!(!holds("proc.exepath regex 'bin'", &ev));
    assert!(holds("proc.exepath pmatch (/usr/bin, /opt)", &ev));
    assert!(!holds("proc.exepath pmatch (/usr/bi)", &ev));
    assert!(holds("proc.name bcontains 6173", &ev));
    assert!(holds("proc.name bstartswith 6261", &ev));
    assert!(holds("proc.name in (sh, bash)", &ev));
    assert!(!holds("proc.name in ()", &ev));
    assert!(holds("not proc.name in ()", &ev));
}

#[test]
fn list_operands_compile_to_sets_and_automata() {
    let ev = exec_event();
    assert!(holds("proc.cmdline contains anyof (nothing, shadow)", &ev));
    assert!(!holds("proc.cmdline contains allof (nothing, shadow)", &ev));
    assert!(holds("proc.cmdline contains allof (cat, shadow)", &ev));
    assert!(holds("proc.cmdline contains oneof (cat, nothing)", &ev));
    assert!(!holds("proc.cmdline contains oneof (cat, shadow)", &ev));
    assert!(holds("proc.exepath startswith anyof (/opt, /usr/)", &ev));
    assert!(holds("proc.exepath endswith anyof (zsh, /bash)", &ev));
    assert!(holds("proc.cmdline icontains anyof (SHADOW, x)", &ev));
    assert!(holds("proc.exepath glob anyof ('/opt/*', '/usr/*')", &ev));
    let big: Vec<String> = (0..1000).map(|i| format!("name{i}")).collect();
    assert!(holds(
        &format!("proc.name in ({}, bash)", big.join(", ")),
        &ev
    ));
    assert!(!holds(&format!("proc.name in ({})", big.join(", ")), &ev));
    let c = cond(&format!("proc.name in ({})", big.join(", "))).unwrap();
    assert!(
        matches!(c.node, Node::Test(ref t) if matches!(t.pred, node::Pred::Str(matcher::StrMatcher::In(_))))
    );
}

#[test]
fn macros_and_lists_inline() {
    let ev = exec_event();
    assert!(holds("spawned_process and shell_procs", &ev));
    assert!(holds("proc.name in (more_shells)", &ev));
    assert!(holds("proc.name in (fish, shell_binaries)", &ev));
    let mut sd = ev.clone();
    sd.thread.as_mut().unwrap().name = "(systemd)".into();
    assert!(holds("proc.name in (more_shells)", &sd));
    sd.thread.as_mut().unwrap().name = "quoted".into();
    assert!(holds("proc.name in (more_shells)", &sd));
    let c = cond("spawned_process and proc.name in (more_shells)").unwrap();
    assert_eq!(c.used_macros, vec!["spawned_process"]);
    assert_eq!(c.used_lists, vec!["more_shells", "shell_binaries"]);
}

#[test]
fn numeric_bool_and_shapes() {
    let ev = exec_event();
    assert!(holds("proc.duration <= 5000000000", &ev));
    assert!(holds("proc.duration = 1000000000", &ev));
    assert!(holds(
        "proc.pid > 9 and proc.pid < 11 and proc.pid >= 10 and proc.pid <= 10",
        &ev
    ));
    assert!(holds("proc.pid in (1, 10)", &ev));
    assert!(holds("proc.pid != 11", &ev));
    assert!(holds("evt.rawres = 0 and evt.rawres in (0, 1, 2)", &ev));
    assert!(holds("proc.is_exe_upper_layer = false", &ev));
    // proc.aname without an index: any ancestor.
    assert!(holds("proc.aname = systemd", &ev));
    assert!(holds("proc.aname in (nginx, httpd)", &ev));
    assert!(!holds("proc.aname = bash", &ev));
    assert!(holds("proc.aname[1] = nginx and proc.aname[0] = bash", &ev));
    // fd.types is a list: `in` wants every item, `intersects` any.
    assert!(holds("fd.types intersects (file)", &ev));
    assert!(!holds("fd.types in (file)", &ev));
    assert!(holds("fd.types in (file, ipv4)", &ev));
    assert!(holds("thread.cap_effective contains CAP_SYS_ADMIN", &ev));
    assert!(holds("thread.cap_effective icontains sys_admin", &ev));
}

#[test]
fn absent_values_make_comparisons_false() {
    let ev = Event {
        kind: Kind::Execve,
        ..Event::default()
    };
    assert!(!holds("proc.name = bash", &ev));
    assert!(!holds("proc.name != bash", &ev));
    assert!(holds("not proc.name = bash", &ev));
    assert!(!holds("proc.pname exists", &ev));
    assert!(holds("not proc.pname exists", &ev));
    assert!(holds("evt.type exists", &ev));
}

#[test]
fn network_fields() {
    let out = connect_event([8, 8, 8, 8], 443);
    let local = connect_event([10, 1, 2, 3], 22);
    assert!(holds("fd.sip = 8.8.8.8", &out));
    assert!(holds("fd.ip != \"0.0.0.0\"", &out));
    assert!(holds("fd.net != \"127.0.0.0/8\"", &out));
    assert!(holds("not fd.snet in (nets)", &out));
    assert!(holds("fd.snet in (nets)", &local));
    assert!(holds("fd.net = 172.16.0.0/12", &out));
    assert!(holds("fd.sport in (443, 8443) and fd.l4proto = tcp", &out));
    assert!(holds("fd.port = 40000", &out));
    assert!(!holds("fd.port != 40000", &out));
    assert!(holds("fd.typechar = 4", &out));
    assert!(!holds("fd.sip.name = example.com", &out));
}

#[test]
fn transformers_and_field_operands() {
    let ev = exec_event();
    assert!(holds("toupper(proc.name) = BASH", &ev));
    assert!(holds("basename(proc.exepath) = bash", &ev));
    assert!(holds("len(proc.name) = 4", &ev));
    assert!(holds("tolower(basename(proc.exepath)) = bash", &ev));
    assert!(holds("proc.name = val(proc.exe)", &ev));
    assert!(holds("proc.exepath endswith val(proc.name)", &ev));
    assert!(!holds("proc.name != val(proc.exe)", &ev));
    assert!(holds("proc.pid > val(proc.ppid)", &ev));
}

#[test]
fn event_types_index_rules() {
    let c = cond("spawned_process and proc.name = bash").unwrap();
    assert_eq!(c.kinds.names(), vec!["execve", "execveat"]);
    let c = cond("evt.type != open and proc.name = bash").unwrap();
    assert_eq!(c.kinds.len(), schema::table::TABLE.len() - 1);
    let c = cond("not evt.type in (open, openat) and evt.type in (open, execve)").unwrap();
    assert_eq!(c.kinds.names(), vec!["execve"]);
    let c = cond("(evt.type = open or proc.name = x) and evt.type = connect").unwrap();
    assert_eq!(c.kinds.names(), vec!["connect"]);
    let c = cond("evt.type = no_such_syscall").unwrap();
    assert!(c.kinds.is_empty());
    assert_eq!(c.warnings.len(), 1);
    // Only candidate rules run.
    let rules = crate::eval::CompiledRuleset::new(vec![
        (7, cond("spawned_process").unwrap()),
        (8, cond("evt.type = connect").unwrap()),
        (9, cond("proc.name = bash").unwrap()),
    ]);
    let ids: Vec<usize> = sample::with_view(&exec_event(), 1, |v| rules.evaluate(v).collect());
    assert_eq!(ids, vec![7, 9]);
}

#[test]
fn errors_point_at_the_token() {
    let e = cond("proc.name = bash and proc.nope = 1").unwrap_err();
    assert_eq!(e.message, "unknown field `proc.nope`");
    assert_eq!((e.span.start, e.span.end), (21, 30));
    let e = cond("proc.pid = abc").unwrap_err();
    assert!(e.message.contains("expected a number"), "{}", e.message);
    assert_eq!(e.span.start, 11);
    let e = cond("proc.name < 3").unwrap_err();
    assert!(e.message.contains("`<`"), "{}", e.message);
    let e = cond("proc.exepath regex '('").unwrap_err();
    assert!(e.message.starts_with("invalid regex"), "{}", e.message);
    let e = cond("proc.is_exe_upper_layer = maybe").unwrap_err();
    assert!(e.message.contains("BOOL"), "{}", e.message);
    let e = cond("fd.sip = 1.2.3").unwrap_err();
    assert!(e.message.contains("IP address"), "{}", e.message);
    let e = cond("no_such_macro").unwrap_err();
    assert_eq!(e.message, "unknown macro `no_such_macro`");
    let e = cond("loop_a").unwrap_err();
    assert!(e.message.contains("uses itself"), "{}", e.message);
    assert_eq!(e.macros, vec!["loop_a", "loop_b"]);
    let e = cond("proc.name = x or bad").unwrap_err();
    assert_eq!(e.macros, vec!["bad"]);
    let e = cond("proc.name in (self_ref)").unwrap_err();
    assert!(e.message.contains("nest deeper"), "{}", e.message);
    let e = cond("proc.name contains (a, b)").unwrap_err();
    assert!(e.message.contains("modifier"), "{}", e.message);
    let e = cond("len(proc.pid) = 1").unwrap_err();
    assert!(
        e.message.contains("transformers apply to string"),
        "{}",
        e.message
    );
    let e = cond("proc.name = val(proc.pid)").unwrap_err();
    assert!(e.message.contains("cannot compare"), "{}", e.message);
    let e = cond("ka.verb = get").unwrap_err();
    assert!(e.message.contains("k8s_audit"), "{}", e.message);
    let e = cond("proc.name bcontains zz").unwrap_err();
    assert!(e.message.contains("hexadecimal"), "{}", e.message);
}

#[test]
fn or_chains_on_one_field_fold_into_one_test() {
    let c = cond("proc.exepath endswith /zsh or proc.exepath endswith /bash or proc.name = sh or proc.name = bash").unwrap();
    match &c.node {
        Node::Or(items) => {
            assert_eq!(items.len(), 2, "{:#?}", c.node);
            assert!(items.iter().all(|n| matches!(n, Node::Test(t) if matches!(t.pred, node::Pred::Str(matcher::StrMatcher::Affix(_) | matcher::StrMatcher::In(_))))));
        }
        other => panic!("expected an or of two tests, got {other:#?}"),
    }
    let ev = exec_event();
    assert!(holds(
        "proc.exepath endswith /zsh or proc.exepath endswith /bash",
        &ev
    ));
    assert!(holds(
        "proc.cmdline contains nothing or proc.cmdline contains shadow",
        &ev
    ));
    assert!(!holds(
        "proc.cmdline contains nothing or proc.cmdline contains nowhere",
        &ev
    ));
    // A negated test is not an alternative of the others.
    assert!(holds("proc.name != bash or proc.name = bash", &ev));
}

#[test]
fn a_rule_set_shares_tests_and_agrees_with_each_rule_alone() {
    let srcs = [
        "spawned_process and proc.name = bash",
        "spawned_process and proc.name = sh",
        "proc.name = bash and not proc.pname = bash",
        "evt.type = execve and proc.cmdline contains shadow",
        "not spawned_process",
    ];
    let conds: Vec<Condition> = srcs.iter().map(|s| cond(s).unwrap()).collect();
    let rules = crate::eval::CompiledRuleset::new(conds.iter().cloned().enumerate());
    for ev in [exec_event(), connect_event([8, 8, 8, 8], 443)] {
        sample::with_view(&ev, 1, |v| {
            let alone: Vec<usize> = (0..conds.len())
                .filter(|&i| crate::eval::matches(&conds[i], v))
                .collect();
            // Twice: the per-event memo must not leak between events.
            assert_eq!(rules.evaluate(v).collect::<Vec<_>>(), alone);
            assert_eq!(rules.evaluate(v).collect::<Vec<_>>(), alone);
            assert_eq!(rules.first(v), alone.first().copied());
        });
    }
}
