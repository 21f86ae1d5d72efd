//! The parser of Falco's condition language: text in, [`Expr`] out.
//!
//! Grammar (recursive descent; `not` binds tighter than `and`, which binds
//! tighter than `or`):
//!
//! ```text
//! expr      := and ('or' and)*
//! and       := not ('and' not)*
//! not       := 'not' not | primary
//! primary   := '(' expr ')' | check | MACRO
//! check     := lhs 'exists'
//!            | lhs OP [MODIFIER] rhs          MODIFIER := oneof | anyof | allof
//! lhs       := FIELD | TRANSFORMER '(' lhs ')'
//! FIELD     := name ('[' ARG ']')?            evt.arg.NAME and evt.rawarg.NAME
//!                                             take NAME as their argument
//! rhs       := '(' [value (',' value)*] ')'  a list; bare names may be lists
//!            | LIST_NAME                      after in/intersects/pmatch
//!            | 'val' '(' FIELD ')'            another field of the event
//!            | TRANSFORMER '(' lhs ')'
//!            | value                          quoted or bare string, number
//! ```
//!
//! Errors carry the span of the token they concern. Nesting (parentheses,
//! `not`, transformers) is bounded by [`MAX_NESTING_DEPTH`], so a hostile
//! condition cannot exhaust the stack.
//!
//! It is not a place for meaning: whether a field exists, whether a name is a
//! macro or a list, and whether an operator suits a field's type are decided
//! later, by the loader and the compiler.

use super::ast::{CmpOp, Compare, Expr, FieldRef, ListItem, Modifier, Operand, Span, Transformer};
use super::lex::{is_identifier, LexError, Lexer, OpToken, Text};

/// Deepest nesting of parentheses, `not`s and transformers a condition may
/// have. Falco's parser uses the same bound; real rules nest fewer than ten
/// levels even after macro expansion is accounted for separately.
pub const MAX_NESTING_DEPTH: usize = 100;

/// Fields whose argument follows a dot instead of brackets
/// (`evt.arg.flags`, `evt.rawarg.res`).
const DOTTED_ARG_FIELDS: &[&str] = &["evt.arg", "evt.rawarg"];

/// A syntax error in a condition, pointing at the offending token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    pub message: String,
    pub span: Span,
}

impl From<LexError> for ParseError {
    fn from(e: LexError) -> Self {
        ParseError {
            message: e.message,
            span: e.span,
        }
    }
}

/// Parses a whole condition.
pub fn parse(src: &str) -> Result<Expr, ParseError> {
    let mut p = Parser {
        lex: Lexer::new(src),
        depth: 0,
    };
    p.lex.skip_blank();
    if p.lex.at_end() {
        return Err(ParseError {
            message: "empty condition".into(),
            span: Span::default(),
        });
    }
    let e = p.or()?;
    p.lex.skip_blank();
    if !p.lex.at_end() {
        let s = p.lex.next_token_span();
        let found = p.lex.slice(s);
        let message = if found == ")" {
            "unbalanced `)`: no matching `(`".to_string()
        } else {
            format!("expected `and`, `or` or the end of the condition, found `{found}`")
        };
        return Err(ParseError { message, span: s });
    }
    Ok(e)
}

/// Parses a field reference on its own, as written in output strings and
/// exception `fields` (`proc.aname[2]`, `tolower(proc.name)`).
pub fn parse_field(src: &str) -> Result<FieldRef, ParseError> {
    let mut p = Parser {
        lex: Lexer::new(src),
        depth: 0,
    };
    p.lex.skip_blank();
    let f = p.lhs()?;
    p.lex.skip_blank();
    if !p.lex.at_end() {
        let s = p.lex.next_token_span();
        return Err(ParseError {
            message: format!("unexpected `{}` after the field", p.lex.slice(s)),
            span: s,
        });
    }
    Ok(f)
}

