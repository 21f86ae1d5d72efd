//! A process's open file descriptors, classified from what
//! `/proc/PID/fd/N` links to: a path (file, directory, memfd), `socket:[INO]`
//! (resolved through the namespace's [`SocketTable`]), `pipe:[INO]`, or
//! `anon_inode:[…]` (eventpoll, eventfd, signalfd, inotify, timerfd, bpf,
//! userfaultfd, io_uring, pidfd). Open flags come from `fdinfo`.

use std::fs;
use std::os::unix::fs::MetadataExt;

use schema::kestrel_capnp::{FdType, L4Proto};

use super::net::{Family, Proto, SockInfo, SocketTable};

/// Most descriptors reported per process. A snapshot event must fit in one
/// frame (`schema::limits::MAX_FRAME_BYTES`); 4096 fds of a few hundred bytes
/// each stay well inside it. Past this the rest are counted, not sent.
pub const MAX_FDS_PER_PROCESS: usize = 4096;

/// Most bytes the descriptors of one process may take in its snapshot event,
/// counting each name plus [`FD_ENCODED_OVERHEAD_BYTES`]: long paths could
/// otherwise push the event past the frame limit
/// (`schema::limits::MAX_FRAME_BYTES`, 4 MiB) that every reader enforces.
pub const MAX_FD_BYTES_PER_PROCESS: usize = 2 << 20;

/// Generous size of one encoded `Fd` without its name: the struct, two
/// socket addresses and their pointers.
const FD_ENCODED_OVERHEAD_BYTES: usize = 256;

/// One descriptor as the snapshot reports it.
#[derive(Debug, Clone)]
pub struct FdEntry {
    pub num: i64,
    pub kind: FdType,
    /// Path for files, unix path for unix sockets, the link text otherwise
    /// (`pipe:[INO]`, `anon_inode:[eventfd]`); empty for inet sockets, whose
    /// name readers render from the addresses.
    pub name: Vec<u8>,
    pub open_flags: u32,
    /// Device (kernel encoding, as the probe reports it) and inode.
    pub dev: u64,
    pub ino: u64,
    pub sock: Option<SockInfo>,
}

impl FdEntry {
    pub fn l4proto(&self) -> L4Proto {
        match self.sock.as_ref().map(|s| s.proto) {
            Some(Proto::Tcp) => L4Proto::Tcp,
            Some(Proto::Udp) => L4Proto::Udp,
            _ => L4Proto::Unknown,
        }
    }
}

/// What a descriptor's link names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Path,
    Memfd,
    Socket(u64),
    Pipe,
    Anon(FdType),
}

/// Classifies the text of an fd link.
pub fn classify(link: &[u8]) -> Target {
    if let Some(ino) = bracketed(link, b"socket:[") {
        return Target::Socket(ino);
    }
    if link.starts_with(b"pipe:[") {
        return Target::Pipe;
    }
    if link.starts_with(b"/memfd:") {
        return Target::Memfd;
    }
    if link.starts_with(b"pidfd:") {
        return Target::Anon(FdType::Pidfd);
    }
    if let Some(name) = link.strip_prefix(b"anon_inode:") {
        let name = name.strip_prefix(b"[").unwrap_or(name);
        let name = name.strip_suffix(b"]").unwrap_or(name);
        let kind = match name {
            b"eventpoll" => FdType::Eventpoll,
            b"eventfd" => FdType::Event,
            b"signalfd" => FdType::Signalfd,
            b"inotify" => FdType::Inotify,
            b"timerfd" => FdType::Timerfd,
            b"userfaultfd" => FdType::Userfaultfd,
            b"io_uring" => FdType::IoUring,
            b"pidfd" => FdType::Pidfd,
            b"memfd" => FdType::Memfd,
            n if n.starts_with(b"bpf") => FdType::Bpf,
            _ => FdType::Unknown,
        };
        return Target::Anon(kind);
    }
    Target::Path
}

fn bracketed(link: &[u8], prefix: &[u8]) -> Option<u64> {
    let rest = link.strip_prefix(prefix)?.strip_suffix(b"]")?;
    std::str::from_utf8(rest).ok()?.parse().ok()
}

/// The `st_dev` of userspace (glibc's makedev) in the kernel's encoding
/// (`MKDEV`: major << 20 | minor), which is what the probe reads.
pub fn kernel_dev(dev: u64) -> u64 {
    let major = libc::major(dev) as u64;
    let minor = libc::minor(dev) as u64;
    (major << 20) | minor
}

/// `flags:\t0100002` from `fdinfo` (octal).
pub fn parse_fdinfo_flags(text: &str) -> Option<u32> {
    text.lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
}

