//! Calls as the fax and media layers see them.
//!
//! An incoming INVITE that passed the ACL, routing and offer checks becomes an
//! [`IncomingCall`]: the handler answers it with an SDP answer
//! ([`IncomingCall::accept`]) or a status ([`IncomingCall::reject`]), and then
//! reads [`CallEvent`]s from the [`ActiveCall`]: the ACK, re-INVITEs from the
//! far end (typically the switch to T.38, answered with an `m=image` answer),
//! and the end of the call (BYE, CANCEL, ACK timeout). A call we place
//! ([`super::SipEndpoint::dial`]) becomes a [`Dialing`] and, once answered,
//! the same [`ActiveCall`]. Either side can send re-INVITEs and BYE through a
//! [`CallHandle`].

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rsipstack::dialog::dialog::{DialogState, DialogStateReceiver, TerminatedReason};
use rsipstack::dialog::invitation::InviteAsyncResult;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::{Header, Method, Request, StatusCode, StatusCodeKind, prelude::HeadersExt};
use rsipstack::transaction::key::TransactionRole;
use rsipstack::transaction::transaction::{TransactionEvent, TransactionEventSender};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

use super::config::TransportKind;
use super::endpoint::Registry;
use super::offer::{MediaKind, OfferSummary, inspect_offer};
use super::policy::{
    ACCEPT, ALLOW, Refusal, SUPPORTED, glare_backoff, is_unchanged_offer, refresh_interval_as_uac,
    reinvite_retry_after, session_expires_answer,
};

/// Errors of call operations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The call was already answered, rejected or ended.
    #[error("the call {0} is no longer waiting for an answer (answered, timed out or cancelled)")]
    NotPending(String),
    /// The dialog is not established (no 2xx/ACK yet, or already ended).
    #[error("the call {0} is not established; re-INVITE and BYE need an answered call")]
    NotEstablished(String),
    /// The far end never answered our request.
    #[error("no final response to our {method} in call {call_id}; the peer is unreachable")]
    NoResponse {
        /// Call-ID.
        call_id: String,
        /// Request method.
        method: &'static str,
    },
    /// The SIP stack failed to send.
    #[error("SIP stack error in call {call_id}: {message}")]
    Stack {
        /// Call-ID.
        call_id: String,
        /// The stack's message.
        message: String,
    },
    /// Our re-INVITE kept colliding with the far end's.
    #[error("re-INVITE in call {0} collided (491) on every attempt; retry later")]
    Glare(String),
}

/// Why a call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndReason {
    /// The far end sent BYE.
    RemoteHangup,
    /// We sent BYE (or CANCEL).
    LocalHangup,
    /// The caller cancelled before we answered (we answered 487).
    Cancelled,
    /// Our 2xx was never acknowledged (RFC 3261 §13.3.1.4); a BYE was sent.
    NoAck,
    /// The INVITE failed with this status (ours or theirs).
    Failed(u16),
}

/// Something that happened in an established or pending call.
#[derive(Debug)]
pub enum CallEvent {
    /// The session is up: ACK received (incoming) or 2xx received (outgoing).
    Established,
    /// The far end offers a new session description.
    ReInvite(ReInvite),
    /// The call is over; no more events follow.
    Ended(EndReason),
}

/// A re-INVITE (or UPDATE with SDP) from the far end, waiting for an answer.
///
/// Dropping it unanswered answers 488 and keeps the current session
/// (RFC 3261 §14.2).
#[derive(Debug)]
pub struct ReInvite {
    /// The new offer.
    pub offer: Vec<u8>,
    /// What the endpoint's offer check saw (`None` if no usable stream).
    pub summary: Option<OfferSummary>,
    responder: Option<oneshot::Sender<ReInviteReply>>,
}

#[derive(Debug)]
enum ReInviteReply {
    Accept(Vec<u8>),
    Reject(u16),
}

impl ReInvite {
    /// True when the offer switches to (or keeps) T.38.
    pub fn is_t38(&self) -> bool {
        self.summary.as_ref().map(|s| s.kind) == Some(MediaKind::T38)
    }

    /// Answers 200 with `answer` as the new session description.
    pub fn accept(mut self, answer: Vec<u8>) {
        if let Some(r) = self.responder.take() {
            let _ = r.send(ReInviteReply::Accept(answer));
        }
    }

    /// Refuses with `status` (usually 488); the current session continues.
    pub fn reject(mut self, status: u16) {
        if let Some(r) = self.responder.take() {
            let _ = r.send(ReInviteReply::Reject(status));
        }
    }
}

