//! The rows of the field registry and their extractors, grouped by class
//! (`evt.*`, `proc.*`, `thread.*`, `user.*`, `group.*`, `fd.*`, `fs.path.*`,
//! `container.*`, `k8s.*`). Semantics follow Falco's documentation of
//! supported fields; where kestrel cannot know a value, the description says
//! why and the field is always `<NA>`.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use schema::kestrel_capnp::{param, sock_addr, Family, FdType, L4Proto};
use schema::table::{Category, ParamInfo, ParamType};
use schema::Kind;

use super::flags::{self, O_ACCMODE, O_CREAT, O_RDWR, O_TMPFILE, O_TRUNC, O_WRONLY};
use super::view::{data, text};
use super::{ArgKind, EventView, FieldArg, FieldDef, FieldType, Shape, Value, Values};

use ArgKind as A;
use FieldType as T;

const fn f(
    name: &'static str,
    ty: FieldType,
    arg: ArgKind,
    shape: Shape,
    desc: &'static str,
    extract: super::Extract,
) -> FieldDef {
    FieldDef {
        name,
        ty,
        arg,
        shape,
        desc,
        extract,
    }
}

/// The common case: one value, no argument.
const fn s(
    name: &'static str,
    ty: FieldType,
    desc: &'static str,
    extract: super::Extract,
) -> FieldDef {
    f(name, ty, A::None, Shape::One, desc, extract)
}

/// Classes whose extractors read only the view's state parts
/// (`EventView::thread`, `user`, `group`, `login_user`, `container`,
/// `k8s`), never the event's own time, parameters or fd.
const STATE_CLASSES: &[&str] = &["proc.", "thread.", "user.", "group.", "container.", "k8s."];

/// Fields of [`STATE_CLASSES`] that also read the event (its time).
const READS_EVENT: &[&str] = &["proc.duration", "proc.ppid.duration", "container.duration"];

/// See [`super::FieldDef::state_only`]; `fields::tests` checks each such
/// field against events that differ in everything but their state.
pub(super) fn state_only(name: &str) -> bool {
    STATE_CLASSES.iter().any(|c| name.starts_with(c)) && !READS_EVENT.contains(&name)
}

fn one<'a>(v: Option<Value<'a>>) -> Values<'a> {
    v.map_or(Values::Na, Values::One)
}

fn bytes(b: Option<&[u8]>) -> Values<'_> {
    one(b.map(Value::borrowed))
}

fn uint<'a>(u: Option<u64>) -> Values<'a> {
    one(u.map(Value::Uint))
}

fn int<'a>(i: Option<i64>) -> Values<'a> {
    one(i.map(Value::Int))
}

fn boolean<'a>(b: Option<bool>) -> Values<'a> {
    one(b.map(Value::Bool))
}

fn owned<'a>(s: Option<Vec<u8>>) -> Values<'a> {
    one(s.map(Value::owned))
}

/// Joins byte strings with single spaces, as Falco shows argv.
fn join<'a>(items: impl Iterator<Item = &'a [u8]>, out: &mut Vec<u8>) {
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(item);
    }
}

fn list_items<'a>(
    l: capnp::Result<capnp::data_list::Reader<'a>>,
) -> impl Iterator<Item = &'a [u8]> {
    l.ok()
        .into_iter()
        .flat_map(|l| l.iter().filter_map(|d| d.ok()))
}

/// `name args…`: Falco's command line (comm, then argv[1..]).
fn cmdline<'a>(name: &[u8], args: impl Iterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = name.to_vec();
    for a in args {
        out.push(b' ');
        out.extend_from_slice(a);
    }
    out
}

/// Nanoseconds from `start` to `end`, when both are known.
fn since(end: u64, start: u64) -> Option<u64> {
    (start != 0 && end >= start).then(|| end - start)
}

fn basename(p: &[u8]) -> &[u8] {
    match memchr::memrchr(b'/', p) {
        Some(i) => &p[i + 1..],
        None => p,
    }
}

fn dirname(p: &[u8]) -> &[u8] {
    match memchr::memrchr(b'/', p) {
        Some(0) => b"/",
        Some(i) => &p[..i],
        None => b".",
    }
}

// ---------------------------------------------------------------- evt.*

fn evt_type<'a>(v: &EventView<'a>, _: &FieldArg) -> Values<'a> {
    Values::One(Value::borrowed(v.info().name.as_bytes()))
}

fn evt_category<'a>(v: &EventView<'a>, _: &FieldArg) -> Values<'a> {
    let c: &'static str = match v.info().category {
        Category::Process => "process",
        Category::File => "file",
        Category::Net => "net",
        Category::Ipc => "ipc",
        Category::Other => "other",
    };
    Values::One(Value::borrowed(c.as_bytes()))
}

fn evt_time<'a>(v: &EventView<'a>, _: &FieldArg) -> Values<'a> {
    Values::One(Value::owned(render::clock(v.ts())))
}

fn evt_datetime<'a>(v: &EventView<'a>, _: &FieldArg) -> Values<'a> {
    Values::One(Value::owned(render::datetime(v.ts())))
}

/// Renders one parameter as `evt.arg.*` shows it.
fn render_param<'a>(info: ParamInfo, p: param::Reader<'a>) -> Option<Value<'a>> {
    use param::Which as W;
    let w = p.which().ok()?;
    let s = match (info.ty, w) {
        (_, W::None(())) => return None,
        (ParamType::Path | ParamType::Bytes, W::Bytes(b)) => return b.ok().map(Value::borrowed),
        (ParamType::Flags(set), W::Uint(u)) => flags::render(set, u),
        (ParamType::Caps, W::Uint(u)) => flags::render_caps(u),
        (ParamType::Signal, W::Uint(u)) => flags::render_signal(u),
        (ParamType::Mode, W::Uint(u)) => format!("{u:#o}").replacen("0o", "0", 1),
        (_, W::Uint(u)) => u.to_string(),
        (_, W::Int(i)) => i.to_string(),
        (_, W::Bytes(b)) => return b.ok().map(Value::borrowed),
        (_, W::Sockaddr(a)) => return a.ok().map(|a| Value::owned(sockaddr_text(a))),
        (_, W::Tuple(t)) => {
            let t = t.ok()?;
            let mut out = sockaddr_text(t.get_local().ok()?);
            out.extend_from_slice(b"->");
            out.extend(sockaddr_text(t.get_remote().ok()?));
            return Some(Value::owned(out));
        }
        (_, W::List(l)) => {
            let mut out = Vec::new();
            join(list_items(l), &mut out);
            return Some(Value::owned(out));
        }
    };
    Some(Value::owned(s))
}

