//! Fax recipient addresses: `number^option^option@fax-domain`.
//!
//! Staff address a fax by writing the number as the local part of an address
//! at one of the configured fax domains, e.g. `01223123456@fax.example.ac.uk`.
//! Per-recipient options follow the number, each introduced by `^` (an RFC 5322
//! `atext` character, so the address needs no quoting):
//! `01223123456^standard^nocover@fax.example.ac.uk`.
//!
//! Numbers are accepted as people write them: `+44-1223-123456`,
//! `01223.123456`, and, inside a quoted local part (RFC 5321 §4.1.2
//! `Quoted-string`), `"+44 (0)1223 123456"@fax…`. Separators are kept here;
//! [`DialPlan::normalise`](super::DialPlan::normalise) reduces the number to
//! digits.
//!
//! The domain is compared case-insensitively (RFC 5321 §2.4) and exactly: a
//! subdomain of a fax domain is not a fax domain unless it is listed itself,
//! so `x@mail.fax.example.ac.uk` is not mistaken for a fax.

use std::fmt;

use crate::docs::Resolution;

use super::Refusal;

/// The per-recipient options written after the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FaxOptions {
    /// `^fine` or `^standard`; `None` when not written (the configured default applies).
    pub resolution: Option<Resolution>,
    /// `^cover` or `^nocover`; `None` when not written (the configured default applies).
    pub cover: Option<bool>,
}

/// A parsed fax recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaxAddress {
    /// The number as written (quotes and escapes removed, separators kept),
    /// e.g. `+44 (0)1223 123456`. Dial-plan normalisation comes later.
    pub number: String,
    /// The options written after the number.
    pub options: FaxOptions,
    /// The fax domain the address was sent to, in lower case.
    pub domain: String,
}

/// The options a recipient address may carry, as listed in error messages.
pub const VALID_OPTIONS: [&str; 4] = ["fine", "standard", "cover", "nocover"];

/// Why a recipient address is not a fax address faxbridge can use.
///
/// [`AddressError::code`] and [`AddressError::enhanced`] give the SMTP reply
/// for `RCPT TO`; the text is meant for the person who wrote the address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// Nothing usable: empty, no `@`, unbalanced quotes or brackets.
    #[error(
        "{address:?} is not a valid mail address ({problem}); write it as number@fax-domain, e.g. 01223123456@fax.example.ac.uk"
    )]
    Malformed {
        /// The address as received.
        address: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// The domain is not one of the configured fax domains.
    #[error(
        "{domain} is not a fax domain here; faxes are sent by writing the number at one of the fax domains, e.g. 01223123456@{example}"
    )]
    NotFaxDomain {
        /// The domain, as received.
        domain: String,
        /// The first configured fax domain, to show the right form.
        example: String,
    },
    /// The local part is a name, not a number.
    #[error(
        "{local:?} is not a fax number; write the number before the @, e.g. 01223123456@{domain}"
    )]
    NotANumber {
        /// The local part as received.
        local: String,
        /// The fax domain used.
        domain: String,
    },
    /// The number contains a character that has no place in a phone number.
    #[error(
        "the number {number:?} contains {found:?}; use only digits, a leading +, and spaces, dots, dashes or brackets between digit groups"
    )]
    BadCharacter {
        /// The number as written.
        number: String,
        /// The offending character.
        found: char,
    },
    /// An option after `^` is not one faxbridge knows.
    #[error("unknown fax option {option:?} in {address:?}; valid options are {valid}")]
    UnknownOption {
        /// The option as written (empty for `^^`).
        option: String,
        /// The whole address, for context.
        address: String,
        /// The valid options, e.g. `^fine, ^standard, ^cover, ^nocover`.
        valid: ValidOptions,
    },
    /// Two options contradict each other, e.g. `^fine^standard`.
    #[error("the fax options ^{first} and ^{second} contradict each other; keep only one")]
    ConflictingOptions {
        /// The option written first.
        first: String,
        /// The option that contradicts it.
        second: String,
    },
}

/// The list of valid options, displayed as `^fine, ^standard, ^cover, ^nocover`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ValidOptions;

