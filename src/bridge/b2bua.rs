//! The back-to-back user agent: one task per bridged call, driving the SIP
//! endpoint with the pure parts of this module.
//!
//! [`bridge_call`] takes an INVITE the endpoint delivered, asks the
//! [`Planner`] where it goes, places the second leg with
//! [`SipEndpoint::dial`], and then feeds what happens on either leg into
//! the [`BridgeCall`] state machine and carries out its actions: progress
//! and failures to the caller, CANCEL and BYE to the other side,
//! re-INVITEs across with their SDP rewritten for the [`Relay`], whose
//! mode follows what both legs agreed (RTP, or UDPTL when both use T.38).
//!
//! When one side asks for T.38 in a re-INVITE and the other refuses it
//! (488, 415 or 606: [`Refused::NotAcceptable`], as
//! [`crate::media::switch`] classifies refusals for fax calls too), the
//! bridge answers the T.38 offer itself and the
//! relay switches to its G.711↔T.38 gateway ([`MediaMode::Gateway`]): the
//! T.38 side gets T.38, the other side stays on G.711. An initial INVITE
//! that offers T.38 only is passed on as a G.711 offer of the bridge's own,
//! and the caller's T.38 offer is answered by the bridge, with the same
//! gateway between them; should the callee later re-INVITE to T.38 and the
//! caller accept, the relay goes back to plain UDPTL forwarding.
//!
//! Progress passes through as the callee sent it: 180 as 180 and 183 as
//! 183, with the early-media SDP (rewritten for the relay) when there was
//! one. A bridged INVITE is not subject to `[sip] answer_timeout_secs`
//! (a phone may ring for a minute): the callee's final response or the
//! caller's CANCEL ends the ringing, and Timer C ([`TIMER_C`], RFC 3261
//! §16.6) a callee that falls silent. [`BridgeCall`] keeps Timer C; this
//! task only sleeps until the deadline it gives and feeds it
//! [`Input::TimerC`].
//!
//! A port that registered with faxbridge ([`crate::sip::registrar`]) is
//! reached at its registered contact, otherwise at `[bridge]
//! ata_sip_port` of its unit's address. The caller's identity travels in
//! From and `P-Asserted-Identity` (RFC 3325): an emergency call asserts
//! the building's emergency CLI (and drops any `Privacy`, as the operator
//! must see it), a port's call to the trunk asserts the number it
//! presents, and other calls pass the caller's `P-Asserted-Identity` and
//! `Privacy` on.
//!
//! # Emergency calls
//!
//! An emergency call ([`Decision::Emergency`]) is tried on each trunk of
//! `[outgoing] emergency_uris` in order (else `[outgoing] uri`): the next
//! one is tried when a trunk sends nothing but `100 Trying` within
//! [`EMERGENCY_ANSWER_WITHIN`] of the INVITE, refuses it (5xx, 408 or
//! any other failure) or cannot be reached at all. No toll-fraud limit
//! applies. A call that no trunk took is logged at ERROR and alerted at
//! once ([`Alerts`]); the caller gets the last trunk's status.
//!
//! # Toll-fraud limits
//!
//! A port's call to the trunk is counted against its limits of calls at
//! once and per hour ([`CallCounter`]); over a limit it is refused with
//! `403` and a `Reason` naming the rule, and the first refusal of an hour
//! for the hourly limit is alerted.
//!
//! # Limits
//!
//! * While a re-INVITE is being forwarded, events of the other leg wait.
//! * Reliable provisional responses (RFC 3262, 100rel/PRACK) are neither
//!   offered nor forwarded: 18x travel unreliably on both legs.

use std::net::{IpAddr, SocketAddr};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::{debug, error, info, warn};

use super::call::{Action, BridgeCall, Input, TIMER_C};
use super::leg::{GatewayMode, Leg, MediaMode};
use super::media::{
    PartyMedia, RelayAddress, RelayPlan, SdpLeg, StreamKind, audio_codec, gateway_for_exchange,
    relay_plan,
};
use super::relay::{LegSockets, Relay, RelayReport};
use crate::alert::Alerts;
use crate::media::switch::{self, Refused};
use crate::numbering::policy::{Breach, CallCounter, CallSlot};
use crate::routing::{Decision, FaxCall, policy_refusal};
use crate::sip::acl::Account;
use crate::sip::{
    ActiveCall, CallEvent, CallHandle, DialError, DialOptions, DialRequest, Dialing, IncomingCall,
    ReInvite, ReInviteOutcome, SipEndpoint,
};