/// Result of a re-INVITE we sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReInviteOutcome {
    /// 2xx: the far end's answer.
    Accepted(Vec<u8>),
    /// Final non-2xx (488: the old session continues, RFC 3261 §14.1).
    Rejected(u16),
}

/// A provisional response to a call we placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// 180, 183, …
    pub status: u16,
    /// Early media SDP, if any.
    pub sdp: Option<Vec<u8>>,
}

pub(crate) struct SdpState {
    pub(crate) local: Vec<u8>,
    pub(crate) remote: Vec<u8>,
}

/// State shared by a call's handle, its task and the endpoint.
pub(crate) struct CallShared {
    pub(crate) call_id: String,
    pub(crate) dialog: InviteDialog,
    /// RFC 3261 §14.1: the UA that chose the Call-ID uses the longer backoff.
    pub(crate) owns_call_id: bool,
    pub(crate) our_reinvite: AtomicBool,
    pub(crate) their_reinvite: AtomicBool,
    pub(crate) sdp: Mutex<SdpState>,
    pub(crate) ended: AtomicBool,
    /// Session-Expires answer for re-INVITE refreshes (incoming calls).
    pub(crate) session_expires: Option<String>,
    /// The status we refused the INVITE with, for [`EndReason::Failed`].
    pub(crate) refused_with: AtomicU16,
}

/// A cloneable handle to send re-INVITEs and BYE in a call.
#[derive(Clone)]
pub struct CallHandle {
    pub(crate) shared: Arc<CallShared>,
}

impl std::fmt::Debug for CallHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallHandle")
            .field("call_id", &self.shared.call_id)
            .finish()
    }
}

fn sdp_headers() -> Vec<Header> {
    vec![Header::ContentType("application/sdp".to_string().into())]
}

impl CallHandle {
    /// The Call-ID.
    pub fn call_id(&self) -> &str {
        &self.shared.call_id
    }

    /// True once the call has ended.
    pub fn is_ended(&self) -> bool {
        self.shared.ended.load(Ordering::SeqCst)
    }

    /// Sends a re-INVITE with `offer` (e.g. switching to T.38) and waits for
    /// the final response. A 491 (glare) is retried after the RFC 3261 §14.1
    /// backoff, and a 500 with `Retry-After` of at most 10 s (the far end was
    /// still busy with another offer or had not yet seen our ACK) after that
    /// wait, up to 4 attempts in all.
    pub async fn reinvite(&self, offer: Vec<u8>) -> Result<ReInviteOutcome, CallError> {
        let s = &self.shared;
        const ATTEMPTS: usize = 4;
        for attempt in 0..ATTEMPTS {
            let mut retry_after = None;
            if s.ended.load(Ordering::SeqCst) {
                return Err(CallError::NotEstablished(s.call_id.clone()));
            }
            // The INVITE that set the call up is in progress until its ACK.
            wait_for_ack(&s.dialog).await;
            // §14.1: no new INVITE while one is in progress in either direction.
            let glare = if s.their_reinvite.load(Ordering::SeqCst)
                || s.our_reinvite.swap(true, Ordering::SeqCst)
            {
                true
            } else {
                let result = s
                    .dialog
                    .reinvite(Some(sdp_headers()), Some(offer.clone()))
                    .await;
                s.our_reinvite.store(false, Ordering::SeqCst);
                let resp = result
                    .map_err(|e| CallError::Stack {
                        call_id: s.call_id.clone(),
                        message: e.to_string(),
                    })?
                    .ok_or_else(|| {
                        if s.dialog.state().is_confirmed() {
                            CallError::NoResponse {
                                call_id: s.call_id.clone(),
                                method: "re-INVITE",
                            }
                        } else {
                            CallError::NotEstablished(s.call_id.clone())
                        }
                    })?;
                let code = u16::from(resp.status_code.clone());
                match resp.status_code.kind() {
                    StatusCodeKind::Successful => {
                        let mut sdp = s.sdp.lock().unwrap_or_else(|p| p.into_inner());
                        sdp.local = offer;
                        sdp.remote = resp.body.clone();
                        return Ok(ReInviteOutcome::Accepted(resp.body));
                    }
                    _ if resp.status_code == StatusCode::RequestPending => true,
                    _ => {
                        retry_after =
                            reinvite_retry_after(code, resp.header_value("Retry-After").as_deref());
                        if retry_after.is_none() || attempt + 1 == ATTEMPTS {
                            return Ok(ReInviteOutcome::Rejected(code));
                        }
                        false
                    }
                }
            };
            if let Some(wait) = retry_after {
                info!(call_id = %s.call_id, ?wait, "re-INVITE refused with 500 and Retry-After, retrying");
                tokio::time::sleep(wait).await;
            } else if glare && attempt + 1 < ATTEMPTS {
                let wait = glare_backoff(s.owns_call_id, rand::random());
                info!(call_id = %s.call_id, ?wait, "re-INVITE glare, retrying after backoff");
                tokio::time::sleep(wait).await;
            }
        }
        Err(CallError::Glare(s.call_id.clone()))
    }

