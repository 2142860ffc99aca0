//! Time: the current time as stored (milliseconds since the Unix epoch),
//! and UTC calendar dates without a time-zone database (spool names, mail
//! headers, job listings and reports show times in UTC). The one
//! local-time reading, [`local_weekday_minute`], is for rules written in
//! the site's hours.
//!
//! This module sits at the bottom of the crate and imports nothing of it.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch: how every time is stored.
pub type Millis = i64;

/// The current time in milliseconds since the Unix epoch.
pub fn now_ms() -> Millis {
    to_ms(SystemTime::now())
}

/// The current time in whole seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `t` in milliseconds since the Unix epoch (0 before it).
pub fn to_ms(t: SystemTime) -> Millis {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A UTC time for listings and reports: `2026-11-25 11:40:22Z`.
pub fn format_utc(ms: Millis) -> String {
    let (y, mo, d, h, mi, s) = civil_from_unix(ms.div_euclid(1000));
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}Z")
}

/// A UTC time for people reading a mail: `2026-11-25 10:15:16 UTC`.
pub fn format_utc_text(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (y, mo, d, h, mi, s) = civil_from_unix(secs);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02} UTC")
}

/// UTC calendar fields `(year, month, day, hour, minute, second)` of a Unix
/// time in seconds, proleptic Gregorian (days-to-civil after H. Hinnant's
/// public-domain algorithm). Negative times are before 1970.
pub fn civil_from_unix(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
    )
}

/// The machine's local day of the week (Monday = 0) and minute of the day
/// now, in the system time zone (`TZ`, else `/etc/localtime`; UTC when
/// neither can be read).
pub fn local_weekday_minute() -> (u8, u16) {
    let now = jiff::ZonedDateTime::now();
    let weekday = now.weekday().to_monday_zero_offset() as u8;
    let minute = now.hour() as u16 * 60 + now.minute() as u16;
    (weekday, minute)
}

/// Exponential back-off: the wait after `failures` consecutive failures
/// (1 → `initial`, 2 → 2 × `initial`, 3 → 4 × `initial`, …), never more than
/// `max`. The one rule for every retry in faxbridge: mail delivery, fax
/// jobs that failed on the network, accept loops.
pub fn backoff(
    initial: std::time::Duration,
    max: std::time::Duration,
    failures: u32,
) -> std::time::Duration {
    let doublings = failures.saturating_sub(1).min(31);
    initial
        .checked_mul(1u32 << doublings)
        .unwrap_or(max)
        .min(max)
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats() {
        use std::time::{Duration, UNIX_EPOCH};
        assert_eq!(super::format_utc(0), "1970-01-01 00:00:00Z");
        assert_eq!(super::format_utc(951_782_400_000), "2000-02-29 00:00:00Z");
        assert_eq!(super::format_utc(1_795_606_822_000), "2026-11-25 11:40:22Z");
        assert_eq!(
            super::format_utc_text(UNIX_EPOCH),
            "1970-01-01 00:00:00 UTC"
        );
        assert_eq!(
            super::to_ms(UNIX_EPOCH + Duration::from_millis(1_500)),
            1_500
        );
        assert!(super::now_ms() > 1_700_000_000_000);
    }

    #[test]
    fn backoff_doubles_from_the_first_failure_up_to_the_cap() {
        use std::time::Duration;
        let s = Duration::from_secs;
        let wait = |n| super::backoff(s(60), s(3600), n);
        assert_eq!(
            [0, 1, 2, 3, 6, 7, 8, 40, u32::MAX].map(wait),
            [
                s(60),
                s(60),
                s(120),
                s(240),
                s(1920),
                s(3600),
                s(3600),
                s(3600),
                s(3600)
            ]
        );
        assert_eq!(super::backoff(Duration::from_millis(100), s(1), 5), s(1));
    }

    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(civil_from_unix(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil_from_unix(951_782_400), (2000, 2, 29, 0, 0, 0));
        assert_eq!(civil_from_unix(1_798_761_599), (2026, 12, 31, 23, 59, 59));
        assert_eq!(civil_from_unix(-1), (1969, 12, 31, 23, 59, 59));
    }
}
