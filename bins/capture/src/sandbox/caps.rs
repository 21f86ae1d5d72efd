//! Clearing every capability of the calling thread, for good.
//!
//! The bounding set and the securebits need `CAP_SETPCAP`, so they go first;
//! the effective, permitted and inheritable sets go last, in one `capset`.
//! With the securebits locked, even uid 0 cannot get capabilities back
//! through `execve` (which seccomp and Landlock deny anyway).
//!
//! A capture started without `CAP_SETPCAP` (a systemd unit or a container
//! that grants only what loading the probe needs) cannot shrink its bounding
//! set or lock the securebits, and is not refused for it: its bounding set
//! was already narrowed by whoever started it, and with `no_new_privs` set
//! (which [`super::lock_down`] does first) an `execve` cannot raise the
//! permitted set above the empty one left here. Capabilities already out of
//! the bounding set are skipped, never dropped again.

use std::io;

use super::SandboxError;

/// `_LINUX_CAPABILITY_VERSION_3`: 64-bit sets, as two 32-bit halves.
const CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// Capability numbers fit in a 64-bit set; the kernel's last one
/// (`/proc/sys/kernel/cap_last_cap`) is 40 today.
const MAX_CAP_NUMBER: u32 = 63;

/// `CAP_SETPCAP`: needed to shrink the bounding set and set securebits.
const CAP_SETPCAP: u32 = 8;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// What [`drop_all`] could do to the bounding set and the securebits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoundingSet {
    /// Emptied, and the securebits locked (`CAP_SETPCAP` was held).
    Dropped,
    /// Left as the caller's parent narrowed it: without `CAP_SETPCAP` it
    /// cannot shrink; `no_new_privs` keeps `execve` from using it.
    KeptWithoutSetpcap,
}

/// Drops the bounding set and locks the securebits when `CAP_SETPCAP` is
/// held, then clears the ambient set and the effective, permitted and
/// inheritable sets. Returns what it did to the bounding set.
pub fn drop_all() -> Result<BoundingSet, SandboxError> {
    let bounding = if effective_has(CAP_SETPCAP)? {
        drop_bounding_set()?;
        lock_securebits()?;
        BoundingSet::Dropped
    } else {
        BoundingSet::KeptWithoutSetpcap
    };
    // SAFETY: prctl with integer arguments only.
    let rc = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        )
    };
    check(rc, "clearing the ambient set")?;
    let header = CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data = [CapData::default(); 2];
    // SAFETY: header and the two-element data array are the layout capset
    // reads for version 3.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &header, data.as_ptr()) };
    check(rc as i32, "capset")?;
    Ok(bounding)
}

fn effective_has(cap: u32) -> Result<bool, SandboxError> {
    let mut header = CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: capget writes two CapData for version 3 into memory we own.
    let rc = unsafe { libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) };
    check(rc as i32, "capget")?;
    let half = data[(cap / 32) as usize];
    Ok(half.effective & (1 << (cap % 32)) != 0)
}

fn drop_bounding_set() -> Result<(), SandboxError> {
    for cap in 0..=MAX_CAP_NUMBER {
        // SAFETY: prctl with integer arguments only.
        let present = unsafe { libc::prctl(libc::PR_CAPBSET_READ, cap as libc::c_ulong, 0, 0, 0) };
        if present < 0 {
            // EINVAL: past the kernel's last capability.
            break;
        }
        if present == 1 {
            // SAFETY: prctl with integer arguments only.
            let rc = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
            check(rc, "dropping the bounding set")?;
        }
    }
    Ok(())
}

fn lock_securebits() -> Result<(), SandboxError> {
    let bits = libc::SECBIT_NOROOT
        | libc::SECBIT_NOROOT_LOCKED
        | libc::SECBIT_NO_SETUID_FIXUP
        | libc::SECBIT_NO_SETUID_FIXUP_LOCKED
        | libc::SECBIT_KEEP_CAPS_LOCKED
        | libc::SECBIT_NO_CAP_AMBIENT_RAISE
        | libc::SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
    // SAFETY: prctl with integer arguments only.
    let rc = unsafe { libc::prctl(libc::PR_SET_SECUREBITS, bits as libc::c_ulong, 0, 0, 0) };
    check(rc, "locking the securebits")
}

fn check(rc: i32, step: &'static str) -> Result<(), SandboxError> {
    if rc != 0 {
        return Err(SandboxError::Capabilities {
            step,
            source: io::Error::last_os_error(),
        });
    }
    Ok(())
}
