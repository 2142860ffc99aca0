//! Dial plan: a number as people write it → E.164 and the trunk's dial string.
//!
//! ITU-T E.164 numbers are a country code and a national significant number
//! (NSN), at most 15 digits. People write them in three forms, which the plan
//! recognises by their prefixes (UK values in brackets):
//!
//! - international: `+` or the international prefix (`00`), country code, NSN
//!   — `+44 1223 123456`, `0044 1223 123456`, and the common
//!   `+44 (0)1223 123456` whose `(0)` is the national prefix that must not be
//!   dialled after the country code;
//! - national: the national (trunk) prefix (`0`) and the NSN — `01223 123456`;
//! - on a PBX, either form after the outside-line prefix (`9`) —
//!   `9 01223 123456` — which is stripped on input when configured.
//!
//! Internal extensions (configured lengths, e.g. 4 or 5 digits) pass through
//! as they are, and 3–6 digit numbers without a prefix are short codes
//! (`999`, `112`, `118 118`, `100`): they are recognised here so that policy
//! can refuse them by name, not dialled.
//!
//! The dial string follows the trunk: E.164 with `+` (most SIP trunks), or
//! national form (`0…` at home, `00…` abroad) optionally behind the
//! outside-line prefix for a PBX that expects it.

use serde::Deserialize;

use crate::problem::Problem;

/// How the trunk wants numbers written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrunkFormat {
    /// `+441223123456` (RFC 3966 global number form; what SIP trunks expect).
    E164,
    /// `01223123456` at home, `0033…` abroad (what a PBX line expects).
    National,
}

/// `[intake.dialplan]`: how numbers are written here and what the trunk wants.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DialPlan {
    /// Home country code, without `+` (`44`).
    pub country_code: String,
    /// National (trunk) prefix (`0`); empty where the country has none.
    pub national_prefix: String,
    /// International prefix (`00`); `+` is always accepted as well.
    pub international_prefix: String,
    /// Outside-line prefix of the PBX (`9`), empty when there is none.
    pub outside_line_prefix: String,
    /// Remove the outside-line prefix when people write it (`9 01223…`).
    pub strip_outside_line: bool,
    /// Put the outside-line prefix in front of every external dial string.
    /// Only with `trunk_format = "national"`.
    pub add_outside_line: bool,
    /// The form of the dial string sent to the trunk.
    pub trunk_format: TrunkFormat,
    /// Lengths of internal extensions dialled as they are (e.g. `[4, 5]`); empty: none.
    pub extension_lengths: Vec<u8>,
    /// Fewest digits in a national significant number (after the `0`).
    pub national_min_digits: u8,
    /// Most digits in a national significant number.
    pub national_max_digits: u8,
}

impl Default for DialPlan {
    fn default() -> Self {
        DialPlan {
            country_code: "44".into(),
            national_prefix: "0".into(),
            international_prefix: "00".into(),
            outside_line_prefix: String::new(),
            strip_outside_line: true,
            add_outside_line: false,
            trunk_format: TrunkFormat::E164,
            extension_lengths: Vec::new(),
            // UK: 01xxx/02x/03/08 numbers have 9 or 10 digits after the 0 (Ofcom numbering plan).
            national_min_digits: 9,
            national_max_digits: 10,
        }
    }
}

/// What kind of destination a number is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberKind {
    /// A public number in the home country.
    National,
    /// A public number in another country.
    International,
    /// An internal extension, dialled as written.
    Extension,
    /// A 3–6 digit service number without prefix (999, 112, 118 xxx, 100 …).
    ShortCode,
}

/// A number after the dial plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalised {
    /// What kind of destination it is.
    pub kind: NumberKind,
    /// `+` country code NSN, for public numbers; `None` for extensions and short codes.
    pub e164: Option<String>,
    /// The number as dialled from a home-country phone without the outside line:
    /// `01223123456`, `0033123456789`, `4321`, `999`. Policy prefixes are matched against it.
    pub national: String,
    /// The string sent to the trunk.
    pub dial: String,
}

