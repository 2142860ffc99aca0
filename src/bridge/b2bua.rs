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
//! (488, 415 or 606), the bridge answers the T.38 offer itself and the
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
//! §16.6) a callee that falls silent.
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
//! # Limits
//!
//! * While a re-INVITE is being forwarded, events of the other leg wait.
//! * Reliable provisional responses (RFC 3262, 100rel/PRACK) are neither
//!   offered nor forwarded: 18x travel unreliably on both legs.

use std::net::{IpAddr, SocketAddr};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::net::UdpSocket;
use tracing::{error, info, warn};

use super::call::{Action, BridgeCall, Input};
use super::media::{
    PartyMedia, RelayAddress, RelayPlan, SdpLeg, StreamKind, audio_codec, gateway_for_exchange,
    relay_plan,
};
use super::plan::{CallRequest, Decision, Origin, OwnFaxCall, Planner};
use super::relay::{GatewayMode, Leg, LegSockets, MediaMode, Relay, RelayReport};
use crate::sip::acl::Account;
use crate::sip::{
    ActiveCall, CallEvent, DialError, DialOptions, DialRequest, IncomingCall, ReInvite,
    ReInviteOutcome, SipEndpoint,
};

/// Timer C of a ringing second leg (RFC 3261 §16.6 step 11: "greater
/// than 3 minutes"), restarted by every provisional response.
const TIMER_C: std::time::Duration = std::time::Duration::from_secs(181);

/// What the bridge needs besides the planner.
#[derive(Debug, Clone)]
pub struct BridgeSettings {
    /// Name of the `[[sip.peers]]` entry the trunk is admitted as.
    pub trunk_peer: String,
    /// Address of the relay's sockets (written into SDP).
    pub media_ip: IpAddr,
    /// Digest credentials for the trunk's challenges.
    pub trunk_account: Option<Account>,
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
    OwnFax(Box<IncomingCall>, OwnFaxCall),
}

async fn leg_sockets(ip: IpAddr) -> std::io::Result<(LegSockets, RelayAddress)> {
    let rtp = UdpSocket::bind(SocketAddr::new(ip, 0)).await?;
    let rtcp = UdpSocket::bind(SocketAddr::new(ip, 0)).await?;
    let addr = RelayAddress {
        ip,
        rtp_port: rtp.local_addr()?.port(),
        rtcp_port: rtcp.local_addr()?.port(),
    };
    Ok((
        LegSockets {
            rtp,
            rtcp,
            remote_rtp: None,
            remote_rtcp: None,
            unit: None,
        },
        addr,
    ))
}

fn session_id() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(1)
}

