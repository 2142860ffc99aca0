//! The signalling state machine of one bridged call: what happens on one
//! leg and what the bridge must do on the other.
//!
//! Sans-IO, in the shape of quinn-proto's `Connection`:
//! [`BridgeCall::handle`] takes an [`Input`] (a response, CANCEL, BYE or
//! re-INVITE seen on one leg, or Timer C running out) with the time it
//! happened; [`BridgeCall::poll_action`] then yields the [`Action`]s for
//! the SIP glue to carry out, in order, and [`BridgeCall::poll_timeout`]
//! says when to feed [`Input::TimerC`]. No sockets, tasks or clocks here:
//! [`super::b2bua`] drives it. The rules:
//!
//! * **Progress passes through.** 180–182 become 180 to the caller, 183
//!   stays 183; with the callee's early-media SDP when it sent one, so the
//!   caller hears ringback or announcements through the relay. 100 is
//!   hop-by-hop and never forwarded.
//! * **Timer C** ([`TIMER_C`], RFC 3261 §16.6 step 11, §16.8) runs while
//!   the callee rings: started by each INVITE sent to a callee, restarted
//!   by every provisional response. When it runs out the callee is
//!   cancelled, and whatever final response that brings, the caller gets
//!   408 (an answer that crosses the CANCEL is still an answer).
//! * **Final failures pass through** with the callee's status (486 busy,
//!   404, 480, 484, 487, 503, 603…), except challenges (401/407 answer the
//!   bridge's credentials, not the caller's: 403) and redirects (not
//!   followed: 480). No final answer at all is 408 (RFC 3261 §16.7 does the
//!   same for a proxy); an INVITE that could not even be sent is 503, and
//!   an answer the bridge cannot relay is ended with BYE and refused with
//!   the status the bridge chose.
//! * **CANCEL and BYE on either side end both.** A CANCEL from the caller
//!   while the callee rings cancels the callee; a BYE from either party of
//!   an answered call is sent on to the other. An answer that crosses the
//!   caller's CANCEL is ended with BYE (RFC 3261 §9.1: the 2xx wins the
//!   race, so the callee's dialog exists and must be closed).
//! * **Re-INVITEs are translated.** A re-INVITE from one party (a switch to
//!   T.38, hold, a session refresh) is sent on to the other; its final
//!   answer comes back to the first. While one is in progress, a
//!   re-INVITE from the other side gets 491 (RFC 3261 §14.2), and the two
//!   ends' own back-off settles the glare.
//!
//! What the relay does with a T.38 re-INVITE the other side refuses (the
//! G.711↔T.38 gateway) is decided with the SDP in [`super::b2bua`] and
//! [`super::media`]; this machine only sees the final status.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::leg::Leg;

/// Timer C of a ringing second leg (RFC 3261 §16.6 step 11: "greater
/// than 3 minutes"), restarted by every provisional response.
pub const TIMER_C: Duration = Duration::from_secs(181);

/// Where the call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// The INVITE to the callee is out; nothing heard yet.
    Dialling,
    /// The callee sent a provisional response (ringing, early media).
    Early,
    /// Both legs answered: media flows.
    Answered,
    /// Both legs are over.
    Ended,
}

/// Something seen on one leg, or a timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// An INVITE went out to a callee (the first, or the next trunk of an
    /// emergency call after the previous one gave up): Timer C starts.
    CalleeInvited,
    /// The INVITE to the callee could not be sent at all (no route, no
    /// socket, TLS failed).
    CalleeNotPlaced,
    /// A provisional response from the callee.
    CalleeProgress {
        /// 101–199.
        status: u16,
        /// It carried SDP (early media).
        sdp: bool,
    },
    /// The callee answered (2xx; the stack sent the ACK) with an answer the
    /// relay can carry.
    CalleeAnswered,
    /// The callee answered, but with a session description the bridge
    /// cannot relay to the caller.
    AnswerUnusable {
        /// The status to refuse the caller with (502 for an answer that
        /// cannot be rewritten, 488 when no gateway fits).
        status: u16,
    },
    /// The callee's final non-2xx response.
    CalleeFailed {
        /// The status.
        status: u16,
    },
    /// No final response from the callee (timeout, transport failure).
    CalleeUnreachable,
    /// The caller sent CANCEL before the call was answered.
    CallerCancelled,
    /// A leg's dialog ended: BYE received or the dialog failed.
    Hangup(Leg),
    /// A re-INVITE (or UPDATE with SDP) from a leg.
    ReInvite(Leg),
    /// The final status of the re-INVITE forwarded to the other leg.
    ReInviteAnswered {
        /// 2xx: accepted (its SDP goes back); otherwise refused.
        status: u16,
    },
    /// [`BridgeCall::poll_timeout`] has passed: Timer C ran out (ignored
    /// when it has not).
    TimerC,
}

