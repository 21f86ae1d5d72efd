//! The event table: for each [`Kind`], its name and the names and types of its
//! positional parameters. `Event.params[i]` on the wire is described by
//! `info(kind).params[i]`.
//!
//! This is the one description of each syscall's parameters. capture fills
//! parameters in this order; enrich and evaluate read them by name through it
//! (`evt.arg.NAME`, `evt.arg[N]`). Names follow Falco's where Falco has one, so
//! existing rules that test `evt.arg.flags` or `evt.arg.target` keep working.
//!
//! Evolution: a kind may gain parameters only at the end of its list.

use crate::kestrel_capnp::Kind;

/// How a parameter's value is encoded on the wire and what it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    /// `Param.int`: a file descriptor.
    Fd,
    /// `Param.int`: a process or thread id.
    Pid,
    /// `Param.int`: a signed number.
    Int,
    /// `Param.uint`: an unsigned number.
    Uint,
    /// `Param.uint`: a bit set or an enumeration, named by the flag set.
    Flags(FlagSet),
    /// `Param.uint`: file mode bits.
    Mode,
    /// `Param.uint`: user id.
    Uid,
    /// `Param.uint`: group id.
    Gid,
    /// `Param.uint`: device number (`st_dev`, kernel encoding).
    Dev,
    /// `Param.uint`: inode number.
    Ino,
    /// `Param.uint`: capability set.
    Caps,
    /// `Param.uint`: signal number.
    Signal,
    /// `Param.uint`: 0 or 1.
    Bool,
    /// `Param.uint`: wall-clock ns since the epoch.
    Time,
    /// `Param.bytes`: a path, absolute or relative to the cwd or to the dirfd
    /// parameter named in [`ParamInfo::dirfd`].
    Path,
    /// `Param.bytes`: any other byte string.
    Bytes,
    /// `Param.sockaddr`.
    SockAddr,
    /// `Param.tuple`.
    SockTuple,
    /// `Param.list`: a list of byte strings.
    List,
}

/// The named flag and enumeration sets, for rendering parameters as Falco
/// does (`O_RDONLY|O_CLOEXEC`, `PTRACE_ATTACH`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagSet {
    Open,
    Clone,
    Namespace,
    At,
    Rename,
    Fcntl,
    SockFamily,
    SockType,
    Ptrace,
    Prctl,
    Memfd,
    Bpf,
    Mount,
    Umount,
    Accept,
    Dup3,
    Execveat,
    Ufd,
    FinitModule,
    Resolve,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamInfo {
    pub name: &'static str,
    pub ty: ParamType,
    /// For [`ParamType::Path`]: the index of the dirfd parameter a relative
    /// path is resolved against (`None`: the cwd).
    pub dirfd: Option<u8>,
}

/// The broad class of an event, as Falco's `evt.category`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Process,
    File,
    Net,
    Ipc,
    Other,
}

#[derive(Debug, Clone, Copy)]
pub struct KindInfo {
    pub kind: Kind,
    /// The event's name as `evt.type` shows it.
    pub name: &'static str,
    pub category: Category,
    /// What the return value is: a new fd (`Fd`), a pid (`Pid`), or an
    /// error-or-zero (`Int`).
    pub ret: ParamType,
    pub params: &'static [ParamInfo],
}

const fn p(name: &'static str, ty: ParamType) -> ParamInfo {
    ParamInfo {
        name,
        ty,
        dirfd: None,
    }
}

const fn at(name: &'static str, dirfd: u8) -> ParamInfo {
    ParamInfo {
        name,
        ty: ParamType::Path,
        dirfd: Some(dirfd),
    }
}

use FlagSet as F;
use ParamType::*;

