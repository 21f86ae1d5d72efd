//! Falco-style rendering of flag sets and enumerations: how `evt.arg.flags`
//! shows `O_RDONLY|O_CLOEXEC`, `evt.arg.request` shows `PTRACE_ATTACH`, and
//! `thread.cap_effective` shows `CAP_CHOWN CAP_SYS_ADMIN`.
//!
//! Values are the raw Linux numbers capture copies from the syscall; the
//! names are the kernel's. It is not a place for parsing names back into
//! numbers: rules compare the rendered text, as Falco's do.

use schema::table::FlagSet;

/// How a set's names combine: several bits at once, or one value.
#[derive(Clone, Copy)]
enum Style {
    /// Every set bit is named; names are joined with `|`.
    Bits,
    /// The whole value is one name.
    Enum,
}

type Names = &'static [(u64, &'static str)];

const OPEN: Names = &[
    (0o100, "O_CREAT"),
    (0o200, "O_EXCL"),
    (0o400, "O_NOCTTY"),
    (0o1000, "O_TRUNC"),
    (0o2000, "O_APPEND"),
    (0o4000, "O_NONBLOCK"),
    (0o4010000, "O_SYNC"),
    (0o10000, "O_DSYNC"),
    (0o20000, "O_ASYNC"),
    (0o40000, "O_DIRECT"),
    (0o100000, "O_LARGEFILE"),
    (0o20200000, "O_TMPFILE"),
    (0o200000, "O_DIRECTORY"),
    (0o400000, "O_NOFOLLOW"),
    (0o1000000, "O_NOATIME"),
    (0o2000000, "O_CLOEXEC"),
    (0o10000000, "O_PATH"),
];

/// The access mode bits of open flags (`O_ACCMODE`).
pub const O_ACCMODE: u64 = 3;
pub const O_WRONLY: u64 = 1;
pub const O_RDWR: u64 = 2;
pub const O_CREAT: u64 = 0o100;
pub const O_TRUNC: u64 = 0o1000;
pub const O_TMPFILE: u64 = 0o20200000;

const CLONE: Names = &[
    (0x100, "CLONE_VM"),
    (0x200, "CLONE_FS"),
    (0x400, "CLONE_FILES"),
    (0x800, "CLONE_SIGHAND"),
    (0x1000, "CLONE_PIDFD"),
    (0x2000, "CLONE_PTRACE"),
    (0x4000, "CLONE_VFORK"),
    (0x8000, "CLONE_PARENT"),
    (0x10000, "CLONE_THREAD"),
    (0x20000, "CLONE_NEWNS"),
    (0x40000, "CLONE_SYSVSEM"),
    (0x80000, "CLONE_SETTLS"),
    (0x100000, "CLONE_PARENT_SETTID"),
    (0x200000, "CLONE_CHILD_CLEARTID"),
    (0x400000, "CLONE_DETACHED"),
    (0x800000, "CLONE_UNTRACED"),
    (0x1000000, "CLONE_CHILD_SETTID"),
    (0x2000000, "CLONE_NEWCGROUP"),
    (0x4000000, "CLONE_NEWUTS"),
    (0x8000000, "CLONE_NEWIPC"),
    (0x10000000, "CLONE_NEWUSER"),
    (0x20000000, "CLONE_NEWPID"),
    (0x40000000, "CLONE_NEWNET"),
    (0x80000000, "CLONE_IO"),
    (0x100000000, "CLONE_CLEAR_SIGHAND"),
    (0x200000000, "CLONE_INTO_CGROUP"),
];

const NAMESPACE: Names = &[
    (0x80, "CLONE_NEWTIME"),
    (0x20000, "CLONE_NEWNS"),
    (0x2000000, "CLONE_NEWCGROUP"),
    (0x4000000, "CLONE_NEWUTS"),
    (0x8000000, "CLONE_NEWIPC"),
    (0x10000000, "CLONE_NEWUSER"),
    (0x20000000, "CLONE_NEWPID"),
    (0x40000000, "CLONE_NEWNET"),
    (0x200, "CLONE_FS"),
    (0x400, "CLONE_FILES"),
    (0x40000, "CLONE_SYSVSEM"),
];

const AT: Names = &[
    (0x100, "AT_SYMLINK_NOFOLLOW"),
    (0x200, "AT_REMOVEDIR"),
    (0x400, "AT_SYMLINK_FOLLOW"),
    (0x800, "AT_NO_AUTOMOUNT"),
    (0x1000, "AT_EMPTY_PATH"),
];

