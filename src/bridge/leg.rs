//! The two legs of a bridged call and what the relay carries between them.
//!
//! Plain values shared by the bridge's sans-IO parts ([`super::call`],
//! [`super::media`]) and its drivers ([`super::b2bua`], [`super::relay`]),
//! so that no core has to import a driver for them. Nothing here does I/O.

use crate::fax::{G711Law, T38Options};
use crate::media::classifier::Direction;
use crate::sdp::UdpEc;

/// One side of the bridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leg {
    /// The party that sent the INVITE.
    Caller,
    /// The party the call was placed to.
    Callee,
}

impl Leg {
    /// The other side of the call.
    pub fn other(self) -> Leg {
        match self {
            Leg::Caller => Leg::Callee,
            Leg::Callee => Leg::Caller,
        }
    }

    /// 0 for the caller, 1 for the callee: the position of the leg's
    /// state in per-leg arrays.
    pub(crate) fn index(self) -> usize {
        match self {
            Leg::Caller => 0,
            Leg::Callee => 1,
        }
    }

    /// The direction of audio that arrives from this leg.
    pub fn direction(self) -> Direction {
        match self {
            Leg::Caller => Direction::CallerToCallee,
            Leg::Callee => Direction::CalleeToCaller,
        }
    }
}

/// What the legs carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaMode {
    /// RTP and RTCP (voice, G.711 fax, modems).
    Rtp,
    /// UDPTL: both legs negotiated T.38, so IFPs pass through unchanged.
    Udptl,
    /// One leg T.38, the other G.711: translated by a T.38 gateway.
    Gateway(GatewayMode),
}

/// How the gateway joins the legs: which one speaks T.38, and what each
/// agreed in SDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GatewayMode {
    /// The leg that uses T.38 (UDPTL); the other uses G.711 RTP.
    pub t38_leg: Leg,
    /// The G.711 law (PCMA or PCMU) the audio leg agreed.
    pub law: G711Law,
    /// The audio leg's payload type for it (8 for PCMA, 0 for PCMU).
    pub payload_type: u8,
    /// The T.38 session the T.38 leg agreed.
    pub t38: T38Options,
    /// The agreed `T38FaxUdpEC` (none, redundancy or FEC).
    pub udp_ec: Option<UdpEc>,
}

impl GatewayMode {
    /// The [`Leg::index`] of the leg that uses G.711.
    pub(crate) fn audio_index(&self) -> usize {
        1 - self.t38_leg.index()
    }
}
