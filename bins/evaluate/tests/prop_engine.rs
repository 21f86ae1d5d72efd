//! Property tests: on random events and random well-typed conditions, the
//! compiled engine gives the same answer as the reference interpreter, for
//! one condition alone and for rule sets (whose per-kind programs, shared
//! tests and field groups are the fast path).

use evaluate::compile::{compile, NoNames};
use evaluate::eval::CompiledRuleset;
use evaluate::fields::sample::{self, Addr, Ancestor, Container, Event, Fd, Param, Thread};
use evaluate::fields::{EventView, Scratch};
use evaluate::lang::ast::{
    CmpOp, Compare, Expr, FieldRef, ListItem, Modifier, Operand, Span, Transformer,
};
use evaluate::reference;
use proptest::prelude::*;
use schema::kestrel_capnp::{frame, FdType, L4Proto};
use schema::state::StateTable;
use schema::Kind;

const NAMES: &[&str] = &[
    "bash",
    "sh",
    "nginx",
    "cat",
    "sshd",
    "Python3",
    "systemd",
    "runc:[1:CHILD]",
];
const PATHS: &[&str] = &[
    "/etc/shadow",
    "/etc/pam.d/su",
    "/root/.ssh/id_rsa",
    "/usr/bin/bash",
    "/tmp/x",
    "/",
    "/var/www/../../etc/passwd",
    "/dev/shm/a.sh",
];
const ARGS: &[&str] = &[
    "-c",
    "cat /etc/shadow",
    "-i",
    "/dev/shm",
    "x y",
    "AWS_SECRET_ACCESS_KEY",
];
const IPS: &[[u8; 4]] = &[
    [10, 0, 0, 1],
    [127, 0, 0, 1],
    [8, 8, 8, 8],
    [192, 168, 1, 9],
    [0, 0, 0, 0],
];
const PORTS: &[u16] = &[22, 80, 443, 4444, 40000];
const NUMS: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "22",
    "443",
    "1000",
    "5000000000",
    "0x10",
    "99999999999",
];
const IPLITS: &[&str] = &[
    "10.0.0.1",
    "8.8.8.8",
    "127.0.0.0/8",
    "10.0.0.0/8",
    "192.168.0.0/16",
    "0.0.0.0",
    "0.0.0.0/0",
];
const STRS: &[&str] = &[
    "bash",
    "sh",
    "nginx",
    "/etc",
    "/etc/",
    "/etc/shadow",
    "shadow",
    "SHADOW",
    "*",
    "/etc/*",
    "*../*../*",
    "b?sh",
    "[bc]*",
    "/root/.ssh",
    "ssh",
    "",
    "cat /",
    "-c",
    "x",
    "f",
    "4",
    "ipv4",
    "file",
    "openat",
    "execve",
    "py.*",
    "[a-z]+",
    "626173",
    "2f",
    "Python3",
    "PYTHON3",
];

fn pick<T: Clone + std::fmt::Debug + 'static>(xs: &'static [T]) -> impl Strategy<Value = T> {
    proptest::sample::select(xs)
}

fn s(x: &str) -> String {
    x.to_string()
}

