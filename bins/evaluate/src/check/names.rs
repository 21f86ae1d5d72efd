//! The parsed macros, lists and rule conditions of a load, kept so that a
//! warning or error the compiler finds after macros were inlined (a type
//! mismatch such as `proc.pid = abc` inside a macro) can be traced back to
//! the macro and the token it comes from.
//!
//! It is not used on the hot path, and it does not compile rules again:
//! the compiler reports the chain of macros a problem is in, and these names
//! turn that chain and span into a file location. Only a rule nobody
//! compiled yet is compiled here (once, through its [`CompileOnce`]).

use std::collections::HashMap;

use crate::compile::{self, CompileError, CompileOnce, CompileWarning, Condition};
use crate::lang::ast::{Expr, Span};
use crate::loader::diag::{Diagnostic, ItemKind};
use crate::loader::source::{CondText, SourceMap};

/// Macros and lists by name, and each rule's condition as written.
#[derive(Debug, Default)]
pub struct Names {
    pub macros: HashMap<String, (Expr, CondText)>,
    pub lists: HashMap<String, Vec<String>>,
    pub rules: HashMap<String, (Expr, CondText)>,
    /// Each rule's compiled condition, shared with its [`crate::check::Rule`].
    pub compiled: HashMap<String, CompileOnce>,
    pub map: SourceMap,
}

impl compile::Names for Names {
    fn macro_condition(&self, name: &str) -> Option<&Expr> {
        self.macros.get(name).map(|m| &m.0)
    }

    fn list_items(&self, name: &str) -> Option<&[String]> {
        self.lists.get(name).map(Vec::as_slice)
    }
}

impl Names {
    /// The compiler's result for rule `rule`: the one the ruleset got if it
    /// compiled the rule, else compiled now from the condition as written
    /// (macros by name, without exceptions).
    fn compiled(&self, rule: &str) -> Option<Result<Condition, CompileError>> {
        if let Some(done) = self.compiled.get(rule).and_then(CompileOnce::get) {
            return Some(done.clone());
        }
        let (expr, _) = self.rules.get(rule)?;
        Some(compile::compile(expr, self))
    }

    /// The compiler's warnings for rule `rule` (unresolvable addresses,
    /// event types kestrel has not), each located in the macro or rule
    /// text it concerns.
    pub fn compile_warnings(&self, rule: &str) -> Vec<Diagnostic> {
        match self.compiled(rule) {
            Some(Ok(c)) => self.locate_warnings(rule, &c.warnings),
            _ => Vec::new(),
        }
    }

    /// `warnings`, found compiling rule `rule`, each located in the macro
    /// or rule text it concerns.
    pub fn locate_warnings(&self, rule: &str, warnings: &[CompileWarning]) -> Vec<Diagnostic> {
        warnings
            .iter()
            .map(|w| match self.innermost(&w.macros) {
                Some((m, mcond)) => Diagnostic::warning(w.message.clone())
                    .at(self.map.locate_in(mcond, w.span))
                    .item(ItemKind::Macro, m)
                    .note(format!("used by rule `{rule}`")),
                None => {
                    let d = Diagnostic::warning(w.message.clone()).item(ItemKind::Rule, rule);
                    match self.rule_text(rule, w.span) {
                        Some(cond) => d.at(self.map.locate_in(cond, w.span)),
                        None => d,
                    }
                }
            })
            .collect()
    }

    /// A diagnostic for a compile error of rule `rule` (`fallback`: its
    /// message, for a rule these names do not know).
    pub fn locate(&self, rule: &str, fallback: &str) -> Diagnostic {
        match self.compiled(rule) {
            Some(Err(e)) => self.locate_error(rule, &e),
            _ => Diagnostic::error(fallback.to_string()).item(ItemKind::Rule, rule),
        }
    }

    /// `e`, found compiling rule `rule`, located in the innermost macro of
    /// its chain or in the rule's text.
    pub fn locate_error(&self, rule: &str, e: &CompileError) -> Diagnostic {
        match self.innermost(&e.macros) {
            Some((m, mcond)) => Diagnostic::error(e.message.clone())
                .at(self.map.locate_in(mcond, e.span))
                .item(ItemKind::Macro, m)
                .note(format!(
                    "used by rule `{rule}` through {}",
                    e.macros.join(" → ")
                )),
            None => {
                let d = Diagnostic::error(e.message.clone()).item(ItemKind::Rule, rule);
                match self.rule_text(rule, e.span) {
                    Some(cond) => d.at(self.map.locate_in(cond, e.span)),
                    None => d,
                }
            }
        }
    }

    /// The innermost macro of a chain, with its text.
    fn innermost<'a>(&'a self, macros: &'a [String]) -> Option<(&'a String, &'a CondText)> {
        let m = macros.last()?;
        self.macros.get(m).map(|x| (m, &x.1))
    }

    /// The text a span of rule `rule` is in. An empty span comes from an
    /// exception clause, which has no text of its own: none, and the
    /// diagnostic names the rule only.
    fn rule_text(&self, rule: &str, span: Span) -> Option<&CondText> {
        if span == Span::default() {
            return None;
        }
        self.rules.get(rule).map(|r| &r.1)
    }
}
