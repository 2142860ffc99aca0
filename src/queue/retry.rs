//! Retry policy for outgoing faxes: why an attempt failed, whether and when
//! to try again, and which pages the next attempt sends.
//!
//! Pure functions over values: the caller passes the SIP final status or the
//! T.30 completion code, the attempt history and the current time; nothing
//! here reads a clock or touches the database.
//!
//! Why causes get different delays: a busy line (SIP 486/600) usually frees
//! within minutes, so a short wait is right; an unanswered call (408/480/487)
//! often means nobody switched the machine on, so waiting longer spares the
//! far end a ringing phone; a T.30 failure (training, a page that was not
//! confirmed, a dropped line) is worth another go soon, preferably with more
//! conservative settings (see `fallback`); a network or trunk failure
//! (500/503, timeouts) backs off exponentially so a trunk outage does not turn
//! into a retry storm. Wrong numbers (404/484/604), a trunk refusing the call
//! (403) and documents the far end cannot take are final: retrying cannot
//! help and would only ring a wrong number again.

use std::fmt;
use std::ops::RangeInclusive;

use serde::Deserialize;

use super::Millis;

/// SpanDSP T.30 completion codes (`t30_err_e`) this policy distinguishes.
mod t30 {
    use spandsp_sys::t30_err_e as e;
    pub const OK: i32 = e::T30_ERR_OK as i32;
    pub const CEDTONE: i32 = e::T30_ERR_CEDTONE as i32;
    pub const T0_EXPIRED: i32 = e::T30_ERR_T0_EXPIRED as i32;
    pub const T1_EXPIRED: i32 = e::T30_ERR_T1_EXPIRED as i32;
    pub const INCOMPATIBLE: i32 = e::T30_ERR_INCOMPATIBLE as i32;
    pub const RX_INCAPABLE: i32 = e::T30_ERR_RX_INCAPABLE as i32;
    pub const NORESSUPPORT: i32 = e::T30_ERR_NORESSUPPORT as i32;
    pub const NOSIZESUPPORT: i32 = e::T30_ERR_NOSIZESUPPORT as i32;
    pub const FILEERROR: i32 = e::T30_ERR_FILEERROR as i32;
    pub const NOPAGE: i32 = e::T30_ERR_NOPAGE as i32;
    pub const BADTIFF: i32 = e::T30_ERR_BADTIFF as i32;
    pub const BADPAGE: i32 = e::T30_ERR_BADPAGE as i32;
    pub const BADTAG: i32 = e::T30_ERR_BADTAG as i32;
    pub const BADTIFFHDR: i32 = e::T30_ERR_BADTIFFHDR as i32;
    pub const NOMEM: i32 = e::T30_ERR_NOMEM as i32;
    pub const NOPOLL: i32 = e::T30_ERR_NOPOLL as i32;
    pub const IDENT_UNACCEPTABLE: i32 = e::T30_ERR_IDENT_UNACCEPTABLE as i32;
    pub const CSA_UNACCEPTABLE: i32 = e::T30_ERR_CSA_UNACCEPTABLE as i32;
}

/// Why an attempt did not deliver the fax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cause {
    /// The line was busy (SIP 486, 600, 603).
    Busy,
    /// Nobody answered (SIP 408, 480, 487, or ringing timed out).
    NoAnswer,
    /// The fax session failed: training, an unconfirmed page, a dropped
    /// call, or a T.30 result of success with pages missing.
    T30Failure,
    /// A person or an answering machine answered: no fax tones
    /// (T.30 T0/T1 expiry, CED too long).
    NotFax,
    /// The trunk or network failed (SIP 5xx, timeouts, transport errors).
    Network,
    /// The far end refused our media offer (SIP 488/606): try other
    /// settings.
    MediaRefused,
    /// The process stopped (crash, kill, power loss) during the attempt.
    Interrupted,
    /// The number does not exist (SIP 404, 484, 604). Final.
    BadNumber,
    /// The trunk refused the call (SIP 403, or other final 4xx/6xx). Final.
    Refused,
    /// The far end cannot take this document (cannot receive, resolution or
    /// size unsupported, identity refused). Final.
    Incompatible,
    /// Our own document could not be read or sent. Final.
    DocumentError,
}

