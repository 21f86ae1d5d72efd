//! Wall-clock renderings of ns-since-epoch timestamps, in UTC: RFC 3339 for
//! JSON and syslog, and the clock time Falco prints before a text alert.
//!
//! Hand-written (days-to-civil arithmetic) because output needs only these
//! three renderings, not a calendar library.

/// (year, month, day, hour, minute, second, nanosecond) of `ns`, UTC.
fn civil(ns: u64) -> (i64, u32, u32, u32, u32, u32, u32) {
    let secs = (ns / 1_000_000_000) as i64;
    let nanos = (ns % 1_000_000_000) as u32;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400) as u32;
    // Civil from days since 1970-01-01 (proleptic Gregorian), by eras of
    // 400 years, after Howard Hinnant's published algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    (year, month, day, rem / 3600, rem / 60 % 60, rem % 60, nanos)
}

/// `2023-11-14T22:13:20.123456789Z`, Falco's JSON `time`.
pub fn rfc3339_nanos(ns: u64) -> String {
    let (y, mo, d, h, mi, s, n) = civil(ns);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{n:09}Z")
}

/// `2023-11-14T22:13:20.123456Z`: RFC 5424 allows at most six fractional
/// digits.
pub fn rfc3339_micros(ns: u64) -> String {
    let (y, mo, d, h, mi, s, n) = civil(ns);
    format!(
        "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:06}Z",
        n / 1000
    )
}

/// `22:13:20.123456789`, the time Falco prints before a text alert.
pub fn clock_nanos(ns: u64) -> String {
    let (_, _, _, h, mi, s, n) = civil(ns);
    format!("{h:02}:{mi:02}:{s:02}.{n:09}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_known_instants() {
        assert_eq!(rfc3339_nanos(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            rfc3339_nanos(1_700_000_000_123_456_789),
            "2023-11-14T22:13:20.123456789Z"
        );
        // A leap day.
        assert_eq!(
            rfc3339_micros(951_782_400_000_001_000),
            "2000-02-29T00:00:00.000001Z"
        );
        assert_eq!(clock_nanos(1_700_000_000_123_456_789), "22:13:20.123456789");
    }
}
