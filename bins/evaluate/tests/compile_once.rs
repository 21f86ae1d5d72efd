//! Work the compiler must not repeat: a macro used by many rules is
//! expanded and compiled once per load, and a rule is compiled once even
//! when it has warnings to report (the ruleset and the diagnostics share
//! the one result). The compiler's per-thread counts
//! ([`evaluate::compile::counts`]) show it.

use std::sync::Arc;

use evaluate::check::catalog::Registry;
use evaluate::check::Rule;
use evaluate::compile::{counts, Compiler, NoNames, SystemResolver};
use evaluate::lang::ast::Expr;
use evaluate::loader::diag::Severity;
use evaluate::loader::source::SourceFile;
use evaluate::loader::{self, Loaded};
use evaluate::ruleset::{RuleMatching, RuleSet};

const RULES: usize = 6;

/// `RULES` rules using macro `shell_in_tmp`, which uses `shell` (twice) and
/// list `shells`.
fn rules_sharing_a_macro() -> String {
    let mut y = String::from(
        "- list: shells\n  items: [bash, sh, zsh]\n\
         - macro: shell\n  condition: proc.name in (shells)\n\
         - macro: shell_in_tmp\n  condition: evt.type = execve and shell and proc.exepath startswith /tmp/ and (shell or proc.pname = x)\n",
    );
    for i in 0..RULES {
        y.push_str(&format!(
            "- rule: R{i}\n  desc: d\n  condition: shell_in_tmp and proc.pid = {i}\n  output: o\n  priority: warning\n"
        ));
    }
    y
}

fn load(yaml: &str) -> Loaded {
    loader::load_texts(vec![SourceFile::new("r.yaml", yaml)], &Registry)
        .unwrap_or_else(|d| panic!("rules failed to load:\n{d}"))
}

/// The bodies of the inlined macros named `name` in `e`.
fn inlined<'a>(e: &'a Expr, name: &str, out: &mut Vec<&'a Arc<Expr>>) {
    match e {
        Expr::And(v) | Expr::Or(v) => v.iter().for_each(|x| inlined(x, name, out)),
        Expr::Not(x) => inlined(x, name, out),
        Expr::Inlined { name: n, body } => {
            if &**n == name {
                out.push(body);
            }
            inlined(body, name, out);
        }
        _ => {}
    }
}

#[test]
fn a_macro_used_by_many_rules_is_expanded_once() {
    let loaded = load(&rules_sharing_a_macro());
    assert_eq!(loaded.rules.len(), RULES);
    let mut bodies = Vec::new();
    for r in &loaded.rules {
        inlined(&r.condition, "shell_in_tmp", &mut bodies);
    }
    assert_eq!(bodies.len(), RULES);
    // One expansion, shared: every rule holds the same allocation.
    assert!(bodies.iter().all(|b| Arc::ptr_eq(b, bodies[0])));
    let mut inner = Vec::new();
    inlined(bodies[0], "shell", &mut inner);
    assert_eq!(inner.len(), 2);
    assert!(Arc::ptr_eq(inner[0], inner[1]));
}

#[test]
fn a_macro_used_by_many_rules_is_compiled_once() {
    let loaded = load(&rules_sharing_a_macro());
    let before = counts();
    let (set, _) = RuleSet::compile(loaded.rules, RuleMatching::All)
        .unwrap_or_else(|e| panic!("rules failed to compile: {e:?}"));
    let after = counts();
    assert_eq!(set.rules.len(), RULES);
    assert_eq!(after.conditions - before.conditions, RULES as u64);
    // `shell_in_tmp` and `shell`, once each, for all the rules.
    assert_eq!(after.macros - before.macros, 2);
    for c in &set.rules {
        assert_eq!(c.cond.used_macros, ["shell", "shell_in_tmp"]);
    }
}

#[test]
fn a_compiled_macro_is_the_same_as_one_compiled_in_place() {
    let loaded = load(&rules_sharing_a_macro());
    let mut shared = Compiler::new(&NoNames, &SystemResolver);
    for r in &loaded.rules {
        let once = shared
            .compile(&r.condition)
            .unwrap_or_else(|e| panic!("{e}"));
        let alone =
            evaluate::compile::compile(&r.condition, &NoNames).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(format!("{:?}", once.node), format!("{:?}", alone.node));
        assert_eq!(once.kinds, alone.kinds);
    }
}

