//! The rules evaluate runs: loaded rules narrowed by the user's selection
//! (`--enable`/`--disable` by name or tag, minimum priority), compiled by the
//! engine, and indexed by event kind so that an event meets only the rules
//! that can match its type.
//!
//! It is not a place for loading (see [`crate::loader`]) or for the
//! compiler's internals (see [`crate::compile`]).

use schema::{Kind, Priority};

use crate::alert::format::Output;
use crate::check::Rule;
use crate::compile::{Compiler, Condition, KindSet, NoNames, SystemResolver};
use crate::eval::CompiledRuleset;
use crate::fields::EventView;

/// `--enable` / `--disable`, applied in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Toggle {
    Enable(String),
    Disable(String),
}

/// Whether the first matching rule ends an event's evaluation (Falco's
/// default) or every matching rule alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RuleMatching {
    #[default]
    First,
    All,
}

/// Wildcard match (`*`, `?`), shared with output's subscription filters.
pub use stage::control::feed::wildcard;

/// True when `pattern` selects `rule`: `tag:PATTERN` matches any of its
/// tags, anything else its name.
pub fn selects(pattern: &str, rule: &Rule) -> bool {
    match pattern.strip_prefix("tag:") {
        Some(tp) => rule.tags.iter().any(|t| wildcard(tp, t)),
        None => wildcard(pattern, &rule.name),
    }
}

/// Applies toggles in order, then drops rules less severe than
/// `min_priority` and rules that stay disabled.
pub fn select(mut rules: Vec<Rule>, toggles: &[Toggle], min_priority: Priority) -> Vec<Rule> {
    for t in toggles {
        let (pat, on) = match t {
            Toggle::Enable(p) => (p, true),
            Toggle::Disable(p) => (p, false),
        };
        for r in rules.iter_mut().filter(|r| selects(pat, r)) {
            r.enabled = on;
        }
    }
    // Priorities are ordered most severe first (emergency = 0).
    rules.retain(|r| r.enabled && (r.priority as u16) <= (min_priority as u16));
    rules
}

/// One compiled rule.
pub struct Compiled {
    pub rule: Rule,
    pub cond: Condition,
    pub output: Output,
    /// Alerts raised, for the stats frame.
    pub alerts: u64,
}

/// Why a rule did not compile.
#[derive(Debug, thiserror::Error)]
#[error("rule `{rule}`: {message}")]
pub struct RuleError {
    pub rule: String,
    pub message: String,
}

/// The compiled ruleset, indexed by event kind by the engine.
pub struct RuleSet {
    pub rules: Vec<Compiled>,
    index: CompiledRuleset,
    pub matching: RuleMatching,
}

impl RuleSet {
    /// Compiles syscall rules; rules of other sources are kept out (their
    /// source does not exist yet) and returned by name.
    ///
    /// A rule already compiled (by an earlier ruleset of the same load, or
    /// for its diagnostics) is not compiled again; the others share one
    /// [`Compiler`], so a macro used by many rules is compiled once.
    pub fn compile(
        rules: Vec<Rule>,
        matching: RuleMatching,
    ) -> Result<(RuleSet, Vec<String>), Vec<RuleError>> {
        let mut out = Vec::new();
        let mut errors = Vec::new();
        let mut other_sources = Vec::new();
        // The loader inlined macros and lists: no names left to look up.
        let mut compiler = Compiler::new(&NoNames, &SystemResolver);
        for rule in rules {
            if rule.source != "syscall" {
                other_sources.push(rule.name.clone());
                continue;
            }
            let compiled = rule
                .compiled
                .get_or_compile(|| compiler.compile(&rule.condition))
                .clone();
            match compiled {
                Ok(cond) => {
                    let output = Output::new(&rule.output);
                    out.push(Compiled {
                        rule,
                        cond,
                        output,
                        alerts: 0,
                    });
                }
                Err(e) => errors.push(RuleError {
                    rule: rule.name,
                    message: e.message,
                }),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let index = CompiledRuleset::new(out.iter().enumerate().map(|(i, c)| (i, c.cond.clone())));
        Ok((
            RuleSet {
                rules: out,
                index,
                matching,
            },
            other_sources,
        ))
    }

    /// The indices of the rules that match `ev`, in rule order (at most one
    /// with [`RuleMatching::First`]).
    pub fn matches(&self, ev: &EventView<'_>, out: &mut Vec<usize>) {
        self.index
            .matches(ev, self.matching == RuleMatching::First, out);
    }

    /// The event kinds any rule can match.
    pub fn kinds(&self) -> Vec<Kind> {
        let all = self
            .rules
            .iter()
            .fold(KindSet::EMPTY, |acc, c| acc.union(c.cond.kinds));
        all.iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard("Shell*", "Shell spawned in a container"));
        assert!(wildcard("*container*", "Shell spawned in a container"));
        assert!(wildcard("a?c", "abc"));
        assert!(!wildcard("a?c", "abbc"));
        assert!(wildcard("*", ""));
        assert!(!wildcard("Shell", "Shell spawned"));
        assert!(wildcard("a*b*c", "aXXbYYc"));
        assert!(!wildcard("a*b*c", "aXXbYY"));
    }
}