impl fmt::Display for ValidOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, o) in VALID_OPTIONS.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "^{o}")?;
        }
        Ok(())
    }
}

impl AddressError {
    /// The RFC 5321 reply code for `RCPT TO`.
    ///
    /// 550 when the mailbox does not exist here (not a fax domain, not a
    /// number); 553 when the mailbox name is not allowed because of its syntax.
    pub fn code(&self) -> u16 {
        match self {
            AddressError::NotFaxDomain { .. } | AddressError::NotANumber { .. } => 550,
            _ => 553,
        }
    }

    /// The RFC 3463 enhanced status code: `5.1.1` bad destination mailbox,
    /// `5.1.3` bad destination mailbox address syntax.
    pub fn enhanced(&self) -> &'static str {
        match self {
            AddressError::NotFaxDomain { .. } | AddressError::NotANumber { .. } => "5.1.1",
            _ => "5.1.3",
        }
    }

    /// The refusal for the SMTP reply and the report.
    pub fn refusal(&self) -> Refusal {
        Refusal::new(self.code(), self.enhanced(), self.to_string(), "")
    }
}

/// RFC 5321 §4.5.3.1.1: a local part is at most 64 octets.
const MAX_LOCAL_PART: usize = 64;

/// Parse one recipient (`RCPT TO` path or a header address) for the given fax domains.
///
/// Accepts `local@domain`, `<local@domain>`, `Display Name <local@domain>`
/// and RFC 5321 source routes (`<@relay:local@domain>`, whose route is
/// ignored as Appendix C requires). The local part may be quoted.
///
/// RFC 5321 §4.5.1 requires `postmaster` to be accepted at every domain the
/// server answers for; the SMTP listener handles it before calling this,
/// which would refuse it as [`AddressError::NotANumber`].
pub fn parse_recipient(input: &str, fax_domains: &[String]) -> Result<FaxAddress, AddressError> {
    let malformed = |problem| AddressError::Malformed {
        address: input.to_string(),
        problem,
    };
    let addr = strip_brackets(input.trim()).ok_or_else(|| malformed("unbalanced < >"))?;
    let at = last_unquoted_at(addr).ok_or_else(|| malformed("no @"))?;
    let (local_raw, domain_raw) = (&addr[..at], &addr[at + 1..]);
    if local_raw.is_empty() {
        return Err(malformed("nothing before the @"));
    }
    let domain = domain_raw.trim_end_matches('.').to_ascii_lowercase();
    if domain.is_empty() {
        return Err(malformed("nothing after the @"));
    }
    if !fax_domains
        .iter()
        .any(|d| d.trim_end_matches('.').eq_ignore_ascii_case(&domain))
    {
        return Err(AddressError::NotFaxDomain {
            domain: domain_raw.to_string(),
            example: fax_domains
                .first()
                .cloned()
                .unwrap_or_else(|| "fax.example.ac.uk".to_string()),
        });
    }
    if local_raw.len() > MAX_LOCAL_PART {
        return Err(malformed(
            "the part before the @ is longer than 64 characters",
        ));
    }
    let local = unquote(local_raw).map_err(malformed)?;

    let mut pieces = local.split('^');
    let number = pieces.next().unwrap_or_default().trim().to_string();
    check_number(&number, &local, &domain)?;

    let mut options = FaxOptions::default();
    let mut seen: Vec<String> = Vec::new();
    for raw in pieces {
        let option = raw.trim().to_ascii_lowercase();
        let (resolution, cover) = match option.as_str() {
            "fine" => (Some(Resolution::Fine), None),
            "standard" => (Some(Resolution::Standard), None),
            "cover" => (None, Some(true)),
            "nocover" => (None, Some(false)),
            _ => {
                return Err(AddressError::UnknownOption {
                    option: raw.to_string(),
                    address: input.trim().to_string(),
                    valid: ValidOptions,
                });
            }
        };
        if let Some(r) = resolution {
            if options.resolution.is_some_and(|prev| prev != r) {
                return Err(conflict(&seen, &option, &["fine", "standard"]));
            }
            options.resolution = Some(r);
        }
        if let Some(c) = cover {
            if options.cover.is_some_and(|prev| prev != c) {
                return Err(conflict(&seen, &option, &["cover", "nocover"]));
            }
            options.cover = Some(c);
        }
        seen.push(option);
    }
    Ok(FaxAddress {
        number,
        options,
        domain,
    })
}