fn arb_event() -> impl Strategy<Value = Event> {
    let thread = (
        pick(NAMES),
        pick(PATHS),
        proptest::collection::vec(pick(ARGS), 0..3),
        proptest::collection::vec(pick(NAMES), 0..4),
        0i32..30,
        prop_oneof![Just(0u64), 1u64..10_000_000_000],
        any::<bool>(),
        proptest::collection::vec(
            prop_oneof![Just(FdType::File), Just(FdType::Ipv4), Just(FdType::Pipe)],
            0..3,
        ),
    )
        .prop_map(|(name, exe, args, anc, pid, start, upper, stdio)| Thread {
            pid,
            tid: pid,
            name: s(name),
            exe: s(exe),
            exepath: s(exe),
            args: args.into_iter().map(s).collect(),
            ancestors: anc
                .into_iter()
                .map(|n| Ancestor {
                    name: s(n),
                    ..Ancestor::default()
                })
                .collect(),
            start_ts: start,
            exe_upper_layer: upper,
            stdio,
            ..Thread::default()
        });
    let fd = (
        pick(PATHS),
        prop_oneof![
            Just(FdType::File),
            Just(FdType::Directory),
            Just(FdType::Ipv4),
            Just(FdType::Pipe)
        ],
        -1i64..5,
        pick(IPS),
        pick(IPS),
        pick(PORTS),
        pick(PORTS),
        any::<bool>(),
    )
        .prop_map(|(name, ty, num, lip, rip, lp, rp, server)| Fd {
            num,
            ty,
            name: s(name),
            l4proto: L4Proto::Tcp,
            local: Addr::v4(lip, lp),
            remote: Addr::v4(rip, rp),
            is_server: server,
            connected: server,
            ..Fd::default()
        });
    (
        prop_oneof![
            Just(Kind::Openat),
            Just(Kind::Execve),
            Just(Kind::Connect),
            Just(Kind::Ptrace)
        ],
        prop_oneof![Just(0i64), Just(3), Just(-2), Just(-115)],
        proptest::option::of(thread),
        proptest::option::of(fd),
        proptest::option::of(pick(NAMES)),
        proptest::option::of(prop_oneof![Just("host"), Just("0123456789ab")]),
        0u64..20_000_000_000,
        0u64..32,
    )
        .prop_map(|(kind, ret, thread, fd, user, cid, ts, req)| Event {
            kind,
            ts,
            ret,
            params: match kind {
                Kind::Ptrace => vec![Param::Uint(req), Param::Int(1)],
                Kind::Openat => vec![
                    Param::Int(-100),
                    Param::Bytes(b"/etc/x".to_vec()),
                    Param::Uint(req),
                ],
                _ => vec![],
            },
            thread,
            fd,
            user: user.map(|u| (0, s(u))),
            container: cid.map(|c| Container {
                id: s(c),
                ..Container::default()
            }),
            ..Event::default()
        })
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Ty {
    Str,
    Num,
    Bool,
    Ip,
}

const FIELDS: &[(&str, Option<&str>, Ty)] = &[
    ("proc.name", None, Ty::Str),
    ("proc.exepath", None, Ty::Str),
    ("proc.cmdline", None, Ty::Str),
    ("proc.args", None, Ty::Str),
    ("proc.pname", None, Ty::Str),
    ("proc.aname", None, Ty::Str),
    ("proc.aname", Some("2"), Ty::Str),
    ("fd.name", None, Ty::Str),
    ("fd.directory", None, Ty::Str),
    ("fd.typechar", None, Ty::Str),
    ("fd.types", None, Ty::Str),
    ("evt.type", None, Ty::Str),
    ("evt.res", None, Ty::Str),
    ("evt.arg", Some("request"), Ty::Str),
    ("user.name", None, Ty::Str),
    ("container.id", None, Ty::Str),
    ("proc.pid", None, Ty::Num),
    ("proc.duration", None, Ty::Num),
    ("fd.num", None, Ty::Num),
    ("fd.sport", None, Ty::Num),
    ("fd.port", None, Ty::Num),
    ("evt.rawres", None, Ty::Num),
    ("proc.is_exe_upper_layer", None, Ty::Bool),
    ("fd.connected", None, Ty::Bool),
    ("fd.sip", None, Ty::Ip),
    ("fd.ip", None, Ty::Ip),
    ("fd.net", None, Ty::Ip),
    ("fd.snet", None, Ty::Ip),
];

fn by_type(ty: Ty) -> impl Strategy<Value = (&'static str, Option<&'static str>, Ty)> {
    let of_type: Vec<_> = FIELDS.iter().copied().filter(|f| f.2 == ty).collect();
    proptest::sample::select(of_type)
}

const STR_OPS: &[CmpOp] = &[
    CmpOp::Eq,
    CmpOp::Ne,
    CmpOp::Contains,
    CmpOp::IContains,
    CmpOp::BContains,
    CmpOp::StartsWith,
    CmpOp::BStartsWith,
    CmpOp::EndsWith,
    CmpOp::Glob,
    CmpOp::IGlob,
    CmpOp::Regex,
    CmpOp::In,
    CmpOp::Intersects,
    CmpOp::Pmatch,
];
const NUM_OPS: &[CmpOp] = &[
    CmpOp::Eq,
    CmpOp::Ne,
    CmpOp::Lt,
    CmpOp::Le,
    CmpOp::Gt,
    CmpOp::Ge,
    CmpOp::In,
];
const IP_OPS: &[CmpOp] = &[CmpOp::Eq, CmpOp::Ne, CmpOp::In];

fn field(name: &str, arg: Option<&str>, trs: Vec<Transformer>) -> FieldRef {
    FieldRef {
        name: name.into(),
        arg: arg.map(String::from),
        transformers: trs,
        span: Span::default(),
    }
}

fn value(text: &str) -> Operand {
    Operand::Value {
        text: text.into(),
        span: Span::default(),
    }
}

fn list(items: Vec<&str>) -> Operand {
    Operand::List {
        items: items
            .into_iter()
            .map(|t| ListItem::Value {
                text: t.into(),
                span: Span::default(),
            })
            .collect(),
        span: Span::default(),
    }
}

fn cmp(lhs: FieldRef, op: CmpOp, modifier: Option<Modifier>, rhs: Operand) -> Expr {
    Expr::Compare(Compare {
        lhs,
        op,
        modifier,
        rhs,
        span: Span::default(),
    })
}

/// Strings that are valid for the operator (hex for b-ops, regexes that compile).
fn str_lits(op: CmpOp) -> &'static [&'static str] {
    match op {
        CmpOp::BContains | CmpOp::BStartsWith => &["626173", "2f", "6574", "00"],
        CmpOp::Regex => &["py.*", "[a-z]+", ".*sh", "/etc/.*", "", "(?i)PYTHON3"],
        _ => STRS,
    }
}