const RENAME: Names = &[
    (1, "RENAME_NOREPLACE"),
    (2, "RENAME_EXCHANGE"),
    (4, "RENAME_WHITEOUT"),
];

const FCNTL: Names = &[
    (0, "F_DUPFD"),
    (1, "F_GETFD"),
    (2, "F_SETFD"),
    (3, "F_GETFL"),
    (4, "F_SETFL"),
    (5, "F_GETLK"),
    (6, "F_SETLK"),
    (7, "F_SETLKW"),
    (8, "F_SETOWN"),
    (9, "F_GETOWN"),
    (10, "F_SETSIG"),
    (11, "F_GETSIG"),
    (15, "F_SETOWN_EX"),
    (16, "F_GETOWN_EX"),
    (36, "F_OFD_GETLK"),
    (37, "F_OFD_SETLK"),
    (38, "F_OFD_SETLKW"),
    (1024, "F_SETLEASE"),
    (1025, "F_GETLEASE"),
    (1026, "F_NOTIFY"),
    (1030, "F_DUPFD_CLOEXEC"),
    (1031, "F_SETPIPE_SZ"),
    (1032, "F_GETPIPE_SZ"),
    (1033, "F_ADD_SEALS"),
    (1034, "F_GET_SEALS"),
];

const SOCK_FAMILY: Names = &[
    (0, "AF_UNSPEC"),
    (1, "AF_UNIX"),
    (2, "AF_INET"),
    (3, "AF_AX25"),
    (4, "AF_IPX"),
    (5, "AF_APPLETALK"),
    (6, "AF_NETROM"),
    (7, "AF_BRIDGE"),
    (8, "AF_ATMPVC"),
    (9, "AF_X25"),
    (10, "AF_INET6"),
    (11, "AF_ROSE"),
    (12, "AF_DECnet"),
    (13, "AF_NETBEUI"),
    (14, "AF_SECURITY"),
    (15, "AF_KEY"),
    (16, "AF_NETLINK"),
    (17, "AF_PACKET"),
    (18, "AF_ASH"),
    (19, "AF_ECONET"),
    (20, "AF_ATMSVC"),
    (21, "AF_RDS"),
    (22, "AF_SNA"),
    (23, "AF_IRDA"),
    (24, "AF_PPPOX"),
    (25, "AF_WANPIPE"),
    (26, "AF_LLC"),
    (27, "AF_IB"),
    (28, "AF_MPLS"),
    (29, "AF_CAN"),
    (30, "AF_TIPC"),
    (31, "AF_BLUETOOTH"),
    (32, "AF_IUCV"),
    (33, "AF_RXRPC"),
    (34, "AF_ISDN"),
    (35, "AF_PHONET"),
    (36, "AF_IEEE802154"),
    (37, "AF_CAIF"),
    (38, "AF_ALG"),
    (39, "AF_NFC"),
    (40, "AF_VSOCK"),
    (41, "AF_KCM"),
    (42, "AF_QIPCRTR"),
    (43, "AF_SMC"),
    (44, "AF_XDP"),
    (45, "AF_MCTP"),
];

/// Socket types: the low bits are an enumeration, the high bits flags.
const SOCK_TYPE: Names = &[
    (1, "SOCK_STREAM"),
    (2, "SOCK_DGRAM"),
    (3, "SOCK_RAW"),
    (4, "SOCK_RDM"),
    (5, "SOCK_SEQPACKET"),
    (6, "SOCK_DCCP"),
    (10, "SOCK_PACKET"),
];
const SOCK_TYPE_MASK: u64 = 0xf;
const SOCK_FLAGS: Names = &[(0o4000, "SOCK_NONBLOCK"), (0o2000000, "SOCK_CLOEXEC")];