fn conflict(seen: &[String], option: &str, group: &[&str]) -> AddressError {
    let first = seen
        .iter()
        .find(|s| group.contains(&s.as_str()) && s.as_str() != option)
        .cloned()
        .unwrap_or_default();
    AddressError::ConflictingOptions {
        first,
        second: option.to_string(),
    }
}

/// Characters allowed between digit groups.
fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '.' | '-' | '(' | ')' | '/')
}

fn check_number(number: &str, local: &str, domain: &str) -> Result<(), AddressError> {
    let not_a_number = || AddressError::NotANumber {
        local: local.to_string(),
        domain: domain.to_string(),
    };
    if !number.bytes().any(|b| b.is_ascii_digit()) {
        return Err(not_a_number());
    }
    for (i, c) in number.char_indices() {
        let ok = c.is_ascii_digit() || is_separator(c) || (c == '+' && i == 0);
        if !ok {
            // A name with a digit in it ("room101", "j.smith2") is a name, not a number.
            if c.is_alphabetic() {
                return Err(not_a_number());
            }
            return Err(AddressError::BadCharacter {
                number: number.to_string(),
                found: c,
            });
        }
    }
    Ok(())
}

/// Remove `Name <…>` or `<…>` and any RFC 5321 source route; `None` if `<` and `>` do not pair.
fn strip_brackets(s: &str) -> Option<&str> {
    if !s.ends_with('>') {
        return if first_unquoted(s, '<').is_some() || first_unquoted(s, '>').is_some() {
            None
        } else {
            Some(s)
        };
    }
    let open = first_unquoted(s, '<')?;
    let inner = s[open + 1..s.len() - 1].trim();
    // Source route "<@a,@b:local@domain>" (RFC 5321 §4.1.2 A-d-l; ignored per Appendix C).
    if inner.starts_with('@')
        && let Some(colon) = first_unquoted(inner, ':')
    {
        return Some(&inner[colon + 1..]);
    }
    Some(inner)
}

/// Byte offset of the first `target` outside a quoted string.
fn first_unquoted(s: &str, target: char) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if !quoted && c == target {
            return Some(i);
        }
    }
    None
}

/// Byte offset of the last `@` outside a quoted string.
fn last_unquoted_at(s: &str) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    let mut last = None;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if !quoted && c == '@' {
            last = Some(i);
        }
    }
    if quoted { None } else { last }
}

