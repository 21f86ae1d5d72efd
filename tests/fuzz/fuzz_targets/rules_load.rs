//! The whole rule loader (`evaluate::loader::load_texts` with the field
//! registry) on an arbitrary rule file: YAML, items, Falco's
//! append/override merging, macros, lists, exceptions and field checks;
//! then every rule that loads is compiled, as `RuleSet::compile` does, and
//! its output template built.
#![no_main]

use evaluate::alert::format::Output;
use evaluate::check::catalog::Registry;
use evaluate::compile::{Compiler, NoNames, Resolve};
use evaluate::loader::{self, source::SourceFile};
use libfuzzer_sys::fuzz_target;

/// Host names in conditions are not looked up while fuzzing (no network).
struct NoResolver;

impl Resolve for NoResolver {
    fn resolve(&self, _name: &str) -> Vec<std::net::IpAddr> {
        Vec::new()
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(loaded) = loader::load_texts(vec![SourceFile::new("fuzz.yaml", text)], &Registry) else {
        return;
    };
    let mut compiler = Compiler::new(&NoNames, &NoResolver);
    for rule in &loaded.rules {
        let _ = compiler.compile(&rule.condition);
        let _ = Output::new(&rule.output);
    }
});