/// The raw value of a parameter (`evt.rawarg.*`): numbers as numbers.
fn raw_param<'a>(p: param::Reader<'a>, info: ParamInfo) -> Option<Value<'a>> {
    use param::Which as W;
    match p.which().ok()? {
        W::Int(i) => Some(Value::Int(i)),
        W::Uint(u) => Some(Value::Uint(u)),
        W::Bytes(b) => b.ok().map(Value::borrowed),
        W::None(()) => None,
        _ => render_param(info, p),
    }
}

fn evt_arg<'a>(v: &EventView<'a>, a: &FieldArg) -> Values<'a> {
    let p = match a {
        FieldArg::Index(i) => v.param_at(*i),
        FieldArg::Key(k) => v.param(k),
        FieldArg::None => None,
    };
    one(p.and_then(|(info, p)| render_param(info, p)))
}

fn evt_rawarg<'a>(v: &EventView<'a>, a: &FieldArg) -> Values<'a> {
    let p = match a {
        FieldArg::Index(i) => v.param_at(*i),
        FieldArg::Key(k) => v.param(k),
        FieldArg::None => None,
    };
    one(p.and_then(|(info, p)| raw_param(p, info)))
}

fn evt_args<'a>(v: &EventView<'a>, _: &FieldArg) -> Values<'a> {
    let mut out = format!("res={}", v.ret()).into_bytes();
    for i in 0..v.info().params.len() {
        if let Some((info, p)) = v.param_at(i) {
            out.push(b' ');
            out.extend_from_slice(info.name.as_bytes());
            out.push(b'=');
            let mut s = String::new();
            match render_param(info, p) {
                Some(val) => val.render(&mut s),
                None => s.push_str(super::NA),
            }
            out.extend_from_slice(s.as_bytes());
        }
    }
    Values::One(Value::owned(out))
}

fn evt_res<'a>(v: &EventView<'a>, _: &FieldArg) -> Values<'a> {
    Values::One(match flags::render_res(v.ret()) {
        Cow::Borrowed(s) => Value::borrowed(s.as_bytes()),
        Cow::Owned(s) => Value::owned(s),
    })
}

/// The unsigned parameter `name`.
fn uint_param(v: &EventView<'_>, name: &str) -> Option<u64> {
    match v.param(name)?.1.which().ok()? {
        param::Which::Uint(u) => Some(u),
        _ => None,
    }
}

/// Open flags of an open-family event, `None` for other kinds. Several
/// fields of every open read them, so the view keeps them once read.
fn open_flags(v: &EventView<'_>) -> Option<u64> {
    v.open_flags(|| match v.kind() {
        Kind::Open | Kind::Openat | Kind::Openat2 => uint_param(v, "flags"),
        // creat(2) is open(O_CREAT|O_WRONLY|O_TRUNC).
        Kind::Creat => Some(O_CREAT | O_WRONLY | O_TRUNC),
        _ => None,
    })
}

fn is_open_read<'a>(v: &EventView<'a>, _: &FieldArg) -> Values<'a> {
    let acc = open_flags(v).map(|fl| fl & O_ACCMODE);
    boolean(Some(matches!(acc, Some(0) | Some(O_RDWR))))
}

fn is_open_write<'a>(v: &EventView<'a>, _: &FieldArg) -> Values<'a> {
    let acc = open_flags(v).map(|fl| fl & O_ACCMODE);
    boolean(Some(matches!(acc, Some(O_WRONLY) | Some(O_RDWR))))
}

/// A file created with an execute bit.
fn is_open_exec<'a>(v: &EventView<'a>, _: &FieldArg) -> Values<'a> {
    let exec = open_flags(v).is_some_and(|fl| {
        fl & (O_CREAT | O_TMPFILE) != 0 && uint_param(v, "mode").unwrap_or(0) & 0o111 != 0
    });
    boolean(Some(exec))
}

// ---------------------------------------------------------------- proc.*

macro_rules! thread_bytes {
    ($get:ident) => {
        |v: &EventView<'_>, _: &FieldArg| bytes(v.thread().and_then(|t| data(t.$get())))
    };
}

macro_rules! thread_num {
    ($wrap:ident, $ty:ty, $get:ident) => {
        |v: &EventView<'_>, _: &FieldArg| $wrap(v.thread().map(|t| t.$get() as $ty))
    };
}

/// A computed string, from the event's scratch when it has one.
fn cached<'a>(
    v: &EventView<'a>,
    cell: impl FnOnce(&'a super::Scratch) -> &'a std::cell::OnceCell<Vec<u8>>,
    compute: impl FnOnce() -> Option<Vec<u8>>,
) -> Values<'a> {
    match v.scratch() {
        Some(s) => {
            let cell = cell(s);
            if cell.get().is_none() {
                match compute() {
                    Some(c) => {
                        let _ = cell.set(c);
                    }
                    None => return Values::Na,
                }
            }
            bytes(cell.get().map(Vec::as_slice))
        }
        None => owned(compute()),
    }
}

fn proc_args<'a>(v: &EventView<'a>, _: &FieldArg) -> Values<'a> {
    cached(
        v,
        |s| &s.args,
        || {
            v.thread().map(|t| {
                let mut out = Vec::new();
                join(list_items(t.get_args()), &mut out);
                out
            })
        },
    )
}

fn proc_cmdline<'a>(v: &EventView<'a>, _: &FieldArg) -> Values<'a> {
    cached(
        v,
        |s| &s.cmdline,
        || {
            v.thread().map(|t| {
                cmdline(
                    data(t.get_name()).unwrap_or_default(),
                    list_items(t.get_args()),
                )
            })
        },
    )
}

fn proc_pcmdline<'a>(v: &EventView<'a>, _: &FieldArg) -> Values<'a> {
    let compute =
        || parent(v).and_then(|p| Some(cmdline(data(p.get_name())?, list_items(p.get_args()))));
    match v.scratch() {
        Some(s) => bytes(s.pcmdline.get_or_init(compute).as_deref()),
        None => owned(compute()),
    }
}

fn proc_exeline<'a>(v: &EventView<'a>, _: &FieldArg) -> Values<'a> {
    owned(v.thread().map(|t| {
        cmdline(
            data(t.get_exe()).unwrap_or_default(),
            list_items(t.get_args()),
        )
    }))
}

