//! The socket tables of one network namespace, read from
//! `/proc/PID/net/{tcp,tcp6,udp,udp6,unix,netlink}` and indexed by socket
//! inode, so that an fd whose link reads `socket:[INO]` can be given its
//! addresses and protocol.
//!
//! What it cannot see: the peer path of a unix socket (only sock_diag knows
//! it), and sockets of protocols without a /proc table (raw, packet…), which
//! stay of unknown type.

use std::collections::HashMap;
use std::fs;

/// Most sockets kept per network namespace. A busy proxy can have a few
/// hundred thousand; past this, the rest are reported as unknown sockets.
pub const MAX_SOCKETS_PER_NETNS: usize = 262_144;

/// TCP state code of a listening socket in /proc/net/tcp.
const TCP_LISTEN: u8 = 0x0A;
/// TCP state code of an established connection.
const TCP_ESTABLISHED: u8 = 0x01;

/// The address family of a socket, as the snapshot needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Inet,
    Inet6,
    Unix,
    Netlink,
}

/// The transport protocol of an inet socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Tcp,
    Udp,
    /// Unix and netlink sockets.
    None,
}

/// One end point: address bytes (4 or 16 for inet, empty otherwise) and port.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Endpoint {
    pub addr: Vec<u8>,
    pub port: u16,
}

/// What the tables say about one socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SockInfo {
    pub family: Family,
    pub proto: Proto,
    pub local: Endpoint,
    pub remote: Endpoint,
    /// Unix socket path (abstract names begin with a NUL byte).
    pub path: Vec<u8>,
    /// SOCK_STREAM, SOCK_DGRAM…
    pub sock_type: u32,
    /// An established TCP connection, or a unix socket with a peer.
    pub connected: bool,
    /// An established TCP connection whose local port some listening socket
    /// of the namespace also holds: the accepted (server) side.
    pub is_server: bool,
}

/// All sockets of one network namespace, by inode.
#[derive(Debug, Default)]
pub struct SocketTable {
    by_ino: HashMap<u64, SockInfo>,
}

impl SocketTable {
    /// Reads the tables of the network namespace `pid` is in. Missing files
    /// (IPv6 disabled, a process that just exited) leave their part empty.
    pub fn read(pid: i32) -> Self {
        let mut t = SocketTable::default();
        let base = format!("/proc/{pid}/net");
        for (file, family, proto) in [
            ("tcp", Family::Inet, Proto::Tcp),
            ("tcp6", Family::Inet6, Proto::Tcp),
            ("udp", Family::Inet, Proto::Udp),
            ("udp6", Family::Inet6, Proto::Udp),
        ] {
            if let Ok(text) = fs::read_to_string(format!("{base}/{file}")) {
                t.add_inet(&text, family, proto);
            }
        }
        if let Ok(text) = fs::read(format!("{base}/unix")) {
            t.add_unix(&text);
        }
        if let Ok(text) = fs::read_to_string(format!("{base}/netlink")) {
            t.add_netlink(&text);
        }
        t.mark_servers();
        t
    }

    /// The socket with this inode, if a table listed it.
    pub fn get(&self, ino: u64) -> Option<&SockInfo> {
        self.by_ino.get(&ino)
    }

    fn insert(&mut self, ino: u64, info: SockInfo) {
        if ino != 0 && self.by_ino.len() < MAX_SOCKETS_PER_NETNS {
            self.by_ino.insert(ino, info);
        }
    }

