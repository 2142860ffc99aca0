//! T.38 switching of a fax call: when to re-INVITE from G.711 to T.38, how
//! to answer the far end's re-INVITE, and what a change of media does to
//! the fax session.
//!
//! A sans-IO state machine in the shape of quinn-proto's `Connection`:
//! [`Switch::handle`] takes an [`Input`] with the time it happened (the call
//! established, the far end's fax signal heard, a re-INVITE from the far
//! end, the outcome of ours), [`Switch::poll_action`] yields the
//! [`Action`]s to carry out in order, and [`Switch::poll_timeout`] says when
//! to feed [`Input::Timeout`]. It writes and reads the SDP of the exchanges
//! itself ([`crate::sdp`] offer/answer, RFC 3264). It holds no socket, task
//! or clock, and neither the fax session (SpanDSP) nor the tone detector:
//! [`super::fax_call`] drives it, builds the media legs and sessions it asks
//! for and reports back.
//!
//! The rules:
//!
//! * **Our re-INVITE to T.38** ([`Config::t38_reinvite`]; T.38 §D.2.3.2
//!   lets either side switch) goes out when the far end's fax signal is
//!   heard in the received audio: CED or the V.21 preamble of its DIS when
//!   we called, CNG or the V.21 preamble when we answered. It waits
//!   [`REINVITE_DELAY`] after establishment so the far end takes our ACK
//!   first. A far end that sends no fax signal within
//!   [`FAX_SIGNAL_TIMEOUT`] of establishment is left on G.711 (the fax
//!   still works there), and nothing is sent once a page has been
//!   transferred or the call is on T.38 already.
//! * **Refusals.** A 488 (or any other refusal, RFC 3261 §14.1: the old
//!   session carries on) keeps the call on G.711. A far end that was busy
//!   or silent ([`Refused::Later`]: 408, 500 or 503, RFC 3261 §14.2 and
//!   §21.5) is asked again after [`REINVITE_RETRY`]; a glare (491, or the
//!   call layer's own 491 retries exhausted) after the RFC 3261 §14.1
//!   back-off: 2.1–4 s when we chose the Call-ID, 0–2 s otherwise. At most
//!   [`REINVITE_ATTEMPTS`] re-INVITEs in all.
//! * **The far end's re-INVITE** is answered at once from our capabilities,
//!   T.38 preferred when it offers T.38. A SpanDSP terminal cannot change
//!   transport, so a change of transport (or of G.711 law) restarts the
//!   fax session ([`Engine::Restart`]); that is sound only before any page
//!   (phase A: both T.30 engines start again). After a page a change to
//!   T.38 is refused with 488, and so is a change of G.711 law in the
//!   middle of a G.711 fax; the call carries on as it is.
//! * **Back to audio after the fax.** A gateway that returns to voice once
//!   the fax is over (Mediatrix re-INVITEs from T.38 to G.711 before it
//!   hangs up) is answered 200 even though pages were transferred
//!   ([`Engine::EndKeepingResult`]): only the media leg changes; the fax
//!   session is ended if still running and keeps its result.
//! * **Set-up failures.** When the driver cannot build the new media
//!   ([`Input::PrepareFailed`]) the far end's re-INVITE is refused with
//!   500 and the call stays as it was.
//!
//! What it is not: the SIP transactions. The endpoint's call layer answers
//! 491 to a re-INVITE that crosses one of ours already sent, 500 with
//! Retry-After to one that arrives while the previous INVITE is still in
//! progress (RFC 3261 §14.2), and repeats our re-INVITE after its own 491
//! back-off before it reports [`Outcome::Glare`] here.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::sdp::{
    self, Codec, LocalMediaCaps, LocalSession, Negotiated, OfferKind, SdpError, SessionDescription,
};
use crate::sip::policy::glare_backoff;

/// Our re-INVITE to T.38 goes out no earlier than this after the call is
/// established, even when the far end's fax signal was heard sooner (early
/// media): it lets the far end take our ACK first. A re-INVITE that
/// overtakes the ACK is dropped by some stacks (rsipstack 0.7.14 ignores it
/// in its wait-ACK state) and then costs a 32 s transaction timeout.
pub const REINVITE_DELAY: Duration = Duration::from_millis(500);

/// How long after establishment we listen for the far end's CNG, CED or
/// V.21 preamble before giving up on our re-INVITE. A calling fax repeats
/// CNG every 3.5 s and an answering one sends CED and DIS within about 4 s
/// of answering (T.30 §5.2, §6.2), so a far end silent for 10 s is not a
/// fax we should move to T.38; the call stays on G.711.
pub const FAX_SIGNAL_TIMEOUT: Duration = Duration::from_secs(10);

/// Most re-INVITEs to T.38 we send in one call, retries included.
pub const REINVITE_ATTEMPTS: u32 = 3;

/// The pause before asking again a far end that was busy or did not
/// answer ([`Refused::Later`]).
pub const REINVITE_RETRY: Duration = Duration::from_secs(1);

/// The media a call runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaPath {
    /// G.711 audio over RTP.
    Audio(Codec),
    /// T.38 over UDPTL.
    T38,
}

impl MediaPath {
    /// The media an offer/answer selected.
    pub fn of(neg: &Negotiated) -> MediaPath {
        match neg {
            Negotiated::Audio(a) => MediaPath::Audio(a.codec),
            Negotiated::T38(_) => MediaPath::T38,
        }
    }
}