const PTRACE: Names = &[
    (0, "PTRACE_TRACEME"),
    (1, "PTRACE_PEEKTEXT"),
    (2, "PTRACE_PEEKDATA"),
    (3, "PTRACE_PEEKUSR"),
    (4, "PTRACE_POKETEXT"),
    (5, "PTRACE_POKEDATA"),
    (6, "PTRACE_POKEUSR"),
    (7, "PTRACE_CONT"),
    (8, "PTRACE_KILL"),
    (9, "PTRACE_SINGLESTEP"),
    (12, "PTRACE_GETREGS"),
    (13, "PTRACE_SETREGS"),
    (14, "PTRACE_GETFPREGS"),
    (15, "PTRACE_SETFPREGS"),
    (16, "PTRACE_ATTACH"),
    (17, "PTRACE_DETACH"),
    (18, "PTRACE_GETFPXREGS"),
    (19, "PTRACE_SETFPXREGS"),
    (24, "PTRACE_SYSCALL"),
    (25, "PTRACE_GET_THREAD_AREA"),
    (26, "PTRACE_SET_THREAD_AREA"),
    (30, "PTRACE_ARCH_PRCTL"),
    (31, "PTRACE_SYSEMU"),
    (32, "PTRACE_SYSEMU_SINGLESTEP"),
    (33, "PTRACE_SINGLEBLOCK"),
    (0x4200, "PTRACE_SETOPTIONS"),
    (0x4201, "PTRACE_GETEVENTMSG"),
    (0x4202, "PTRACE_GETSIGINFO"),
    (0x4203, "PTRACE_SETSIGINFO"),
    (0x4204, "PTRACE_GETREGSET"),
    (0x4205, "PTRACE_SETREGSET"),
    (0x4206, "PTRACE_SEIZE"),
    (0x4207, "PTRACE_INTERRUPT"),
    (0x4208, "PTRACE_LISTEN"),
    (0x4209, "PTRACE_PEEKSIGINFO"),
    (0x420a, "PTRACE_GETSIGMASK"),
    (0x420b, "PTRACE_SETSIGMASK"),
    (0x420c, "PTRACE_SECCOMP_GET_FILTER"),
    (0x420d, "PTRACE_SECCOMP_GET_METADATA"),
    (0x420e, "PTRACE_GET_SYSCALL_INFO"),
];

const PRCTL: Names = &[
    (1, "PR_SET_PDEATHSIG"),
    (2, "PR_GET_PDEATHSIG"),
    (3, "PR_GET_DUMPABLE"),
    (4, "PR_SET_DUMPABLE"),
    (7, "PR_GET_KEEPCAPS"),
    (8, "PR_SET_KEEPCAPS"),
    (15, "PR_SET_NAME"),
    (16, "PR_GET_NAME"),
    (21, "PR_GET_SECCOMP"),
    (22, "PR_SET_SECCOMP"),
    (23, "PR_CAPBSET_READ"),
    (24, "PR_CAPBSET_DROP"),
    (27, "PR_GET_SECUREBITS"),
    (28, "PR_SET_SECUREBITS"),
    (35, "PR_SET_MM"),
    (36, "PR_SET_CHILD_SUBREAPER"),
    (37, "PR_GET_CHILD_SUBREAPER"),
    (38, "PR_SET_NO_NEW_PRIVS"),
    (39, "PR_GET_NO_NEW_PRIVS"),
    (47, "PR_CAP_AMBIENT"),
];

const MEMFD: Names = &[
    (1, "MFD_CLOEXEC"),
    (2, "MFD_ALLOW_SEALING"),
    (4, "MFD_HUGETLB"),
    (8, "MFD_NOEXEC_SEAL"),
    (0x10, "MFD_EXEC"),
];

const BPF: Names = &[
    (0, "BPF_MAP_CREATE"),
    (1, "BPF_MAP_LOOKUP_ELEM"),
    (2, "BPF_MAP_UPDATE_ELEM"),
    (3, "BPF_MAP_DELETE_ELEM"),
    (4, "BPF_MAP_GET_NEXT_KEY"),
    (5, "BPF_PROG_LOAD"),
    (6, "BPF_OBJ_PIN"),
    (7, "BPF_OBJ_GET"),
    (8, "BPF_PROG_ATTACH"),
    (9, "BPF_PROG_DETACH"),
    (10, "BPF_PROG_TEST_RUN"),
    (11, "BPF_PROG_GET_NEXT_ID"),
    (12, "BPF_MAP_GET_NEXT_ID"),
    (13, "BPF_PROG_GET_FD_BY_ID"),
    (14, "BPF_MAP_GET_FD_BY_ID"),
    (15, "BPF_OBJ_GET_INFO_BY_FD"),
    (16, "BPF_PROG_QUERY"),
    (17, "BPF_RAW_TRACEPOINT_OPEN"),
    (18, "BPF_BTF_LOAD"),
    (19, "BPF_BTF_GET_FD_BY_ID"),
    (20, "BPF_TASK_FD_QUERY"),
    (21, "BPF_MAP_LOOKUP_AND_DELETE_ELEM"),
    (22, "BPF_MAP_FREEZE"),
    (23, "BPF_BTF_GET_NEXT_ID"),
    (28, "BPF_LINK_CREATE"),
    (29, "BPF_LINK_UPDATE"),
];