/// The descriptors of `pid`, sorted by number, and how many were left out by
/// [`MAX_FDS_PER_PROCESS`] and [`MAX_FD_BYTES_PER_PROCESS`]. An `Err` means the process is gone (or its fd
/// directory unreadable); an fd closed while we read it is skipped.
pub fn list(pid: i32, sockets: &SocketTable) -> std::io::Result<(Vec<FdEntry>, u64)> {
    let dir = format!("/proc/{pid}/fd");
    let mut nums: Vec<i64> = fs::read_dir(&dir)?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    nums.sort_unstable();
    let mut left_out = nums.len().saturating_sub(MAX_FDS_PER_PROCESS) as u64;
    nums.truncate(MAX_FDS_PER_PROCESS);
    let mut out = Vec::with_capacity(nums.len());
    let mut bytes = 0;
    for (i, &num) in nums.iter().enumerate() {
        let path = format!("{dir}/{num}");
        let Ok(link) = fs::read_link(&path) else {
            continue;
        };
        let link = std::os::unix::ffi::OsStrExt::as_bytes(link.as_os_str()).to_vec();
        bytes += link.len() + FD_ENCODED_OVERHEAD_BYTES;
        if bytes > MAX_FD_BYTES_PER_PROCESS {
            left_out += (nums.len() - i) as u64;
            break;
        }
        let open_flags = fs::read_to_string(format!("/proc/{pid}/fdinfo/{num}"))
            .ok()
            .and_then(|t| parse_fdinfo_flags(&t))
            .unwrap_or(0);
        // Following the link reaches the open file itself, even one deleted
        // or outside our mount namespace.
        let meta = fs::metadata(&path).ok();
        let (dev, ino) = meta
            .as_ref()
            .map(|m| (kernel_dev(m.dev()), m.ino()))
            .unwrap_or((0, 0));
        let mut entry = FdEntry {
            num,
            kind: FdType::Unknown,
            name: link.clone(),
            open_flags,
            dev,
            ino,
            sock: None,
        };
        match classify(&link) {
            Target::Path => {
                entry.kind = match meta {
                    Some(m) if m.is_dir() => FdType::Directory,
                    _ => FdType::File,
                };
            }
            Target::Memfd => entry.kind = FdType::Memfd,
            Target::Pipe => entry.kind = FdType::Pipe,
            Target::Anon(kind) => entry.kind = kind,
            Target::Socket(sock_ino) => {
                if let Some(s) = sockets.get(sock_ino) {
                    entry.kind = match s.family {
                        Family::Inet => FdType::Ipv4,
                        Family::Inet6 => FdType::Ipv6,
                        Family::Unix => FdType::Unix,
                        Family::Netlink => FdType::Netlink,
                    };
                    entry.name = match s.family {
                        Family::Unix => s.path.clone(),
                        Family::Inet | Family::Inet6 => Vec::new(),
                        Family::Netlink => link,
                    };
                    entry.sock = Some(s.clone());
                }
            }
        }
        out.push(entry);
    }
    Ok((out, left_out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_forms() {
        assert_eq!(classify(b"socket:[12345]"), Target::Socket(12345));
        assert_eq!(classify(b"pipe:[9]"), Target::Pipe);
        assert_eq!(classify(b"/memfd:x (deleted)"), Target::Memfd);
        assert_eq!(
            classify(b"anon_inode:[eventpoll]"),
            Target::Anon(FdType::Eventpoll)
        );
        assert_eq!(
            classify(b"anon_inode:inotify"),
            Target::Anon(FdType::Inotify)
        );
        assert_eq!(classify(b"anon_inode:bpf-map"), Target::Anon(FdType::Bpf));
        assert_eq!(
            classify(b"anon_inode:[io_uring]"),
            Target::Anon(FdType::IoUring)
        );
        assert_eq!(classify(b"pidfd:[1234]"), Target::Anon(FdType::Pidfd));
        assert_eq!(classify(b"/etc/passwd"), Target::Path);
        assert_eq!(classify(b"socket:[x]"), Target::Path);
    }

    #[test]
    fn fdinfo_flags_are_octal() {
        assert_eq!(
            parse_fdinfo_flags("pos:\t0\nflags:\t0100002\nmnt_id:\t1\n"),
            Some(0o100002)
        );
        assert_eq!(parse_fdinfo_flags("pos:\t0\n"), None);
    }

    #[test]
    fn dev_in_kernel_encoding() {
        assert_eq!(kernel_dev(libc::makedev(8, 1)), (8 << 20) | 1);
        assert_eq!(kernel_dev(libc::makedev(259, 300)), (259 << 20) | 300);
    }
}
