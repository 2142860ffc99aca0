//! Which datagrams a call's media socket takes: media is bound to the party
//! that signalled it.
//!
//! A media port is an open UDP port: anyone who can reach it can send RTP,
//! RTCP or UDPTL to it. A relay or fax call that took the first valid
//! packet from anywhere, or moved to whoever kept sending, would let a
//! stranger listen to a call (the relay sends each leg's media to where
//! that leg's packets come from) or inject into it — fax pages, or the
//! modem session of a card terminal. So each stream accepts datagrams only
//! from the party its session description names:
//!
//! * **The signalled address.** Only datagrams whose source IP is the
//!   connection address of the stream in that party's SDP are taken. A
//!   stream whose party is an ATA must also come from the unit's configured
//!   address (`[[ata.units]] address`); when the two differ nothing is
//!   taken, and the driver says so.
//! * **Symmetric RTP, on the same IP only** (RFC 4961). A party behind NAT
//!   sends from another port than its SDP names; the first valid datagram
//!   from any port of the signalled IP binds the stream to that source
//!   (address and port); the bridge's relay then sends the party's media
//!   there ([`SourceGuard::send_to`]).
//!   After that the source is kept: datagrams from any other address or
//!   port are dropped. The one exception is the signalled address itself:
//!   a stream bound to another port is moved back to the exact signalled
//!   address and port when a valid datagram comes from it, because a
//!   stranger on the party's host could have sent first from some other
//!   port, while the signalled port is what the call's signalling chose.
//! * **The SSRC of the first RTP packet** (RFC 3550 §8) is kept with the
//!   source: an RTP packet from the bound source with another SSRC is
//!   dropped. A new SSRC is taken only after the stream is armed again,
//!   which the drivers do when a re-INVITE signals the stream anew
//!   ([`SourceGuard::arm`]).
//!
//! Everything dropped is counted by reason ([`DropReason`]), per call and
//! process-wide for `/metrics` ([`count_drop`], [`dropped_total`]).
//!
//! Sans-IO: [`SourceGuard`] judges one datagram at a time from its source
//! address and what the driver parsed of it; the drivers own the sockets.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};

/// What a driver parsed of a datagram, as far as binding cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Datagram {
    /// A well-formed RTP packet with this SSRC.
    Rtp {
        /// Its synchronisation source.
        ssrc: u32,
    },
    /// A well-formed datagram of a stream without an SSRC to keep (UDPTL,
    /// RTCP).
    Valid,
    /// Not a well-formed datagram of the stream: it can never bind it.
    Invalid,
}

/// What to do with one datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// From the bound source: take it.
    Accept,
    /// The stream is now bound to the datagram's source (the first valid
    /// datagram since arming, or the signalled address taking its stream
    /// back): take it, and send the party's media to that source.
    Bound,
    /// Not from the party: drop it and count it.
    Drop(DropReason),
}

/// Why a datagram was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DropReason {
    /// From an address or port the stream is not bound to.
    ForeignSource,
    /// RTP from the bound source, but with another SSRC than the stream's.
    Ssrc,
}

impl DropReason {
    /// Every reason, in `/metrics` order.
    pub const ALL: [DropReason; 2] = [DropReason::ForeignSource, DropReason::Ssrc];

    /// The `reason` label in `/metrics`.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::ForeignSource => "foreign_source",
            DropReason::Ssrc => "ssrc",
        }
    }
}

/// The source a stream is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Binding {
    source: SocketAddr,
    /// SSRC of the first RTP packet from it; `None` until one came (UDPTL
    /// and RTCP never carry one here).
    ssrc: Option<u32>,
}

/// Binds one media stream to the party that signalled it (see the module
/// docs for the rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceGuard {
    /// The stream's address from the party's SDP.
    signalled: Option<SocketAddr>,
    /// The ATA unit's address when the party is an ATA port.
    unit: Option<IpAddr>,
    /// The one IP datagrams are taken from; `None`: none at all.
    allowed: Option<IpAddr>,
    bound: Option<Binding>,
}