const MOUNT: Names = &[
    (1, "MS_RDONLY"),
    (2, "MS_NOSUID"),
    (4, "MS_NODEV"),
    (8, "MS_NOEXEC"),
    (16, "MS_SYNCHRONOUS"),
    (32, "MS_REMOUNT"),
    (64, "MS_MANDLOCK"),
    (128, "MS_DIRSYNC"),
    (256, "MS_NOSYMFOLLOW"),
    (1024, "MS_NOATIME"),
    (2048, "MS_NODIRATIME"),
    (4096, "MS_BIND"),
    (8192, "MS_MOVE"),
    (16384, "MS_REC"),
    (32768, "MS_SILENT"),
    (1 << 16, "MS_POSIXACL"),
    (1 << 17, "MS_UNBINDABLE"),
    (1 << 18, "MS_PRIVATE"),
    (1 << 19, "MS_SLAVE"),
    (1 << 20, "MS_SHARED"),
    (1 << 21, "MS_RELATIME"),
    (1 << 22, "MS_KERNMOUNT"),
    (1 << 23, "MS_I_VERSION"),
    (1 << 24, "MS_STRICTATIME"),
    (1 << 25, "MS_LAZYTIME"),
];

const UMOUNT: Names = &[
    (1, "MNT_FORCE"),
    (2, "MNT_DETACH"),
    (4, "MNT_EXPIRE"),
    (8, "UMOUNT_NOFOLLOW"),
];

const DUP3: Names = &[(0o2000000, "O_CLOEXEC")];
const EXECVEAT: Names = &[(0x100, "AT_SYMLINK_NOFOLLOW"), (0x1000, "AT_EMPTY_PATH")];
const UFD: Names = &[
    (1, "UFFD_USER_MODE_ONLY"),
    (0o4000, "O_NONBLOCK"),
    (0o2000000, "O_CLOEXEC"),
];
const FINIT_MODULE: Names = &[
    (1, "MODULE_INIT_IGNORE_MODVERSIONS"),
    (2, "MODULE_INIT_IGNORE_VERMAGIC"),
    (4, "MODULE_INIT_COMPRESSED_FILE"),
];
const RESOLVE: Names = &[
    (1, "RESOLVE_NO_XDEV"),
    (2, "RESOLVE_NO_MAGICLINKS"),
    (4, "RESOLVE_NO_SYMLINKS"),
    (8, "RESOLVE_BENEATH"),
    (0x10, "RESOLVE_IN_ROOT"),
    (0x20, "RESOLVE_CACHED"),
];

const CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

const SIGNALS: &[&str] = &[
    "",
    "SIGHUP",
    "SIGINT",
    "SIGQUIT",
    "SIGILL",
    "SIGTRAP",
    "SIGABRT",
    "SIGBUS",
    "SIGFPE",
    "SIGKILL",
    "SIGUSR1",
    "SIGSEGV",
    "SIGUSR2",
    "SIGPIPE",
    "SIGALRM",
    "SIGTERM",
    "SIGSTKFLT",
    "SIGCHLD",
    "SIGCONT",
    "SIGSTOP",
    "SIGTSTP",
    "SIGTTIN",
    "SIGTTOU",
    "SIGURG",
    "SIGXCPU",
    "SIGXFSZ",
    "SIGVTALRM",
    "SIGPROF",
    "SIGWINCH",
    "SIGIO",
    "SIGPWR",
    "SIGSYS",
];