/// An emergency call moves on to the next trunk when one has sent nothing
/// but `100 Trying` this long after the INVITE.
pub const EMERGENCY_ANSWER_WITHIN: std::time::Duration = std::time::Duration::from_secs(5);

/// What the bridge needs besides the call's decision.
#[derive(Clone)]
pub struct BridgeSettings {
    /// Address of the relay's sockets (written into SDP).
    pub media_ip: IpAddr,
    /// Digest credentials for the trunk's challenges.
    pub trunk_account: Option<Account>,
    /// Calls at once and per hour of each port, for the toll-fraud limits.
    pub counter: CallCounter,
    /// Where alerts go (an emergency call no trunk took, a port over its
    /// hourly call limit); `None`: the log only.
    pub alerts: Option<std::sync::Arc<dyn Alerts>>,
}

impl std::fmt::Debug for BridgeSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BridgeSettings")
            .field("media_ip", &self.media_ip)
            .field("alerts", &self.alerts.is_some())
            .finish_non_exhaustive()
    }
}

impl BridgeSettings {
    /// Settings with no trunk account, a fresh counter and no alerts.
    pub fn new(media_ip: IpAddr) -> Self {
        BridgeSettings {
            media_ip,
            trunk_account: None,
            counter: CallCounter::new(),
            alerts: None,
        }
    }

    fn alert(&self, subject: &str, body: &str) {
        match &self.alerts {
            Some(a) => a.alert(subject, body),
            None => {
                crate::alert::count();
                error!("ALERT: {subject}: {body}");
            }
        }
    }
}

/// How a bridged INVITE ended.
#[derive(Debug)]
pub enum BridgeOutcome {
    /// Refused with this status (by the plan, the far end, or a failure).
    Refused {
        /// The final status sent to the caller.
        status: u16,
    },
    /// The caller cancelled before the answer.
    Cancelled,
    /// Bridged and ended; what the relay saw.
    Ended(Box<RelayReport>),
    /// A call for faxbridge's own fax reception: handed back untouched.
    OwnFax(Box<IncomingCall>, FaxCall),
}

async fn leg_sockets(ip: IpAddr) -> std::io::Result<(LegSockets, RelayAddress)> {
    let sockets = LegSockets::bind(ip)?;
    let addr = RelayAddress {
        ip,
        rtp_port: sockets.rtp.local_addr()?.port(),
        rtcp_port: sockets.rtcp.local_addr()?.port(),
    };
    Ok((sockets, addr))
}

fn session_id() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(1)
}

/// Where the second leg goes and how.
struct Onward {
    /// Targets to try in order (several only for emergency calls).
    targets: Vec<String>,
    emergency: bool,
    cli: Option<String>,
    account: Option<Account>,
    identity: DialOptions,
    /// Counts the call against its port's limits while it lasts.
    _slot: Option<CallSlot>,
    /// The ATA unit of the caller's and the callee's leg, whose media is
    /// taken only from the unit's address.
    units: [Option<IpAddr>; 2],
}

