//! The scanner of the condition language: it cuts a condition into tokens on
//! the parser's request.
//!
//! Falco's condition language is not context-free at the token level: the
//! same characters are a field name, a macro name or a bare string depending
//! on where they stand (`proc.name = bash` vs `bash` as a macro), and a bare
//! string may hold `<`, `/` or `:` that are operators elsewhere. So the parser
//! asks for the kind of token it expects next ([`Lexer::field_name`],
//! [`Lexer::value`], [`Lexer::operator`]...) rather than consuming a
//! pre-tokenised stream. Every token carries its byte span so errors can
//! point at it.
//!
//! It is not a place for grammar: which token may follow which is the
//! parser's business ([`super::parse`]).

use super::ast::{CmpOp, Span};

/// A scanning failure: what was expected and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    pub message: String,
    pub span: Span,
}

/// A string value as written: quotes removed, escapes applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    pub text: String,
    pub span: Span,
    /// True when the value was quoted; a quoted word is never a list name.
    pub quoted: bool,
}

/// A comparison operator or `exists`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpToken {
    Cmp(CmpOp),
    Exists,
}

/// Operators spelt with symbols, longest first so that `<=` wins over `<`.
const SYMBOL_OPS: &[(&str, CmpOp)] = &[
    ("==", CmpOp::Eq),
    ("!=", CmpOp::Ne),
    ("<=", CmpOp::Le),
    (">=", CmpOp::Ge),
    ("=", CmpOp::Eq),
    ("<", CmpOp::Lt),
    (">", CmpOp::Gt),
];

/// Operators spelt as words. They must end at a word boundary, so that `in`
/// does not match the start of `intersects`.
const WORD_OPS: &[(&str, CmpOp)] = &[
    ("contains", CmpOp::Contains),
    ("icontains", CmpOp::IContains),
    ("bcontains", CmpOp::BContains),
    ("startswith", CmpOp::StartsWith),
    ("bstartswith", CmpOp::BStartsWith),
    ("endswith", CmpOp::EndsWith),
    ("glob", CmpOp::Glob),
    ("iglob", CmpOp::IGlob),
    ("regex", CmpOp::Regex),
    ("in", CmpOp::In),
    ("intersects", CmpOp::Intersects),
    ("pmatch", CmpOp::Pmatch),
];

/// Characters that end a bare string outside a list: blanks, parentheses,
/// commas, `=` and quotes (as in Falco's grammar).
fn ends_bare(c: u8) -> bool {
    matches!(
        c,
        b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | b'(' | b')' | b',' | b'=' | b'"' | b'\''
    )
}

