//! Sockets: socket and socketpair, connect, accept, bind, and the peers of
//! unconnected sockets' datagrams.

use schema::kestrel_capnp::{Family, FdType, L4Proto};
use schema::Kind;

use super::Call;
use crate::args::Arg;
use crate::engine::{Enricher, EvFd};
use crate::tables::fd::{self, Addr, FdEntry, O_CLOEXEC};

/// connect's "in progress" errno, which Falco counts as a connection.
const EINPROGRESS: i64 = 115;
/// The socket type bits of socket()'s `type` (SOCK_TYPE_MASK); the rest
/// are flags.
const SOCK_TYPE_MASK: u32 = 0xf;
/// socketpair's domain when the event has none: pairs are AF_UNIX.
const AF_UNIX: u64 = 1;

impl Enricher {
    /// socket: a descriptor of the domain's type, with its protocol.
    pub(super) fn apply_socket(&mut self, c: &Call<'_, '_>) -> EvFd {
        let params = c.params;
        let domain = params.uint(Arg::Domain).unwrap_or(0);
        let ty = params.uint(Arg::Type).unwrap_or(0) as u32;
        let mut e = FdEntry::new(fd::socket_type(domain));
        e.l4 = fd::l4proto(domain, ty, params.uint(Arg::Proto).unwrap_or(0));
        e.sock_type = ty & SOCK_TYPE_MASK;
        e.cloexec = ty & O_CLOEXEC != 0;
        self.new_fd(c.tid, c.ret, e)
    }

    /// socketpair: both descriptors, when it succeeded.
    pub(super) fn apply_socketpair(&mut self, c: &Call<'_, '_>) {
        if !c.ok() {
            return;
        }
        let params = c.params;
        let domain = params.uint(Arg::Domain).unwrap_or(AF_UNIX);
        let ty = params.uint(Arg::Type).unwrap_or(0) as u32;
        for arg in [Arg::Fd1, Arg::Fd2] {
            if let Some(num) = params.int(arg) {
                let mut e = FdEntry::new(fd::socket_type(domain));
                e.sock_type = ty & SOCK_TYPE_MASK;
                e.cloexec = ty & O_CLOEXEC != 0;
                let _ = self.put_fd(c.tid, num, e);
            }
        }
    }

    /// connect: the socket's addresses (the tuple when capture read it,
    /// else the address connected to); a connection in progress counts.
    pub(super) fn apply_connect(&mut self, c: &Call<'_, '_>) -> Option<EvFd> {
        let (tid, params) = (c.tid, c.params);
        let num = params.int(Arg::Fd)?;
        let mut efd = self.fd_param(tid, num);
        if c.ok() || c.ret == -EINPROGRESS {
            let (local, remote) = match params.tuple(Arg::Tuple) {
                Some(t) => (
                    t.get_local().ok().map(Addr::boxed),
                    t.get_remote().ok().map(Addr::boxed),
                ),
                None => (None, params.sockaddr(Arg::Addr).map(Addr::boxed)),
            };
            let updated = self.threads.update_fd(tid, num, |e| {
                if e.ty == FdType::Unknown {
                    if let Some(a) = remote.as_ref().or(local.as_ref()) {
                        e.ty = fd::family_type(a.family);
                    }
                }
                if local.is_some() {
                    e.local = local;
                }
                if remote.is_some() {
                    e.remote = remote;
                }
                e.is_server = false;
                e.connected = true;
                e.rename();
            });
            if updated.is_some() {
                efd = EvFd::Table { num, changed: true };
            }
        }
        Some(efd)
    }