/// Undo RFC 5321 quoting of a local part: `"a b"` → `a b`, `\"` → `"`.
/// An unquoted local part is returned as it is. The error says what is wrong.
fn unquote(local: &str) -> Result<String, &'static str> {
    if !local.starts_with('"') {
        return if local.contains('"') {
            Err("quotes must enclose everything before the @")
        } else {
            Ok(local.to_string())
        };
    }
    if local.len() < 2 || !local.ends_with('"') {
        return Err(
            "quotes must enclose everything before the @; put options inside them, e.g. \"01223 123456^fine\"@fax-domain",
        );
    }
    let body = &local[1..local.len() - 1];
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(
                chars
                    .next()
                    .ok_or("the quoted part ends with a lone backslash")?,
            ),
            '"' => return Err("quotes must enclose everything before the @"),
            c => out.push(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domains() -> Vec<String> {
        vec![
            "fax.example.ac.uk".to_string(),
            "Fax.Dept.Example.ac.uk".to_string(),
        ]
    }

    fn parse(s: &str) -> Result<FaxAddress, AddressError> {
        parse_recipient(s, &domains())
    }

    fn number(s: &str) -> String {
        parse(s).unwrap().number
    }

    #[test]
    fn a_plain_national_number_has_no_options() {
        let a = parse("01223123456@fax.example.ac.uk").unwrap();
        assert_eq!(a.number, "01223123456");
        assert_eq!(a.options, FaxOptions::default());
        assert_eq!(a.domain, "fax.example.ac.uk");
    }

    #[test]
    fn angle_brackets_display_names_and_source_routes_are_removed() {
        assert_eq!(number("<01223123456@fax.example.ac.uk>"), "01223123456");
        assert_eq!(
            number("Accounts <01223123456@fax.example.ac.uk>"),
            "01223123456"
        );
        assert_eq!(
            number("\"Smith, J <x>\" <01223123456@fax.example.ac.uk>"),
            "01223123456"
        );
        assert_eq!(
            number("<@relay.example.ac.uk:01223123456@fax.example.ac.uk>"),
            "01223123456"
        );
        assert_eq!(number("  01223123456@fax.example.ac.uk  "), "01223123456");
    }

    #[test]
    fn domain_matches_case_insensitively_and_ignores_a_trailing_dot() {
        assert_eq!(
            parse("1@FAX.Example.AC.UK").unwrap().domain,
            "fax.example.ac.uk"
        );
        assert_eq!(
            parse("1@fax.example.ac.uk.").unwrap().domain,
            "fax.example.ac.uk"
        );
        assert_eq!(
            parse("1@fax.dept.example.ac.uk").unwrap().domain,
            "fax.dept.example.ac.uk"
        );
    }

    #[test]
    fn subdomains_and_parent_domains_are_not_fax_domains() {
        for addr in [
            "01223123456@mail.fax.example.ac.uk",
            "01223123456@example.ac.uk",
            "01223123456@fax.example.ac.uk.evil.example",
            "01223123456@[192.0.2.1]",
        ] {
            let err = parse(addr).unwrap_err();
            assert!(
                matches!(err, AddressError::NotFaxDomain { .. }),
                "{addr}: {err:?}"
            );
            assert_eq!((err.code(), err.enhanced()), (550, "5.1.1"));
            assert!(
                err.to_string().contains("01223123456@fax.example.ac.uk"),
                "{err}"
            );
        }
    }

    #[test]
    fn international_and_separated_forms_are_kept_as_written() {
        assert_eq!(number("+441223123456@fax.example.ac.uk"), "+441223123456");
        assert_eq!(
            number("+44-1223-123456@fax.example.ac.uk"),
            "+44-1223-123456"
        );
        assert_eq!(number("01223.123456@fax.example.ac.uk"), "01223.123456");
        assert_eq!(
            number("0044-1223-123456@fax.example.ac.uk"),
            "0044-1223-123456"
        );
    }

    #[test]
    fn quoted_local_parts_may_hold_spaces_and_brackets() {
        assert_eq!(
            number("\"+44 (0)1223 123456\"@fax.example.ac.uk"),
            "+44 (0)1223 123456"
        );
        assert_eq!(
            number("\"01223 123456^fine\"@fax.example.ac.uk"),
            "01223 123456"
        );
        assert_eq!(
            number("\"0\\1223 123456\"@fax.example.ac.uk"),
            "01223 123456"
        );
        // An @ inside quotes is part of the local part; the last unquoted @ splits.
        let err = parse("\"0122@3\"@fax.example.ac.uk").unwrap_err();
        assert_eq!(
            err,
            AddressError::BadCharacter {
                number: "0122@3".into(),
                found: '@'
            }
        );
    }

    #[test]
    fn options_follow_the_number_in_any_case_and_order() {
        let a = parse("01223123456^fine^nocover@fax.example.ac.uk").unwrap();
        assert_eq!(a.number, "01223123456");
        assert_eq!(a.options.resolution, Some(Resolution::Fine));
        assert_eq!(a.options.cover, Some(false));
        let b = parse("01223123456^NoCover^STANDARD@fax.example.ac.uk").unwrap();
        assert_eq!(b.options.resolution, Some(Resolution::Standard));
        assert_eq!(b.options.cover, Some(false));
        let c = parse("01223123456^cover@fax.example.ac.uk").unwrap();
        assert_eq!(
            c.options,
            FaxOptions {
                resolution: None,
                cover: Some(true)
            }
        );
        // Repeating an option is harmless.
        let d = parse("01223123456^fine^fine@fax.example.ac.uk").unwrap();
        assert_eq!(d.options.resolution, Some(Resolution::Fine));
    }

    #[test]
    fn unknown_options_are_named_with_the_valid_list() {
        let err = parse("01223123456^superfine@fax.example.ac.uk").unwrap_err();
        assert!(
            matches!(&err, AddressError::UnknownOption { option, .. } if option == "superfine")
        );
        let text = err.to_string();
        assert!(text.contains("\"superfine\""), "{text}");
        assert!(
            text.contains("^fine, ^standard, ^cover, ^nocover"),
            "{text}"
        );
        assert_eq!((err.code(), err.enhanced()), (553, "5.1.3"));

        let empty = parse("01223123456^^fine@fax.example.ac.uk").unwrap_err();
        assert!(matches!(&empty, AddressError::UnknownOption { option, .. } if option.is_empty()));
        let trailing = parse("01223123456^@fax.example.ac.uk").unwrap_err();
        assert!(matches!(trailing, AddressError::UnknownOption { .. }));
    }

    #[test]
    fn contradicting_options_are_refused() {
        let err = parse("01223123456^fine^standard@fax.example.ac.uk").unwrap_err();
        assert_eq!(
            err,
            AddressError::ConflictingOptions {
                first: "fine".into(),
                second: "standard".into()
            }
        );
        let err = parse("01223123456^nocover^fine^cover@fax.example.ac.uk").unwrap_err();
        assert_eq!(
            err,
            AddressError::ConflictingOptions {
                first: "nocover".into(),
                second: "cover".into()
            }
        );
        assert!(err.to_string().contains("keep only one"));
    }

    #[test]
    fn names_are_not_numbers() {
        for local in ["john.smith", "room101", "postmaster", "j.smith2"] {
            let err = parse(&format!("{local}@fax.example.ac.uk")).unwrap_err();
            assert!(
                matches!(err, AddressError::NotANumber { .. }),
                "{local}: {err:?}"
            );
            assert_eq!((err.code(), err.enhanced()), (550, "5.1.1"));
        }
    }

    #[test]
    fn stray_characters_in_numbers_are_named() {
        let err = parse("01223#123456@fax.example.ac.uk").unwrap_err();
        assert_eq!(
            err,
            AddressError::BadCharacter {
                number: "01223#123456".into(),
                found: '#'
            }
        );
        assert_eq!((err.code(), err.enhanced()), (553, "5.1.3"));
        // + is only meaningful at the start.
        let err = parse("0044+1223@fax.example.ac.uk").unwrap_err();
        assert!(matches!(err, AddressError::BadCharacter { found: '+', .. }));
    }

    #[test]
    fn malformed_addresses_say_what_is_wrong() {
        for (input, problem) in [
            ("", "no @"),
            ("01223123456", "no @"),
            ("@fax.example.ac.uk", "nothing before the @"),
            ("01223123456@", "nothing after the @"),
            ("<01223123456@fax.example.ac.uk", "unbalanced < >"),
            ("\"0122@fax.example.ac.uk", "no @"),
            (
                "01\"22\"@fax.example.ac.uk",
                "quotes must enclose everything before the @",
            ),
            (
                "\"01223 123456\"^fine@fax.example.ac.uk",
                "quotes must enclose everything before the @; put options inside them, e.g. \"01223 123456^fine\"@fax-domain",
            ),
        ] {
            match parse(input) {
                Err(AddressError::Malformed { problem: p, .. }) => {
                    assert_eq!(p, problem, "{input}")
                }
                other => panic!("{input}: {other:?}"),
            }
        }
        let long = format!("{}@fax.example.ac.uk", "1".repeat(65));
        assert!(matches!(parse(&long), Err(AddressError::Malformed { .. })));
        assert!(parse(&format!("{}@fax.example.ac.uk", "1".repeat(64))).is_ok());
    }

    #[test]
    fn refusal_carries_the_smtp_codes_and_text() {
        let r = parse("x@elsewhere.example").unwrap_err().refusal();
        assert_eq!((r.code, r.enhanced), (550, "5.1.1"));
        assert!(
            r.smtp_line()
                .starts_with("550 5.1.1 elsewhere.example is not a fax domain")
        );
    }

    #[test]
    fn plausible_domains_for_configuration() {}
}
