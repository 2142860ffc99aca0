//! The session descriptions of a bridged call: each party is shown the
//! relay, and the relay is told where each party is.
//!
//! The bridge does not negotiate codecs: the two parties do, end to end,
//! through it. An offer from one party is passed to the other with only
//! what must change for media to flow through the relay ([`SdpLeg::rewrite`]):
//!
//! * `c=` becomes the relay's address (session level; media-level `c=`
//!   lines are removed so they cannot contradict it);
//! * the relayed stream's port becomes the relay leg's RTP (or UDPTL) port,
//!   with `a=rtcp` (RFC 3605) when its RTCP socket is not the next port;
//! * every other stream is refused with port 0, because one stream is
//!   relayed per call (RFC 3264 §6 keeps the m-line so answers still line
//!   up);
//! * ICE attributes go: their candidates name the party, not the relay;
//! * `o=` is the bridge's own for that leg, its version raised each time
//!   the description sent on that leg changes (RFC 3264 §8), so a session
//!   refresh stays a refresh on the other side.
//!
//! Codec lines, `T38Fax*` attributes, `ptime`, `telephone-event` and
//! direction attributes pass unchanged, so a G.711 call and a T.38 call
//! are both relayed without transcoding ([`relay_plan`]).
//!
//! The one exception is the G.711↔T.38 gateway: when one party asks for
//! T.38 and the other refuses it, the bridge answers the T.38 offer itself
//! ([`SdpLeg::answer_t38`]) and the relay translates between the T.38 leg
//! and the G.711 leg ([`gateway_mode`]).

use std::net::{IpAddr, SocketAddr};

use super::leg::{GatewayMode, Leg, MediaMode};
use crate::fax::{G711Law, T38Options};
use crate::sdp::{
    self, Attribute, Connection, LocalMediaCaps, LocalSession, Negotiated, Origin, SdpError,
    SessionDescription, T38Caps, T38Params, UdpEc,
};

/// What a party's chosen stream carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    /// RTP audio (`m=audio … RTP/AVP`).
    Audio,
    /// T.38 over UDPTL (`m=image … udptl t38`).
    T38,
}

/// Where a party receives its media, from its session description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartyMedia {
    /// Which m-line is relayed.
    pub index: usize,
    /// What it carries.
    pub kind: StreamKind,
    /// RTP/UDPTL address; `None` when the party is on hold (`c=0.0.0.0`)
    /// or names a host instead of an address.
    pub rtp: Option<SocketAddr>,
    /// RTCP address from `a=rtcp`, if given (else RTP port + 1).
    pub rtcp: Option<SocketAddr>,
}

/// The relay's sockets on one leg, as written into that leg's SDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayAddress {
    /// The relay's media address facing the party.
    pub ip: IpAddr,
    /// RTP (or UDPTL) port.
    pub rtp_port: u16,
    /// RTCP port.
    pub rtcp_port: u16,
}

/// Why a session description cannot be bridged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    /// Not SDP.
    #[error("the session description is malformed: {0}")]
    Sdp(#[from] SdpError),
    /// No audio or T.38 stream with a port.
    #[error(
        "the session description has no active RTP audio or T.38 stream; the bridge relays G.711 audio and T.38 only"
    )]
    NoStream,
    /// The audio leg agreed no G.711 codec, so the T.38 gateway cannot
    /// hear it.
    #[error(
        "the audio leg uses no PCMA or PCMU codec, which the T.38 gateway needs; offer G.711 on the analogue side"
    )]
    NoG711,
}

impl MediaError {
    /// The SIP status to refuse the offer with: 400 for malformed SDP, 488
    /// Not Acceptable Here for an offer with nothing to relay.
    pub fn sip_status(&self) -> u16 {
        match self {
            MediaError::Sdp(e) => e.sip_status(),
            MediaError::NoStream | MediaError::NoG711 => 488,
        }
    }
}