    /// accept, accept4: a new connected server-side socket, inheriting
    /// the listener's type, protocol and local address; a failed call
    /// concerns the listener.
    pub(super) fn apply_accept(&mut self, c: &Call<'_, '_>) -> Option<EvFd> {
        let (tid, ret, params) = (c.tid, c.ret, c.params);
        let listener = params.int(Arg::Fd)?;
        if ret < 0 {
            return Some(self.fd_param(tid, listener));
        }
        let base = self
            .threads
            .proc_of(tid)
            .and_then(|p| p.fds.get(listener))
            .cloned();
        let mut e = FdEntry::new(base.as_ref().map_or(FdType::Unknown, |b| b.ty));
        if let Some(b) = &base {
            e.l4 = b.l4;
            e.sock_type = b.sock_type;
            e.local = b.local.clone();
        }
        if let Some(t) = params.tuple(Arg::Tuple) {
            let local = t.get_local().ok().map(Addr::boxed);
            let remote = t.get_remote().ok().map(Addr::boxed);
            if e.ty == FdType::Unknown {
                if let Some(a) = local.as_ref().or(remote.as_ref()) {
                    e.ty = fd::family_type(a.family);
                }
            }
            if local.as_ref().is_some_and(|a| a.family != Family::Unspec) {
                e.local = local;
            }
            e.remote = remote;
        }
        if e.l4 == L4Proto::Unknown && matches!(e.ty, FdType::Ipv4 | FdType::Ipv6) {
            e.l4 = L4Proto::Tcp;
        }
        e.is_server = true;
        e.connected = true;
        e.cloexec =
            c.kind == Kind::Accept4 && params.uint(Arg::Flags).unwrap_or(0) as u32 & O_CLOEXEC != 0;
        e.rename();
        if e.name.is_empty() {
            if let Some(b) = &base {
                e.name = b.name.clone();
            }
        }
        Some(self.new_fd(tid, ret, e))
    }

    /// bind: the socket's local address.
    pub(super) fn apply_bind(&mut self, c: &Call<'_, '_>) -> Option<EvFd> {
        let (tid, params) = (c.tid, c.params);
        let num = params.int(Arg::Fd)?;
        let mut efd = self.fd_param(tid, num);
        if let (true, Some(addr)) = (c.ok(), params.sockaddr(Arg::Addr)) {
            let a = Addr::boxed(addr);
            let updated = self.threads.update_fd(tid, num, |e| {
                if e.ty == FdType::Unknown {
                    e.ty = fd::family_type(a.family);
                }
                e.local = Some(a);
                e.rename();
            });
            if updated.is_some() {
                efd = EvFd::Table { num, changed: true };
            }
        }
        Some(efd)
    }

    /// sendto, sendmsg, recvfrom, recvmsg: an unconnected socket's peer is
    /// the datagram's address; a receiver is the server side.
    pub(super) fn apply_datagram(&mut self, c: &Call<'_, '_>) -> Option<EvFd> {
        let (tid, params) = (c.tid, c.params);
        let num = params.int(Arg::Fd)?;
        let mut efd = self.fd_param(tid, num);
        let peer = params
            .sockaddr(Arg::Addr)
            .map(Addr::boxed)
            .filter(|a| a.is_ip());
        if let (true, Some(peer)) = (c.ret >= 0, peer) {
            let server = matches!(c.kind, Kind::Recvfrom | Kind::Recvmsg);
            let news = self
                .threads
                .proc_of(tid)
                .and_then(|p| p.fds.get(num))
                .is_some_and(|e| !e.connected && e.remote.as_ref() != Some(&peer));
            // Only a new peer changes the entry: an unconnected
            // socket's every datagram must not copy a shared table.
            let changed = news
                .then(|| {
                    self.threads.update_fd(tid, num, |e| {
                        e.remote = Some(peer);
                        e.is_server = server;
                        if e.local.is_none() {
                            e.local = Some(Box::new(Addr {
                                family: e.remote.as_ref().map_or(Family::Inet, |a| a.family),
                                ..Addr::default()
                            }));
                        }
                        let before = std::mem::take(&mut e.name);
                        e.rename();
                        before != e.name
                    })
                })
                .flatten();
            if let Some(changed) = changed {
                efd = EvFd::Table { num, changed };
            }
        }
        Some(efd)
    }
}
