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
//! A re-INVITE that would need the G.711↔T.38 gateway (one side T.38, the
//! other refusing it) is refused with 488 on the side that asked, so it
//! stays on G.711 (Mediatrix falls back to G.711 after a 488).
//!
//! # Limits of the present endpoint
//!
//! * The endpoint answers 480 when an INVITE is not answered within
//!   `[sip] answer_timeout_secs` (at most 30 s), which also ends a bridged
//!   call that rings longer.
//! * Early media is sent to the caller as 180 with SDP: the endpoint has
//!   no way to send 183 itself.
//! * Caller ID is the From user only (no P-Asserted-Identity, no
//!   privacy), and ports are reached at `[bridge] ata_sip_port` of the
//!   unit's address, since the endpoint keeps no registrations.
//! * While a re-INVITE is being forwarded, events of the other leg wait.

use std::net::{IpAddr, SocketAddr};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::net::UdpSocket;
use tracing::{error, info, warn};

use super::call::{Action, BridgeCall, Input};
use super::media::{PartyMedia, RelayAddress, RelayPlan, SdpLeg, StreamKind, relay_plan};
use super::plan::{CallRequest, Decision, Origin, OwnFaxCall, Planner};
use super::relay::{Leg, LegSockets, MediaMode, Relay, RelayReport};
use crate::sip::acl::Account;
use crate::sip::{
    ActiveCall, CallEvent, DialError, DialRequest, IncomingCall, ReInvite, ReInviteOutcome,
    SipEndpoint,
};

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
    let (target, cli) = match decision {
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
            (target, e.presented_cli)
        }
        Decision::ToTrunk(t) => (t.target, t.presented_cli),
        Decision::ToPort(p) => (p.target, p.caller),
    };
    let account = match origin {
        Origin::Port => settings.trunk_account.clone(),
        Origin::Trunk => None,
    };
    Bridge::run(endpoint, settings, incoming, target, cli, account).await
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
    async fn run(
        endpoint: &SipEndpoint,
        settings: &BridgeSettings,
        mut incoming: IncomingCall,
        target: String,
        cli: Option<String>,
        account: Option<Account>,
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
        let request = DialRequest {
            target,
            from_user: cli.unwrap_or_else(|| "anonymous".into()),
            offer: offer.into_bytes(),
            account,
        };
        let mut dialing = match endpoint.dial(request).await {
            Ok(d) => d,
            Err(e) => {
                warn!(call_id = %incoming.call_id, "second leg could not be placed: {e}");
                incoming.reject(503);
                return BridgeOutcome::Refused { status: 503 };
            }
        };
        let callee_handle = dialing.handle().clone();
        // Ringing: progress from the callee, CANCEL from the caller.
        let mut caller_gone = false;
        loop {
            tokio::select! {
                p = dialing.next_progress() => match p {
                    Some(p) => {
                        let input = Input::CalleeProgress { status: p.status, sdp: p.sdp.is_some() };
                        for action in b.call.handle(input) {
                            if let Action::Provisional { sdp, .. } = action {
                                match p.sdp.as_ref().filter(|_| sdp).map(|s| {
                                    b.caller_sdp.rewrite(&String::from_utf8_lossy(s), b.caller_relay)
                                }) {
                                    Some(Ok((text, media))) => {
                                        set_remote(&mut callee_socks, &media);
                                        incoming.session_progress(text.into_bytes());
                                    }
                                    _ => incoming.ring(),
                                }
                            }
                        }
                    }
                    None => break,
                },
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
        let mode = match relay_plan(b.caller_kind, b.callee_kind) {
            RelayPlan::Relay(m) => m,
            RelayPlan::Gateway => MediaMode::Rtp,
        };
        let caller = match incoming.accept(answer.into_bytes()) {
            Ok(c) => c,
            Err(_) => {
                let _ = callee.handle.hangup().await;
                return BridgeOutcome::Cancelled;
            }
        };
        let relay = Relay::start(caller_socks, callee_socks, mode, None);
        b.answered(caller, callee, &relay).await;
        match relay.stop().await {
            Ok(report) => BridgeOutcome::Ended(Box::new(report)),
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
                    RelayPlan::Gateway => {
                        r.reject(488);
                        return 488;
                    }
                };
                relay.set_mode(mode);
                relay.set_remote(from, offerer.rtp, offerer.rtcp);
                relay.set_remote(other(from), answerer.rtp, answerer.rtcp);
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