impl std::fmt::Display for MediaPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MediaPath::Audio(c) => write!(f, "G.711 {}", c.name()),
            MediaPath::T38 => f.write_str("T.38"),
        }
    }
}

/// What a final refusal of a re-INVITE says about the change of media it
/// offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// 408, 491, 500, 503: the far end did not answer in time, was busy
    /// with another INVITE (RFC 3261 §14.2) or overloaded; the same offer
    /// may be taken later.
    Later,
    /// 415, 488, 606: the far end cannot take the offer (no T.38 there).
    NotAcceptable,
    /// Any other status.
    Other,
}

/// Classify the final non-2xx `status` of a re-INVITE. Fax calls retry
/// [`Refused::Later`]; the bridge gateways a T.38 offer the other party
/// finds [`Refused::NotAcceptable`].
pub fn refused(status: u16) -> Refused {
    match status {
        408 | 491 | 500 | 503 => Refused::Later,
        415 | 488 | 606 => Refused::NotAcceptable,
        _ => Refused::Other,
    }
}

/// How a switch behaves in one call.
#[derive(Debug, Clone)]
pub struct Config {
    /// Our media capabilities: what we offer in a re-INVITE and answer one
    /// with (no T.38 in them: no switching to T.38 at all).
    pub caps: LocalMediaCaps,
    /// Re-INVITE to T.38 ourselves when, on G.711, the far end's fax
    /// signal is heard.
    pub t38_reinvite: bool,
    /// We chose the Call-ID (we placed the call): the longer glare back-off
    /// of RFC 3261 §14.1.
    pub owns_call_id: bool,
}

/// How far the fax session has got, as far as switching cares.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaxState {
    /// Pages transferred (confirmed) so far.
    pub pages: u32,
    /// The T.30 session is over.
    pub finished: bool,
}

impl FaxState {
    /// A page has been transferred or the session is over: restarting it
    /// over another transport would lose the document.
    fn moved(self) -> bool {
        self.pages > 0 || self.finished
    }
}

/// What the outcome of our re-INVITE was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx with this SDP answer.
    Accepted(Vec<u8>),
    /// A final non-2xx status.
    Refused(u16),
    /// It collided with the far end's re-INVITE (491) on every attempt the
    /// call layer made.
    Glare,
    /// No final response came.
    NoResponse,
    /// It could not be sent (the call ended, a stack error).
    Failed(String),
}

/// Something that happened to the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The call is up: our 2xx was acknowledged, or the far end's 2xx came.
    Established,
    /// The far end's fax signal (CNG, CED or V.21 preamble) was heard in
    /// the received audio.
    SignalHeard,
    /// No tone detector could be made: nothing to listen with.
    DetectorUnavailable,
    /// The fax session's progress changed.
    Fax(FaxState),
    /// The far end offers a new session description in a re-INVITE (or
    /// UPDATE); `fax` is the session's progress at that moment.
    ReInvite {
        /// The SDP offer.
        offer: Vec<u8>,
        /// The fax session's progress.
        fax: FaxState,
    },
    /// Our re-INVITE ([`Action::SendReInvite`]) got its final outcome.
    ReInviteDone(Outcome),
    /// What [`Action::Prepare`] asked for is ready.
    Prepared,
    /// What [`Action::Prepare`] asked for could not be built.
    PrepareFailed,
    /// [`Switch::poll_timeout`] has passed.
    Timeout,
}

/// What a change of media does to the fax session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// A new session over the new transport (before any page).
    Restart,
    /// The session carries on: same transport, new addresses or
    /// parameters.
    Keep,
    /// Back to voice after the fax: the session is ended if still running
    /// and keeps its result; the new audio leg carries silence.
    EndKeepingResult,
}

/// A change of media to set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The stream the offer/answer selected.
    pub media: Negotiated,
    /// What happens to the fax session.
    pub engine: Engine,
}

/// Why the far end's re-INVITE is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The offer is not SDP we can read.
    Unreadable(SdpError),
    /// Nothing in the offer fits our capabilities.
    NotAcceptable(SdpError),
    /// A change to T.38 after pages were transferred.
    T38AfterPages,
    /// The other G.711 law in the middle of a G.711 fax.
    CodecChangeMidFax,
    /// The new media could not be set up ([`Input::PrepareFailed`]).
    CannotSwitch,
}

/// The final answer to the far end's re-INVITE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// 200 with this SDP answer.
    Accept(Vec<u8>),
    /// Refused; the current session carries on.
    Refuse {
        /// The status.
        status: u16,
        /// Why.
        why: Refusal,
    },
}

/// Why listening for the far end's fax signal ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenEnd {
    /// The signal was heard: our re-INVITE follows.
    SignalHeard,
    /// None within [`FAX_SIGNAL_TIMEOUT`]: the call stays on G.711.
    NoSignal,
    /// The media changed (the far end switched first).
    MediaChanged,
}

/// Why our switch to T.38 did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StayReason {
    /// Our T.38 offer could not be written.
    NoOffer(SdpError),
    /// The far end refused it with this status.
    Refused(u16),
    /// It collided with the far end's re-INVITE on every attempt.
    Glare,
    /// No final response came.
    NoResponse,
    /// It could not be sent.
    Failed(String),
    /// The far end's 2xx carried an answer we cannot use.
    UnusableAnswer(SdpError),
}