/// Bridge one INVITE to wherever the router sent it
/// ([`IncomingCall::decision`]); returns when both legs are over.
pub async fn bridge_call(
    endpoint: &SipEndpoint,
    settings: &BridgeSettings,
    incoming: IncomingCall,
) -> BridgeOutcome {
    // Counted on the dashboard and in /metrics until both legs ended.
    let _active = super::ActiveCall::start();
    // Caller identity on the second leg (RFC 3325/3323): emergency calls
    // assert the building's CLI and are never anonymous; a port's calls to
    // the trunk assert the number presented in From (faxbridge is the
    // network element that vouches for its ports), keeping the port's
    // Privacy request; other calls carry the caller's PAI and Privacy on.
    let passed_on = DialOptions {
        asserted_user: None,
        asserted_identity: incoming.asserted_identity.clone(),
        privacy: incoming.privacy.clone(),
    };
    // The ATA units of the legs: an ATA leg's media is taken only from its
    // unit ([`super::relay`]). An emergency call is the exception: its
    // media is taken from the address its SDP names even when that is not
    // the unit's (a unit with a separate media interface must never give a
    // silent emergency call).
    let caller_unit = match &incoming.decision {
        Decision::ToTrunk(t) => Some(t.from.address),
        Decision::ToPort(p) => p.from.as_ref().map(|p| p.address),
        _ => None,
    };
    let callee_unit = match &incoming.decision {
        Decision::ToPort(p) => Some(p.to.address),
        _ => None,
    };
    let onward = match incoming.decision.clone() {
        Decision::Refuse(r) => {
            info!(call_id = %incoming.call_id, status = r.status, "bridge refused: {}", r.reason);
            incoming.reject_with_reason(r.status, &r.reason);
            return BridgeOutcome::Refused { status: r.status };
        }
        Decision::Fax(f) => return BridgeOutcome::OwnFax(Box::new(incoming), f),
        Decision::Emergency(e) => {
            error!(
                call_id = %incoming.call_id,
                number = %e.number,
                building = e.building.as_deref().unwrap_or("none"),
                cli = e.presented_cli.as_deref().unwrap_or("none"),
                source = %incoming.source,
                trunks = e.targets.len(),
                "EMERGENCY CALL from an ATA port"
            );
            for alert in &e.alerts {
                error!(call_id = %incoming.call_id, "EMERGENCY CALL PROBLEM: {alert}");
            }
            if e.targets.is_empty() {
                settings.alert(
                    &format!("emergency call to {} could not be placed", e.number),
                    &format!(
                        "An emergency call to {} from {} (building {}) was refused: no trunk is configured. Set [outgoing] uri or emergency_uris now.",
                        e.number,
                        incoming.source,
                        e.building.as_deref().unwrap_or("unknown")
                    ),
                );
                incoming.reject(503);
                return BridgeOutcome::Refused { status: 503 };
            }
            Onward {
                identity: DialOptions {
                    asserted_user: e.presented_cli.clone(),
                    ..DialOptions::default()
                },
                targets: e.targets,
                emergency: true,
                cli: e.presented_cli,
                account: settings.trunk_account.clone(),
                _slot: None,
                units: [caller_unit, callee_unit],
            }
        }
        Decision::ToTrunk(t) => {
            let slot = match settings.counter.admit(
                &t.port_key(),
                t.limits,
                crate::clock::now_secs(),
            ) {
                Ok(slot) => slot,
                Err(breach) => {
                    let refusal = policy_refusal(&t.number, &breach);
                    warn!(
                        call_id = %incoming.call_id,
                        port = %t.port_key(),
                        rule = breach.rule(),
                        "call refused by the toll-fraud policy: {}",
                        refusal.reason
                    );
                    if let Breach::Hourly { first: true, limit } = breach {
                        settings.alert(
                            &format!("port {} over its hourly call limit", t.port_key()),
                            &format!(
                                "Port {} made {limit} call(s) to the trunk within an hour, the most [bridge.policy] max_calls_per_hour allows; more calls are refused until the hour has passed. Check the port for toll fraud (a hijacked ATA account, a dialler) before raising the limit.",
                                t.port_key()
                            ),
                        );
                    }
                    incoming.reject_with_reason(refusal.status, &refusal.reason);
                    return BridgeOutcome::Refused {
                        status: refusal.status,
                    };
                }
            };
            // The port's own assertion names its extension at the unit,
            // which means nothing on the trunk: never passed on.
            Onward {
                identity: DialOptions {
                    asserted_user: t.presented_cli.clone(),
                    asserted_identity: None,
                    privacy: passed_on.privacy,
                },
                targets: vec![t.target],
                emergency: false,
                cli: t.presented_cli,
                account: settings.trunk_account.clone(),
                _slot: Some(slot),
                units: [caller_unit, callee_unit],
            }
        }
        Decision::ToPort(p) => {
            // A port that registered is reached at its contact (RFC 3261
            // §10), else at `[bridge] ata_sip_port` of its unit.
            let contact = endpoint
                .registered_contact(&p.to.unit, &p.to.sip_user)
                .await;
            Onward {
                targets: vec![p.reach(contact.as_deref())],
                emergency: false,
                cli: p.caller,
                account: None,
                identity: passed_on,
                _slot: None,
                units: [caller_unit, callee_unit],
            }
        }
    };
    Bridge::run(endpoint, settings, incoming, onward).await
}

