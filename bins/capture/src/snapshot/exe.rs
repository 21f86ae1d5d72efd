//! Facts about a process's executable: its path, inode and times, whether it
//! runs from a memfd, and whether it lives in the upper (writable) layer of an
//! overlay mount, i.e. was written into the container after it started
//! (Falco's `proc.is_exe_upper_layer`).
//!
//! The upper-layer test is best effort: when the exe is on overlayfs, the
//! mount holding it in the process's mount namespace is found in
//! `/proc/PID/mountinfo`, and the file is looked for under that mount's
//! `upperdir` as this process sees it (the host's view, where runtimes put
//! their layers).

use std::collections::HashMap;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// `OVERLAYFS_SUPER_MAGIC`, the `f_type` statfs reports for overlayfs.
const OVERLAYFS_SUPER_MAGIC: i64 = 0x794c_7630;

/// Most mount namespaces whose mount tables are kept during one snapshot.
pub const MAX_MOUNT_NAMESPACES: usize = 1024;

/// Most mounts read per namespace.
pub const MAX_MOUNTS_PER_NAMESPACE: usize = 16_384;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExeInfo {
    pub path: Vec<u8>,
    pub ino: u64,
    pub ctime_ns: u64,
    pub mtime_ns: u64,
    pub from_memfd: bool,
    pub upper_layer: bool,
}

/// One mount: where it is, its filesystem type, its upperdir if overlay.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mount {
    point: Vec<u8>,
    fstype: String,
    upperdir: Option<Vec<u8>>,
}

/// Mount tables by mount namespace inode, read on first need.
#[derive(Debug, Default)]
pub struct MountCache {
    by_ns: HashMap<u64, Vec<Mount>>,
}

/// Reads what [`ExeInfo`] holds for `pid`. Kernel threads have no exe: all
/// fields stay empty.
pub fn read(pid: i32, mounts: &mut MountCache) -> ExeInfo {
    let link = format!("/proc/{pid}/exe");
    let Ok(target) = fs::read_link(&link) else {
        return ExeInfo::default();
    };
    let path = target.as_os_str().as_bytes().to_vec();
    let mut info = ExeInfo {
        from_memfd: path.starts_with(b"/memfd:"),
        ..ExeInfo::default()
    };
    if let Ok(m) = fs::metadata(&link) {
        info.ino = m.ino();
        info.ctime_ns = to_ns(m.ctime(), m.ctime_nsec());
        info.mtime_ns = to_ns(m.mtime(), m.mtime_nsec());
    }
    if !info.from_memfd && on_overlay(&link) {
        info.upper_layer = mounts.in_upper_layer(pid, &path);
    }
    info.path = path;
    info
}

fn to_ns(secs: i64, nsecs: i64) -> u64 {
    (secs.max(0) as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(nsecs.max(0) as u64)
}

fn on_overlay(path: &str) -> bool {
    let Ok(c) = std::ffi::CString::new(path) else {
        return false;
    };
    // SAFETY: statfs writes into the zeroed struct we own.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: c is a valid NUL-terminated path and st a valid out pointer.
    let rc = unsafe { libc::statfs(c.as_ptr(), &mut st) };
    rc == 0 && st.f_type == OVERLAYFS_SUPER_MAGIC
}

impl MountCache {
    fn in_upper_layer(&mut self, pid: i32, exe: &[u8]) -> bool {
        let Ok(ns) = fs::metadata(format!("/proc/{pid}/ns/mnt")).map(|m| m.ino()) else {
            return false;
        };
        if !self.by_ns.contains_key(&ns) {
            if self.by_ns.len() >= MAX_MOUNT_NAMESPACES {
                return false;
            }
            let Ok(text) = fs::read(format!("/proc/{pid}/mountinfo")) else {
                return false;
            };
            self.by_ns.insert(ns, parse_mountinfo(&text));
        }
        let Some(mounts) = self.by_ns.get(&ns) else {
            return false;
        };
        let Some(m) = holding_mount(mounts, exe) else {
            return false;
        };
        let (Some(upper), "overlay") = (&m.upperdir, m.fstype.as_str()) else {
            return false;
        };
        let rel = exe[m.point.len()..]
            .strip_prefix(b"/")
            .unwrap_or(&exe[m.point.len()..]);
        let mut candidate = upper.clone();
        candidate.push(b'/');
        candidate.extend_from_slice(rel);
        Path::new(std::ffi::OsStr::from_bytes(&candidate)).exists()
    }
}

/// The mount with the longest mount point that contains `path`; the last one
/// listed wins a tie, since later mounts stack over earlier ones.
fn holding_mount<'a>(mounts: &'a [Mount], path: &[u8]) -> Option<&'a Mount> {
    mounts
        .iter()
        .filter(|m| {
            m.point == b"/"
                || (path.starts_with(&m.point)
                    && matches!(path.get(m.point.len()), None | Some(b'/')))
        })
        .max_by_key(|m| m.point.len())
}

