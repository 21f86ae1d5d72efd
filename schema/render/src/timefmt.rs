//! Wall-clock renderings of an alert's time (ns since the Unix epoch), all
//! in UTC: the clock time Falco prints before a text alert, RFC 3339 with
//! nanoseconds for JSON and ISO 8601 text lines, and with microseconds for
//! syslog (RFC 5424 allows at most six fractional digits).
//!
//! The calendar arithmetic is the `time` crate's; this module only lays
//! the digits out. It is not a place for parsing times or for time zones.

use time::OffsetDateTime;

/// The instant `ns` after the epoch. Every `u64` of nanoseconds (up to the
/// year 2554) is within `time`'s range, so the fallback is never taken.
fn instant(ns: u64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ns)).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Date and time of `ns`: `YYYY-MM-DD`, `sep`, `HH:MM:SS.` and the first
/// `digits` (6 or 9) digits of the second's fraction.
fn date_time(ns: u64, sep: char, digits: usize) -> String {
    let t = instant(ns);
    let frac = if digits == 6 {
        format!("{:06}", t.microsecond())
    } else {
        format!("{:09}", t.nanosecond())
    };
    format!(
        "{:04}-{:02}-{:02}{sep}{:02}:{:02}:{:02}.{frac}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
    )
}

/// `2023-11-14T22:13:20.123456789Z`: Falco's JSON `time`.
pub fn rfc3339(ns: u64) -> String {
    date_time(ns, 'T', 9) + "Z"
}

/// `2023-11-14T22:13:20.123456Z`: an RFC 5424 (syslog) TIMESTAMP.
pub fn rfc3339_micros(ns: u64) -> String {
    date_time(ns, 'T', 6) + "Z"
}

/// `2023-11-14 22:13:20.123456789`: Falco's `evt.datetime`.
pub fn datetime(ns: u64) -> String {
    date_time(ns, ' ', 9)
}

/// `22:13:20.123456789`: the time Falco prints before a text alert by
/// default.
pub fn clock(ns: u64) -> String {
    let t = instant(ns);
    format!(
        "{:02}:{:02}:{:02}.{:09}",
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            rfc3339(1_700_000_000_123_456_789),
            "2023-11-14T22:13:20.123456789Z"
        );
        assert_eq!(
            rfc3339(1_795_885_381_123_456_789),
            "2026-11-28T17:03:01.123456789Z"
        );
        // A leap day, and the last representable instant.
        assert_eq!(
            rfc3339(951_782_400_000_000_001),
            "2000-02-29T00:00:00.000000001Z"
        );
        assert_eq!(rfc3339(u64::MAX), "2554-07-21T23:34:33.709551615Z");
        assert_eq!(
            rfc3339_micros(951_782_400_000_001_999),
            "2000-02-29T00:00:00.000001Z"
        );
        assert_eq!(clock(1_700_000_000_123_456_789), "22:13:20.123456789");
        assert_eq!(clock(0), "00:00:00.000000000");
    }
}
