//! Payment card number (PAN) guard for outgoing faxes.
//!
//! A fax leaves the site over a SIP trunk and the public telephone network,
//! and its pages sit in the spool meanwhile: PCI DSS v4.0 requirement 4.2.1
//! forbids sending a primary account number over open, public networks
//! without strong cryptography, and 3.5.1 requires it unreadable wherever it is
//! stored. So intake refuses a message whose text holds a card number, unless
//! the sender is listed (see [`check_pan`](super::check_pan)).
//!
//! What counts as a card number here, chosen to catch what people type while
//! keeping phone numbers, ISBNs and invoice numbers out:
//!
//! - 14 to 19 digits (ISO/IEC 7812-1), passing the Luhn check (ISO/IEC 7812-1 Annex B);
//! - within a known issuer range, at a length that issuer uses ([`Issuer`]);
//! - written as one run of digits, or in the groups people and card faces use,
//!   separated by single spaces, dashes or no-break spaces: `4-4-4-4`,
//!   `4-4-4-4-3` and other runs of fours ending in 1–4 digits, and the
//!   American Express / Diners `4-6-5` and `4-6-4`;
//! - not part of a longer number: a run of more than 19 digits is skipped, a
//!   run glued to letters (`INV4111…`, `A1B2…` hashes) or tied to a word by a
//!   dash or slash (`INV-4111…`, `REF/4111…`) is part of an identifier. When a
//!   grouped number continues with more groups (`4111 1111 1111 1111 123`, a
//!   card followed by its security code), the groups at its start and at its
//!   end are still tried, so such a card is found; groups in the middle of a
//!   long chain are not, which keeps tables of numbers from raising alarms.
//!
//! A card number split across a line break is not found.
//!
//! What is read: the subject, the message text, plain-text attachments and
//! the text shown in PDF attachments (their fonts' glyphs mapped back to
//! characters, [`crate::docs::pdf_text`]), within the document's render time
//! limit. What is **not** read: images (PNG, JPEG, GIF, TIFF attachments,
//! scanned pages inside PDFs, text a PDF draws as outlines). Finding a
//! number there needs optical character recognition, which faxbridge does
//! not have; such a card number is faxed. Senders must be told that the
//! guard is a safety net for typed text, not a control that covers
//! photographs or scans of cards.
//!
//! Findings never hold the number: only the issuer, the length, the position
//! and the last four digits (PCI DSS 3.4.1 allows showing at most the last
//! four). The scan is one pass over the bytes with bounded work per digit
//! group, so it is linear in the text size.

use std::fmt;

/// The card schemes recognised, by their IIN ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Issuer {
    /// Visa: 4, 16–19 digits.
    Visa,
    /// Mastercard: 51–55 and 2221–2720, 16 digits.
    Mastercard,
    /// American Express: 34 and 37, 15 digits.
    Amex,
    /// Discover: 6011, 644–649, 65, 16–19 digits.
    Discover,
    /// Diners Club: 300–305, 36, 38, 14–19 digits.
    Diners,
    /// JCB: 3528–3589, 16–19 digits.
    Jcb,
    /// UnionPay: 62, 16–19 digits.
    UnionPay,
    /// Maestro (including the UK 6759/6767 ranges): 50, 56–69 not claimed above, 14–19 digits.
    Maestro,
}

impl fmt::Display for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Issuer::Visa => "Visa",
            Issuer::Mastercard => "Mastercard",
            Issuer::Amex => "American Express",
            Issuer::Discover => "Discover",
            Issuer::Diners => "Diners Club",
            Issuer::Jcb => "JCB",
            Issuer::UnionPay => "UnionPay",
            Issuer::Maestro => "Maestro",
        })
    }
}

/// Where a card number was found, without the number itself.
#[derive(Clone, PartialEq, Eq)]
pub struct PanFinding {
    /// The scheme whose range the number falls in.
    pub issuer: Issuer,
    /// How many digits the number has.
    pub digits: u8,
    /// Byte offset of its first digit in the scanned text.
    pub offset: usize,
    /// Line number (1-based) where it starts.
    pub line: usize,
    /// The last four digits (ASCII), the most PCI DSS allows to be shown.
    last4: [u8; 4],
}