/// Parameters shared by execve and execveat exits, after their own leading
/// parameters. They describe the process after the exec.
macro_rules! exec_tail {
    () => {
        [
            p("exepath", Path),
            p("args", List),
            p("args_truncated", Bool),
            p("cwd", Path),
            p("uid", Uid),
            p("gid", Gid),
            p("euid", Uid),
            p("egid", Gid),
            p("loginuid", Uid),
            p("tty", Uint),
            p("sid", Pid),
            p("vpid", Pid),
            p("vtid", Pid),
            p("pgid", Pid),
            p("ppid", Pid),
            p("comm", Bytes),
            p("cgroups", List),
            p("cap_effective", Caps),
            p("cap_permitted", Caps),
            p("cap_inheritable", Caps),
            p("exe_upper_layer", Bool),
            p("exe_from_memfd", Bool),
            p("exe_ino", Ino),
            p("exe_ino_ctime", Time),
            p("exe_ino_mtime", Time),
            p("pidns_ino", Ino),
        ]
    };
}

const EXEC_TAIL: [ParamInfo; 26] = exec_tail!();

const fn concat<const A: usize, const B: usize, const N: usize>(
    a: [ParamInfo; A],
    b: [ParamInfo; B],
) -> [ParamInfo; N] {
    let mut out = [p("", Int); N];
    let mut i = 0;
    while i < A {
        out[i] = a[i];
        i += 1;
    }
    let mut j = 0;
    while j < B {
        out[A + j] = b[j];
        j += 1;
    }
    out
}

const EXECVE: [ParamInfo; 27] = concat([p("filename", Path)], EXEC_TAIL);
#[rustfmt::skip]
const EXECVEAT: [ParamInfo; 29] = concat(
    [p("dirfd", Fd), at("pathname", 0), p("flags", Flags(F::Execveat))],
    EXEC_TAIL,
);

macro_rules! k {
    ($kind:ident, $name:literal, $cat:ident, $ret:ident, [$($param:expr),* $(,)?]) => {
        KindInfo { kind: Kind::$kind, name: $name, category: Category::$cat, ret: $ret, params: &[$($param),*] }
    };
}

