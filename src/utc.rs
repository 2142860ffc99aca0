//! UTC calendar dates without a time-zone database: spool names, mail
//! headers and job listings show times in UTC. The one local-time reading,
//! [`local_weekday_minute`], is for rules written in the site's hours.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(civil_from_unix(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil_from_unix(951_782_400), (2000, 2, 29, 0, 0, 0));
        assert_eq!(civil_from_unix(1_798_761_599), (2026, 12, 31, 23, 59, 59));
        assert_eq!(civil_from_unix(-1), (1969, 12, 31, 23, 59, 59));
    }
}