impl PanFinding {
    /// The number masked as `**** 1234`.
    pub fn masked(&self) -> String {
        let last4 = std::str::from_utf8(&self.last4).unwrap_or("????");
        format!("**** {last4}")
    }
}

impl fmt::Debug for PanFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PanFinding")
            .field("issuer", &self.issuer)
            .field("digits", &self.digits)
            .field("offset", &self.offset)
            .field("line", &self.line)
            .field("masked", &self.masked())
            .finish()
    }
}

impl fmt::Display for PanFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}: {} card number ({} digits, ending {})",
            self.line,
            self.issuer,
            self.digits,
            self.masked()
        )
    }
}

/// Longest PAN (ISO/IEC 7812-1).
const MAX_PAN: usize = 19;
/// Shortest PAN looked for.
const MIN_PAN: usize = 14;

/// Find the card numbers in `text`.
pub fn scan(text: &str) -> Vec<PanFinding> {
    let bytes = text.as_bytes();
    let mut findings = Vec::new();
    let mut groups: Vec<(usize, usize)> = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'\n' {
            line += 1;
            i += 1;
            continue;
        }
        if !b.is_ascii_digit() {
            i += 1;
            continue;
        }
        // A chain of digit groups joined by single separators.
        groups.clear();
        let start = i;
        let mut j = i;
        loop {
            let run_start = j;
            while j < bytes.len() && bytes[j].is_ascii_digit() {
                j += 1;
            }
            groups.push((run_start, j - run_start));
            let sep = separator_len(bytes, j);
            if sep > 0 && bytes.get(j + sep).is_some_and(u8::is_ascii_digit) {
                j += sep;
            } else {
                break;
            }
        }
        let end = j;
        let glued_left = glued_before(bytes, start);
        let glued_right = glued_after(bytes, end);
        let first = usize::from(glued_left);
        let last = groups.len() - usize::from(glued_right);
        if first < last {
            check_chain(bytes, &groups[first..last], line, &mut findings);
        }
        i = end;
    }
    findings
}

/// Bytes of a separator at `at`: space, dash (1) or UTF-8 no-break space (2); 0 if none.
fn separator_len(bytes: &[u8], at: usize) -> usize {
    match bytes.get(at) {
        Some(b' ' | b'-') => 1,
        Some(0xC2) if bytes.get(at + 1) == Some(&0xA0) => 2,
        _ => 0,
    }
}

/// True when the chain starting at `start` continues a word: a letter right
/// before it, or a dash, slash or underscore that itself follows a letter or digit.
fn glued_before(bytes: &[u8], start: usize) -> bool {
    let Some(&prev) = start.checked_sub(1).and_then(|p| bytes.get(p)) else {
        return false;
    };
    if prev.is_ascii_alphabetic() {
        return true;
    }
    matches!(prev, b'-' | b'/' | b'_')
        && start
            .checked_sub(2)
            .and_then(|p| bytes.get(p))
            .is_some_and(u8::is_ascii_alphanumeric)
}

/// True when the chain ending at `end` runs on into a word or a decimal part.
fn glued_after(bytes: &[u8], end: usize) -> bool {
    match bytes.get(end) {
        Some(b) if b.is_ascii_alphabetic() => true,
        Some(b'.' | b',' | b'/' | b'_') => {
            bytes.get(end + 1).is_some_and(u8::is_ascii_alphanumeric)
        }
        _ => false,
    }
}