fn arb_leaf() -> impl Strategy<Value = Expr> {
    let str_cmp = (
        by_type(Ty::Str),
        pick(STR_OPS),
        prop_oneof![
            Just(None),
            Just(Some(Modifier::AnyOf)),
            Just(Some(Modifier::AllOf)),
            Just(Some(Modifier::OneOf))
        ],
        proptest::collection::vec(0usize..64, 0..4),
        prop_oneof![
            Just(vec![]),
            Just(vec![Transformer::ToLower]),
            Just(vec![Transformer::Basename]),
            Just(vec![Transformer::ToUpper])
        ],
        any::<bool>(),
    )
        .prop_map(|((name, arg, _), op, m, idx, trs, single)| {
            let lits = str_lits(op);
            let items: Vec<&str> = idx.iter().map(|i| lits[i % lits.len()]).collect();
            let takes_list = matches!(op, CmpOp::In | CmpOp::Intersects | CmpOp::Pmatch);
            let (m, rhs) = if takes_list {
                (None, list(items))
            } else if single || items.is_empty() || m.is_none() {
                (None, value(items.first().copied().unwrap_or(lits[0])))
            } else {
                (m, list(items))
            };
            cmp(field(name, arg, trs), op, m, rhs)
        });
    let num_cmp = (
        by_type(Ty::Num),
        pick(NUM_OPS),
        proptest::collection::vec(pick(NUMS), 1..4),
    )
        .prop_map(|((name, arg, _), op, nums)| {
            let rhs = if op == CmpOp::In {
                list(nums)
            } else {
                value(nums[0])
            };
            cmp(field(name, arg, vec![]), op, None, rhs)
        });
    let len_cmp = (
        by_type(Ty::Str).prop_filter("a string, not a list", |f| f.0 != "fd.types"),
        pick(NUM_OPS),
        pick(NUMS),
    )
        .prop_map(|((name, arg, _), op, n)| {
            let rhs = if op == CmpOp::In {
                list(vec![n, "4"])
            } else {
                value(n)
            };
            cmp(field(name, arg, vec![Transformer::Len]), op, None, rhs)
        });
    let bool_cmp =
        (by_type(Ty::Bool), any::<bool>(), any::<bool>()).prop_map(|((name, _, _), ne, b)| {
            cmp(
                field(name, None, vec![]),
                if ne { CmpOp::Ne } else { CmpOp::Eq },
                None,
                value(if b { "true" } else { "false" }),
            )
        });
    let ip_cmp = (
        by_type(Ty::Ip),
        pick(IP_OPS),
        proptest::collection::vec(pick(IPLITS), 1..3),
    )
        .prop_map(|((name, _, _), op, lits)| {
            let rhs = if op == CmpOp::In {
                list(lits)
            } else {
                value(lits[0])
            };
            cmp(field(name, None, vec![]), op, None, rhs)
        });
    let exists = pick(FIELDS).prop_map(|(name, arg, _)| Expr::Exists(field(name, arg, vec![])));
    let val_cmp = (prop_oneof![
        Just(CmpOp::Eq),
        Just(CmpOp::Ne),
        Just(CmpOp::StartsWith),
        Just(CmpOp::EndsWith),
        Just(CmpOp::Contains)
    ])
    .prop_map(|op| {
        cmp(
            field("proc.exepath", None, vec![]),
            op,
            None,
            Operand::Field(field("proc.name", None, vec![])),
        )
    });
    prop_oneof![4 => str_cmp, 2 => num_cmp, 1 => len_cmp, 1 => bool_cmp, 2 => ip_cmp, 1 => exists, 1 => val_cmp]
}