impl Cause {
    /// Every cause, for tests and listings.
    pub const ALL: [Cause; 11] = [
        Cause::Busy,
        Cause::NoAnswer,
        Cause::T30Failure,
        Cause::NotFax,
        Cause::Network,
        Cause::MediaRefused,
        Cause::Interrupted,
        Cause::BadNumber,
        Cause::Refused,
        Cause::Incompatible,
        Cause::DocumentError,
    ];

    /// The stable name stored in the database and shown by `faxbridge jobs`.
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Busy => "busy",
            Cause::NoAnswer => "no-answer",
            Cause::T30Failure => "t30-failure",
            Cause::NotFax => "not-a-fax",
            Cause::Network => "network",
            Cause::MediaRefused => "media-refused",
            Cause::Interrupted => "interrupted",
            Cause::BadNumber => "bad-number",
            Cause::Refused => "refused-by-trunk",
            Cause::Incompatible => "incompatible",
            Cause::DocumentError => "document-error",
        }
    }

    /// Parse a name written by [`Cause::as_str`].
    pub fn parse(s: &str) -> Option<Cause> {
        Cause::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Whether no retry can help, whatever the budget left.
    pub fn is_permanent(self) -> bool {
        matches!(
            self,
            Cause::BadNumber | Cause::Refused | Cause::Incompatible | Cause::DocumentError
        )
    }

    /// Whether the failure says something about the settings used (T.38 or
    /// G.711, ECM, modem), so the fallback ladder should step down.
    pub fn is_interop(self) -> bool {
        matches!(self, Cause::T30Failure | Cause::MediaRefused)
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Classify a final SIP response to our INVITE (RFC 3261 §21).
pub fn classify_sip(status: u16) -> Cause {
    match status {
        486 | 600 | 603 => Cause::Busy,
        408 | 480 | 487 => Cause::NoAnswer,
        404 | 484 | 604 => Cause::BadNumber,
        403 => Cause::Refused,
        488 | 606 => Cause::MediaRefused,
        // 5xx: the trunk or something behind it is in trouble; 3xx that
        // reach here were not followed. Both are worth a later try.
        300..=399 | 500..=599 => Cause::Network,
        // Other final failures (401/407 after digest, 410, 415, 420…) are
        // configuration problems a retry will not fix.
        400..=499 | 601..=699 => Cause::Refused,
        // Not a failure code at all: treat as a network fault.
        _ => Cause::Network,
    }
}

/// Classify a T.30 completion code (SpanDSP `t30_err_e`) of a send that
/// did not finish. `pages_confirmed` is the number of pages the far end
/// confirmed (MCF) during this attempt.
pub fn classify_t30(code: i32, pages_confirmed: u32) -> Cause {
    match code {
        // Success with pages missing: the session ended early.
        t30::OK => Cause::T30Failure,
        // Nothing fax-like ever answered us: a person or a voice machine.
        t30::CEDTONE | t30::T0_EXPIRED | t30::T1_EXPIRED if pages_confirmed == 0 => Cause::NotFax,
        t30::RX_INCAPABLE | t30::NORESSUPPORT | t30::NOSIZESUPPORT | t30::NOPOLL => {
            Cause::Incompatible
        }
        c if (t30::IDENT_UNACCEPTABLE..=t30::CSA_UNACCEPTABLE).contains(&c) => Cause::Incompatible,
        t30::FILEERROR
        | t30::NOPAGE
        | t30::BADTIFF
        | t30::BADPAGE
        | t30::BADTAG
        | t30::BADTIFFHDR
        | t30::NOMEM => Cause::DocumentError,
        // INCOMPATIBLE often means the modems or ECM did not agree: the
        // fallback ladder may find a combination that works.
        t30::INCOMPATIBLE => Cause::T30Failure,
        _ => Cause::T30Failure,
    }
}

/// `[queue.retry]`: how often and how long to retry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// Attempts (calls) before a job fails for good.
    pub max_attempts: u32,
    /// A job older than this (seconds since it was queued or last retried
    /// by hand) is not tried again.
    pub max_age_secs: u64,
    /// Wait after a busy line.
    pub busy_delay_secs: u64,
    /// Wait after an unanswered call.
    pub no_answer_delay_secs: u64,
    /// Wait after a failed fax session (or media refusal).
    pub t30_delay_secs: u64,
    /// First wait after a network or trunk failure; doubled after each
    /// further network failure in a row.
    pub network_initial_delay_secs: u64,
    /// Longest wait after network failures.
    pub network_max_delay_secs: u64,
    /// Wait after an attempt interrupted by a crash or kill.
    pub interrupted_delay_secs: u64,
    /// "Not a fax" answers (a person, a voice machine) before giving up,
    /// even when attempts are left.
    pub not_fax_max_attempts: u32,
    /// Wait after a "not a fax" answer.
    pub not_fax_delay_secs: u64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_attempts: 6,
            max_age_secs: 24 * 3600,
            busy_delay_secs: 120,
            no_answer_delay_secs: 300,
            t30_delay_secs: 180,
            network_initial_delay_secs: 60,
            network_max_delay_secs: 3600,
            interrupted_delay_secs: 30,
            not_fax_max_attempts: 2,
            not_fax_delay_secs: 600,
        }
    }
}