/// What the glue must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Send a provisional response to the caller.
    Provisional {
        /// 180 or 183.
        status: u16,
        /// Include the callee's early-media SDP (rewritten for the relay).
        sdp: bool,
    },
    /// Answer the caller 200 with the callee's answer (rewritten).
    AnswerCaller,
    /// Refuse the caller's INVITE.
    RejectCaller {
        /// Final status.
        status: u16,
    },
    /// CANCEL the INVITE to the callee.
    CancelCallee,
    /// Send BYE on a leg.
    Bye(Leg),
    /// Send the re-INVITE on to this leg (offer rewritten for the relay).
    ForwardReInvite(Leg),
    /// Answer the re-INVITE that came from this leg: 2xx with the other
    /// side's answer (rewritten), or the other side's refusal.
    AnswerReInvite {
        /// The leg that sent the re-INVITE.
        leg: Leg,
        /// Status to answer with.
        status: u16,
    },
    /// Start the media relay (the answer fixed both legs' addresses).
    StartMedia,
    /// Stop the media relay and record the call (classification, counters).
    StopMedia,
}

/// One bridged call's signalling state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeCall {
    state: State,
    /// The leg whose re-INVITE is being forwarded.
    reinvite_from: Option<Leg>,
    /// When Timer C runs out, while the callee rings.
    timer_c: Option<Instant>,
    /// Timer C ran out on the callee being rung: its final failure is the
    /// caller's 408.
    timed_out: bool,
    actions: VecDeque<Action>,
}

impl Default for BridgeCall {
    fn default() -> Self {
        BridgeCall::new()
    }
}

/// The status the caller gets for the callee's final failure.
pub fn caller_status(callee_status: u16) -> u16 {
    match callee_status {
        401 | 407 => 403,
        300..=399 => 480,
        400..=699 => callee_status,
        // Not a failure status at all: the callee misbehaved.
        _ => 502,
    }
}

impl BridgeCall {
    /// A call whose INVITE to the callee is about to be sent
    /// ([`Input::CalleeInvited`] starts Timer C).
    pub fn new() -> Self {
        BridgeCall {
            state: State::Dialling,
            reinvite_from: None,
            timer_c: None,
            timed_out: false,
            actions: VecDeque::new(),
        }
    }

    /// Where the call is.
    pub fn state(&self) -> State {
        self.state
    }

    /// Timer C ran out on the callee being rung (until the next
    /// [`Input::CalleeInvited`]).
    pub fn timed_out(&self) -> bool {
        self.timed_out
    }

