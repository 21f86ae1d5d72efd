//! The parsed macros, lists and rule conditions of a load, kept so that an
//! error the compiler finds after macros were inlined (a type mismatch such
//! as `proc.pid = abc` inside a macro) can be traced back to the macro and
//! the token it comes from.
//!
//! It is not used on the hot path: the compiler runs on the inlined
//! conditions; only a failure is compiled again through these names.

use std::collections::HashMap;

use crate::compile::{self, CompileError};
use crate::lang::ast::Expr;
use crate::loader::diag::{Diagnostic, ItemKind};
use crate::loader::source::{CondText, SourceMap};

/// Macros and lists by name, and each rule's condition as written.
#[derive(Debug, Default)]
pub struct Names {
    pub macros: HashMap<String, (Expr, CondText)>,
    pub lists: HashMap<String, Vec<String>>,
    pub rules: HashMap<String, (Expr, CondText)>,
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
    /// The compiler's warnings for rule `rule` (unresolvable addresses,
    /// event types kestrel has not), each located in the macro or rule
    /// text it concerns.
    pub fn compile_warnings(&self, rule: &str) -> Vec<Diagnostic> {
        let Some((expr, cond)) = self.rules.get(rule) else {
            return Vec::new();
        };
        let Ok(c) = compile::compile(expr, self) else {
            return Vec::new();
        };
        c.warnings
            .iter()
            .map(|w| {
                match w
                    .macros
                    .last()
                    .and_then(|m| self.macros.get(m).map(|x| (m, &x.1)))
                {
                    Some((m, mcond)) => Diagnostic::warning(w.message.clone())
                        .at(self.map.locate_in(mcond, w.span))
                        .item(ItemKind::Macro, m)
                        .note(format!("used by rule `{rule}`")),
                    None => Diagnostic::warning(w.message.clone())
                        .at(self.map.locate_in(cond, w.span))
                        .item(ItemKind::Rule, rule),
                }
            })
            .collect()
    }

    /// A diagnostic for a compile error of rule `rule`: compiled again with
    /// its macros by name, the error names the macro chain and a span in the
    /// innermost one, which locates it in its file.
    pub fn locate(&self, rule: &str, fallback: &str) -> Diagnostic {
        let Some((expr, cond)) = self.rules.get(rule) else {
            return Diagnostic::error(fallback.to_string()).item(ItemKind::Rule, rule);
        };
        let e: CompileError = match compile::compile(expr, self) {
            Err(e) => e,
            // The error is in an exception clause, which has no text of its
            // own: name the rule.
            Ok(_) => return Diagnostic::error(fallback.to_string()).item(ItemKind::Rule, rule),
        };
        match e
            .macros
            .last()
            .and_then(|m| self.macros.get(m).map(|x| (m, &x.1)))
        {
            Some((m, mcond)) => Diagnostic::error(e.message.clone())
                .at(self.map.locate_in(mcond, e.span))
                .item(ItemKind::Macro, m)
                .note(format!(
                    "used by rule `{rule}` through {}",
                    e.macros.join(" → ")
                )),
            None => Diagnostic::error(e.message.clone())
                .at(self.map.locate_in(cond, e.span))
                .item(ItemKind::Rule, rule),
        }
    }
}
