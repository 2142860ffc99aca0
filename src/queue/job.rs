//! The life of one outgoing fax job, as a state machine without I/O.
//!
//! ```text
//!            dial              start_sending         complete
//! Queued ──────────► Dialling ──────────────► Sending ─────────► Done
//!   ▲  ▲                 │ defer / fail          │ defer / fail
//!   │  │ dial            ▼                       ▼
//!   │  └──────────── Deferred{next_attempt, last_cause} ◄─┘   Failed{reason}
//!   │ retry_now            │ cancel                              │
//!   └──────────────────────┴────────► Cancelled ◄── (queued) ────┘ retry_now
//! ```
//!
//! Each transition is one function that takes the current state and returns
//! the next one, or an [`IllegalTransition`] naming both. The store persists
//! the returned state (in the same transaction as the attempt and history
//! rows) before the caller acts on it: a job is `Dialling` on disk before the
//! INVITE goes out, and `Done` only after the T.30 result said every page was
//! confirmed. [`JobState::complete`] refuses anything less: a T.30 success
//! with fewer confirmed pages than the document has is not a delivered fax.

use std::fmt;

use super::Millis;
use super::fallback::{Settings, Transport};
use super::retry::Cause;
use crate::fax::Modem;

/// Where a job is in its life. Stored as `fax_job.state` plus columns for
/// the variant's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    /// Waiting for its first attempt (or retried by hand).
    Queued,
    /// Claimed: a call is being placed. Persisted before the INVITE.
    Dialling,
    /// The call was answered and the fax session is running.
    Sending,
    /// Every page was confirmed by the far end. Final.
    Done,
    /// No further attempt will be made. Final unless retried by hand.
    Failed {
        /// Why, for people.
        reason: String,
    },
    /// Waiting for a retry.
    Deferred {
        /// When the job becomes due (epoch milliseconds).
        next_attempt: Millis,
        /// Why the last attempt failed.
        last_cause: Cause,
    },
    /// Cancelled by an operator. Final unless retried by hand.
    Cancelled,
}

/// A transition was asked for that the state machine does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IllegalTransition {
    /// The transition does not leave this state.
    #[error("a job that is {from} cannot {transition}; see `faxbridge jobs show` for its state")]
    FromState {
        /// Name of the current state.
        from: &'static str,
        /// Name of the transition asked for.
        transition: &'static str,
    },
    /// `complete` without a T.30 success covering every page.
    #[error(
        "the job cannot be marked done: T.30 {}, {confirmed} of {total} pages confirmed; \
         record the attempt as failed so it is retried",
        if *t30_success { "succeeded" } else { "failed" }
    )]
    Incomplete {
        /// Whether T.30 reported success.
        t30_success: bool,
        /// Pages confirmed over all attempts.
        confirmed: u32,
        /// Pages in the document.
        total: u32,
    },
}

impl JobState {
    /// Every state name, as stored in `fax_job.state`.
    pub const NAMES: [&'static str; 7] = [
        "queued",
        "dialling",
        "sending",
        "done",
        "failed",
        "deferred",
        "cancelled",
    ];