/// What the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send a re-INVITE with this offer (T.38) and report its outcome with
    /// [`Input::ReInviteDone`].
    SendReInvite(SessionDescription),
    /// Build what the change needs (a new media leg, and a new fax session
    /// for [`Engine::Restart`]) without touching the running ones, then
    /// feed [`Input::Prepared`] or [`Input::PrepareFailed`].
    Prepare(Change),
    /// Answer the far end's pending re-INVITE.
    Answer(Answer),
    /// Put the prepared change in force.
    Install(Engine),
    /// Stop listening for the far end's fax signal.
    StopListening(ListenEnd),
    /// Our re-INVITE did not move the call to T.38; it stays on its
    /// current media, and asks again at `retry_at` if set.
    StayOnAudio {
        /// Why.
        why: StayReason,
        /// When the next attempt is due.
        retry_at: Option<Instant>,
    },
}

/// A change waiting for the driver's [`Input::Prepared`].
#[derive(Debug, Clone)]
struct Pending {
    /// Our 200 answer to the far end's re-INVITE; `None` when the change
    /// follows our own re-INVITE.
    answer: Option<Vec<u8>>,
    to: MediaPath,
    engine: Engine,
}

/// The T.38 switching state of one fax call.
#[derive(Debug, Clone)]
pub struct Switch {
    config: Config,
    local: LocalSession,
    /// The media of the leg in use.
    leg: MediaPath,
    /// The media the fax session was made for; after the far end went back
    /// to audio once the fax was over it differs from the leg's.
    session: MediaPath,
    fax: FaxState,
    established_at: Option<Instant>,
    /// Listening for the far end's fax signal.
    listening: bool,
    /// When our re-INVITE to T.38 is due.
    due: Option<Instant>,
    /// Our re-INVITEs sent so far.
    attempts: u32,
    /// The offer of our re-INVITE in flight.
    ours: Option<SessionDescription>,
    pending: Option<Pending>,
    switches: u32,
    /// xorshift64 state for the glare back-off.
    rng: u64,
    actions: VecDeque<Action>,
}

impl Switch {
    /// A call whose media is `media`, with our SDP origin `local` as the
    /// set-up left it; `established` is when the call was established if
    /// it already is (a call we placed). `seed` seeds the glare back-off.
    pub fn new(
        config: Config,
        local: LocalSession,
        media: MediaPath,
        established: Option<Instant>,
        seed: u64,
    ) -> Switch {
        let listening = config.t38_reinvite
            && config.caps.t38.is_some()
            && matches!(media, MediaPath::Audio(_));
        Switch {
            config,
            local,
            leg: media,
            session: media,
            fax: FaxState::default(),
            established_at: established,
            listening,
            due: None,
            attempts: 0,
            ours: None,
            pending: None,
            switches: 0,
            rng: seed | 1,
            actions: VecDeque::new(),
        }
    }

    // Getters.

    /// Listening for the far end's fax signal (a tone detector is needed).
    pub fn listening(&self) -> bool {
        self.listening
    }

    /// The media of the leg in use.
    pub fn media(&self) -> MediaPath {
        self.leg
    }

    /// Changes of media put in force so far.
    pub fn switches(&self) -> u32 {
        self.switches
    }

    /// The fax session can drive the current leg (false once the far end
    /// went back to audio after a T.38 fax, or changed the G.711 law after
    /// it: the leg then carries silence).
    pub fn session_drives_leg(&self) -> bool {
        self.session == self.leg
    }

    /// Our re-INVITE may go out now if due: T.38 re-INVITEs are ours to
    /// send, the call is up and none is in flight.
    fn may_send(&self) -> bool {
        self.config.t38_reinvite
            && self.config.caps.t38.is_some()
            && self.established_at.is_some()
            && self.ours.is_none()
    }

    // Outputs.

    /// When to feed [`Input::Timeout`]: the end of listening for the fax
    /// signal, or our re-INVITE's due time.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let listen = self
            .established_at
            .filter(|_| self.listening)
            .map(|at| at + FAX_SIGNAL_TIMEOUT);
        let due = self.due.filter(|_| self.may_send());
        match (listen, due) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next thing to do.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    // Inputs.

    /// Apply `input`, which happened at `now`.
    pub fn handle(&mut self, input: Input, now: Instant) {
        match input {
            Input::Established => {
                if self.established_at.is_none() {
                    self.established_at = Some(now);
                    // A signal heard in early media waits for the ACK.
                    if let Some(at) = self.due.as_mut() {
                        *at = (*at).max(now + REINVITE_DELAY);
                    }
                }
            }
            Input::SignalHeard => {
                if self.listening {
                    self.listening = false;
                    self.actions
                        .push_back(Action::StopListening(ListenEnd::SignalHeard));
                    let earliest = self.established_at.map_or(now, |at| at + REINVITE_DELAY);
                    self.due = Some(earliest.max(now));
                }
            }
            Input::DetectorUnavailable => self.listening = false,
            Input::Fax(fax) => self.fax = fax,
            Input::ReInvite { offer, fax } => {
                self.fax = fax;
                self.their_reinvite(&offer);
            }
            Input::ReInviteDone(outcome) => self.our_reinvite_done(outcome, now),
            Input::Prepared => self.prepared(),
            Input::PrepareFailed => {
                if let Some(Pending {
                    answer: Some(_), ..
                }) = self.pending.take()
                {
                    self.refuse(500, Refusal::CannotSwitch);
                }
            }
            Input::Timeout => self.timeout(now),
        }
    }