/// IPv4-mapped IPv6 (`::ffff:a.b.c.d`, as a dual-stack socket reports IPv4
/// senders) compares equal to the IPv4 address an SDP names.
fn same_addr(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() == b.port() && a.ip().to_canonical() == b.ip().to_canonical()
}

impl SourceGuard {
    /// A guard armed with the stream's address from SDP (`None` when the
    /// SDP names none: on hold, port 0, or a name that did not resolve)
    /// and, for an ATA's stream, the unit's address.
    pub fn new(signalled: Option<SocketAddr>, unit: Option<IpAddr>) -> Self {
        let mut g = SourceGuard {
            signalled: None,
            unit: unit.map(|u| u.to_canonical()),
            allowed: None,
            bound: None,
        };
        g.arm(signalled);
        g
    }

    /// Arm again for a newly signalled address (a re-INVITE or UPDATE with
    /// SDP): the binding and its SSRC are forgotten, and the next valid
    /// datagram from the signalled IP binds the stream.
    pub fn arm(&mut self, signalled: Option<SocketAddr>) {
        let ip = signalled.map(|a| a.ip().to_canonical());
        self.signalled = signalled;
        self.allowed = ip.filter(|ip| !ip.is_unspecified() && self.unit.is_none_or(|u| u == *ip));
        self.bound = None;
    }

    /// The address the SDP gave.
    pub fn signalled(&self) -> Option<SocketAddr> {
        self.signalled
    }

    /// Where the party's media goes: the bound source, else the signalled
    /// address.
    pub fn send_to(&self) -> Option<SocketAddr> {
        self.bound.map(|b| b.source).or(self.signalled)
    }

    /// The source the stream is bound to, if any yet.
    pub fn bound(&self) -> Option<SocketAddr> {
        self.bound.map(|b| b.source)
    }

    /// The SSRC kept for the stream, if an RTP packet bound it.
    pub fn ssrc(&self) -> Option<u32> {
        self.bound.and_then(|b| b.ssrc)
    }

    /// The signalled address is not the ATA unit's: nothing will be taken
    /// (the driver should say so, naming both).
    pub fn unit_mismatch(&self) -> Option<(IpAddr, IpAddr)> {
        let signalled = self.signalled?.ip().to_canonical();
        let unit = self.unit?;
        (!signalled.is_unspecified() && signalled != unit).then_some((signalled, unit))
    }

    /// Judge a datagram from `from`.
    pub fn handle(&mut self, from: SocketAddr, datagram: Datagram) -> Verdict {
        if self.allowed != Some(from.ip().to_canonical()) {
            return Verdict::Drop(DropReason::ForeignSource);
        }
        let exact = self.signalled.is_some_and(|s| same_addr(s, from));
        let ssrc = match datagram {
            Datagram::Rtp { ssrc } => Some(ssrc),
            _ => None,
        };
        match self.bound {
            Some(b) if b.source == from => match (ssrc, b.ssrc) {
                (Some(got), Some(kept)) if got != kept => Verdict::Drop(DropReason::Ssrc),
                (Some(got), None) => {
                    self.bound = Some(Binding {
                        ssrc: Some(got),
                        ..b
                    });
                    Verdict::Accept
                }
                _ => Verdict::Accept,
            },
            // An unparsable datagram never binds; from the signalled
            // address before anything bound, it is the party's own.
            None if datagram == Datagram::Invalid && exact => Verdict::Accept,
            _ if datagram == Datagram::Invalid => Verdict::Drop(DropReason::ForeignSource),
            // Bound to another port: only the signalled address itself
            // takes the stream back.
            Some(b) if !exact || self.signalled.is_some_and(|s| same_addr(s, b.source)) => {
                Verdict::Drop(DropReason::ForeignSource)
            }
            _ => {
                self.bound = Some(Binding { source: from, ssrc });
                Verdict::Bound
            }
        }
    }
}

/// Which kind of call dropped a datagram, for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// A call through the analogue bridge (the media relay).
    Bridged,
    /// One of faxbridge's own fax calls (received or sent).
    Fax,
}

impl CallKind {
    /// Every kind, in `/metrics` order.
    pub const ALL: [CallKind; 2] = [CallKind::Bridged, CallKind::Fax];