fn proc_env<'a>(v: &EventView<'a>, a: &FieldArg) -> Values<'a> {
    let Some(t) = v.thread() else {
        return Values::Na;
    };
    match a {
        FieldArg::Key(k) => {
            let found = list_items(t.get_env()).find_map(|e| {
                e.strip_prefix(k.as_bytes())
                    .and_then(|r| r.strip_prefix(b"="))
            });
            bytes(found)
        }
        _ => {
            let mut out = Vec::new();
            join(list_items(t.get_env()), &mut out);
            Values::One(Value::owned(out))
        }
    }
}

fn ancestors<'a>(
    v: &EventView<'a>,
) -> Option<capnp::struct_list::Reader<'a, schema::kestrel_capnp::ancestor::Owned>> {
    v.thread()?.get_ancestors().ok()
}

/// Ancestor `n` (1 = parent), or all ancestors for `proc.a*` without an
/// index. Index 0 is the process itself, read by `this`.
fn ancestor_field<'a>(
    v: &EventView<'a>,
    a: &FieldArg,
    this: impl Fn(&EventView<'a>) -> Values<'a>,
    get: impl Fn(schema::kestrel_capnp::ancestor::Reader<'a>) -> Option<Value<'a>>,
) -> Values<'a> {
    let Some(list) = ancestors(v) else {
        return Values::Na;
    };
    match a {
        FieldArg::Index(0) => this(v),
        FieldArg::Index(n) => {
            if *n > list.len() as usize {
                return Values::Na;
            }
            one(get(list.get(*n as u32 - 1)))
        }
        _ => {
            let all: Vec<Value<'a>> = list.iter().filter_map(&get).collect();
            if all.is_empty() {
                Values::Na
            } else {
                Values::Many(all)
            }
        }
    }
}

fn parent<'a>(v: &EventView<'a>) -> Option<schema::kestrel_capnp::ancestor::Reader<'a>> {
    let l = ancestors(v)?;
    (!l.is_empty()).then(|| l.get(0))
}

fn anc_cmdline(a: schema::kestrel_capnp::ancestor::Reader<'_>) -> Option<Value<'_>> {
    Some(Value::owned(cmdline(
        data(a.get_name())?,
        list_items(a.get_args()),
    )))
}

fn proc_aname<'a>(v: &EventView<'a>, a: &FieldArg) -> Values<'a> {
    ancestor_field(
        v,
        a,
        |v| bytes(v.thread().and_then(|t| data(t.get_name()))),
        |x| data(x.get_name()).map(Value::borrowed),
    )
}

fn proc_apid<'a>(v: &EventView<'a>, a: &FieldArg) -> Values<'a> {
    ancestor_field(
        v,
        a,
        |v| int(v.thread().map(|t| t.get_pid() as i64)),
        |x| Some(Value::Int(x.get_pid() as i64)),
    )
}

fn proc_aexe<'a>(v: &EventView<'a>, a: &FieldArg) -> Values<'a> {
    ancestor_field(
        v,
        a,
        |v| bytes(v.thread().and_then(|t| data(t.get_exe()))),
        |x| data(x.get_exe()).map(Value::borrowed),
    )
}

fn proc_aexepath<'a>(v: &EventView<'a>, a: &FieldArg) -> Values<'a> {
    ancestor_field(
        v,
        a,
        |v| bytes(v.thread().and_then(|t| data(t.get_exepath()))),
        |x| data(x.get_exepath()).map(Value::borrowed),
    )
}

fn proc_acmdline<'a>(v: &EventView<'a>, a: &FieldArg) -> Values<'a> {
    ancestor_field(v, a, |v| proc_cmdline(v, &FieldArg::None), anc_cmdline)
}

fn proc_duration<'a>(v: &EventView<'a>, _: &FieldArg) -> Values<'a> {
    uint(v.thread().and_then(|t| since(v.ts(), t.get_start_ts_ns())))
}

fn proc_ppid_duration<'a>(v: &EventView<'a>, _: &FieldArg) -> Values<'a> {
    uint(
        v.thread()
            .and_then(|t| since(v.ts(), t.get_parent_start_ts_ns())),
    )
}

fn nonzero(u: u64) -> Option<u64> {
    (u != 0).then_some(u)
}

fn loginuid<'a>(v: &EventView<'a>, _: &FieldArg) -> Values<'a> {
    // The kernel's "unset" loginuid is (uid_t)-1; Falco shows it as -1.
    int(v.thread().map(|t| t.get_loginuid() as i32 as i64))
}

fn caps(
    get: fn(&schema::kestrel_capnp::thread::Reader<'_>) -> u64,
) -> impl Fn(&EventView<'_>) -> Values<'static> {
    move |v| owned(v.thread().map(|t| flags::render_caps(get(&t)).into_bytes()))
}

// ---------------------------------------------------------------- user.*, group.*

fn user_text<'a>(
    u: Option<schema::kestrel_capnp::user::Reader<'a>>,
    get: fn(schema::kestrel_capnp::user::Reader<'a>) -> capnp::Result<capnp::text::Reader<'a>>,
) -> Values<'a> {
    bytes(u.and_then(|u| text(get(u))))
}

// ---------------------------------------------------------------- fd.*

fn fd_type_of(v: &EventView<'_>) -> Option<FdType> {
    v.fd().and_then(|f| f.get_type().ok())
}

fn type_name(t: FdType) -> &'static str {
    use FdType as F;
    match t {
        F::Unknown => "unknown",
        F::File => "file",
        F::Directory => "directory",
        F::Ipv4 => "ipv4",
        F::Ipv6 => "ipv6",
        F::Unix => "unix",
        F::Pipe => "pipe",
        F::Event => "event",
        F::Signalfd => "signalfd",
        F::Eventpoll => "eventpoll",
        F::Inotify => "inotify",
        F::Timerfd => "timerfd",
        F::Netlink => "netlink",
        F::Bpf => "bpf",
        F::Userfaultfd => "userfaultfd",
        F::IoUring => "io_uring",
        F::Memfd => "memfd",
        F::Pidfd => "pidfd",
    }
}