    /// When to feed [`Input::TimerC`]: Timer C's deadline while the callee
    /// rings.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timer_c
    }

    /// The next thing to do, in the order the inputs asked for them.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// Apply one input that happened at `now`; its actions follow from
    /// [`BridgeCall::poll_action`].
    pub fn handle(&mut self, input: Input, now: Instant) {
        use Action::*;
        let ringing = matches!(self.state, State::Dialling | State::Early);
        let actions = match input {
            Input::CalleeInvited if ringing => {
                self.timer_c = Some(now + TIMER_C);
                self.timed_out = false;
                Vec::new()
            }
            Input::CalleeProgress { status, sdp } if ringing => {
                self.timer_c = Some(now + TIMER_C);
                if (101..=199).contains(&status) {
                    self.state = State::Early;
                    let status = if status == 183 { 183 } else { 180 };
                    vec![Provisional { status, sdp }]
                } else {
                    Vec::new()
                }
            }
            Input::TimerC if ringing && self.timer_c.is_some_and(|at| now >= at) => {
                // RFC 3261 §16.8: cancel the ringing callee; the caller is
                // answered once the callee's final response to that comes.
                self.timer_c = None;
                self.timed_out = true;
                vec![CancelCallee]
            }
            Input::CalleeAnswered if ringing => {
                self.state = State::Answered;
                vec![StartMedia, AnswerCaller]
            }
            // The answer crossed the caller's CANCEL: close the callee.
            Input::CalleeAnswered if self.state == State::Ended => vec![Bye(Leg::Callee)],
            Input::AnswerUnusable { status } if ringing => {
                self.state = State::Ended;
                vec![Bye(Leg::Callee), RejectCaller { status }]
            }
            Input::CalleeNotPlaced if ringing => {
                self.state = State::Ended;
                vec![RejectCaller { status: 503 }]
            }
            Input::CalleeFailed { status } if ringing => {
                self.state = State::Ended;
                let status = if self.timed_out {
                    408
                } else {
                    caller_status(status)
                };
                vec![RejectCaller { status }]
            }
            Input::CalleeUnreachable if ringing => {
                self.state = State::Ended;
                vec![RejectCaller { status: 408 }]
            }
            Input::CallerCancelled | Input::Hangup(Leg::Caller) if ringing => {
                self.state = State::Ended;
                vec![CancelCallee]
            }
            Input::Hangup(Leg::Callee) if ringing => {
                self.state = State::Ended;
                vec![RejectCaller { status: 480 }]
            }
            Input::Hangup(leg) if self.state == State::Answered => {
                self.state = State::Ended;
                self.reinvite_from = None;
                vec![StopMedia, Bye(leg.other())]
            }
            Input::ReInvite(leg) if self.state == State::Answered => {
                if self.reinvite_from.is_some() {
                    vec![AnswerReInvite { leg, status: 491 }]
                } else {
                    self.reinvite_from = Some(leg);
                    vec![ForwardReInvite(leg.other())]
                }
            }
            // RFC 3261 §14.1: no re-INVITE before the session is up.
            Input::ReInvite(leg) => vec![AnswerReInvite { leg, status: 491 }],
            Input::ReInviteAnswered { status } => match self.reinvite_from.take() {
                Some(leg) if self.state == State::Answered => {
                    vec![AnswerReInvite { leg, status }]
                }
                _ => Vec::new(),
            },
            // Late or repeated events change nothing.
            _ => Vec::new(),
        };
        if !matches!(self.state, State::Dialling | State::Early) {
            self.timer_c = None;
        }
        self.actions.extend(actions);
    }
}

#[cfg(test)]
mod tests {
    use super::Action::*;
    use super::*;

    /// Feed `input` at `now` and take every action it asks for.
    fn step_at(c: &mut BridgeCall, input: Input, now: Instant) -> Vec<Action> {
        c.handle(input, now);
        std::iter::from_fn(|| c.poll_action()).collect()
    }

    fn step(c: &mut BridgeCall, input: Input) -> Vec<Action> {
        step_at(c, input, Instant::now())
    }

    fn run(inputs: &[Input]) -> (BridgeCall, Vec<Vec<Action>>) {
        let mut c = BridgeCall::new();
        let out = inputs.iter().map(|i| step(&mut c, *i)).collect();
        (c, out)
    }

    #[test]
    fn a_ringing_call_answered() {
        let (c, out) = run(&[
            Input::CalleeProgress {
                status: 100,
                sdp: false,
            },
            Input::CalleeProgress {
                status: 180,
                sdp: false,
            },
            Input::CalleeProgress {
                status: 183,
                sdp: true,
            },
            Input::CalleeProgress {
                status: 181,
                sdp: false,
            },
            Input::CalleeAnswered,
        ]);
        assert_eq!(
            out,
            [
                vec![],
                vec![Provisional {
                    status: 180,
                    sdp: false
                }],
                vec![Provisional {
                    status: 183,
                    sdp: true
                }],
                vec![Provisional {
                    status: 180,
                    sdp: false
                }],
                vec![StartMedia, AnswerCaller],
            ]
        );
        assert_eq!(c.state(), State::Answered);
    }