/// The first stream the relay can carry, and where the party receives it.
pub fn party_media(sd: &SessionDescription) -> Result<PartyMedia, MediaError> {
    let (index, m) = sd
        .media
        .iter()
        .enumerate()
        .find(|(_, m)| m.port != 0 && (m.is_rtp_audio() || m.is_udptl_t38()))
        .ok_or(MediaError::NoStream)?;
    let kind = if m.is_udptl_t38() {
        StreamKind::T38
    } else {
        StreamKind::Audio
    };
    let ip = sd
        .connection_for(index)
        .and_then(Connection::ip)
        .filter(|ip| !ip.is_unspecified());
    let rtp = ip.map(|ip| SocketAddr::new(ip, m.port));
    // RFC 3605: `a=rtcp:PORT [nettype addrtype address]`.
    let rtcp = m.attribute("rtcp").and_then(|a| {
        let value = a.value.as_deref()?;
        let mut parts = value.split_whitespace();
        let port: u16 = parts.next()?.parse().ok()?;
        let addr = match (parts.next(), parts.next(), parts.next()) {
            (Some(_), Some(_), Some(a)) => a.parse().ok()?,
            _ => ip?,
        };
        Some(SocketAddr::new(addr, port))
    });
    Ok(PartyMedia {
        index,
        kind,
        rtp,
        rtcp,
    })
}

/// How the relay carries a call whose legs chose `caller` and `callee`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayPlan {
    /// Both legs agree: forward datagrams untouched in this mode.
    Relay(MediaMode),
    /// One leg T.38, the other G.711: the relay's T.38 gateway (SpanDSP
    /// `t38_gateway`) translates ([`gateway_mode`] sets it up).
    Gateway,
}

/// The G.711 codec of a party's audio stream: the first PCMU or PCMA
/// format of its first active audio m-line (in an answer, the codec the
/// answerer sends), with its payload type.
pub fn audio_codec(sd: &SessionDescription) -> Option<(G711Law, u8)> {
    let m = sd.media.iter().find(|m| m.port != 0 && m.is_rtp_audio())?;
    m.formats.iter().find_map(|f| {
        let pt: u8 = f.parse().ok()?;
        let map = m.rtpmap(pt)?;
        if map.clock_rate != 8000 {
            return None;
        }
        if map.encoding.eq_ignore_ascii_case("PCMA") {
            Some((G711Law::ALaw, pt))
        } else if map.encoding.eq_ignore_ascii_case("PCMU") {
            Some((G711Law::MuLaw, pt))
        } else {
            None
        }
    })
}

/// The T.38 session a description's first active T.38 stream announces:
/// the options SpanDSP needs and the UDPTL error correction.
pub fn t38_session(sd: &SessionDescription) -> Option<(T38Options, Option<UdpEc>)> {
    let m = sd.media.iter().find(|m| m.port != 0 && m.is_udptl_t38())?;
    let p = m.t38_params().ok()?;
    Some(t38_options(&p))
}

fn t38_options(p: &T38Params) -> (T38Options, Option<UdpEc>) {
    let options = T38Options {
        version: p.version.min(3),
        // T.38 §D.2.3.4: without T38FaxMaxDatagram assume a small peer.
        max_datagram: p
            .max_datagram
            .map_or(T38Options::default().max_datagram, |d| {
                d.clamp(100, u32::from(u16::MAX)) as u16
            }),
        fill_bit_removal: p.fill_bit_removal,
    };
    (options, p.udp_ec)
}

/// The gateway for an offer/answer exchange whose two sides chose
/// different streams (one T.38, the other G.711); `offerer` is the leg
/// whose party sent `offer`. Each side's own description gives its
/// parameters.
pub fn gateway_for_exchange(
    offerer: Leg,
    offer: &str,
    answer: &str,
) -> Result<GatewayMode, MediaError> {
    let offer = sdp::parse(offer)?;
    let answer = sdp::parse(answer)?;
    let answerer = offerer.other();
    if party_media(&offer)?.kind == StreamKind::T38 {
        gateway_mode(offerer, &offer, &answer)
    } else {
        gateway_mode(answerer, &answer, &offer)
    }
}

/// The gateway joining a T.38 leg (whose agreed session is `t38_side`) to
/// an audio leg (whose agreed session is `audio_side`).
pub fn gateway_mode(
    t38_leg: Leg,
    t38_side: &SessionDescription,
    audio_side: &SessionDescription,
) -> Result<GatewayMode, MediaError> {
    let (t38, udp_ec) = t38_session(t38_side).ok_or(MediaError::NoStream)?;
    let (law, payload_type) = audio_codec(audio_side).ok_or(MediaError::NoG711)?;
    Ok(GatewayMode {
        t38_leg,
        law,
        payload_type,
        t38,
        udp_ec,
    })
}

/// The relay plan for the streams the two legs use.
pub fn relay_plan(caller: StreamKind, callee: StreamKind) -> RelayPlan {
    match (caller, callee) {
        (StreamKind::Audio, StreamKind::Audio) => RelayPlan::Relay(MediaMode::Rtp),
        (StreamKind::T38, StreamKind::T38) => RelayPlan::Relay(MediaMode::Udptl),
        _ => RelayPlan::Gateway,
    }
}