/// How one attempt at the second leg ended while ringing.
enum Rung {
    /// The callee answered.
    Answered(ActiveCall),
    /// The caller cancelled (the attempt is being cancelled).
    CallerGone(Dialing),
    /// An emergency attempt sent nothing but 100 within
    /// [`EMERGENCY_ANSWER_WITHIN`]; it is cancelled in the background.
    Silent,
    /// The attempt failed.
    Failed(Failure),
}

/// Why the last attempt at the second leg failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    /// The INVITE could not be sent (no route, no socket, TLS failed).
    NotPlaced,
    /// No final response (transaction timeout, transport error).
    Unreachable,
    /// Refused with this status.
    Rejected(u16),
    /// Timer C ran out while ringing.
    TimerC,
}

struct Bridge {
    call: BridgeCall,
    caller_sdp: SdpLeg,
    callee_sdp: SdpLeg,
    caller_relay: RelayAddress,
    callee_relay: RelayAddress,
    caller_kind: StreamKind,
    callee_kind: StreamKind,
}

impl Bridge {
    #[allow(clippy::too_many_arguments)]
    async fn run(
        endpoint: &SipEndpoint,
        settings: &BridgeSettings,
        mut incoming: IncomingCall,
        onward: Onward,
    ) -> BridgeOutcome {
        let sockets = async {
            let a = leg_sockets(settings.media_ip).await?;
            let b = leg_sockets(settings.media_ip).await?;
            std::io::Result::Ok((a, b))
        };
        let ((mut caller_socks, caller_relay), (mut callee_socks, callee_relay)) = match sockets
            .await
        {
            Ok(s) => s,
            Err(e) => {
                error!(call_id = %incoming.call_id, "no media sockets for the bridge: {e}");
                if onward.emergency {
                    settings.alert(
                            "emergency call could not be placed",
                            &format!("No media sockets for an emergency call from {}: {e}. Check the open-file limit and [media] address.", incoming.source),
                        );
                }
                incoming.reject(503);
                return BridgeOutcome::Refused { status: 503 };
            }
        };
        caller_socks.unit = onward.units[0];
        callee_socks.unit = onward.units[1];
        let id = session_id();
        let mut b = Bridge {
            call: BridgeCall::new(),
            caller_sdp: SdpLeg::new(id),
            callee_sdp: SdpLeg::new(id + 1),
            caller_relay,
            callee_relay,
            caller_kind: StreamKind::Audio,
            callee_kind: StreamKind::Audio,
        };
        let offer = String::from_utf8_lossy(&incoming.offer).into_owned();
        let (offer, caller_media) = match b.callee_sdp.rewrite(&offer, callee_relay) {
            Ok(x) => x,
            Err(e) => {
                incoming.reject(e.sip_status());
                return BridgeOutcome::Refused {
                    status: e.sip_status(),
                };
            }
        };
        b.caller_kind = caller_media.kind;
        set_remote(&mut caller_socks, &caller_media);
        // A T.38-only offer: the callee is offered G.711 instead and the
        // relay gateways (a T.38 callee can still re-INVITE to T.38).
        let offer = match caller_media.kind {
            StreamKind::T38 => b.callee_sdp.offer_g711(callee_relay).unwrap_or(offer),
            StreamKind::Audio => offer,
        };
        let from_user = onward.cli.clone().unwrap_or_else(|| "anonymous".into());
        let mut failure = Failure::NotPlaced;
        let mut answered = None;
        for (attempt, target) in onward.targets.iter().enumerate() {
            let more = onward.emergency && attempt + 1 < onward.targets.len();
            let request = DialRequest {
                target: target.clone(),
                from_user: from_user.clone(),
                offer: offer.clone().into_bytes(),
                account: onward.account.clone(),
            };
            let dialing = match endpoint.dial_with(request, onward.identity.clone()).await {
                Ok(d) => d,
                Err(e) => {
                    warn!(call_id = %incoming.call_id, %target, "second leg could not be placed: {e}");
                    if onward.emergency {
                        error!(call_id = %incoming.call_id, %target, "EMERGENCY CALL: trunk unreachable: {e}");
                    }
                    failure = Failure::NotPlaced;
                    continue;
                }
            };
            // Early media from an earlier trunk is not this one's.
            callee_socks.remote_rtp = None;
            callee_socks.remote_rtcp = None;
            let guard = more.then_some(EMERGENCY_ANSWER_WITHIN);
            match b
                .ring(&mut incoming, dialing, &mut callee_socks, guard)
                .await
            {
                Rung::Answered(active) => {
                    answered = Some(active);
                    break;
                }
                Rung::CallerGone(dialing) => return b.caller_gone(dialing).await,
                Rung::Silent => {
                    error!(call_id = %incoming.call_id, %target, "EMERGENCY CALL: no answer from the trunk within {EMERGENCY_ANSWER_WITHIN:?}; trying the next one");
                    failure = Failure::Unreachable;
                }
                Rung::Failed(f) => {
                    if onward.emergency {
                        error!(call_id = %incoming.call_id, %target, failure = ?f, "EMERGENCY CALL not taken by the trunk");
                    }
                    failure = f;
                }
            }
        }
        let Some(callee) = answered else {
            if onward.emergency {
                settings.alert(
                    "emergency call not connected",
                    &format!(
                        "An emergency call from {} was tried on {} trunk(s) ({}) and none took it (last: {failure:?}). Check the trunks and [outgoing] emergency_uris now.",
                        incoming.source,
                        onward.targets.len(),
                        onward.targets.join(", ")
                    ),
                );
            }
            b.feed(match failure {
                Failure::NotPlaced => Input::CalleeNotPlaced,
                Failure::TimerC | Failure::Unreachable => Input::CalleeUnreachable,
                Failure::Rejected(status) => Input::CalleeFailed { status },
            });
            let status = b.refusal(None).await.unwrap_or(502);
            incoming.reject(status);
            return BridgeOutcome::Refused { status };
        };
        // What the caller is answered with, and how the relay carries the
        // call.
        let planned = match b
            .caller_sdp
            .rewrite(&String::from_utf8_lossy(&callee.remote_sdp), b.caller_relay)
        {
            Ok((answer, callee_media)) => {
                b.callee_kind = callee_media.kind;
                set_remote(&mut callee_socks, &callee_media);
                match relay_plan(b.caller_kind, b.callee_kind) {
                    RelayPlan::Relay(m) => Ok((answer, m)),
                    // The caller's T.38 offer, answered by the bridge itself.
                    RelayPlan::Gateway => match b.caller_sdp.gateway_answer(
                        &String::from_utf8_lossy(&incoming.offer),
                        &String::from_utf8_lossy(&callee.remote_sdp),
                        b.caller_relay,
                    ) {
                        Ok((a, g)) => Ok((a, MediaMode::Gateway(g))),
                        Err(e) => {
                            warn!(call_id = %incoming.call_id, "no gateway for the call: {e}");
                            Err(488)
                        }
                    },
                }
            }
            Err(e) => {
                warn!(call_id = %incoming.call_id, "callee's answer cannot be bridged: {e}");
                Err(502)
            }
        };
        let (answer, mode) = match planned {
            Ok(p) => p,
            Err(status) => {
                b.feed(Input::AnswerUnusable { status });
                let status = b.refusal(Some(&callee)).await.unwrap_or(status);
                incoming.reject(status);
                return BridgeOutcome::Refused { status };
            }
        };
        let call_id = incoming.call_id.clone();
        b.feed(Input::CalleeAnswered);
        let mut incoming = Some(incoming);
        let mut answer = Some(answer.into_bytes());
        let mut sockets = Some((caller_socks, callee_socks));
        let mut relay = None;
        let mut caller = None;
        while let Some(action) = b.call.poll_action() {
            match action {
                Action::StartMedia => {
                    let Some((caller_socks, callee_socks)) = sockets.take() else {
                        continue;
                    };
                    info!(
                        %call_id,
                        caller_leg = %SocketAddr::new(b.caller_relay.ip, b.caller_relay.rtp_port),
                        caller_rtcp = %SocketAddr::new(b.caller_relay.ip, b.caller_relay.rtcp_port),
                        callee_leg = %SocketAddr::new(b.callee_relay.ip, b.callee_relay.rtp_port),
                        callee_rtcp = %SocketAddr::new(b.callee_relay.ip, b.callee_relay.rtcp_port),
                        caller_media = ?caller_socks.remote_rtp,
                        callee_media = ?callee_socks.remote_rtp,
                        "media relay started"
                    );
                    relay = Some(Relay::start(caller_socks, callee_socks, mode, None));
                }
                Action::AnswerCaller => {
                    let (Some(incoming), Some(answer)) = (incoming.take(), answer.take()) else {
                        continue;
                    };
                    match incoming.accept(answer) {
                        Ok(c) => caller = Some(c),
                        // The caller went away meanwhile.
                        Err(_) => b.feed(Input::Hangup(Leg::Caller)),
                    }
                }
                Action::StopMedia => {
                    if let Some(r) = relay.take() {
                        let _ = r.stop().await;
                    }
                }
                Action::Bye(Leg::Callee) => {
                    let _ = callee.handle.hangup().await;
                }
                other => debug!(%call_id, ?other, "no such action while answering"),
            }
        }
        let (Some(caller), Some(relay)) = (caller, relay) else {
            return BridgeOutcome::Cancelled;
        };
        b.answered(caller, callee, &relay).await;
        match relay.stop().await {
            Ok(report) => {
                let (foreign, ssrc) = [report.from_caller, report.from_callee]
                    .iter()
                    .fold((0, 0), |(f, s), d| {
                        (f + d.dropped_foreign, s + d.dropped_ssrc)
                    });
                if foreign + ssrc > 0 {
                    warn!(
                        %call_id,
                        foreign_source = foreign,
                        ssrc,
                        "datagrams not from the call's parties were dropped"
                    );
                }
                BridgeOutcome::Ended(Box::new(report))
            }
            Err(e) => {
                warn!("{e}");
                BridgeOutcome::Cancelled
            }
        }
    }

