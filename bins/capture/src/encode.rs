//! Turning a checked [`Record`] into an `Event` frame: parameter bytes are
//! given their wire form according to the event table's type for that
//! position (integers, byte strings, NUL-separated lists, socket addresses
//! and tuples), and kernel boot-clock times become wall-clock times.
//!
//! It does not validate the record's framing ([`crate::record`] did), but it
//! does check each parameter's size for its type: a parameter of the wrong
//! size becomes `none`, never a panic.

use schema::kestrel_capnp::{event, param, sock_addr, Family};
use schema::table::{self, ParamType};

use crate::layout::FLAG_TRUNCATED;
use crate::record::Record;

/// `Event.flags` bit: a parameter was truncated.
pub const EVENT_FLAG_TRUNCATED: u32 = 1;

const AF_UNSPEC: u16 = 0;
const AF_UNIX: u16 = 1;
const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;
const AF_NETLINK: u16 = 16;
/// Bytes of a `sockaddr_in` up to the end of its address.
const SOCKADDR_IN_BYTES: usize = 8;
/// Bytes of a `sockaddr_in6` up to the end of its address.
const SOCKADDR_IN6_BYTES: usize = 24;

/// Fills `ev` from `rec`. `boot_wall_ns` is the wall-clock time of boot.
pub fn fill_event(mut ev: event::Builder<'_>, rec: &Record<'_>, boot_wall_ns: u64) {
    ev.set_ts_ns(boot_wall_ns.wrapping_add(rec.ts_boot_ns));
    ev.set_cpu(rec.cpu);
    ev.set_tid(rec.tid);
    ev.set_pid(rec.pid);
    ev.set_kind(rec.kind);
    ev.set_ret(rec.ret);
    if rec.flags & FLAG_TRUNCATED != 0 {
        ev.set_flags(EVENT_FLAG_TRUNCATED);
    }
    let info = table::info(rec.kind);
    let n = rec.param_count().min(info.params.len());
    let mut params = ev.init_params(n as u32);
    for (i, p) in info.params.iter().enumerate().take(n) {
        fill_param(params.reborrow().get(i as u32), p.ty, rec.param(i));
    }
}

fn fill_param(mut out: param::Builder<'_>, ty: ParamType, bytes: Option<&[u8]>) {
    let Some(b) = bytes else {
        out.set_none(());
        return;
    };
    match ty {
        ParamType::Fd | ParamType::Pid | ParamType::Int => match le_u64(b) {
            Some(v) => out.set_int(v as i64),
            None => out.set_none(()),
        },
        ParamType::Uint
        | ParamType::Flags(_)
        | ParamType::Mode
        | ParamType::Uid
        | ParamType::Gid
        | ParamType::Dev
        | ParamType::Ino
        | ParamType::Caps
        | ParamType::Signal
        | ParamType::Bool
        | ParamType::Time => match le_u64(b) {
            Some(v) => out.set_uint(v),
            None => out.set_none(()),
        },
        ParamType::Path | ParamType::Bytes => out.set_bytes(b),
        ParamType::List => {
            let items = split_nul(b);
            let mut list = out.init_list(items.len() as u32);
            for (i, item) in items.iter().enumerate() {
                list.set(i as u32, item);
            }
        }
        ParamType::SockAddr => {
            if !sockaddr_ok(b) {
                out.set_none(());
                return;
            }
            fill_sockaddr(out.init_sockaddr(), b);
        }
        ParamType::SockTuple => {
            // One byte: the local address's length; then local, then remote.
            let Some((&llen, rest)) = b.split_first() else {
                out.set_none(());
                return;
            };
            let llen = llen as usize;
            if llen > rest.len() {
                out.set_none(());
                return;
            }
            let (local, remote) = rest.split_at(llen);
            if !sockaddr_ok(local) || !sockaddr_ok(remote) {
                out.set_none(());
                return;
            }
            let mut t = out.init_tuple();
            fill_sockaddr(t.reborrow().init_local(), local);
            fill_sockaddr(t.init_remote(), remote);
        }
    }
}

fn le_u64(b: &[u8]) -> Option<u64> {
    let a: [u8; 8] = b.try_into().ok()?;
    Some(u64::from_le_bytes(a))
}

/// The items of a NUL-separated list; a final terminating NUL does not make
/// an extra empty item.
fn split_nul(b: &[u8]) -> Vec<&[u8]> {
    if b.is_empty() {
        return Vec::new();
    }
    let b = b.strip_suffix(&[0]).unwrap_or(b);
    b.split(|&c| c == 0).collect()
}

fn family_of(b: &[u8]) -> Option<u16> {
    Some(u16::from_le_bytes([*b.first()?, *b.get(1)?]))
}