    /// Ends the call: BYE when established, CANCEL while our INVITE is
    /// still ringing. Does nothing once the call has ended.
    pub async fn hangup(&self) -> Result<(), CallError> {
        let s = &self.shared;
        if s.ended.load(Ordering::SeqCst) {
            return Ok(());
        }
        s.dialog.hangup().await.map_err(|e| CallError::Stack {
            call_id: s.call_id.clone(),
            message: e.to_string(),
        })
    }
}

/// Waits (at most 64*T1 = 32 s, RFC 3261 §13.3.1.4) while our 2xx awaits its
/// ACK: no new INVITE may start while the first is in progress (§14.1).
async fn wait_for_ack(dialog: &InviteDialog) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(32);
    while dialog.state().waiting_ack() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An established call: its handle and its events.
#[derive(Debug)]
pub struct ActiveCall {
    /// Handle for re-INVITE and BYE (cloneable for other tasks).
    pub handle: CallHandle,
    /// The far end's current session description (offer or answer).
    pub remote_sdp: Vec<u8>,
    events: mpsc::UnboundedReceiver<CallEvent>,
}

impl ActiveCall {
    /// The next event; `None` after [`CallEvent::Ended`] was delivered.
    pub async fn next_event(&mut self) -> Option<CallEvent> {
        self.events.recv().await
    }
}

const PENDING: u8 = 0;
const ANSWERED: u8 = 1;

/// An INVITE waiting for the handler's answer.
///
/// Dropping it unanswered answers `480 Temporarily Unavailable`.
pub struct IncomingCall {
    /// Call-ID of the INVITE.
    pub call_id: String,
    /// From URI.
    pub from: String,
    /// To URI.
    pub to: String,
    /// Called number (see [`crate::routing::did::called_number`]).
    pub did: Option<String>,
    /// Where the router sent the call ([`crate::routing::Router::decide`]):
    /// fax reception, or a call the analogue bridge carries.
    pub decision: crate::routing::Decision,
    /// Peer or account the request was admitted as.
    pub peer: String,
    /// Source of the INVITE.
    pub source: SocketAddr,
    /// Transport the INVITE came over.
    pub transport: TransportKind,
    /// First usable stream of the offer and its media address.
    pub summary: OfferSummary,
    /// The SDP offer.
    pub offer: Vec<u8>,
    /// `P-Asserted-Identity` of the INVITE (RFC 3325): the identity the
    /// sending network vouches for, e.g. `<sip:+441223123456@trunk>`.
    pub asserted_identity: Option<String>,
    /// `Privacy` of the INVITE (RFC 3323), e.g. `id` (do not show the
    /// asserted identity beyond the trusted network).
    pub privacy: Option<String>,
    /// The INVITE server transaction, for provisional responses the dialog
    /// layer cannot form (180 with SDP, 183 without).
    pub(crate) responder: Option<TransactionEventSender>,
    pub(crate) handle: CallHandle,
    pub(crate) events: Option<mpsc::UnboundedReceiver<CallEvent>>,
    pub(crate) state: Arc<AtomicU8>,
}

