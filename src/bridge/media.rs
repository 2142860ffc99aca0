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

use std::net::{IpAddr, SocketAddr};

use super::relay::MediaMode;
use crate::sdp::{self, Attribute, Connection, Origin, SdpError, SessionDescription};

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
}

impl MediaError {
    /// The SIP status to refuse the offer with: 400 for malformed SDP, 488
    /// Not Acceptable Here for an offer with nothing to relay.
    pub fn sip_status(&self) -> u16 {
        match self {
            MediaError::Sdp(e) => e.sip_status(),
            MediaError::NoStream => 488,
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
    /// One leg T.38, the other G.711: a T.38 gateway (SpanDSP
    /// `t38_gateway`) must translate; until it is in place such a
    /// re-INVITE is refused with 488 so the far end stays on G.711.
    Gateway,
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
    fn relay_plans() {
        use StreamKind::*;
        assert_eq!(relay_plan(Audio, Audio), RelayPlan::Relay(MediaMode::Rtp));
        assert_eq!(relay_plan(T38, T38), RelayPlan::Relay(MediaMode::Udptl));
        assert_eq!(relay_plan(T38, Audio), RelayPlan::Gateway);
        assert_eq!(relay_plan(Audio, T38), RelayPlan::Gateway);
    }
}