    fn timeout(&mut self, now: Instant) {
        if self.listening
            && self
                .established_at
                .is_some_and(|at| now >= at + FAX_SIGNAL_TIMEOUT)
        {
            self.listening = false;
            self.actions
                .push_back(Action::StopListening(ListenEnd::NoSignal));
        }
        if self.may_send() && self.due.is_some_and(|at| now >= at) {
            self.due = None;
            if matches!(self.leg, MediaPath::Audio(_)) && self.fax.pages == 0 {
                self.send_reinvite();
            }
        }
    }

    fn send_reinvite(&mut self) {
        self.attempts += 1;
        match sdp::offer(&self.config.caps, OfferKind::T38, &mut self.local) {
            Ok(offer) => {
                self.ours = Some(offer.clone());
                self.actions.push_back(Action::SendReInvite(offer));
            }
            Err(e) => self.actions.push_back(Action::StayOnAudio {
                why: StayReason::NoOffer(e),
                retry_at: None,
            }),
        }
    }

    fn our_reinvite_done(&mut self, outcome: Outcome, now: Instant) {
        let Some(offer) = self.ours.take() else {
            return;
        };
        let (why, wait) = match outcome {
            Outcome::Accepted(answer) => {
                match sdp::parse(&String::from_utf8_lossy(&answer))
                    .and_then(|a| sdp::process_answer(&offer, &a))
                {
                    Ok(media) => {
                        let to = MediaPath::of(&media);
                        let engine = if self.needs_new_session(to) {
                            Engine::Restart
                        } else {
                            Engine::Keep
                        };
                        self.prepare(None, media, engine);
                        return;
                    }
                    Err(e) => (StayReason::UnusableAnswer(e), None),
                }
            }
            // RFC 3261 §14.1: after a 491 the back-off depends on who
            // chose the Call-ID.
            Outcome::Refused(491) | Outcome::Glare => {
                let wait = glare_backoff(self.config.owns_call_id, self.random());
                let why = match outcome {
                    Outcome::Glare => StayReason::Glare,
                    _ => StayReason::Refused(491),
                };
                (why, Some(wait))
            }
            Outcome::Refused(status) => {
                let wait = (refused(status) == Refused::Later).then_some(REINVITE_RETRY);
                (StayReason::Refused(status), wait)
            }
            Outcome::NoResponse => (StayReason::NoResponse, Some(REINVITE_RETRY)),
            Outcome::Failed(e) => (StayReason::Failed(e), None),
        };
        let retry_at = wait
            .filter(|_| self.attempts < REINVITE_ATTEMPTS)
            .map(|w| now + w);
        if retry_at.is_some() {
            self.due = retry_at;
        }
        self.actions
            .push_back(Action::StayOnAudio { why, retry_at });
    }

    fn their_reinvite(&mut self, offer: &[u8]) {
        let offer = match sdp::parse(&String::from_utf8_lossy(offer)) {
            Ok(o) => o,
            Err(e) => return self.refuse(e.sip_status(), Refusal::Unreadable(e)),
        };
        let mut caps = self.config.caps.clone();
        // A far end that offers T.38 while we allow it wants fax over T.38.
        caps.prefer_t38 = caps.t38.is_some();
        let answer = match sdp::answer(&offer, &caps, &mut self.local) {
            Ok(a) => a,
            Err(e) => return self.refuse(e.sip_status(), Refusal::NotAcceptable(e)),
        };
        let to = MediaPath::of(&answer.media);
        let engine = match (self.needs_new_session(to), self.fax.moved()) {
            (false, _) => Engine::Keep,
            (true, false) => Engine::Restart,
            // A G.711 T.30 session cannot carry on over T.38 mid-document.
            (true, true) if to == MediaPath::T38 => {
                return self.refuse(488, Refusal::T38AfterPages);
            }
            // The fax carries on over the codec it started with.
            (true, true) if matches!(self.session, MediaPath::Audio(_)) && !self.fax.finished => {
                return self.refuse(488, Refusal::CodecChangeMidFax);
            }
            // Back to voice after the fax (refusing would hold the far end
            // on a T.38 stream it has given up).
            (true, true) => Engine::EndKeepingResult,
        };
        self.prepare(
            Some(answer.sdp.to_string().into_bytes()),
            answer.media,
            engine,
        );
    }

    fn prepare(&mut self, answer: Option<Vec<u8>>, media: Negotiated, engine: Engine) {
        self.pending = Some(Pending {
            answer,
            to: MediaPath::of(&media),
            engine,
        });
        self.actions
            .push_back(Action::Prepare(Change { media, engine }));
    }

    fn prepared(&mut self) {
        let Some(p) = self.pending.take() else {
            return;
        };
        if let Some(body) = p.answer {
            self.actions.push_back(Action::Answer(Answer::Accept(body)));
        }
        self.leg = p.to;
        self.actions.push_back(Action::Install(p.engine));
        match p.engine {
            Engine::Keep => return,
            Engine::Restart => self.session = p.to,
            // Its T.30 messages cannot reach the far end any more.
            Engine::EndKeepingResult => self.fax.finished = true,
        }
        self.switches += 1;
        if self.listening {
            // Nothing left to listen for (normally the far end moved to
            // T.38 first).
            self.listening = false;
            self.actions
                .push_back(Action::StopListening(ListenEnd::MediaChanged));
        }
    }