/// Bridge one INVITE to wherever the plan sends it; returns when both legs
/// are over.
pub async fn bridge_call(
    endpoint: &SipEndpoint,
    planner: &Planner<'_>,
    settings: &BridgeSettings,
    incoming: IncomingCall,
) -> BridgeOutcome {
    // Counted on the dashboard and in /metrics until both legs ended.
    let _active = super::ActiveCall::start();
    let origin = if incoming.peer == settings.trunk_peer {
        Origin::Trunk
    } else {
        Origin::Port
    };
    let from_user = crate::daemon::uri_user(&incoming.from).unwrap_or_default();
    let request_user = incoming.did.clone().unwrap_or_default();
    let decision = planner.plan(&CallRequest {
        origin,
        source: incoming.source.ip(),
        from_user: &from_user,
        request_user: &request_user,
    });
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
    // unit ([`super::relay`]). A port's call comes from its unit's address.
    let caller_unit = match (&decision, origin) {
        (_, Origin::Trunk) => None,
        (Decision::ToTrunk(t), _) => Some(t.from.address),
        (Decision::Emergency(e), _) => e.from.as_ref().map(|p| p.address),
        (Decision::ToPort(p), _) => p.from.as_ref().map(|p| p.address),
        _ => None,
    }
    .or((origin == Origin::Port).then(|| incoming.source.ip()));
    let callee_unit = match &decision {
        Decision::ToPort(p) => Some(p.to.address),
        _ => None,
    };
    let (target, cli, identity) = match decision {
        Decision::Refuse(r) => {
            info!(call_id = %incoming.call_id, status = r.status, "bridge refused: {}", r.reason);
            incoming.reject(r.status);
            return BridgeOutcome::Refused { status: r.status };
        }
        Decision::ToOwnFax(f) => return BridgeOutcome::OwnFax(Box::new(incoming), f),
        Decision::Emergency(e) => {
            error!(
                call_id = %incoming.call_id,
                number = %e.number,
                building = e.building.as_deref().unwrap_or("none"),
                cli = e.presented_cli.as_deref().unwrap_or("none"),
                source = %incoming.source,
                "EMERGENCY CALL from an ATA port"
            );
            for alert in &e.alerts {
                error!(call_id = %incoming.call_id, "EMERGENCY CALL PROBLEM: {alert}");
            }
            let Some(target) = e.target else {
                incoming.reject(503);
                return BridgeOutcome::Refused { status: 503 };
            };
            let identity = DialOptions {
                asserted_user: e.presented_cli.clone(),
                ..DialOptions::default()
            };
            (target, e.presented_cli, identity)
        }
        Decision::ToTrunk(t) => {
            // The port's own assertion names its extension at the unit,
            // which means nothing on the trunk: never passed on.
            let identity = DialOptions {
                asserted_user: t.presented_cli.clone(),
                asserted_identity: None,
                privacy: passed_on.privacy,
            };
            (t.target, t.presented_cli, identity)
        }
        Decision::ToPort(p) => {
            // A port that registered is reached at its contact (RFC 3261
            // §10), else at `[bridge] ata_sip_port` of its unit.
            let contact = endpoint
                .registered_contact(&p.to.unit, &p.to.sip_user)
                .await;
            (p.reach(contact.as_deref()), p.caller, passed_on)
        }
    };
    let account = match origin {
        Origin::Port => settings.trunk_account.clone(),
        Origin::Trunk => None,
    };
    let units = [caller_unit, callee_unit];
    Bridge::run(
        endpoint, settings, incoming, target, cli, account, identity, units,
    )
    .await
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
        target: String,
        cli: Option<String>,
        account: Option<Account>,
        identity: DialOptions,
        [caller_unit, callee_unit]: [Option<IpAddr>; 2],
    ) -> BridgeOutcome {
        let sockets = async {
            let a = leg_sockets(settings.media_ip).await?;
            let b = leg_sockets(settings.media_ip).await?;
            std::io::Result::Ok((a, b))
        };
        let ((mut caller_socks, caller_relay), (mut callee_socks, callee_relay)) =
            match sockets.await {
                Ok(s) => s,
                Err(e) => {
                    error!(call_id = %incoming.call_id, "no media sockets for the bridge: {e}");
                    incoming.reject(503);
                    return BridgeOutcome::Refused { status: 503 };
                }
            };
        caller_socks.unit = caller_unit;
        callee_socks.unit = callee_unit;
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
        let request = DialRequest {
            target,
            from_user: cli.unwrap_or_else(|| "anonymous".into()),
            offer: offer.into_bytes(),
            account,
        };
        let mut dialing = match endpoint.dial_with(request, identity).await {
            Ok(d) => d,
            Err(e) => {
                warn!(call_id = %incoming.call_id, "second leg could not be placed: {e}");
                incoming.reject(503);
                return BridgeOutcome::Refused { status: 503 };
            }
        };
        let callee_handle = dialing.handle().clone();
        // Ringing: progress from the callee, CANCEL from the caller, and
        // Timer C (RFC 3261 §16.6 step 11: more than 3 minutes without a
        // provisional response ends the attempt as a proxy would, with
        // CANCEL to the callee and 408 to the caller).
        let mut caller_gone = false;
        let mut timed_out = false;
        let mut timer_c = std::pin::pin!(tokio::time::sleep(TIMER_C));
        loop {
            tokio::select! {
                p = dialing.next_progress() => match p {
                    Some(p) => {
                        timer_c.as_mut().reset(tokio::time::Instant::now() + TIMER_C);
                        let input = Input::CalleeProgress { status: p.status, sdp: p.sdp.is_some() };
                        for action in b.call.handle(input) {
                            if let Action::Provisional { status, sdp } = action {
                                match p.sdp.as_ref().filter(|_| sdp).map(|s| {
                                    b.caller_sdp.rewrite(&String::from_utf8_lossy(s), b.caller_relay)
                                }) {
                                    Some(Ok((text, media))) => {
                                        set_remote(&mut callee_socks, &media);
                                        incoming.provisional(status, Some(text.into_bytes()));
                                    }
                                    _ => incoming.provisional(status, None),
                                }
                            }
                        }
                    }
                    None => break,
                },
                _ = &mut timer_c, if !caller_gone && !timed_out => {
                    warn!(call_id = %incoming.call_id, "callee silent for {TIMER_C:?} while ringing; cancelled");
                    timed_out = true;
                    let _ = callee_handle.hangup().await;
                }
                ev = incoming.next_event(), if !caller_gone => {
                    if matches!(ev, None | Some(CallEvent::Ended(_))) {
                        caller_gone = true;
                        for action in b.call.handle(Input::CallerCancelled) {
                            if action == Action::CancelCallee {
                                let _ = callee_handle.hangup().await;
                            }
                        }
                    }
                }
            }
        }
        let callee = match dialing.outcome().await {
            Ok(active) => active,
            Err(e) => {
                let input = match &e {
                    DialError::Rejected { status, .. } => Input::CalleeFailed { status: *status },
                    _ => Input::CalleeUnreachable,
                };
                let mut status = None;
                for action in b.call.handle(input) {
                    if let Action::RejectCaller { status: s } = action {
                        status = Some(s);
                    }
                }
                return match status {
                    _ if timed_out && !caller_gone => {
                        incoming.reject(408);
                        BridgeOutcome::Refused { status: 408 }
                    }
                    Some(s) if !caller_gone => {
                        incoming.reject(s);
                        BridgeOutcome::Refused { status: s }
                    }
                    _ => BridgeOutcome::Cancelled,
                };
            }
        };
        if caller_gone {
            for action in b.call.handle(Input::CalleeAnswered) {
                if action == Action::Bye(Leg::Callee) {
                    let _ = callee.handle.hangup().await;
                }
            }
            return BridgeOutcome::Cancelled;
        }
        b.call.handle(Input::CalleeAnswered);
        let answer = String::from_utf8_lossy(&callee.remote_sdp).into_owned();
        let (answer, callee_media) = match b.caller_sdp.rewrite(&answer, b.caller_relay) {
            Ok(x) => x,
            Err(e) => {
                warn!(call_id = %incoming.call_id, "callee's answer cannot be bridged: {e}");
                let _ = callee.handle.hangup().await;
                incoming.reject(502);
                return BridgeOutcome::Refused { status: 502 };
            }
        };
        b.callee_kind = callee_media.kind;
        set_remote(&mut callee_socks, &callee_media);
        let (answer, mode) = match relay_plan(b.caller_kind, b.callee_kind) {
            RelayPlan::Relay(m) => (answer, m),
            // The caller's T.38 offer, answered by the bridge itself.
            RelayPlan::Gateway => match b.caller_sdp.gateway_answer(
                &String::from_utf8_lossy(&incoming.offer),
                &String::from_utf8_lossy(&callee.remote_sdp),
                b.caller_relay,
            ) {
                Ok((a, g)) => (a, MediaMode::Gateway(g)),
                Err(e) => {
                    warn!(call_id = %incoming.call_id, "no gateway for the call: {e}");
                    let _ = callee.handle.hangup().await;
                    incoming.reject(488);
                    return BridgeOutcome::Refused { status: 488 };
                }
            },
        };
        let call_id = incoming.call_id.clone();
        let caller = match incoming.accept(answer.into_bytes()) {
            Ok(c) => c,
            Err(_) => {
                let _ = callee.handle.hangup().await;
                return BridgeOutcome::Cancelled;
            }
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
        let relay = Relay::start(caller_socks, callee_socks, mode, None);
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

    /// Both legs up: BYE and re-INVITEs across until both are over.
    async fn answered(&mut self, mut caller: ActiveCall, mut callee: ActiveCall, relay: &Relay) {
        loop {
            let (leg, event) = tokio::select! {
                e = caller.next_event() => (Leg::Caller, e),
                e = callee.next_event() => (Leg::Callee, e),
            };
            match event {
                None | Some(CallEvent::Ended(_)) => {
                    for action in self.call.handle(Input::Hangup(leg)) {
                        if let Action::Bye(to) = action {
                            let other = if to == Leg::Caller { &caller } else { &callee };
                            let _ = other.handle.hangup().await;
                        }
                    }
                    return;
                }
                Some(CallEvent::Established) => {}
                Some(CallEvent::ReInvite(r)) => {
                    let actions = self.call.handle(Input::ReInvite(leg));
                    if actions.contains(&Action::ForwardReInvite(other(leg))) {
                        let status = self.forward_reinvite(leg, r, &caller, &callee, relay).await;
                        self.call.handle(Input::ReInviteAnswered { status });
                    } else {
                        r.reject(491);
                    }
                }
            }
        }
    }

    /// Send a re-INVITE from `from` on to the other leg and answer it with
    /// the result; returns the status answered.
    async fn forward_reinvite(
        &mut self,
        from: Leg,
        r: ReInvite,
        caller: &ActiveCall,
        callee: &ActiveCall,
        relay: &Relay,
    ) -> u16 {
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
        let Ok((offer, offerer)) = to_sdp.rewrite(&String::from_utf8_lossy(&r.offer), to_relay)
        else {
            r.reject(488);
            return 488;
        };
        match to_call.handle.reinvite(offer.into_bytes()).await {
            Ok(ReInviteOutcome::Accepted(answer)) => {
                let Ok((answer, answerer)) =
                    back_sdp.rewrite(&String::from_utf8_lossy(&answer), back_relay)
                else {
                    r.reject(488);
                    return 488;
                };
                let mode = match relay_plan(offerer.kind, answerer.kind) {
                    RelayPlan::Relay(m) => m,
                    RelayPlan::Gateway => match gateway_for_exchange(
                        from,
                        &String::from_utf8_lossy(&r.offer),
                        &answer,
                    ) {
                        Ok(g) => MediaMode::Gateway(g),
                        Err(_) => {
                            r.reject(488);
                            return 488;
                        }
                    },
                };
                relay.set_mode(mode);
                relay.set_remote(from, offerer.rtp, offerer.rtcp);
                relay.set_remote(other(from), answerer.rtp, answerer.rtcp);
                r.accept(answer.into_bytes());
                200
            }
            // The other party cannot do T.38: answer it ourselves and
            // gateway to the G.711 the other party keeps.
            Ok(ReInviteOutcome::Rejected(status @ (488 | 415 | 606)))
                if offerer.kind == StreamKind::T38 && other_codec.is_some() =>
            {
                let offer = String::from_utf8_lossy(&r.offer);
                let (Some((law, payload_type)), Ok((answer, t38, udp_ec))) =
                    (other_codec, back_sdp.answer_t38(&offer, back_relay))
                else {
                    r.reject(status);
                    return status;
                };
                info!(t38_leg = ?from, refused = status, "T.38 refused by the other side: gatewaying G.711 to T.38");
                relay.set_mode(MediaMode::Gateway(GatewayMode {
                    t38_leg: from,
                    law,
                    payload_type,
                    t38,
                    udp_ec,
                }));
                relay.set_remote(from, offerer.rtp, offerer.rtcp);
                r.accept(answer.into_bytes());
                200
            }
            Ok(ReInviteOutcome::Rejected(status)) => {
                r.reject(status);
                status
            }
            Err(_) => {
                r.reject(500);
                500
            }
        }
    }
}

fn other(leg: Leg) -> Leg {
    match leg {
        Leg::Caller => Leg::Callee,
        Leg::Callee => Leg::Caller,
    }
}

fn set_remote(socks: &mut LegSockets, media: &PartyMedia) {
    socks.remote_rtp = media.rtp;
    socks.remote_rtcp = media.rtcp;
}
