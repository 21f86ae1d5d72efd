//! One file descriptor's state, and its name as Falco renders `fd.name`:
//! files by absolute path, connected IP sockets as `cip:cport->sip:sport`,
//! bound ones as `ip:port`, unix sockets by path (abstract ones as `@name`),
//! memfds as `memfd:NAME`.
//!
//! It is not the per-process table ([`crate::tables::fdtable`])
//! nor the code that decides which syscall changes what (see
//! [`crate::apply`]).

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use schema::kestrel_capnp::{fd, sock_addr, Family, FdType, L4Proto};

use crate::tables::fdname::FdName;

/// A socket address, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addr {
    pub family: Family,
    /// Address bytes: 4 used for inet, 16 for inet6.
    pub ip: [u8; 16],
    pub port: u16,
    /// Unix socket path.
    pub path: Vec<u8>,
    pub raw_family: u16,
}

impl Default for Addr {
    fn default() -> Self {
        Addr {
            family: Family::Unspec,
            ip: [0; 16],
            port: 0,
            path: Vec::new(),
            raw_family: 0,
        }
    }
}

impl Addr {
    /// Reads a wire address; malformed address bytes leave the address
    /// zeroed rather than failing the event.
    pub fn read(r: sock_addr::Reader<'_>) -> Addr {
        let family = r.get_family().unwrap_or(Family::Other);
        let mut ip = [0u8; 16];
        if let Ok(bytes) = r.get_addr() {
            let want = match family {
                Family::Inet => 4,
                Family::Inet6 => 16,
                _ => 0,
            };
            if bytes.len() == want {
                ip[..want].copy_from_slice(bytes);
            }
        }
        Addr {
            family,
            ip,
            port: r.get_port(),
            path: r.get_path().map(<[u8]>::to_vec).unwrap_or_default(),
            raw_family: r.get_raw_family(),
        }
    }

    /// [`Self::read`], boxed as a descriptor holds it: most descriptors
    /// are files, and two addresses inline would triple every table slot.
    pub fn boxed(r: sock_addr::Reader<'_>) -> Box<Addr> {
        Box::new(Addr::read(r))
    }

    /// Writes this address into a wire builder.
    pub fn write(&self, mut b: sock_addr::Builder<'_>) {
        b.set_family(self.family);
        match self.family {
            Family::Inet => b.set_addr(&self.ip[..4]),
            Family::Inet6 => b.set_addr(&self.ip[..]),
            _ => {}
        }
        b.set_port(self.port);
        if !self.path.is_empty() {
            b.set_path(&self.path);
        }
        b.set_raw_family(self.raw_family);
    }

    /// True for an IP address (v4 or v6).
    pub fn is_ip(&self) -> bool {
        matches!(self.family, Family::Inet | Family::Inet6)
    }

    /// `ip:port` in the usual text forms (IPv6 without brackets, as Falco).
    pub fn render_ip_port(&self, out: &mut String) {
        match self.family {
            Family::Inet => {
                let a = Ipv4Addr::new(self.ip[0], self.ip[1], self.ip[2], self.ip[3]);
                let _ = write!(out, "{a}:{}", self.port);
            }
            Family::Inet6 => {
                let a = Ipv6Addr::from(self.ip);
                let _ = write!(out, "{a}:{}", self.port);
            }
            _ => {}
        }
    }

    /// The unix path as Falco shows it: abstract names (leading NUL) as `@`.
    pub fn unix_name(&self) -> Vec<u8> {
        match self.path.split_first() {
            Some((0, rest)) => {
                let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
                let mut v = Vec::with_capacity(end + 1);
                v.push(b'@');
                v.extend_from_slice(&rest[..end]);
                v
            }
            _ => {
                let end = self
                    .path
                    .iter()
                    .position(|&b| b == 0)
                    .unwrap_or(self.path.len());
                self.path[..end].to_vec()
            }
        }
    }
}