fn type_char(t: FdType) -> &'static str {
    use FdType as F;
    match t {
        F::Unknown => "o",
        F::File => "f",
        F::Directory => "d",
        F::Ipv4 => "4",
        F::Ipv6 => "6",
        F::Unix => "u",
        F::Pipe => "p",
        F::Event => "e",
        F::Signalfd => "s",
        F::Eventpoll => "l",
        F::Inotify => "i",
        F::Timerfd => "t",
        F::Netlink => "n",
        F::Bpf => "b",
        F::Userfaultfd => "u",
        F::IoUring => "r",
        F::Memfd => "m",
        F::Pidfd => "P",
    }
}

fn static_str<'a>(s: &'static str) -> Values<'a> {
    Values::One(Value::borrowed(s.as_bytes()))
}

fn fd_name<'a>(v: &EventView<'a>) -> Option<&'a [u8]> {
    v.fd_name()
}

/// The name of a file or directory fd; `None` for other kinds of fd.
fn file_name<'a>(v: &EventView<'a>) -> Option<&'a [u8]> {
    matches!(fd_type_of(v), Some(FdType::File | FdType::Directory))
        .then(|| fd_name(v))
        .flatten()
}

fn ip_of(a: sock_addr::Reader<'_>) -> Option<IpAddr> {
    let addr = data(a.get_addr())?;
    match a.get_family().ok()? {
        Family::Inet => <[u8; 4]>::try_from(addr)
            .ok()
            .map(|b| IpAddr::V4(Ipv4Addr::from(b))),
        Family::Inet6 => <[u8; 16]>::try_from(addr)
            .ok()
            .map(|b| IpAddr::V6(Ipv6Addr::from(b))),
        _ => None,
    }
}

fn sockaddr_text(a: sock_addr::Reader<'_>) -> Vec<u8> {
    match ip_of(a) {
        Some(IpAddr::V6(ip)) => format!("[{ip}]:{}", a.get_port()).into_bytes(),
        Some(ip) => format!("{ip}:{}", a.get_port()).into_bytes(),
        None => data(a.get_path()).unwrap_or_default().to_vec(),
    }
}

/// Which end of a socket a field reads.
#[derive(Clone, Copy)]
enum End {
    Client,
    Server,
    Local,
    Remote,
}

/// The address of one end of an IP socket fd.
fn end<'a>(v: &EventView<'a>, e: End) -> Option<sock_addr::Reader<'a>> {
    let f = v.fd()?;
    if !matches!(f.get_type().ok()?, FdType::Ipv4 | FdType::Ipv6) {
        return None;
    }
    let local_is_server = f.get_is_server();
    let local = match e {
        End::Local => true,
        End::Remote => false,
        End::Server => local_is_server,
        End::Client => !local_is_server,
    };
    if local {
        f.get_local().ok()
    } else {
        f.get_remote().ok()
    }
}

fn ip_end<'a>(v: &EventView<'a>, e: End) -> Values<'a> {
    one(end(v, e).and_then(ip_of).map(Value::Ip))
}

fn port_end<'a>(v: &EventView<'a>, e: End) -> Values<'a> {
    one(end(v, e).map(|a| Value::Uint(a.get_port() as u64)))
}

/// Client and server values, for `fd.ip`, `fd.port`, `fd.net`.
fn either<'a>(v: &EventView<'a>, get: fn(&EventView<'a>, End) -> Values<'a>) -> Values<'a> {
    match (get(v, End::Client), get(v, End::Server)) {
        (Values::One(c), Values::One(s)) => Values::Two(c, s),
        (Values::One(x), _) | (_, Values::One(x)) => Values::One(x),
        _ => Values::Na,
    }
}

fn l4proto<'a>(v: &EventView<'a>, _: &FieldArg) -> Values<'a> {
    let p = v.fd().and_then(|f| f.get_l4proto().ok());
    match p {
        Some(L4Proto::Tcp) => static_str("tcp"),
        Some(L4Proto::Udp) => static_str("udp"),
        Some(L4Proto::Icmp) => static_str("icmp"),
        Some(L4Proto::Raw) => static_str("raw"),
        Some(L4Proto::Unknown) | None => Values::Na,
    }
}

fn fd_types<'a>(v: &EventView<'a>, a: &FieldArg) -> Values<'a> {
    let Some(types) = v.stdio_types() else {
        return Values::Na;
    };
    let name = |i: u32| {
        types
            .get(i)
            .ok()
            .map(|t| Value::borrowed(type_name(t).as_bytes()))
    };
    match a {
        FieldArg::Index(i) if *i < types.len() as usize => one(name(*i as u32)),
        FieldArg::Index(_) => Values::Na,
        _ => Values::Many((0..types.len()).filter_map(name).collect()),
    }
}

// ---------------------------------------------------------------- fs.path.*

/// Parameter names holding (source, target) for two-path events.
fn two_paths(k: Kind) -> Option<(&'static str, &'static str)> {
    match k {
        Kind::Rename | Kind::Renameat | Kind::Renameat2 | Kind::Link | Kind::Linkat => {
            Some(("oldpath", "newpath"))
        }
        Kind::Symlink | Kind::Symlinkat => Some(("target", "linkpath")),
        _ => None,
    }
}

fn param_bytes<'a>(v: &EventView<'a>, name: &str) -> Option<&'a [u8]> {
    match v.param(name)?.1.which().ok()? {
        param::Which::Bytes(b) => b.ok(),
        _ => None,
    }
}

fn fs_path_name<'a>(v: &EventView<'a>, _: &FieldArg) -> Values<'a> {
    if two_paths(v.kind()).is_some() {
        return Values::Na;
    }
    let i = v.info().params.iter().position(|p| p.ty == ParamType::Path);
    let p = i
        .and_then(|i| v.param_at(i))
        .and_then(|(_, p)| match p.which().ok()? {
            param::Which::Bytes(b) => b.ok(),
            _ => None,
        });
    bytes(p)
}

fn fs_path_source<'a>(v: &EventView<'a>, _: &FieldArg) -> Values<'a> {
    bytes(two_paths(v.kind()).and_then(|(s, _)| param_bytes(v, s)))
}

fn fs_path_target<'a>(v: &EventView<'a>, _: &FieldArg) -> Values<'a> {
    bytes(two_paths(v.kind()).and_then(|(_, t)| param_bytes(v, t)))
}

// ---------------------------------------------------------------- container.*, k8s.*

macro_rules! ctext {
    ($get:ident) => {
        |v: &EventView<'_>, _: &FieldArg| bytes(v.container().and_then(|c| text(c.$get())))
    };
}

