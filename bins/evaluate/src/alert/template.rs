//! Output templates: a rule's `output` string cut into literal text and
//! `%field` / `%field[arg]` references, parsed once at load time so that
//! formatting an alert only copies text and renders fields.
//!
//! It is not a place for rendering values (the field registry does that) or
//! for the alert's JSON shape ([`super::json`]).

use crate::lang::ast::{FieldRef, Span};

/// One piece of a template.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Lit(String),
    /// A field reference; `text` is how it was written, without `%`
    /// (`proc.aname[2]`), and names the field in `output_fields`.
    Field {
        field: FieldRef,
        text: String,
    },
}

/// A parsed output template.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Template {
    pub parts: Vec<Part>,
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'.'
}

/// Cuts `src` into parts. A `%` not followed by a field name is literal.
/// The argument of `evt.arg.NAME` / `evt.rawarg.NAME` is the part after
/// the dot, as in conditions. Surrounding white space is dropped, as Falco
/// does: YAML block scalars (`output: >`) end in a newline that is not part
/// of the alert.
pub fn parse(src: &str) -> Template {
    let src = src.trim();
    let b = src.as_bytes();
    let mut parts = Vec::new();
    let mut lit = String::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'%' || i + 1 >= b.len() || !b[i + 1].is_ascii_alphabetic() {
            let ch_len = src[i..].chars().next().map(char::len_utf8).unwrap_or(1);
            lit.push_str(&src[i..i + ch_len]);
            i += ch_len;
            continue;
        }
        let start = i + 1;
        let mut end = start;
        while end < b.len() && is_name_char(b[end]) {
            end += 1;
        }
        // A trailing dot ends a sentence, not a name.
        while end > start && b[end - 1] == b'.' {
            end -= 1;
        }
        let name = &src[start..end];
        let mut arg = None;
        let mut text_end = end;
        if b.get(end) == Some(&b'[') {
            if let Some(close) = src[end..].find(']') {
                arg = Some(src[end + 1..end + close].to_string());
                text_end = end + close + 1;
            }
        }
        let (name, arg) = match name
            .strip_prefix("evt.rawarg.")
            .map(|a| ("evt.rawarg", a))
            .or_else(|| name.strip_prefix("evt.arg.").map(|a| ("evt.arg", a)))
        {
            Some((n, a)) if arg.is_none() => (n.to_string(), Some(a.to_string())),
            _ => (name.to_string(), arg),
        };
        if !lit.is_empty() {
            parts.push(Part::Lit(std::mem::take(&mut lit)));
        }
        parts.push(Part::Field {
            field: FieldRef {
                name,
                arg,
                transformers: Vec::new(),
                span: Span {
                    start: start as u32,
                    end: text_end as u32,
                },
            },
            text: src[start..text_end].to_string(),
        });
        i = text_end;
    }
    if !lit.is_empty() {
        parts.push(Part::Lit(lit));
    }
    Template { parts }
}

impl Template {
    /// The field references, in order of appearance.
    pub fn fields(&self) -> impl Iterator<Item = (&FieldRef, &str)> {
        self.parts.iter().filter_map(|p| match p {
            Part::Field { field, text } => Some((field, text.as_str())),
            Part::Lit(_) => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_literals() {
        let t = parse("Shell (user=%user.name parent=%proc.aname[2] flags=%evt.arg.flags) 100%.");
        let fields: Vec<_> = t
            .fields()
            .map(|(f, text)| (f.name.as_str(), f.arg.as_deref(), text))
            .collect();
        assert_eq!(
            fields,
            vec![
                ("user.name", None, "user.name"),
                ("proc.aname", Some("2"), "proc.aname[2]"),
                ("evt.arg", Some("flags"), "evt.arg.flags"),
            ]
        );
        assert_eq!(t.parts.first(), Some(&Part::Lit("Shell (user=".into())));
        assert_eq!(t.parts.last(), Some(&Part::Lit(") 100%.".into())));
    }

    #[test]
    fn trailing_dot_is_literal() {
        let t = parse("file %fd.name.");
        assert_eq!(t.fields().next().map(|f| f.1), Some("fd.name"));
        assert_eq!(t.parts.last(), Some(&Part::Lit(".".into())));
    }

    #[test]
    fn non_ascii_text_survives() {
        let t = parse("é %proc.name ü");
        assert_eq!(t.parts.len(), 3);
    }

    #[test]
    fn block_scalar_newline_is_not_part_of_the_output() {
        let t = parse("file %fd.name opened\n");
        assert_eq!(t.parts.last(), Some(&Part::Lit(" opened".into())));
    }
}