const ERRNO: &[(i64, &str)] = &[
    (1, "EPERM"),
    (2, "ENOENT"),
    (3, "ESRCH"),
    (4, "EINTR"),
    (5, "EIO"),
    (6, "ENXIO"),
    (7, "E2BIG"),
    (8, "ENOEXEC"),
    (9, "EBADF"),
    (10, "ECHILD"),
    (11, "EAGAIN"),
    (12, "ENOMEM"),
    (13, "EACCES"),
    (14, "EFAULT"),
    (15, "ENOTBLK"),
    (16, "EBUSY"),
    (17, "EEXIST"),
    (18, "EXDEV"),
    (19, "ENODEV"),
    (20, "ENOTDIR"),
    (21, "EISDIR"),
    (22, "EINVAL"),
    (23, "ENFILE"),
    (24, "EMFILE"),
    (25, "ENOTTY"),
    (26, "ETXTBSY"),
    (27, "EFBIG"),
    (28, "ENOSPC"),
    (29, "ESPIPE"),
    (30, "EROFS"),
    (31, "EMLINK"),
    (32, "EPIPE"),
    (33, "EDOM"),
    (34, "ERANGE"),
    (35, "EDEADLK"),
    (36, "ENAMETOOLONG"),
    (37, "ENOLCK"),
    (38, "ENOSYS"),
    (39, "ENOTEMPTY"),
    (40, "ELOOP"),
    (42, "ENOMSG"),
    (43, "EIDRM"),
    (61, "ENODATA"),
    (62, "ETIME"),
    (71, "EPROTO"),
    (74, "EBADMSG"),
    (75, "EOVERFLOW"),
    (84, "EILSEQ"),
    (88, "ENOTSOCK"),
    (89, "EDESTADDRREQ"),
    (90, "EMSGSIZE"),
    (91, "EPROTOTYPE"),
    (92, "ENOPROTOOPT"),
    (93, "EPROTONOSUPPORT"),
    (94, "ESOCKTNOSUPPORT"),
    (95, "EOPNOTSUPP"),
    (96, "EPFNOSUPPORT"),
    (97, "EAFNOSUPPORT"),
    (98, "EADDRINUSE"),
    (99, "EADDRNOTAVAIL"),
    (100, "ENETDOWN"),
    (101, "ENETUNREACH"),
    (102, "ENETRESET"),
    (103, "ECONNABORTED"),
    (104, "ECONNRESET"),
    (105, "ENOBUFS"),
    (106, "EISCONN"),
    (107, "ENOTCONN"),
    (108, "ESHUTDOWN"),
    (109, "ETOOMANYREFS"),
    (110, "ETIMEDOUT"),
    (111, "ECONNREFUSED"),
    (112, "EHOSTDOWN"),
    (113, "EHOSTUNREACH"),
    (114, "EALREADY"),
    (115, "EINPROGRESS"),
    (116, "ESTALE"),
    (122, "EDQUOT"),
    (125, "ECANCELED"),
    (512, "ERESTARTSYS"),
    (513, "ERESTARTNOINTR"),
    (514, "ERESTARTNOHAND"),
    (516, "ERESTART_RESTARTBLOCK"),
];

fn table(set: FlagSet) -> (Names, Style) {
    use FlagSet as F;
    match set {
        F::Open => (OPEN, Style::Bits),
        F::Clone => (CLONE, Style::Bits),
        F::Namespace => (NAMESPACE, Style::Bits),
        F::At => (AT, Style::Bits),
        F::Rename => (RENAME, Style::Bits),
        F::Fcntl => (FCNTL, Style::Enum),
        F::SockFamily => (SOCK_FAMILY, Style::Enum),
        F::SockType => (SOCK_TYPE, Style::Enum),
        F::Ptrace => (PTRACE, Style::Enum),
        F::Prctl => (PRCTL, Style::Enum),
        F::Memfd => (MEMFD, Style::Bits),
        F::Bpf => (BPF, Style::Enum),
        F::Mount => (MOUNT, Style::Bits),
        F::Umount => (UMOUNT, Style::Bits),
        F::Accept => (SOCK_FLAGS, Style::Bits),
        F::Dup3 => (DUP3, Style::Bits),
        F::Execveat => (EXECVEAT, Style::Bits),
        F::Ufd => (UFD, Style::Bits),
        F::FinitModule => (FINIT_MODULE, Style::Bits),
        F::Resolve => (RESOLVE, Style::Bits),
    }
}

/// Appends `name` to `out`, separated from what is there by `sep`.
fn push(out: &mut String, sep: char, name: &str) {
    if !out.is_empty() {
        out.push(sep);
    }
    out.push_str(name);
}

/// Renders `value` of flag set `set` as Falco does: names joined with `|`,
/// bits without a name as one trailing hexadecimal number, and `0` for an
/// empty set without a name for zero.
pub fn render(set: FlagSet, value: u64) -> String {
    let mut out = String::new();
    match set {
        FlagSet::Open => {
            // The access mode is a two-bit enumeration, not two flags.
            push(
                &mut out,
                '|',
                match value & O_ACCMODE {
                    0 => "O_RDONLY",
                    O_WRONLY => "O_WRONLY",
                    _ => "O_RDWR",
                },
            );
            bits(&mut out, OPEN, value & !O_ACCMODE);
        }
        FlagSet::SockType => {
            let (base, flags) = (value & SOCK_TYPE_MASK, value & !SOCK_TYPE_MASK);
            enumerant(&mut out, SOCK_TYPE, base);
            bits(&mut out, SOCK_FLAGS, flags);
        }
        _ => match table(set) {
            (names, Style::Bits) => bits(&mut out, names, value),
            (names, Style::Enum) => enumerant(&mut out, names, value),
        },
    }
    if out.is_empty() {
        out.push('0');
    }
    out
}