/// Whether `b` is long enough for its family.
fn sockaddr_ok(b: &[u8]) -> bool {
    match family_of(b) {
        Some(AF_INET) => b.len() >= SOCKADDR_IN_BYTES,
        Some(AF_INET6) => b.len() >= SOCKADDR_IN6_BYTES,
        Some(_) => true,
        None => false,
    }
}

/// Fills a socket address from raw `struct sockaddr_*` bytes checked by
/// [`sockaddr_ok`].
fn fill_sockaddr(mut out: sock_addr::Builder<'_>, b: &[u8]) {
    let fam = family_of(b).unwrap_or(AF_UNSPEC);
    out.set_raw_family(fam);
    match fam {
        AF_INET => {
            out.set_family(Family::Inet);
            out.set_port(u16::from_be_bytes([b[2], b[3]]));
            out.set_addr(&b[4..8]);
        }
        AF_INET6 => {
            out.set_family(Family::Inet6);
            out.set_port(u16::from_be_bytes([b[2], b[3]]));
            out.set_addr(&b[8..24]);
        }
        AF_UNIX => {
            out.set_family(Family::Unix);
            let path = &b[2..];
            // An abstract name starts with NUL and is all its bytes; a
            // filesystem path ends at its first NUL.
            let path = match path.first() {
                Some(0) => path,
                _ => path.split(|&c| c == 0).next().unwrap_or(&[]),
            };
            out.set_path(path);
        }
        AF_NETLINK => out.set_family(Family::Netlink),
        AF_UNSPEC => out.set_family(Family::Unspec),
        _ => out.set_family(Family::Other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{self, tests::build};
    use schema::kestrel_capnp::frame;
    use schema::Kind;

    fn encode(rec_bytes: &[u8]) -> capnp::message::Builder<capnp::message::HeapAllocator> {
        let rec = record::parse(rec_bytes).unwrap();
        let mut msg = capnp::message::Builder::new_default();
        fill_event(msg.init_root::<frame::Builder>().init_event(), &rec, 1000);
        msg
    }

    fn sin(port: u16, addr: [u8; 4]) -> Vec<u8> {
        let mut v = AF_INET.to_le_bytes().to_vec();
        v.extend_from_slice(&port.to_be_bytes());
        v.extend_from_slice(&addr);
        v
    }

    #[test]
    fn connect_with_address_and_tuple() {
        let remote = sin(8080, [127, 0, 0, 1]);
        let mut tuple = vec![8u8];
        tuple.extend(sin(40000, [127, 0, 0, 1]));
        tuple.extend(&remote);
        let b = build(
            Kind::Connect,
            0,
            &[Some(&4i64.to_le_bytes()), Some(&remote), Some(&tuple)],
        );
        let msg = encode(&b);
        let ev = match msg
            .get_root_as_reader::<frame::Reader>()
            .unwrap()
            .which()
            .unwrap()
        {
            frame::Event(e) => e.unwrap(),
            _ => panic!("not an event"),
        };
        assert_eq!(ev.get_ts_ns(), 1007);
        let ps = ev.get_params().unwrap();
        assert!(matches!(ps.get(0).which().unwrap(), param::Int(4)));
        let param::Sockaddr(Ok(a)) = ps.get(1).which().unwrap() else {
            panic!("addr")
        };
        assert_eq!(
            (a.get_family().unwrap(), a.get_port(), a.get_addr().unwrap()),
            (Family::Inet, 8080, &[127, 0, 0, 1][..])
        );
        let param::Tuple(Ok(t)) = ps.get(2).which().unwrap() else {
            panic!("tuple")
        };
        assert_eq!(t.get_local().unwrap().get_port(), 40000);
        assert_eq!(t.get_remote().unwrap().get_port(), 8080);
    }

    #[test]
    fn lists_unix_paths_and_short_values() {
        assert_eq!(
            split_nul(b"ls\0-l\0\0x\0"),
            vec![&b"ls"[..], b"-l", b"", b"x"]
        );
        assert!(split_nul(b"").is_empty());
        let mut un = AF_UNIX.to_le_bytes().to_vec();
        un.extend_from_slice(b"/run/x.sock\0junk");
        let b = build(Kind::Bind, 0, &[Some(&[1, 2, 3]), Some(&un)]);
        let msg = encode(&b);
        let frame::Event(Ok(ev)) = msg
            .get_root_as_reader::<frame::Reader>()
            .unwrap()
            .which()
            .unwrap()
        else {
            panic!("not an event")
        };
        let ps = ev.get_params().unwrap();
        // A 3-byte fd is malformed: none rather than a guess.
        assert!(matches!(ps.get(0).which().unwrap(), param::None(())));
        let param::Sockaddr(Ok(a)) = ps.get(1).which().unwrap() else {
            panic!("addr")
        };
        assert_eq!(a.get_path().unwrap(), b"/run/x.sock");
        // A too-short inet address is none.
        assert!(!sockaddr_ok(&sin(1, [1, 2, 3, 4])[..7]));
    }
}
