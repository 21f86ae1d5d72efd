//! The `evaluate` library: Falco-compatible rules, from YAML files to alerts.
//!
//! The pipeline: rule files are read and merged ([`loader`]), conditions
//! parsed ([`lang`]), macros, lists and exceptions resolved and fields
//! checked ([`check`]), conditions compiled against the field registry
//! ([`fields`], [`compile`]) into a ruleset indexed by event type
//! ([`ruleset`]), run on each enriched event ([`eval`]; [`reference`] is the
//! plain interpreter the tests compare it with), and matches rendered as
//! alerts ([`alert`]). [`cli`] holds the stream mode and the subcommands;
//! [`control`] the live ruleset behind `--control`, SIGHUP and `evaluate ctl`;
//! [`builtin`] the default rules embedded at build time. The binary
//! (`src/main.rs`) only parses the command line.
//!
//! It is not a place for state across events: evaluate keeps only the
//! thread states enrich sent in the stream (`state` frames, resolved by
//! `schema::state::StateTable`), so a recorded enriched stream, replayed
//! from its header, always gives the same alerts.

pub mod alert;
pub mod builtin;
pub mod check;
pub mod cli;
pub mod compile;
pub mod control;
pub mod eval;
pub mod fields;
pub mod lang;
pub mod loader;
pub mod reference;
pub mod ruleset;
