//! kestrel's default ruleset, embedded at build time from the repository's
//! `rules/*.yaml` (see `build.rs`), used when `evaluate` is given no `-r`.
//!
//! It is not a place for rules themselves: they live in `rules/`.

use crate::loader::source::SourceFile;

include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));

/// The built-in rule files, named `builtin:FILE` in diagnostics.
pub fn files() -> Vec<SourceFile> {
    BUILTIN_RULES
        .iter()
        .map(|(name, text)| SourceFile::new(format!("builtin:{name}"), *text))
        .collect()
}