/// The operator's spelling, for messages.
pub fn op_name(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "=",
        CmpOp::Ne => "!=",
        CmpOp::Lt => "<",
        CmpOp::Le => "<=",
        CmpOp::Gt => ">",
        CmpOp::Ge => ">=",
        CmpOp::Contains => "contains",
        CmpOp::IContains => "icontains",
        CmpOp::BContains => "bcontains",
        CmpOp::StartsWith => "startswith",
        CmpOp::BStartsWith => "bstartswith",
        CmpOp::EndsWith => "endswith",
        CmpOp::Glob => "glob",
        CmpOp::IGlob => "iglob",
        CmpOp::Regex => "regex",
        CmpOp::In => "in",
        CmpOp::Intersects => "intersects",
        CmpOp::Pmatch => "pmatch",
    }
}

/// Operators whose right-hand side is a list.
pub fn takes_list(op: CmpOp) -> bool {
    matches!(op, CmpOp::In | CmpOp::Intersects | CmpOp::Pmatch)
}

fn transformer(name: &str) -> Option<Transformer> {
    Some(match name {
        "tolower" => Transformer::ToLower,
        "toupper" => Transformer::ToUpper,
        "b64" => Transformer::B64,
        "basename" => Transformer::Basename,
        "len" => Transformer::Len,
        _ => return None,
    })
}

fn modifier(name: &str) -> Option<Modifier> {
    Some(match name {
        "oneof" => Modifier::OneOf,
        "anyof" => Modifier::AnyOf,
        "allof" => Modifier::AllOf,
        _ => return None,
    })
}

fn join(a: Span, b: Span) -> Span {
    Span {
        start: a.start.min(b.start),
        end: a.end.max(b.end),
    }
}

