//! Hostile input never panics: arbitrary text and token soups through the
//! condition parser, and arbitrary YAML-ish text through the whole loader,
//! end in a value or a diagnostic.

use evaluate::check::AnyField;
use evaluate::lang::parse::{parse, parse_field};
use evaluate::loader::{self, source::SourceFile};
use proptest::prelude::*;

/// Pieces of the condition grammar, glued at random, so that the parser
/// sees mostly-valid input that breaks in every possible place.
fn token() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "and",
        "or",
        "not",
        "(",
        ")",
        ",",
        "proc.name",
        "evt.arg.flags",
        "proc.aname[2]",
        "fd.name[",
        "]",
        "=",
        "!=",
        "<=",
        "in",
        "startswith",
        "anyof",
        "allof",
        "oneof",
        "exists",
        "tolower(",
        "val(",
        "\"q\\\"x\"",
        "'s'",
        "bash",
        "/usr/bin",
        "12",
        "-3.5e2",
        "m1",
        " ",
        "\n",
        "\"unterminated",
        "\\x4",
        "pmatch",
        "glob",
        "regex",
        "len(",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parser_never_panics_on_any_text(s in "\\PC{0,200}") {
        let _ = parse(&s);
        let _ = parse_field(&s);
    }

    #[test]
    fn parser_never_panics_on_token_soup(tokens in prop::collection::vec(token(), 0..40)) {
        let s = tokens.join(" ");
        if let Err(e) = parse(&s) {
            // Error spans stay inside the text.
            prop_assert!(e.span.start <= e.span.end && e.span.end as usize <= s.len(), "{e:?} for {s:?}");
        }
        let glued = tokens.concat();
        let _ = parse(&glued);
    }

    #[test]
    fn loader_never_panics(body in prop::collection::vec(prop::sample::select(vec![
        "- rule: R\n", "- macro: m\n", "- list: l\n", "  condition: ", "  items: [a, l]\n", "  desc: d\n", "  output: %proc.name\n",
        "  priority: info\n", "  append: true\n", "  override:\n    condition: append\n", "  exceptions:\n", "  - name: e\n",
        "    fields: [proc.name]\n", "    values: [[x]]\n", "m and evt.type = open\n", "(proc.name = x\n", "[\n", "}\n", ": :\n",
        "  enabled: false\n", "- required_engine_version: 99\n", "\t\n", "  source: k8s_audit\n",
    ]), 0..30)) {
        let text = body.concat();
        let _ = loader::load_texts(vec![SourceFile::new("p.yaml", text)], &AnyField);
    }
}
