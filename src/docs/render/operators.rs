//! Counting the operators of a PDF content stream as it is decoded.
//!
//! A content stream (ISO 32000-1 §7.8.2) is a sequence of operands and
//! operators; every operator costs the renderer work and often memory (a
//! path of a hundred million `l` segments is held whole until it is
//! painted). The counter reads the decoded bytes in pieces, never holding
//! the stream, and gives an upper bound of the operators a reader
//! executes:
//!
//! * A token is a maximal run of regular characters (anything but white
//!   space and the delimiters `()<>[]{}/%`, §7.2.2). A reader executes at
//!   most one operator per such run: an operator is read as a whole run,
//!   and a number or keyword glued in front of it (`12abc`) leaves one
//!   operator at most.
//! * A run preceded by `/` is a name, and a run made only of `0-9 + - .`
//!   is a number: never an operator.
//! * Everything else counts, even inside strings, comments and inline
//!   image data, where a reader executes nothing. That over-counts text
//!   and small inline images by a few percent of their size, and it means
//!   no trick of string or image syntax can hide operators from the count.
//!
//! Form XObjects multiply: `/Fm1 Do` runs the whole of `Fm1`'s content
//! each time. The counter notes the names each `Do` may invoke
//! ([`OperatorCounter::invocations`]) so the caller can add the forms'
//! operators once per use (see [`super::preflight`]).

use std::collections::HashMap;

/// Longest name kept for `Do` lookups; a longer one is an unknown invocation.
const MAX_NAME: usize = 4096;
/// Distinct names kept; more make further invocations unknown.
const MAX_NAMES: usize = 10_000;
/// Names kept between two operators (the operands of one operator).
const MAX_OPERAND_NAMES: usize = 64;

/// The byte classes of ISO 32000-1 §7.2.2.
fn is_white(b: u8) -> bool {
    matches!(b, 0 | 9 | 10 | 12 | 13 | 32)
}