macro_rules! ktext {
    ($get:ident) => {
        |v: &EventView<'_>, _: &FieldArg| {
            bytes(
                v.k8s()
                    .and_then(|k| text(k.$get()))
                    .filter(|s| !s.is_empty()),
            )
        }
    };
}

type Labels<'a> = capnp::struct_list::Reader<'a, schema::kestrel_capnp::label::Owned>;

fn label<'a>(labels: Option<Labels<'a>>, a: &FieldArg) -> Values<'a> {
    let Some(labels) = labels else {
        return Values::Na;
    };
    match a {
        FieldArg::Key(k) => bytes(
            labels
                .iter()
                .find(|l| text(l.get_key()) == Some(k.as_bytes()))
                .and_then(|l| text(l.get_value())),
        ),
        _ => {
            let mut out = Vec::new();
            for (i, l) in labels.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                out.extend_from_slice(text(l.get_key()).unwrap_or_default());
                out.push(b':');
                out.extend_from_slice(text(l.get_value()).unwrap_or_default());
            }
            Values::One(Value::owned(out))
        }
    }
}

type MountR<'a> = schema::kestrel_capnp::mount::Reader<'a>;

/// The mount an argument selects: by position, or by the path the field
/// does not show (`container.mount.dest[SOURCE]`, `container.mount.source[DEST]`).
fn mount<'a>(v: &EventView<'a>, a: &FieldArg, by_dest: bool) -> Option<MountR<'a>> {
    let mounts = v.container()?.get_mounts().ok()?;
    match a {
        FieldArg::Index(i) => (*i < mounts.len() as usize).then(|| mounts.get(*i as u32)),
        FieldArg::Key(k) => mounts.iter().find(|m| {
            let path = if by_dest {
                m.get_dest()
            } else {
                m.get_source()
            };
            text(path) == Some(k.as_bytes())
        }),
        FieldArg::None => None,
    }
}

fn mount_text(m: MountR<'_>) -> Vec<u8> {
    format!(
        "{}:{}:{}:{}:{}",
        m.get_source()
            .ok()
            .and_then(|t| t.to_str().ok())
            .unwrap_or_default(),
        m.get_dest()
            .ok()
            .and_then(|t| t.to_str().ok())
            .unwrap_or_default(),
        m.get_mode()
            .ok()
            .and_then(|t| t.to_str().ok())
            .unwrap_or_default(),
        m.get_rw(),
        m.get_propagation()
            .ok()
            .and_then(|t| t.to_str().ok())
            .unwrap_or_default(),
    )
    .into_bytes()
}

fn container_mounts<'a>(v: &EventView<'a>, _: &FieldArg) -> Values<'a> {
    let Some(mounts) = v.container().and_then(|c| c.get_mounts().ok()) else {
        return Values::Na;
    };
    let mut out = Vec::new();
    for (i, m) in mounts.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend(mount_text(m));
    }
    Values::One(Value::owned(out))
}

/// Fields kestrel cannot know: always `<NA>`.
fn unknowable<'a>(_: &EventView<'a>, _: &FieldArg) -> Values<'a> {
    Values::Na
}

const NO_DNS: &str = " kestrel keeps no DNS state: the value prints as <NA>, and `= NAME`, `!=` and `in` compare the address with NAME resolved when the rule loads, as Falco does.";