fn bits(out: &mut String, names: Names, value: u64) {
    let mut left = value;
    for &(bit, name) in names {
        // Multi-bit names (O_SYNC, O_TMPFILE) need all their bits.
        if bit != 0 && value & bit == bit && left & bit != 0 {
            push(out, '|', name);
            left &= !bit;
        }
    }
    if left != 0 {
        push(out, '|', &format!("{left:#x}"));
    }
}

fn enumerant(out: &mut String, names: Names, value: u64) {
    match names.iter().find(|(v, _)| *v == value) {
        Some((_, name)) => push(out, '|', name),
        None => push(out, '|', &value.to_string()),
    }
}

/// Renders a capability set as Falco's `thread.cap_*` fields do:
/// `CAP_CHOWN CAP_DAC_OVERRIDE`, space-separated, in bit order.
pub fn render_caps(set: u64) -> String {
    let mut out = String::new();
    for (bit, name) in CAPS.iter().enumerate() {
        if set & (1u64 << bit) != 0 {
            push(&mut out, ' ', name);
        }
    }
    out
}

/// A signal's name (`SIGKILL`), or its number when it has none.
pub fn render_signal(sig: u64) -> String {
    match SIGNALS.get(sig as usize) {
        Some(name) if !name.is_empty() => (*name).to_string(),
        _ => sig.to_string(),
    }
}

/// `evt.res`: `SUCCESS` for a non-negative return value, else the errno's
/// name (`ENOENT`), or the number when the errno has no name here.
pub fn render_res(ret: i64) -> std::borrow::Cow<'static, str> {
    if ret >= 0 {
        return "SUCCESS".into();
    }
    match ERRNO.iter().find(|(n, _)| *n == -ret) {
        Some((_, name)) => (*name).into(),
        None => ret.to_string().into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_flags_render_access_mode_then_bits() {
        assert_eq!(render(FlagSet::Open, 0), "O_RDONLY");
        assert_eq!(render(FlagSet::Open, 0o2000000), "O_RDONLY|O_CLOEXEC");
        assert_eq!(
            render(FlagSet::Open, 1 | 0o100 | 0o1000),
            "O_WRONLY|O_CREAT|O_TRUNC"
        );
        assert_eq!(render(FlagSet::Open, 2 | 0o4010000), "O_RDWR|O_SYNC");
        assert_eq!(render(FlagSet::Open, 2 | 0o10000), "O_RDWR|O_DSYNC");
    }

    #[test]
    fn enumerations_render_one_name() {
        assert_eq!(render(FlagSet::Ptrace, 16), "PTRACE_ATTACH");
        assert_eq!(render(FlagSet::Ptrace, 0), "PTRACE_TRACEME");
        assert_eq!(render(FlagSet::Ptrace, 0x4206), "PTRACE_SEIZE");
        assert_eq!(render(FlagSet::SockFamily, 17), "AF_PACKET");
        assert_eq!(render(FlagSet::Ptrace, 999), "999");
    }

    #[test]
    fn bit_sets_join_names_and_keep_unknown_bits() {
        assert_eq!(
            render(FlagSet::Namespace, 0x20000 | 0x40000000),
            "CLONE_NEWNS|CLONE_NEWNET"
        );
        assert_eq!(render(FlagSet::Clone, 0x11 | 0x100), "CLONE_VM|0x11");
        assert_eq!(render(FlagSet::Mount, 0), "0");
        assert_eq!(
            render(FlagSet::SockType, 1 | 0o2000000),
            "SOCK_STREAM|SOCK_CLOEXEC"
        );
    }

    #[test]
    fn caps_signals_and_errnos() {
        assert_eq!(render_caps((1 << 21) | 1), "CAP_CHOWN CAP_SYS_ADMIN");
        assert_eq!(render_caps(0), "");
        assert_eq!(render_signal(9), "SIGKILL");
        assert_eq!(render_signal(64), "64");
        assert_eq!(render_res(3), "SUCCESS");
        assert_eq!(render_res(-2), "ENOENT");
        assert_eq!(render_res(-115), "EINPROGRESS");
        assert_eq!(render_res(-4000), "-4000");
    }
}
