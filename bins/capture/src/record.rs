//! Parsing one ring-buffer record of the probe into its header fields and
//! parameter byte slices, checking every length against the record's size
//! and the limits of [`crate::layout`] before anything is read.
//!
//! It does not interpret parameter bytes (that is [`crate::encode`]'s job),
//! and it never trusts the kernel: a malformed record is an error value, not
//! a panic.

use schema::table;
use schema::Kind;

use crate::layout::*;

/// Why a record was rejected. Each one is counted (`bad_records`) and
/// logged; the stream goes on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("record of {len} bytes is shorter than its {REC_HDR_BYTES}-byte header")]
    Short { len: usize },
    #[error("record of kind {kind} claims {nparams} parameters, over the limit of {MAX_PARAMS}")]
    TooManyParams { kind: u16, nparams: usize },
    #[error("record's {nparams} parameter lengths need {need} bytes, the record has {len}")]
    LengthsOverrun {
        nparams: usize,
        need: usize,
        len: usize,
    },
    #[error("parameter {index} ({plen} bytes) runs past the end of the {len}-byte record")]
    ParamOverrun {
        index: usize,
        plen: usize,
        len: usize,
    },
    #[error("record has unknown kind {0}")]
    UnknownKind(u16),
    #[error("record of kind {kind} carries {got} parameters, the event table says {want}")]
    ParamCount {
        kind: &'static str,
        got: usize,
        want: usize,
    },
}

/// One record, borrowing its parameters from the ring buffer.
#[derive(Debug)]
pub struct Record<'a> {
    /// CLOCK_BOOTTIME, ns.
    pub ts_boot_ns: u64,
    pub ret: i64,
    pub tid: i32,
    pub pid: i32,
    pub kind: Kind,
    pub flags: u16,
    pub cpu: u16,
    nparams: usize,
    params: [Option<&'a [u8]>; MAX_PARAMS],
}

impl<'a> Record<'a> {
    /// Parameter `i`: `None` when absent.
    pub fn param(&self, i: usize) -> Option<&'a [u8]> {
        self.params[..self.nparams].get(i).copied().flatten()
    }

    pub fn param_count(&self) -> usize {
        self.nparams
    }
}

fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([b[off], b[off + 1]])
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(a)
}