/// The state of one descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FdEntry {
    pub ty: FdType,
    /// Shared with the copies of this entry (fork children, dups).
    pub name: FdName,
    pub l4: L4Proto,
    pub local: Option<Box<Addr>>,
    pub remote: Option<Box<Addr>>,
    pub is_server: bool,
    pub connected: bool,
    pub open_flags: u32,
    pub dev: u64,
    pub ino: u64,
    pub sock_type: u32,
    /// Closed by a successful execve (O_CLOEXEC and friends).
    pub cloexec: bool,
    /// Built from an event on an fd enrich had never seen.
    pub partial: bool,
}

impl FdEntry {
    /// An entry of type `ty` with nothing else known.
    pub fn new(ty: FdType) -> FdEntry {
        FdEntry {
            ty,
            name: FdName::default(),
            l4: L4Proto::Unknown,
            local: None,
            remote: None,
            is_server: false,
            connected: false,
            open_flags: 0,
            dev: 0,
            ino: 0,
            sock_type: 0,
            cloexec: false,
            partial: false,
        }
    }

    /// An entry read from a snapshot's `snapshotFds` item. capture names
    /// files and pipes; socket names are rendered here from the addresses
    /// so they follow the same rules as live ones.
    pub fn read(r: fd::Reader<'_>) -> FdEntry {
        let ty = r.get_type().unwrap_or(FdType::Unknown);
        let mut e = FdEntry::new(ty);
        e.name = r.get_name().map(FdName::from).unwrap_or_default();
        e.l4 = r.get_l4proto().unwrap_or(L4Proto::Unknown);
        if r.has_local() {
            e.local = r.get_local().ok().map(Addr::boxed);
        }
        if r.has_remote() {
            e.remote = r.get_remote().ok().map(Addr::boxed);
        }
        e.is_server = r.get_is_server();
        e.connected = r.get_connected();
        e.open_flags = r.get_open_flags();
        e.dev = r.get_dev();
        e.ino = r.get_ino();
        e.sock_type = r.get_sock_type();
        e.cloexec = e.open_flags & O_CLOEXEC != 0;
        if matches!(ty, FdType::Ipv4 | FdType::Ipv6 | FdType::Unix) && e.name.is_empty() {
            e.rename();
        }
        e
    }

    /// Re-renders `name` from the socket addresses (sockets only).
    pub fn rename(&mut self) {
        match self.ty {
            FdType::Ipv4 | FdType::Ipv6 => {
                let mut s = String::with_capacity(48);
                match (&self.local, &self.remote) {
                    (Some(l), Some(r)) if self.connected || r.port != 0 => {
                        // Client first: on the accepting side the peer is the client.
                        let (c, srv) = if self.is_server { (r, l) } else { (l, r) };
                        c.render_ip_port(&mut s);
                        s.push_str("->");
                        srv.render_ip_port(&mut s);
                    }
                    (Some(l), _) => l.render_ip_port(&mut s),
                    (None, Some(r)) => r.render_ip_port(&mut s),
                    (None, None) => {}
                }
                self.name = FdName::from(s.into_bytes());
            }
            FdType::Unix => {
                // The path of whichever end has one: the peer's for a
                // client, the bound one for a server.
                let named = [&self.remote, &self.local]
                    .into_iter()
                    .flatten()
                    .find(|a| !a.path.is_empty());
                if let Some(a) = named {
                    self.name = FdName::from(a.unix_name());
                }
            }
            _ => {}
        }
    }

    /// Writes this entry as the event's `fd`, numbered `num`.
    pub fn write(&self, num: i64, name_changed: bool, mut b: fd::Builder<'_>) {
        b.set_num(num);
        b.set_type(self.ty);
        if !self.name.is_empty() {
            b.set_name(self.name.as_bytes());
        }
        b.set_l4proto(self.l4);
        if let Some(a) = &self.local {
            a.write(b.reborrow().init_local());
        }
        if let Some(a) = &self.remote {
            a.write(b.reborrow().init_remote());
        }
        b.set_is_server(self.is_server);
        b.set_connected(self.connected);
        b.set_name_changed(name_changed);
        b.set_open_flags(self.open_flags);
        b.set_dev(self.dev);
        b.set_ino(self.ino);
        b.set_sock_type(self.sock_type);
    }
}

/// `O_CLOEXEC` (also the value of `SOCK_CLOEXEC` and of accept4's flag).
pub const O_CLOEXEC: u32 = 0o2_000_000;
/// `O_DIRECTORY`.
pub const O_DIRECTORY: u32 = 0o200_000;

