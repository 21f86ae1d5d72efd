//! Descriptors that are not sockets: open and creat, memfd_create,
//! userfaultfd, and the dup family (dup, dup2, dup3, fcntl's F_DUPFD).

use schema::kestrel_capnp::FdType;
use schema::Kind;

use super::Call;
use crate::args::Arg;
use crate::engine::{Enricher, EvFd};
use crate::tables::fd::{FdEntry, O_CLOEXEC, O_DIRECTORY};

/// fcntl commands that duplicate a descriptor.
const F_DUPFD: u64 = 0;
const F_DUPFD_CLOEXEC: u64 = 1030;
/// memfd_create's close-on-exec flag.
const MFD_CLOEXEC: u64 = 1;
/// creat() is open with these flags: O_CREAT|O_WRONLY|O_TRUNC.
const CREAT_FLAGS: u32 = 0o100 | 0o1 | 0o1000;

impl Enricher {
    /// open, openat, openat2, creat: a file or directory descriptor named
    /// by its (resolved) path.
    pub(super) fn apply_open(&mut self, c: &Call<'_, '_>) -> EvFd {
        let params = c.params;
        let mut e = FdEntry::new(FdType::File);
        e.name = c.path(Arg::Name).unwrap_or_default().into();
        e.open_flags = match c.kind {
            Kind::Creat => CREAT_FLAGS,
            _ => params.uint(Arg::Flags).unwrap_or(0) as u32,
        };
        if e.open_flags & O_DIRECTORY != 0 {
            e.ty = FdType::Directory;
        }
        e.cloexec = e.open_flags & O_CLOEXEC != 0;
        e.dev = params.uint(Arg::Dev).unwrap_or(0);
        e.ino = params.uint(Arg::Ino).unwrap_or(0);
        self.new_fd(c.tid, c.ret, e)
    }

    /// memfd_create: named `memfd:NAME`, as Falco names it.
    pub(super) fn apply_memfd(&mut self, c: &Call<'_, '_>) -> EvFd {
        let mut e = FdEntry::new(FdType::Memfd);
        let mut name = b"memfd:".to_vec();
        name.extend_from_slice(c.params.bytes(Arg::Name).unwrap_or_default());
        e.name = name.into();
        e.cloexec = c.params.uint(Arg::Flags).unwrap_or(0) & MFD_CLOEXEC != 0;
        self.new_fd(c.tid, c.ret, e)
    }

    pub(super) fn apply_userfaultfd(&mut self, c: &Call<'_, '_>) -> EvFd {
        let mut e = FdEntry::new(FdType::Userfaultfd);
        e.cloexec = c.params.uint(Arg::Flags).unwrap_or(0) as u32 & O_CLOEXEC != 0;
        self.new_fd(c.tid, c.ret, e)
    }

    /// dup, dup2, dup3: the new descriptor is a copy of the old one; a
    /// failed call concerns the old one.
    pub(super) fn apply_dup(&mut self, c: &Call<'_, '_>) -> Option<EvFd> {
        let old = c.params.int(Arg::Fd)?;
        if c.ret < 0 {
            return Some(self.fd_param(c.tid, old));
        }
        let cloexec =
            c.kind == Kind::Dup3 && c.params.uint(Arg::Flags).unwrap_or(0) as u32 & O_CLOEXEC != 0;
        self.dup_fd(c.tid, old, c.ret, cloexec);
        Some(EvFd::Table {
            num: c.ret,
            changed: false,
        })
    }

    /// fcntl: F_DUPFD and F_DUPFD_CLOEXEC duplicate; any other command
    /// concerns the descriptor it names.
    pub(super) fn apply_fcntl(&mut self, c: &Call<'_, '_>) -> Option<EvFd> {
        let num = c.params.int(Arg::Fd)?;
        match c.params.uint(Arg::Cmd) {
            Some(cmd @ (F_DUPFD | F_DUPFD_CLOEXEC)) if c.ret >= 0 => {
                self.dup_fd(c.tid, num, c.ret, cmd == F_DUPFD_CLOEXEC);
                Some(EvFd::Table {
                    num: c.ret,
                    changed: false,
                })
            }
            _ => Some(self.fd_param(c.tid, num)),
        }
    }

    /// `new` becomes a copy of `old` (dup family); close-on-exec is the
    /// new descriptor's own.
    fn dup_fd(&mut self, tid: i32, old: i64, new: i64, cloexec: bool) {
        if old == new {
            return;
        }
        let src = self
            .threads
            .proc_of(tid)
            .and_then(|p| p.fds.get(old))
            .cloned();
        let mut e = match src {
            Some(e) => e,
            None => {
                self.stats.fd_misses += 1;
                let mut e = FdEntry::new(FdType::Unknown);
                e.partial = true;
                e
            }
        };
        e.cloexec = cloexec;
        let _ = self.put_fd(tid, new, e);
    }
}
