//! Rule files as text: reading the paths a user gives (files, and
//! directories read in sorted order, `.yaml`/`.yml` only), and turning
//! positions back into excerpts for diagnostics.
//!
//! A condition's text is what YAML made of it (folded, unindented, possibly
//! the concatenation of several appended fragments), so a byte offset in it
//! is not a byte offset in the file. [`CondText`] keeps where each fragment
//! started, and [`SourceMap::locate_in`] finds the token in the file from
//! there, so errors inside a condition still point at the right column.
//!
//! It is not a place for YAML structure ([`super::items`]) or rule
//! semantics.

use std::path::{Path, PathBuf};

use super::diag::Location;
use crate::lang::ast::Span;

/// Rule files larger than this are refused: a rules file is hand-written
/// text, and Falco's whole default ruleset is about 60 KiB.
pub const MAX_RULE_FILE_BYTES: u64 = 16 << 20;

/// One rule file's text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        let text = text.into();
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        SourceFile {
            name: name.into(),
            text,
            line_starts,
        }
    }

    /// The text of 1-based `line`, without its newline.
    pub fn line(&self, line: usize) -> &str {
        let Some(&start) = self.line_starts.get(line.wrapping_sub(1)) else {
            return "";
        };
        let end = self
            .line_starts
            .get(line)
            .map(|e| e - 1)
            .unwrap_or(self.text.len());
        self.text
            .get(start..end.max(start))
            .unwrap_or("")
            .trim_end_matches('\r')
    }

    /// Byte offset of 1-based (`line`, `column` in characters).
    fn offset(&self, line: usize, column: usize) -> Option<usize> {
        let start = *self.line_starts.get(line.checked_sub(1)?)?;
        let text = self.line(line);
        let byte = text
            .char_indices()
            .nth(column.saturating_sub(1))
            .map(|(b, _)| b)
            .unwrap_or(text.len());
        Some(start + byte)
    }

    /// (line, column) of a byte offset.
    fn line_col(&self, offset: usize) -> (usize, usize) {
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        };
        let start = self
            .line_starts
            .get(line.wrapping_sub(1))
            .copied()
            .unwrap_or(0);
        let col = self
            .text
            .get(start..offset)
            .map(|s| s.chars().count())
            .unwrap_or(0)
            + 1;
        (line, col)
    }
}

/// A position in a file: index into the [`SourceMap`], 1-based line and
/// column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub file: usize,
    pub line: usize,
    pub column: usize,
}

/// All the rule files of one load.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    pub files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn add(&mut self, file: SourceFile) -> usize {
        self.files.push(file);
        self.files.len() - 1
    }

    /// The location of `pos`, underlining `len` characters.
    pub fn location(&self, pos: Pos, len: usize) -> Option<Location> {
        let f = self.files.get(pos.file)?;
        Some(Location {
            file: f.name.clone(),
            line: pos.line,
            column: pos.column,
            len,
            source_line: f.line(pos.line).to_string(),
        })
    }

    /// The location of `span` in a condition: the token is searched in the
    /// file from the start of the fragment that holds it (the same token may
    /// occur earlier in that fragment, so occurrences are counted). Falls
    /// back to the fragment's start when the text differs from the file
    /// (escapes).
    pub fn locate_in(&self, cond: &CondText, span: Span) -> Option<Location> {
        let (piece_off, pos) = cond.piece_at(span.start as usize)?;
        let token = cond
            .text
            .get(span.start as usize..span.end as usize)
            .unwrap_or("");
        let len = token.chars().count().max(1);
        let f = self.files.get(pos.file)?;
        if token.is_empty() || token.contains('\n') {
            return self.location(pos, len);
        }
        let before = cond.text.get(piece_off..span.start as usize).unwrap_or("");
        let nth = before.matches(token).count();
        let from = f.offset(pos.line, pos.column)?;
        let found = f
            .text
            .get(from..)?
            .match_indices(token)
            .nth(nth)
            .map(|(i, _)| from + i);
        match found {
            Some(off) => {
                let (line, column) = f.line_col(off);
                self.location(
                    Pos {
                        file: pos.file,
                        line,
                        column,
                    },
                    len,
                )
            }
            None => self.location(pos, len),
        }
    }
}

/// A condition (or output) as the loader assembled it: the text, and where
/// each appended fragment came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CondText {
    pub text: String,
    /// (byte offset in `text`, position of the fragment's YAML value).
    pub pieces: Vec<(usize, Pos)>,
}

impl CondText {
    pub fn new(text: &str, pos: Pos) -> Self {
        CondText {
            text: text.to_string(),
            pieces: vec![(0, pos)],
        }
    }

    /// Appends a fragment, separated by a blank as Falco does.
    pub fn append(&mut self, text: &str, pos: Pos) {
        if !self.text.is_empty() {
            self.text.push(' ');
        }
        self.pieces.push((self.text.len(), pos));
        self.text.push_str(text);
    }

