//! Wall-clock renderings of an alert's time (ns since the Unix epoch), all
//! in UTC: the clock time Falco prints before a text alert, RFC 3339 with
//! nanoseconds for JSON and ISO 8601 text lines, and with microseconds for
//! syslog (RFC 5424 allows at most six fractional digits).
//!
//! The calendar arithmetic is the `time` crate's; this module only lays
//! the digits out (by hand: these run for every alert). It is not a place for parsing times or for time zones.

use time::OffsetDateTime;

/// The instant `ns` after the epoch. Every `u64` of nanoseconds (up to the
/// year 2554) is within `time`'s range, so the fallback is never taken.
fn instant(ns: u64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ns)).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Appends `v` as exactly `width` decimal digits, zero-padded (`v` has no
/// more). By hand: `format!`'s padding machinery cost more than the rest of
/// an alert's JSON line.
fn push_padded(out: &mut String, mut v: u32, width: usize) {
    let mut digits = [b'0'; 10];
    for d in digits[..width].iter_mut().rev() {
        *d = b'0' + (v % 10) as u8;
        v /= 10;
    }
    out.extend(digits[..width].iter().map(|&d| char::from(d)));
}

/// `HH:MM:SS.` and the first `digits` (6 or 9) digits of the second's
/// fraction, appended.
fn push_clock(out: &mut String, t: OffsetDateTime, digits: usize) {
    push_padded(out, u32::from(t.hour()), 2);
    out.push(':');
    push_padded(out, u32::from(t.minute()), 2);
    out.push(':');
    push_padded(out, u32::from(t.second()), 2);
    out.push('.');
    if digits == 6 {
        push_padded(out, t.microsecond(), 6);
    } else {
        push_padded(out, t.nanosecond(), 9);
    }
}

/// Date and time of `ns`: `YYYY-MM-DD`, `sep`, then [`push_clock`].
fn date_time(ns: u64, sep: char, digits: usize) -> String {
    let t = instant(ns);
    let mut out = String::with_capacity(32);
    // Years of u64 nanoseconds are 1970 to 2554: four digits.
    push_padded(&mut out, u32::try_from(t.year()).unwrap_or(0), 4);
    out.push('-');
    push_padded(&mut out, u32::from(u8::from(t.month())), 2);
    out.push('-');
    push_padded(&mut out, u32::from(t.day()), 2);
    out.push(sep);
    push_clock(&mut out, t, digits);
    out
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
    let mut out = String::with_capacity(18);
    push_clock(&mut out, instant(ns), 9);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference: `format!` with padding, as the digits were laid out
    /// before they were written by hand.
    fn reference(ns: u64, sep: char, digits: usize) -> String {
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

    #[test]
    fn hand_laid_digits_match_formatted_ones_across_the_range() {
        // A simple generator over the whole u64 range, and the ends.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut samples = vec![0, 1, 999_999_999, u64::MAX, u64::MAX - 1];
        for _ in 0..20_000 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            samples.push(x);
        }
        for ns in samples {
            assert_eq!(rfc3339(ns), reference(ns, 'T', 9) + "Z", "{ns}");
            assert_eq!(rfc3339_micros(ns), reference(ns, 'T', 6) + "Z", "{ns}");
            assert_eq!(datetime(ns), reference(ns, ' ', 9), "{ns}");
            assert_eq!(clock(ns), reference(ns, 'T', 9)[11..], "{ns}");
        }
    }

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
