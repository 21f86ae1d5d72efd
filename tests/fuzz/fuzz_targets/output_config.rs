//! output's `--config` YAML (`Config::from_yaml`, from bins/output by
//! path: serde-saphyr, then the merge with the flags) on arbitrary text.
//! A config that loads is only checked, never started: starting it would
//! open files and run programs.
#![no_main]

use std::sync::OnceLock;

use clap::Parser as _;
use kestrel_fuzz::cli::Cli;
use kestrel_fuzz::config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    static CLI: OnceLock<Cli> = OnceLock::new();
    let cli = CLI.get_or_init(|| Cli::parse_from(["output"]));
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(cfg) = Config::from_yaml(text, "fuzz.yaml", cli) {
        assert!(!cfg.sinks.is_empty(), "a config always has a sink");
        let mut names: Vec<&str> = cfg.sinks.iter().map(|s| s.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), cfg.sinks.len(), "sink names are unique");
    }
});