    /// The `call` label in `/metrics`.
    pub fn as_str(self) -> &'static str {
        match self {
            CallKind::Bridged => "bridged",
            CallKind::Fax => "fax",
        }
    }

    fn index(self) -> usize {
        match self {
            CallKind::Bridged => 0,
            CallKind::Fax => 1,
        }
    }
}

fn reason_index(reason: DropReason) -> usize {
    match reason {
        DropReason::ForeignSource => 0,
        DropReason::Ssrc => 1,
    }
}

/// Datagrams dropped in this process since it started, by call kind and
/// reason.
static DROPPED: [[AtomicU64; 2]; 2] = [
    [AtomicU64::new(0), AtomicU64::new(0)],
    [AtomicU64::new(0), AtomicU64::new(0)],
];

/// Count a dropped datagram for `/metrics`.
pub fn count_drop(kind: CallKind, reason: DropReason) {
    DROPPED[kind.index()][reason_index(reason)].fetch_add(1, Ordering::Relaxed);
}

/// Datagrams `kind` calls dropped for `reason` since the process started.
pub fn dropped_total(kind: CallKind, reason: DropReason) -> u64 {
    DROPPED[kind.index()][reason_index(reason)].load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    use DropReason::{ForeignSource as Foreign, Ssrc};
    use Verdict::{Accept, Bound, Drop};

    const RTP1: Datagram = Datagram::Rtp { ssrc: 1 };
    const RTP2: Datagram = Datagram::Rtp { ssrc: 2 };
    const VALID: Datagram = Datagram::Valid;
    const BAD: Datagram = Datagram::Invalid;

    /// Run `steps` (source, datagram, expected verdict, expected send-to)
    /// through a guard.
    fn run(mut g: SourceGuard, steps: &[(&str, Datagram, Verdict, Option<&str>)]) {
        for (i, (from, d, want, send)) in steps.iter().enumerate() {
            let got = g.handle(a(from), *d);
            assert_eq!(got, *want, "step {i}: {d:?} from {from}");
            assert_eq!(g.send_to(), send.map(a), "step {i}: send-to after it");
        }
    }

    #[test]
    fn only_the_signalled_ip_is_heard() {
        let sdp = Some(a("192.0.2.10:4000"));
        run(
            SourceGuard::new(sdp, None),
            &[
                // Other hosts never bind the stream, however valid.
                (
                    "203.0.113.5:4000",
                    RTP1,
                    Drop(Foreign),
                    Some("192.0.2.10:4000"),
                ),
                (
                    "192.0.2.11:4000",
                    VALID,
                    Drop(Foreign),
                    Some("192.0.2.10:4000"),
                ),
                ("192.0.2.10:4000", RTP1, Bound, Some("192.0.2.10:4000")),
                ("192.0.2.10:4000", RTP1, Accept, Some("192.0.2.10:4000")),
                // Still refused after the party is heard, with any port.
                (
                    "203.0.113.5:4000",
                    RTP1,
                    Drop(Foreign),
                    Some("192.0.2.10:4000"),
                ),
                ("203.0.113.5:9", BAD, Drop(Foreign), Some("192.0.2.10:4000")),
            ],
        );
    }

    #[test]
    fn a_nat_port_on_the_same_ip_binds_only_before_the_first_valid_packet() {
        let sdp = Some(a("192.0.2.10:4000"));
        run(
            SourceGuard::new(sdp, None),
            &[
                // Unparsable datagrams never bind.
                (
                    "192.0.2.10:5002",
                    BAD,
                    Drop(Foreign),
                    Some("192.0.2.10:4000"),
                ),
                // The party's NAT port: bound, and media goes there now.
                ("192.0.2.10:5002", RTP1, Bound, Some("192.0.2.10:5002")),
                ("192.0.2.10:5002", BAD, Accept, Some("192.0.2.10:5002")),
                // Another port of the same host after that: dropped.
                (
                    "192.0.2.10:6000",
                    RTP1,
                    Drop(Foreign),
                    Some("192.0.2.10:5002"),
                ),
                (
                    "192.0.2.10:6000",
                    RTP2,
                    Drop(Foreign),
                    Some("192.0.2.10:5002"),
                ),
                ("192.0.2.10:5002", RTP1, Accept, Some("192.0.2.10:5002")),
            ],
        );
    }

    #[test]
    fn the_signalled_port_takes_its_stream_back_from_another_port() {
        let sdp = Some(a("192.0.2.10:4000"));
        run(
            SourceGuard::new(sdp, None),
            &[
                // Someone on the party's host was first, from another port…
                ("192.0.2.10:6666", RTP2, Bound, Some("192.0.2.10:6666")),
                // …the signalled port's first invalid datagram changes nothing…
                (
                    "192.0.2.10:4000",
                    BAD,
                    Drop(Foreign),
                    Some("192.0.2.10:6666"),
                ),
                // …its first valid one takes the stream, with its own SSRC.
                ("192.0.2.10:4000", RTP1, Bound, Some("192.0.2.10:4000")),
                (
                    "192.0.2.10:6666",
                    RTP2,
                    Drop(Foreign),
                    Some("192.0.2.10:4000"),
                ),
                (
                    "192.0.2.10:6666",
                    RTP1,
                    Drop(Foreign),
                    Some("192.0.2.10:4000"),
                ),
                ("192.0.2.10:4000", RTP2, Drop(Ssrc), Some("192.0.2.10:4000")),
                ("192.0.2.10:4000", RTP1, Accept, Some("192.0.2.10:4000")),
            ],
        );
    }

    #[test]
    fn the_ssrc_of_the_first_rtp_packet_is_kept() {
        let sdp = Some(a("192.0.2.10:4000"));
        run(
            SourceGuard::new(sdp, None),
            &[
                ("192.0.2.10:4000", RTP1, Bound, Some("192.0.2.10:4000")),
                ("192.0.2.10:4000", RTP2, Drop(Ssrc), Some("192.0.2.10:4000")),
                ("192.0.2.10:4000", RTP2, Drop(Ssrc), Some("192.0.2.10:4000")),
                // Datagrams without an SSRC from the source pass (the relay
                // forwards what the party sends untouched).
                ("192.0.2.10:4000", BAD, Accept, Some("192.0.2.10:4000")),
                ("192.0.2.10:4000", RTP1, Accept, Some("192.0.2.10:4000")),
            ],
        );
        // A stream bound by a datagram without SSRC keeps the first RTP one.
        run(
            SourceGuard::new(sdp, None),
            &[
                ("192.0.2.10:4000", VALID, Bound, Some("192.0.2.10:4000")),
                ("192.0.2.10:4000", RTP2, Accept, Some("192.0.2.10:4000")),
                ("192.0.2.10:4000", RTP1, Drop(Ssrc), Some("192.0.2.10:4000")),
            ],
        );
    }

    #[test]
    fn an_invalid_datagram_from_the_signalled_address_passes_before_binding() {
        let sdp = Some(a("192.0.2.10:4000"));
        run(
            SourceGuard::new(sdp, None),
            &[
                ("192.0.2.10:4000", BAD, Accept, Some("192.0.2.10:4000")),
                ("192.0.2.10:4000", VALID, Bound, Some("192.0.2.10:4000")),
            ],
        );
    }

    #[test]
    fn arming_again_follows_a_reinvite() {
        let mut g = SourceGuard::new(Some(a("192.0.2.10:4000")), None);
        assert_eq!(g.handle(a("192.0.2.10:4000"), RTP1), Bound);
        assert_eq!(g.ssrc(), Some(1));
        // Same address, new stream (e.g. back from T.38): a new SSRC is
        // taken only after the re-INVITE armed the guard again.
        assert_eq!(g.handle(a("192.0.2.10:4000"), RTP2), Drop(Ssrc));
        g.arm(Some(a("192.0.2.10:4000")));
        assert_eq!((g.bound(), g.ssrc()), (None, None));
        assert_eq!(g.handle(a("192.0.2.10:4000"), RTP2), Bound);
        assert_eq!(g.handle(a("192.0.2.10:4000"), RTP1), Drop(Ssrc));
        // Moved to another host: only that host now.
        g.arm(Some(a("198.51.100.7:7000")));
        assert_eq!(g.send_to(), Some(a("198.51.100.7:7000")));
        assert_eq!(g.handle(a("192.0.2.10:4000"), RTP2), Drop(Foreign));
        assert_eq!(g.handle(a("198.51.100.7:7002"), RTP1), Bound);
        assert_eq!(g.send_to(), Some(a("198.51.100.7:7002")));
    }

    #[test]
    fn nothing_is_taken_without_a_signalled_address() {
        for sdp in [None, Some(a("0.0.0.0:4000"))] {
            let mut g = SourceGuard::new(sdp, None);
            for from in ["192.0.2.10:4000", "0.0.0.0:4000", "127.0.0.1:4000"] {
                assert_eq!(g.handle(a(from), RTP1), Drop(Foreign), "{sdp:?} {from}");
            }
            assert_eq!(g.bound(), None);
        }
    }

    #[test]
    fn an_ata_stream_comes_from_its_unit_only() {
        let unit = Some("10.1.2.3".parse().unwrap());
        // The SDP names the unit: as for any party.
        run(
            SourceGuard::new(Some(a("10.1.2.3:5004")), unit),
            &[
                ("10.1.2.4:5004", RTP1, Drop(Foreign), Some("10.1.2.3:5004")),
                ("10.1.2.3:5010", RTP1, Bound, Some("10.1.2.3:5010")),
            ],
        );
        // The SDP names another address than the unit's: nothing at all,
        // not even from the address the SDP names.
        let mut g = SourceGuard::new(Some(a("10.9.9.9:5004")), unit);
        assert_eq!(
            g.unit_mismatch(),
            Some(("10.9.9.9".parse().unwrap(), "10.1.2.3".parse().unwrap()))
        );
        for from in ["10.9.9.9:5004", "10.1.2.3:5004"] {
            assert_eq!(g.handle(a(from), RTP1), Drop(Foreign), "{from}");
        }
        assert_eq!(
            SourceGuard::new(Some(a("10.1.2.3:5004")), unit).unit_mismatch(),
            None
        );
        assert_eq!(SourceGuard::new(None, unit).unit_mismatch(), None);
        // Loopback test set-ups: a unit at 127.0.0.1, a stranger on
        // another loopback address.
        let lo = Some("127.0.0.1".parse().unwrap());
        let mut g = SourceGuard::new(Some(a("127.0.0.1:40000")), lo);
        assert_eq!(g.handle(a("127.0.0.77:40000"), RTP1), Drop(Foreign));
        assert_eq!(g.handle(a("127.0.0.1:40000"), RTP1), Bound);
    }

    #[test]
    fn ipv4_mapped_sources_match_an_ipv4_sdp() {
        let mut g = SourceGuard::new(
            Some(a("192.0.2.10:4000")),
            Some("192.0.2.10".parse().unwrap()),
        );
        assert_eq!(g.handle(a("[::ffff:192.0.2.11]:4000"), RTP1), Drop(Foreign));
        assert_eq!(g.handle(a("[::ffff:192.0.2.10]:4000"), RTP1), Bound);
        assert_eq!(g.handle(a("[::ffff:192.0.2.10]:4000"), RTP1), Accept);
    }

    #[test]
    fn drops_are_counted_per_kind_and_reason() {
        let before = [CallKind::Bridged, CallKind::Fax]
            .map(|k| DropReason::ALL.map(|r| dropped_total(k, r)));
        count_drop(CallKind::Fax, DropReason::Ssrc);
        count_drop(CallKind::Fax, DropReason::Ssrc);
        count_drop(CallKind::Bridged, DropReason::ForeignSource);
        // Other tests count too: compare at least what was added here.
        assert!(dropped_total(CallKind::Fax, DropReason::Ssrc) >= before[1][1] + 2);
        assert!(dropped_total(CallKind::Bridged, DropReason::ForeignSource) > before[0][0]);
        assert_eq!(
            DropReason::ALL.map(DropReason::as_str),
            ["foreign_source", "ssrc"]
        );
        assert_eq!(CallKind::ALL.map(CallKind::as_str), ["bridged", "fax"]);
    }
}
