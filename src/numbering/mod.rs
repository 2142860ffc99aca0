//! Telephone numbers: how they are written, which are emergency numbers,
//! and who may dial what.
//!
//! One module for every part of faxbridge that reads a number, so that an
//! email-to-fax recipient, a digit string dialled on an ATA port and a
//! called number from the trunk are read the same way:
//!
//! * [`dialplan`]: a number as people write it → its kind, E.164 form and
//!   the trunk's dial string;
//! * [`policy`]: the toll-fraud rules (blocked prefixes, calls abroad,
//!   calls at once and per hour, hours of the day) shared by email intake
//!   and the analogue bridge, and the counters the rate rules need;
//! * here: the forms numbers are compared in, and the emergency numbers.
//!
//! Everything here is a pure function of its arguments (the call counters
//! take the time as an argument); no sockets, no clocks, no files.

pub mod dialplan;
pub mod policy;

pub use dialplan::{DialError, DialPlan, Normalised, NumberKind, TrunkFormat};

/// Emergency numbers that reach the emergency services from any port,
/// whatever else is configured (UK 999, and 112 across Europe). Sites
/// elsewhere add theirs in `[bridge] emergency_numbers`.
pub const EMERGENCY_NUMBERS: [&str; 2] = ["999", "112"];

/// Numbers never faxed from email, in any form: the emergency numbers of
/// the UK, Europe and North America (a fax to an emergency line would tie
/// it up for minutes).
pub const NEVER_FAXED: [&str; 3] = ["999", "112", "911"];

/// True when `dialled` (digits as sent) is one of [`EMERGENCY_NUMBERS`].
pub fn is_emergency_number(dialled: &str) -> bool {
    EMERGENCY_NUMBERS.contains(&dialled.trim())
}

/// Removes RFC 3966 §5.1.1 visual separators (`-`, `.`, `(`, `)`,
/// spaces) and any URI parameters after `;` from a user part.
pub fn normalize_number(user: &str) -> String {
    let user = user.split(';').next().unwrap_or("");
    user.chars()
        .filter(|c| !matches!(c, '-' | '.' | '(' | ')' | ' '))
        .collect()
}

/// A number with its separators removed (`+44 1632-960201` →
/// `+441632960201`), for comparing configured numbers with each other.
pub fn digits_key(number: &str) -> String {
    let n = normalize_number(number);
    let plus = n.starts_with('+');
    let digits: String = n.chars().filter(char::is_ascii_digit).collect();
    if plus { format!("+{digits}") } else { digits }
}

/// The characters a phone sends for `number`: digits, `*`, `#` and `+`;
/// separators and anything else are dropped (`+44 (20) 7946-0000` →
/// `+442079460000`). For comparing dialled numbers with prefixes.
pub fn dial_digits(number: &str) -> String {
    number
        .chars()
        .filter(|c| c.is_ascii_digit() || matches!(c, '+' | '*' | '#'))
        .collect()
}

/// A number that is not a dial string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadNumber {
    /// A character no phone sends.
    #[error("the number {number:?} contains {found:?}; use digits, a leading '+', '*' or '#'")]
    Character {
        /// The number as written.
        number: String,
        /// The offending character.
        found: char,
    },
    /// No digits at all.
    #[error("the number {number:?} has no digits")]
    NoDigits {
        /// The number as written.
        number: String,
    },
}

/// [`dial_digits`] for a number that must be one: RFC 3966 separators
/// (space, `-`, `.`, `(`, `)`) are dropped, `+` is allowed only first,
/// anything else is refused, and there must be a digit.
pub fn checked_dial_string(raw: &str) -> Result<String, BadNumber> {
    let mut out = String::new();
    for (i, c) in raw.trim().chars().enumerate() {
        match c {
            '0'..='9' | '*' | '#' => out.push(c),
            '+' if i == 0 => out.push(c),
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => {
                return Err(BadNumber::Character {
                    number: raw.to_string(),
                    found: c,
                });
            }
        }
    }
    if !out.chars().any(|c| c.is_ascii_digit()) {
        return Err(BadNumber::NoDigits {
            number: raw.to_string(),
        });
    }
    Ok(out)
}

/// A string a telephone network accepts as a number: digits, `*`, `#` and
/// an optional leading `+`.
pub fn dialable(s: &str) -> bool {
    let body = s.strip_prefix('+').unwrap_or(s);
    !body.is_empty()
        && body
            .chars()
            .all(|c| c.is_ascii_digit() || c == '*' || c == '#')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_without_separators() {
        assert_eq!(
            normalize_number("+44-161-555-0100;phone-context=+44"),
            "+441615550100"
        );
        assert_eq!(normalize_number("(01223) 123.456"), "01223123456");
        assert_eq!(digits_key("+44 1632-960201"), "+441632960201");
        assert_eq!(digits_key("01632 960201"), "01632960201");
    }

    #[test]
    fn dial_strings() {
        assert_eq!(dial_digits("+44 (20) 7946-0000 *9#"), "+442079460000*9#");
        assert_eq!(
            checked_dial_string(" +44 (20) 7946-0000 ").unwrap(),
            "+442079460000"
        );
        let e = checked_dial_string("9,0123").unwrap_err();
        assert!(e.to_string().contains("','"), "{e}");
        for bad in ["1+2", "--", "mailto:x", ""] {
            assert!(checked_dial_string(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dialable_strings() {
        for ok in ["999", "+441632960201", "*21#", "2001"] {
            assert!(dialable(ok), "{ok}");
        }
        for bad in ["", "+", "reception", "20 01", "++44"] {
            assert!(!dialable(bad), "{bad}");
        }
    }

    #[test]
    fn emergency_numbers() {
        assert!(is_emergency_number("999"));
        assert!(is_emergency_number(" 112 "));
        assert!(!is_emergency_number("9999") && !is_emergency_number("0112"));
        assert!(!is_emergency_number("911"), "not in the UK");
        assert!(NEVER_FAXED.contains(&"911"));
    }
}
