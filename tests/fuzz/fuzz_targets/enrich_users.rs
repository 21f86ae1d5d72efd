//! enrich's readers of the passwd and group files
//! (`enrich::tables::users::parse_passwd`, `parse_group`) on arbitrary text.
#![no_main]

use enrich::tables::users;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = users::parse_passwd(text);
    let _ = users::parse_group(text);
});
