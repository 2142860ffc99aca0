//! The signalling state machine of one bridged call: what happens on one
//! leg and what the bridge must do on the other.
//!
//! Sans-IO: [`BridgeCall::handle`] takes an [`Input`] (a response, CANCEL,
//! BYE or re-INVITE seen on one leg) and returns the [`Action`]s for the
//! SIP glue to carry out. The rules:
//!
//! * **Progress passes through.** 180–182 become 180 to the caller, 183
//!   stays 183; with the callee's early-media SDP when it sent one, so the
//!   caller hears ringback or announcements through the relay. 100 is
//!   hop-by-hop and never forwarded.
//! * **Final failures pass through** with the callee's status (486 busy,
//!   404, 480, 484, 487, 503, 603…), except challenges (401/407 answer the
//!   bridge's credentials, not the caller's: 403) and redirects (not
//!   followed: 480). No final answer at all is 408 (RFC 3261 §16.7 does the
//!   same for a proxy).
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

use super::relay::Leg;

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

/// Something seen on one leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// A provisional response from the callee.
    CalleeProgress {
        /// 101–199.
        status: u16,
        /// It carried SDP (early media).
        sdp: bool,
    },
    /// The callee answered (2xx; the stack sent the ACK).
    CalleeAnswered,
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
}

impl Default for BridgeCall {
    fn default() -> Self {
        BridgeCall::new()
    }
}

fn other(leg: Leg) -> Leg {
    match leg {
        Leg::Caller => Leg::Callee,
        Leg::Callee => Leg::Caller,
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
    /// A call whose INVITE to the callee has just been sent.
    pub fn new() -> Self {
        BridgeCall {
            state: State::Dialling,
            reinvite_from: None,
        }
    }

    /// Where the call is.
    pub fn state(&self) -> State {
        self.state
    }

    /// Apply one input; the returned actions are to be carried out in
    /// order.
    pub fn handle(&mut self, input: Input) -> Vec<Action> {
        use Action::*;
        let ringing = matches!(self.state, State::Dialling | State::Early);
        match input {
            Input::CalleeProgress { status, sdp } if ringing && (101..=199).contains(&status) => {
                self.state = State::Early;
                let status = if status == 183 { 183 } else { 180 };
                vec![Provisional { status, sdp }]
            }
            Input::CalleeAnswered if ringing => {
                self.state = State::Answered;
                vec![StartMedia, AnswerCaller]
            }
            // The answer crossed the caller's CANCEL: close the callee.
            Input::CalleeAnswered if self.state == State::Ended => vec![Bye(Leg::Callee)],
            Input::CalleeFailed { status } if ringing => {
                self.state = State::Ended;
                vec![RejectCaller {
                    status: caller_status(status),
                }]
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
                vec![StopMedia, Bye(other(leg))]
            }
            Input::ReInvite(leg) if self.state == State::Answered => {
                if self.reinvite_from.is_some() {
                    vec![AnswerReInvite { leg, status: 491 }]
                } else {
                    self.reinvite_from = Some(leg);
                    vec![ForwardReInvite(other(leg))]
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Action::*;
    use super::*;

    fn run(inputs: &[Input]) -> (BridgeCall, Vec<Vec<Action>>) {
        let mut c = BridgeCall::new();
        let out = inputs.iter().map(|i| c.handle(*i)).collect();
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
                Input::Hangup(other(leg)),
            ]);
            assert_eq!(out[1], [StopMedia, Bye(other(leg))]);
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
        c.handle(Input::CalleeAnswered);
        // The ATA detects CNG and re-INVITEs to T.38.
        assert_eq!(
            c.handle(Input::ReInvite(Leg::Caller)),
            [ForwardReInvite(Leg::Callee)]
        );
        // The trunk's own re-INVITE crosses it.
        assert_eq!(
            c.handle(Input::ReInvite(Leg::Callee)),
            [AnswerReInvite {
                leg: Leg::Callee,
                status: 491
            }]
        );
        assert_eq!(
            c.handle(Input::ReInviteAnswered { status: 200 }),
            [AnswerReInvite {
                leg: Leg::Caller,
                status: 200
            }]
        );
        // Refused on the far side: refused here too (Mediatrix then stays
        // on G.711).
        assert_eq!(
            c.handle(Input::ReInvite(Leg::Callee)),
            [ForwardReInvite(Leg::Caller)]
        );
        assert_eq!(
            c.handle(Input::ReInviteAnswered { status: 488 }),
            [AnswerReInvite {
                leg: Leg::Callee,
                status: 488
            }]
        );
        // A stray answer with nothing pending does nothing.
        assert_eq!(c.handle(Input::ReInviteAnswered { status: 200 }), []);
        // Before the answer there is no session to change.
        let mut early = BridgeCall::new();
        assert_eq!(
            early.handle(Input::ReInvite(Leg::Caller)),
            [AnswerReInvite {
                leg: Leg::Caller,
                status: 491
            }]
        );
    }

    #[test]
    fn nothing_happens_after_the_end() {
        let mut c = BridgeCall::new();
        c.handle(Input::CalleeFailed { status: 486 });
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
            assert_eq!(c.handle(input), [], "{input:?}");
        }
        assert_eq!(c.state(), State::Ended);
    }
}