/// Every kind, indexed by its ordinal.
// One row per kind, so that the table reads (and diffs) as a table.
#[rustfmt::skip]
pub static TABLE: &[KindInfo] = &[
    k!(Unknown, "unknown", Other, Int, []),
    k!(ProcSnapshot, "procinfo", Process, Int, []),
    k!(ProcExit, "procexit", Process, Int, [p("status", Int), p("sig", Signal)]),
    k!(Clone, "clone", Process, Pid, [p("flags", Flags(F::Clone))]),
    k!(Clone3, "clone3", Process, Pid, [p("flags", Flags(F::Clone))]),
    k!(Fork, "fork", Process, Pid, []),
    k!(Vfork, "vfork", Process, Pid, []),
    KindInfo { kind: Kind::Execve, name: "execve", category: Category::Process, ret: Int, params: &EXECVE },
    KindInfo { kind: Kind::Execveat, name: "execveat", category: Category::Process, ret: Int, params: &EXECVEAT },
    k!(Setuid, "setuid", Process, Int, [p("uid", Uid)]),
    k!(Setgid, "setgid", Process, Int, [p("gid", Gid)]),
    k!(Setreuid, "setreuid", Process, Int, [p("ruid", Uid), p("euid", Uid)]),
    k!(Setregid, "setregid", Process, Int, [p("rgid", Gid), p("egid", Gid)]),
    k!(Setresuid, "setresuid", Process, Int, [p("ruid", Uid), p("euid", Uid), p("suid", Uid)]),
    k!(Setresgid, "setresgid", Process, Int, [p("rgid", Gid), p("egid", Gid), p("sgid", Gid)]),
    k!(Capset, "capset", Process, Int, [p("cap_inheritable", Caps), p("cap_permitted", Caps), p("cap_effective", Caps)]),
    k!(Setns, "setns", Process, Int, [p("fd", Fd), p("nstype", Flags(F::Namespace))]),
    k!(Unshare, "unshare", Process, Int, [p("flags", Flags(F::Namespace))]),
    k!(Ptrace, "ptrace", Process, Int, [p("request", Flags(F::Ptrace)), p("pid", Pid)]),
    k!(Prctl, "prctl", Process, Int, [p("option", Flags(F::Prctl)), p("arg2_str", Bytes), p("arg2_int", Int)]),
    k!(Chdir, "chdir", Process, Int, [p("path", Path)]),
    k!(Fchdir, "fchdir", Process, Int, [p("fd", Fd)]),
    k!(Chroot, "chroot", Process, Int, [p("path", Path)]),
    k!(Kill, "kill", Process, Int, [p("pid", Pid), p("sig", Signal)]),
    k!(MemfdCreate, "memfd_create", File, Fd, [p("name", Bytes), p("flags", Flags(F::Memfd))]),
    k!(InitModule, "init_module", Other, Int, [p("len", Uint), p("uargs", Bytes)]),
    k!(FinitModule, "finit_module", Other, Int, [p("fd", Fd), p("uargs", Bytes), p("flags", Flags(F::FinitModule))]),
    k!(Bpf, "bpf", Other, Int, [p("cmd", Flags(F::Bpf))]),
    k!(Userfaultfd, "userfaultfd", File, Fd, [p("flags", Flags(F::Ufd))]),
    k!(Mount, "mount", File, Int, [p("dev", Bytes), p("dir", Path), p("type", Bytes), p("flags", Flags(F::Mount))]),
    k!(Umount2, "umount2", File, Int, [p("name", Path), p("flags", Flags(F::Umount))]),
    k!(Open, "open", File, Fd, [p("name", Path), p("flags", Flags(F::Open)), p("mode", Mode), p("dev", Dev), p("ino", Ino)]),
    k!(Openat, "openat", File, Fd, [p("dirfd", Fd), at("name", 0), p("flags", Flags(F::Open)), p("mode", Mode), p("dev", Dev), p("ino", Ino)]),
    k!(Openat2, "openat2", File, Fd, [p("dirfd", Fd), at("name", 0), p("flags", Flags(F::Open)), p("mode", Mode), p("resolve", Flags(F::Resolve)), p("dev", Dev), p("ino", Ino)]),
    k!(Creat, "creat", File, Fd, [p("name", Path), p("mode", Mode), p("dev", Dev), p("ino", Ino)]),
    k!(Close, "close", File, Int, [p("fd", Fd)]),
    k!(Dup, "dup", File, Fd, [p("fd", Fd)]),
    k!(Dup2, "dup2", File, Fd, [p("fd", Fd), p("newfd", Fd)]),
    k!(Dup3, "dup3", File, Fd, [p("fd", Fd), p("newfd", Fd), p("flags", Flags(F::Dup3))]),
    k!(Fcntl, "fcntl", File, Int, [p("fd", Fd), p("cmd", Flags(F::Fcntl))]),
    k!(Unlink, "unlink", File, Int, [p("path", Path)]),
    k!(Unlinkat, "unlinkat", File, Int, [p("dirfd", Fd), at("name", 0), p("flags", Flags(F::At))]),
    k!(Rename, "rename", File, Int, [p("oldpath", Path), p("newpath", Path)]),
    k!(Renameat, "renameat", File, Int, [p("olddirfd", Fd), at("oldpath", 0), p("newdirfd", Fd), at("newpath", 2)]),
    k!(Renameat2, "renameat2", File, Int, [p("olddirfd", Fd), at("oldpath", 0), p("newdirfd", Fd), at("newpath", 2), p("flags", Flags(F::Rename))]),
    k!(Mkdir, "mkdir", File, Int, [p("path", Path), p("mode", Mode)]),
    k!(Mkdirat, "mkdirat", File, Int, [p("dirfd", Fd), at("path", 0), p("mode", Mode)]),
    k!(Rmdir, "rmdir", File, Int, [p("path", Path)]),
    k!(Symlink, "symlink", File, Int, [p("target", Bytes), p("linkpath", Path)]),
    k!(Symlinkat, "symlinkat", File, Int, [p("target", Bytes), p("linkdirfd", Fd), at("linkpath", 1)]),
    k!(Link, "link", File, Int, [p("oldpath", Path), p("newpath", Path)]),
    k!(Linkat, "linkat", File, Int, [p("olddir", Fd), at("oldpath", 0), p("newdir", Fd), at("newpath", 2), p("flags", Flags(F::At))]),
    k!(Chmod, "chmod", File, Int, [p("filename", Path), p("mode", Mode)]),
    k!(Fchmod, "fchmod", File, Int, [p("fd", Fd), p("mode", Mode)]),
    k!(Fchmodat, "fchmodat", File, Int, [p("dirfd", Fd), at("filename", 0), p("mode", Mode)]),
    k!(Chown, "chown", File, Int, [p("path", Path), p("uid", Uid), p("gid", Gid)]),
    k!(Fchown, "fchown", File, Int, [p("fd", Fd), p("uid", Uid), p("gid", Gid)]),
    k!(Lchown, "lchown", File, Int, [p("path", Path), p("uid", Uid), p("gid", Gid)]),
    k!(Fchownat, "fchownat", File, Int, [p("dirfd", Fd), at("pathname", 0), p("uid", Uid), p("gid", Gid), p("flags", Flags(F::At))]),
    k!(Socket, "socket", Net, Fd, [p("domain", Flags(F::SockFamily)), p("type", Flags(F::SockType)), p("proto", Uint)]),
    k!(Socketpair, "socketpair", Ipc, Int, [p("domain", Flags(F::SockFamily)), p("type", Flags(F::SockType)), p("proto", Uint), p("fd1", Fd), p("fd2", Fd)]),
    k!(Connect, "connect", Net, Int, [p("fd", Fd), p("addr", SockAddr), p("tuple", SockTuple)]),
    k!(Accept, "accept", Net, Fd, [p("fd", Fd), p("tuple", SockTuple)]),
    k!(Accept4, "accept4", Net, Fd, [p("fd", Fd), p("tuple", SockTuple), p("flags", Flags(F::Accept))]),
    k!(Bind, "bind", Net, Int, [p("fd", Fd), p("addr", SockAddr)]),
    k!(Listen, "listen", Net, Int, [p("fd", Fd), p("backlog", Int)]),
    k!(Sendto, "sendto", Net, Int, [p("fd", Fd), p("size", Uint), p("addr", SockAddr)]),
    k!(Sendmsg, "sendmsg", Net, Int, [p("fd", Fd), p("size", Uint), p("addr", SockAddr)]),
    k!(Recvfrom, "recvfrom", Net, Int, [p("fd", Fd), p("size", Uint), p("addr", SockAddr)]),
    k!(Recvmsg, "recvmsg", Net, Int, [p("fd", Fd), p("size", Uint), p("addr", SockAddr)]),
    k!(ContainerStart, "container", Other, Int, []),
    k!(CompatSyscall, "compat_syscall", Other, Int, [p("nr", Uint), p("a0", Uint), p("a1", Uint), p("a2", Uint), p("a3", Uint), p("a4", Uint), p("a5", Uint), p("path", Path)]),
];