/// Try the whole chain, then windows anchored at its start, then at its end.
///
/// Only windows of at most 19 digits are built, so the work per chain is
/// bounded by its length plus a constant.
fn check_chain(bytes: &[u8], groups: &[(usize, usize)], line: usize, out: &mut Vec<PanFinding>) {
    let n = groups.len();
    if let Some(f) = check_window(bytes, groups, line) {
        out.push(f);
        return;
    }
    // Prefix windows groups[..b], b < n, longest first.
    let mut longest_prefix = 0;
    let mut sum = 0;
    for (k, &(_, len)) in groups.iter().enumerate().take(n.saturating_sub(1)) {
        sum += len;
        if sum > MAX_PAN {
            break;
        }
        longest_prefix = k + 1;
    }
    let mut covered = 0;
    for b in (1..=longest_prefix).rev() {
        if let Some(f) = check_window(bytes, &groups[..b], line) {
            out.push(f);
            covered = b;
            break;
        }
    }
    // Suffix windows groups[a..], a > 0, not overlapping a prefix finding, longest first.
    let mut longest_suffix = n;
    let mut sum = 0;
    for k in (1..n).rev() {
        sum += groups[k].1;
        if sum > MAX_PAN {
            break;
        }
        longest_suffix = k;
    }
    for a in longest_suffix.max(covered)..n {
        if let Some(f) = check_window(bytes, &groups[a..], line) {
            out.push(f);
            break;
        }
    }
}

/// Check one window of whole groups: layout, issuer range and Luhn.
fn check_window(bytes: &[u8], window: &[(usize, usize)], line: usize) -> Option<PanFinding> {
    let total: usize = window.iter().map(|&(_, len)| len).sum();
    if !(MIN_PAN..=MAX_PAN).contains(&total) || !is_card_layout(window) {
        return None;
    }
    let mut digits = [0u8; MAX_PAN];
    let mut k = 0;
    for &(s, len) in window {
        for &d in &bytes[s..s + len] {
            digits[k] = d - b'0';
            k += 1;
        }
    }
    let pan = &digits[..total];
    let found = issuer(pan).filter(|_| luhn_valid(pan)).map(|issuer| {
        let mut last4 = [0u8; 4];
        for (dst, &d) in last4.iter_mut().zip(&pan[total - 4..]) {
            *dst = d + b'0';
        }
        PanFinding {
            issuer,
            digits: total as u8,
            offset: window[0].0,
            line,
            last4,
        }
    });
    // Do not leave the digits on the stack longer than needed.
    digits.fill(0);
    found
}

/// The groupings card numbers are written in.
fn is_card_layout(window: &[(usize, usize)]) -> bool {
    let lens: Vec<usize> = window.iter().map(|&(_, l)| l).collect();
    match lens.as_slice() {
        [_] => true,
        [4, 6, 5] | [4, 6, 4] => true,
        [init @ .., last] => init.iter().all(|&l| l == 4) && (1..=4).contains(last),
        [] => false,
    }
}

/// The issuer whose range and lengths admit `pan` (digits 0–9).
fn issuer(pan: &[u8]) -> Option<Issuer> {
    let len = pan.len();
    let prefix = |n: usize| {
        pan[..n]
            .iter()
            .fold(0u32, |acc, &d| acc * 10 + u32::from(d))
    };
    let (p2, p3, p4) = (prefix(2), prefix(3), prefix(4));
    let long = (16..=19).contains(&len);
    let any = (MIN_PAN..=MAX_PAN).contains(&len);
    let issuer = match pan[0] {
        4 if long => Issuer::Visa,
        3 if (p2 == 34 || p2 == 37) && len == 15 => Issuer::Amex,
        3 if (3528..=3589).contains(&p4) && long => Issuer::Jcb,
        3 if ((300..=305).contains(&p3) || p2 == 36 || p2 == 38) && any => Issuer::Diners,
        5 if (51..=55).contains(&p2) && len == 16 => Issuer::Mastercard,
        2 if (2221..=2720).contains(&p4) && len == 16 => Issuer::Mastercard,
        6 if (p4 == 6011 || (644..=649).contains(&p3) || p2 == 65) && long => Issuer::Discover,
        6 if p2 == 62 && long => Issuer::UnionPay,
        5 | 6 if (p2 == 50 || (56..=69).contains(&p2)) && any => Issuer::Maestro,
        _ => return None,
    };
    Some(issuer)
}