/// The fd type of a socket of `domain` (AF_*).
pub fn socket_type(domain: u64) -> FdType {
    match domain {
        1 => FdType::Unix,
        2 => FdType::Ipv4,
        10 => FdType::Ipv6,
        16 => FdType::Netlink,
        _ => FdType::Unknown,
    }
}

/// The fd type of an address family.
pub fn family_type(f: Family) -> FdType {
    match f {
        Family::Unix => FdType::Unix,
        Family::Inet => FdType::Ipv4,
        Family::Inet6 => FdType::Ipv6,
        Family::Netlink => FdType::Netlink,
        _ => FdType::Unknown,
    }
}

/// The l4 protocol of a socket of `sock_type` (SOCK_*, flags masked off)
/// and protocol number `proto`.
pub fn l4proto(domain: u64, sock_type: u32, proto: u64) -> L4Proto {
    if !matches!(domain, 2 | 10) {
        return L4Proto::Unknown;
    }
    match (sock_type & 0xf, proto) {
        (1, _) => L4Proto::Tcp,
        (2, 1) | (2, 58) => L4Proto::Icmp,
        (2, _) => L4Proto::Udp,
        (3, 1) | (3, 58) => L4Proto::Icmp,
        (3, _) => L4Proto::Raw,
        _ => L4Proto::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(a: [u8; 4], port: u16) -> Addr {
        let mut ip = [0; 16];
        ip[..4].copy_from_slice(&a);
        Addr {
            family: Family::Inet,
            ip,
            port,
            ..Addr::default()
        }
    }

    #[test]
    fn connected_ipv4_names_put_the_client_first() {
        let mut e = FdEntry::new(FdType::Ipv4);
        e.local = Some(Box::new(v4([10, 0, 0, 1], 40000)));
        e.remote = Some(Box::new(v4([1, 2, 3, 4], 443)));
        e.connected = true;
        e.rename();
        assert_eq!(e.name.as_bytes(), b"10.0.0.1:40000->1.2.3.4:443");
        e.is_server = true;
        e.rename();
        assert_eq!(e.name.as_bytes(), b"1.2.3.4:443->10.0.0.1:40000");
    }

    #[test]
    fn bound_and_ipv6_names() {
        let mut e = FdEntry::new(FdType::Ipv4);
        e.local = Some(Box::new(v4([0, 0, 0, 0], 8080)));
        e.rename();
        assert_eq!(e.name.as_bytes(), b"0.0.0.0:8080");
        let mut ip = [0; 16];
        ip[15] = 1;
        let a = Addr {
            family: Family::Inet6,
            ip,
            port: 22,
            ..Addr::default()
        };
        let mut e = FdEntry::new(FdType::Ipv6);
        e.local = Some(Box::new(Addr {
            port: 5555,
            ..a.clone()
        }));
        e.remote = Some(Box::new(a));
        e.connected = true;
        e.rename();
        assert_eq!(e.name.as_bytes(), b"::1:5555->::1:22");
    }

    #[test]
    fn unix_names_and_abstract_sockets() {
        let mut e = FdEntry::new(FdType::Unix);
        e.remote = Some(Box::new(Addr {
            family: Family::Unix,
            path: b"\0dbus-abc".to_vec(),
            ..Addr::default()
        }));
        e.rename();
        assert_eq!(e.name.as_bytes(), b"@dbus-abc");
        e.remote = Some(Box::new(Addr {
            family: Family::Unix,
            path: b"/run/docker.sock".to_vec(),
            ..Addr::default()
        }));
        e.rename();
        assert_eq!(e.name.as_bytes(), b"/run/docker.sock");
    }

    #[test]
    fn socket_protocols() {
        assert_eq!(l4proto(2, 1 | O_CLOEXEC, 0), L4Proto::Tcp);
        assert_eq!(l4proto(10, 2, 17), L4Proto::Udp);
        assert_eq!(l4proto(2, 3, 1), L4Proto::Icmp);
        assert_eq!(l4proto(1, 1, 0), L4Proto::Unknown);
        assert_eq!(socket_type(10), FdType::Ipv6);
    }
}
