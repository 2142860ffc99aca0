//! A refusal: the SMTP reply (RFC 5321 code, RFC 3463 enhanced status)
//! with a reason and advice in plain language, shared by the listener and
//! the reports and bounces that repeat it.

use std::fmt;

use crate::numbering::DialError;

/// A refusal: what an SMTP server replies and what a report or bounce says.
///
/// `code` is the RFC 5321 reply code (4xx: try again later, 5xx: do not
/// retry); `enhanced` is the RFC 3463 enhanced status code (`class.subject.detail`);
/// `reason` says what happened and `advice` what the sender can do, both in
/// plain language for people who have never heard of SMTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// RFC 5321 reply code, e.g. 550.
    pub code: u16,
    /// RFC 3463 enhanced status code, e.g. `5.7.1`.
    pub enhanced: &'static str,
    /// What happened, in one or two sentences.
    pub reason: String,
    /// What the sender can do about it.
    pub advice: String,
}

impl Refusal {
    /// Build a refusal from its parts.
    pub(crate) fn new(
        code: u16,
        enhanced: &'static str,
        reason: impl Into<String>,
        advice: impl Into<String>,
    ) -> Refusal {
        Refusal {
            code,
            enhanced,
            reason: reason.into(),
            advice: advice.into(),
        }
    }

    /// The refusal of a number the dial plan cannot read, for `RCPT TO`
    /// and the report: 553 5.1.3, bad destination address syntax.
    pub fn dial(e: &DialError) -> Refusal {
        Refusal::new(553, "5.1.3", e.to_string(), "")
    }

    /// True for a 4xx refusal: the same message may succeed later unchanged.
    pub fn is_temporary(&self) -> bool {
        (400..500).contains(&self.code)
    }

    /// The single-line SMTP reply, e.g. `550 5.7.1 Sender not allowed …`.
    ///
    /// RFC 5321 §4.5.3.1.5 limits a reply line to 512 octets including CRLF,
    /// and reply text must be printable US-ASCII; non-ASCII characters are
    /// replaced and the text is shortened to fit. Only the reason is sent: the
    /// advice belongs in the report.
    pub fn smtp_line(&self) -> String {
        let mut line = format!("{} {} ", self.code, self.enhanced);
        for c in self.reason.chars() {
            if line.len() >= 500 {
                break;
            }
            line.push(if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            });
        }
        line.trim_end().to_string()
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.reason, self.advice)
    }
}