    #[test]
    fn failures_pass_through_with_their_status() {
        for (callee, caller) in [
            (486, 486),
            (404, 404),
            (484, 484),
            (487, 487),
            (480, 480),
            (503, 503),
            (603, 603),
            (401, 403),
            (407, 403),
            (302, 480),
            (200, 502),
        ] {
            let (c, out) = run(&[
                Input::CalleeProgress {
                    status: 180,
                    sdp: false,
                },
                Input::CalleeFailed { status: callee },
            ]);
            assert_eq!(out[1], [RejectCaller { status: caller }], "{callee}");
            assert_eq!(c.state(), State::Ended);
        }
        let (_, out) = run(&[Input::CalleeUnreachable]);
        assert_eq!(out[0], [RejectCaller { status: 408 }]);
    }

    #[test]
    fn cancel_and_bye_on_either_side_end_both() {
        // CANCEL from the caller while ringing cancels the callee.
        let (c, out) = run(&[
            Input::CalleeProgress {
                status: 180,
                sdp: false,
            },
            Input::CallerCancelled,
            Input::CalleeFailed { status: 487 },
        ]);
        assert_eq!(out[1], [CancelCallee]);
        assert_eq!(out[2], [], "the callee's 487 is the end of what we began");
        assert_eq!(c.state(), State::Ended);
        // The answer crosses the CANCEL: BYE to the callee.
        let (_, out) = run(&[Input::CallerCancelled, Input::CalleeAnswered]);
        assert_eq!(out[1], [Bye(Leg::Callee)]);
        // BYE from either side of an answered call.
        for leg in [Leg::Caller, Leg::Callee] {
            let (c, out) = run(&[
                Input::CalleeAnswered,
                Input::Hangup(leg),
                Input::Hangup(leg.other()),
            ]);
            assert_eq!(out[1], [StopMedia, Bye(leg.other())]);
            assert_eq!(
                out[2],
                [],
                "the other side's own BYE answer changes nothing"
            );
            assert_eq!(c.state(), State::Ended);
        }
        // The callee's dialog dies while ringing.
        let (_, out) = run(&[Input::Hangup(Leg::Callee)]);
        assert_eq!(out[0], [RejectCaller { status: 480 }]);
    }

    #[test]
    fn reinvites_are_translated_and_glare_is_refused() {
        let mut c = BridgeCall::new();
        step(&mut c, Input::CalleeAnswered);
        // The ATA detects CNG and re-INVITEs to T.38.
        assert_eq!(
            step(&mut c, Input::ReInvite(Leg::Caller)),
            [ForwardReInvite(Leg::Callee)]
        );
        // The trunk's own re-INVITE crosses it.
        assert_eq!(
            step(&mut c, Input::ReInvite(Leg::Callee)),
            [AnswerReInvite {
                leg: Leg::Callee,
                status: 491
            }]
        );
        assert_eq!(
            step(&mut c, Input::ReInviteAnswered { status: 200 }),
            [AnswerReInvite {
                leg: Leg::Caller,
                status: 200
            }]
        );
        // Refused on the far side: refused here too (Mediatrix then stays
        // on G.711).
        assert_eq!(
            step(&mut c, Input::ReInvite(Leg::Callee)),
            [ForwardReInvite(Leg::Caller)]
        );
        assert_eq!(
            step(&mut c, Input::ReInviteAnswered { status: 488 }),
            [AnswerReInvite {
                leg: Leg::Callee,
                status: 488
            }]
        );
        // A stray answer with nothing pending does nothing.
        assert_eq!(step(&mut c, Input::ReInviteAnswered { status: 200 }), []);
        // Before the answer there is no session to change.
        let mut early = BridgeCall::new();
        assert_eq!(
            step(&mut early, Input::ReInvite(Leg::Caller)),
            [AnswerReInvite {
                leg: Leg::Caller,
                status: 491
            }]
        );
    }

    #[test]
    fn nothing_happens_after_the_end() {
        let mut c = BridgeCall::new();
        step(&mut c, Input::CalleeFailed { status: 486 });
        for input in [
            Input::CalleeProgress {
                status: 180,
                sdp: false,
            },
            Input::CalleeFailed { status: 500 },
            Input::CalleeUnreachable,
            Input::CallerCancelled,
            Input::Hangup(Leg::Caller),
            Input::ReInviteAnswered { status: 200 },
        ] {
            assert_eq!(step(&mut c, input), [], "{input:?}");
        }
        assert_eq!(c.state(), State::Ended);
    }