    /// `sl local rem st tx:rx tr:when retr uid timeout inode …`
    fn add_inet(&mut self, text: &str, family: Family, proto: Proto) {
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 10 {
                continue;
            }
            let (Some(local), Some(remote), Ok(state), Ok(ino)) = (
                parse_endpoint(f[1]),
                parse_endpoint(f[2]),
                u8::from_str_radix(f[3], 16),
                f[9].parse::<u64>(),
            ) else {
                continue;
            };
            let (sock_type, connected) = match proto {
                Proto::Tcp => (libc::SOCK_STREAM as u32, state == TCP_ESTABLISHED),
                _ => (libc::SOCK_DGRAM as u32, remote.port != 0),
            };
            let listening = proto == Proto::Tcp && state == TCP_LISTEN;
            self.insert(
                ino,
                SockInfo {
                    family,
                    proto,
                    local,
                    remote,
                    path: Vec::new(),
                    sock_type,
                    connected,
                    // Provisional: true marks a listener until mark_servers.
                    is_server: listening,
                },
            );
        }
    }

    /// `Num RefCount Protocol Flags Type St Inode [Path]`; the path may hold
    /// spaces, so it is everything after the inode column.
    fn add_unix(&mut self, text: &[u8]) {
        for line in text.split(|&b| b == b'\n').skip(1) {
            let mut rest = line;
            let mut cols: Vec<&[u8]> = Vec::with_capacity(7);
            while cols.len() < 7 {
                let start = rest.iter().position(|&b| b != b' ').unwrap_or(rest.len());
                rest = &rest[start..];
                let end = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
                if end == 0 {
                    break;
                }
                cols.push(&rest[..end]);
                rest = &rest[end..];
            }
            if cols.len() < 7 {
                continue;
            }
            let num = |b: &[u8], radix| {
                std::str::from_utf8(b)
                    .ok()
                    .and_then(|s| u64::from_str_radix(s, radix).ok())
            };
            let (Some(sock_type), Some(state), Some(ino)) =
                (num(cols[4], 16), num(cols[5], 16), num(cols[6], 10))
            else {
                continue;
            };
            let mut path = rest.strip_prefix(b" ").unwrap_or(rest).to_vec();
            // Abstract names are shown with a leading '@' for their NUL.
            if path.first() == Some(&b'@') {
                path[0] = 0;
            }
            self.insert(
                ino,
                SockInfo {
                    family: Family::Unix,
                    proto: Proto::None,
                    local: Endpoint::default(),
                    remote: Endpoint::default(),
                    path,
                    sock_type: sock_type as u32,
                    // SS_CONNECTED.
                    connected: state == 3,
                    is_server: false,
                },
            );
        }
    }

    /// `sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode`
    fn add_netlink(&mut self, text: &str) {
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let Some(Ok(ino)) = f.get(9).map(|s| s.parse::<u64>()) else {
                continue;
            };
            self.insert(
                ino,
                SockInfo {
                    family: Family::Netlink,
                    proto: Proto::None,
                    local: Endpoint::default(),
                    remote: Endpoint::default(),
                    path: Vec::new(),
                    sock_type: libc::SOCK_RAW as u32,
                    connected: false,
                    is_server: false,
                },
            );
        }
    }

    /// Turns the provisional listener marks into the server flag of
    /// established connections on a listened port.
    fn mark_servers(&mut self) {
        let listening: std::collections::HashSet<(Family, u16)> = self
            .by_ino
            .values()
            .filter(|s| s.proto == Proto::Tcp && s.is_server)
            .map(|s| (s.family, s.local.port))
            .collect();
        for s in self.by_ino.values_mut() {
            if s.proto == Proto::Tcp {
                s.is_server = s.connected && listening.contains(&(s.family, s.local.port));
            }
        }
    }
}

/// `0100007F:1F90` or a 32-hex-digit IPv6 address and a port. The kernel
/// prints each 32-bit word of the (network order) address as a host-order
/// number, so each word's native bytes are the address bytes.
fn parse_endpoint(s: &str) -> Option<Endpoint> {
    let (addr_hex, port_hex) = s.split_once(':')?;
    if addr_hex.len() != 8 && addr_hex.len() != 32 {
        return None;
    }
    let mut addr = Vec::with_capacity(addr_hex.len() / 2);
    for i in (0..addr_hex.len()).step_by(8) {
        let word = u32::from_str_radix(addr_hex.get(i..i + 8)?, 16).ok()?;
        addr.extend_from_slice(&word.to_ne_bytes());
    }
    let port = u16::from_str_radix(port_hex, 16).ok()?;
    Some(Endpoint { addr, port })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0 100 0 0 10 0
   1: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 112 1 0 20 4 30 10 -1
   2: 0100007F:D431 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 113 1 0 20 4 30 10 -1
";

    #[test]
    fn tcp_listener_and_both_ends_of_a_connection() {
        let mut t = SocketTable::default();
        t.add_inet(TCP, Family::Inet, Proto::Tcp);
        t.mark_servers();
        let l = t.get(111).expect("listener");
        assert_eq!(
            l.local,
            Endpoint {
                addr: vec![127, 0, 0, 1],
                port: 8080
            }
        );
        assert!(!l.connected && !l.is_server);
        let server = t.get(112).expect("accepted end");
        assert!(server.connected && server.is_server);
        assert_eq!(server.remote.port, 0xD431);
        let client = t.get(113).expect("client end");
        assert!(client.connected && !client.is_server);
        assert_eq!(client.sock_type, libc::SOCK_STREAM as u32);
    }

    #[test]
    fn ipv6_words_are_host_order() {
        let e = parse_endpoint("00000000000000000000000001000000:0050").expect("::1");
        let mut want = vec![0u8; 16];
        want[15] = 1;
        assert_eq!((e.addr, e.port), (want, 80));
        assert_eq!(parse_endpoint("zz:1"), None);
    }

    #[test]
    fn unix_paths_with_spaces_and_abstract_names() {
        let text = b"Num       RefCount Protocol Flags    Type St Inode Path
0000000000000000: 00000002 00000000 00010000 0001 01 201 /run/my sock
0000000000000000: 00000002 00000000 00000000 0002 01 202 @abstract
0000000000000000: 00000003 00000000 00000000 0001 03 203
";
        let mut t = SocketTable::default();
        t.add_unix(text);
        assert_eq!(t.get(201).expect("201").path, b"/run/my sock");
        assert_eq!(t.get(202).expect("202").path, b"\0abstract");
        assert_eq!(t.get(202).expect("202").sock_type, 2);
        let anon = t.get(203).expect("203");
        assert!(anon.path.is_empty() && anon.connected);
    }
}