/// `id parent major:minor root point options [optional…] - fstype source super`
fn parse_mountinfo(text: &[u8]) -> Vec<Mount> {
    let mut out = Vec::new();
    for line in text.split(|&b| b == b'\n').take(MAX_MOUNTS_PER_NAMESPACE) {
        let fields: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
        let Some(dash) = fields.iter().position(|f| *f == b"-") else {
            continue;
        };
        let (Some(point), Some(fstype)) = (fields.get(4), fields.get(dash + 1)) else {
            continue;
        };
        let upperdir = fields.get(dash + 3).and_then(|opts| {
            opts.split(|&b| b == b',')
                .find_map(|o| o.strip_prefix(b"upperdir="))
                .map(unescape)
        });
        out.push(Mount {
            point: unescape(point),
            fstype: String::from_utf8_lossy(fstype).into_owned(),
            upperdir,
        });
    }
    out
}

/// mountinfo writes space, tab, newline and backslash as `\ooo`.
fn unescape(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'\\' && i + 4 <= s.len() {
            let oct = std::str::from_utf8(&s[i + 1..i + 4])
                .ok()
                .and_then(|o| u8::from_str_radix(o, 8).ok());
            if let Some(b) = oct {
                out.push(b);
                i += 4;
                continue;
            }
        }
        out.push(s[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &[u8] = b"22 1 0:21 / / rw,relatime - ext4 /dev/vda rw
30 22 0:40 / /var/lib/docker/overlay2/abc/merged rw - overlay overlay rw,lowerdir=/l1:/l2,upperdir=/var/lib/docker/overlay2/abc/diff,workdir=/w
31 22 0:41 / /mnt/my\\040dir rw - tmpfs tmpfs rw
";

    #[test]
    fn mountinfo_fields_and_escapes() {
        let m = parse_mountinfo(MOUNTINFO);
        assert_eq!(m.len(), 3);
        assert_eq!(m[1].fstype, "overlay");
        assert_eq!(
            m[1].upperdir.as_deref(),
            Some(&b"/var/lib/docker/overlay2/abc/diff"[..])
        );
        assert_eq!(m[2].point, b"/mnt/my dir");
    }

    #[test]
    fn the_longest_containing_mount_holds_a_path() {
        let m = parse_mountinfo(MOUNTINFO);
        let p = b"/var/lib/docker/overlay2/abc/merged/bin/sh";
        assert_eq!(
            holding_mount(&m, p).map(|m| m.fstype.as_str()),
            Some("overlay")
        );
        assert_eq!(
            holding_mount(&m, b"/mnt/my dirx/a").map(|m| &m.point[..]),
            Some(&b"/"[..])
        );
        assert_eq!(
            holding_mount(&m, b"/usr/bin/env").map(|m| m.fstype.as_str()),
            Some("ext4")
        );
    }

    #[test]
    fn our_own_exe() {
        let mut cache = MountCache::default();
        let me = read(std::process::id() as i32, &mut cache);
        let want = std::env::current_exe().expect("current_exe");
        assert_eq!(me.path, want.as_os_str().as_bytes());
        assert_eq!(me.ino, fs::metadata(&want).expect("stat").ino());
        assert!(me.mtime_ns > 0 && !me.from_memfd);
    }
}