/// The table row of `kind`.
pub fn info(kind: Kind) -> &'static KindInfo {
    TABLE.get(kind as usize).unwrap_or(&TABLE[0])
}

/// The kind named `name` (`evt.type` spelling).
pub fn by_name(name: &str) -> Option<&'static KindInfo> {
    TABLE.iter().find(|k| k.name == name)
}

/// Index of the parameter `name` of `kind`.
pub fn param_index(kind: Kind, name: &str) -> Option<usize> {
    info(kind).params.iter().position(|p| p.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_indexed_by_ordinal() {
        for (i, row) in TABLE.iter().enumerate() {
            assert_eq!(
                row.kind as usize, i,
                "row {} ({}) is out of place",
                i, row.name
            );
        }
        // Every enumerant of the schema has a row.
        assert!(Kind::try_from(TABLE.len() as u16).is_err());
    }

    #[test]
    fn names_are_unique_and_dirfds_point_at_fds() {
        let mut names: Vec<_> = TABLE.iter().map(|k| k.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), TABLE.len());
        for row in TABLE {
            for p in row.params {
                if let Some(d) = p.dirfd {
                    assert_eq!(
                        row.params[d as usize].ty,
                        ParamType::Fd,
                        "{}.{}",
                        row.name,
                        p.name
                    );
                }
            }
        }
    }
}