/// Why a number cannot be dialled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialError {
    /// No digits at all.
    #[error("{number:?} has no digits; write the fax number, e.g. 01223 123456")]
    Empty {
        /// The number as written.
        number: String,
    },
    /// A character that has no place in a phone number.
    #[error(
        "the number {number:?} contains {found:?}; use only digits, a leading +, and spaces, dots, dashes or brackets"
    )]
    BadCharacter {
        /// The number as written.
        number: String,
        /// The offending character.
        found: char,
    },
    /// Neither national nor international form, and not an extension or short code.
    #[error(
        "{number:?} has no area code or country code; write the full number, e.g. 01223 123456 or +44 1223 123456"
    )]
    NoPrefix {
        /// The number as written.
        number: String,
    },
    /// Too few or too many digits for a national number.
    #[error(
        "{number:?} has {digits} digits after the national prefix, but numbers here have {min} to {max}; check the number"
    )]
    NationalLength {
        /// The number as written.
        number: String,
        /// Digits found after the national prefix.
        digits: usize,
        /// Fewest allowed.
        min: u8,
        /// Most allowed.
        max: u8,
    },
    /// An international number that E.164 cannot hold.
    #[error(
        "{number:?} is not a valid international number ({problem}); write + then the country code and number, e.g. +33 1 23 45 67 89"
    )]
    International {
        /// The number as written.
        number: String,
        /// What is wrong.
        problem: &'static str,
    },
}

/// A problem of the plan, pointing to where the keys are explained.
fn problem(key: String, what: impl Into<String>) -> Problem {
    Problem::new(
        key,
        what,
        "see [intake.dialplan] in config/faxbridge.example.toml",
    )
}

/// E.164 §6.1: at most 15 digits including the country code.
const E164_MAX: usize = 15;
/// Shortest international number accepted (small countries have 4-digit subscriber numbers).
const INTERNATIONAL_MIN: usize = 7;

impl DialPlan {
    /// Normalise a number as written into its kind, E.164 form and dial string.
    pub fn normalise(&self, written: &str) -> Result<Normalised, DialError> {
        let (plus, mut digits) = self.digits_of(written)?;
        let intl = if plus {
            Some(digits.clone())
        } else {
            if self.strip_outside_line
                && !self.outside_line_prefix.is_empty()
                && let Some(rest) = digits.strip_prefix(self.outside_line_prefix.as_str())
            {
                let prefixed = rest.starts_with(self.international_prefix.as_str())
                    || (!self.national_prefix.is_empty()
                        && rest.starts_with(self.national_prefix.as_str()));
                let short = (3..=6).contains(&rest.len()) && !self.is_extension(&digits);
                if prefixed || short {
                    digits = rest.to_string();
                }
            }
            if self.is_extension(&digits) {
                return Ok(self.finish(NumberKind::Extension, None, digits.clone(), digits));
            }
            digits
                .strip_prefix(self.international_prefix.as_str())
                .map(str::to_string)
                .or_else(|| {
                    if self.national_prefix.is_empty() {
                        return None;
                    }
                    let nsn = digits.strip_prefix(self.national_prefix.as_str())?;
                    Some(format!("{}{nsn}", self.country_code))
                })
        };
        let Some(intl) = intl else {
            if (3..=6).contains(&digits.len()) {
                return Ok(self.finish(NumberKind::ShortCode, None, digits.clone(), digits));
            }
            return Err(DialError::NoPrefix {
                number: written.to_string(),
            });
        };

        if let Some(nsn) = intl.strip_prefix(self.country_code.as_str()) {
            // "+44 01223…": the national prefix has no place after the country code.
            let nsn = if self.national_prefix.is_empty() {
                nsn
            } else {
                nsn.strip_prefix(self.national_prefix.as_str())
                    .unwrap_or(nsn)
            };
            let len = nsn.len();
            if len < self.national_min_digits as usize || len > self.national_max_digits as usize {
                return Err(DialError::NationalLength {
                    number: written.to_string(),
                    digits: len,
                    min: self.national_min_digits,
                    max: self.national_max_digits,
                });
            }
            let e164 = format!("+{}{nsn}", self.country_code);
            let national = format!("{}{nsn}", self.national_prefix);
            let dial = match self.trunk_format {
                TrunkFormat::E164 => e164.clone(),
                TrunkFormat::National => national.clone(),
            };
            return Ok(self.finish(NumberKind::National, Some(e164), national, dial));
        }

        let problem = if intl.is_empty() {
            Some("no country code")
        } else if intl.starts_with('0') {
            Some("country codes never start with 0")
        } else if intl.len() < INTERNATIONAL_MIN {
            Some("too few digits")
        } else if intl.len() > E164_MAX {
            Some("more than 15 digits")
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(DialError::International {
                number: written.to_string(),
                problem,
            });
        }
        let e164 = format!("+{intl}");
        let national = format!("{}{intl}", self.international_prefix);
        let dial = match self.trunk_format {
            TrunkFormat::E164 => e164.clone(),
            TrunkFormat::National => national.clone(),
        };
        Ok(self.finish(NumberKind::International, Some(e164), national, dial))
    }