    /// The fragment holding byte `offset`: its start offset and position.
    pub fn piece_at(&self, offset: usize) -> Option<(usize, Pos)> {
        self.pieces
            .iter()
            .rev()
            .find(|(o, _)| *o <= offset)
            .copied()
            .or_else(|| self.pieces.first().copied())
    }

    /// Where the text starts.
    pub fn pos(&self) -> Pos {
        self.pieces.first().map(|p| p.1).unwrap_or_default()
    }
}

/// Why a rule path could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is {size} bytes, over the limit of {limit} bytes for a rules file")]
    TooLarge {
        path: PathBuf,
        size: u64,
        limit: u64,
    },
    #[error("{path} is not valid UTF-8")]
    NotUtf8 { path: PathBuf },
}

/// Expands the given paths: files as they are, directories into their
/// `.yaml`/`.yml` files in sorted order (not recursively, as Falco).
pub fn expand_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ReadError> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|source| ReadError::Io {
            path: p.clone(),
            source,
        })?;
        if meta.is_dir() {
            let rd = std::fs::read_dir(p).map_err(|source| ReadError::Io {
                path: p.clone(),
                source,
            })?;
            let mut files = Vec::new();
            for entry in rd {
                let entry = entry.map_err(|source| ReadError::Io {
                    path: p.clone(),
                    source,
                })?;
                let path = entry.path();
                let is_rules = matches!(
                    path.extension().and_then(|e| e.to_str()),
                    Some("yaml" | "yml")
                );
                if is_rules && path.is_file() {
                    files.push(path);
                }
            }
            files.sort();
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// Reads one rule file, bounded by [`MAX_RULE_FILE_BYTES`].
pub fn read_file(path: &Path) -> Result<SourceFile, ReadError> {
    let meta = std::fs::metadata(path).map_err(|source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if meta.len() > MAX_RULE_FILE_BYTES {
        return Err(ReadError::TooLarge {
            path: path.to_path_buf(),
            size: meta.len(),
            limit: MAX_RULE_FILE_BYTES,
        });
    }
    let bytes = std::fs::read(path).map_err(|source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|_| ReadError::NotUtf8 {
        path: path.to_path_buf(),
    })?;
    Ok(SourceFile::new(path.display().to_string(), text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_offsets() {
        let f = SourceFile::new("f", "ab\ncdé\n\nx");
        assert_eq!(f.line(1), "ab");
        assert_eq!(f.line(2), "cdé");
        assert_eq!(f.line(3), "");
        assert_eq!(f.line(4), "x");
        assert_eq!(f.line(9), "");
        assert_eq!(f.offset(2, 3), Some(5));
        assert_eq!(f.line_col(5), (2, 3));
        assert_eq!(f.line_col(9), (4, 1));
    }

    #[test]
    fn locates_tokens_of_folded_conditions() {
        let text = "- rule: r\n  condition: >\n    a and b\n    and a and zz\n";
        let mut map = SourceMap::default();
        map.add(SourceFile::new("r.yaml", text));
        let cond = CondText::new(
            "a and b and a and zz\n",
            Pos {
                file: 0,
                line: 3,
                column: 5,
            },
        );
        // The second `a` (offset 12) is on line 4.
        let loc = map.locate_in(&cond, Span { start: 12, end: 13 }).unwrap();
        assert_eq!((loc.line, loc.column, loc.len), (4, 9, 1));
        let loc = map.locate_in(&cond, Span { start: 18, end: 20 }).unwrap();
        assert_eq!((loc.line, loc.column, loc.len), (4, 15, 2));
    }

    #[test]
    fn appended_fragments_map_to_their_own_place() {
        let text = "- macro: m\n  condition: a\n- macro: m\n  condition: or b\n  append: true\n";
        let mut map = SourceMap::default();
        map.add(SourceFile::new("m.yaml", text));
        let mut cond = CondText::new(
            "a",
            Pos {
                file: 0,
                line: 2,
                column: 14,
            },
        );
        cond.append(
            "or b",
            Pos {
                file: 0,
                line: 4,
                column: 14,
            },
        );
        assert_eq!(cond.text, "a or b");
        let loc = map.locate_in(&cond, Span { start: 5, end: 6 }).unwrap();
        assert_eq!((loc.line, loc.column), (4, 17));
    }

    #[test]
    fn directories_are_sorted_and_filtered() {
        let dir = std::env::temp_dir().join(format!("kestrel-eval-src-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for n in ["b.yaml", "a.yml", "c.txt", "d.yaml.bak"] {
            std::fs::write(dir.join(n), "[]").unwrap();
        }
        let got = expand_paths(std::slice::from_ref(&dir)).unwrap();
        let names: Vec<_> = got
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().to_string())
            .collect();
        assert_eq!(names, vec!["a.yml", "b.yaml"]);
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(matches!(expand_paths(&[dir]), Err(ReadError::Io { .. })));
    }
}
