//! The condition language (`evaluate::lang`: its lexer and parser) on
//! arbitrary text, as `condition:` and macro bodies of rule files carry it,
//! and the compiler on every condition that parses. Error spans must lie
//! on character boundaries of the text, since excerpts are cut with them.
#![no_main]

use evaluate::compile::{Compiler, NoNames, Resolve};
use evaluate::lang;
use libfuzzer_sys::fuzz_target;

/// Host names in conditions are not looked up while fuzzing: no network,
/// and a lookup's time would drown the parser's.
struct NoResolver;

impl Resolve for NoResolver {
    fn resolve(&self, _name: &str) -> Vec<std::net::IpAddr> {
        Vec::new()
    }
}

fn span_ok(src: &str, s: lang::ast::Span) {
    assert!(
        src.get(s.start as usize..s.end as usize).is_some(),
        "span {}..{} is not a slice of a {}-byte text",
        s.start,
        s.end,
        src.len()
    );
}

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    match lang::parse(src) {
        Ok(expr) => {
            let _ = Compiler::new(&NoNames, &NoResolver).compile(&expr);
        }
        Err(e) => span_ok(src, e.span),
    }
    if let Err(e) = lang::parse_field(src) {
        span_ok(src, e.span);
    }
});