/// Conditions of `and`, `or` and `not` over `leaf`, `depth` levels deep
/// with up to `size` nodes.
fn tree_of(
    leaf: impl Strategy<Value = Expr> + 'static,
    depth: u32,
    size: u32,
) -> impl Strategy<Value = Expr> {
    leaf.prop_recursive(depth, size, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 1..4).prop_map(Expr::And),
            proptest::collection::vec(inner.clone(), 1..4).prop_map(Expr::Or),
            inner.prop_map(|e| Expr::Not(Box::new(e))),
        ]
    })
}

fn arb_expr() -> impl Strategy<Value = Expr> {
    tree_of(arb_leaf(), 4, 24)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn compiled_engine_agrees_with_reference(ev in arb_event(), e in arb_expr()) {
        let c = compile(&e, &NoNames);
        prop_assert!(c.is_ok(), "well-typed condition rejected: {:?}\n{:?}", c.err(), e);
        let c = c.unwrap();
        let (got, want) = sample::with_view(&ev, 1, |v| (evaluate::eval::matches(&c, v), reference::eval(&e, &NoNames, v)));
        prop_assert_eq!(got, want, "condition {:?}", e);
        // Computed strings kept in a scratch give the same answers.
        let cached = sample::with_scratch_view(&ev, 1, |v| evaluate::eval::matches(&c, v) && evaluate::eval::matches(&c, v));
        prop_assert_eq!(cached, want, "condition {:?} with a scratch", e);
    }
}

/// Leaves that rule sets share and group: event-type tests and plain
/// string tests on a few fields, so that random rules overlap.
fn arb_shared_leaf() -> impl Strategy<Value = Expr> {
    let fields = prop_oneof![
        Just(("proc.name", None)),
        Just(("fd.name", None)),
        Just(("proc.aname", Some("2"))),
        Just(("proc.aname", None)),
        Just(("container.id", None)),
    ];
    let ops = prop_oneof![
        Just(CmpOp::Eq),
        Just(CmpOp::Ne),
        Just(CmpOp::In),
        Just(CmpOp::StartsWith),
        Just(CmpOp::EndsWith),
    ];
    let str_cmp = (
        fields,
        ops,
        proptest::collection::vec(0usize..STRS.len(), 1..4),
        any::<bool>(),
    )
        .prop_map(|((name, arg), op, idx, anyof)| {
            let mut items: Vec<&str> = idx.iter().map(|&i| STRS[i]).collect();
            items.extend(
                [NAMES[idx[0] % NAMES.len()], PATHS[idx[0] % PATHS.len()]]
                    .iter()
                    .take(idx.len()),
            );
            let (m, rhs) = match op {
                CmpOp::In => (None, list(items)),
                CmpOp::StartsWith | CmpOp::EndsWith if anyof => {
                    (Some(Modifier::AnyOf), list(items))
                }
                // Half the time a process name, so that tests on names and
                // ancestors often hold for some values and not others.
                _ if idx[0] % 2 == 0 => (None, value(NAMES[idx[0] % NAMES.len()])),
                _ => (None, value(items[0])),
            };
            cmp(field(name, arg, vec![]), op, m, rhs)
        });
    let kind = proptest::collection::vec(pick(&["openat", "execve", "connect", "ptrace"]), 1..3)
        .prop_map(|ks| cmp(field("evt.type", None, vec![]), CmpOp::In, None, list(ks)));
    prop_oneof![5 => str_cmp, 2 => kind, 2 => arb_leaf()]
}