struct Parser<'a> {
    lex: Lexer<'a>,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn err<T>(&self, span: Span, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError {
            message: message.into(),
            span,
        })
    }

    fn found(&self) -> (Span, String) {
        let s = self.lex.next_token_span();
        let text = if self.lex.at_end() {
            "the end of the condition".to_string()
        } else {
            format!("`{}`", self.lex.slice(s))
        };
        (s, text)
    }

    fn enter(&mut self, at: Span) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_NESTING_DEPTH {
            return self.err(
                at,
                format!("condition nests deeper than {MAX_NESTING_DEPTH} levels"),
            );
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        let first = self.and()?;
        let mut items = vec![first];
        loop {
            let save = self.lex.clone();
            self.lex.skip_blank();
            if self.lex.keyword("or").is_none() {
                self.lex = save;
                break;
            }
            self.lex.skip_blank();
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap_or(Expr::Const(false))
        } else {
            Expr::Or(items)
        })
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        let first = self.not()?;
        let mut items = vec![first];
        loop {
            let save = self.lex.clone();
            self.lex.skip_blank();
            if self.lex.keyword("and").is_none() {
                self.lex = save;
                break;
            }
            self.lex.skip_blank();
            items.push(self.not()?);
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap_or(Expr::Const(true))
        } else {
            Expr::And(items)
        })
    }

    fn not(&mut self) -> Result<Expr, ParseError> {
        self.lex.skip_blank();
        if let Some(kw) = self.lex.keyword("not") {
            self.enter(kw)?;
            self.lex.skip_blank();
            let inner = self.not()?;
            self.leave();
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        self.lex.skip_blank();
        if let Some(open) = self.lex.eat(b'(') {
            self.enter(open)?;
            self.lex.skip_blank();
            let e = self.or()?;
            self.lex.skip_blank();
            if self.lex.eat(b')').is_none() {
                let (s, found) = self.found();
                return self.err(
                    join(open, s),
                    format!(
                        "expected `)` to close the `(` at offset {}, found {found}",
                        open.start
                    ),
                );
            }
            self.leave();
            return Ok(e);
        }
        let Some(w) = self.lex.peek_word() else {
            let (s, found) = self.found();
            return self.err(
                s,
                format!("expected a field, a macro name, `not` or `(`, found {found}"),
            );
        };
        let name = self.lex.slice(w);
        for kw in ["and", "or"] {
            if name == kw {
                return self.err(
                    w,
                    format!("expected a field, a macro name, `not` or `(` before `{kw}`"),
                );
            }
        }
        let is_call = transformer(name).is_some()
            && self.lex.slice(Span {
                start: w.end,
                end: w.end + 1,
            }) == "(";
        if !name.contains('.') && !is_call {
            // A bare identifier: a macro reference.
            self.lex.word();
            return Ok(Expr::Macro {
                name: name.to_string(),
                span: w,
            });
        }
        let lhs = self.lhs()?;
        self.condition(lhs)
    }

    /// A field, possibly wrapped in transformers.
    fn lhs(&mut self) -> Result<FieldRef, ParseError> {
        let Some(w) = self.lex.peek_word() else {
            let (s, found) = self.found();
            return self.err(s, format!("expected a field name, found {found}"));
        };
        let name = self.lex.slice(w);
        if let Some(t) = transformer(name) {
            let after = Span {
                start: w.end,
                end: w.end + 1,
            };
            if self.lex.slice(after) == "(" {
                self.lex.word();
                self.lex.eat(b'(');
                self.enter(w)?;
                self.lex.skip_blank();
                let mut inner = self.lhs()?;
                self.lex.skip_blank();
                let Some(close) = self.lex.eat(b')') else {
                    let (s, found) = self.found();
                    return self.err(s, format!("expected `)` to close `{name}(`, found {found}"));
                };
                self.leave();
                inner.transformers.push(t);
                inner.span = join(w, close);
                return Ok(inner);
            }
        }
        self.field()
    }

    /// A plain field with its optional argument.
    fn field(&mut self) -> Result<FieldRef, ParseError> {
        let Some(w) = self.lex.word() else {
            let (s, found) = self.found();
            return self.err(s, format!("expected a field name, found {found}"));
        };
        let full = self.lex.slice(w);
        if !full.contains('.') {
            return self.err(
                w,
                format!("`{full}` is not a field name: fields have the form `class.name`"),
            );
        }
        for prefix in DOTTED_ARG_FIELDS {
            if let Some(arg) = full.strip_prefix(prefix).and_then(|r| r.strip_prefix('.')) {
                return Ok(FieldRef {
                    name: prefix.to_string(),
                    arg: Some(arg.to_string()),
                    transformers: Vec::new(),
                    span: w,
                });
            }
        }
        let mut span = w;
        let mut arg = None;
        if let Some(open) = self.lex.eat(b'[') {
            let a = self.lex.field_arg(open.start as usize)?;
            arg = Some(a.text);
            span.end = self.lex.pos() as u32;
        }
        Ok(FieldRef {
            name: full.to_string(),
            arg,
            transformers: Vec::new(),
            span,
        })
    }

    /// What follows a field: `exists`, or an operator and its operand.
    fn condition(&mut self, lhs: FieldRef) -> Result<Expr, ParseError> {
        self.lex.skip_blank();
        let Some((op, op_span)) = self.lex.operator() else {
            let (s, found) = self.found();
            return self.err(
                s,
                format!("expected an operator after `{}` (=, !=, <, in, contains, startswith, exists...), found {found}", self.lex.slice(lhs.span)),
            );
        };
        let op = match op {
            OpToken::Exists => return Ok(Expr::Exists(lhs)),
            OpToken::Cmp(op) => op,
        };
        self.lex.skip_blank();
        let mut modifier_tok = None;
        if let Some(w) = self.lex.peek_word() {
            if let Some(m) = modifier(self.lex.slice(w)) {
                if takes_list(op) {
                    return self.err(
                        w,
                        format!(
                            "`{}` already takes a list: it cannot take `{}`",
                            op_name(op),
                            self.lex.slice(w)
                        ),
                    );
                }
                self.lex.word();
                self.lex.skip_blank();
                modifier_tok = Some((m, w));
            }
        }
        let rhs = if takes_list(op) || modifier_tok.is_some() {
            self.list_operand(op, modifier_tok.map(|m| m.1))?
        } else {
            self.scalar_operand(op, op_span)?
        };
        let end = match &rhs {
            Operand::Value { span, .. } | Operand::List { span, .. } => *span,
            Operand::Field(f) => f.span,
        };
        Ok(Expr::Compare(Compare {
            span: join(lhs.span, end),
            lhs,
            op,
            modifier: modifier_tok.map(|m| m.0),
            rhs,
        }))
    }

    /// The operand of `in`, `intersects`, `pmatch` or a modified operator.
    fn list_operand(&mut self, op: CmpOp, modifier: Option<Span>) -> Result<Operand, ParseError> {
        if let Some(open) = self.lex.eat(b'(') {
            let mut items = Vec::new();
            self.lex.skip_blank();
            if let Some(close) = self.lex.eat(b')') {
                return Ok(Operand::List {
                    items,
                    span: join(open, close),
                });
            }
            loop {
                self.lex.skip_blank();
                let Some(v) = self.lex.value()? else {
                    let (s, found) = self.found();
                    return self.err(s, format!("expected a list item, found {found}"));
                };
                items.push(list_item(v));
                self.lex.skip_blank();
                if self.lex.eat(b',').is_some() {
                    continue;
                }
                if let Some(close) = self.lex.eat(b')') {
                    return Ok(Operand::List {
                        items,
                        span: join(open, close),
                    });
                }
                let (s, found) = self.found();
                return self.err(s, format!("expected `,` or `)` in the list, found {found}"));
            }
        }
        // A list name without parentheses: `proc.name in shell_binaries`.
        if modifier.is_none() {
            if let Some(w) = self.lex.peek_word() {
                let name = self.lex.slice(w);
                if is_identifier(name) && !name.contains('.') {
                    self.lex.word();
                    return Ok(Operand::List {
                        items: vec![ListItem::Name {
                            name: name.to_string(),
                            span: w,
                        }],
                        span: w,
                    });
                }
            }
        }
        let (s, found) = self.found();
        let what = match modifier {
            Some(m) => format!("`{}`", self.lex.slice(m)),
            None => format!("`{}`", op_name(op)),
        };
        self.err(
            s,
            format!("expected a list `(a, b, ...)` after {what}, found {found}"),
        )
    }

    /// The operand of a scalar operator: a value, `val(field)` or a
    /// transformed field.
    fn scalar_operand(&mut self, op: CmpOp, op_span: Span) -> Result<Operand, ParseError> {
        if let Some(w) = self.lex.peek_word() {
            let name = self.lex.slice(w);
            let call = self.lex.slice(Span {
                start: w.end,
                end: w.end + 1,
            }) == "(";
            if call && name == "val" {
                self.lex.word();
                self.lex.eat(b'(');
                self.lex.skip_blank();
                let mut f = self.field()?;
                self.lex.skip_blank();
                let Some(close) = self.lex.eat(b')') else {
                    let (s, found) = self.found();
                    return self.err(s, format!("expected `)` to close `val(`, found {found}"));
                };
                f.span = join(w, close);
                return Ok(Operand::Field(f));
            }
            if call && transformer(name).is_some() {
                return Ok(Operand::Field(self.lhs()?));
            }
        }
        if self.lex.peek() == Some(b'(') {
            let s = self.lex.next_token_span();
            return self.err(
                s,
                format!("`{}` compares with one value, not a list; use `in` or a modifier (`{} anyof (...)`)", op_name(op), op_name(op)),
            );
        }
        match self.lex.value()? {
            Some(v) => Ok(Operand::Value {
                text: v.text,
                span: v.span,
            }),
            None => {
                let (s, found) = self.found();
                self.err(
                    join(op_span, s),
                    format!("expected a value after `{}`, found {found}", op_name(op)),
                )
            }
        }
    }
}