    /// Feed `input` to the call's state machine; its actions follow from
    /// `self.call.poll_action()`.
    fn feed(&mut self, input: Input) {
        self.call.handle(input, std::time::Instant::now());
    }

    /// Carry out the actions of a call that is not bridged: BYE to a
    /// callee that answered all the same; returns the status to refuse
    /// the caller with.
    async fn refusal(&mut self, callee: Option<&ActiveCall>) -> Option<u16> {
        let mut status = None;
        while let Some(action) = self.call.poll_action() {
            match action {
                Action::RejectCaller { status: s } => status = Some(s),
                Action::Bye(Leg::Callee) if callee.is_some() => {
                    if let Some(callee) = callee {
                        let _ = callee.handle.hangup().await;
                    }
                }
                other => debug!(?other, "no such action for a call not bridged"),
            }
        }
        status
    }

    /// Carry out the actions of a ringing call: progress to the caller
    /// (`early` is the callee's early-media SDP, if the progress had one),
    /// CANCEL to the callee.
    async fn ringing_actions(
        &mut self,
        incoming: &IncomingCall,
        callee: &CallHandle,
        early: Option<&[u8]>,
        callee_socks: &mut LegSockets,
    ) {
        while let Some(action) = self.call.poll_action() {
            match action {
                Action::Provisional { status, sdp } => {
                    match early.filter(|_| sdp).map(|s| {
                        self.caller_sdp
                            .rewrite(&String::from_utf8_lossy(s), self.caller_relay)
                    }) {
                        Some(Ok((text, media))) => {
                            set_remote(callee_socks, &media);
                            incoming.provisional(status, Some(text.into_bytes()));
                        }
                        _ => incoming.provisional(status, None),
                    }
                }
                Action::CancelCallee => {
                    let _ = callee.hangup().await;
                }
                other => {
                    debug!(call_id = %incoming.call_id, ?other, "no such action while ringing")
                }
            }
        }
    }

