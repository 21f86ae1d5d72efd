//! The /proc parsers of capture's startup snapshot (`snapshot/proc.rs`,
//! included from bins/capture by path) on arbitrary bytes: `stat` (whose
//! `comm` a process picks, parentheses and newlines included), `status`,
//! `cmdline`, `cgroup` and `loginuid`. The command line keeps its bounds.
#![no_main]

use kestrel_fuzz::procfs::{self, TaskInfo, MAX_ARGS, MAX_ARGS_BYTES, MAX_CGROUP_LINES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut t = TaskInfo::default();
    let _ = procfs::parse_stat(data, &mut t);
    procfs::parse_status(data, &mut t);
    let (_exe, args, _truncated) = procfs::parse_cmdline(data);
    assert!(args.len() <= MAX_ARGS, "{} args", args.len());
    let arg_bytes: usize = args.iter().map(|a| a.len()).sum();
    assert!(arg_bytes <= MAX_ARGS_BYTES, "{arg_bytes} bytes of args");
    if let Ok(text) = std::str::from_utf8(data) {
        assert!(procfs::parse_cgroups(text).len() <= MAX_CGROUP_LINES);
        let _ = procfs::parse_loginuid(text);
    }
});