    /// The stored name of this state.
    pub fn name(&self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Dialling => "dialling",
            JobState::Sending => "sending",
            JobState::Done => "done",
            JobState::Failed { .. } => "failed",
            JobState::Deferred { .. } => "deferred",
            JobState::Cancelled => "cancelled",
        }
    }

    /// Whether a call is in progress (or was, when the process stopped).
    pub fn is_active(&self) -> bool {
        matches!(self, JobState::Dialling | JobState::Sending)
    }

    /// Whether the job is finished (possibly retried by hand later).
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            JobState::Done | JobState::Failed { .. } | JobState::Cancelled
        )
    }

    fn illegal(&self, transition: &'static str) -> IllegalTransition {
        IllegalTransition::FromState {
            from: self.name(),
            transition,
        }
    }

    /// Claim the job for a call: `Queued | Deferred → Dialling`.
    pub fn dial(self) -> Result<JobState, IllegalTransition> {
        match self {
            JobState::Queued | JobState::Deferred { .. } => Ok(JobState::Dialling),
            s => Err(s.illegal("dial")),
        }
    }

    /// The far end answered and the fax session began:
    /// `Dialling → Sending`.
    pub fn start_sending(self) -> Result<JobState, IllegalTransition> {
        match self {
            JobState::Dialling => Ok(JobState::Sending),
            s => Err(s.illegal("start sending")),
        }
    }

    /// The fax went through: `Sending → Done`, only when T.30 reported
    /// success and the pages confirmed over all attempts equal the pages of
    /// the document.
    pub fn complete(
        self,
        t30_success: bool,
        confirmed: u32,
        total: u32,
    ) -> Result<JobState, IllegalTransition> {
        match self {
            JobState::Sending if t30_success && confirmed == total && total > 0 => {
                Ok(JobState::Done)
            }
            JobState::Sending => Err(IllegalTransition::Incomplete {
                t30_success,
                confirmed,
                total,
            }),
            s => Err(s.illegal("complete")),
        }
    }

    /// The attempt failed and will be retried:
    /// `Dialling | Sending → Deferred`.
    pub fn defer(self, next_attempt: Millis, cause: Cause) -> Result<JobState, IllegalTransition> {
        match self {
            JobState::Dialling | JobState::Sending => Ok(JobState::Deferred {
                next_attempt,
                last_cause: cause,
            }),
            s => Err(s.illegal("be deferred")),
        }
    }

    /// No further attempt: `Queued | Dialling | Sending | Deferred → Failed`
    /// (from the waiting states when the job expires unattempted).
    pub fn fail(self, reason: impl Into<String>) -> Result<JobState, IllegalTransition> {
        match self {
            JobState::Queued
            | JobState::Dialling
            | JobState::Sending
            | JobState::Deferred { .. } => Ok(JobState::Failed {
                reason: reason.into(),
            }),
            s => Err(s.illegal("fail")),
        }
    }

    /// Operator cancel: `Queued | Deferred → Cancelled`. A job with a call
    /// in progress cannot be cancelled (the far end may already be
    /// printing); cancel it after the attempt ends.
    pub fn cancel(self) -> Result<JobState, IllegalTransition> {
        match self {
            JobState::Queued | JobState::Deferred { .. } => Ok(JobState::Cancelled),
            s => Err(s.illegal("be cancelled")),
        }
    }

    /// Operator retry: `Deferred | Failed | Cancelled → Queued`, due now.
    pub fn retry_now(self) -> Result<JobState, IllegalTransition> {
        match self {
            JobState::Deferred { .. } | JobState::Failed { .. } | JobState::Cancelled => {
                Ok(JobState::Queued)
            }
            s => Err(s.illegal("be retried now")),
        }
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobState::Failed { reason } => write!(f, "failed ({reason})"),
            JobState::Deferred {
                next_attempt,
                last_cause,
            } => write!(
                f,
                "deferred ({last_cause}; next attempt at {next_attempt} ms)"
            ),
            s => f.write_str(s.name()),
        }
    }
}