fn is_delimiter(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

fn is_number_char(b: u8) -> bool {
    matches!(b, b'0'..=b'9' | b'+' | b'-' | b'.')
}

/// A counter fed with decoded content-stream bytes.
#[derive(Debug, Default)]
pub(crate) struct OperatorCounter {
    operators: u64,
    /// Inside a run of regular characters.
    in_run: bool,
    /// The run follows a `/`: it is a name.
    name_run: bool,
    /// The run so far holds only number characters.
    numeric: bool,
    /// The run so far (its first bytes, enough to tell `Do`).
    head: [u8; 2],
    len: usize,
    /// The last byte was a `/`.
    slash: bool,
    /// The name being read (up to [`MAX_NAME`] bytes).
    name: Vec<u8>,
    /// Names read since the last operator.
    operand_names: Vec<Vec<u8>>,
    /// An operand name was too long or too many to keep.
    operand_unknown: bool,
    /// Uses of each name by `Do`.
    invocations: HashMap<Vec<u8>, u64>,
    /// `Do`s whose name could not be kept.
    unknown: u64,
}

impl OperatorCounter {
    /// A counter at the start of a stream.
    pub(crate) fn new() -> OperatorCounter {
        OperatorCounter::default()
    }

    /// Read the next piece of the stream.
    pub(crate) fn feed(&mut self, data: &[u8]) {
        for &b in data {
            if is_white(b) || is_delimiter(b) {
                if self.in_run {
                    self.end_run();
                }
                self.slash = b == b'/';
            } else if self.in_run {
                self.numeric &= is_number_char(b);
                if self.len < 2 {
                    self.head[self.len] = b;
                }
                self.len += 1;
                if self.name_run && self.name.len() < MAX_NAME + 1 {
                    self.name.push(b);
                }
            } else {
                self.in_run = true;
                self.name_run = self.slash;
                self.slash = false;
                self.numeric = is_number_char(b);
                self.head = [b, 0];
                self.len = 1;
                self.name.clear();
                if self.name_run {
                    self.name.push(b);
                }
            }
        }
    }

    /// The stream has ended (a token cannot continue into the next one:
    /// readers put white space between the streams of a page).
    pub(crate) fn end_stream(&mut self) {
        if self.in_run {
            self.end_run();
        }
        self.slash = false;
    }

    fn end_run(&mut self) {
        self.in_run = false;
        if self.name_run {
            if self.name.len() > MAX_NAME || self.operand_names.len() >= MAX_OPERAND_NAMES {
                self.operand_unknown = true;
            } else {
                self.operand_names.push(std::mem::take(&mut self.name));
            }
            return;
        }
        if self.numeric {
            return;
        }
        self.operators += 1;
        if self.len == 2 && self.head == *b"Do" {
            // Any name among the operands may be the one a reader takes.
            for name in self.operand_names.drain(..) {
                if let Some(n) = self.invocations.get_mut(&name) {
                    *n += 1;
                } else if self.invocations.len() < MAX_NAMES {
                    self.invocations.insert(name, 1);
                } else {
                    self.unknown += 1;
                }
            }
            if std::mem::take(&mut self.operand_unknown) {
                self.unknown += 1;
            }
        }
        self.operand_names.clear();
        self.operand_unknown = false;
    }

    /// Operators counted so far.
    pub(crate) fn operators(&self) -> u64 {
        self.operators
    }

    /// How many times `Do` was given each name (as written, `#xx` escapes
    /// not yet decoded).
    pub(crate) fn invocations(&self) -> &HashMap<Vec<u8>, u64> {
        &self.invocations
    }

    /// `Do`s whose operand name was too long or one of too many to keep:
    /// each may invoke any XObject.
    pub(crate) fn unknown_invocations(&self) -> u64 {
        self.unknown
    }
}

/// A name as written in a content stream with its `#xx` escapes decoded
/// (ISO 32000-1 §7.3.5), as resource dictionaries key it.
pub(crate) fn unescape_name(raw: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'#'
            && let (Some(h), Some(l)) = (
                raw.get(i + 1).copied().and_then(hex),
                raw.get(i + 2).copied().and_then(hex),
            )
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(raw[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(stream: &[u8]) -> OperatorCounter {
        let mut c = OperatorCounter::new();
        c.feed(stream);
        c.end_stream();
        c
    }

    /// The operators hayro's content parser executes in `stream`.
    fn hayro_count(stream: &[u8]) -> u64 {
        let mut it = hayro::hayro_syntax::content::UntypedIter::new(stream);
        let mut n = 0;
        while it.next().is_some() {
            n += 1;
        }
        n
    }

    #[test]
    fn operators_are_counted_and_operands_are_not() {
        let table: &[(&[u8], u64)] = &[
            (b"", 0),
            (b"0 0 m 10 10 l S", 3),
            (b"q 1 0 0 1 -2.5 +.5 cm Q", 3),
            // Words inside strings count: an upper bound, a few percent
            // more on pages of text.
            (b"/F1 12 Tf [(a) 120 (b)] TJ", 4),
            (b"BT/F1 12 Tf ET", 3),
            (b"<</MCID 3>> BDC EMC", 2),
            (b"0.5 g\n0 0 595 842 re\nf", 3),
            (b"h h h h", 4),
            // Keywords as operands are counted: an upper bound.
            (b"[true false] 0 d", 3),
            // A number glued to an operator: one operator.
            (b"12abc", 1),
            // Names are never operators, however they look.
            (b"/Do /q /Q", 0),
            (b"%comment\nn", 2),
        ];
        for (stream, want) in table {
            assert_eq!(
                count(stream).operators(),
                *want,
                "{:?}",
                String::from_utf8_lossy(stream)
            );
        }
    }

    #[test]
    fn pieces_split_anywhere_give_the_same_count() {
        let stream = b"q 1 0 0 1 0 0 cm /Im0 Do Q BT /F1 9 Tf (x) Tj ET 0 0 m 5 5 l h S";
        let whole = count(stream);
        for cut in 0..stream.len() {
            let mut c = OperatorCounter::new();
            c.feed(&stream[..cut]);
            c.feed(&stream[cut..]);
            c.end_stream();
            assert_eq!(c.operators(), whole.operators(), "cut at {cut}");
            assert_eq!(c.invocations(), whole.invocations(), "cut at {cut}");
        }
    }

    #[test]
    fn never_fewer_than_the_reader_executes() {
        // Strings, inline images, comments, hex strings and glued tokens:
        // the count may be higher than hayro's, never lower.
        let streams: &[&[u8]] = &[
            b"BT (Hello world, this is text) Tj ET",
            b"BI /W 2 /H 2 /BPC 8 /CS /G ID \x00\x01\x02\x03 EI Q q",
            b"BI /W 4 /H 1 /BPC 8 /CS /G ID abcd EI 0 0 m h",
            b"(unbalanced ( string) Tj n n n",
            b"<48656c6c6f> Tj % comment h h\n n",
            b"1.2.3 4abc --5 q",
            b"[/a /b] 0 d q Q",
            b"0 0 m 1 1 l 2 2 l 3 3 l h f",
        ];
        for s in streams {
            let ours = count(s).operators();
            let theirs = hayro_count(s);
            assert!(
                ours >= theirs,
                "{:?}: counted {ours}, hayro executes {theirs}",
                String::from_utf8_lossy(s)
            );
        }
        // On ordinary drawing operators the two agree exactly.
        let plain: Vec<u8> = (0..1000)
            .flat_map(|i| format!("{i} {i} m {i} 0 l S q 0.5 g Q\n").into_bytes())
            .collect();
        assert_eq!(count(&plain).operators(), hayro_count(&plain));
    }

    #[test]
    fn do_invocations_are_noted_by_name() {
        let c = count(b"/Fm1 Do /Fm1 Do q /Fm#232 Do Q /Im0 Do (/Fake) Tj");
        let inv = c.invocations();
        assert_eq!(inv.get(b"Fm1".as_slice()), Some(&2));
        assert_eq!(inv.get(b"Fm#232".as_slice()), Some(&1));
        assert_eq!(inv.get(b"Im0".as_slice()), Some(&1));
        assert_eq!(inv.get(b"Fake".as_slice()), None);
        assert_eq!(unescape_name(b"Fm#232"), b"Fm#2");
        assert_eq!(unescape_name(b"A#20B#zz"), b"A B#zz");
        // A name too long to keep makes its Do unknown.
        let mut long = b"/".to_vec();
        long.extend(std::iter::repeat_n(b'x', MAX_NAME + 10));
        long.extend_from_slice(b" Do");
        let c = count(&long);
        assert_eq!(c.unknown_invocations(), 1);
        assert!(c.invocations().is_empty());
    }

    #[test]
    fn ten_million_operators_are_counted_without_holding_them() {
        // 20 MB of "h " fed in 64 KiB pieces: nothing is kept per operator.
        let piece = b"h ".repeat(32 * 1024);
        let mut c = OperatorCounter::new();
        for _ in 0..305 {
            c.feed(&piece);
        }
        c.end_stream();
        assert_eq!(c.operators(), 305 * 32 * 1024);
        assert!(c.invocations().is_empty());
    }
}