    /// Ring one attempt at the second leg until it is answered or fails:
    /// the callee's progress goes to the caller (and restarts Timer C),
    /// the caller's CANCEL to the callee. With `guard`, an attempt that
    /// sent nothing but `100 Trying` within it is cancelled and reported
    /// [`Rung::Silent`] (an emergency call with another trunk to try).
    async fn ring(
        &mut self,
        incoming: &mut IncomingCall,
        mut dialing: Dialing,
        callee_socks: &mut LegSockets,
        guard: Option<std::time::Duration>,
    ) -> Rung {
        let callee_handle = dialing.handle().clone();
        let mut heard = guard.is_none();
        let mut guard_timer = std::pin::pin!(tokio::time::sleep(guard.unwrap_or(TIMER_C)));
        self.feed(Input::CalleeInvited);
        loop {
            // Timer C, as the call's state machine keeps it.
            let timer_c = self.call.poll_timeout();
            let timer_c_at = tokio::time::Instant::from_std(
                timer_c.unwrap_or_else(|| std::time::Instant::now() + TIMER_C),
            );
            tokio::select! {
                p = dialing.next_progress() => match p {
                    Some(p) => {
                        heard = true;
                        self.feed(Input::CalleeProgress { status: p.status, sdp: p.sdp.is_some() });
                        self.ringing_actions(incoming, &callee_handle, p.sdp.as_deref(), callee_socks)
                            .await;
                    }
                    None => break,
                },
                _ = &mut guard_timer, if !heard => {
                    // Given up: cancel it (RFC 3261 §9.1 lets a CANCEL wait
                    // for a provisional response, so the transaction may
                    // run to Timer B) and end an answer that comes late,
                    // without holding up the next trunk.
                    let _ = callee_handle.hangup().await;
                    tokio::spawn(async move {
                        if let Ok(late) = dialing.outcome().await {
                            let _ = late.handle.hangup().await;
                        }
                    });
                    return Rung::Silent;
                }
                _ = tokio::time::sleep_until(timer_c_at), if timer_c.is_some() => {
                    self.feed(Input::TimerC);
                    if self.call.timed_out() {
                        warn!(call_id = %incoming.call_id, "callee silent for {TIMER_C:?} while ringing; cancelled");
                    }
                    self.ringing_actions(incoming, &callee_handle, None, callee_socks).await;
                }
                ev = incoming.next_event() => {
                    if matches!(ev, None | Some(CallEvent::Ended(_))) {
                        self.feed(Input::CallerCancelled);
                        self.ringing_actions(incoming, &callee_handle, None, callee_socks).await;
                        return Rung::CallerGone(dialing);
                    }
                }
            }
        }
        match dialing.outcome().await {
            // An answer that crossed our CANCEL is still an answer.
            Ok(active) => Rung::Answered(active),
            Err(_) if self.call.timed_out() => Rung::Failed(Failure::TimerC),
            Err(DialError::Rejected { status, .. }) => Rung::Failed(Failure::Rejected(status)),
            Err(_) => Rung::Failed(Failure::Unreachable),
        }
    }