/// A rule whose condition has a compile warning, in a macro: an event type
/// kestrel has no event for.
const WARNS: &str = "\
- macro: odd_type
  condition: evt.type in (execve, nosuchcall)
- macro: odd_exec
  condition: odd_type and proc.name = sh
- rule: W
  desc: d
  condition: odd_exec and proc.pid = 1
  output: o
  priority: warning
- rule: V
  desc: d
  condition: odd_type and proc.pid = 2
  output: o
  priority: warning
";

fn rule<'a>(rules: &'a [Rule], name: &str) -> &'a Rule {
    rules
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no rule {name}"))
}

#[test]
fn a_rule_with_warnings_is_compiled_once() {
    let loaded = load(WARNS);
    let w_cell = rule(&loaded.rules, "W").compiled.clone();
    assert!(w_cell.get().is_none());
    let before = counts();
    let (set, _) = RuleSet::compile(loaded.rules, RuleMatching::All)
        .unwrap_or_else(|e| panic!("rules failed to compile: {e:?}"));
    assert!(
        w_cell.get().is_some(),
        "the ruleset fills the rule's result"
    );
    // The warnings, located, as `validate` and the live ruleset print them.
    let w = loaded.names.compile_warnings("W");
    let v = loaded.names.compile_warnings("V");
    let after = counts();
    assert_eq!(
        after.conditions - before.conditions,
        2,
        "one compile per rule"
    );
    assert_eq!(after.macros - before.macros, 2, "odd_type and odd_exec");

    assert_eq!(w.len(), 1, "{w:?}");
    let text = w[0].to_string();
    assert_eq!(w[0].severity, Severity::Warning);
    assert!(text.contains("`nosuchcall` is not an event type"), "{text}");
    assert!(text.contains("macro `odd_type`"), "{text}");
    assert!(
        text.contains("r.yaml:2:"),
        "located in the macro's text: {text}"
    );
    assert!(text.contains("used by rule `W`"), "{text}");
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(v[0].to_string().contains("used by rule `V`"));

    // The chain of macros a warning is reached through, per use.
    let chain = |name: &str| {
        let c = set
            .rules
            .iter()
            .find(|c| c.rule.name == name)
            .unwrap_or_else(|| panic!("no compiled rule {name}"));
        c.cond.warnings[0].macros.clone()
    };
    assert_eq!(chain("W"), ["odd_exec", "odd_type"]);
    assert_eq!(chain("V"), ["odd_type"]);
    // The same, from the ruleset's own result.
    let from_set = set
        .rules
        .iter()
        .find(|c| c.rule.name == "W")
        .map(|c| loaded.names.locate_warnings("W", &c.cond.warnings))
        .unwrap_or_default();
    assert_eq!(from_set.len(), 1);
    assert_eq!(from_set[0].to_string(), text);
}

#[test]
fn an_error_in_a_shared_macro_names_each_rules_chain() {
    let yaml = "\
- macro: bad
  condition: proc.pid = abc
- macro: outer
  condition: bad and proc.name = sh
- rule: A
  desc: d
  condition: evt.type = execve and outer
  output: o
  priority: warning
- rule: B
  desc: d
  condition: evt.type = execve and bad
  output: o
  priority: warning
";
    let loaded = load(yaml);
    let before = counts();
    let errs = match RuleSet::compile(loaded.rules, RuleMatching::All) {
        Ok(_) => panic!("`proc.pid = abc` must not compile"),
        Err(e) => e,
    };
    let located: Vec<String> = errs
        .iter()
        .map(|e| loaded.names.locate(&e.rule, &e.message).to_string())
        .collect();
    let after = counts();
    assert_eq!(after.conditions - before.conditions, 2);
    assert_eq!(located.len(), 2);
    assert!(
        located[0].contains("used by rule `A` through outer → bad"),
        "{}",
        located[0]
    );
    assert!(
        located[1].contains("used by rule `B` through bad"),
        "{}",
        located[1]
    );
    assert!(
        located.iter().all(|d| d.contains("r.yaml:2:")),
        "{located:?}"
    );
}