    /// The digits of a written number after removing separators (and a
    /// `(0)` in international form), and whether it began with `+`.
    fn digits_of(&self, written: &str) -> Result<(bool, String), DialError> {
        let trimmed = written.trim();
        let plus = trimmed.starts_with('+');
        let body = if plus { &trimmed[1..] } else { trimmed };
        let international = plus
            || body
                .chars()
                .filter(char::is_ascii_digit)
                .collect::<String>()
                .starts_with(self.international_prefix.as_str());
        // "+44 (0)1223 …": the bracketed 0 is the national prefix, shown for
        // callers at home; it is not dialled in international form.
        let body = if international {
            body.replacen("(0)", "", 1)
        } else {
            body.to_string()
        };
        let mut digits = String::with_capacity(body.len());
        for c in body.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '.' | '-' | '(' | ')' | '/' | '\u{a0}' => {}
                other => {
                    return Err(DialError::BadCharacter {
                        number: written.to_string(),
                        found: other,
                    });
                }
            }
        }
        if digits.is_empty() {
            return Err(DialError::Empty {
                number: written.to_string(),
            });
        }
        Ok((plus, digits))
    }

    /// The forms a number may be compared in with other numbers (a line's
    /// number, a fax route's DID): E.164 and the national form when the
    /// plan reads it, and the bare digits; digits without a prefix are also
    /// read as a national significant number (`1632960201`, as some trunks
    /// send) and as an international number missing its `+`
    /// (`441632960201`). Two numbers are the same line when one's first
    /// (most canonical) form is among the other's forms.
    pub fn match_keys(&self, number: &str) -> Vec<String> {
        let mut keys = Vec::new();
        if let Ok(n) = self.normalise(number) {
            keys.extend(n.e164);
            keys.push(n.national);
        }
        let digits = super::digits_key(number);
        if !digits.starts_with('+') && !digits.starts_with('0') && !digits.is_empty() {
            keys.push(format!("+{}{digits}", self.country_code));
            keys.push(format!("+{digits}"));
        }
        keys.push(digits);
        keys
    }

    /// Every digit string a written number could reach the network as, for the
    /// emergency check: the digits as written and, when they begin with the
    /// outside-line prefix, the digits after it (`9999` on a PBX is `999`).
    /// Separators are ignored; a leading `+` and the country code are removed
    /// too, so `+44 999` is caught.
    pub fn emergency_candidates(&self, written: &str) -> Vec<String> {
        let digits: String = written.chars().filter(char::is_ascii_digit).collect();
        let mut out = vec![digits.clone()];
        if !self.outside_line_prefix.is_empty()
            && let Some(rest) = digits.strip_prefix(self.outside_line_prefix.as_str())
        {
            out.push(rest.to_string());
        }
        let intl = if written.trim().starts_with('+') {
            Some(digits.as_str())
        } else {
            digits.strip_prefix(self.international_prefix.as_str())
        };
        if let Some(rest) = intl.and_then(|i| i.strip_prefix(self.country_code.as_str())) {
            out.push(rest.to_string());
            if !self.national_prefix.is_empty()
                && let Some(r) = rest.strip_prefix(self.national_prefix.as_str())
            {
                out.push(r.to_string());
            }
        }
        out
    }

    fn is_extension(&self, digits: &str) -> bool {
        self.extension_lengths
            .iter()
            .any(|&l| l as usize == digits.len())
    }

    fn finish(
        &self,
        kind: NumberKind,
        e164: Option<String>,
        national: String,
        dial: String,
    ) -> Normalised {
        let dial = if self.add_outside_line && kind != NumberKind::Extension {
            format!("{}{dial}", self.outside_line_prefix)
        } else {
            dial
        };
        Normalised {
            kind,
            e164,
            national,
            dial,
        }
    }

    /// Check the plan; each problem names its key under `[intake]`
    /// (`dialplan.country_code`), where the plan is configured.
    pub fn validate(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        let key = |k: &str| format!("dialplan.{k}");
        if self.country_code.is_empty()
            || self.country_code.len() > 3
            || !digits(&self.country_code)
            || self.country_code.starts_with('0')
        {
            problems.push(problem(
                key("country_code"),
                format!(
                    "{:?} is not an ITU country code; write 1 to 3 digits without + (\"44\" for the UK)",
                    self.country_code
                ),
            ));
        }
        if !digits(&self.national_prefix) || self.national_prefix.len() > 2 {
            problems.push(problem(
                key("national_prefix"),
                "write the digit(s) dialled before an area code (\"0\" in the UK), or \"\" if there are none",
            ));
        }
        if self.international_prefix.is_empty()
            || !digits(&self.international_prefix)
            || self.international_prefix.len() > 4
        {
            problems.push(problem(
                key("international_prefix"),
                "write the digits dialled before a country code (\"00\" in the UK)",
            ));
        }
        if !digits(&self.outside_line_prefix) || self.outside_line_prefix.len() > 3 {
            problems.push(problem(
                key("outside_line_prefix"),
                "write the digit(s) dialled for an outside line (often \"9\"), or \"\"",
            ));
        }
        if self.add_outside_line && self.outside_line_prefix.is_empty() {
            problems.push(problem(
                key("add_outside_line"),
                "is true but outside_line_prefix is empty; set the prefix or turn this off",
            ));
        }
        if self.add_outside_line && self.trunk_format == TrunkFormat::E164 {
            problems.push(problem(
                key("add_outside_line"),
                "cannot go in front of a +E.164 number; set trunk_format = \"national\" or turn this off",
            ));
        }
        if let Some(bad) = self
            .extension_lengths
            .iter()
            .find(|&&l| !(2..=8).contains(&l))
        {
            problems.push(problem(
                key("extension_lengths"),
                format!("{bad} is not a plausible extension length; use 2 to 8"),
            ));
        }
        if self.national_min_digits == 0
            || self.national_min_digits > self.national_max_digits
            || self.national_max_digits as usize > E164_MAX - self.country_code.len().min(3)
        {
            problems.push(problem(
                key("national_min_digits"),
                "national_min_digits must be at least 1 and at most national_max_digits, and country code plus national_max_digits at most 15",
            ));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uk() -> DialPlan {
        DialPlan::default()
    }

    /// A university PBX: outside line 9, 5-digit extensions, national form to the PBX.
    fn pbx() -> DialPlan {
        DialPlan {
            outside_line_prefix: "9".into(),
            add_outside_line: true,
            trunk_format: TrunkFormat::National,
            extension_lengths: vec![4, 5],
            ..DialPlan::default()
        }
    }

    fn e164(plan: &DialPlan, n: &str) -> String {
        plan.normalise(n).unwrap().e164.unwrap()
    }

    #[test]
    fn uk_national_numbers_become_e164() {
        let n = uk().normalise("01223 123456").unwrap();
        assert_eq!(n.kind, NumberKind::National);
        assert_eq!(n.e164.as_deref(), Some("+441223123456"));
        assert_eq!(n.national, "01223123456");
        assert_eq!(n.dial, "+441223123456");
        assert_eq!(e164(&uk(), "020 7946 0000"), "+442079460000");
        assert_eq!(e164(&uk(), "(01223) 123456"), "+441223123456");
        assert_eq!(e164(&uk(), "016977 2345"), "+44169772345"); // 9-digit NSN area
    }

    #[test]
    fn every_written_form_of_one_uk_number_is_the_same_number() {
        for written in [
            "01223123456",
            "01223 123456",
            "01223-123456",
            "01223.123456",
            "+441223123456",
            "+44 1223 123456",
            "+44-1223-123456",
            "+44 (0)1223 123456",
            "+44 (0) 1223 123456",
            "+44 01223 123456",
            "0044 1223 123456",
            "00 44 1223 123456",
            "0044 (0)1223 123456",
        ] {
            assert_eq!(e164(&uk(), written), "+441223123456", "{written}");
        }
    }

    #[test]
    fn foreign_numbers_are_international() {
        let n = uk().normalise("+33 1 23 45 67 89").unwrap();
        assert_eq!(n.kind, NumberKind::International);
        assert_eq!(n.e164.as_deref(), Some("+33123456789"));
        assert_eq!(n.national, "0033123456789");
        assert_eq!(n.dial, "+33123456789");
        assert_eq!(e164(&uk(), "001 212 555 0100"), "+12125550100");
        // Italy keeps its leading 0 after the country code; only the home plan's 0 is dropped.
        assert_eq!(e164(&uk(), "+39 06 1234 5678"), "+390612345678");
    }

    #[test]
    fn national_trunk_format_dials_zero_and_double_zero() {
        let plan = DialPlan {
            trunk_format: TrunkFormat::National,
            ..uk()
        };
        assert_eq!(
            plan.normalise("+44 1223 123456").unwrap().dial,
            "01223123456"
        );
        assert_eq!(
            plan.normalise("+33 1 23 45 67 89").unwrap().dial,
            "0033123456789"
        );
    }

    #[test]
    fn the_outside_line_is_stripped_on_input_and_added_on_output() {
        let p = pbx();
        let n = p.normalise("9 01223 123456").unwrap();
        assert_eq!(n.e164.as_deref(), Some("+441223123456"));
        assert_eq!(n.national, "01223123456");
        assert_eq!(n.dial, "901223123456");
        assert_eq!(p.normalise("01223 123456").unwrap().dial, "901223123456");
        assert_eq!(
            p.normalise("9 0033 1 23 45 67 89").unwrap().dial,
            "90033123456789"
        );
        assert_eq!(
            p.normalise("+33 1 23 45 67 89").unwrap().dial,
            "90033123456789"
        );
    }

    #[test]
    fn stripping_can_be_turned_off() {
        let plan = DialPlan {
            strip_outside_line: false,
            ..pbx()
        };
        // "901223123456" has no prefix the plan knows once 9 is not stripped.
        assert!(matches!(
            plan.normalise("901223123456"),
            Err(DialError::NoPrefix { .. })
        ));
    }

    #[test]
    fn extensions_pass_through_without_the_outside_line() {
        let p = pbx();
        let n = p.normalise("12345").unwrap();
        assert_eq!(n.kind, NumberKind::Extension);
        assert_eq!(
            (n.e164, n.national.as_str(), n.dial.as_str()),
            (None, "12345", "12345")
        );
        assert_eq!(p.normalise("4321").unwrap().kind, NumberKind::Extension);
        // Without configured extensions a 5-digit number is a short code, not an extension.
        assert_eq!(uk().normalise("12345").unwrap().kind, NumberKind::ShortCode);
    }

    #[test]
    fn short_codes_are_recognised_not_mistaken_for_numbers() {
        for code in ["999", "112", "118118", "118 500", "100", "1471"] {
            let n = uk().normalise(code).unwrap();
            assert_eq!(n.kind, NumberKind::ShortCode, "{code}");
            assert_eq!(n.e164, None);
        }
        // Behind the outside line: 9 999 is still 999 (4-digit input, not an extension length here).
        let plan = DialPlan {
            outside_line_prefix: "9".into(),
            ..uk()
        };
        assert_eq!(plan.normalise("9999").unwrap().national, "999");
        assert_eq!(plan.normalise("9 118 118").unwrap().national, "118118");
    }

    #[test]
    fn emergency_candidates_cover_every_route_to_the_network() {
        let p = pbx();
        let c = p.emergency_candidates("9999");
        assert!(c.contains(&"9999".to_string()) && c.contains(&"999".to_string()));
        assert!(
            p.emergency_candidates("+44 999")
                .contains(&"999".to_string())
        );
        assert!(
            p.emergency_candidates("0044 (0)112")
                .contains(&"112".to_string())
        );
        assert!(p.emergency_candidates("9-1-1").contains(&"911".to_string()));
    }

    #[test]
    fn wrong_lengths_and_missing_prefixes_are_explained() {
        let err = uk().normalise("01223 1234").unwrap_err();
        assert!(matches!(
            err,
            DialError::NationalLength {
                digits: 8,
                min: 9,
                max: 10,
                ..
            }
        ));
        assert!(err.to_string().contains("9 to 10"), "{err}");
        assert!(matches!(
            uk().normalise("01223 1234567 8"),
            Err(DialError::NationalLength { digits: 12, .. })
        ));
        let err = uk().normalise("1223 123456").unwrap_err();
        assert!(matches!(err, DialError::NoPrefix { .. }));
        assert!(err.to_string().contains("+44 1223 123456"));
    }

    #[test]
    fn impossible_international_numbers_are_refused() {
        for (n, problem) in [
            ("+", "no country code"),
            ("00", "no country code"),
            ("+0123456789", "country codes never start with 0"),
            ("+33 12", "too few digits"),
            ("+33 1234 5678 9012 34", "more than 15 digits"),
        ] {
            match uk().normalise(n) {
                Err(DialError::International { problem: p, .. }) => assert_eq!(p, problem, "{n}"),
                Err(DialError::Empty { .. }) if n == "+" => {}
                other => panic!("{n}: {other:?}"),
            }
        }
    }

    #[test]
    fn letters_and_empty_numbers_are_refused() {
        assert!(matches!(
            uk().normalise("0800 FAXME"),
            Err(DialError::BadCharacter { found: 'F', .. })
        ));
        assert!(matches!(
            uk().normalise(" - "),
            Err(DialError::Empty { .. })
        ));
        assert!(matches!(
            uk().normalise("44+1223"),
            Err(DialError::BadCharacter { found: '+', .. })
        ));
    }

    #[test]
    fn a_country_without_a_national_prefix() {
        // Spain: no trunk prefix, 9-digit numbers.
        let es = DialPlan {
            country_code: "34".into(),
            national_prefix: String::new(),
            national_min_digits: 9,
            national_max_digits: 9,
            ..DialPlan::default()
        };
        assert_eq!(e164(&es, "+34 912 345 678"), "+34912345678");
        assert!(matches!(
            es.normalise("912345678"),
            Err(DialError::NoPrefix { .. })
        ));
    }

    #[test]
    fn validation_names_the_keys() {
        assert!(uk().validate().is_empty());
        assert!(pbx().validate().is_empty());
        let bad = DialPlan {
            country_code: "+44".into(),
            international_prefix: String::new(),
            add_outside_line: true,
            extension_lengths: vec![1],
            national_min_digits: 11,
            ..DialPlan::default()
        };
        let keys: Vec<String> = bad.validate().into_iter().map(|e| e.key).collect();
        assert_eq!(
            keys,
            [
                "dialplan.country_code",
                "dialplan.international_prefix",
                "dialplan.add_outside_line",
                "dialplan.add_outside_line",
                "dialplan.extension_lengths",
                "dialplan.national_min_digits"
            ]
        );
    }
}