/// ICE (RFC 8839) attributes: they describe the party's addresses.
const ICE_ATTRIBUTES: [&str; 6] = [
    "candidate",
    "remote-candidates",
    "ice-ufrag",
    "ice-pwd",
    "ice-options",
    "ice-lite",
];

/// The bridge's side of one leg's offer/answer: its `o=` line and the last
/// description it sent there.
#[derive(Debug, Clone)]
pub struct SdpLeg {
    session_id: String,
    version: u64,
    last: Option<SessionDescription>,
}

impl SdpLeg {
    /// A leg whose `o=` session id is `session_id` (any number unique to
    /// the call and leg, e.g. from the clock).
    pub fn new(session_id: u64) -> Self {
        SdpLeg {
            session_id: session_id.to_string(),
            version: session_id,
            last: None,
        }
    }

    /// The description last sent on this leg (the session in force once
    /// the other side has answered it).
    pub fn last(&self) -> Option<&SessionDescription> {
        self.last.as_ref()
    }

    /// The bridge's own answer, sent on this leg, to this leg's party's
    /// T.38 `offer` when the other party refused T.38: the relay's gateway
    /// terminates the T.38 stream at `relay`. T.38 parameters follow
    /// T.38 §D.2.3 (the lower version, the offered error correction if we
    /// support it, our 400-octet datagrams). Returns the answer and the
    /// agreed session.
    pub fn answer_t38(
        &mut self,
        offer: &str,
        relay: RelayAddress,
    ) -> Result<(String, T38Options, Option<UdpEc>), MediaError> {
        let sd = sdp::parse(offer)?;
        let caps = LocalMediaCaps {
            address: relay.ip,
            audio: None,
            t38: Some(T38Caps {
                port: relay.rtp_port,
                params: T38Params::default(),
            }),
            prefer_t38: true,
        };
        // The origin is replaced below by this leg's own, so the answer
        // continues the leg's o= line (RFC 3264 §8).
        let mut scratch = LocalSession::new(0, relay.ip);
        let answer = sdp::answer(&sd, &caps, &mut scratch)?;
        let Negotiated::T38(t) = answer.media else {
            return Err(MediaError::NoStream);
        };
        let (mut options, udp_ec) = t38_options(&t.agreed);
        // Our datagrams must fit what the far end receives.
        options.max_datagram = t38_options(&t.remote).0.max_datagram;
        let (text, _) = self.rewrite(&answer.sdp.to_string(), relay)?;
        Ok((text, options, udp_ec))
    }

    /// The G.711 offer the bridge sends on this leg in place of the other
    /// party's T.38-only offer: PCMA and PCMU at `relay`, so that a G.711
    /// party can answer and the relay gateways (a T.38-capable party can
    /// still re-INVITE to T.38 afterwards).
    pub fn offer_g711(&mut self, relay: RelayAddress) -> Result<String, MediaError> {
        let text = format!(
            "v=0\r\no=- 0 0 IN IP4 {ip}\r\ns=faxbridge\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
             m=audio {port} RTP/AVP 8 0\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n\
             a=ptime:20\r\na=sendrecv\r\n",
            ip = relay.ip,
            port = relay.rtp_port,
        );
        Ok(self.rewrite(&text, relay)?.0)
    }

    /// The bridge's answer, sent on this leg (the caller's), to the
    /// caller's T.38 `offer` after the callee answered the bridge's G.711
    /// offer ([`Self::offer_g711`]) with `callee_answer`; and the gateway
    /// that joins them.
    pub fn gateway_answer(
        &mut self,
        offer: &str,
        callee_answer: &str,
        relay: RelayAddress,
    ) -> Result<(String, GatewayMode), MediaError> {
        let (law, payload_type) =
            audio_codec(&sdp::parse(callee_answer)?).ok_or(MediaError::NoG711)?;
        let (answer, t38, udp_ec) = self.answer_t38(offer, relay)?;
        Ok((
            answer,
            GatewayMode {
                t38_leg: Leg::Caller,
                law,
                payload_type,
                t38,
                udp_ec,
            },
        ))
    }

