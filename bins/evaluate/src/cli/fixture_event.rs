//! Builds an enriched event from Falco field names and values, for rule
//! fixtures: `{evt.type: execve, proc.name: sh, container.id: abc}` becomes
//! the same `event` frame enrich would write for such an event.
//!
//! The settable fields are the ones rules test: `evt.type`, `evt.time`,
//! `evt.res`/`evt.rawres`, `evt.arg.NAME`/`evt.rawarg.NAME`/`evt.arg[N]`
//! (typed by the event table; flags by name, `O_WRONLY|O_CREAT`), `proc.*`
//! (`name exe exepath args cmdline pid tid ppid vpid sid vpgid cwd tty env
//! sname is_exe_upper_layer is_exe_from_memfd`), the parent and ancestors
//! (`proc.pname pexe pexepath pcmdline`, `proc.aname[N] apid[N] aexe[N]
//! aexepath[N]`), the types of fds 0-2 (`fd.types[N]`),
//! `thread.cap_effective`, `user.name user.uid user.loginuid
//! user.loginname group.name group.gid`, `fd.num fd.name
//! fd.type fd.l4proto fd.lip fd.lport fd.rip fd.rport fd.sip fd.sport
//! fd.cip fd.cport fd.is_server fd.connected`, `container.id name
//! image.repository image.tag privileged start_ts label[KEY]`,
//! `container.mounts` (a list of `SOURCE:DEST[:ro]`), `k8s.ns.name`,
//! `k8s.pod.name`. Anything else is an error naming the key, so a fixture
//! never silently tests less than it says.
//!
//! It is not a model of enrich: derived fields (`fd.directory`,
//! `proc.cmdline` from name and args…) are computed by the field registry
//! from what is set here, exactly as for real events.

use std::net::IpAddr;

use schema::kestrel_capnp::{FdType, L4Proto};
use schema::table::{self, ParamType};

use crate::fields::flags;
use crate::fields::sample::{Addr, Ancestor, Container, Event, Fd, Mount, Param, Thread};

/// A fixture value: a scalar, or a list for list-valued fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FixtureValue {
    One(String),
    Many(Vec<String>),
}

impl FixtureValue {
    fn one(&self, key: &str) -> Result<&str, String> {
        match self {
            FixtureValue::One(s) => Ok(s),
            FixtureValue::Many(_) => Err(format!("`{key}` takes one value, not a list")),
        }
    }

    /// A list: YAML list as is, a scalar split on blanks.
    fn many(&self) -> Vec<String> {
        match self {
            FixtureValue::One(s) => s.split_whitespace().map(str::to_string).collect(),
            FixtureValue::Many(v) => v.clone(),
        }
    }
}

fn num<T: TryFrom<i128>>(key: &str, s: &str) -> Result<T, String> {
    let t = s.trim();
    let parsed = if let Some(h) = t.strip_prefix("0x") {
        i128::from_str_radix(h, 16).ok()
    } else if let Some(o) = t.strip_prefix("0o") {
        i128::from_str_radix(o, 8).ok()
    } else {
        t.parse::<i128>().ok()
    };
    parsed
        .and_then(|v| T::try_from(v).ok())
        .ok_or_else(|| format!("`{key}`: `{s}` is not a number in range"))
}

fn boolean(key: &str, s: &str) -> Result<bool, String> {
    match s.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!("`{key}`: expected true or false, not `{s}`")),
    }
}

/// Largest enumeration value searched when reading a flag name back: the
/// largest named value of any flag set (ptrace requests reach 0x4209).
const MAX_ENUM_VALUE: u64 = 0x4300;

/// The value of flag names joined by `|` (or a number) in `set`: each name
/// is found by rendering candidate values, so the names are exactly those
/// outputs and conditions show.
fn flag_value(key: &str, set: table::FlagSet, s: &str) -> Result<u64, String> {
    if let Ok(v) = num::<u64>(key, s) {
        return Ok(v);
    }
    // Names shown for zero (`O_RDONLY`) accompany every value of some
    // sets: a candidate matches when it renders as `name` besides those.
    let zero = flags::render(set, 0);
    let zero_names: Vec<&str> = zero.split('|').collect();
    let names_alone = |v: u64| -> String {
        let r = flags::render(set, v);
        r.split('|')
            .filter(|n| !zero_names.contains(n))
            .collect::<Vec<_>>()
            .join("|")
    };
    let mut total = 0u64;
    for name in s.split('|').map(str::trim) {
        let candidates = (0..=MAX_ENUM_VALUE).chain((13..64).map(|b| 1u64 << b));
        match candidates
            .into_iter()
            .find(|&v| flags::render(set, v) == name || names_alone(v) == name)
        {
            Some(v) => total |= v,
            None => return Err(format!("`{key}`: `{name}` is not a flag of this parameter")),
        }
    }
    Ok(total)
}