impl std::fmt::Debug for IncomingCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IncomingCall")
            .field("call_id", &self.call_id)
            .field("did", &self.did)
            .field("decision", &self.decision.kind())
            .field("peer", &self.peer)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl IncomingCall {
    /// The `[sip.routing]` route of a call for fax reception; `None` for
    /// a call the bridge carries.
    pub fn fax_route(&self) -> Option<&str> {
        self.decision.fax_route()
    }

    /// Sends `180 Ringing` (optional; fax machines are usually answered at once).
    pub fn ring(&self) {
        if self.state.load(Ordering::SeqCst) == PENDING
            && let Err(e) = self.handle.shared.dialog.ringing(None, None)
        {
            debug!(call_id = %self.call_id, error = %e, "could not send 180");
        }
    }

    /// Sends `183 Session Progress` with early-media SDP `sdp` (e.g. to
    /// start fax tones before answering).
    pub fn session_progress(&self, sdp: Vec<u8>) {
        self.provisional(183, Some(sdp));
    }

    /// Sends the provisional response `status` (180–199; 100 is the
    /// stack's own), with early-media SDP when `sdp` is given: a bridge
    /// passes the callee's 180 as 180 and its 183 as 183, each with or
    /// without SDP as the callee sent it (RFC 3261 §13.3.1.1, RFC 3960).
    /// Ignored once the call is answered, refused or ended.
    pub fn provisional(&self, status: u16, sdp: Option<Vec<u8>>) {
        if self.state.load(Ordering::SeqCst) != PENDING
            || self.handle.is_ended()
            || !(180..=199).contains(&status)
        {
            return;
        }
        let dialog = &self.handle.shared.dialog;
        let headers = sdp.as_ref().map(|_| sdp_headers());
        // The dialog layer sends 180 without a body and 183 with one.
        let result = match (status, &self.responder) {
            (180, _) if sdp.is_none() => dialog.ringing(None, None),
            (183, _) if sdp.is_some() => dialog.ringing(headers, sdp),
            (_, Some(responder)) => {
                let resp = provisional_response(dialog, status, sdp);
                responder
                    .send(TransactionEvent::Respond(resp))
                    .map_err(|e| rsipstack::Error::Error(e.to_string()))
            }
            (_, None) => dialog.ringing(headers, sdp),
        };
        if let Err(e) = result {
            debug!(call_id = %self.call_id, status, error = %e, "could not send a provisional response");
        }
    }

    /// Events that arrive before the answer (a CANCEL shows up here as
    /// [`CallEvent::Ended`]).
    pub async fn next_event(&mut self) -> Option<CallEvent> {
        match self.events.as_mut() {
            Some(e) => e.recv().await,
            None => None,
        }
    }

    /// Answers `200 OK` with `answer`; the call is up once the ACK arrives
    /// ([`CallEvent::Established`]).
    pub fn accept(mut self, answer: Vec<u8>) -> Result<ActiveCall, CallError> {
        if self
            .state
            .compare_exchange(PENDING, ANSWERED, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
            || self.handle.is_ended()
        {
            return Err(CallError::NotPending(self.call_id.clone()));
        }
        let shared = &self.handle.shared;
        let mut headers = sdp_headers();
        headers.push(Header::Allow(ALLOW.to_string().into()));
        headers.push(Header::Supported(SUPPORTED.to_string().into()));
        if let Some(se) = &shared.session_expires {
            headers.push(Header::SessionExpires(se.clone().into()));
            headers.push(Header::Require("timer".to_string().into()));
        }
        {
            let mut sdp = shared.sdp.lock().unwrap_or_else(|p| p.into_inner());
            sdp.local = answer.clone();
        }
        shared
            .dialog
            .accept(Some(headers), Some(answer))
            .map_err(|e| CallError::Stack {
                call_id: self.call_id.clone(),
                message: e.to_string(),
            })?;
        let events = self
            .events
            .take()
            .unwrap_or_else(|| mpsc::unbounded_channel().1);
        Ok(ActiveCall {
            handle: self.handle.clone(),
            remote_sdp: self.offer.clone(),
            events,
        })
    }

    /// Refuses the call with `status` (e.g. 486 Busy Here, 488).
    pub fn reject(self, status: u16) {
        reject_pending(&self.handle, &self.state, status);
    }

    /// Refuses the call with `status` and a `Reason` header (RFC 3326)
    /// that says why in words, e.g. which toll-fraud rule refused it.
    pub fn reject_with_reason(self, status: u16, reason: &str) {
        if self
            .state
            .compare_exchange(PENDING, ANSWERED, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
            && !self.handle.is_ended()
        {
            self.handle
                .shared
                .refused_with
                .store(status, Ordering::SeqCst);
            let _ = self.handle.shared.dialog.reject(
                Some(StatusCode::from(status)),
                Some(reason_value(status, reason)),
            );
        }
    }
}

/// A `Reason` header value (RFC 3326 §2): `SIP ;cause=403 ;text="…"`,
/// the text without the quotes it cannot hold.
pub fn reason_value(status: u16, text: &str) -> String {
    let text: String = text.chars().filter(|c| *c != '"' && *c != '\\').collect();
    format!("SIP ;cause={status} ;text=\"{text}\"")
}

impl Drop for IncomingCall {
    fn drop(&mut self) {
        reject_pending(&self.handle, &self.state, Refusal::NotAnswered.status().0);
    }
}

/// Rejects the INVITE if nobody answered it yet.
pub(crate) fn reject_pending(handle: &CallHandle, state: &AtomicU8, status: u16) {
    if state
        .compare_exchange(PENDING, ANSWERED, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok()
        && !handle.is_ended()
    {
        handle.shared.refused_with.store(status, Ordering::SeqCst);
        let _ = handle
            .shared
            .dialog
            .reject(Some(StatusCode::from(status)), None);
    }
}

/// A call we placed, waiting for its final response.
pub struct Dialing {
    pub(crate) handle: CallHandle,
    pub(crate) progress: mpsc::UnboundedReceiver<Progress>,
    pub(crate) events: mpsc::UnboundedReceiver<CallEvent>,
    pub(crate) join: tokio::task::JoinHandle<InviteAsyncResult>,
}

/// Why a call we placed did not get answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialError {
    /// The far end answered with a final non-2xx status.
    #[error("the call was refused with {status} {reason}")]
    Rejected {
        /// Status code (e.g. 404, 486, 487 after our CANCEL, 488).
        status: u16,
        /// Reason phrase.
        reason: String,
    },
    /// No final response came.
    #[error("no final response to the INVITE; the peer is unreachable or silent")]
    NoAnswer,
    /// The stack failed.
    #[error("SIP stack error while calling: {0}")]
    Stack(String),
}

impl Dialing {
    /// The Call-ID we chose.
    pub fn call_id(&self) -> &str {
        self.handle.call_id()
    }

    /// A handle usable while ringing: [`CallHandle::hangup`] sends CANCEL.
    pub fn handle(&self) -> &CallHandle {
        &self.handle
    }

    /// The next provisional response (180/183); `None` once final.
    pub async fn next_progress(&mut self) -> Option<Progress> {
        self.progress.recv().await
    }

    /// Waits for the final response.
    pub async fn outcome(self) -> Result<ActiveCall, DialError> {
        let result = self
            .join
            .await
            .map_err(|e| DialError::Stack(e.to_string()))?;
        let (_, resp) = result.map_err(|e| DialError::Stack(e.to_string()))?;
        let resp = resp.ok_or(DialError::NoAnswer)?;
        if resp.status_code.kind() != StatusCodeKind::Successful {
            return Err(DialError::Rejected {
                status: u16::from(resp.status_code.clone()),
                reason: resp.status_code.text().to_string(),
            });
        }
        if self.handle.is_ended() {
            // A 2xx that crossed our CANCEL: the stack ended it with BYE.
            return Err(DialError::Rejected {
                status: 487,
                reason: "Request Terminated".into(),
            });
        }
        {
            let mut sdp = self
                .handle
                .shared
                .sdp
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            sdp.remote = resp.body.clone();
        }
        Ok(ActiveCall {
            handle: self.handle,
            remote_sdp: resp.body,
            events: self.events,
        })
    }
}

/// Everything a call task needs.
pub(crate) struct CallTask {
    pub(crate) handle: CallHandle,
    pub(crate) states: DialogStateReceiver,
    pub(crate) events: mpsc::UnboundedSender<CallEvent>,
    pub(crate) progress: Option<mpsc::UnboundedSender<Progress>>,
    pub(crate) registry: Registry,
    pub(crate) answer_timeout: Duration,
}

fn end_reason(reason: &TerminatedReason, role: TransactionRole) -> EndReason {
    match (reason, role) {
        (TerminatedReason::UacCancel, TransactionRole::Server) => EndReason::Cancelled,
        (TerminatedReason::UacCancel, TransactionRole::Client) => EndReason::LocalHangup,
        (TerminatedReason::UacBye, TransactionRole::Server)
        | (TerminatedReason::UasBye, TransactionRole::Client) => EndReason::RemoteHangup,
        (TerminatedReason::UacBye, TransactionRole::Client)
        | (TerminatedReason::UasBye, TransactionRole::Server) => EndReason::LocalHangup,
        (TerminatedReason::Timeout, _) => EndReason::NoAck,
        (TerminatedReason::UasDecline, _) => EndReason::Failed(603),
        (TerminatedReason::UasBusy | TerminatedReason::UacBusy, _) => EndReason::Failed(486),
        (TerminatedReason::ProxyAuthRequired, _) => EndReason::Failed(407),
        (
            TerminatedReason::ProxyError(c)
            | TerminatedReason::UacOther(c)
            | TerminatedReason::UasOther(c),
            _,
        ) => EndReason::Failed(u16::from(c.clone())),
    }
}

impl CallTask {
    /// Runs until the dialog terminates.
    pub(crate) async fn run(mut self) {
        let shared = self.handle.shared.clone();
        let role = shared.dialog.role();
        let mut established = false;
        while let Some(state) = self.states.recv().await {
            match state {
                DialogState::Early(_, resp) if role == TransactionRole::Client => {
                    if let Some(p) = &self.progress {
                        let sdp = (!resp.body.is_empty()).then(|| resp.body.clone());
                        let _ = p.send(Progress {
                            status: u16::from(resp.status_code.clone()),
                            sdp,
                        });
                    }
                }
                DialogState::Confirmed(_, resp) if !established => {
                    established = true;
                    self.progress = None;
                    let _ = self.events.send(CallEvent::Established);
                    if role == TransactionRole::Client
                        && let Some(every) =
                            refresh_interval_as_uac(resp.header_value("Session-Expires").as_deref())
                    {
                        tokio::spawn(refresh_loop(self.handle.clone(), every));
                    }
                }
                DialogState::Updated(_, req, th) => {
                    let handle = self.handle.clone();
                    let events = self.events.clone();
                    let timeout = self.answer_timeout;
                    tokio::spawn(async move {
                        on_offer(handle, req, th, events, timeout).await;
                    });
                }
                DialogState::Options(_, _, th) => {
                    let headers = vec![
                        Header::Allow(ALLOW.to_string().into()),
                        Header::Accept(ACCEPT.to_string().into()),
                        Header::Supported(SUPPORTED.to_string().into()),
                    ];
                    let _ = th.respond(StatusCode::OK, Some(headers), None).await;
                }
                DialogState::Info(_, _, th)
                | DialogState::Notify(_, _, th)
                | DialogState::Message(_, _, th) => {
                    let _ = th.reply(StatusCode::OK).await;
                }
                DialogState::Refer(_, _, th) | DialogState::Publish(_, _, th) => {
                    let _ = th
                        .respond(
                            StatusCode::MethodNotAllowed,
                            Some(vec![Header::Allow(ALLOW.to_string().into())]),
                            None,
                        )
                        .await;
                }
                DialogState::Terminated(id, reason) => {
                    shared.ended.store(true, Ordering::SeqCst);
                    let why = match (
                        end_reason(&reason, role),
                        shared.refused_with.load(Ordering::SeqCst),
                    ) {
                        (EndReason::Failed(_), refused) if refused != 0 => {
                            EndReason::Failed(refused)
                        }
                        (why, _) => why,
                    };
                    info!(call_id = %shared.call_id, ?why, "call ended");
                    let _ = self.events.send(CallEvent::Ended(why));
                    self.registry.remove(&shared.call_id, &id);
                    break;
                }
                _ => {}
            }
        }
        shared.ended.store(true, Ordering::SeqCst);
    }
}

/// RFC 4028 §10: as refresher we repeat our last offer unchanged every
/// half interval, so the far end's session timer never fires.
async fn refresh_loop(handle: CallHandle, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        if handle.is_ended() {
            return;
        }
        let offer = {
            let sdp = handle.shared.sdp.lock().unwrap_or_else(|p| p.into_inner());
            sdp.local.clone()
        };
        match handle.reinvite(offer).await {
            Ok(o) => debug!(call_id = handle.call_id(), ?o, "session refreshed"),
            Err(e) => warn!(call_id = handle.call_id(), error = %e, "session refresh failed"),
        }
    }
}

/// Answers a re-INVITE or UPDATE from the far end.
async fn on_offer(
    handle: CallHandle,
    req: Request,
    th: rsipstack::dialog::dialog::TransactionHandle,
    events: mpsc::UnboundedSender<CallEvent>,
    timeout: Duration,
) {
    let shared = &handle.shared;
    let mut extra = vec![
        Header::Allow(ALLOW.to_string().into()),
        Header::Supported(SUPPORTED.to_string().into()),
    ];
    if req.method == Method::Update && req.body.is_empty() {
        // RFC 4028 §10 refresh by UPDATE without a body.
        let _ = th.respond(StatusCode::OK, Some(extra), None).await;
        return;
    }
    if req.method == Method::Invite && shared.our_reinvite.load(Ordering::SeqCst) {
        // RFC 3261 §14.2: our re-INVITE is pending → 491.
        let _ = th.reply(StatusCode::RequestPending).await;
        return;
    }
    if shared.their_reinvite.swap(true, Ordering::SeqCst) {
        // §14.2: a second offer while we process one → 500 + Retry-After.
        let retry = Header::RetryAfter(format!("{}", rand::random::<u32>() % 10).into());
        let _ = th
            .respond(StatusCode::ServerInternalError, Some(vec![retry]), None)
            .await;
        return;
    }
    let (previous_remote, previous_local) = {
        let sdp = shared.sdp.lock().unwrap_or_else(|p| p.into_inner());
        (sdp.remote.clone(), sdp.local.clone())
    };
    let mut sdp_headers = sdp_headers();
    if let Some(se) = &shared.session_expires {
        extra.push(Header::SessionExpires(se.clone().into()));
        extra.push(Header::Require("timer".to_string().into()));
    }
    sdp_headers.extend(extra.iter().cloned());
    if req.body.is_empty() {
        // A re-INVITE without offer asks for ours in the 2xx (RFC 3264 §8);
        // the answer comes in the ACK. Offer the current session again.
        let _ = th
            .respond(StatusCode::OK, Some(sdp_headers), Some(previous_local))
            .await;
    } else if is_unchanged_offer(&previous_remote, &req.body) {
        // Session refresh (RFC 4028) or keep-alive: same session, same answer.
        let _ = th
            .respond(StatusCode::OK, Some(sdp_headers), Some(previous_local))
            .await;
    } else {
        let ct = req.header_value("Content-Type");
        let summary = inspect_offer(ct.as_deref(), &req.body).ok();
        let (tx, rx) = oneshot::channel();
        let event = ReInvite {
            offer: req.body.clone(),
            summary,
            responder: Some(tx),
        };
        let reply = if events.send(CallEvent::ReInvite(event)).is_ok() {
            tokio::time::timeout(timeout, rx)
                .await
                .ok()
                .and_then(Result::ok)
        } else {
            None
        };
        match reply {
            Some(ReInviteReply::Accept(answer)) => {
                {
                    let mut sdp = shared.sdp.lock().unwrap_or_else(|p| p.into_inner());
                    sdp.remote = req.body.clone();
                    sdp.local = answer.clone();
                }
                let _ = th
                    .respond(StatusCode::OK, Some(sdp_headers), Some(answer))
                    .await;
            }
            Some(ReInviteReply::Reject(code)) => {
                let _ = th.reply(StatusCode::from(code)).await;
            }
            None => {
                let _ = th.reply(StatusCode::NotAcceptableHere).await;
            }
        }
    }
    shared.their_reinvite.store(false, Ordering::SeqCst);
}

/// Builds the `Session-Expires` answer for an incoming INVITE.
pub(crate) fn session_expires_for(req: &Request) -> Option<String> {
    session_expires_answer(
        req.header_value("Session-Expires").as_deref(),
        req.header_contains_token("Supported", "timer")
            || req.header_contains_token("Require", "timer"),
    )
}

/// A provisional response to the dialog's INVITE, formed as the dialog
/// layer forms its own (RFC 3261 §8.2.6.2: Via, From, Call-ID and CSeq
/// copied; To with our tag, so the caller sees the early dialog; our
/// Contact, §12.1.1) but with any 1xx status and body.
fn provisional_response(
    dialog: &InviteDialog,
    status: u16,
    sdp: Option<Vec<u8>>,
) -> rsipstack::sip::Response {
    use rsipstack::sip::{Param, headers::untyped::ToTypedHeader as _};
    let request = dialog.initial_request();
    let local_tag = dialog.id().local_tag;
    let mut headers = rsipstack::sip::Headers::default();
    for h in request.headers.iter() {
        match h {
            Header::Via(_) | Header::From(_) | Header::CallId(_) | Header::CSeq(_) => {
                headers.push(h.clone())
            }
            Header::RecordRoute(_) => headers.push(h.clone()),
            Header::To(to) => match to.clone().typed() {
                Ok(mut to) => {
                    if !to.params.iter().any(|p| matches!(p, Param::Tag(_))) {
                        to.params.push(Param::Tag(local_tag.clone().into()));
                    }
                    headers.push(Header::To(to.into()));
                }
                Err(_) => headers.push(h.clone()),
            },
            _ => {}
        }
    }
    if let Some(contact) = dialog.snapshot().local_contact {
        headers.push(Header::Contact(format!("<{contact}>").into()));
    }
    let body = sdp.unwrap_or_default();
    if !body.is_empty() {
        headers.push(Header::ContentType("application/sdp".to_string().into()));
    }
    headers.push(Header::ContentLength((body.len() as u32).into()));
    rsipstack::sip::Response {
        status_code: StatusCode::from(status),
        wire_reason: None,
        version: rsipstack::sip::Version::V2,
        headers,
        body,
    }
}

/// The caller-identity headers of an INVITE: `P-Asserted-Identity`
/// (RFC 3325) and `Privacy` (RFC 3323).
/// Repeated headers are joined with commas (RFC 3261 §7.3.1); RFC 3325
/// allows two identities, a SIP URI and a tel URI.
pub(crate) fn identity_headers(req: &Request) -> (Option<String>, Option<String>) {
    let get = |name: &str| {
        let values: Vec<String> = req
            .headers
            .iter()
            .filter(|h| h.name().eq_ignore_ascii_case(name))
            .map(|h| h.value().trim().to_string())
            .filter(|v| !v.is_empty())
            .collect();
        (!values.is_empty()).then(|| values.join(", "))
    };
    (get("P-Asserted-Identity"), get("Privacy"))
}

/// Extra headers of a call we place ([`super::SipEndpoint::dial_with`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DialOptions {
    /// A number (or SIP user) to assert as the caller's identity: sent as
    /// `P-Asserted-Identity: <sip:NUMBER@our-address;user=phone>`
    /// (RFC 3325 §9.1). Trunks trust it from faxbridge as a network
    /// element, and emergency operators locate a caller by it.
    pub asserted_user: Option<String>,
    /// A `P-Asserted-Identity` value to pass on as it is (from the
    /// incoming leg); ignored when `asserted_user` is set.
    pub asserted_identity: Option<String>,
    /// A `Privacy` value to pass on (RFC 3323), e.g. `id`.
    pub privacy: Option<String>,
}