/// What a failed attempt leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Try again at this time (epoch milliseconds).
    RetryAt(Millis),
    /// Stop: the job fails with this reason.
    GiveUp(String),
}

/// The part of a job's history the policy looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Attempts made so far, including the one that just failed, counted
    /// since the job was queued or last retried by hand.
    pub attempts: u32,
    /// When the job was queued or last retried by hand.
    pub since: Millis,
    /// Network failures in a row ending with this one (for the backoff).
    pub network_streak: u32,
    /// "Not a fax" answers so far, including this one.
    pub not_fax_count: u32,
}

/// Decide what follows a failed attempt with `cause`, at time `now`.
pub fn decide(cfg: &RetryConfig, cause: Cause, budget: Budget, now: Millis) -> Decision {
    if cause.is_permanent() {
        return Decision::GiveUp(format!("{}: retrying cannot help", describe(cause)));
    }
    if cause == Cause::NotFax && budget.not_fax_count >= cfg.not_fax_max_attempts.max(1) {
        return Decision::GiveUp(format!(
            "{} {} times: the number answers but is not a fax machine",
            describe(cause),
            budget.not_fax_count
        ));
    }
    if budget.attempts >= cfg.max_attempts {
        return Decision::GiveUp(format!(
            "{} after {} attempts (queue.retry.max_attempts = {})",
            describe(cause),
            budget.attempts,
            cfg.max_attempts
        ));
    }
    let at = now.saturating_add(delay_ms(cfg, cause, budget.network_streak));
    let deadline = budget.since.saturating_add(secs_to_ms(cfg.max_age_secs));
    if at > deadline {
        return Decision::GiveUp(format!(
            "{}; the next attempt would be after the job's maximum age \
             (queue.retry.max_age_secs = {})",
            describe(cause),
            cfg.max_age_secs
        ));
    }
    Decision::RetryAt(at)
}

/// The wait before the next attempt after `cause`, in milliseconds.
pub fn delay_ms(cfg: &RetryConfig, cause: Cause, network_streak: u32) -> Millis {
    let secs = match cause {
        Cause::Busy => cfg.busy_delay_secs,
        Cause::NoAnswer => cfg.no_answer_delay_secs,
        Cause::T30Failure | Cause::MediaRefused => cfg.t30_delay_secs,
        Cause::NotFax => cfg.not_fax_delay_secs,
        Cause::Interrupted => cfg.interrupted_delay_secs,
        Cause::Network => {
            let initial = std::time::Duration::from_secs(cfg.network_initial_delay_secs);
            let max = std::time::Duration::from_secs(cfg.network_max_delay_secs).max(initial);
            crate::clock::backoff(initial, max, network_streak).as_secs()
        }
        Cause::BadNumber | Cause::Refused | Cause::Incompatible | Cause::DocumentError => 0,
    };
    secs_to_ms(secs)
}

fn secs_to_ms(secs: u64) -> Millis {
    i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX)
}

fn describe(cause: Cause) -> &'static str {
    match cause {
        Cause::Busy => "line busy",
        Cause::NoAnswer => "no answer",
        Cause::T30Failure => "fax transmission failed",
        Cause::NotFax => "answered, but not by a fax machine",
        Cause::Network => "network or trunk failure",
        Cause::MediaRefused => "the far end refused the media offer",
        Cause::Interrupted => "interrupted by a restart",
        Cause::BadNumber => "the number does not exist",
        Cause::Refused => "refused by trunk",
        Cause::Incompatible => "the far end cannot receive this document",
        Cause::DocumentError => "the document could not be read",
    }
}