    #[test]
    fn timer_c_runs_while_ringing_and_cancels_a_silent_callee() {
        let t0 = Instant::now();
        let mut c = BridgeCall::new();
        assert_eq!(c.poll_timeout(), None, "nothing sent yet");
        assert_eq!(step_at(&mut c, Input::CalleeInvited, t0), []);
        assert_eq!(c.poll_timeout(), Some(t0 + TIMER_C));
        // Every provisional response restarts it, 100 included.
        let t1 = t0 + Duration::from_secs(60);
        step_at(
            &mut c,
            Input::CalleeProgress {
                status: 100,
                sdp: false,
            },
            t1,
        );
        assert_eq!(c.poll_timeout(), Some(t1 + TIMER_C));
        let t2 = t1 + Duration::from_secs(100);
        step_at(
            &mut c,
            Input::CalleeProgress {
                status: 180,
                sdp: false,
            },
            t2,
        );
        assert_eq!(c.poll_timeout(), Some(t2 + TIMER_C));
        // Fed early (a timer that woke too soon), it does nothing.
        assert_eq!(step_at(&mut c, Input::TimerC, t2 + TIMER_C / 2), []);
        assert!(!c.timed_out());
        // Run out: the callee is cancelled, once.
        let end = t2 + TIMER_C;
        assert_eq!(step_at(&mut c, Input::TimerC, end), [CancelCallee]);
        assert!(c.timed_out());
        assert_eq!(c.poll_timeout(), None);
        assert_eq!(step_at(&mut c, Input::TimerC, end), []);
        // The callee's 487 to that CANCEL: the caller gets 408.
        assert_eq!(
            step_at(&mut c, Input::CalleeFailed { status: 487 }, end),
            [RejectCaller { status: 408 }]
        );
        assert_eq!(c.state(), State::Ended);
    }

    #[test]
    fn an_answer_that_crosses_timer_c_is_still_an_answer() {
        let t0 = Instant::now();
        let mut c = BridgeCall::new();
        step_at(&mut c, Input::CalleeInvited, t0);
        assert_eq!(step_at(&mut c, Input::TimerC, t0 + TIMER_C), [CancelCallee]);
        assert_eq!(
            step_at(&mut c, Input::CalleeAnswered, t0 + TIMER_C),
            [StartMedia, AnswerCaller]
        );
        assert_eq!(c.poll_timeout(), None, "no Timer C once answered");
    }

    #[test]
    fn the_next_trunk_gets_a_fresh_timer_c() {
        let t0 = Instant::now();
        let mut c = BridgeCall::new();
        step_at(&mut c, Input::CalleeInvited, t0);
        step_at(&mut c, Input::TimerC, t0 + TIMER_C);
        // An emergency call moves on: the next INVITE starts Timer C anew
        // and its refusal passes through as usual.
        let t1 = t0 + TIMER_C + Duration::from_secs(1);
        step_at(&mut c, Input::CalleeInvited, t1);
        assert!(!c.timed_out());
        assert_eq!(c.poll_timeout(), Some(t1 + TIMER_C));
        assert_eq!(
            step_at(&mut c, Input::CalleeFailed { status: 486 }, t1),
            [RejectCaller { status: 486 }]
        );
        assert_eq!(c.poll_timeout(), None);
    }

    #[test]
    fn a_callee_never_reached_or_unusable() {
        let (c, out) = run(&[Input::CalleeInvited, Input::CalleeNotPlaced]);
        assert_eq!(out[1], [RejectCaller { status: 503 }]);
        assert_eq!(c.state(), State::Ended);
        assert_eq!(c.poll_timeout(), None);
        // An answer the relay cannot carry: BYE to the callee, the
        // bridge's status to the caller.
        for status in [502, 488] {
            let (c, out) = run(&[Input::CalleeInvited, Input::AnswerUnusable { status }]);
            assert_eq!(out[1], [Bye(Leg::Callee), RejectCaller { status }]);
            assert_eq!(c.state(), State::Ended);
        }
    }
}
