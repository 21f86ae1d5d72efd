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

/// Bytes that can start a character of [`needs_escape`] (and, for
/// [`escape_into`], a backslash): the C0 controls and DEL, and the lead
/// bytes of the UTF-8 forms of the rest (U+0080–U+009F: 0xC2; U+061C: 0xD8;
/// U+200E–U+206F: 0xE2). Every other byte is skipped without decoding: the
/// scan is one table load per byte, and nearly every byte of an alert is
/// printable ASCII.
const fn may_start_escape(backslash: bool) -> [bool; 256] {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = true;
        b += 1;
    }
    t[0x7f] = true;
    t[0xc2] = true;
    t[0xd8] = true;
    t[0xe2] = true;
    t[b'\\' as usize] = backslash;
    t
}

const MAY_NEED_ESCAPE: [bool; 256] = may_start_escape(false);
const MAY_NEED_ESCAPE_OR_BACKSLASH: [bool; 256] = may_start_escape(true);

/// Whether every byte of `w` is printable ASCII (0x20–0x7e) and, with
/// `backslash`, none is a backslash. Never true when one is not; may be
/// false when all are (a carry between bytes), which only sends that word
/// to the byte-by-byte scan.
fn plain_ascii(w: u64, backslash: bool) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Some byte below 0x20 (the "has less than" trick).
    let control = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
    // Some byte of 0x7f or above.
    let high = (w.wrapping_add(ONES) | w) & HIGH;
    let slash = if backslash {
        let x = w ^ (ONES * u64::from(b'\\'));
        x.wrapping_sub(ONES) & !x & HIGH
    } else {
        0
    };
    control | high | slash == 0
}

/// The byte offset and character of the first character of `s` that
/// [`needs_escape`] (or is a backslash, with `backslash`).
fn find_escape(s: &str, backslash: bool) -> Option<(usize, char)> {
    let table = if backslash {
        &MAY_NEED_ESCAPE_OR_BACKSLASH
    } else {
        &MAY_NEED_ESCAPE
    };
    let bytes = s.as_bytes();
    let mut i = 0;
    // Eight bytes at a time while they are all printable ASCII.
    while let Some(w) = bytes.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(w);
        if !plain_ascii(u64::from_le_bytes(word), backslash) {
            break;
        }
        i += 8;
    }
    while i < bytes.len() {
        if table[bytes[i] as usize] {
            // A table byte is ASCII or a lead byte: a character starts here.
            let c = s[i..].chars().next()?;
            if needs_escape(c) || (backslash && c == '\\') {
                return Some((i, c));
            }
        }
        i += 1;
    }
    None
}

/// Appends `s` to `out` with every character of [`needs_escape`] and every
/// backslash escaped: `\n`, `\r`, `\t`, `\\`, other ASCII controls as
/// `\xNN`, the rest as `\u{NNNN}`. The result is one line of printable text.
pub fn escape_into(out: &mut String, s: &str) {
    // Runs without anything to escape are copied whole: nearly every
    // alert is such a run.
    let mut rest = s;
    while let Some((i, c)) = find_escape(rest, true) {
        out.push_str(&rest[..i]);
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
        while let Some((i, c)) = find_escape(rest, false) {
            w.write_all(&rest.as_bytes()[..i])?;
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

    /// The reference: decode every character and ask.
    fn find_naive(s: &str, backslash: bool) -> Option<(usize, char)> {
        s.char_indices()
            .find(|&(_, c)| needs_escape(c) || (backslash && c == '\\'))
    }

    #[test]
    fn a_word_is_plain_only_when_every_byte_is_printable_ascii() {
        for b in 0u8..=255 {
            for at in 0..8 {
                let mut w = *b"abcdefgh";
                w[at] = b;
                let expect = (0x20..0x7f).contains(&b);
                let word = u64::from_le_bytes(w);
                assert_eq!(plain_ascii(word, false), expect, "{b:#x} at {at}");
                assert_eq!(
                    plain_ascii(word, true),
                    expect && b != b'\\',
                    "{b:#x} at {at}"
                );
            }
        }
    }

    #[test]
    fn the_byte_scan_finds_what_decoding_every_character_finds() {
        for c in (0u32..0x3000)
            .chain(0xfff0..0x10100)
            .filter_map(char::from_u32)
        {
            for s in [
                format!("ab{c}cd"),
                format!("{c}"),
                format!("é{c}\\{c}"),
                format!("0123456789abcdef{c}01234567"),
            ] {
                for backslash in [false, true] {
                    assert_eq!(
                        find_escape(&s, backslash),
                        find_naive(&s, backslash),
                        "{s:?}"
                    );
                }
            }
        }
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