/// The Luhn check (ISO/IEC 7812-1 Annex B): double every second digit from the right.
fn luhn_valid(pan: &[u8]) -> bool {
    let sum: u32 = pan
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> PanFinding {
        let f = scan(text);
        assert_eq!(f.len(), 1, "{text:?}: {f:?}");
        f.into_iter().next().unwrap()
    }

    fn none(text: &str) {
        assert_eq!(scan(text), vec![], "{text:?}");
    }

    #[test]
    fn the_well_known_test_numbers_are_found_with_their_issuer() {
        for (pan, issuer, digits) in [
            ("4111111111111111", Issuer::Visa, 16),
            ("4012888888881881", Issuer::Visa, 16),
            ("4000056655665556", Issuer::Visa, 16),
            ("5555555555554444", Issuer::Mastercard, 16),
            ("5200828282828210", Issuer::Mastercard, 16),
            ("2223003122003222", Issuer::Mastercard, 16),
            ("378282246310005", Issuer::Amex, 15),
            ("6011111111111117", Issuer::Discover, 16),
            ("6011000990139424", Issuer::Discover, 16),
            ("30569309025904", Issuer::Diners, 14),
            ("36227206271667", Issuer::Diners, 14),
            ("3530111333300000", Issuer::Jcb, 16),
            ("6200000000000005", Issuer::UnionPay, 16),
            ("6759649826438453", Issuer::Maestro, 16),
            ("5018000000000000007", Issuer::Maestro, 19),
            ("4111000000000000001", Issuer::Visa, 19),
        ] {
            let f = one(&format!("Please charge card {pan} today."));
            assert_eq!((f.issuer, f.digits), (issuer, digits), "{pan}");
            assert_eq!(f.offset, 19);
            assert_eq!(f.masked(), format!("**** {}", &pan[pan.len() - 4..]));
        }
    }

    #[test]
    fn numbers_are_found_as_people_group_them() {
        for text in [
            "4111 1111 1111 1111",
            "4111-1111-1111-1111",
            "4111\u{a0}1111\u{a0}1111\u{a0}1111",
            "4111 1111-1111 1111",
            "5555 5555 5555 4444",
            "3782 822463 10005",
            "3056 930902 5904",
            "5018 0000 0000 0000 007",
        ] {
            let f = one(&format!("card: {text}\n"));
            assert_eq!(f.offset, 6, "{text}");
        }
    }

    #[test]
    fn the_report_gives_line_issuer_length_and_last_four_only() {
        let text = "Dear team,\n\nplease use 4111 1111 1111 1111 exp 12/27.\n";
        let f = one(text);
        assert_eq!(f.line, 3);
        assert_eq!(f.offset, text.find("4111").unwrap());
        let shown = format!("{f} {f:?}");
        assert_eq!(
            f.to_string(),
            "line 3: Visa card number (16 digits, ending **** 1111)"
        );
        assert!(!shown.contains("4111"), "{shown}");
        assert!(!shown.contains("1111 1111"), "{shown}");
    }

    #[test]
    fn luhn_invalid_numbers_are_ignored() {
        none("4111 1111 1111 1112");
        none("5555555555554445");
        none("378282246310006");
    }

    #[test]
    fn luhn_valid_numbers_outside_issuer_ranges_are_ignored() {
        none("7000000000000005"); // 7: petroleum, not a payment card
        none("1234000000000006");
        none("9000000000000001");
        none(""); // empty text
        none("2721000000000004"); // just past the Mastercard 2-series
    }

    #[test]
    fn issuer_lengths_are_respected() {
        none("400000000000006"); // 15-digit "Visa"
        none("3400000000000000"); // 16-digit "Amex"
        none("510000000000003"); // 15-digit "Mastercard"
        assert_eq!(one("2720000000000005").issuer, Issuer::Mastercard);
        assert_eq!(one("30000000000004").issuer, Issuer::Diners);
        assert_eq!(one("38000000000006").issuer, Issuer::Diners);
        none("30600000000001"); // 306 is not Diners
        assert_eq!(one("6300000000000004").issuer, Issuer::Maestro);
    }

    #[test]
    fn phone_numbers_isbns_and_dates_are_not_cards() {
        none("Tel +44 1223 123456, fax 01223 654321, mobile 07700 900123");
        none("Freephone 0800 123 4567 or 0044 1223 123 456");
        none("ISBN 978-0-306-40615-7, ISBN-10 0-306-40615-2, 9780306406157");
        none("Meeting 2024-11-25 10:30, ref 2024 11 25 1030");
        none("Sort code 12-34-56, account 12345678");
    }

    #[test]
    fn digit_runs_inside_longer_numbers_are_ignored() {
        none("Tracking 41111111111111111111 (20 digits)");
        none("order 0004111111111111111");
        none("INV4111111111111111");
        none("INV-4111111111111111");
        none("REF/4111111111111111");
        none("4111111111111111INV");
        none("hash 9f4111111111111111a0");
        none("amount 4111111111111111.50");
        // Grouped chains whose anchored ends are not cards stay quiet.
        none("1234 4111 1111 1111 1111 5678 4321");
    }

    #[test]
    fn a_card_followed_or_preceded_by_other_groups_is_still_found() {
        // Card then its security code.
        let f = one("4111 1111 1111 1111 123");
        assert_eq!((f.digits, f.offset), (16, 0));
        // Card then expiry written with spaces.
        assert_eq!(one("4111 1111 1111 1111 12 27").digits, 16);
        // A label number before the card.
        let f = one("No 17 5555 5555 5555 4444");
        assert_eq!((f.issuer, f.offset), (Issuer::Mastercard, 6));
        // Two cards written one after the other.
        let both = scan("4111 1111 1111 1111 5555 5555 5555 4444");
        assert_eq!(both.len(), 2);
        assert_eq!(
            (both[0].issuer, both[1].issuer),
            (Issuer::Visa, Issuer::Mastercard)
        );
        assert_eq!(both[1].offset, 20);
    }

    #[test]
    fn odd_groupings_are_not_cards() {
        none("41 11 11 11 11 11 11 11"); // pairs
        none("41111 11111 11111 1"); // fives
        none("4111  1111  1111  1111"); // double spaces break the chain
    }

    #[test]
    fn several_findings_in_order_with_lines() {
        let text = "a 4111111111111111\nb\nc 378282246310005 and 6011-1111-1111-1117\n";
        let f = scan(text);
        let summary: Vec<(Issuer, usize)> = f.iter().map(|f| (f.issuer, f.line)).collect();
        assert_eq!(
            summary,
            [(Issuer::Visa, 1), (Issuer::Amex, 3), (Issuer::Discover, 3)]
        );
    }

    #[test]
    fn non_ascii_text_around_numbers_is_fine() {
        let f = one("Carte bancaire : 4111 1111 1111 1111 — merci «4» é");
        assert_eq!(f.issuer, Issuer::Visa);
    }

    #[test]
    fn scanning_is_linear_on_large_text() {
        // 4 MB of digit groups, spaces and prose: must finish quickly even in debug builds.
        let mut text = String::new();
        while text.len() < 4_000_000 {
            text.push_str("1234 5678 9012 3456 7890 1234 5678 ");
            text.push_str("call 01223 123456; invoice 2024-000123. ");
        }
        text.push_str("4111 1111 1111 1111");
        let started = std::time::Instant::now();
        let f = scan(&text);
        let elapsed = started.elapsed();
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(elapsed.as_secs_f64() < 2.0, "{elapsed:?}");

        // One enormous chain of 4-digit groups.
        let chain = "1234 ".repeat(500_000);
        let started = std::time::Instant::now();
        let _ = scan(&chain);
        assert!(started.elapsed().as_secs_f64() < 2.0);
    }

    #[test]
    fn luhn_reference_values() {
        let d = |s: &str| s.bytes().map(|b| b - b'0').collect::<Vec<u8>>();
        assert!(luhn_valid(&d("79927398713")));
        assert!(!luhn_valid(&d("79927398710")));
        assert!(luhn_valid(&d("0")));
    }
}