/// Every field, in `list-fields` order.
pub static FIELDS: &[FieldDef] = &[
    // evt.*
    s("evt.num", T::Uint64, "Position of the event in the stream, from 1.", |v, _| uint(Some(v.num()))),
    s("evt.time", T::Str, "Event time as HH:MM:SS.nnnnnnnnn (UTC).", evt_time),
    s("evt.datetime", T::Str, "Event date and time as YYYY-MM-DD HH:MM:SS.nnnnnnnnn (UTC).", evt_datetime),
    s("evt.rawtime", T::AbsTime, "Event time in ns since the epoch.", |v, _| uint(Some(v.ts()))),
    s("evt.hostname", T::Str, "Name of the host the event came from.", |v, _| bytes(Some(v.hostname().as_bytes()))),
    s("evt.type", T::Str, "Event type: the syscall name (open, execve…), or procexit, container.", evt_type),
    s("evt.dir", T::Str, "Event direction: always < (kestrel emits exit events only).", |_, _| static_str("<")),
    s("evt.cpu", T::Int64, "CPU the event happened on.", |v, _| int(Some(v.raw().get_cpu() as i64))),
    s("evt.category", T::Str, "Event class: process, file, net, ipc or other.", evt_category),
    s("evt.source", T::Str, "Event source: always syscall.", |_, _| static_str("syscall")),
    s("evt.args", T::Str, "All parameters as name=value pairs, after res=RETURN.", evt_args),
    f("evt.arg", T::Str, A::IndexOrKey, Shape::One, "A parameter rendered as text, by name (evt.arg.flags) or position (evt.arg[0]); flags show their names (O_RDONLY|O_CLOEXEC).", evt_arg),
    f("evt.rawarg", T::Dynamic, A::IndexOrKey, Shape::One, "A parameter's raw value, by name (evt.rawarg.flags): numbers as numbers.", evt_rawarg),
    s("evt.res", T::Str, "Result: SUCCESS, or the errno name (ENOENT…).", evt_res),
    s("evt.rawres", T::Int64, "Return value as a number (negative errno on failure).", |v, _| int(Some(v.ret()))),
    s("evt.failed", T::Bool, "True when the syscall returned an error.", |v, _| boolean(Some(v.ret() < 0))),
    s("evt.is_open_read", T::Bool, "True for an open/openat/openat2 that opens for reading.", is_open_read),
    s("evt.is_open_write", T::Bool, "True for an open/openat/openat2/creat that opens for writing.", is_open_write),
    s("evt.is_open_exec", T::Bool, "True for an open that creates a file with an execute bit.", is_open_exec),
    // proc.*
    s("proc.pid", T::Int64, "Process id (host pid namespace).", thread_num!(int, i64, get_pid)),
    s("proc.ppid", T::Int64, "Parent process id.", thread_num!(int, i64, get_ppid)),
    s("proc.vpid", T::Int64, "Process id in its own pid namespace.", thread_num!(int, i64, get_vpid)),
    s("proc.sid", T::Int64, "Session id.", thread_num!(int, i64, get_sid)),
    s("proc.vpgid", T::Int64, "Process group id in the process's pid namespace.", thread_num!(int, i64, get_vpgid)),
    s("proc.vpgid.name", T::Str, "Name of the process group leader.", thread_bytes!(get_vpgid_name)),
    s("proc.vpgid.exe", T::Str, "argv[0] of the process group leader.", thread_bytes!(get_vpgid_exe)),
    s("proc.is_vpgid_leader", T::Bool, "True when the process leads its process group.", |v, _| boolean(v.thread().map(|t| t.get_vpgid() != 0 && t.get_vpid() == t.get_vpgid()))),
    s("proc.is_sid_leader", T::Bool, "True when the process leads its session.", |v, _| boolean(v.thread().map(|t| t.get_sid() != 0 && t.get_vpid() == t.get_sid()))),
    s("proc.name", T::Str, "Process name (comm, at most 15 bytes).", thread_bytes!(get_name)),
    s("proc.exe", T::Str, "First command-line argument (argv[0]) as given.", thread_bytes!(get_exe)),
    s("proc.exepath", T::Str, "Full path of the executable.", thread_bytes!(get_exepath)),
    s("proc.args", T::Str, "Command-line arguments after argv[0], space-separated.", proc_args),
    s("proc.cmdline", T::Str, "proc.name followed by proc.args.", proc_cmdline),
    s("proc.exeline", T::Str, "proc.exe followed by proc.args.", proc_exeline),
    s("proc.cmdnargs", T::Uint64, "Number of command-line arguments after argv[0].", |v, _| uint(v.thread().and_then(|t| t.get_args().ok()).map(|a| a.len() as u64))),
    f("proc.env", T::Str, A::OptKey, Shape::One, "Environment, space-separated; proc.env[NAME] is one variable's value.", proc_env),
    s("proc.cwd", T::Str, "Current working directory.", thread_bytes!(get_cwd)),
    s("proc.tty", T::Uint64, "Controlling terminal's device number, 0 for none.", thread_num!(uint, u64, get_tty)),
    s("proc.sname", T::Str, "Name of the session leader.", thread_bytes!(get_sname)),
    s("proc.pname", T::Str, "Parent's name.", |v, _| bytes(parent(v).and_then(|p| data(p.get_name())))),
    s("proc.pexe", T::Str, "Parent's argv[0].", |v, _| bytes(parent(v).and_then(|p| data(p.get_exe())))),
    s("proc.pexepath", T::Str, "Parent's executable path.", |v, _| bytes(parent(v).and_then(|p| data(p.get_exepath())))),
    s("proc.pcmdline", T::Str, "Parent's command line.", proc_pcmdline),
    f("proc.aname", T::Str, A::OptIndex, Shape::AnyOf, "Name of ancestor N (0 = this process, 1 = parent…); without an index, matches any ancestor.", proc_aname),
    f("proc.apid", T::Int64, A::OptIndex, Shape::AnyOf, "Pid of ancestor N; without an index, matches any ancestor.", proc_apid),
    f("proc.aexe", T::Str, A::OptIndex, Shape::AnyOf, "argv[0] of ancestor N; without an index, matches any ancestor.", proc_aexe),
    f("proc.aexepath", T::Str, A::OptIndex, Shape::AnyOf, "Executable path of ancestor N; without an index, matches any ancestor.", proc_aexepath),
    f("proc.acmdline", T::Str, A::OptIndex, Shape::AnyOf, "Command line of ancestor N; without an index, matches any ancestor.", proc_acmdline),
    s("proc.duration", T::RelTime, "Nanoseconds since the process started.", proc_duration),
    s("proc.ppid.duration", T::RelTime, "Nanoseconds since the parent started.", proc_ppid_duration),
    s("proc.pid.ts", T::AbsTime, "Start time of the process.", |v, _| uint(v.thread().and_then(|t| nonzero(t.get_start_ts_ns())))),
    s("proc.ppid.ts", T::AbsTime, "Start time of the parent.", |v, _| uint(v.thread().and_then(|t| nonzero(t.get_parent_start_ts_ns())))),
    s("proc.is_exe_upper_layer", T::Bool, "True when the executable lives in an overlayfs upper layer (written after the container started).", |v, _| boolean(v.thread().map(|t| t.get_exe_upper_layer()))),
    s("proc.is_exe_from_memfd", T::Bool, "True when the executable is a memfd (fileless execution).", |v, _| boolean(v.thread().map(|t| t.get_exe_from_memfd()))),
    s("proc.exe_ino", T::Uint64, "Inode number of the executable.", |v, _| uint(v.thread().and_then(|t| nonzero(t.get_exe_ino())))),
    s("proc.exe_ino.ctime", T::AbsTime, "Last status change time of the executable's inode.", |v, _| uint(v.thread().and_then(|t| nonzero(t.get_exe_ctime_ns())))),
    s("proc.exe_ino.mtime", T::AbsTime, "Last modification time of the executable's inode.", |v, _| uint(v.thread().and_then(|t| nonzero(t.get_exe_mtime_ns())))),
    s("proc.exe_ino.ctime_duration_proc_start", T::RelTime, "Nanoseconds between the executable's last status change and the process start.", |v, _| uint(v.thread().and_then(|t| since(t.get_start_ts_ns(), t.get_exe_ctime_ns())))),
    // thread.*
    s("thread.tid", T::Int64, "Thread id (host pid namespace).", thread_num!(int, i64, get_tid)),
    s("thread.vtid", T::Int64, "Thread id in its own pid namespace.", thread_num!(int, i64, get_vtid)),
    s("thread.ismain", T::Bool, "True for the process's main thread.", |v, _| boolean(v.thread().map(|t| t.get_tid() == t.get_pid()))),
    s("thread.cap_effective", T::Str, "Effective capabilities, space-separated names (CAP_SYS_ADMIN…).", |v, _| caps(|t| t.get_cap_effective())(v)),
    s("thread.cap_permitted", T::Str, "Permitted capabilities, space-separated names.", |v, _| caps(|t| t.get_cap_permitted())(v)),
    s("thread.cap_inheritable", T::Str, "Inheritable capabilities, space-separated names.", |v, _| caps(|t| t.get_cap_inheritable())(v)),
    // user.*, group.*
    s("user.uid", T::Uint64, "Effective user id.", |v, _| uint(v.user().map(|u| u.get_uid() as u64).or_else(|| v.thread().map(|t| t.get_euid() as u64)))),
    s("user.name", T::Str, "Effective user's name.", |v, _| user_text(v.user(), |u| u.get_name())),
    s("user.homedir", T::Str, "Effective user's home directory.", |v, _| user_text(v.user(), |u| u.get_homedir())),
    s("user.shell", T::Str, "Effective user's shell.", |v, _| user_text(v.user(), |u| u.get_shell())),
    s("user.loginuid", T::Int64, "Audit login uid; -1 when unset.", loginuid),
    s("user.loginname", T::Str, "Name of the login user.", |v, _| user_text(v.login_user(), |u| u.get_name())),
    s("group.gid", T::Uint64, "Effective group id.", |v, _| uint(v.group().map(|g| g.get_gid() as u64).or_else(|| v.thread().map(|t| t.get_egid() as u64)))),
    s("group.name", T::Str, "Effective group's name.", |v, _| bytes(v.group().and_then(|g| text(g.get_name())))),
    // fd.*
    s("fd.num", T::Int64, "File descriptor number; -1 for a failed open.", |v, _| int(v.fd().map(|f| f.get_num()))),
    s("fd.type", T::Str, "Type of fd: file, directory, ipv4, ipv6, unix, pipe, event, signalfd, eventpoll, inotify, timerfd, netlink, bpf, userfaultfd, io_uring, memfd, pidfd.", |v, _| one(fd_type_of(v).map(|t| Value::borrowed(type_name(t).as_bytes())))),
    s("fd.typechar", T::Str, "Type of fd as one character: f file, d directory, 4 ipv4, 6 ipv6, u unix, p pipe, e event, s signalfd, l eventpoll, i inotify, t timerfd, n netlink, b bpf, r io_uring, m memfd, P pidfd, o unknown.", |v, _| one(fd_type_of(v).map(|t| Value::borrowed(type_char(t).as_bytes())))),
    s("fd.name", T::Str, "Full name of the fd: an absolute path, or cip:cport->sip:sport for connected sockets.", |v, _| bytes(fd_name(v))),
    s("fd.nameraw", T::Str, "The path as the process passed it, before resolution.", |v, _| bytes(v.fd().and_then(|f| data(f.get_name_raw()).filter(|r| !r.is_empty()).or_else(|| v.fd_name())))),
    s("fd.directory", T::Str, "Directory of a file fd.", |v, _| bytes(file_name(v).map(dirname))),
    s("fd.filename", T::Str, "File name of a file fd, without its directory.", |v, _| bytes(file_name(v).map(basename))),
    s("fd.dev", T::Uint64, "Device number of a file fd.", |v, _| uint(v.fd().map(|f| f.get_dev()))),
    s("fd.ino", T::Uint64, "Inode number of a file fd.", |v, _| uint(v.fd().map(|f| f.get_ino()))),
    s("fd.l4proto", T::Str, "Layer-4 protocol of a socket: tcp, udp, icmp or raw.", l4proto),
    s("fd.sockfamily", T::Str, "Socket family: ip or unix.", |v, _| match fd_type_of(v) { Some(FdType::Ipv4 | FdType::Ipv6) => static_str("ip"), Some(FdType::Unix) => static_str("unix"), _ => Values::Na }),
    s("fd.is_server", T::Bool, "True when this end accepted the connection.", |v, _| boolean(v.fd().filter(|f| matches!(f.get_type(), Ok(FdType::Ipv4 | FdType::Ipv6 | FdType::Unix))).map(|f| f.get_is_server()))),
    s("fd.connected", T::Bool, "True when the socket is connected.", |v, _| boolean(v.fd().map(|f| f.get_connected()))),
    s("fd.name_changed", T::Bool, "True when this event changed the fd's name (open, connect, accept…).", |v, _| boolean(v.fd().map(|f| f.get_name_changed()))),
    f("fd.ip", T::IpAddr, A::None, Shape::Either, "IP address of either end (client or server).", |v, _| either(v, ip_end)),
    s("fd.cip", T::IpAddr, "Client IP address.", |v, _| ip_end(v, End::Client)),
    s("fd.sip", T::IpAddr, "Server IP address.", |v, _| ip_end(v, End::Server)),
    s("fd.lip", T::IpAddr, "Local IP address.", |v, _| ip_end(v, End::Local)),
    s("fd.rip", T::IpAddr, "Remote IP address.", |v, _| ip_end(v, End::Remote)),
    f("fd.port", T::Port, A::None, Shape::Either, "Port of either end (client or server).", |v, _| either(v, port_end)),
    s("fd.cport", T::Port, "Client port.", |v, _| port_end(v, End::Client)),
    s("fd.sport", T::Port, "Server port.", |v, _| port_end(v, End::Server)),
    s("fd.lport", T::Port, "Local port.", |v, _| port_end(v, End::Local)),
    s("fd.rport", T::Port, "Remote port.", |v, _| port_end(v, End::Remote)),
    f("fd.net", T::IpNet, A::None, Shape::Either, "Either end's IP address, compared against networks (fd.net = 10.0.0.0/8).", |v, _| either(v, ip_end)),
    s("fd.cnet", T::IpNet, "Client IP address, compared against networks.", |v, _| ip_end(v, End::Client)),
    s("fd.snet", T::IpNet, "Server IP address, compared against networks.", |v, _| ip_end(v, End::Server)),
    s("fd.lnet", T::IpNet, "Local IP address, compared against networks.", |v, _| ip_end(v, End::Local)),
    s("fd.rnet", T::IpNet, "Remote IP address, compared against networks.", |v, _| ip_end(v, End::Remote)),
    s("fd.cip.name", T::Str, "Domain name of the client IP.", unknowable),
    s("fd.sip.name", T::Str, "Domain name of the server IP.", unknowable),
    s("fd.lip.name", T::Str, "Domain name of the local IP.", unknowable),
    s("fd.rip.name", T::Str, "Domain name of the remote IP.", unknowable),
    f("fd.types", T::Str, A::OptIndex, Shape::List, "Types of the process's fds 0, 1 and 2; fd.types[N] is one of them.", fd_types),
    s("fd.containername", T::Str, "container.id:fd.name.", |v, _| owned(v.container().and_then(|c| text(c.get_id())).zip(fd_name(v)).map(|(c, n)| [c, b":", n].concat()))),
    s("fd.containerdirectory", T::Str, "container.id:fd.directory.", |v, _| owned(v.container().and_then(|c| text(c.get_id())).zip(file_name(v)).map(|(c, n)| [c, b":", dirname(n)].concat()))),
    // fs.path.*
    s("fs.path.name", T::Str, "Path a file-system event acts on (open, mkdir, unlink, chmod…), resolved to an absolute path.", fs_path_name),
    s("fs.path.nameraw", T::Str, "Same as fs.path.name: capture resolves paths before enrich sees them.", fs_path_name),
    s("fs.path.source", T::Str, "Source path of rename, link and symlink.", fs_path_source),
    s("fs.path.sourceraw", T::Str, "Same as fs.path.source: capture resolves paths.", fs_path_source),
    s("fs.path.target", T::Str, "Target path of rename, link and symlink.", fs_path_target),
    s("fs.path.targetraw", T::Str, "Same as fs.path.target: capture resolves paths.", fs_path_target),
    // container.*
    s("container.id", T::Str, "Container id (12 hex digits), or host.", ctext!(get_id)),
    s("container.full_id", T::Str, "Full container id (64 hex digits), or host.", ctext!(get_full_id)),
    s("container.name", T::Str, "Container name, or host.", ctext!(get_name)),
    s("container.image", T::Str, "Container image as given (repository:tag).", ctext!(get_image)),
    s("container.image.id", T::Str, "Container image id.", ctext!(get_image_id)),
    s("container.image.repository", T::Str, "Container image repository.", ctext!(get_image_repository)),
    s("container.image.tag", T::Str, "Container image tag.", ctext!(get_image_tag)),
    s("container.image.digest", T::Str, "Container image digest.", ctext!(get_image_digest)),
    s("container.type", T::Str, "Container runtime: docker, podman, containerd, cri-o.", ctext!(get_runtime)),
    s("container.privileged", T::Bool, "True for a privileged container.", |v, _| boolean(v.container().map(|c| c.get_privileged()))),
    s("container.start_ts", T::AbsTime, "Container start time.", |v, _| uint(v.container().and_then(|c| nonzero(c.get_start_ts_ns())))),
    s("container.duration", T::RelTime, "Nanoseconds since the container started.", |v, _| uint(v.container().and_then(|c| since(v.ts(), c.get_start_ts_ns())))),
    s("container.mounts", T::Str, "All mounts, as source:dest:mode:rdwr:propagation, comma-separated.", container_mounts),
    f("container.mount", T::Str, A::IndexOrKey, Shape::One, "One mount as source:dest:mode:rdwr:propagation, by position or source path.", |v, a| owned(mount(v, a, false).map(mount_text))),
    f("container.mount.source", T::Str, A::IndexOrKey, Shape::One, "A mount's source, by position or destination path (container.mount.source[/data]).", |v, a| bytes(mount(v, a, true).and_then(|m| text(m.get_source())))),
    f("container.mount.dest", T::Str, A::IndexOrKey, Shape::One, "A mount's destination, by position or source path.", |v, a| bytes(mount(v, a, false).and_then(|m| text(m.get_dest())))),
    f("container.mount.mode", T::Str, A::IndexOrKey, Shape::One, "A mount's mode, by position or source path.", |v, a| bytes(mount(v, a, false).and_then(|m| text(m.get_mode())))),
    f("container.mount.rdwr", T::Str, A::IndexOrKey, Shape::One, "Whether a mount is writable (true/false), by position or source path.", |v, a| one(mount(v, a, false).map(|m| Value::borrowed(if m.get_rw() { b"true" } else { b"false" })))),
    f("container.mount.propagation", T::Str, A::IndexOrKey, Shape::One, "A mount's propagation, by position or source path.", |v, a| bytes(mount(v, a, false).and_then(|m| text(m.get_propagation())))),
    s("container.ip", T::Str, "The container's primary IP address (under CRI, its pod's).", ctext!(get_ip)),
    s("container.host_pid", T::Bool, "True when the container runs in the host's PID namespace.", |v, _| boolean(v.container().map(|c| c.get_host_pid()))),
    s("container.host_network", T::Bool, "True when the container runs in the host's network namespace.", |v, _| boolean(v.container().map(|c| c.get_host_network()))),
    s("container.host_ipc", T::Bool, "True when the container runs in the host's IPC namespace.", |v, _| boolean(v.container().map(|c| c.get_host_ipc()))),
    f("container.label", T::Str, A::Key, Shape::One, "A container label's value (container.label[app]).", |v, a| label(v.container().and_then(|c| c.get_labels().ok()), a)),
    s("container.labels", T::Str, "All container labels, as key:value, comma-separated.", |v, a| label(v.container().and_then(|c| c.get_labels().ok()), a)),
    // k8s.*
    s("k8s.ns.name", T::Str, "Kubernetes namespace of the pod.", ktext!(get_namespace)),
    s("k8s.pod.name", T::Str, "Kubernetes pod name.", ktext!(get_pod_name)),
    s("k8s.pod.uid", T::Str, "Kubernetes pod UID.", ktext!(get_pod_uid)),
    s("k8s.pod.id", T::Str, "Kubernetes pod UID (legacy name).", ktext!(get_pod_uid)),
    s("k8s.pod.ip", T::Str, "Kubernetes pod IP address.", ktext!(get_pod_ip)),
    s("k8s.pod.sandbox_id", T::Str, "Kubernetes pod sandbox id, 12 hex digits (the pause container's container.id).", |v, _| bytes(v.k8s().and_then(|k| text(k.get_sandbox_id())).filter(|s| !s.is_empty()).map(|s| &s[..s.len().min(12)]))),
    s("k8s.pod.full_sandbox_id", T::Str, "Kubernetes pod sandbox id, full.", ktext!(get_sandbox_id)),
    f("k8s.pod.label", T::Str, A::Key, Shape::One, "A pod label's value (k8s.pod.label[app]).", |v, a| label(v.k8s().and_then(|k| k.get_pod_labels().ok()), a)),
    s("k8s.pod.labels", T::Str, "All pod labels, as key:value, comma-separated.", |v, a| label(v.k8s().and_then(|k| k.get_pod_labels().ok()), a)),
];

/// The description `list-fields` prints, with the reason a field is always
/// `<NA>` when it is.
pub fn describe(def: &FieldDef) -> Cow<'static, str> {
    if def.name.ends_with("ip.name") {
        Cow::Owned(format!("{}{}", def.desc, NO_DNS))
    } else {
        Cow::Borrowed(def.desc)
    }
}