impl DialOptions {
    /// The headers, with `local` (our `host:port`) as the host of an
    /// asserted number.
    pub(crate) fn headers(&self, local: &str) -> Vec<Header> {
        let mut out = Vec::new();
        let pai = match &self.asserted_user {
            Some(user) if !user.is_empty() => {
                let phone = if user
                    .trim_start_matches('+')
                    .chars()
                    .all(|c| c.is_ascii_digit())
                {
                    ";user=phone"
                } else {
                    ""
                };
                Some(format!("<sip:{user}@{local}{phone}>"))
            }
            _ => self.asserted_identity.clone(),
        };
        if let Some(pai) = pai.filter(|p| !p.contains(['\r', '\n'])) {
            out.push(Header::PAssertedIdentity(pai.into()));
        }
        if let Some(privacy) = self.privacy.clone().filter(|p| !p.contains(['\r', '\n'])) {
            out.push(Header::Privacy(privacy.into()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(o: &DialOptions) -> Vec<String> {
        o.headers("192.0.2.5:5060")
            .iter()
            .map(|h| format!("{}: {}", h.name(), h.value()))
            .collect()
    }

    #[test]
    fn an_asserted_number_is_a_sip_uri_at_our_address() {
        let o = DialOptions {
            asserted_user: Some("+441632960001".into()),
            asserted_identity: Some("<sip:2001@10.1.2.3>".into()),
            privacy: None,
        };
        assert_eq!(
            rendered(&o),
            ["P-Asserted-Identity: <sip:+441632960001@192.0.2.5:5060;user=phone>"],
            "our assertion replaces the one passed on"
        );
        let o = DialOptions {
            asserted_user: Some("reception".into()),
            ..DialOptions::default()
        };
        assert_eq!(
            rendered(&o),
            ["P-Asserted-Identity: <sip:reception@192.0.2.5:5060>"]
        );
    }

    #[test]
    fn identities_pass_on_and_header_injection_is_dropped() {
        let o = DialOptions {
            asserted_user: None,
            asserted_identity: Some("<sip:+441223123456@carrier.example>".into()),
            privacy: Some("id".into()),
        };
        assert_eq!(
            rendered(&o),
            [
                "P-Asserted-Identity: <sip:+441223123456@carrier.example>",
                "Privacy: id"
            ]
        );
        let o = DialOptions {
            asserted_identity: Some("<sip:a@b>\r\nX-Evil: 1".into()),
            privacy: Some("id\nX: y".into()),
            ..DialOptions::default()
        };
        assert!(rendered(&o).is_empty());
        assert!(rendered(&DialOptions::default()).is_empty());
    }
}
