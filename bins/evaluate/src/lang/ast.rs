//! The abstract syntax of Falco's condition language: what the parser
//! produces and what the checker, the compiler and the reference interpreter
//! consume. It carries source spans so that every later stage can point at
//! the token an error concerns.
//!
//! It is not a place for semantics: field types and meanings live in the field
//! registry, operator semantics in the compiler and the reference interpreter.

use std::sync::Arc;

/// Byte range in the condition text (start inclusive, end exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

/// A boolean expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    /// `field op operand`, e.g. `proc.name in (bash, sh)`.
    Compare(Compare),
    /// `field exists`.
    Exists(FieldRef),
    /// A bare identifier: a macro reference, inlined by the checker.
    Macro {
        name: String,
        span: Span,
    },
    /// A macro reference the checker replaced by the macro's expanded body.
    /// The body is expanded once and shared by every use (hence the `Arc`);
    /// the name stays so that the compiler can compile the body once for
    /// all its uses and say which macro a problem is in. Its spans are in
    /// the macro's text, not the rule's. The parser never produces it.
    Inlined {
        name: Arc<str>,
        body: Arc<Expr>,
    },
    /// A constant, left by the checker after inlining (e.g. an empty `in ()`
    /// list folds to false).
    Const(bool),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Compare {
    pub lhs: FieldRef,
    pub op: CmpOp,
    /// `oneof`/`anyof`/`allof`, when the operator carries one.
    pub modifier: Option<Modifier>,
    pub rhs: Operand,
    pub span: Span,
}

/// A field, possibly with an argument and wrapped in transformers:
/// `proc.aname[2]`, `evt.arg.path`, `tolower(proc.name)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldRef {
    /// Full dotted name as written, without the argument: `proc.aname`,
    /// `evt.arg.path` is name `evt.arg` with arg `path`.
    pub name: String,
    pub arg: Option<String>,
    /// Applied innermost first.
    pub transformers: Vec<Transformer>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transformer {
    ToLower,
    ToUpper,
    B64,
    Basename,
    Len,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    IContains,
    BContains,
    StartsWith,
    BStartsWith,
    EndsWith,
    Glob,
    IGlob,
    Regex,
    In,
    Intersects,
    Pmatch,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Modifier {
    OneOf,
    AnyOf,
    AllOf,
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A quoted or bare string or number, as written (quotes removed,
    /// escapes applied).
    Value { text: String, span: Span },
    /// `(a, b, c)`; items may be list names, expanded by the checker.
    List { items: Vec<ListItem>, span: Span },
    /// `val(field)`: compare against another field of the same event.
    Field(FieldRef),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ListItem {
    Value {
        text: String,
        span: Span,
    },
    /// A bare word that names a list (decided by the checker: a bare word that
    /// is not a list name is a value).
    Name {
        name: String,
        span: Span,
    },
}
