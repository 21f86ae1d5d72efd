//! Which event kinds enrich writes downstream (`--forward LIST`).
//!
//! enrich must see every event its tables need (closes, dups, forks…), but
//! evaluate only looks at the kinds its rules can match: `evaluate syscalls
//! --matched` prints them. Events of other kinds still update the tables;
//! they are just not composed and written, which spares enrich the work of
//! building them and the pipe and evaluate the bytes (in an open/close load,
//! half the events are closes that no default rule matches). Each one left
//! out is counted (`events_not_forwarded`).
//!
//! It is not a general event filter: frames other than events (stats,
//! headers), the /proc snapshot, and enrich's own `containerStart` events
//! always go through, so that a stream stays complete for its state.

use schema::Kind;

/// Most event kinds a set can hold: the capnp `Kind` enum's ordinals are
/// below this (it has 72 today; the table test below keeps this honest).
const MAX_KINDS: usize = 256;

/// Why a `--forward` list was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ForwardError {
    #[error(
        "--forward: unknown event kind {0:?} (names as `evaluate syscalls --matched` prints them)"
    )]
    Unknown(String),
}

/// A set of event kinds to write downstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    bits: [u64; MAX_KINDS / 64],
}

impl Default for Forward {
    fn default() -> Self {
        Forward::all()
    }
}

impl Forward {
    /// Every kind: enrich's default, a complete enriched stream.
    pub fn all() -> Forward {
        Forward {
            bits: [u64::MAX; MAX_KINDS / 64],
        }
    }

    /// The kinds of a comma-separated list of `evt.type` names; empty items
    /// are ignored, so an empty list forwards only what always goes through.
    pub fn parse(list: &str) -> Result<Forward, ForwardError> {
        let mut f = Forward {
            bits: [0; MAX_KINDS / 64],
        };
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let info =
                schema::table::by_name(name).ok_or_else(|| ForwardError::Unknown(name.into()))?;
            f.insert(info.kind);
        }
        f.insert(Kind::ProcSnapshot);
        f.insert(Kind::ContainerStart);
        Ok(f)
    }

    fn insert(&mut self, k: Kind) {
        let i = k as usize;
        if i < MAX_KINDS {
            self.bits[i / 64] |= 1 << (i % 64);
        }
    }

    /// Whether events of kind `k` are written downstream.
    pub fn contains(&self, k: Kind) -> bool {
        let i = k as usize;
        i < MAX_KINDS && self.bits[i / 64] & (1 << (i % 64)) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_fits() {
        for info in schema::table::TABLE {
            assert!((info.kind as usize) < MAX_KINDS, "{}", info.name);
        }
    }

    #[test]
    fn a_list_selects_its_kinds_and_what_always_goes_through() {
        let f = Forward::parse("openat, execve,,procexit").expect("parse");
        for k in [Kind::Openat, Kind::Execve, Kind::ProcExit] {
            assert!(f.contains(k), "{k:?}");
        }
        for k in [Kind::ProcSnapshot, Kind::ContainerStart] {
            assert!(f.contains(k), "{k:?} always goes through");
        }
        for k in [Kind::Close, Kind::Dup2, Kind::Clone] {
            assert!(!f.contains(k), "{k:?}");
        }
        assert!(Forward::all().contains(Kind::Close));
    }

    #[test]
    fn an_unknown_name_is_refused_by_name() {
        assert_eq!(
            Forward::parse("openat,opnat"),
            Err(ForwardError::Unknown("opnat".into()))
        );
    }
}