fn list_item(v: Text) -> ListItem {
    if !v.quoted && is_identifier(&v.text) {
        ListItem::Name {
            name: v.text,
            span: v.span,
        }
    } else {
        ListItem::Value {
            text: v.text,
            span: v.span,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(name: &str) -> String {
        name.to_string()
    }

    fn cmp(e: &Expr) -> &Compare {
        match e {
            Expr::Compare(c) => c,
            other => panic!("not a comparison: {other:?}"),
        }
    }

    fn value(o: &Operand) -> &str {
        match o {
            Operand::Value { text, .. } => text,
            other => panic!("not a value: {other:?}"),
        }
    }

    fn items(o: &Operand) -> Vec<String> {
        match o {
            Operand::List { items, .. } => items
                .iter()
                .map(|i| match i {
                    ListItem::Value { text, .. } => format!("v:{text}"),
                    ListItem::Name { name, .. } => format!("n:{name}"),
                })
                .collect(),
            other => panic!("not a list: {other:?}"),
        }
    }

    #[test]
    fn precedence_not_and_or() {
        let e = parse("a or b and not c").unwrap();
        let Expr::Or(v) = e else { panic!() };
        assert!(matches!(&v[0], Expr::Macro { name, .. } if name == "a"));
        let Expr::And(w) = &v[1] else { panic!() };
        assert!(matches!(&w[1], Expr::Not(inner) if matches!(**inner, Expr::Macro { .. })));
    }

    #[test]
    fn chains_are_flat_and_parentheses_group() {
        let e = parse("a and b and c").unwrap();
        assert!(matches!(&e, Expr::And(v) if v.len() == 3));
        let e = parse("(a or b) and c").unwrap();
        let Expr::And(v) = e else { panic!() };
        assert!(matches!(&v[0], Expr::Or(w) if w.len() == 2));
    }

    #[test]
    fn keywords_without_blanks_before_parentheses() {
        let e = parse("not(a)and(b)or(c)").unwrap();
        assert!(matches!(e, Expr::Or(_)));
        let e = parse("not not a").unwrap();
        assert!(matches!(e, Expr::Not(ref i) if matches!(**i, Expr::Not(_))));
    }

    #[test]
    fn every_operator() {
        let ops = [
            ("=", CmpOp::Eq),
            ("==", CmpOp::Eq),
            ("!=", CmpOp::Ne),
            ("<", CmpOp::Lt),
            ("<=", CmpOp::Le),
            (">", CmpOp::Gt),
            (">=", CmpOp::Ge),
            ("contains", CmpOp::Contains),
            ("icontains", CmpOp::IContains),
            ("bcontains", CmpOp::BContains),
            ("startswith", CmpOp::StartsWith),
            ("bstartswith", CmpOp::BStartsWith),
            ("endswith", CmpOp::EndsWith),
            ("glob", CmpOp::Glob),
            ("iglob", CmpOp::IGlob),
            ("regex", CmpOp::Regex),
        ];
        for (spelling, op) in ops {
            let src = format!("proc.name {spelling} x1");
            let e = parse(&src).unwrap();
            let c = cmp(&e);
            assert_eq!(c.op, op, "{src}");
            assert_eq!(value(&c.rhs), "x1");
            assert_eq!(
                c.span,
                Span {
                    start: 0,
                    end: src.len() as u32
                }
            );
        }
        for (spelling, op) in [
            ("in", CmpOp::In),
            ("intersects", CmpOp::Intersects),
            ("pmatch", CmpOp::Pmatch),
        ] {
            let e = parse(&format!("fd.name {spelling} (/a, \"b c\", lst)")).unwrap();
            let c = cmp(&e);
            assert_eq!(c.op, op);
            assert_eq!(items(&c.rhs), vec!["v:/a", "v:b c", "n:lst"]);
        }
        let e = parse("k8s.pod.name exists").unwrap();
        assert!(matches!(e, Expr::Exists(ref f) if f.name == "k8s.pod.name"));
    }

    #[test]
    fn operators_without_blanks() {
        let e = parse("fd.typechar='f' and evt.dir=<").unwrap();
        let Expr::And(v) = e else { panic!() };
        assert_eq!(value(&cmp(&v[0]).rhs), "f");
        assert_eq!(value(&cmp(&v[1]).rhs), "<");
        let e = parse("evt.rawarg.res<0").unwrap();
        assert_eq!(cmp(&e).op, CmpOp::Lt);
        assert_eq!(value(&cmp(&e).rhs), "0");
    }

    #[test]
    fn modifiers() {
        for (m, want) in [
            ("oneof", Modifier::OneOf),
            ("anyof", Modifier::AnyOf),
            ("allof", Modifier::AllOf),
        ] {
            let e = parse(&format!("proc.name startswith {m} (kube-, etcd-)")).unwrap();
            let c = cmp(&e);
            assert_eq!(c.op, CmpOp::StartsWith);
            assert_eq!(c.modifier, Some(want));
            assert_eq!(items(&c.rhs), vec!["n:kube-", "n:etcd-"]);
        }
        let e = parse("proc.name != allof (a, b)").unwrap();
        assert_eq!(cmp(&e).modifier, Some(Modifier::AllOf));
        let e = parse("proc.name regex anyof (\"^python[23]$\", \"^node$\")").unwrap();
        assert_eq!(items(&cmp(&e).rhs), vec!["v:^python[23]$", "v:^node$"]);
    }

    #[test]
    fn modifier_errors() {
        let e = parse("proc.name in anyof (a)").unwrap_err();
        assert!(e.message.contains("already takes a list"), "{}", e.message);
        let e = parse("proc.name startswith anyof x").unwrap_err();
        assert!(e.message.contains("expected a list"), "{}", e.message);
        assert_eq!(e.span, Span { start: 27, end: 28 });
    }

    #[test]
    fn transformers_and_val() {
        let e = parse("tolower(basename(proc.exepath)) = bash").unwrap();
        let c = cmp(&e);
        assert_eq!(c.lhs.name, "proc.exepath");
        assert_eq!(
            c.lhs.transformers,
            vec![Transformer::Basename, Transformer::ToLower]
        );
        assert_eq!(c.lhs.span, Span { start: 0, end: 31 });
        let e = parse("proc.name = val(proc.pname)").unwrap();
        assert!(
            matches!(&cmp(&e).rhs, Operand::Field(f) if f.name == "proc.pname" && f.transformers.is_empty())
        );
        let e = parse("tolower(proc.name) = toupper(proc.pname)").unwrap();
        assert!(
            matches!(&cmp(&e).rhs, Operand::Field(f) if f.transformers == vec![Transformer::ToUpper])
        );
        let e = parse("len(proc.args) > 3 and b64(proc.env) contains x").unwrap();
        let Expr::And(v) = e else { panic!() };
        assert_eq!(cmp(&v[0]).lhs.transformers, vec![Transformer::Len]);
        assert_eq!(cmp(&v[1]).lhs.transformers, vec![Transformer::B64]);
    }

    #[test]
    fn a_transformer_name_alone_is_a_macro() {
        assert!(matches!(parse("len").unwrap(), Expr::Macro { .. }));
    }

    #[test]
    fn field_arguments() {
        let e = parse("proc.aname[2] = bash").unwrap();
        assert_eq!(cmp(&e).lhs.arg.as_deref(), Some("2"));
        let e = parse("evt.arg.path startswith /etc").unwrap();
        assert_eq!(
            (cmp(&e).lhs.name.as_str(), cmp(&e).lhs.arg.as_deref()),
            ("evt.arg", Some("path"))
        );
        let e = parse("evt.arg[0] = 3").unwrap();
        assert_eq!(
            (cmp(&e).lhs.name.as_str(), cmp(&e).lhs.arg.as_deref()),
            ("evt.arg", Some("0"))
        );
        let e = parse("evt.rawarg.flags > 0").unwrap();
        assert_eq!(cmp(&e).lhs.arg.as_deref(), Some("flags"));
        let e = parse("container.mount.dest[/etc] exists").unwrap();
        assert!(
            matches!(e, Expr::Exists(ref f) if f.arg.as_deref() == Some("/etc") && f.span.end == 26)
        );
        let e = parse("jevt.value[/requestObject/spec/tls] exists").unwrap();
        assert!(
            matches!(e, Expr::Exists(ref f) if f.arg.as_deref() == Some("/requestObject/spec/tls"))
        );
        let e = parse("k8s.pod.label[app.kubernetes.io/name:x] = y").unwrap();
        assert_eq!(cmp(&e).lhs.arg.as_deref(), Some("app.kubernetes.io/name:x"));
    }

    #[test]
    fn values_quoted_bare_numbers() {
        let e = parse(r#"proc.cmdline contains "a \"q\" b""#).unwrap();
        assert_eq!(value(&cmp(&e).rhs), "a \"q\" b");
        let e = parse("fd.sport >= -12.5e3").unwrap();
        assert_eq!(value(&cmp(&e).rhs), "-12.5e3");
        let e = parse("fd.sport = 0x1F").unwrap();
        assert_eq!(value(&cmp(&e).rhs), "0x1F");
        let e = parse("user.name = 'root'").unwrap();
        assert_eq!(value(&cmp(&e).rhs), "root");
    }

    #[test]
    fn list_names_without_parentheses() {
        let e = parse("proc.name in shell_binaries").unwrap();
        assert_eq!(items(&cmp(&e).rhs), vec!["n:shell_binaries"]);
        let e = parse("proc.name in ()").unwrap();
        assert!(items(&cmp(&e).rhs).is_empty());
    }

    #[test]
    fn errors_point_at_the_token() {
        let cases: &[(&str, &str, (u32, u32))] = &[
            ("proc.name bogus x", "expected an operator", (10, 15)),
            ("proc.name =", "expected a value", (10, 11)),
            ("(a and b", "expected `)`", (0, 8)),
            ("a and b)", "unbalanced `)`", (7, 8)),
            ("a and", "expected a field", (5, 5)),
            ("a b", "expected `and`, `or`", (2, 3)),
            ("proc.name in (a b)", "expected `,` or `)`", (16, 17)),
            ("proc.name = (a, b)", "not a list", (12, 13)),
            ("and a", "before `and`", (0, 3)),
            ("proc.name = \"abc", "unterminated string", (12, 16)),
            ("proc.aname[2 = x", "unterminated field argument", (10, 13)),
            (
                "tolower(proc.name = x",
                "expected `)` to close `tolower(`",
                (18, 19),
            ),
            ("", "empty condition", (0, 0)),
        ];
        for (src, msg, (s, e)) in cases {
            let err = parse(src).unwrap_err();
            assert!(err.message.contains(msg), "{src}: {}", err.message);
            assert_eq!(
                err.span,
                Span { start: *s, end: *e },
                "{src}: {}",
                err.message
            );
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let ok = format!(
            "{}a{}",
            "(".repeat(MAX_NESTING_DEPTH),
            ")".repeat(MAX_NESTING_DEPTH)
        );
        assert!(parse(&ok).is_ok());
        let deep = format!(
            "{}a{}",
            "(".repeat(MAX_NESTING_DEPTH + 1),
            ")".repeat(MAX_NESTING_DEPTH + 1)
        );
        let e = parse(&deep).unwrap_err();
        assert!(e.message.contains("deeper than"), "{}", e.message);
        let nots = format!("{}a", "not ".repeat(100_000));
        assert!(parse(&nots).unwrap_err().message.contains("deeper than"));
        let calls = format!(
            "{}proc.name{} = x",
            "tolower(".repeat(1000),
            ")".repeat(1000)
        );
        assert!(parse(&calls).unwrap_err().message.contains("deeper than"));
    }

    #[test]
    fn parse_field_alone() {
        let fr = parse_field("proc.aname[3]").unwrap();
        assert_eq!((fr.name, fr.arg), (f("proc.aname"), Some(f("3"))));
        assert!(parse_field("proc.name x").is_err());
        assert!(parse_field("name").is_err());
    }

    #[test]
    fn multiline_conditions() {
        let e = parse("spawned_process\n  and container\n  and proc.name in (a,\n b)\n").unwrap();
        assert!(matches!(e, Expr::And(ref v) if v.len() == 3));
    }
}
