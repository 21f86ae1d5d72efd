//! Kernel test of 32-bit syscalls: this 64-bit test process makes an `open`
//! through `int 0x80`, which no per-syscall tracepoint sees, and the
//! `compat_syscall` event must report it with its ia32 number, raw
//! arguments and path. Needs root: `#[ignore]`d, run by tests/run.sh.

#![cfg(target_arch = "x86_64")]

mod common;

use common::{gettid, require_kernel, the_event, unique_path, Capture};

/// ia32 syscall numbers (arch/x86/entry/syscalls/syscall_32.tbl).
const IA32_OPEN: u64 = 5;

/// Memory below 4 GiB: a 32-bit syscall takes 32-bit pointers.
struct LowPage {
    ptr: *mut u8,
    len: usize,
}

impl LowPage {
    fn new(len: usize) -> LowPage {
        // SAFETY: an anonymous private mapping, checked and unmapped on drop.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_32BIT,
                -1,
                0,
            )
        };
        assert_ne!(ptr, libc::MAP_FAILED, "mmap(MAP_32BIT) failed");
        LowPage {
            ptr: ptr.cast(),
            len,
        }
    }

    /// Copies `s` and a NUL in; returns its 32-bit address.
    fn put_cstr(&mut self, s: &str) -> u32 {
        assert!(s.len() < self.len);
        // SAFETY: in bounds of the mapping (checked above).
        unsafe {
            std::ptr::copy_nonoverlapping(s.as_ptr(), self.ptr, s.len());
            *self.ptr.add(s.len()) = 0;
        }
        u32::try_from(self.ptr as usize).expect("MAP_32BIT gives a 32-bit address")
    }
}

impl Drop for LowPage {
    fn drop(&mut self) {
        // SAFETY: unmapping our own mapping.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

/// A 32-bit syscall `nr` with three arguments through `int 0x80`.
fn int80(nr: u64, a0: u32, a1: u32, a2: u32) -> i32 {
    let ret: u64;
    // SAFETY: the caller passes a valid 32-bit pointer where one is needed.
    // rbx cannot be an operand (LLVM reserves it), so it is saved around the
    // call; r8-r11 are marked clobbered because kernels before 4.17 zeroed
    // them on the way back from int 0x80.
    unsafe {
        std::arch::asm!(
            "push rbx",
            "mov ebx, {a0:e}",
            "int 0x80",
            "pop rbx",
            a0 = in(reg) a0,
            inlateout("rax") nr => ret,
            in("rcx") u64::from(a1),
            in("rdx") u64::from(a2),
            out("r8") _,
            out("r9") _,
            out("r10") _,
            out("r11") _,
        );
    }
    ret as i32
}

#[test]
#[ignore = "needs root, kernel BTF and tracefs; tests/run.sh runs it"]
fn open_through_int80_is_a_compat_syscall_event() {
    require_kernel();
    let path = unique_path("compat");
    let mut page = LowPage::new(4096);
    let addr = page.put_cstr(&path);
    let c = Capture::start(&["--no-snapshot", "--syscalls", "compat_syscall,open"]);
    // O_RDONLY of a file that does not exist: the call is what is seen.
    let ret = int80(IA32_OPEN, addr, 0, 0);
    let tid = gettid();
    let frames = c.stop();
    assert_eq!(ret, -libc::ENOENT, "the 32-bit open ran");

    let pid = std::process::id() as i64;
    let e = the_event(&frames, "compat_syscall", pid, |e| {
        e["params"]["path"] == path.as_str()
    });
    assert_eq!(e["tid"], tid);
    assert_eq!(e["ret"], 0, "made at entry: no return value yet");
    let p = &e["params"];
    assert_eq!(p["nr"], IA32_OPEN);
    assert_eq!(p["a0"], addr);
    assert_eq!((p["a1"].clone(), p["a2"].clone()), (0.into(), 0.into()));
    // The 64-bit tracepoints never saw it.
    assert!(
        !frames
            .iter()
            .filter_map(|f| f.get("event"))
            .any(|e| e["type"] == "open" && e["params"]["name"] == path.as_str()),
        "a 32-bit open reached the 64-bit open program"
    );
}