    /// The description to send on this leg for `received` (the other
    /// party's offer or answer), pointing at `relay`; also returns where
    /// the other party receives its media.
    pub fn rewrite(
        &mut self,
        received: &str,
        relay: RelayAddress,
    ) -> Result<(String, PartyMedia), MediaError> {
        let mut sd = sdp::parse(received)?;
        let party = party_media(&sd)?;
        sd.connection = Some(Connection::for_ip(relay.ip));
        for (i, m) in sd.media.iter_mut().enumerate() {
            m.connection = None;
            m.attributes
                .retain(|a| !ICE_ATTRIBUTES.iter().any(|n| a.is(n)) && !a.is("rtcp"));
            if i == party.index {
                m.port = relay.rtp_port;
                m.port_count = None;
                if party.kind == StreamKind::Audio
                    && Some(relay.rtcp_port) != relay.rtp_port.checked_add(1)
                {
                    m.attributes
                        .push(Attribute::value("rtcp", relay.rtcp_port.to_string()));
                }
            } else {
                m.port = 0;
            }
        }
        sd.attributes
            .retain(|a| !ICE_ATTRIBUTES.iter().any(|n| a.is(n)));
        let changed = match &self.last {
            Some(last) => !last.same_content(&sd),
            None => false,
        };
        if changed {
            self.version += 1;
        }
        sd.origin = Origin {
            username: "-".into(),
            session_id: self.session_id.clone(),
            session_version: self.version,
            net_type: "IN".into(),
            addr_type: if relay.ip.is_ipv4() { "IP4" } else { "IP6" }.into(),
            address: relay.ip.to_string(),
        };
        let text = sd.to_string();
        self.last = Some(sd);
        Ok((text, party))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdp::samples::{
        self, CISCO_AUDIO, FREESWITCH_AUDIO_AND_T38, MEDIATRIX_AUDIO, MEDIATRIX_T38_REINVITE,
    };

    fn relay() -> RelayAddress {
        RelayAddress {
            ip: "198.51.100.1".parse().unwrap(),
            rtp_port: 30000,
            rtcp_port: 30001,
        }
    }

    #[test]
    fn the_party_is_found_where_its_sdp_says() {
        let sd = sdp::parse(&samples::crlf(MEDIATRIX_AUDIO)).unwrap();
        let p = party_media(&sd).unwrap();
        assert_eq!(p.kind, StreamKind::Audio);
        assert_eq!(p.rtp, Some("192.0.2.10:5004".parse().unwrap()));
        assert_eq!(p.rtcp, None);
        let sd = sdp::parse(&samples::crlf(CISCO_AUDIO)).unwrap();
        assert_eq!(
            party_media(&sd).unwrap().rtp,
            Some("192.0.2.50:16384".parse().unwrap()),
            "media-level c="
        );
        let sd = sdp::parse(&samples::crlf(MEDIATRIX_T38_REINVITE)).unwrap();
        let p = party_media(&sd).unwrap();
        assert_eq!(
            (p.kind, p.rtp),
            (StreamKind::T38, Some("192.0.2.10:5006".parse().unwrap()))
        );
    }

    #[test]
    fn hold_rtcp_and_nothing_to_relay() {
        let held = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 4000 RTP/AVP 8\r\na=rtcp:4005 IN IP4 192.0.2.7\r\n";
        let p = party_media(&sdp::parse(held).unwrap()).unwrap();
        assert_eq!(p.rtp, None);
        assert_eq!(p.rtcp, Some("192.0.2.7:4005".parse().unwrap()));
        let video = "v=0\r\no=- 1 1 IN IP4 192.0.2.7\r\ns=-\r\nc=IN IP4 192.0.2.7\r\nt=0 0\r\nm=video 4000 RTP/AVP 31\r\nm=audio 0 RTP/AVP 8\r\n";
        let e = party_media(&sdp::parse(video).unwrap()).unwrap_err();
        assert_eq!((e.clone(), e.sip_status()), (MediaError::NoStream, 488));
        let mut leg = SdpLeg::new(7);
        assert_eq!(
            leg.rewrite("garbage", relay()).unwrap_err().sip_status(),
            400
        );
    }

    #[test]
    fn an_offer_is_passed_on_pointing_at_the_relay() {
        let mut leg = SdpLeg::new(1000);
        let (text, party) = leg
            .rewrite(&samples::crlf(MEDIATRIX_AUDIO), relay())
            .unwrap();
        assert_eq!(party.rtp, Some("192.0.2.10:5004".parse().unwrap()));
        let out = sdp::parse(&text).unwrap();
        assert_eq!(out.origin.session_id, "1000");
        assert_eq!(out.origin.address, "198.51.100.1");
        assert_eq!(out.connection.as_ref().unwrap().address, "198.51.100.1");
        assert_eq!(out.media.len(), 1);
        assert_eq!(out.media[0].port, 30000);
        assert_eq!(out.media[0].formats, ["0", "8", "18", "101"]);
        assert!(out.media[0].attribute("rtcp").is_none(), "RTCP on port + 1");
        assert_eq!(
            out.media[0].rtpmap(101).unwrap().encoding,
            "telephone-event"
        );
        // The relay's own view of what it sends matches the party's stream.
        assert_eq!(
            party_media(&out).unwrap().rtp,
            Some("198.51.100.1:30000".parse().unwrap())
        );
    }

    #[test]
    fn t38_attributes_pass_and_only_the_first_stream_is_kept() {
        let mut leg = SdpLeg::new(5);
        let odd = RelayAddress {
            rtcp_port: 30011,
            ..relay()
        };
        let (text, party) = leg
            .rewrite(&samples::crlf(FREESWITCH_AUDIO_AND_T38), odd)
            .unwrap();
        assert_eq!(party.kind, StreamKind::Audio);
        let out = sdp::parse(&text).unwrap();
        assert_eq!(
            out.media[0].attribute("rtcp").unwrap().value.as_deref(),
            Some("30011")
        );
        assert_eq!(out.media.len(), 2, "m-lines keep their places");
        assert_eq!(out.media[1].port, 0, "only one stream is relayed");
        let (text, party) = leg
            .rewrite(&samples::crlf(MEDIATRIX_T38_REINVITE), odd)
            .unwrap();
        assert_eq!(party.kind, StreamKind::T38);
        let out = sdp::parse(&text).unwrap();
        assert_eq!(out.media[0].port, 30000);
        assert!(
            out.media[0].attribute("rtcp").is_none(),
            "UDPTL has no RTCP"
        );
        let t38 = out.media[0].t38_params().unwrap();
        assert_eq!(t38.max_datagram, Some(180));
        assert!(!t38.fill_bit_removal, "Mediatrix writes :0 for false");
    }

    #[test]
    fn the_origin_version_rises_only_when_the_session_changes() {
        let mut leg = SdpLeg::new(42);
        let v = |text: &str| sdp::parse(text).unwrap().origin.session_version;
        let audio = samples::crlf(MEDIATRIX_AUDIO);
        let first = leg.rewrite(&audio, relay()).unwrap().0;
        assert_eq!(v(&first), 42);
        // A refresh (same content) keeps the version.
        assert_eq!(v(&leg.rewrite(&audio, relay()).unwrap().0), 42);
        // A change to T.38 raises it.
        let t38 = samples::crlf(MEDIATRIX_T38_REINVITE);
        assert_eq!(v(&leg.rewrite(&t38, relay()).unwrap().0), 43);
        assert_eq!(v(&leg.rewrite(&audio, relay()).unwrap().0), 44);
    }

    #[test]
    fn ice_is_stripped() {
        let offer = "v=0\r\no=- 1 1 IN IP4 192.0.2.7\r\ns=-\r\nc=IN IP4 192.0.2.7\r\nt=0 0\r\na=ice-lite\r\nm=audio 4000 RTP/AVP 8\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdef012345\r\na=candidate:1 1 UDP 2130706431 192.0.2.7 4000 typ host\r\na=sendrecv\r\n";
        let (text, _) = SdpLeg::new(1).rewrite(offer, relay()).unwrap();
        assert!(
            !text.contains("ice") && !text.contains("candidate"),
            "{text}"
        );
        assert!(text.contains("a=sendrecv"));
    }

    #[test]
    fn gateway_parameters_come_from_each_side() {
        let audio = sdp::parse(&samples::crlf(MEDIATRIX_AUDIO)).unwrap();
        // Mediatrix lists PCMU first.
        assert_eq!(audio_codec(&audio), Some((G711Law::MuLaw, 0)));
        let pcma = "v=0\r\no=- 1 1 IN IP4 192.0.2.7\r\ns=-\r\nc=IN IP4 192.0.2.7\r\nt=0 0\r\nm=audio 4000 RTP/AVP 18 97 101\r\na=rtpmap:97 pcma/8000\r\n";
        assert_eq!(
            audio_codec(&sdp::parse(pcma).unwrap()),
            Some((G711Law::ALaw, 97)),
            "dynamic payload type, G.729 skipped"
        );
        let t38 = samples::crlf(MEDIATRIX_T38_REINVITE);
        let (opts, ec) = t38_session(&sdp::parse(&t38).unwrap()).unwrap();
        assert_eq!((opts.version, opts.max_datagram), (0, 180));
        assert_eq!(ec, Some(UdpEc::Redundancy));
        // The callee offered T.38 and the caller answered with audio.
        let g = gateway_for_exchange(Leg::Callee, &t38, &samples::crlf(MEDIATRIX_AUDIO)).unwrap();
        assert_eq!(
            (g.t38_leg, g.law, g.payload_type),
            (Leg::Callee, G711Law::MuLaw, 0)
        );
        let g = gateway_for_exchange(Leg::Callee, &samples::crlf(MEDIATRIX_AUDIO), &t38).unwrap();
        assert_eq!(g.t38_leg, Leg::Caller);
        let g729 = "v=0\r\no=- 1 1 IN IP4 192.0.2.7\r\ns=-\r\nc=IN IP4 192.0.2.7\r\nt=0 0\r\nm=audio 4000 RTP/AVP 18\r\n";
        let e = gateway_for_exchange(Leg::Caller, &t38, g729).unwrap_err();
        assert_eq!((e.clone(), e.sip_status()), (MediaError::NoG711, 488));
    }

    #[test]
    fn the_bridge_answers_a_refused_t38_offer_itself() {
        let mut leg = SdpLeg::new(900);
        let audio = leg
            .rewrite(&samples::crlf(MEDIATRIX_AUDIO), relay())
            .unwrap()
            .0;
        assert_eq!(sdp::parse(&audio).unwrap().origin.session_version, 900);
        let (answer, opts, ec) = leg
            .answer_t38(&samples::crlf(MEDIATRIX_T38_REINVITE), relay())
            .unwrap();
        let sd = sdp::parse(&answer).unwrap();
        assert_eq!(sd.origin.session_id, "900", "the leg's own o= line");
        assert_eq!(
            sd.origin.session_version, 901,
            "raised: the session changed"
        );
        let p = party_media(&sd).unwrap();
        assert_eq!(p.kind, StreamKind::T38);
        assert_eq!(p.rtp, Some("198.51.100.1:30000".parse().unwrap()));
        let params = sd.media[p.index].t38_params().unwrap();
        assert_eq!(params.udp_ec, Some(UdpEc::Redundancy));
        assert_eq!((opts.version, ec), (0, Some(UdpEc::Redundancy)));
        assert_eq!(opts.max_datagram, 180, "the far end's receive limit");
        assert!(
            leg.answer_t38(&samples::crlf(MEDIATRIX_AUDIO), relay())
                .is_err(),
            "an audio offer is not the gateway's to answer"
        );
    }

    #[test]
    fn a_t38_only_offer_becomes_g711_and_is_answered_by_the_bridge() {
        let mut callee = SdpLeg::new(10);
        let offer = callee.offer_g711(relay()).unwrap();
        let sd = sdp::parse(&offer).unwrap();
        let p = party_media(&sd).unwrap();
        assert_eq!(p.kind, StreamKind::Audio);
        assert_eq!(p.rtp, Some("198.51.100.1:30000".parse().unwrap()));
        assert_eq!(audio_codec(&sd), Some((G711Law::ALaw, 8)));
        assert_eq!(sd.origin.session_id, "10");
        let mut caller = SdpLeg::new(20);
        let t38 = samples::crlf(MEDIATRIX_T38_REINVITE);
        let (answer, g) = caller
            .gateway_answer(&t38, &samples::crlf(MEDIATRIX_AUDIO), relay())
            .unwrap();
        assert_eq!(
            party_media(&sdp::parse(&answer).unwrap()).unwrap().kind,
            StreamKind::T38
        );
        assert_eq!(
            (g.t38_leg, g.law, g.t38.max_datagram),
            (Leg::Caller, G711Law::MuLaw, 180)
        );
    }

    #[test]
    fn relay_plans() {
        use StreamKind::*;
        assert_eq!(relay_plan(Audio, Audio), RelayPlan::Relay(MediaMode::Rtp));
        assert_eq!(relay_plan(T38, T38), RelayPlan::Relay(MediaMode::Udptl));
        assert_eq!(relay_plan(T38, Audio), RelayPlan::Gateway);
        assert_eq!(relay_plan(Audio, T38), RelayPlan::Gateway);
    }
}
