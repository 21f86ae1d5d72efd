//! capture's ring-record parser (`record::parse`, included from
//! bins/capture by path) on arbitrary bytes, as the kernel side could write
//! them, and the frame encoder (`encode::fill_event`) on every record it
//! accepts: the frame written must read back whole. Each input is parsed
//! as given, then again with its parameter count set to what the event
//! table wants for its kind, so that the fuzzer reaches the parameter
//! lengths without first guessing each kind's count.
#![no_main]

use kestrel_fuzz::layout::{MAX_PARAMS, OFF_KIND, OFF_NPARAMS, REC_HDR_BYTES};
use kestrel_fuzz::{encode, record, reread};
use libfuzzer_sys::fuzz_target;
use schema::{table, FrameWriter, Kind, Stage};

fn check(b: &[u8]) {
    let Ok(rec) = record::parse(b) else { return };
    assert!(rec.param_count() <= MAX_PARAMS);
    let mut carried = 0;
    for i in 0..rec.param_count() {
        if let Some(p) = rec.param(i) {
            // Every parameter is a slice of the record itself.
            let (start, end) = (b.as_ptr() as usize, b.as_ptr() as usize + b.len());
            assert!(p.as_ptr() as usize >= start && p.as_ptr() as usize + p.len() <= end);
            carried += p.len();
        }
    }
    assert!(REC_HDR_BYTES + 2 * rec.param_count() + carried <= b.len());
    let mut w = FrameWriter::new(Vec::new());
    w.write_header(Stage::Capture).expect("header into a Vec");
    w.build::<std::io::Error, _>(|f| {
        encode::fill_event(f.init_event(), &rec, 1);
        Ok(())
    })
    .expect("a record's frame fits");
    w.flush().expect("flush into a Vec");
    assert_eq!(reread(w.get_ref()).len(), 2);
}

fuzz_target!(|data: &[u8]| {
    check(data);
    if data.len() >= REC_HDR_BYTES {
        let kind = u16::from_le_bytes([data[OFF_KIND], data[OFF_KIND + 1]]);
        if let Ok(kind) = Kind::try_from(kind) {
            let n = table::info(kind).params.len() as u16;
            let mut b = data.to_vec();
            b[OFF_NPARAMS..OFF_NPARAMS + 2].copy_from_slice(&n.to_le_bytes());
            check(&b);
        }
    }
});