fn is_blank(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// True when `s` is spelt like a macro or list name.
pub fn is_identifier(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty() && is_ident_start(b[0]) && b.iter().all(|&c| is_ident_char(c) || c == b'-')
}

/// A cursor over the condition text.
#[derive(Debug, Clone)]
pub struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    pub fn new(src: &'a str) -> Self {
        Lexer { src, pos: 0 }
    }

    /// Byte offset of the cursor.
    pub fn pos(&self) -> usize {
        self.pos
    }

    fn bytes(&self) -> &'a [u8] {
        self.src.as_bytes()
    }

    fn span(&self, start: usize, end: usize) -> Span {
        Span {
            start: start as u32,
            end: end as u32,
        }
    }

    fn err<T>(&self, start: usize, end: usize, message: impl Into<String>) -> Result<T, LexError> {
        Err(LexError {
            message: message.into(),
            span: self.span(start, end.max(start)),
        })
    }

    /// Skips blanks; returns true if at least one was skipped.
    pub fn skip_blank(&mut self) -> bool {
        let start = self.pos;
        while self.pos < self.src.len() && is_blank(self.bytes()[self.pos]) {
            self.pos += 1;
        }
        self.pos > start
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    /// The next byte, if any.
    pub fn peek(&self) -> Option<u8> {
        self.bytes().get(self.pos).copied()
    }

    /// Consumes `c` if it is next.
    pub fn eat(&mut self, c: u8) -> Option<Span> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Some(self.span(self.pos - 1, self.pos))
        } else {
            None
        }
    }

    /// The span of the token that starts at the cursor, for "found X"
    /// messages: a word, or one character.
    pub fn next_token_span(&self) -> Span {
        let b = self.bytes();
        if self.pos >= b.len() {
            return self.span(b.len(), b.len());
        }
        let mut end = self.pos;
        while end < b.len() && !ends_bare(b[end]) {
            end += 1;
        }
        if end == self.pos {
            end = self.pos + utf8_len(b[self.pos]);
        }
        self.span(self.pos, end.min(b.len()))
    }

    /// Text of a span of the source.
    pub fn slice(&self, s: Span) -> &'a str {
        self.src.get(s.start as usize..s.end as usize).unwrap_or("")
    }

    /// Consumes the keyword `kw` (`and`, `or`, `not`, `val`...) if it is next
    /// and is followed by a blank, `(` or the end.
    pub fn keyword(&mut self, kw: &str) -> Option<Span> {
        let b = self.bytes();
        let end = self.pos + kw.len();
        if end > b.len() || &b[self.pos..end] != kw.as_bytes() {
            return None;
        }
        match b.get(end) {
            None => {}
            Some(&c) if is_blank(c) || c == b'(' => {}
            _ => return None,
        }
        let start = self.pos;
        self.pos = end;
        Some(self.span(start, end))
    }

    /// A word `[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*` at the cursor,
    /// without consuming it.
    pub fn peek_word(&self) -> Option<Span> {
        let b = self.bytes();
        let start = self.pos;
        if start >= b.len() || !is_ident_start(b[start]) {
            return None;
        }
        let mut end = start + 1;
        loop {
            while end < b.len() && is_ident_char(b[end]) {
                end += 1;
            }
            // A dot continues the name only when a name character follows.
            if end + 1 < b.len() && b[end] == b'.' && is_ident_char(b[end + 1]) {
                end += 1;
                continue;
            }
            break;
        }
        Some(self.span(start, end))
    }

    /// Consumes a word (see [`Self::peek_word`]).
    pub fn word(&mut self) -> Option<Span> {
        let s = self.peek_word()?;
        self.pos = s.end as usize;
        Some(s)
    }

    /// A field argument after `[`: a quoted string or anything up to `]`
    /// (paths, indices, JSON pointers: `/etc`, `2`, `/spec/tls`). Consumes the
    /// closing `]`.
    pub fn field_arg(&mut self, open: usize) -> Result<Text, LexError> {
        let b = self.bytes();
        if matches!(self.peek(), Some(b'"') | Some(b'\'')) {
            let t = self.quoted()?;
            if self.eat(b']').is_none() {
                let s = self.next_token_span();
                return self.err(
                    s.start as usize,
                    s.end as usize,
                    "expected `]` after the field argument",
                );
            }
            return Ok(t);
        }
        let start = self.pos;
        while self.pos < b.len() && b[self.pos] != b']' {
            let c = b[self.pos];
            if is_blank(c) || c == b'[' || c == b'"' || c == b'\'' {
                return self.err(
                    open,
                    self.pos + 1,
                    "unterminated field argument: expected `]`",
                );
            }
            self.pos += 1;
        }
        if self.pos >= b.len() {
            return self.err(open, b.len(), "unterminated field argument: expected `]`");
        }
        let end = self.pos;
        self.pos += 1;
        if end == start {
            return self.err(open, self.pos, "empty field argument");
        }
        Ok(Text {
            text: self.src[start..end].to_string(),
            span: self.span(start, end),
            quoted: false,
        })
    }

    /// A comparison operator or `exists` at the cursor.
    pub fn operator(&mut self) -> Option<(OpToken, Span)> {
        let b = self.bytes();
        let start = self.pos;
        for (sym, op) in SYMBOL_OPS {
            if b[start..].starts_with(sym.as_bytes()) {
                self.pos += sym.len();
                return Some((OpToken::Cmp(*op), self.span(start, self.pos)));
            }
        }
        let w = self.peek_word()?;
        let text = self.slice(w);
        let tok = if text == "exists" {
            OpToken::Exists
        } else {
            OpToken::Cmp(WORD_OPS.iter().find(|(n, _)| *n == text)?.1)
        };
        self.pos = w.end as usize;
        Some((tok, w))
    }

    /// A quoted string: `"..."` or `'...'`, with backslash escapes.
    pub fn quoted(&mut self) -> Result<Text, LexError> {
        let b = self.bytes();
        let start = self.pos;
        let quote = match b.get(start) {
            Some(&q @ (b'"' | b'\'')) => q,
            _ => return self.err(start, start + 1, "expected a quoted string"),
        };
        let mut out: Vec<u8> = Vec::new();
        let mut i = start + 1;
        while i < b.len() {
            let c = b[i];
            if c == quote {
                self.pos = i + 1;
                let text = match String::from_utf8(out) {
                    Ok(s) => s,
                    Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
                };
                return Ok(Text {
                    text,
                    span: self.span(start, self.pos),
                    quoted: true,
                });
            }
            if c == b'\\' {
                let Some(&e) = b.get(i + 1) else { break };
                match e {
                    b'n' => out.push(b'\n'),
                    b't' => out.push(b'\t'),
                    b'r' => out.push(b'\r'),
                    b'b' => out.push(0x08),
                    b'f' => out.push(0x0c),
                    b'\\' | b'"' | b'\'' | b'/' => out.push(e),
                    b'x' => {
                        let hex = b
                            .get(i + 2..i + 4)
                            .and_then(|h| std::str::from_utf8(h).ok());
                        match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                            Some(v) => {
                                out.push(v);
                                i += 4;
                                continue;
                            }
                            None => {
                                return self.err(
                                    i,
                                    (i + 4).min(b.len()),
                                    "`\\x` must be followed by two hexadecimal digits",
                                )
                            }
                        }
                    }
                    _ => {
                        // Unknown escapes keep the backslash: regexes and globs
                        // written as `"\d"` or `"\*"` mean what they say.
                        out.push(b'\\');
                        out.push(e);
                    }
                }
                i += 2;
                continue;
            }
            out.push(c);
            i += 1;
        }
        self.err(start, b.len(), "unterminated string: missing closing quote")
    }

    /// A bare string: anything up to a blank, `(`, `)`, `,`, `=` or a quote.
    pub fn bare(&mut self) -> Option<Text> {
        let b = self.bytes();
        let start = self.pos;
        let mut end = start;
        while end < b.len() && !ends_bare(b[end]) {
            end += 1;
        }
        if end == start {
            return None;
        }
        self.pos = end;
        Some(Text {
            text: self.src[start..end].to_string(),
            span: self.span(start, end),
            quoted: false,
        })
    }

    /// A value: quoted or bare.
    pub fn value(&mut self) -> Result<Option<Text>, LexError> {
        match self.peek() {
            Some(b'"') | Some(b'\'') => self.quoted().map(Some),
            _ => Ok(self.bare()),
        }
    }
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xf0..=0xff => 4,
        0xe0..=0xef => 3,
        0xc0..=0xdf => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp(start: u32, end: u32) -> Span {
        Span { start, end }
    }

    #[test]
    fn words_take_dotted_names() {
        let mut l = Lexer::new("proc.aname[2] x");
        let w = l.word().unwrap();
        assert_eq!(l.slice(w), "proc.aname");
        assert_eq!(l.eat(b'['), Some(sp(10, 11)));
        let a = l.field_arg(10).unwrap();
        assert_eq!(a.text, "2");
        assert_eq!(l.pos(), 13);
    }

    #[test]
    fn word_stops_before_a_trailing_dot() {
        let l = Lexer::new("a.b. c");
        assert_eq!(l.peek_word(), Some(sp(0, 3)));
    }

    #[test]
    fn field_args_may_hold_paths_and_pointers() {
        for (src, want) in [
            ("/etc]", "/etc"),
            ("/spec/tls]", "/spec/tls"),
            ("1..5]", "1..5"),
            ("\"a b\"]", "a b"),
        ] {
            let mut l = Lexer::new(src);
            assert_eq!(l.field_arg(0).unwrap().text, want, "{src}");
            assert!(l.at_end());
        }
        let mut l = Lexer::new("/etc");
        let e = l.field_arg(0).unwrap_err();
        assert!(e.message.contains("unterminated"), "{}", e.message);
        let mut l = Lexer::new("]");
        assert!(l.field_arg(0).unwrap_err().message.contains("empty"));
    }

    #[test]
    fn symbol_operators_prefer_the_longest() {
        for (src, op) in [
            ("<=", CmpOp::Le),
            ("<", CmpOp::Lt),
            (">=", CmpOp::Ge),
            ("==", CmpOp::Eq),
            ("=", CmpOp::Eq),
            ("!=", CmpOp::Ne),
        ] {
            let mut l = Lexer::new(src);
            assert_eq!(l.operator().map(|o| o.0), Some(OpToken::Cmp(op)), "{src}");
            assert!(l.at_end());
        }
    }

    #[test]
    fn word_operators_need_a_boundary() {
        let mut l = Lexer::new("intersects (a)");
        assert_eq!(
            l.operator().map(|o| o.0),
            Some(OpToken::Cmp(CmpOp::Intersects))
        );
        let mut l = Lexer::new("inside");
        assert_eq!(l.operator(), None);
        assert_eq!(l.pos(), 0);
        let mut l = Lexer::new("exists");
        assert_eq!(l.operator().map(|o| o.0), Some(OpToken::Exists));
    }

    #[test]
    fn quoted_strings_apply_escapes() {
        let mut l = Lexer::new(r#""a\"b\\c\n\x41\d" rest"#);
        let t = l.quoted().unwrap();
        assert_eq!(t.text, "a\"b\\c\nA\\d");
        assert!(t.quoted);
        assert_eq!(t.span, sp(0, 17));
        let mut l = Lexer::new("'it''s'");
        assert_eq!(l.quoted().unwrap().text, "it");
    }

    #[test]
    fn unterminated_and_bad_escapes_are_errors() {
        let mut l = Lexer::new("\"abc");
        let e = l.quoted().unwrap_err();
        assert_eq!(e.span, sp(0, 4));
        let mut l = Lexer::new(r#""\xZZ""#);
        assert!(l.quoted().unwrap_err().message.contains("hexadecimal"));
    }

    #[test]
    fn bare_strings_stop_at_delimiters() {
        let mut l = Lexer::new("/usr/bin/x,y");
        assert_eq!(l.bare().unwrap().text, "/usr/bin/x");
        let mut l = Lexer::new("< and");
        assert_eq!(l.bare().unwrap().text, "<");
        let mut l = Lexer::new("(a)");
        assert_eq!(l.bare(), None);
    }

    #[test]
    fn keywords_need_a_boundary() {
        let mut l = Lexer::new("not(x)");
        assert!(l.keyword("not").is_some());
        let mut l = Lexer::new("notable");
        assert!(l.keyword("not").is_none());
        let mut l = Lexer::new("and");
        assert!(l.keyword("and").is_some());
    }

    #[test]
    fn identifiers() {
        assert!(is_identifier("shell_binaries"));
        assert!(is_identifier("k8s-names"));
        assert!(!is_identifier("/bin/sh"));
        assert!(!is_identifier("1abc"));
        assert!(!is_identifier(""));
    }
}
