//! The condition language: scanning ([`lex`]), parsing ([`parse`]) and the
//! syntax tree they produce ([`ast`]).
//!
//! It is not a place for meaning: macros, lists and fields are resolved by
//! the loader and the compiler.

pub mod ast;
pub mod lex;
pub mod parse;

pub use parse::{parse, parse_field, ParseError};