    /// The caller cancelled while the callee rang: wait for the callee's
    /// final response, and end it should an answer have crossed the CANCEL.
    async fn caller_gone(&mut self, dialing: Dialing) -> BridgeOutcome {
        if let Ok(active) = dialing.outcome().await {
            self.feed(Input::CalleeAnswered);
            while let Some(action) = self.call.poll_action() {
                match action {
                    Action::Bye(Leg::Callee) => {
                        let _ = active.handle.hangup().await;
                    }
                    other => debug!(?other, "no such action after the caller's CANCEL"),
                }
            }
        }
        BridgeOutcome::Cancelled
    }

    /// Both legs up: BYE and re-INVITEs across until both are over.
    async fn answered(&mut self, mut caller: ActiveCall, mut callee: ActiveCall, relay: &Relay) {
        // Per leg (caller, callee): its re-INVITE waiting for an answer,
        // and the answer the other side gave to it.
        let mut reinvites: [Option<ReInvite>; 2] = [None, None];
        let mut answers: [Option<Vec<u8>>; 2] = [None, None];
        loop {
            let (leg, event) = tokio::select! {
                e = caller.next_event() => (Leg::Caller, e),
                e = callee.next_event() => (Leg::Callee, e),
            };
            let input = match event {
                None | Some(CallEvent::Ended(_)) => Input::Hangup(leg),
                Some(CallEvent::Established) => continue,
                Some(CallEvent::ReInvite(r)) => {
                    reinvites[leg.index()] = Some(r);
                    Input::ReInvite(leg)
                }
            };
            let hung_up = matches!(input, Input::Hangup(_));
            self.feed(input);
            // The relay is stopped by the caller once this returns.
            let mut media_stopped = false;
            while let Some(action) = self.call.poll_action() {
                match action {
                    Action::Bye(to) => {
                        let to = if to == Leg::Caller { &caller } else { &callee };
                        let _ = to.handle.hangup().await;
                    }
                    Action::StopMedia => media_stopped = true,
                    Action::ForwardReInvite(to) => {
                        let from = to.other();
                        let offer = reinvites[from.index()].as_ref().map(|r| r.offer.clone());
                        let (status, answer) = match offer {
                            Some(offer) => {
                                self.forward_reinvite(from, &offer, &caller, &callee, relay)
                                    .await
                            }
                            None => (500, None),
                        };
                        answers[from.index()] = answer;
                        self.feed(Input::ReInviteAnswered { status });
                    }
                    Action::AnswerReInvite { leg, status } => {
                        let answer = answers[leg.index()].take();
                        if let Some(r) = reinvites[leg.index()].take() {
                            match answer {
                                Some(sdp) if (200..300).contains(&status) => r.accept(sdp),
                                _ => r.reject(status),
                            }
                        }
                    }
                    other => debug!(?other, "no such action in an answered call"),
                }
            }
            // A leg that hung up has no more events to wait for.
            if media_stopped || hung_up {
                return;
            }
        }
    }