    fn refuse(&mut self, status: u16, why: Refusal) {
        self.actions
            .push_back(Action::Answer(Answer::Refuse { status, why }));
    }

    /// Whether the fax session cannot run over `to` (a different
    /// transport, or the other G.711 law).
    fn needs_new_session(&self, to: MediaPath) -> bool {
        self.session != to
    }

    fn random(&mut self) -> u32 {
        // xorshift64 (Marsaglia 2003): enough to set two UAs' back-offs
        // apart.
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        (x >> 32) as u32
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;
    use crate::sdp::{AudioCaps, T38Caps, T38Params};

    const HERE: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));

    fn caps(t38: bool) -> LocalMediaCaps {
        LocalMediaCaps {
            address: HERE,
            audio: Some(AudioCaps {
                port: 4000,
                codecs: vec![Codec::Pcma, Codec::Pcmu],
                telephone_event: None,
                ptime: 20,
            }),
            t38: t38.then(|| T38Caps {
                port: 4002,
                params: T38Params::default(),
            }),
            prefer_t38: false,
        }
    }

    fn switch_with(
        t38: bool,
        t38_reinvite: bool,
        owns_call_id: bool,
        media: MediaPath,
        established: Option<Instant>,
        seed: u64,
    ) -> Switch {
        Switch::new(
            Config {
                caps: caps(t38),
                t38_reinvite,
                owns_call_id,
            },
            LocalSession::new(7, HERE),
            media,
            established,
            seed,
        )
    }

    /// A call we answered on G.711 A-law, re-INVITEing to T.38 on the far
    /// end's fax signal, not yet established.
    fn answering() -> Switch {
        switch_with(true, true, false, MediaPath::Audio(Codec::Pcma), None, 1)
    }

    fn step(s: &mut Switch, input: Input, now: Instant) -> Vec<Action> {
        s.handle(input, now);
        std::iter::from_fn(|| s.poll_action()).collect()
    }

    fn audio_sdp(version: u32, pt: u8, codec: &str) -> Vec<u8> {
        format!(
            "v=0\r\no=- 77 {version} IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 198.51.100.7\r\nt=0 0\r\n\
             m=audio 5000 RTP/AVP {pt}\r\na=rtpmap:{pt} {codec}/8000\r\n"
        )
        .into_bytes()
    }

    fn image_sdp(version: u32) -> Vec<u8> {
        format!(
            "v=0\r\no=- 77 {version} IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 198.51.100.7\r\nt=0 0\r\n\
             m=image 5002 udptl t38\r\na=T38FaxVersion:0\r\na=T38MaxBitRate:14400\r\n\
             a=T38FaxRateManagement:transferredTCF\r\na=T38FaxMaxDatagram:400\r\n\
             a=T38FaxUdpEC:t38UDPRedundancy\r\n"
        )
        .into_bytes()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Established at `t0`, signal heard at `t0 + 1 s`: the re-INVITE is
    /// sent at once. Returns its offer.
    fn sent_reinvite(s: &mut Switch, t0: Instant) -> SessionDescription {
        step(s, Input::Established, t0);
        step(s, Input::SignalHeard, t0 + ms(1000));
        match step(s, Input::Timeout, t0 + ms(1000)).as_slice() {
            [Action::SendReInvite(offer)] => offer.clone(),
            other => panic!("{other:?}"),
        }
    }

    fn prepare_of(actions: &[Action]) -> (MediaPath, Engine) {
        match actions {
            [Action::Prepare(c)] => (MediaPath::of(&c.media), c.engine),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn listens_only_on_g711_with_t38_allowed_and_asked_for() {
        let audio = MediaPath::Audio(Codec::Pcmu);
        for (t38, reinvite, media, listens) in [
            (true, true, audio, true),
            (true, false, audio, false),
            (false, true, audio, false),
            (true, true, MediaPath::T38, false),
        ] {
            let s = switch_with(t38, reinvite, false, media, None, 1);
            assert_eq!(s.listening(), listens, "{t38} {reinvite} {media}");
            assert_eq!(
                s.poll_timeout(),
                None,
                "nothing to time before the call is up"
            );
        }
        // No detector: nothing to listen with.
        let mut s = answering();
        step(&mut s, Input::DetectorUnavailable, Instant::now());
        assert!(!s.listening());
    }

    #[test]
    fn a_signal_heard_after_establishment_sends_the_reinvite_once_the_ack_had_time() {
        let t0 = Instant::now();
        let mut s = answering();
        step(&mut s, Input::Established, t0);
        assert_eq!(s.poll_timeout(), Some(t0 + FAX_SIGNAL_TIMEOUT));
        // Heard 100 ms after establishment: due at 500 ms.
        assert_eq!(
            step(&mut s, Input::SignalHeard, t0 + ms(100)),
            [Action::StopListening(ListenEnd::SignalHeard)]
        );
        assert!(!s.listening());
        assert_eq!(s.poll_timeout(), Some(t0 + REINVITE_DELAY));
        assert_eq!(step(&mut s, Input::Timeout, t0 + ms(300)), [], "not yet");
        let sent = step(&mut s, Input::Timeout, t0 + REINVITE_DELAY);
        let [Action::SendReInvite(offer)] = sent.as_slice() else {
            panic!("{sent:?}");
        };
        assert_eq!(offer.media.len(), 1);
        assert!(offer.media[0].is_udptl_t38(), "a T.38 offer: {offer}");
        assert_eq!(offer.media[0].port, 4002);
        assert_eq!(s.poll_timeout(), None, "in flight: nothing due");
        // A signal heard later (the detector is gone) changes nothing.
        assert_eq!(step(&mut s, Input::SignalHeard, t0 + ms(900)), []);
    }

    #[test]
    fn a_signal_heard_in_early_media_waits_for_establishment() {
        let t0 = Instant::now();
        let mut s = answering();
        step(&mut s, Input::SignalHeard, t0);
        assert_eq!(s.poll_timeout(), None, "not before the call is up");
        assert_eq!(step(&mut s, Input::Timeout, t0 + ms(2000)), []);
        step(&mut s, Input::Established, t0 + ms(3000));
        assert_eq!(s.poll_timeout(), Some(t0 + ms(3000) + REINVITE_DELAY));
        let sent = step(&mut s, Input::Timeout, t0 + ms(3500));
        assert!(
            matches!(sent.as_slice(), [Action::SendReInvite(_)]),
            "{sent:?}"
        );
        // A second Established (a repeated event) moves nothing.
        step(&mut s, Input::Established, t0 + ms(4000));
    }

    #[test]
    fn no_signal_within_the_timeout_stays_on_g711() {
        let t0 = Instant::now();
        let mut s = answering();
        step(&mut s, Input::Established, t0);
        assert_eq!(step(&mut s, Input::Timeout, t0 + ms(9990)), []);
        assert_eq!(
            step(&mut s, Input::Timeout, t0 + FAX_SIGNAL_TIMEOUT),
            [Action::StopListening(ListenEnd::NoSignal)]
        );
        assert!(!s.listening());
        assert_eq!(s.poll_timeout(), None);
        assert_eq!(step(&mut s, Input::SignalHeard, t0 + ms(11_000)), []);
    }

    #[test]
    fn accepted_reinvite_restarts_the_session_on_t38() {
        let t0 = Instant::now();
        let mut s = answering();
        sent_reinvite(&mut s, t0);
        let out = step(
            &mut s,
            Input::ReInviteDone(Outcome::Accepted(image_sdp(2))),
            t0 + ms(1100),
        );
        assert_eq!(prepare_of(&out), (MediaPath::T38, Engine::Restart));
        assert_eq!(
            s.media(),
            MediaPath::Audio(Codec::Pcma),
            "not before it is built"
        );
        assert_eq!(
            step(&mut s, Input::Prepared, t0 + ms(1100)),
            [Action::Install(Engine::Restart)]
        );
        assert_eq!(s.media(), MediaPath::T38);
        assert_eq!(s.switches(), 1);
        assert!(s.session_drives_leg());
        assert_eq!(s.poll_timeout(), None);
    }

    #[test]
    fn unusable_answer_or_failed_setup_stays_on_g711() {
        let t0 = Instant::now();
        let mut s = answering();
        sent_reinvite(&mut s, t0);
        // An audio answer to an image offer does not line up.
        let out = step(
            &mut s,
            Input::ReInviteDone(Outcome::Accepted(audio_sdp(2, 8, "PCMA"))),
            t0,
        );
        assert!(
            matches!(
                out.as_slice(),
                [Action::StayOnAudio {
                    why: StayReason::UnusableAnswer(_),
                    retry_at: None
                }]
            ),
            "{out:?}"
        );
        let mut s = answering();
        sent_reinvite(&mut s, t0);
        step(
            &mut s,
            Input::ReInviteDone(Outcome::Accepted(image_sdp(2))),
            t0,
        );
        // Our own change needs no answer when it cannot be built.
        assert_eq!(step(&mut s, Input::PrepareFailed, t0), []);
        assert_eq!(s.media(), MediaPath::Audio(Codec::Pcma));
        assert_eq!(s.switches(), 0);
    }

    #[test]
    fn refusals_keep_g711_and_busy_far_ends_are_asked_again() {
        let t0 = Instant::now();
        for (outcome, retry) in [
            (Outcome::Refused(488), None),
            (Outcome::Refused(415), None),
            (Outcome::Refused(606), None),
            (Outcome::Refused(403), None),
            (Outcome::Failed("the call ended".into()), None),
            (Outcome::Refused(408), Some(REINVITE_RETRY)),
            (Outcome::Refused(500), Some(REINVITE_RETRY)),
            (Outcome::Refused(503), Some(REINVITE_RETRY)),
            (Outcome::NoResponse, Some(REINVITE_RETRY)),
        ] {
            let mut s = answering();
            sent_reinvite(&mut s, t0);
            let at = t0 + ms(2000);
            let out = step(&mut s, Input::ReInviteDone(outcome.clone()), at);
            let [Action::StayOnAudio { retry_at, .. }] = out.as_slice() else {
                panic!("{outcome:?}: {out:?}");
            };
            assert_eq!(*retry_at, retry.map(|r| at + r), "{outcome:?}");
            assert_eq!(s.poll_timeout(), *retry_at, "{outcome:?}");
            assert_eq!(s.media(), MediaPath::Audio(Codec::Pcma));
        }
    }

    #[test]
    fn at_most_three_reinvites() {
        let t0 = Instant::now();
        let mut s = answering();
        sent_reinvite(&mut s, t0);
        let mut now = t0 + ms(1000);
        for attempt in 1..=REINVITE_ATTEMPTS {
            let out = step(&mut s, Input::ReInviteDone(Outcome::Refused(503)), now);
            let [Action::StayOnAudio { retry_at, .. }] = out.as_slice() else {
                panic!("{out:?}");
            };
            if attempt == REINVITE_ATTEMPTS {
                assert_eq!(*retry_at, None, "given up after {attempt}");
                break;
            }
            now += REINVITE_RETRY;
            assert_eq!(*retry_at, Some(now));
            let out = step(&mut s, Input::Timeout, now);
            assert!(
                matches!(out.as_slice(), [Action::SendReInvite(_)]),
                "{out:?}"
            );
        }
        assert_eq!(s.poll_timeout(), None);
    }

    #[test]
    fn glare_backs_off_as_rfc_3261_14_1_says() {
        let t0 = Instant::now();
        for seed in 0..200u64 {
            for (owns, lo, hi) in [(true, 2100, 4000), (false, 0, 2000)] {
                for outcome in [Outcome::Glare, Outcome::Refused(491)] {
                    let mut s =
                        switch_with(true, true, owns, MediaPath::Audio(Codec::Pcmu), None, seed);
                    sent_reinvite(&mut s, t0);
                    let at = t0 + ms(5000);
                    let out = step(&mut s, Input::ReInviteDone(outcome.clone()), at);
                    let [Action::StayOnAudio { retry_at, .. }] = out.as_slice() else {
                        panic!("{out:?}");
                    };
                    let wait = retry_at.expect("glare is retried") - at;
                    assert!(
                        wait >= ms(lo) && wait <= ms(hi),
                        "owns Call-ID {owns}, seed {seed}: {wait:?}"
                    );
                    assert_eq!(wait.as_millis() % 10, 0);
                }
            }
        }
        // The back-off is random: two seeds differ somewhere.
        let waits: std::collections::BTreeSet<_> = (0..20u64)
            .map(|seed| {
                let mut s =
                    switch_with(true, true, true, MediaPath::Audio(Codec::Pcmu), None, seed);
                sent_reinvite(&mut s, t0);
                step(&mut s, Input::ReInviteDone(Outcome::Glare), t0);
                s.poll_timeout()
            })
            .collect();
        assert!(waits.len() > 1, "{waits:?}");
    }

    #[test]
    fn no_reinvite_after_a_page_or_on_t38() {
        let t0 = Instant::now();
        let mut s = answering();
        step(&mut s, Input::Established, t0);
        step(&mut s, Input::SignalHeard, t0 + ms(1000));
        step(
            &mut s,
            Input::Fax(FaxState {
                pages: 1,
                finished: false,
            }),
            t0 + ms(1000),
        );
        assert_eq!(step(&mut s, Input::Timeout, t0 + ms(1000)), []);
        assert_eq!(s.poll_timeout(), None, "the due time is spent");
        // On T.38 already (the far end switched first).
        let mut s = answering();
        step(&mut s, Input::Established, t0);
        step(&mut s, Input::SignalHeard, t0 + ms(100));
        step(
            &mut s,
            Input::ReInvite {
                offer: image_sdp(2),
                fax: FaxState::default(),
            },
            t0 + ms(200),
        );
        step(&mut s, Input::Prepared, t0 + ms(200));
        assert_eq!(step(&mut s, Input::Timeout, t0 + ms(500)), []);
        assert_eq!(s.switches(), 1);
    }

    #[test]
    fn their_reinvite_to_t38_before_any_page_restarts_the_session() {
        let t0 = Instant::now();
        let mut s = answering();
        step(&mut s, Input::Established, t0);
        let out = step(
            &mut s,
            Input::ReInvite {
                offer: image_sdp(2),
                fax: FaxState::default(),
            },
            t0 + ms(300),
        );
        assert_eq!(prepare_of(&out), (MediaPath::T38, Engine::Restart));
        let out = step(&mut s, Input::Prepared, t0 + ms(300));
        let [
            Action::Answer(Answer::Accept(body)),
            Action::Install(Engine::Restart),
            Action::StopListening(ListenEnd::MediaChanged),
        ] = out.as_slice()
        else {
            panic!("{out:?}");
        };
        let answer = sdp::parse(&String::from_utf8_lossy(body)).unwrap();
        assert!(answer.media[0].is_udptl_t38() && answer.media[0].port == 4002);
        assert_eq!(s.media(), MediaPath::T38);
        assert_eq!(s.poll_timeout(), None, "nothing left to listen for");
        // A refresh keeping the image m-line keeps the session.
        let out = step(
            &mut s,
            Input::ReInvite {
                offer: image_sdp(3),
                fax: FaxState {
                    pages: 1,
                    finished: false,
                },
            },
            t0 + ms(5000),
        );
        assert_eq!(prepare_of(&out), (MediaPath::T38, Engine::Keep));
        let out = step(&mut s, Input::Prepared, t0 + ms(5000));
        assert!(
            matches!(
                out.as_slice(),
                [
                    Action::Answer(Answer::Accept(_)),
                    Action::Install(Engine::Keep)
                ]
            ),
            "{out:?}"
        );
        assert_eq!(s.switches(), 1);
    }

    #[test]
    fn their_reinvite_that_cannot_be_set_up_gets_500() {
        let t0 = Instant::now();
        let mut s = answering();
        step(&mut s, Input::Established, t0);
        step(
            &mut s,
            Input::ReInvite {
                offer: image_sdp(2),
                fax: FaxState::default(),
            },
            t0,
        );
        assert_eq!(
            step(&mut s, Input::PrepareFailed, t0),
            [Action::Answer(Answer::Refuse {
                status: 500,
                why: Refusal::CannotSwitch
            })]
        );
        assert_eq!(s.media(), MediaPath::Audio(Codec::Pcma));
        assert!(s.listening(), "still listening on the old media");
    }

    #[test]
    fn their_unusable_offers_are_refused() {
        let t0 = Instant::now();
        let mut s = answering();
        let out = step(
            &mut s,
            Input::ReInvite {
                offer: b"not sdp".to_vec(),
                fax: FaxState::default(),
            },
            t0,
        );
        assert!(
            matches!(
                out.as_slice(),
                [Action::Answer(Answer::Refuse {
                    status: 400,
                    why: Refusal::Unreadable(_)
                })]
            ),
            "{out:?}"
        );
        // T.38 offered to a call without T.38: nothing fits.
        let mut s = switch_with(false, false, false, MediaPath::Audio(Codec::Pcma), None, 1);
        let out = step(
            &mut s,
            Input::ReInvite {
                offer: image_sdp(2),
                fax: FaxState::default(),
            },
            t0,
        );
        assert!(
            matches!(
                out.as_slice(),
                [Action::Answer(Answer::Refuse {
                    status: 488,
                    why: Refusal::NotAcceptable(_)
                })]
            ),
            "{out:?}"
        );
    }

    #[test]
    fn after_a_page_t38_and_codec_changes_are_refused_but_voice_after_the_fax_is_taken() {
        let t0 = Instant::now();
        let page = FaxState {
            pages: 1,
            finished: false,
        };
        let done = FaxState {
            pages: 3,
            finished: true,
        };
        // G.711 fax under way: no T.38, no other law.
        let mut s = answering();
        let out = step(
            &mut s,
            Input::ReInvite {
                offer: image_sdp(2),
                fax: page,
            },
            t0,
        );
        assert_eq!(
            out,
            [Action::Answer(Answer::Refuse {
                status: 488,
                why: Refusal::T38AfterPages
            })]
        );
        let out = step(
            &mut s,
            Input::ReInvite {
                offer: audio_sdp(3, 0, "PCMU"),
                fax: page,
            },
            t0,
        );
        assert_eq!(
            out,
            [Action::Answer(Answer::Refuse {
                status: 488,
                why: Refusal::CodecChangeMidFax
            })]
        );
        // The same law at a new address carries on.
        let out = step(
            &mut s,
            Input::ReInvite {
                offer: audio_sdp(4, 8, "PCMA"),
                fax: page,
            },
            t0,
        );
        assert_eq!(
            prepare_of(&out),
            (MediaPath::Audio(Codec::Pcma), Engine::Keep)
        );
        // A G.711 fax that finished may change law: the leg carries silence.
        let mut s = answering();
        let out = step(
            &mut s,
            Input::ReInvite {
                offer: audio_sdp(2, 0, "PCMU"),
                fax: done,
            },
            t0,
        );
        assert_eq!(
            prepare_of(&out),
            (MediaPath::Audio(Codec::Pcmu), Engine::EndKeepingResult)
        );
        // A T.38 fax, over or in the middle of the document: back to voice
        // is taken, the session ends keeping its result.
        for fax in [page, done] {
            let mut s = switch_with(true, false, false, MediaPath::T38, None, 1);
            let out = step(
                &mut s,
                Input::ReInvite {
                    offer: audio_sdp(2, 8, "PCMA"),
                    fax,
                },
                t0,
            );
            assert_eq!(
                prepare_of(&out),
                (MediaPath::Audio(Codec::Pcma), Engine::EndKeepingResult)
            );
            let out = step(&mut s, Input::Prepared, t0);
            assert!(
                matches!(
                    out.as_slice(),
                    [
                        Action::Answer(Answer::Accept(_)),
                        Action::Install(Engine::EndKeepingResult)
                    ]
                ),
                "{out:?}"
            );
            assert_eq!(s.media(), MediaPath::Audio(Codec::Pcma));
            assert!(!s.session_drives_leg(), "the leg carries silence");
            assert_eq!(s.switches(), 1);
            // T.38 again puts the ended session back on its own
            // transport: nothing to restart.
            let out = step(
                &mut s,
                Input::ReInvite {
                    offer: image_sdp(3),
                    fax: FaxState {
                        pages: fax.pages,
                        finished: true,
                    },
                },
                t0,
            );
            assert_eq!(prepare_of(&out), (MediaPath::T38, Engine::Keep));
        }
    }

    #[test]
    fn refusal_classes() {
        for (status, class) in [
            (408, Refused::Later),
            (491, Refused::Later),
            (500, Refused::Later),
            (503, Refused::Later),
            (415, Refused::NotAcceptable),
            (488, Refused::NotAcceptable),
            (606, Refused::NotAcceptable),
            (403, Refused::Other),
            (486, Refused::Other),
            (603, Refused::Other),
        ] {
            assert_eq!(refused(status), class, "{status}");
        }
    }

    #[test]
    fn media_paths_read_well() {
        assert_eq!(MediaPath::Audio(Codec::Pcma).to_string(), "G.711 PCMA");
        assert_eq!(MediaPath::T38.to_string(), "T.38");
    }
}
