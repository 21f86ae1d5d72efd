//! Where each kind of event has the parameters enrich reads: the parameters
//! are named once here ([`Arg`]), and their positions resolved once per kind
//! from the event table (`schema::table::TABLE`), so that reading one on an
//! event is an index, not a search by name.
//!
//! It does not describe parameters (the event table is their one
//! description) nor read them ([`crate::params`] does).

use std::sync::LazyLock;

use schema::table::{KindInfo, TABLE};
use schema::Kind;

/// Declares [`Arg`], one variant per parameter name, and its list.
macro_rules! args {
    ($($variant:ident = $name:literal,)*) => {
        /// A parameter enrich reads, named as the event table names it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Arg {
            $($variant,)*
        }

        impl Arg {
            /// Every parameter enrich reads.
            pub const ALL: &[Arg] = &[$(Arg::$variant,)*];

            /// The parameter's name in the event table.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Arg::$variant => $name,)*
                }
            }
        }
    };
}

args! {
    Fd = "fd",
    Fd1 = "fd1",
    Fd2 = "fd2",
    Flags = "flags",
    Name = "name",
    Path = "path",
    Dev = "dev",
    Ino = "ino",
    Cmd = "cmd",
    Domain = "domain",
    Type = "type",
    Proto = "proto",
    Addr = "addr",
    Tuple = "tuple",
    PrctlOption = "option",
    Arg2Str = "arg2_str",
    Uid = "uid",
    Ruid = "ruid",
    Euid = "euid",
    Gid = "gid",
    Rgid = "rgid",
    Egid = "egid",
    CapInheritable = "cap_inheritable",
    CapPermitted = "cap_permitted",
    CapEffective = "cap_effective",
    Filename = "filename",
    Pathname = "pathname",
    Exepath = "exepath",
    Args = "args",
    ArgsTruncated = "args_truncated",
    Cwd = "cwd",
    Loginuid = "loginuid",
    Tty = "tty",
    Sid = "sid",
    Vpid = "vpid",
    Vtid = "vtid",
    Pgid = "pgid",
    Ppid = "ppid",
    Comm = "comm",
    Cgroups = "cgroups",
    ExeUpperLayer = "exe_upper_layer",
    ExeFromMemfd = "exe_from_memfd",
    ExeIno = "exe_ino",
    ExeInoCtime = "exe_ino_ctime",
    ExeInoMtime = "exe_ino_mtime",
    PidnsIno = "pidns_ino",
}

/// Marks a parameter the kind does not have.
const ABSENT: u8 = u8::MAX;

/// One kind's positions: of each [`Arg`], its index in the kind's
/// parameters.
#[derive(Debug)]
pub struct Positions([u8; Arg::ALL.len()]);

impl Positions {
    /// No parameters: the row of a kind the table does not know.
    const NONE: Positions = Positions([ABSENT; Arg::ALL.len()]);

    fn resolve(info: &KindInfo) -> Positions {
        let mut row = [ABSENT; Arg::ALL.len()];
        for (slot, arg) in row.iter_mut().zip(Arg::ALL) {
            *slot = info
                .params
                .iter()
                .position(|p| p.name == arg.name())
                .and_then(|i| u8::try_from(i).ok())
                .filter(|&i| i != ABSENT)
                .unwrap_or(ABSENT);
        }
        Positions(row)
    }

    /// Index of `arg` among the kind's parameters; None when the kind has
    /// no such parameter.
    #[inline]
    pub fn of(&self, arg: Arg) -> Option<usize> {
        let i = self.0[arg as usize];
        (i != ABSENT).then_some(usize::from(i))
    }
}

/// Every kind's positions, indexed by its ordinal as the table is.
static POSITIONS: LazyLock<Box<[Positions]>> =
    LazyLock::new(|| TABLE.iter().map(Positions::resolve).collect());

/// The positions of `kind`'s parameters.
#[inline]
pub fn positions(kind: Kind) -> &'static Positions {
    static NONE: Positions = Positions::NONE;
    POSITIONS.get(kind as usize).unwrap_or(&NONE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_resolved_position_names_its_parameter() {
        for row in TABLE {
            let pos = positions(row.kind);
            for &arg in Arg::ALL {
                match pos.of(arg) {
                    Some(i) => assert_eq!(
                        row.params[i].name,
                        arg.name(),
                        "{}: {arg:?} at {i}",
                        row.name
                    ),
                    None => assert!(
                        row.params.iter().all(|p| p.name != arg.name()),
                        "{}: {arg:?} not found",
                        row.name
                    ),
                }
            }
        }
    }

    #[test]
    fn every_arg_is_some_kinds_parameter() {
        for &arg in Arg::ALL {
            assert!(
                TABLE
                    .iter()
                    .any(|row| row.params.iter().any(|p| p.name == arg.name())),
                "{arg:?} ({}) is no kind's parameter",
                arg.name()
            );
        }
        let mut names: Vec<_> = Arg::ALL.iter().map(|a| a.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Arg::ALL.len(), "one variant per name");
    }

    #[test]
    fn positions_differ_per_kind() {
        assert_eq!(positions(Kind::Open).of(Arg::Flags), Some(1));
        assert_eq!(positions(Kind::Openat).of(Arg::Flags), Some(2));
        assert_eq!(positions(Kind::Openat2).of(Arg::Flags), Some(2));
        assert_eq!(positions(Kind::Creat).of(Arg::Flags), None);
        assert_eq!(positions(Kind::Execve).of(Arg::Filename), Some(0));
        assert_eq!(positions(Kind::Execveat).of(Arg::Pathname), Some(1));
        assert_eq!(positions(Kind::Unknown).of(Arg::Fd), None);
    }
}
