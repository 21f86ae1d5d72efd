//! Landlock with no rule: a ruleset that handles every access right the
//! running kernel knows, restricted onto the calling thread without adding a
//! single allowed path or port, so every handled action is denied.
//!
//! Raw syscalls rather than a crate: with no rules to add, the whole job is
//! one ABI query, one `landlock_create_ruleset` and one
//! `landlock_restrict_self`, and the rights per ABI version are listed here
//! where a reader can check them against `include/uapi/linux/landlock.h`.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

use super::SandboxError;

/// Newest Landlock ABI whose rights this module knows. ABI 7 only added
/// logging flags, so a newer kernel is restricted with ABI 7's rights.
pub const MAX_KNOWN_ABI: u32 = 7;

/// `LANDLOCK_CREATE_RULESET_VERSION`: ask for the ABI version.
const CREATE_RULESET_VERSION: u32 = 1 << 0;

/// Filesystem rights of ABI 1: execute, write, read file, read dir, remove
/// dir, remove file, make char/dir/reg/sock/fifo/block/sym (bits 0–12).
const FS_ABI1: u64 = (1 << 13) - 1;
/// `LANDLOCK_ACCESS_FS_REFER` (ABI 2).
const FS_REFER: u64 = 1 << 13;
/// `LANDLOCK_ACCESS_FS_TRUNCATE` (ABI 3).
const FS_TRUNCATE: u64 = 1 << 14;
/// `LANDLOCK_ACCESS_FS_IOCTL_DEV` (ABI 5).
const FS_IOCTL_DEV: u64 = 1 << 15;
/// `LANDLOCK_ACCESS_NET_BIND_TCP | LANDLOCK_ACCESS_NET_CONNECT_TCP` (ABI 4).
const NET_TCP: u64 = (1 << 0) | (1 << 1);
/// `LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL` (ABI 6).
const SCOPE_ALL: u64 = (1 << 0) | (1 << 1);

/// `struct landlock_ruleset_attr`; the kernel reads only the prefix whose
/// size we pass, so older kernels get the fields they know.
#[repr(C)]
struct RulesetAttr {
    handled_access_fs: u64,
    handled_access_net: u64,
    scoped: u64,
}

/// What Landlock did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LandlockStatus {
    /// Restricted with the rights of this ABI version.
    Enforced { abi: u32 },
    /// The kernel has no Landlock and the configuration allowed going on.
    Unavailable,
}

/// The rights to handle and the size of the attribute the kernel of `abi`
/// understands.
fn ruleset_for(abi: u32) -> (RulesetAttr, usize) {
    let abi = abi.min(MAX_KNOWN_ABI);
    let mut fs = FS_ABI1;
    if abi >= 2 {
        fs |= FS_REFER;
    }
    if abi >= 3 {
        fs |= FS_TRUNCATE;
    }
    if abi >= 5 {
        fs |= FS_IOCTL_DEV;
    }
    let net = if abi >= 4 { NET_TCP } else { 0 };
    let scoped = if abi >= 6 { SCOPE_ALL } else { 0 };
    let size = match abi {
        0..=3 => 8,
        4 | 5 => 16,
        _ => 24,
    };
    (
        RulesetAttr {
            handled_access_fs: fs,
            handled_access_net: net,
            scoped,
        },
        size,
    )
}

/// The running kernel's Landlock ABI version.
pub fn abi_version() -> io::Result<u32> {
    // SAFETY: a NULL attribute with size 0 and the VERSION flag only queries.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<RulesetAttr>(),
            0usize,
            CREATE_RULESET_VERSION,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(rc as u32)
}

/// Restricts the calling thread. `no_new_privs` must already be set.
pub fn restrict(required: bool) -> Result<LandlockStatus, SandboxError> {
    let abi = match abi_version() {
        Ok(v) => v,
        Err(e) if required => return Err(SandboxError::LandlockUnavailable(e)),
        Err(e) => {
            tracing::warn!("Landlock unavailable ({e}); going on without it");
            return Ok(LandlockStatus::Unavailable);
        }
    };
    let (attr, size) = ruleset_for(abi);
    // SAFETY: attr outlives the call and `size` is not larger than it.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            &attr as *const RulesetAttr,
            size,
            0u32,
        )
    };
    if fd < 0 {
        return Err(SandboxError::Landlock {
            step: "create_ruleset",
            source: io::Error::last_os_error(),
        });
    }
    // SAFETY: the kernel just returned this fd to us and nothing else owns it.
    let ruleset = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    // SAFETY: a valid ruleset fd and no flags.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_landlock_restrict_self,
            std::os::fd::AsRawFd::as_raw_fd(&ruleset),
            0u32,
        )
    };
    if rc != 0 {
        return Err(SandboxError::Landlock {
            step: "restrict_self",
            source: io::Error::last_os_error(),
        });
    }
    Ok(LandlockStatus::Enforced { abi })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rights_grow_with_the_abi() {
        let (a1, s1) = ruleset_for(1);
        assert_eq!(
            (a1.handled_access_fs, a1.handled_access_net, s1),
            (0x1fff, 0, 8)
        );
        let (a4, s4) = ruleset_for(4);
        assert_eq!(
            (a4.handled_access_fs, a4.handled_access_net, s4),
            (0x7fff, 3, 16)
        );
        let (a7, s7) = ruleset_for(7);
        assert_eq!((a7.handled_access_fs, a7.scoped, s7), (0xffff, 3, 24));
        // A kernel newer than this module is restricted with what we know.
        let (a9, s9) = ruleset_for(9);
        assert_eq!(
            (a9.handled_access_fs, a9.handled_access_net, a9.scoped, s9),
            (0xffff, 3, 3, 24)
        );
    }
}