    /// Send a re-INVITE from `from` (its `offer`) on to the other leg;
    /// returns the status to answer it with and, for 2xx, the answer
    /// (rewritten for the relay).
    async fn forward_reinvite(
        &mut self,
        from: Leg,
        offer: &[u8],
        caller: &ActiveCall,
        callee: &ActiveCall,
        relay: &Relay,
    ) -> (u16, Option<Vec<u8>>) {
        // The G.711 codec in force, for the gateway should the other party
        // refuse a T.38 offer: the one the caller was answered with, which
        // both parties send (RFC 3264 §6.1), or, when the caller is on T.38
        // already, the one offered to the callee.
        let other_codec = (self.caller_sdp.last().and_then(audio_codec))
            .or_else(|| self.callee_sdp.last().and_then(audio_codec));
        let (to_sdp, to_relay, back_sdp, back_relay, to_call) = match from {
            Leg::Caller => (
                &mut self.callee_sdp,
                self.callee_relay,
                &mut self.caller_sdp,
                self.caller_relay,
                callee,
            ),
            Leg::Callee => (
                &mut self.caller_sdp,
                self.caller_relay,
                &mut self.callee_sdp,
                self.callee_relay,
                caller,
            ),
        };
        let Ok((forwarded, offerer)) = to_sdp.rewrite(&String::from_utf8_lossy(offer), to_relay)
        else {
            return (488, None);
        };
        match to_call.handle.reinvite(forwarded.into_bytes()).await {
            Ok(ReInviteOutcome::Accepted(answer)) => {
                let Ok((answer, answerer)) =
                    back_sdp.rewrite(&String::from_utf8_lossy(&answer), back_relay)
                else {
                    return (488, None);
                };
                let mode = match relay_plan(offerer.kind, answerer.kind) {
                    RelayPlan::Relay(m) => m,
                    RelayPlan::Gateway => {
                        match gateway_for_exchange(from, &String::from_utf8_lossy(offer), &answer) {
                            Ok(g) => MediaMode::Gateway(g),
                            Err(_) => return (488, None),
                        }
                    }
                };
                relay.renegotiate(
                    mode,
                    &[
                        (from, offerer.rtp, offerer.rtcp),
                        (from.other(), answerer.rtp, answerer.rtcp),
                    ],
                );
                (200, Some(answer.into_bytes()))
            }
            // The other party cannot do T.38: answer it ourselves and
            // gateway to the G.711 the other party keeps.
            Ok(ReInviteOutcome::Rejected(status))
                if switch::refused(status) == Refused::NotAcceptable
                    && offerer.kind == StreamKind::T38
                    && other_codec.is_some() =>
            {
                let offer = String::from_utf8_lossy(offer);
                let (Some((law, payload_type)), Ok((answer, t38, udp_ec))) =
                    (other_codec, back_sdp.answer_t38(&offer, back_relay))
                else {
                    return (status, None);
                };
                info!(t38_leg = ?from, refused = status, "T.38 refused by the other side: gatewaying G.711 to T.38");
                relay.renegotiate(
                    MediaMode::Gateway(GatewayMode {
                        t38_leg: from,
                        law,
                        payload_type,
                        t38,
                        udp_ec,
                    }),
                    &[(from, offerer.rtp, offerer.rtcp)],
                );
                (200, Some(answer.into_bytes()))
            }
            Ok(ReInviteOutcome::Rejected(status)) => (status, None),
            Err(_) => (500, None),
        }
    }
}

fn set_remote(socks: &mut LegSockets, media: &PartyMedia) {
    socks.remote_rtp = media.rtp;
    socks.remote_rtcp = media.rtcp;
}