fn addr(key: &str, s: &str) -> Result<Addr, String> {
    if s.starts_with('/') || s.starts_with('@') {
        return Ok(Addr {
            ip: Vec::new(),
            port: 0,
            path: s.as_bytes().to_vec(),
        });
    }
    // `ip`, `ip:port` (IPv4), `[ip]:port` (IPv6) or a bare IPv6 address.
    let (ip, port) = if let Some(rest) = s.strip_prefix('[') {
        let (ip, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("`{key}`: unclosed `[` in `{s}`"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => num::<u16>(key, p)?,
            None => 0,
        };
        (ip, port)
    } else if s.matches(':').count() == 1 {
        let (ip, p) = s.split_once(':').unwrap_or((s, "0"));
        (ip, num::<u16>(key, p)?)
    } else {
        (s, 0)
    };
    let ip: IpAddr = ip
        .parse()
        .map_err(|_| format!("`{key}`: `{s}` is not an address (ip, ip:port or /path)"))?;
    Ok(Addr {
        ip: match ip {
            IpAddr::V4(a) => a.octets().to_vec(),
            IpAddr::V6(a) => a.octets().to_vec(),
        },
        port,
        path: Vec::new(),
    })
}

fn ip_bytes(key: &str, s: &str) -> Result<Vec<u8>, String> {
    Ok(addr(key, s)?.ip)
}

fn fd_type(key: &str, s: &str) -> Result<FdType, String> {
    Ok(match s {
        "file" | "f" => FdType::File,
        "directory" | "d" => FdType::Directory,
        "ipv4" | "4" => FdType::Ipv4,
        "ipv6" | "6" => FdType::Ipv6,
        "unix" | "u" => FdType::Unix,
        "pipe" | "p" => FdType::Pipe,
        "event" | "e" => FdType::Event,
        "signalfd" | "s" => FdType::Signalfd,
        "eventpoll" | "l" => FdType::Eventpoll,
        "inotify" | "i" => FdType::Inotify,
        "timerfd" | "t" => FdType::Timerfd,
        "netlink" | "n" => FdType::Netlink,
        "bpf" | "b" => FdType::Bpf,
        "userfaultfd" => FdType::Userfaultfd,
        "io_uring" => FdType::IoUring,
        "memfd" => FdType::Memfd,
        "pidfd" => FdType::Pidfd,
        _ => return Err(format!("`{key}`: unknown fd type `{s}`")),
    })
}

/// Builds the event. Keys are applied in the order given; `evt.type` is
/// applied first so that `evt.arg.*` can find their positions.
pub fn build(fields: &[(String, FixtureValue)]) -> Result<Event, String> {
    let mut ev = Event::default();
    match fields.iter().find(|(k, _)| k == "evt.type") {
        Some((k, v)) => {
            let name = v.one(k)?;
            ev.kind = table::by_name(name)
                .ok_or_else(|| format!("`evt.type`: kestrel has no event `{name}`"))?
                .kind;
        }
        None => return Err("a fixture event needs `evt.type`".into()),
    }
    for (k, v) in fields {
        set(&mut ev, k, v)?;
    }
    Ok(ev)
}

fn thread(ev: &mut Event) -> &mut Thread {
    ev.thread.get_or_insert_with(|| Thread {
        tid: 1000,
        pid: 1000,
        ..Default::default()
    })
}

fn ancestor(ev: &mut Event, n: usize) -> &mut Ancestor {
    let t = thread(ev);
    if t.ancestors.len() < n {
        t.ancestors.resize(n, Ancestor::default());
    }
    &mut t.ancestors[n - 1]
}

fn fd(ev: &mut Event) -> &mut Fd {
    ev.fd.get_or_insert_with(Fd::default)
}

fn container(ev: &mut Event) -> &mut Container {
    ev.container.get_or_insert_with(Container::default)
}

/// `name[N]` → (`name`, N).
fn indexed(key: &str) -> Option<(&str, usize)> {
    let (name, rest) = key.split_once('[')?;
    let n = rest.strip_suffix(']')?.trim().parse().ok()?;
    Some((name, n))
}

fn set(ev: &mut Event, key: &str, v: &FixtureValue) -> Result<(), String> {
    if let Some(arg) = key
        .strip_prefix("evt.arg.")
        .or_else(|| key.strip_prefix("evt.rawarg."))
    {
        let i = table::param_index(ev.kind, arg).ok_or_else(|| {
            format!(
                "`{key}`: event `{}` has no parameter `{arg}`",
                table::info(ev.kind).name
            )
        })?;
        return set_param(ev, key, i, v);
    }
    if let Some(("evt.arg", i)) = indexed(key) {
        return set_param(ev, key, i, v);
    }
    if let Some((name, n)) = indexed(key) {
        let s = v.one(key)?;
        match name {
            "proc.aname" if n >= 1 => ancestor(ev, n).name = s.into(),
            "proc.apid" if n >= 1 => ancestor(ev, n).pid = num(key, s)?,
            "proc.aexe" if n >= 1 => ancestor(ev, n).exe = s.into(),
            "proc.aexepath" if n >= 1 => ancestor(ev, n).exepath = s.into(),
            // The type of the process's fd N (0 stdin, 1 stdout, 2 stderr).
            "fd.types" if n <= 2 => {
                let ty = fd_type(key, s)?;
                let stdio = &mut thread(ev).stdio;
                if stdio.len() <= n {
                    stdio.resize(n + 1, FdType::Unknown);
                }
                stdio[n] = ty;
            }
            "container.label" => {
                let key_name = key
                    .split_once('[')
                    .map(|x| x.1.trim_end_matches(']'))
                    .unwrap_or_default();
                container(ev).labels.push((key_name.to_string(), s.into()));
            }
            _ => return Err(format!("fixtures cannot set `{key}`")),
        }
        return Ok(());
    }
    if let Some(rest) = key.strip_prefix("container.label[") {
        let k = rest.trim_end_matches(']');
        container(ev)
            .labels
            .push((k.to_string(), v.one(key)?.to_string()));
        return Ok(());
    }
    match key {
        "evt.type" => {}
        "evt.time" | "evt.rawtime" => ev.ts = num(key, v.one(key)?)?,
        "evt.res" => {
            let s = v.one(key)?;
            ev.ret = if s == "SUCCESS" { 0 } else { num(key, s)? };
        }
        "evt.rawres" => ev.ret = num(key, v.one(key)?)?,
        "proc.name" => thread(ev).name = v.one(key)?.into(),
        "proc.exe" => thread(ev).exe = v.one(key)?.into(),
        "proc.exepath" => thread(ev).exepath = v.one(key)?.into(),
        "proc.args" => thread(ev).args = v.many(),
        "proc.cmdline" => {
            let mut words = v.many().into_iter();
            let first = words.next().unwrap_or_default();
            let t = thread(ev);
            if t.name.is_empty() {
                t.name = first;
            }
            t.args = words.collect();
        }
        "proc.env" => thread(ev).env = v.many(),
        "proc.pid" => thread(ev).pid = num(key, v.one(key)?)?,
        "proc.tid" | "thread.tid" => thread(ev).tid = num(key, v.one(key)?)?,
        "proc.ppid" => {
            let p: i32 = num(key, v.one(key)?)?;
            thread(ev).ppid = p;
            ancestor(ev, 1).pid = p;
        }
        "proc.vpid" => thread(ev).vpid = num(key, v.one(key)?)?,
        "proc.sid" => thread(ev).sid = num(key, v.one(key)?)?,
        "proc.vpgid" => thread(ev).vpgid = num(key, v.one(key)?)?,
        "proc.cwd" => thread(ev).cwd = v.one(key)?.into(),
        "proc.tty" => thread(ev).tty = num(key, v.one(key)?)?,
        "proc.sname" => thread(ev).sname = v.one(key)?.into(),
        "proc.is_exe_upper_layer" => thread(ev).exe_upper_layer = boolean(key, v.one(key)?)?,
        "proc.is_exe_from_memfd" => thread(ev).exe_from_memfd = boolean(key, v.one(key)?)?,
        "thread.cap_effective" => thread(ev).cap_effective = num(key, v.one(key)?)?,
        "proc.pname" => ancestor(ev, 1).name = v.one(key)?.into(),
        "proc.pexe" => ancestor(ev, 1).exe = v.one(key)?.into(),
        "proc.pexepath" => ancestor(ev, 1).exepath = v.one(key)?.into(),
        "proc.pcmdline" => {
            let mut words = v.many().into_iter();
            let first = words.next().unwrap_or_default();
            let a = ancestor(ev, 1);
            if a.name.is_empty() {
                a.name = first;
            }
            a.args = words.collect();
        }
        "user.name" => ev.user.get_or_insert((0, String::new())).1 = v.one(key)?.into(),
        "user.uid" => {
            let uid = num(key, v.one(key)?)?;
            ev.user.get_or_insert((0, String::new())).0 = uid;
            thread(ev).euid = uid;
        }
        "user.loginuid" => {
            let uid = num(key, v.one(key)?)?;
            ev.login_user.get_or_insert((0, String::new())).0 = uid;
            thread(ev).loginuid = uid;
        }
        "user.loginname" => ev.login_user.get_or_insert((0, String::new())).1 = v.one(key)?.into(),
        "group.name" => ev.group.get_or_insert((0, String::new())).1 = v.one(key)?.into(),
        "group.gid" => ev.group.get_or_insert((0, String::new())).0 = num(key, v.one(key)?)?,
        "fd.num" => fd(ev).num = num(key, v.one(key)?)?,
        "fd.name" => {
            let s: String = v.one(key)?.into();
            let f = fd(ev);
            f.name_raw = s.clone();
            f.name = s;
        }
        "fd.type" => fd(ev).ty = fd_type(key, v.one(key)?)?,
        "fd.l4proto" => {
            fd(ev).l4proto = match v.one(key)? {
                "tcp" => L4Proto::Tcp,
                "udp" => L4Proto::Udp,
                "icmp" => L4Proto::Icmp,
                "raw" => L4Proto::Raw,
                other => return Err(format!("`{key}`: unknown protocol `{other}`")),
            }
        }
        "fd.lip" => fd(ev).local.ip = ip_bytes(key, v.one(key)?)?,
        "fd.lport" => fd(ev).local.port = num(key, v.one(key)?)?,
        "fd.rip" => fd(ev).remote.ip = ip_bytes(key, v.one(key)?)?,
        "fd.rport" => fd(ev).remote.port = num(key, v.one(key)?)?,
        // Server and client ends: the local end is the server when this
        // process accepted the connection.
        "fd.sip" | "fd.sport" | "fd.cip" | "fd.cport" => {
            let s = v.one(key)?.to_string();
            let f = fd(ev);
            let server_is_local = f.is_server;
            let end = match (key, server_is_local) {
                ("fd.sip" | "fd.sport", true) | ("fd.cip" | "fd.cport", false) => &mut f.local,
                _ => &mut f.remote,
            };
            if key.ends_with("port") {
                end.port = num(key, &s)?;
            } else {
                end.ip = ip_bytes(key, &s)?;
            }
        }
        "fd.is_server" => {
            let b = boolean(key, v.one(key)?)?;
            let f = fd(ev);
            if b != f.is_server {
                std::mem::swap(&mut f.local, &mut f.remote);
            }
            f.is_server = b;
        }
        "fd.connected" => fd(ev).connected = boolean(key, v.one(key)?)?,
        "container.id" => container(ev).id = v.one(key)?.into(),
        "container.name" => container(ev).name = v.one(key)?.into(),
        "container.image.repository" => container(ev).image_repository = v.one(key)?.into(),
        "container.image.tag" => container(ev).image_tag = v.one(key)?.into(),
        "container.privileged" => container(ev).privileged = boolean(key, v.one(key)?)?,
        "container.start_ts" => container(ev).start_ts = num(key, v.one(key)?)?,
        "container.mounts" => {
            let mut mounts = Vec::new();
            for m in v.many() {
                let mut parts = m.splitn(3, ':');
                let (Some(source), Some(dest)) = (parts.next(), parts.next()) else {
                    return Err(format!("`{key}`: `{m}` is not SOURCE:DEST[:ro]"));
                };
                mounts.push(Mount {
                    source: source.into(),
                    dest: dest.into(),
                    rw: parts.next() != Some("ro"),
                });
            }
            container(ev).mounts = mounts;
        }
        "k8s.ns.name" => {
            ev.k8s.get_or_insert((String::new(), String::new())).0 = v.one(key)?.into()
        }
        "k8s.pod.name" => {
            ev.k8s.get_or_insert((String::new(), String::new())).1 = v.one(key)?.into()
        }
        _ => return Err(format!("fixtures cannot set `{key}`")),
    }
    Ok(())
}

fn set_param(ev: &mut Event, key: &str, i: usize, v: &FixtureValue) -> Result<(), String> {
    let info = table::info(ev.kind);
    let p = info.params.get(i).ok_or_else(|| {
        format!(
            "`{key}`: event `{}` has {} parameters",
            info.name,
            info.params.len()
        )
    })?;
    let param = match p.ty {
        ParamType::Fd | ParamType::Pid | ParamType::Int => Param::Int(num(key, v.one(key)?)?),
        ParamType::Flags(set) => Param::Uint(flag_value(key, set, v.one(key)?)?),
        ParamType::Path | ParamType::Bytes => Param::Bytes(v.one(key)?.as_bytes().to_vec()),
        ParamType::List => Param::List(v.many().into_iter().map(String::into_bytes).collect()),
        ParamType::SockAddr => Param::Addr(addr(key, v.one(key)?)?),
        ParamType::SockTuple => {
            let s = v.one(key)?;
            let (l, r) = s
                .split_once("->")
                .ok_or_else(|| format!("`{key}`: expected LOCAL->REMOTE, not `{s}`"))?;
            Param::Tuple(addr(key, l.trim())?, addr(key, r.trim())?)
        }
        ParamType::Bool => Param::Uint(boolean(key, v.one(key)?)? as u64),
        _ => Param::Uint(num(key, v.one(key)?)?),
    };
    if ev.params.len() <= i {
        ev.params.resize(i + 1, Param::None);
    }
    ev.params[i] = param;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::{lookup, sample::with_view};
    use schema::Kind;

    fn one(k: &str, v: &str) -> (String, FixtureValue) {
        (k.to_string(), FixtureValue::One(v.to_string()))
    }

    fn render(ev: &Event, field: &str, arg: Option<&str>) -> String {
        let f = lookup(field, arg).unwrap();
        with_view(ev, 1, |v| {
            let mut s = String::new();
            f.render(v, &mut s);
            s
        })
    }

    #[test]
    fn builds_what_fields_read_back() {
        let ev = build(&[
            one("evt.type", "openat"),
            one("evt.arg.flags", "O_WRONLY|O_CREAT"),
            one("proc.cmdline", "bash -c id"),
            one("proc.aname[2]", "sshd"),
            one("fd.name", "/etc/passwd"),
            one("container.id", "abc123"),
            one("user.name", "root"),
        ])
        .unwrap();
        assert_eq!(ev.kind, Kind::Openat);
        assert_eq!(render(&ev, "evt.arg", Some("flags")), "O_WRONLY|O_CREAT");
        assert_eq!(render(&ev, "proc.name", None), "bash");
        assert_eq!(render(&ev, "proc.aname", Some("2")), "sshd");
        assert_eq!(render(&ev, "fd.directory", None), "/etc");
        assert_eq!(render(&ev, "container.id", None), "abc123");
        assert_eq!(render(&ev, "user.name", None), "root");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        assert!(build(&[one("proc.name", "x")])
            .unwrap_err()
            .contains("needs `evt.type`"));
        assert!(build(&[one("evt.type", "nosuch")])
            .unwrap_err()
            .contains("no event `nosuch`"));
        assert!(build(&[one("evt.type", "open"), one("proc.bogus", "x")])
            .unwrap_err()
            .contains("cannot set `proc.bogus`"));
        assert!(build(&[one("evt.type", "open"), one("evt.arg.nope", "x")])
            .unwrap_err()
            .contains("no parameter `nope`"));
        assert!(build(&[one("evt.type", "open"), one("proc.pid", "x")])
            .unwrap_err()
            .contains("not a number"));
        assert!(
            build(&[one("evt.type", "open"), one("evt.arg.flags", "O_BOGUS")])
                .unwrap_err()
                .contains("not a flag")
        );
    }
}