/// Parses and checks one record.
pub fn parse(b: &[u8]) -> Result<Record<'_>, RecordError> {
    let len = b.len();
    if len < REC_HDR_BYTES {
        return Err(RecordError::Short { len });
    }
    let raw_kind = u16_at(b, OFF_KIND);
    let nparams = u16_at(b, OFF_NPARAMS) as usize;
    if nparams > MAX_PARAMS {
        return Err(RecordError::TooManyParams {
            kind: raw_kind,
            nparams,
        });
    }
    let kind = Kind::try_from(raw_kind).map_err(|_| RecordError::UnknownKind(raw_kind))?;
    let want = table::info(kind).params.len();
    if nparams != want {
        return Err(RecordError::ParamCount {
            kind: table::info(kind).name,
            got: nparams,
            want,
        });
    }
    let data_start = REC_HDR_BYTES + 2 * nparams;
    if data_start > len {
        return Err(RecordError::LengthsOverrun {
            nparams,
            need: data_start,
            len,
        });
    }
    let mut params: [Option<&[u8]>; MAX_PARAMS] = [None; MAX_PARAMS];
    let mut off = data_start;
    for (i, slot) in params.iter_mut().enumerate().take(nparams) {
        let plen = u16_at(b, REC_HDR_BYTES + 2 * i);
        if plen == PARAM_NONE {
            continue;
        }
        let plen = plen as usize;
        let end = off
            .checked_add(plen)
            .filter(|&e| e <= len)
            .ok_or(RecordError::ParamOverrun {
                index: i,
                plen,
                len,
            })?;
        *slot = Some(&b[off..end]);
        off = end;
    }
    Ok(Record {
        ts_boot_ns: u64_at(b, OFF_TS),
        ret: u64_at(b, OFF_RET) as i64,
        tid: u32_at(b, OFF_TID) as i32,
        pid: u32_at(b, OFF_PID) as i32,
        kind,
        flags: u16_at(b, OFF_FLAGS),
        cpu: u16_at(b, OFF_CPU),
        nparams,
        params,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a record as the probe lays it out.
    pub(crate) fn build(kind: Kind, ret: i64, params: &[Option<&[u8]>]) -> Vec<u8> {
        let mut b = vec![0u8; REC_HDR_BYTES];
        b[OFF_TS..OFF_TS + 8].copy_from_slice(&7u64.to_le_bytes());
        b[OFF_RET..OFF_RET + 8].copy_from_slice(&ret.to_le_bytes());
        b[OFF_TID..OFF_TID + 4].copy_from_slice(&11u32.to_le_bytes());
        b[OFF_PID..OFF_PID + 4].copy_from_slice(&10u32.to_le_bytes());
        b[OFF_KIND..OFF_KIND + 2].copy_from_slice(&(kind as u16).to_le_bytes());
        b[OFF_NPARAMS..OFF_NPARAMS + 2].copy_from_slice(&(params.len() as u16).to_le_bytes());
        b[OFF_CPU..OFF_CPU + 2].copy_from_slice(&1u16.to_le_bytes());
        for p in params {
            let l = p.map(|p| p.len() as u16).unwrap_or(PARAM_NONE);
            b.extend_from_slice(&l.to_le_bytes());
        }
        for p in params.iter().flatten() {
            b.extend_from_slice(p);
        }
        b
    }

    #[test]
    fn parses_a_well_formed_record() {
        let fd = 3i64.to_le_bytes();
        let b = build(Kind::Close, 0, &[Some(&fd)]);
        let r = parse(&b).unwrap();
        assert_eq!(
            (r.kind, r.tid, r.pid, r.ret, r.cpu, r.ts_boot_ns),
            (Kind::Close, 11, 10, 0, 1, 7)
        );
        assert_eq!(r.param(0), Some(&fd[..]));
        assert_eq!(r.param(1), None);
    }

    #[test]
    fn absent_parameters_take_no_bytes() {
        let b = build(Kind::Dup2, 5, &[None, Some(&5i64.to_le_bytes())]);
        let r = parse(&b).unwrap();
        assert_eq!(r.param(0), None);
        assert_eq!(r.param(1), Some(&5i64.to_le_bytes()[..]));
    }

    #[test]
    fn rejects_every_malformed_shape() {
        assert_eq!(
            parse(&[0u8; 31]).unwrap_err(),
            RecordError::Short { len: 31 }
        );

        let mut b = build(Kind::Close, 0, &[Some(&[0u8; 8])]);
        b[OFF_NPARAMS] = 40;
        assert!(matches!(
            parse(&b),
            Err(RecordError::TooManyParams { nparams: 40, .. })
        ));

        let mut b = build(Kind::Close, 0, &[Some(&[0u8; 8])]);
        b[OFF_KIND] = 0xff;
        b[OFF_KIND + 1] = 0xff;
        assert_eq!(parse(&b).unwrap_err(), RecordError::UnknownKind(0xffff));

        let b = build(Kind::Close, 0, &[Some(&[0u8; 8]), None]);
        assert!(matches!(
            parse(&b),
            Err(RecordError::ParamCount {
                got: 2,
                want: 1,
                ..
            })
        ));

        let b = build(Kind::Close, 0, &[Some(&[0u8; 8])]);
        assert!(matches!(
            parse(&b[..b.len() - 1]),
            Err(RecordError::ParamOverrun { index: 0, .. })
        ));
        assert!(matches!(
            parse(&b[..REC_HDR_BYTES + 1]),
            Err(RecordError::LengthsOverrun { .. })
        ));
    }

    #[test]
    fn never_panics_on_arbitrary_bytes() {
        // Every truncation and a sweep of corruptions of a real record.
        let b = build(
            Kind::Openat,
            3,
            &[
                Some(&[1; 8]),
                Some(b"/etc"),
                Some(&[0; 8]),
                Some(&[0; 8]),
                None,
                None,
            ],
        );
        for cut in 0..b.len() {
            let _ = parse(&b[..cut]);
        }
        for i in 0..b.len() {
            for v in [0u8, 1, 0x7f, 0xff] {
                let mut c = b.clone();
                c[i] = v;
                let _ = parse(&c);
            }
        }
    }
}
