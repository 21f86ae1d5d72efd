//! Escaping of event-derived text for the places a person reads it (text
//! lines, syslog messages) and for the bytes of JSON lines.
//!
//! Process names, command lines and paths are chosen by whoever runs the
//! process, so they may hold what a terminal or log viewer obeys: a line
//! feed that starts a forged alert, a carriage return or `ESC [2K` that
//! overwrites one, a bidirectional override that shows text reversed. Every
//! such character becomes visible text in Rust's escape notation (`\n`,
//! `\x1b`, `\u{202e}`), and `\` itself becomes `\\` so an escape in the
//! output always stands for a character of the input, never for itself.
//!
//! It is not a sanitiser for any other syntax (shell, HTML, CSV) nor a
//! guarantee about what the text says: it only makes what is there visible.

use std::fmt::Write as _;

/// Whether `c` must not reach a reader raw: C0 controls, DEL, C1 controls
/// (U+0080–U+009F, NEL and CSI among them), the Unicode line and paragraph
/// separators, and the bidirectional controls (ALM U+061C, LRM/RLM, the
/// embeddings and overrides U+202A–U+202E, the isolates U+2066–U+2069).
pub fn needs_escape(c: char) -> bool {
    matches!(
        c,
        '\u{0}'..='\u{1f}'
            | '\u{7f}'..='\u{9f}'
            | '\u{61c}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
    )
}

/// Appends `s` to `out` with every character of [`needs_escape`] and every
/// backslash escaped: `\n`, `\r`, `\t`, `\\`, other ASCII controls as
/// `\xNN`, the rest as `\u{NNNN}`. The result is one line of printable text.
pub fn escape_into(out: &mut String, s: &str) {
    // Runs without anything to escape are copied whole: nearly every
    // alert is such a run.
    let mut rest = s;
    while let Some(i) = rest.find(|c: char| c == '\\' || needs_escape(c)) {
        out.push_str(&rest[..i]);
        let Some(c) = rest[i..].chars().next() else {
            break;
        };
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
        }
        rest = &rest[i + c.len_utf8()..];
    }
    out.push_str(rest);
}

/// [`escape_into`] a new string.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(&mut out, s);
    out
}

/// serde_json's compact formatter, except that the characters of
/// [`needs_escape`] that serde_json leaves raw (DEL, C1, the separators and
/// bidirectional controls) are written as JSON `\uNNNN` escapes too. The
/// decoded values are unchanged; the bytes of the line hold nothing a
/// terminal acts on, so `tail -f alerts.json` is as safe as the text line.
pub(crate) struct SafeJson;

impl serde_json::ser::Formatter for SafeJson {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut rest = fragment;
        while let Some(i) = rest.find(needs_escape) {
            w.write_all(&rest.as_bytes()[..i])?;
            let Some(c) = rest[i..].chars().next() else {
                break;
            };
            // Every such character is in the Basic Multilingual Plane, so
            // one `\uNNNN` encodes it.
            write!(w, "\\u{:04x}", c as u32)?;
            rest = &rest[i + c.len_utf8()..];
        }
        w.write_all(rest.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_a_terminal_obeys_and_backslash() {
        assert_eq!(
            escape("a\x1b[2Jb\rc\nd\te\u{7f}f\u{85}g\u{9b}h\u{202e}i\u{2066}j\u{61c}k\\l\0"),
            "a\\x1b[2Jb\\rc\\nd\\te\\x7ff\\u{0085}g\\u{009b}h\\u{202e}i\\u{2066}j\\u{061c}k\\\\l\\x00"
        );
        assert_eq!(escape("plain ünïcødé ✓"), "plain ünïcødé ✓");
    }

    #[test]
    fn nothing_escaped_remains_and_the_result_is_one_line() {
        let all: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        let e = escape(&all);
        assert!(!e.chars().any(needs_escape));
        assert!(!e.chars().any(char::is_control));
        assert_eq!(e.lines().count(), 1);
    }
}
