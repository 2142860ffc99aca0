//! A first look at an SDP offer, enough to refuse what no fax path can use.
//!
//! The full offer/answer negotiation (codecs, T.38 attributes) is
//! [`crate::sdp::answer`], run by the call handler with its local
//! capabilities; the endpoint only needs to know whether an offer is worth
//! presenting at all, and where the far end's media is. An offer is
//! acceptable when [`crate::sdp::parse`] reads it and it has at least one
//! active stream faxbridge can terminate: audio over RTP/AVP with PCMU or
//! PCMA, or `image udptl t38`. A body that is not SDP at all is answered
//! `400`, an SDP with nothing usable `488 Not Acceptable Here` (RFC 3261
//! §13.3.1.3, RFC 3264 §6), before the handler sees it.

use std::net::SocketAddr;

use crate::sdp::{self, SdpError};

/// The kind of an acceptable stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    /// G.711 audio over RTP.
    Audio,
    /// T.38 over UDPTL.
    T38,
}

/// What the endpoint learned from an acceptable offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferSummary {
    /// The first acceptable stream's kind.
    pub kind: MediaKind,
    /// Where that stream's media comes from (its `c=` address and port).
    pub remote_media: Option<SocketAddr>,
}

/// Why an offer cannot be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OfferError {
    /// No body, or not SDP.
    #[error("the request carries no SDP offer; faxbridge needs the offer in the INVITE")]
    Missing,
    /// The body is not readable SDP, or an attribute is unusable.
    #[error(transparent)]
    Sdp(#[from] SdpError),
    /// No stream faxbridge can use.
    #[error(
        "the offer has no PCMU/PCMA audio or T.38 image stream; configure the peer for G.711 or T.38"
    )]
    NoUsableStream,
}

impl OfferError {
    /// The SIP status that refuses such an offer: 400 for a body that
    /// cannot be read as SDP, 488 otherwise.
    pub fn sip_status(&self) -> u16 {
        match self {
            OfferError::Sdp(e) => e.sip_status(),
            OfferError::Missing | OfferError::NoUsableStream => 488,
        }
    }
}

/// Inspects an offer body whose Content-Type is `content_type`.
pub fn inspect_offer(content_type: Option<&str>, body: &[u8]) -> Result<OfferSummary, OfferError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(OfferError::Missing);
    }
    if let Some(ct) = content_type {
        let mime = ct.split(';').next().unwrap_or("").trim();
        if !mime.eq_ignore_ascii_case("application/sdp") {
            return Err(OfferError::Missing);
        }
    }
    let text = std::str::from_utf8(body).map_err(|_| {
        OfferError::Sdp(SdpError::Syntax {
            line: 1,
            reason: "the body is not UTF-8 text".into(),
        })
    })?;
    let offer = sdp::parse(text)?;
    for (index, m) in offer.media.iter().enumerate() {
        if m.port == 0 {
            continue;
        }
        let g711 = || {
            m.formats
                .iter()
                .filter_map(|f| f.parse::<u8>().ok())
                .filter_map(|pt| m.rtpmap(pt))
                .any(|r| {
                    r.clock_rate == 8000
                        && (r.encoding.eq_ignore_ascii_case("PCMU")
                            || r.encoding.eq_ignore_ascii_case("PCMA"))
                })
        };
        let kind = if m.is_udptl_t38() {
            MediaKind::T38
        } else if m.is_rtp_audio() && g711() {
            MediaKind::Audio
        } else {
            continue;
        };
        let remote_media = offer
            .connection_for(index)
            .and_then(|c| c.ip())
            .map(|ip| SocketAddr::new(ip, m.port));
        return Ok(OfferSummary { kind, remote_media });
    }
    Err(OfferError::NoUsableStream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_offer() {
        let sdp = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n\
                   m=audio 4000 RTP/AVP 18 8 101\r\na=rtpmap:8 PCMA/8000\r\n";
        let s = inspect_offer(Some("application/sdp"), sdp.as_bytes()).unwrap();
        assert_eq!(s.kind, MediaKind::Audio);
        assert_eq!(s.remote_media, Some("10.0.0.1:4000".parse().unwrap()));
    }

    #[test]
    fn t38_offer_with_media_level_connection() {
        let sdp = "v=0\r\no=- 1 2 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n\
                   m=audio 0 RTP/AVP 0\r\nm=image 5000 udptl t38\r\nc=IN IP4 10.0.0.9\r\n\
                   a=T38FaxVersion:0\r\n";
        let s = inspect_offer(None, sdp.as_bytes()).unwrap();
        assert_eq!(s.kind, MediaKind::T38);
        assert_eq!(s.remote_media, Some("10.0.0.9:5000".parse().unwrap()));
    }

    #[test]
    fn refusals() {
        assert_eq!(inspect_offer(None, b""), Err(OfferError::Missing));
        assert_eq!(OfferError::Missing.sip_status(), 488);
        assert_eq!(
            inspect_offer(Some("text/plain"), b"v=0\r\n"),
            Err(OfferError::Missing)
        );
        let unreadable = inspect_offer(None, b"hello").unwrap_err();
        assert_eq!(unreadable.sip_status(), 400, "{unreadable}");
        let g729 = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n\
                    m=audio 4000 RTP/AVP 18\r\nm=video 5000 RTP/AVP 96\r\n";
        let e = inspect_offer(None, g729.as_bytes()).unwrap_err();
        assert_eq!(e, OfferError::NoUsableStream);
        assert_eq!(e.sip_status(), 488);
        let srtp = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n\
                    m=audio 4000 RTP/SAVP 0\r\n";
        assert_eq!(
            inspect_offer(None, srtp.as_bytes()),
            Err(OfferError::NoUsableStream)
        );
    }
}