/// One call made for a job: what was tried and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// 1 for the first attempt of the job.
    pub number: u32,
    /// When the job was claimed for this attempt (epoch ms).
    pub started: Millis,
    /// When the outcome was recorded; `None` while in progress.
    pub ended: Option<Millis>,
    /// Why it failed; `None` while in progress or on success.
    pub cause: Option<Cause>,
    /// The final SIP status when the call was not answered.
    pub sip_status: Option<u16>,
    /// SpanDSP T.30 completion code, when a fax session ran.
    pub t30_code: Option<i32>,
    /// The T.30 result in words.
    pub t30_text: Option<String>,
    /// First page of the document sent in this attempt (1-based).
    pub first_page: u32,
    /// Pages confirmed (MCF) in this attempt, counted from `first_page`.
    pub pages_confirmed: u32,
    /// The settings chosen from the fallback ladder for this attempt.
    pub planned: Settings,
    /// The transport the call actually used (T.38 when the far end
    /// accepted it, G.711 otherwise).
    pub transport: Option<Transport>,
    /// Whether ECM was used for page data.
    pub ecm: Option<bool>,
    /// The page-data modem trained.
    pub modem: Option<Modem>,
    /// T.30 success with every page of the document confirmed.
    pub success: bool,
    /// The far end's identity (T.30 CSI), when it sent one.
    pub remote_ident: Option<String>,
    /// Wall time from answer to hang-up, when the call was answered.
    pub call_duration: Option<std::time::Duration>,
    /// The last page-data modem rate trained, bit/s.
    pub bit_rate: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_states() -> Vec<JobState> {
        vec![
            JobState::Queued,
            JobState::Dialling,
            JobState::Sending,
            JobState::Done,
            JobState::Failed { reason: "x".into() },
            JobState::Deferred {
                next_attempt: 5,
                last_cause: Cause::Busy,
            },
            JobState::Cancelled,
        ]
    }

    type Transition = (
        &'static str,
        fn(JobState) -> Result<JobState, IllegalTransition>,
    );

    fn transitions() -> Vec<Transition> {
        vec![
            ("dial", |s| s.dial()),
            ("start_sending", |s| s.start_sending()),
            ("complete", |s| s.complete(true, 3, 3)),
            ("defer", |s| s.defer(9, Cause::NoAnswer)),
            ("fail", |s| s.fail("gave up")),
            ("cancel", |s| s.cancel()),
            ("retry_now", |s| s.retry_now()),
        ]
    }

    /// The whole table: (from, transition) → to, or `None` for illegal.
    fn expected(from: &str, transition: &str) -> Option<JobState> {
        let deferred = JobState::Deferred {
            next_attempt: 9,
            last_cause: Cause::NoAnswer,
        };
        let failed = JobState::Failed {
            reason: "gave up".into(),
        };
        match (from, transition) {
            ("queued" | "deferred", "dial") => Some(JobState::Dialling),
            ("dialling", "start_sending") => Some(JobState::Sending),
            ("sending", "complete") => Some(JobState::Done),
            ("dialling" | "sending", "defer") => Some(deferred),
            ("queued" | "dialling" | "sending" | "deferred", "fail") => Some(failed),
            ("queued" | "deferred", "cancel") => Some(JobState::Cancelled),
            ("deferred" | "failed" | "cancelled", "retry_now") => Some(JobState::Queued),
            _ => None,
        }
    }

    #[test]
    fn transition_table_is_exactly_as_specified() {
        let mut legal = 0;
        for state in all_states() {
            for (name, t) in transitions() {
                let from = state.name();
                match (t(state.clone()), expected(from, name)) {
                    (Ok(got), Some(want)) => {
                        assert_eq!(got, want, "{from} --{name}-->");
                        legal += 1;
                    }
                    (Err(e), None) => {
                        assert_eq!(
                            e,
                            IllegalTransition::FromState {
                                from,
                                transition: match name {
                                    "dial" => "dial",
                                    "start_sending" => "start sending",
                                    "complete" => "complete",
                                    "defer" => "be deferred",
                                    "fail" => "fail",
                                    "cancel" => "be cancelled",
                                    _ => "be retried now",
                                }
                            }
                        );
                        assert!(e.to_string().contains(from), "{e}");
                    }
                    (got, want) => panic!("{from} --{name}-->: got {got:?}, want {want:?}"),
                }
            }
        }
        assert_eq!(legal, 15, "number of legal transitions");
    }

    #[test]
    fn done_needs_success_and_every_page() {
        assert_eq!(JobState::Sending.complete(true, 4, 4), Ok(JobState::Done));
        for (ok, confirmed, total) in [(true, 3, 4), (false, 4, 4), (false, 0, 4), (true, 0, 0)] {
            let e = JobState::Sending
                .complete(ok, confirmed, total)
                .unwrap_err();
            assert_eq!(
                e,
                IllegalTransition::Incomplete {
                    t30_success: ok,
                    confirmed,
                    total
                }
            );
            assert!(e.to_string().contains("retried"), "{e}");
        }
    }

    #[test]
    fn names_are_distinct_and_listed() {
        let names: Vec<_> = all_states().iter().map(|s| s.name()).collect();
        assert_eq!(names, JobState::NAMES);
        assert!(JobState::Dialling.is_active() && JobState::Sending.is_active());
        assert!(!JobState::Queued.is_active());
        assert!(JobState::Done.is_final() && JobState::Cancelled.is_final());
        assert!(!JobState::Queued.is_final());
    }
}