/// The pages of one earlier attempt: it started at `first_page` (1-based)
/// and the far end confirmed `confirmed` pages in order from there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentRange {
    /// First page sent in that attempt (1-based page of the document).
    pub first_page: u32,
    /// Pages confirmed by MCF in that attempt.
    pub confirmed: u32,
}

/// Pages of a `pages_total`-page document confirmed by any attempt.
///
/// T.30 confirms pages in order (MCF after each page, or after each ECM
/// block of a page), so each attempt confirmed a prefix of the range it sent.
pub fn pages_confirmed(pages_total: u32, history: &[SentRange]) -> u32 {
    (1..=pages_total)
        .filter(|&p| is_confirmed(p, history))
        .count() as u32
}

/// The pages the next attempt must send: from the first page no attempt
/// got confirmed to the end of the document. `None` when every page is
/// confirmed. Pages after a gap are resent too: a fax call sends one
/// contiguous run, and the receiver's copy must read in order.
pub fn next_page_range(pages_total: u32, history: &[SentRange]) -> Option<RangeInclusive<u32>> {
    let first = (1..=pages_total).find(|&p| !is_confirmed(p, history))?;
    Some(first..=pages_total)
}

fn is_confirmed(page: u32, history: &[SentRange]) -> bool {
    history
        .iter()
        .any(|r| r.confirmed > 0 && page >= r.first_page && page - r.first_page < r.confirmed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Millis = 60_000;

    fn budget(attempts: u32) -> Budget {
        Budget {
            attempts,
            since: 0,
            network_streak: 0,
            not_fax_count: 0,
        }
    }

    #[test]
    fn sip_statuses_map_to_the_documented_causes() {
        for (status, cause) in [
            (486, Cause::Busy),
            (600, Cause::Busy),
            (408, Cause::NoAnswer),
            (480, Cause::NoAnswer),
            (487, Cause::NoAnswer),
            (404, Cause::BadNumber),
            (484, Cause::BadNumber),
            (604, Cause::BadNumber),
            (403, Cause::Refused),
            (503, Cause::Network),
            (500, Cause::Network),
            (502, Cause::Network),
            (488, Cause::MediaRefused),
            (401, Cause::Refused),
            (0, Cause::Network),
        ] {
            assert_eq!(classify_sip(status), cause, "SIP {status}");
        }
    }

    #[test]
    fn permanent_causes_are_final_without_using_the_budget() {
        for cause in Cause::ALL {
            let d = decide(&RetryConfig::default(), cause, budget(1), 0);
            assert_eq!(
                matches!(d, Decision::GiveUp(_)),
                cause.is_permanent(),
                "{cause}: {d:?}"
            );
        }
        let Decision::GiveUp(why) = decide(&RetryConfig::default(), Cause::Refused, budget(1), 0)
        else {
            panic!()
        };
        assert!(why.contains("refused by trunk"), "{why}");
    }

    #[test]
    fn t30_codes_map_to_causes() {
        assert_eq!(classify_t30(t30::T0_EXPIRED, 0), Cause::NotFax);
        assert_eq!(classify_t30(t30::CEDTONE, 0), Cause::NotFax);
        // Pages went through: it is a fax machine; the session just failed.
        assert_eq!(classify_t30(t30::T1_EXPIRED, 2), Cause::T30Failure);
        assert_eq!(classify_t30(t30::RX_INCAPABLE, 0), Cause::Incompatible);
        assert_eq!(classify_t30(t30::NORESSUPPORT, 0), Cause::Incompatible);
        assert_eq!(
            classify_t30(t30::IDENT_UNACCEPTABLE, 0),
            Cause::Incompatible
        );
        assert_eq!(classify_t30(t30::BADTIFF, 0), Cause::DocumentError);
        assert_eq!(classify_t30(t30::INCOMPATIBLE, 0), Cause::T30Failure);
        let dropped = spandsp_sys::t30_err_e::T30_ERR_CALLDROPPED as i32;
        assert_eq!(classify_t30(dropped, 1), Cause::T30Failure);
        let train = spandsp_sys::t30_err_e::T30_ERR_CANNOT_TRAIN as i32;
        assert_eq!(classify_t30(train, 0), Cause::T30Failure);
        assert_eq!(classify_t30(t30::OK, 1), Cause::T30Failure);
    }

    #[test]
    fn delays_follow_the_cause() {
        let cfg = RetryConfig::default();
        let at = |cause, streak| match decide(
            &cfg,
            cause,
            Budget {
                network_streak: streak,
                ..budget(1)
            },
            1_000,
        ) {
            Decision::RetryAt(t) => t - 1_000,
            d => panic!("{d:?}"),
        };
        assert_eq!(at(Cause::Busy, 0), 2 * MIN);
        assert_eq!(at(Cause::NoAnswer, 0), 5 * MIN);
        assert_eq!(at(Cause::T30Failure, 0), 3 * MIN);
        assert_eq!(at(Cause::Interrupted, 0), 30_000);
        assert_eq!(at(Cause::Network, 1), MIN);
        assert_eq!(at(Cause::Network, 2), 2 * MIN);
        assert_eq!(at(Cause::Network, 3), 4 * MIN);
        assert_eq!(at(Cause::Network, 40), 60 * MIN, "capped");
    }

    #[test]
    fn max_attempts_and_max_age_end_retries() {
        let cfg = RetryConfig {
            max_attempts: 3,
            ..RetryConfig::default()
        };
        assert!(matches!(
            decide(&cfg, Cause::Busy, budget(2), 0),
            Decision::RetryAt(_)
        ));
        let Decision::GiveUp(why) = decide(&cfg, Cause::Busy, budget(3), 0) else {
            panic!()
        };
        assert!(why.contains("3 attempts"), "{why}");
        // One minute before the deadline, a 2-minute wait passes it.
        let day = 24 * 60 * MIN;
        let Decision::GiveUp(why) = decide(&cfg, Cause::Busy, budget(1), day - MIN) else {
            panic!()
        };
        assert!(why.contains("max_age_secs"), "{why}");
        assert_eq!(
            decide(&cfg, Cause::Busy, budget(1), day - 2 * MIN),
            Decision::RetryAt(day)
        );
    }

    #[test]
    fn not_a_fax_is_final_after_the_configured_count() {
        let cfg = RetryConfig::default();
        let b = |n| Budget {
            not_fax_count: n,
            ..budget(n)
        };
        assert!(matches!(
            decide(&cfg, Cause::NotFax, b(1), 0),
            Decision::RetryAt(_)
        ));
        assert!(matches!(
            decide(&cfg, Cause::NotFax, b(2), 0),
            Decision::GiveUp(_)
        ));
    }

    #[test]
    fn resend_starts_at_the_first_unconfirmed_page() {
        let r = |first_page, confirmed| SentRange {
            first_page,
            confirmed,
        };
        assert_eq!(next_page_range(5, &[]), Some(1..=5));
        assert_eq!(next_page_range(5, &[r(1, 0)]), Some(1..=5));
        assert_eq!(next_page_range(5, &[r(1, 2)]), Some(3..=5));
        assert_eq!(next_page_range(5, &[r(1, 2), r(3, 1)]), Some(4..=5));
        assert_eq!(next_page_range(5, &[r(1, 2), r(3, 3)]), None);
        assert_eq!(next_page_range(5, &[r(1, 5)]), None);
        // Overlapping and out-of-order histories count each page once.
        assert_eq!(pages_confirmed(5, &[r(3, 3), r(1, 3)]), 5);
        assert_eq!(pages_confirmed(5, &[r(1, 2), r(1, 1)]), 2);
        // A confirmation claimed past the end of the document is ignored.
        assert_eq!(pages_confirmed(3, &[r(2, 9)]), 2);
        assert_eq!(next_page_range(3, &[r(2, 9)]), Some(1..=3));
        assert_eq!(next_page_range(0, &[]), None);
    }

    #[test]
    fn cause_names_round_trip() {
        for c in Cause::ALL {
            assert_eq!(Cause::parse(c.as_str()), Some(c));
        }
        assert_eq!(Cause::parse("nonsense"), None);
    }
}