fn arb_rule() -> impl Strategy<Value = Expr> {
    tree_of(arb_shared_leaf(), 3, 16)
}

/// `rules`, compiled and indexed as evaluate runs them.
fn rule_set(rules: &[Expr]) -> CompiledRuleset {
    let conds = rules
        .iter()
        .map(|e| compile(e, &NoNames).expect("well-typed condition"));
    CompiledRuleset::new(conds.enumerate())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn rule_sets_agree_with_the_reference_rule_by_rule(
        rules in proptest::collection::vec(arb_rule(), 1..8),
        events in proptest::collection::vec(arb_event(), 1..4),
    ) {
        let set = rule_set(&rules);
        // Several events through one set: the per-event memo must not leak.
        for ev in &events {
            let (all, first, want) = sample::with_scratch_view(ev, 1, |v| {
                let want: Vec<usize> = (0..rules.len())
                    .filter(|&i| reference::eval(&rules[i], &NoNames, v))
                    .collect();
                (set.evaluate(v).collect::<Vec<_>>(), set.first(v), want)
            });
            prop_assert_eq!(&all, &want, "rules {:?}\nevent {:?}", rules, ev);
            prop_assert_eq!(first, want.first().copied());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    /// Events sent by reference, as enrich sends them: several events name
    /// one thread state, a tid's state is replaced by one with other
    /// parts, and some events carry their parts themselves. The rule set
    /// keeps the answers of state-only tests per state; they must match
    /// the reference's on each event as if it were whole.
    #[test]
    fn rule_sets_agree_with_the_reference_on_events_sharing_states(
        rules in proptest::collection::vec(arb_rule(), 1..8),
        parts in proptest::collection::vec(arb_event(), 1..5),
        events in proptest::collection::vec((arb_event(), 0usize..16, 0u8..4), 1..16),
    ) {
        let set = rule_set(&rules);
        let mut table = StateTable::new();
        // tid -> (which parts its state holds, generation).
        let mut held: std::collections::HashMap<i32, (usize, u64)> = Default::default();
        let mut gen = 0;
        for (own, pick, how) in &events {
            let i = pick % parts.len();
            // Two parts share each tid, so a tid's state gets replaced.
            let tid = 100 + (i % 2) as i32;
            let mut ev = parts[i].clone();
            ev.kind = own.kind;
            ev.ts = own.ts;
            ev.ret = own.ret;
            ev.params = own.params.clone();
            ev.fd = own.fd.clone();
            let want: Vec<usize> = sample::with_scratch_view(&ev, 1, |v| {
                (0..rules.len()).filter(|&r| reference::eval(&rules[r], &NoNames, v)).collect()
            });
            let got: Vec<usize> = if *how == 0 {
                // Whole: the event carries its parts.
                sample::with_scratch_view(&ev, 1, |v| set.evaluate(v).collect())
            } else {
                if held.get(&tid).map(|h| h.0) != Some(i) || *how == 3 {
                    // A new state for the tid (other parts, or the same
                    // parts resent under a new generation).
                    gen += 1;
                    let (st, _) = ev.to_state_messages(tid, gen);
                    let raw = capnp::serialize::write_message_to_words(&st);
                    let root = st.get_root_as_reader::<frame::Reader>().expect("a frame");
                    prop_assert!(table.apply(root, &raw));
                    held.insert(tid, (i, gen));
                }
                let (_, msg) = ev.to_state_messages(tid, held[&tid].1);
                let e = sample::event_of(&msg);
                let st = table.get(e);
                prop_assert!(st.is_some());
                let scratch = Scratch::default();
                let v = EventView::with_scratch(e, 1, "test-host", &scratch).with_state(st);
                set.evaluate(&v).collect()
            };
            prop_assert_eq!(&got, &want, "rules {:?}\nevent {:?}", rules, ev);
        }
    }
}
