//! The compiler: takes a parsed condition, inlines its macros and lists,
//! checks it against the field registry (every error points at the token it
//! concerns), and builds the [`Node`] tree [`crate::eval`] runs — with list
//! tests turned into sets and automata and cheap checks ordered first — and
//! the set of event kinds the condition can match.
//!
//! Parts: `check` (the checker: leaves and their predicates), `build` (the
//! smart constructors [`Node::and`], [`Node::or`] and `!`, which simplify),
//! [`kinds`], [`matcher`], [`node`]. A [`Compiler`] is a session: its
//! conditions share their macros, each compiled once; a rule's result is
//! kept in its [`CompileOnce`], so the ruleset and the diagnostics share
//! one compile.
//!
//! It is not a place for YAML or rule semantics (the loader's), nor for
//! running conditions ([`crate::eval`]).

mod build;
mod check;
pub mod kinds;
mod kindset;
pub mod matcher;
pub mod node;

pub use check::{parse_num, MAX_LIST_ITEMS, MAX_MACRO_DEPTH};

pub use kindset::KindSet;
pub use node::Node;
use std::cell::Cell;
use std::sync::{Arc, OnceLock};

use crate::lang::ast::{Expr, Span};

/// The macros and lists a condition may name. The loader implements it; a
/// loader that inlines macros and lists itself can pass [`NoNames`].
pub trait Names {
    /// The parsed condition of macro `name`.
    fn macro_condition(&self, name: &str) -> Option<&Expr>;
    /// The items of list `name`, as written in the YAML (an item may name
    /// another list; a quoted item is a value).
    fn list_items(&self, name: &str) -> Option<&[String]>;
}

/// No macros, no lists.
pub struct NoNames;

impl Names for NoNames {
    fn macro_condition(&self, _: &str) -> Option<&Expr> {
        None
    }

    fn list_items(&self, _: &str) -> Option<&[String]> {
        None
    }
}

/// Why a condition does not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CompileError {
    pub message: String,
    /// Where, in the text of the innermost macro of `macros` (or of the
    /// condition itself when `macros` is empty).
    pub span: Span,
    /// The macros being expanded when the error was found, outermost first.
    pub macros: Vec<String>,
}

/// Something worth telling the rule's author that does not stop it loading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileWarning {
    pub message: String,
    pub span: Span,
    pub macros: Vec<String>,
}

/// A compiled condition.
#[derive(Debug, Clone)]
pub struct Condition {
    pub node: Node,
    /// The event kinds it can match.
    pub kinds: KindSet,
    pub warnings: Vec<CompileWarning>,
    /// Macros and lists it used, for the loader's unused-item warnings.
    pub used_macros: Vec<String>,
    pub used_lists: Vec<String>,
}

/// A rule's compiled condition, filled the first time it is asked for and
/// shared by every clone of the rule and by the loader's diagnostics, so
/// that a rule compiles once: the ruleset takes the condition, and the
/// diagnostics locate its warnings and errors from the same result.
///
/// It does not notice a change of the expression it was filled from: the
/// loader fills the rule's condition once and nothing changes it after.
#[derive(Debug, Clone, Default)]
pub struct CompileOnce(Arc<OnceLock<Result<Condition, CompileError>>>);

impl CompileOnce {
    /// The result, compiled by `f` if nothing compiled it yet.
    pub fn get_or_compile(
        &self,
        f: impl FnOnce() -> Result<Condition, CompileError>,
    ) -> &Result<Condition, CompileError> {
        self.0.get_or_init(f)
    }

    /// The result, if the rule was compiled.
    pub fn get(&self) -> Option<&Result<Condition, CompileError>> {
        self.0.get()
    }
}

/// Turns host names into addresses, for `fd.sip.name = NAME` and its
/// siblings: as in Falco, the name in the rule is resolved and the socket's
/// address compared with the result (kestrel sees addresses, not names).
pub trait Resolve {
    fn resolve(&self, name: &str) -> Vec<std::net::IpAddr>;
}

/// The system resolver (`getaddrinfo`), asked once, when the rule compiles.
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve(&self, name: &str) -> Vec<std::net::IpAddr> {
        use std::net::ToSocketAddrs;
        (name, 0)
            .to_socket_addrs()
            .map(|addrs| addrs.map(|a| a.ip()).collect())
            .unwrap_or_default()
    }
}

/// A compilation session: the conditions compiled through one `Compiler`
/// share their macros. Each macro body (by name through [`Names`], or
/// inlined by the loader as [`Expr::Inlined`]) is compiled the first time
/// it is met and its node cloned for every later use, so a macro used by
/// a hundred rules builds its sets, automata and regexes once.
///
/// A session assumes `names` does not change while it lives.
pub struct Compiler<'n> {
    names: &'n dyn Names,
    resolver: &'n dyn Resolve,
    cache: check::MacroCache,
}

impl<'n> Compiler<'n> {
    pub fn new(names: &'n dyn Names, resolver: &'n dyn Resolve) -> Self {
        Compiler {
            names,
            resolver,
            cache: check::MacroCache::default(),
        }
    }

    /// Compiles one condition, reusing the macros compiled before it.
    pub fn compile(&mut self, expr: &Expr) -> Result<Condition, CompileError> {
        COUNTS.with(|c| {
            c.set(Counts {
                conditions: c.get().conditions + 1,
                ..c.get()
            })
        });
        check::Checker::new(self.names, self.resolver, &mut self.cache).condition(expr)
    }
}

/// Compiles `expr`, resolving macros and lists through `names` and host
/// names through the system resolver.
pub fn compile(expr: &Expr, names: &dyn Names) -> Result<Condition, CompileError> {
    compile_with(expr, names, &SystemResolver)
}

/// [`compile`] with a chosen host-name resolver. Compiling many conditions
/// with the same macros: use one [`Compiler`].
pub fn compile_with(
    expr: &Expr,
    names: &dyn Names,
    resolver: &dyn Resolve,
) -> Result<Condition, CompileError> {
    Compiler::new(names, resolver).compile(expr)
}

/// How much compiling the current thread has done: conditions and macro
/// bodies. Tests read it to show that work is not repeated (a macro used
/// by many rules compiled once, a rule compiled once); it costs one
/// thread-local update per condition and per macro body.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub conditions: u64,
    pub macros: u64,
}

thread_local! {
    static COUNTS: Cell<Counts> = const { Cell::new(Counts { conditions: 0, macros: 0 }) };
}

/// This thread's [`Counts`] so far.
pub fn counts() -> Counts {
    COUNTS.with(Cell::get)
}

fn count_macro() {
    COUNTS.with(|c| {
        c.set(Counts {
            macros: c.get().macros + 1,
            ..c.get()
        })
    });
}

#[cfg(test)]
mod tests;
