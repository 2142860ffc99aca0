//! The media relay of a bridged call: RTP (voice, G.711 fax, modems) or
//! UDPTL (T.38 on both legs) forwarded between the two legs untouched, or,
//! when one leg uses T.38 and the other only G.711, translated by a T.38
//! gateway (see [Gateway mode](#gateway-mode)).
//!
//! Each leg has two UDP sockets facing its party: RTP on an even port and
//! RTCP on the next (RFC 3550 §11); in T.38 mode the RTP socket carries
//! UDPTL and the RTCP socket stays quiet. A datagram that arrives on one
//! leg's socket leaves the other leg's socket of the same kind, byte for
//! byte: SSRC, sequence numbers and timestamps are the sender's, and no
//! sample is inserted or dropped, so a modem or fax on one side hears the
//! other as the network delivered it (re-timing audio would break V.22 and
//! V.29 carriers and T.30 timing).
//!
//! The relay is a channel of the shared [`MediaClock`]: every 20 ms step
//! forwards what arrived on the four sockets since the last one, so a
//! bridged call costs no thread wake-up of its own. A datagram waits at
//! most one step (20 ms, 10 ms on average) before it is forwarded; a
//! stream of 20 ms packets keeps its spacing, since the step and the
//! packets run at the same rate, and the receiving party's jitter buffer
//! absorbs the rare step in which two packets leave together.
//!
//! # Media stays with the legs that signalled it
//!
//! Each leg's sockets take datagrams only from that leg's party, as
//! [`crate::media::source`] rules: from the connection address of the
//! party's SDP and, when the party is an ATA port, also only from its
//! unit's configured address ([`LegSockets::unit`]). A party behind NAT
//! may send from another port of that address (symmetric RTP, RFC 4961):
//! the first valid datagram binds the leg to its source, and the other
//! leg's media is sent there from then on. After that the source and the
//! SSRC of its first RTP packet are kept until a re-INVITE signals the leg
//! anew ([`Relay::set_remote`]). Everything else — a stranger listening
//! for media sent its way, or injecting RTP, RTCP or UDPTL into a fax or a
//! card terminal's modem session — is dropped and counted
//! ([`DirectionStats::dropped_foreign`], [`DirectionStats::dropped_ssrc`]
//! and `faxbridge_media_packets_dropped_total` in `/metrics`).
//!
//! # The tap
//!
//! RTP packets of payload type 0 (PCMU) or 8 (PCMA) are decoded and fed to
//! a [`CallClassifier`], one direction each, as they pass; lost packets
//! (gaps in sequence numbers) are fed as missing time, late ones are not
//! fed. Nothing is stored: the classifier keeps band energies, not audio.
//!
//! # Gateway mode
//!
//! With [`MediaMode::Gateway`] the relay terminates both media streams and
//! runs a SpanDSP T.38 gateway ([`T38Gateway`]) between them: the audio
//! leg's fax modem signal becomes T.38 IFP packets for the T.38 leg and the
//! other way round. Fax timing is sample-exact, so the gateway is clocked
//! like faxbridge's own fax calls (`media::fax_call`):
//!
//! * the clock's 20 ms step (missed steps run back to back), each taking exactly
//!   160 samples from a fixed-delay playout buffer of the audio leg's RTP
//!   (a slot whose packet is missing, including everything before the
//!   first packet, is handed to the gateway as missing samples, never
//!   stretched or squeezed) and sending exactly one 160-sample RTP packet
//!   (PCMA or PCMU, as that leg agreed). When the gateway takes over from
//!   relaying (the T.38 party re-INVITEd), its audio carries on the stream
//!   the audio party was hearing — the T.38 party's SSRC, the next sequence
//!   number and timestamps advanced by the time that passed — as a
//!   translator keeps the SSRC of what it translates (RFC 3550 §7.1): the
//!   audio leg was not re-INVITEd, and a party that keeps the SSRC it
//!   bound (as faxbridge's own fax calls do) would refuse a new one. From
//!   the start of a call it uses an SSRC, sequence and timestamps of its
//!   own;
//! * UDPTL datagrams of the T.38 leg go through [`UdptlDecoder`]
//!   (redundancy and FEC repair) to the gateway as they arrive, and the IFP
//!   packets the gateway produces leave through [`UdptlEncoder`] with
//!   redundancy (or repeated as SpanDSP asks when no error correction was
//!   agreed).
//!
//! RTCP is not forwarded in this mode: the streams on the two legs are
//! different streams. The classifier still hears the call: the audio leg's
//! received audio in its direction, and the gateway's modulated audio in
//! the T.38 leg's direction.
//!
//! # Driving it
//!
//! [`Relay::start`] hands the relay to the clock. [`Relay::set_mode`] and
//! [`Relay::set_remote`] apply what a re-INVITE changed (T.38 on both legs,
//! new media addresses) at the next step; [`Relay::counters`] reads the
//! live packet counters, and [`Relay::stop`] ends the relay and returns the
//! [`RelayReport`] with the classification.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use std::net::UdpSocket;
use std::sync::mpsc;
use std::time::Instant;

use tokio::sync::{oneshot, watch};

pub use super::leg::{GatewayMode, Leg, MediaMode};
use crate::fax::g711::G711Law;
use crate::fax::{GatewaySettings, GatewayStats, SAMPLES_PER_20MS, T38Gateway};
use crate::media::classifier::{CallClassifier, Classification};
use crate::media::clock::{Channel, MediaClock, Step};
use crate::media::rtp::{self, RtpSender};
use crate::media::rtp_stream::{Piece, PlayoutBuffer};
use crate::media::source::{self, CallKind, Datagram, DropReason, SourceGuard, Verdict};
use crate::media::t38_stream::trim_fec_padding;
use crate::media::udptl::{Delivery, ErrorCorrection, IfpSource, UdptlDecoder, UdptlEncoder};

/// Largest datagram relayed; a larger one is truncated by the socket and
/// dropped (Ethernet MTU datagrams are far smaller).
const MAX_DATAGRAM: usize = 2048;

/// A sequence jump larger than this is a restarted stream, not loss.
const MAX_GAP: u16 = 100;

/// One 20 ms frame of 8 kHz audio: the gateway's step.
const FRAME: usize = SAMPLES_PER_20MS;

/// Fixed playout delay of the gateway's audio input: 60 ms, as faxbridge's
/// own fax calls use. Packets later than that count as lost.
const GATEWAY_PLAYOUT_SAMPLES: u32 = 480;

/// UDPTL redundancy depth of the gateway's datagrams (earlier IFPs carried
/// again in each one), as Mediatrix gateways use.
const GATEWAY_REDUNDANCY: u8 = 3;

/// The last RTP packet relayed to a leg: where the gateway's audio for
/// that leg carries on from.
#[derive(Debug, Clone, Copy)]
struct Relayed {
    ssrc: u32,
    sequence: u16,
    timestamp: u32,
    at: Instant,
}

impl Relayed {
    /// An RTP sender continuing this stream now: the next sequence number,
    /// the timestamp advanced by the 8 kHz samples since it was relayed
    /// (at least one 20 ms frame).
    fn carry_on(&self, payload_type: u8) -> RtpSender {
        let elapsed = self.at.elapsed().as_micros() * 8 / 1000;
        let samples = u32::try_from(elapsed).unwrap_or(u32::MAX).max(FRAME as u32);
        RtpSender::new(
            self.ssrc,
            self.sequence.wrapping_add(1),
            self.timestamp.wrapping_add(samples),
            payload_type,
        )
    }
}

/// What a leg's socket carries in `mode`.
fn wire(mode: MediaMode, leg: usize) -> MediaMode {
    match mode {
        MediaMode::Gateway(g) if g.t38_leg.index() == leg => MediaMode::Udptl,
        MediaMode::Gateway(_) => MediaMode::Rtp,
        m => m,
    }
}

/// A leg's sockets and the party's media addresses from its SDP.
///
/// The sockets must not block ([`UdpSocket::set_nonblocking`]): the clock
/// reads and writes them on its steps ([`LegSockets::bind`] makes them so).
#[derive(Debug)]
pub struct LegSockets {
    /// RTP (or UDPTL) socket facing the party.
    pub rtp: UdpSocket,
    /// RTCP socket facing the party (RTP port + 1).
    pub rtcp: UdpSocket,
    /// The party's RTP/UDPTL address from its SDP, if known.
    pub remote_rtp: Option<SocketAddr>,
    /// The party's RTCP address (`a=rtcp`, else RTP port + 1), if known.
    pub remote_rtcp: Option<SocketAddr>,
    /// The unit's address (`[[ata.units]] address`) when the party is an
    /// ATA port: its media is taken only from there (and from its SDP's
    /// address, which must be the same). `None` for the trunk.
    pub unit: Option<IpAddr>,
}

impl LegSockets {
    /// Non-blocking RTP and RTCP sockets on `ip` (ports chosen by the
    /// system), no party known yet.
    pub fn bind(ip: IpAddr) -> std::io::Result<LegSockets> {
        let open = || {
            let s = UdpSocket::bind(SocketAddr::new(ip, 0))?;
            s.set_nonblocking(true)?;
            Ok::<_, std::io::Error>(s)
        };
        Ok(LegSockets {
            rtp: open()?,
            rtcp: open()?,
            remote_rtp: None,
            remote_rtcp: None,
            unit: None,
        })
    }
}

/// Which socket of a leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    Rtp = 0,
    Rtcp = 1,
}

/// Feeds one direction's G.711 audio to the classifier in time order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AudioTap {
    expected: Option<(u32, u16)>,
}

/// What the tap does with one RTP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TapAction {
    /// Decode and feed the payload with this law, after feeding `missing`
    /// samples of lost audio.
    Feed {
        /// The payload's law.
        law: G711Law,
        /// Samples lost before this packet.
        missing: usize,
    },
    /// Not audio the classifier hears (another payload type, a late or
    /// repeated packet).
    Skip,
}

impl AudioTap {
    /// Judge a packet by its header and payload length.
    pub fn packet(&mut self, header: &rtp::RtpHeader, payload_len: usize) -> TapAction {
        let law = match header.payload_type {
            0 => G711Law::MuLaw,
            8 => G711Law::ALaw,
            _ => return TapAction::Skip,
        };
        let missing = match self.expected {
            Some((ssrc, seq)) if ssrc == header.ssrc => {
                let ahead = header.sequence.wrapping_sub(seq);
                if ahead >= 0x8000 {
                    // Late or repeated: already accounted for as missing.
                    return TapAction::Skip;
                }
                if ahead > MAX_GAP {
                    0
                } else {
                    usize::from(ahead) * payload_len
                }
            }
            _ => 0,
        };
        self.expected = Some((header.ssrc, header.sequence.wrapping_add(1)));
        TapAction::Feed { law, missing }
    }
}

/// Live counters of one direction (datagrams arriving from one leg).
#[derive(Debug, Default)]
pub struct DirectionCounters {
    /// RTP/UDPTL datagrams received.
    pub received: AtomicU64,
    /// RTP/UDPTL datagrams sent on to the other leg.
    pub forwarded: AtomicU64,
    /// Bytes of those.
    pub forwarded_bytes: AtomicU64,
    /// RTCP datagrams sent on.
    pub rtcp_forwarded: AtomicU64,
    /// Dropped: not from the party's source (another address or port).
    pub dropped_foreign: AtomicU64,
    /// Dropped: RTP from the party's source with another SSRC.
    pub dropped_ssrc: AtomicU64,
    /// Dropped: the other leg's address is not known yet.
    pub dropped_no_remote: AtomicU64,
    /// Dropped: sending failed.
    pub send_errors: AtomicU64,
    /// G.711 packets the classifier heard.
    pub tapped: AtomicU64,
}

/// A snapshot of [`DirectionCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DirectionStats {
    /// RTP/UDPTL datagrams received.
    pub received: u64,
    /// RTP/UDPTL datagrams sent on.
    pub forwarded: u64,
    /// Bytes of those.
    pub forwarded_bytes: u64,
    /// RTCP datagrams sent on.
    pub rtcp_forwarded: u64,
    /// Dropped as not from the party's source (another address or port).
    pub dropped_foreign: u64,
    /// Dropped as RTP from the party's source with another SSRC.
    pub dropped_ssrc: u64,
    /// Dropped for want of the other leg's address.
    pub dropped_no_remote: u64,
    /// Send failures.
    pub send_errors: u64,
    /// G.711 packets heard by the classifier.
    pub tapped: u64,
}

impl DirectionCounters {
    /// The current values.
    pub fn snapshot(&self) -> DirectionStats {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        DirectionStats {
            received: get(&self.received),
            forwarded: get(&self.forwarded),
            forwarded_bytes: get(&self.forwarded_bytes),
            rtcp_forwarded: get(&self.rtcp_forwarded),
            dropped_foreign: get(&self.dropped_foreign),
            dropped_ssrc: get(&self.dropped_ssrc),
            dropped_no_remote: get(&self.dropped_no_remote),
            send_errors: get(&self.send_errors),
            tapped: get(&self.tapped),
        }
    }
}

fn bump(a: &AtomicU64, n: u64) {
    a.fetch_add(n, Ordering::Relaxed);
}

/// Counters of both directions, readable while the call runs.
#[derive(Debug, Default)]
pub struct RelayCounters {
    dirs: [DirectionCounters; 2],
}

impl RelayCounters {
    /// The counters of datagrams arriving from `leg`.
    pub fn from_leg(&self, leg: Leg) -> &DirectionCounters {
        &self.dirs[leg.index()]
    }
}

/// What the relay saw, returned when it stops.
#[derive(Debug, Clone)]
pub struct RelayReport {
    /// Datagrams from the caller.
    pub from_caller: DirectionStats,
    /// Datagrams from the callee.
    pub from_callee: DirectionStats,
    /// The classifier's verdict; `None` when it could not be started.
    pub classification: Option<Classification>,
    /// What the T.38 gateway relayed, if the call used one (the last one,
    /// if the call went through gateway mode more than once).
    pub gateway: Option<GatewayStats>,
}

/// Why the relay could not start.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The relay ended abnormally (a panic in a step).
    #[error("the media relay failed; the call's media statistics are lost")]
    Lost,
}

enum Control {
    Stop,
    /// Several changes that must take effect in the same step.
    Together(Vec<Control>),
    Mode(MediaMode),
    Remote {
        leg: Leg,
        rtp: Option<SocketAddr>,
        rtcp: Option<SocketAddr>,
    },
}

/// A running relay.
#[derive(Debug)]
pub struct Relay {
    control: mpsc::Sender<Control>,
    counters: Arc<RelayCounters>,
    report: oneshot::Receiver<RelayReport>,
}

impl Relay {
    /// Start relaying between `caller` and `callee` in `mode`, from the
    /// clock's next step. The relay also stops when `shutdown` turns
    /// `true` (the daemon's stop signal).
    pub fn start(
        caller: LegSockets,
        callee: LegSockets,
        mode: MediaMode,
        shutdown: Option<watch::Receiver<bool>>,
    ) -> Relay {
        let (control, control_rx) = mpsc::channel();
        let (report_tx, report) = oneshot::channel();
        let counters = Arc::new(RelayCounters::default());
        let classifier = match CallClassifier::new() {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!("call classifier unavailable, the call is relayed unheard: {e}");
                None
            }
        };
        let mut task = Task {
            guards: [&caller, &callee].map(|l| {
                [
                    SourceGuard::new(l.remote_rtp, l.unit),
                    SourceGuard::new(l.remote_rtcp.or_else(|| next_port(l.remote_rtp)), l.unit),
                ]
            }),
            legs: [caller, callee],
            mode,
            taps: Default::default(),
            classifier,
            counters: counters.clone(),
            relayed: [None; 2],
            gateway: None,
            gateway_stats: None,
            control: control_rx,
            shutdown,
            report: Some(report_tx),
            buf: vec![0; MAX_DATAGRAM],
        };
        for leg in [Leg::Caller, Leg::Callee] {
            task.check_unit(leg);
        }
        if let MediaMode::Gateway(g) = mode {
            task.start_gateway(g);
        }
        MediaClock::global().add(Box::new(task));
        Relay {
            control,
            counters,
            report,
        }
    }

    /// Switch both legs to `mode` (after a re-INVITE answered on both).
    /// Setting the gateway mode already running keeps the gateway (a
    /// session refresh must not restart a fax in progress).
    pub fn set_mode(&self, mode: MediaMode) {
        let _ = self.control.send(Control::Mode(mode));
    }

    /// New media addresses of one leg from its SDP (re-INVITE): the leg is
    /// bound anew to them, and a new source port (same address) and SSRC
    /// may be taken once more.
    pub fn set_remote(&self, leg: Leg, rtp: Option<SocketAddr>, rtcp: Option<SocketAddr>) {
        let _ = self.control.send(Control::Remote { leg, rtp, rtcp });
    }

    /// What a re-INVITE answered on both legs changed: the new `mode` and
    /// the legs' new media addresses, all in force from the same step (no
    /// datagram is forwarded in the new mode to an old address).
    pub fn renegotiate(
        &self,
        mode: MediaMode,
        remotes: &[(Leg, Option<SocketAddr>, Option<SocketAddr>)],
    ) {
        let mut changes = vec![Control::Mode(mode)];
        changes.extend(
            remotes
                .iter()
                .map(|&(leg, rtp, rtcp)| Control::Remote { leg, rtp, rtcp }),
        );
        let _ = self.control.send(Control::Together(changes));
    }

    /// The live counters.
    pub fn counters(&self) -> &RelayCounters {
        &self.counters
    }

    /// Stop relaying and return what was seen.
    pub async fn stop(self) -> Result<RelayReport, RelayError> {
        let _ = self.control.send(Control::Stop);
        self.report.await.map_err(|_| RelayError::Lost)
    }
}

/// RFC 3550 §11: RTCP goes to the RTP port + 1 unless SDP says otherwise.
fn next_port(addr: Option<SocketAddr>) -> Option<SocketAddr> {
    let a = addr?;
    Some(SocketAddr::new(a.ip(), a.port().checked_add(1)?))
}

/// The relay's state, stepped by the clock.
struct Task {
    legs: [LegSockets; 2],
    /// Per leg, the RTP (or UDPTL) and the RTCP stream's binding.
    guards: [[SourceGuard; 2]; 2],
    mode: MediaMode,
    taps: [AudioTap; 2],
    classifier: Option<CallClassifier>,
    counters: Arc<RelayCounters>,
    /// The last RTP packet relayed to each leg.
    relayed: [Option<Relayed>; 2],
    gateway: Option<Gateway>,
    gateway_stats: Option<GatewayStats>,
    control: mpsc::Receiver<Control>,
    shutdown: Option<watch::Receiver<bool>>,
    /// Where the report goes when the relay stops.
    report: Option<oneshot::Sender<RelayReport>>,
    /// Receive buffer.
    buf: Vec<u8>,
}

/// The running T.38 gateway and the media state around it.
struct Gateway {
    mode: GatewayMode,
    engine: T38Gateway,
    playout: PlayoutBuffer,
    /// The SSRC whose audio the playout buffer holds.
    playing: Option<u32>,
    sender: RtpSender,
    /// The audio packet being sent, kept for the next one.
    packet: Vec<u8>,
    encoder: UdptlEncoder,
    decoder: UdptlDecoder,
    /// The UDPTL datagram being sent, kept for the next one.
    datagram: Vec<u8>,
    /// With no UDPTL error correction, SpanDSP's repeat counts apply.
    repeat: bool,
}

impl Gateway {
    /// A gateway whose audio carries on `relayed` (see the module docs),
    /// or starts a stream of its own.
    fn new(mode: GatewayMode, relayed: Option<Relayed>) -> Result<Gateway, String> {
        let settings = GatewaySettings {
            t38: mode.t38,
            ..GatewaySettings::default()
        };
        let engine = T38Gateway::new(mode.law, &settings).map_err(|e| e.to_string())?;
        let ec = ErrorCorrection::for_negotiated(mode.udp_ec, GATEWAY_REDUNDANCY);
        let encoder = UdptlEncoder::new(ec, usize::from(mode.t38.max_datagram.max(100)))
            .map_err(|e| e.to_string())?;
        Ok(Gateway {
            mode,
            engine,
            playout: PlayoutBuffer::new(GATEWAY_PLAYOUT_SAMPLES),
            playing: None,
            sender: match relayed {
                Some(r) => r.carry_on(mode.payload_type),
                None => RtpSender::new(
                    rand::random(),
                    rand::random(),
                    rand::random(),
                    mode.payload_type,
                ),
            },
            packet: Vec::with_capacity(rtp::FIXED_HEADER_LEN + FRAME),
            encoder,
            decoder: UdptlDecoder::new(0),
            datagram: Vec::with_capacity(2048),
            repeat: ec == ErrorCorrection::None,
        })
    }
}

/// What a datagram is, as far as binding the leg to its party cares: RTP
/// carries the SSRC to keep.
fn classify(mode: MediaMode, stream: Stream, data: &[u8]) -> Datagram {
    match (mode, stream) {
        // RFC 5761 §4: RTCP multiplexed on the RTP port has a packet type
        // of 192–223 where RTP's marker and payload type would be; it has
        // no RTP SSRC in that place.
        (MediaMode::Rtp, Stream::Rtp) if data.len() >= 2 && (192..=223).contains(&data[1]) => {
            if valid(MediaMode::Rtp, Stream::Rtcp, data) {
                Datagram::Valid
            } else {
                Datagram::Invalid
            }
        }
        (MediaMode::Rtp, Stream::Rtp) => match rtp::parse(data) {
            Ok(p) => Datagram::Rtp {
                ssrc: p.header.ssrc,
            },
            Err(_) => Datagram::Invalid,
        },
        _ if valid(mode, stream, data) => Datagram::Valid,
        _ => Datagram::Invalid,
    }
}

/// Whether a datagram looks like the stream's protocol.
fn valid(mode: MediaMode, stream: Stream, data: &[u8]) -> bool {
    match (mode, stream) {
        (MediaMode::Rtp, Stream::Rtp) => rtp::parse(data).is_ok(),
        // RFC 3550 §6.4: version 2, and packet types 200–204 (SR, RR,
        // SDES, BYE, APP) start every compound packet.
        (MediaMode::Rtp, Stream::Rtcp) => {
            data.len() >= 8 && data[0] >> 6 == 2 && (200..=204).contains(&data[1])
        }
        // T.38 §9.1 as a whole: a sequence number, the primary IFP and the
        // error recovery. A party's own RTP still arriving after the switch
        // to T.38 is not UDPTL, so it cannot bind the leg to its RTP port.
        (MediaMode::Udptl, Stream::Rtp) => crate::media::udptl::parse_packet(data).is_ok(),
        (MediaMode::Udptl, Stream::Rtcp) => false,
        (MediaMode::Gateway(_), _) => false,
    }
}

/// Most datagrams read from one socket per step: a normal stream brings
/// one or two; a flood is left to the socket's buffer (and dropped by the
/// kernel) rather than starving the other calls.
const MAX_DRAIN: usize = 64;

impl Channel for Task {
    fn step(&mut self, _now: Instant) -> Step {
        loop {
            match self.control.try_recv() {
                Ok(c) => {
                    if self.apply(c) {
                        return self.finish();
                    }
                }
                Err(mpsc::TryRecvError::Disconnected) => return self.finish(),
                Err(mpsc::TryRecvError::Empty) => break,
            }
        }
        if self.shutdown.as_ref().is_some_and(|s| *s.borrow()) {
            return self.finish();
        }
        // Taken out for the loop (an empty Vec does not allocate).
        let mut buf = std::mem::take(&mut self.buf);
        for (leg, stream) in [
            (0, Stream::Rtp),
            (1, Stream::Rtp),
            (0, Stream::Rtcp),
            (1, Stream::Rtcp),
        ] {
            for _ in 0..MAX_DRAIN {
                let socket = match stream {
                    Stream::Rtp => &self.legs[leg].rtp,
                    Stream::Rtcp => &self.legs[leg].rtcp,
                };
                match socket.recv_from(&mut buf) {
                    Ok((len, from)) => self.datagram(leg, stream, &buf[..len], from),
                    // ICMP port unreachable surfaces as an error on some
                    // platforms: the party is not listening yet.
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(_) => {}
                }
            }
        }
        self.buf = buf;
        self.gateway_step();
        Step::Continue
    }
}

impl Task {
    /// Carry out a control message; true when it says stop.
    fn apply(&mut self, control: Control) -> bool {
        match control {
            Control::Stop => return true,
            Control::Together(all) => {
                let mut stop = false;
                for c in all {
                    stop |= self.apply(c);
                }
                return stop;
            }
            Control::Mode(mode) => self.set_mode(mode),
            Control::Remote { leg, rtp, rtcp } => {
                let g = &mut self.guards[leg.index()];
                g[0].arm(rtp);
                g[1].arm(rtcp.or_else(|| next_port(rtp)));
                self.check_unit(leg);
            }
        }
        false
    }

    /// The relay stops: the report goes to [`Relay::stop`].
    fn finish(&mut self) -> Step {
        self.stop_gateway();
        let report = RelayReport {
            from_caller: self.counters.dirs[0].snapshot(),
            from_callee: self.counters.dirs[1].snapshot(),
            classification: self.classifier.as_ref().map(|c| c.classification()),
            gateway: self.gateway_stats,
        };
        if let Some(tx) = self.report.take() {
            let _ = tx.send(report);
        }
        Step::Done
    }

    /// Say loudly when an ATA leg's SDP names another address than its
    /// unit's: none of its media will be taken.
    fn check_unit(&self, leg: Leg) {
        if let Some((sdp, unit)) = self.guards[leg.index()][0].unit_mismatch() {
            tracing::warn!(
                ?leg,
                %sdp,
                %unit,
                "the ATA's SDP names {sdp} for its media, but its unit is at {unit}: \
                 its media is dropped; set the unit's [[ata.units]] address to the \
                 address it sends media from"
            );
        }
    }

    fn set_mode(&mut self, mode: MediaMode) {
        if let (MediaMode::Gateway(new), Some(g)) = (mode, &self.gateway)
            && g.mode == new
        {
            return;
        }
        self.stop_gateway();
        self.mode = mode;
        self.taps = Default::default();
        if let MediaMode::Gateway(g) = mode {
            self.start_gateway(g);
        }
    }

    fn start_gateway(&mut self, mode: GatewayMode) {
        match Gateway::new(mode, self.relayed[mode.audio_index()]) {
            Ok(g) => {
                tracing::info!(t38_leg = ?mode.t38_leg, law = ?mode.law, "T.38 gateway started");
                self.mode = MediaMode::Gateway(mode);
                self.gateway = Some(g);
            }
            Err(e) => {
                // Without a gateway the legs cannot understand each other;
                // relaying RTP at least keeps the audio leg's RTCP alive and
                // the failure visible in the fax terminals' own reports.
                tracing::error!(
                    "the T.38 gateway could not be started ({e}); the call's fax will fail"
                );
                self.mode = MediaMode::Rtp;
            }
        }
    }

    fn stop_gateway(&mut self) {
        if let Some(mut g) = self.gateway.take() {
            let stats = g.engine.stats();
            tracing::info!(?stats, "T.38 gateway stopped");
            self.gateway_stats = Some(stats);
        }
    }

    /// One 20 ms step of the gateway: 160 samples in from the playout
    /// buffer, 160 samples out to the audio leg, IFPs out to the T.38 leg.
    fn gateway_step(&mut self) {
        let Some(g) = self.gateway.as_mut() else {
            return;
        };
        let audio = g.mode.audio_index();
        let t38 = g.mode.t38_leg.index();
        let dirs = [Leg::Caller.direction(), Leg::Callee.direction()];
        let mut pcm = [0i16; FRAME];
        let (engine, classifier, law) = (&mut g.engine, &mut self.classifier, g.mode.law);
        g.playout.pull_each(FRAME, |piece| match piece {
            Piece::Audio(bytes) => {
                engine.receive_payload(bytes);
                if let Some(c) = classifier.as_mut() {
                    let n = bytes.len().min(FRAME);
                    law.decode_into(&bytes[..n], &mut pcm[..n]);
                    c.feed(dirs[audio], &pcm[..n]);
                }
            }
            Piece::Missing(n) => {
                engine.receive_missing(n);
                if let Some(c) = classifier.as_mut() {
                    c.feed_missing(dirs[audio], n);
                }
            }
        });
        let mut out = [0u8; FRAME];
        g.engine.transmit_payload(&mut out);
        if let Some(c) = self.classifier.as_mut() {
            g.mode.law.decode_into(&out, &mut pcm);
            c.feed(dirs[t38], &pcm);
        }
        let counters = &self.counters.dirs[t38];
        match self.guards[audio][0].send_to() {
            Some(to) => {
                g.sender.audio_frame_into(&out, &mut g.packet);
                match self.legs[audio].rtp.send_to(&g.packet, to) {
                    Ok(n) => {
                        bump(&counters.forwarded, 1);
                        bump(&counters.forwarded_bytes, n as u64);
                    }
                    Err(_) => bump(&counters.send_errors, 1),
                }
            }
            None => g.sender.skip(FRAME as u32),
        }
        self.send_ifps();
    }

    /// Frame and send the IFP packets the gateway produced to the T.38 leg.
    fn send_ifps(&mut self) {
        let Some(g) = self.gateway.as_mut() else {
            return;
        };
        let t38 = g.mode.t38_leg.index();
        let counters = &self.counters.dirs[g.mode.audio_index()];
        let to = self.guards[t38][0].send_to();
        let (encoder, datagram, repeat) = (&mut g.encoder, &mut g.datagram, g.repeat);
        let socket = &self.legs[t38].rtp;
        g.engine.drain_ifp_packets(|p| {
            if let Err(e) = encoder.encode_into(&p.data, datagram) {
                tracing::warn!(error = %e, "cannot frame an IFP for the T.38 leg");
                return;
            }
            let Some(to) = to else {
                bump(&counters.dropped_no_remote, 1);
                return;
            };
            let times = if repeat { p.transmissions.max(1) } else { 1 };
            for _ in 0..times {
                match socket.send_to(datagram, to) {
                    Ok(n) => {
                        bump(&counters.forwarded, 1);
                        bump(&counters.forwarded_bytes, n as u64);
                    }
                    Err(_) => bump(&counters.send_errors, 1),
                }
            }
        });
    }

    /// A datagram for the gateway (already judged by the leg's binding).
    fn gateway_datagram(&mut self, leg: usize, stream: Stream, data: &[u8]) {
        let Some(g) = self.gateway.as_mut() else {
            return;
        };
        if stream == Stream::Rtcp {
            return;
        }
        if leg == g.mode.audio_index() {
            let Ok(packet) = rtp::parse(data) else {
                return;
            };
            if packet.header.payload_type != g.mode.payload_type {
                // Comfort noise, telephone events: not fax modem audio.
                return;
            }
            // The binding keeps one SSRC until a re-INVITE; a new one after
            // that is a new stream whose timestamps start elsewhere.
            if g.playing.is_some_and(|s| s != packet.header.ssrc) {
                g.playout.reset();
            }
            g.playing = Some(packet.header.ssrc);
            g.playout.push(packet.header.timestamp, packet.payload);
            bump(&self.counters.dirs[leg].tapped, 1);
            return;
        }
        let (engine, version) = (&mut g.engine, g.mode.t38.version);
        let received = g.decoder.receive_with(data, |event| {
            if let Delivery::Ifp { seq, data, source } = event {
                let ifp = if source == IfpSource::Fec {
                    trim_fec_padding(data, version)
                } else {
                    data
                };
                if let Err(e) = engine.receive_ifp(seq, ifp) {
                    tracing::debug!(error = %e, "IFP rejected by the gateway");
                }
            }
        });
        if let Err(e) = received {
            tracing::debug!(error = %e, "dropping a datagram on the T.38 leg");
            return;
        }
        self.send_ifps();
    }

    fn datagram(&mut self, leg: usize, stream: Stream, data: &[u8], from: SocketAddr) {
        let counters = &self.counters.dirs[leg];
        let s = stream as usize;
        if stream == Stream::Rtp {
            bump(&counters.received, 1);
        }
        let datagram = classify(wire(self.mode, leg), stream, data);
        if let Verdict::Drop(reason) = self.guards[leg][s].handle(from, datagram) {
            match reason {
                DropReason::ForeignSource => bump(&counters.dropped_foreign, 1),
                DropReason::Ssrc => bump(&counters.dropped_ssrc, 1),
            }
            source::count_drop(CallKind::Bridged, reason);
            return;
        }
        if self.gateway.is_some() {
            self.gateway_datagram(leg, stream, data);
            return;
        }
        if self.mode == MediaMode::Udptl && stream == Stream::Rtcp {
            return;
        }
        let other = 1 - leg;
        let Some(to) = self.guards[other][s].send_to() else {
            bump(&counters.dropped_no_remote, 1);
            return;
        };
        let socket = match stream {
            Stream::Rtp => &self.legs[other].rtp,
            Stream::Rtcp => &self.legs[other].rtcp,
        };
        match socket.send_to(data, to) {
            Ok(_) if stream == Stream::Rtcp => bump(&counters.rtcp_forwarded, 1),
            Ok(n) => {
                bump(&counters.forwarded, 1);
                bump(&counters.forwarded_bytes, n as u64);
                if self.mode == MediaMode::Rtp
                    && let Ok(p) = rtp::parse(data)
                {
                    self.relayed[other] = Some(Relayed {
                        ssrc: p.header.ssrc,
                        sequence: p.header.sequence,
                        timestamp: p.header.timestamp,
                        at: Instant::now(),
                    });
                }
            }
            Err(_) => bump(&counters.send_errors, 1),
        }
        if stream == Stream::Rtp && self.mode == MediaMode::Rtp {
            self.tap(leg, data);
        }
    }

    fn tap(&mut self, leg: usize, data: &[u8]) {
        let Some(classifier) = self.classifier.as_mut() else {
            return;
        };
        let Ok(packet) = rtp::parse(data) else {
            return;
        };
        let direction = if leg == 0 {
            Leg::Caller.direction()
        } else {
            Leg::Callee.direction()
        };
        if let TapAction::Feed { law, missing } =
            self.taps[leg].packet(&packet.header, packet.payload.len())
        {
            if missing > 0 {
                classifier.feed_missing(direction, missing);
            }
            let mut samples = [0i16; MAX_DATAGRAM];
            let samples = &mut samples[..packet.payload.len()];
            law.decode_into(packet.payload, samples);
            classifier.feed(direction, samples);
            bump(&self.counters.dirs[leg].tapped, 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fax::T38Options;
    use crate::sdp::UdpEc;

    #[test]
    fn classify_tells_binding_what_it_needs() {
        let pkt = rtp::build(&header(8, 1, 0xabcd), &[0xd5; 160], 0).unwrap();
        let rr = [0x80, 201, 0, 1, 0, 0, 0, 1];
        let udptl = UdptlEncoder::new(ErrorCorrection::Redundancy { depth: 3 }, 400)
            .unwrap()
            .encode(&[0x04])
            .unwrap();
        let gateway = MediaMode::Gateway(GatewayMode {
            t38_leg: Leg::Callee,
            law: G711Law::ALaw,
            payload_type: 8,
            t38: T38Options::default(),
            udp_ec: None,
        });
        let cases: [(MediaMode, Stream, &[u8], Datagram); 10] = [
            // RTP keeps its SSRC.
            (
                MediaMode::Rtp,
                Stream::Rtp,
                &pkt,
                Datagram::Rtp { ssrc: 0xabcd },
            ),
            (MediaMode::Rtp, Stream::Rtp, b"hello", Datagram::Invalid),
            // RTCP multiplexed on the RTP port (RFC 5761) has no RTP SSRC.
            (MediaMode::Rtp, Stream::Rtp, &rr, Datagram::Valid),
            (MediaMode::Rtp, Stream::Rtcp, &rr, Datagram::Valid),
            (MediaMode::Rtp, Stream::Rtcp, &pkt, Datagram::Invalid),
            // UDPTL has none either.
            (MediaMode::Udptl, Stream::Rtp, &udptl, Datagram::Valid),
            (MediaMode::Udptl, Stream::Rtp, &[0, 1], Datagram::Invalid),
            (MediaMode::Udptl, Stream::Rtcp, &rr, Datagram::Invalid),
            // In gateway mode each leg is judged by what it carries.
            (
                wire(gateway, 0),
                Stream::Rtp,
                &pkt,
                Datagram::Rtp { ssrc: 0xabcd },
            ),
            (wire(gateway, 1), Stream::Rtp, &udptl, Datagram::Valid),
        ];
        for (i, (mode, stream, data, want)) in cases.into_iter().enumerate() {
            assert_eq!(classify(mode, stream, data), want, "case {i}");
        }
    }

    fn header(pt: u8, seq: u16, ssrc: u32) -> rtp::RtpHeader {
        rtp::RtpHeader::new(pt, seq, u32::from(seq) * 160, ssrc)
    }

    #[test]
    fn the_tap_feeds_g711_in_order_and_counts_losses() {
        let mut t = AudioTap::default();
        let feed = |law, missing| TapAction::Feed { law, missing };
        assert_eq!(t.packet(&header(8, 10, 1), 160), feed(G711Law::ALaw, 0));
        assert_eq!(t.packet(&header(8, 11, 1), 160), feed(G711Law::ALaw, 0));
        // Two packets lost.
        assert_eq!(t.packet(&header(8, 14, 1), 160), feed(G711Law::ALaw, 320));
        // A late one is not fed again.
        assert_eq!(t.packet(&header(8, 12, 1), 160), TapAction::Skip);
        assert_eq!(t.packet(&header(8, 14, 1), 160), TapAction::Skip);
        // Telephone events are not audio.
        assert_eq!(t.packet(&header(101, 15, 1), 4), TapAction::Skip);
        assert_eq!(t.packet(&header(0, 15, 1), 160), feed(G711Law::MuLaw, 0));
        // Sequence wrap.
        let mut t = AudioTap::default();
        t.packet(&header(0, 65535, 2), 160);
        assert_eq!(t.packet(&header(0, 0, 2), 160), feed(G711Law::MuLaw, 0));
        // A new SSRC or a huge jump is a new stream, not loss.
        assert_eq!(t.packet(&header(0, 9000, 3), 160), feed(G711Law::MuLaw, 0));
        assert_eq!(t.packet(&header(0, 20000, 3), 160), feed(G711Law::MuLaw, 0));
    }

    #[test]
    fn validity_by_mode() {
        let pkt = rtp::build(&header(8, 1, 1), &[0xd5; 160], 0).unwrap();
        assert!(valid(MediaMode::Rtp, Stream::Rtp, &pkt));
        assert!(!valid(MediaMode::Rtp, Stream::Rtp, b"hello"));
        let rr = [0x80, 201, 0, 1, 0, 0, 0, 1];
        assert!(valid(MediaMode::Rtp, Stream::Rtcp, &rr));
        assert!(!valid(MediaMode::Rtp, Stream::Rtcp, &pkt));
        let mut encoder = UdptlEncoder::new(ErrorCorrection::Redundancy { depth: 3 }, 400).unwrap();
        let udptl = encoder.encode(&[0x04]).unwrap();
        assert!(valid(MediaMode::Udptl, Stream::Rtp, &udptl));
        assert!(!valid(MediaMode::Udptl, Stream::Rtp, &[0, 1]));
        // Late RTP from the party after the switch to T.38.
        assert!(!valid(MediaMode::Udptl, Stream::Rtp, &pkt));
        assert!(!valid(MediaMode::Udptl, Stream::Rtcp, &rr));
    }

    /// The relay in gateway mode over loopback for 1.2 s of real time: the
    /// T.38 party hears the gateway's no-signal indicator, its CED
    /// indicator comes back as 2100 Hz audio, the audio party gets exactly
    /// one 160-sample packet per 20 ms with contiguous sequence numbers and
    /// timestamps, and the classifier hears the audio party's CNG.
    /// (Demodulation of real fax audio into IFPs is covered by the full
    /// fax calls of `fax::gateway` and `tests/bridge_gateway.rs`.)
    #[tokio::test]
    async fn gateway_mode_translates_indicators_and_paces_audio() {
        use crate::fax::{ConnectToneTx, GeneratedTone};
        use crate::media::udptl::{ErrorCorrection, RxEvent, UdptlDecoder, UdptlEncoder};

        let bind = || async { tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap() };
        let (audio_party, t38_party) = (bind().await, bind().await);
        let leg = |remote: &tokio::net::UdpSocket| LegSockets {
            remote_rtp: Some(remote.local_addr().unwrap()),
            ..LegSockets::bind("127.0.0.1".parse().unwrap()).unwrap()
        };
        let (caller, callee) = (leg(&audio_party), leg(&t38_party));
        let (to_audio_leg, to_t38_leg) = (
            caller.rtp.local_addr().unwrap(),
            callee.rtp.local_addr().unwrap(),
        );
        let mode = MediaMode::Gateway(GatewayMode {
            t38_leg: Leg::Callee,
            law: G711Law::ALaw,
            payload_type: 8,
            t38: T38Options::default(),
            udp_ec: Some(UdpEc::Redundancy),
        });
        let relay = Relay::start(caller, callee, mode, None);
        let mut cng = ConnectToneTx::new(GeneratedTone::FaxCng).unwrap();
        let mut sender = RtpSender::new(7, 100, 1000, 8);
        let mut encoder = UdptlEncoder::new(ErrorCorrection::Redundancy { depth: 3 }, 400).unwrap();
        let mut decoder = UdptlDecoder::new(0);
        let mut ifps = Vec::new();
        let mut received: Vec<(u16, u32, Vec<u8>)> = Vec::new();
        let mut ticker = tokio::time::interval(std::time::Duration::from_millis(20));
        let mut buf = [0u8; 2048];
        for step in 0..60 {
            ticker.tick().await;
            let mut pcm = [0i16; FRAME];
            cng.tx(&mut pcm);
            let mut frame = [0u8; FRAME];
            G711Law::ALaw.encode_into(&pcm, &mut frame);
            audio_party
                .send_to(&sender.audio_frame(&frame), to_audio_leg)
                .await
                .unwrap();
            if step >= 30 {
                // CED indicator (T.38 §A: t30-indicator 2), repeated.
                let d = encoder.encode(&[0x04]).unwrap();
                t38_party.send_to(&d, to_t38_leg).await.unwrap();
            }
            while let Ok((n, _)) = t38_party.try_recv_from(&mut buf) {
                for e in decoder.receive(&buf[..n]).unwrap() {
                    if let RxEvent::Ifp { data, .. } = e {
                        ifps.push(data);
                    }
                }
            }
            while let Ok((n, _)) = audio_party.try_recv_from(&mut buf) {
                let p = rtp::parse(&buf[..n]).unwrap();
                received.push((p.header.sequence, p.header.timestamp, p.payload.to_vec()));
            }
        }
        let report = relay.stop().await.unwrap();
        // T.38 §A: t30-indicator 0 (no-signal), version 0 encoding.
        assert_eq!(ifps.first(), Some(&vec![0x00]), "{ifps:?}");
        assert!(received.len() >= 50, "{} packets", received.len());
        for w in received.windows(2) {
            assert_eq!(w[1].0, w[0].0.wrapping_add(1), "contiguous sequence");
            assert_eq!(w[1].1, w[0].1.wrapping_add(160), "contiguous timestamps");
        }
        assert!(received.iter().all(|r| r.2.len() == FRAME));
        // Silence before the CED indicator, 2100 Hz after it.
        let energy = |r: &[(u16, u32, Vec<u8>)]| {
            r.iter()
                .flat_map(|p| p.2.iter())
                .map(|&o| f64::from(G711Law::ALaw.decode(o)).powi(2))
                .sum::<f64>()
        };
        assert!(energy(&received[..10]) < 1e6, "silence at first");
        assert!(energy(&received[received.len() - 10..]) > 1e8, "CED heard");
        assert!(report.from_caller.tapped >= 50, "{:?}", report.from_caller);
        let c = report.classification.unwrap();
        assert!(c.analysed_ms >= 1000, "{c:?}");
        assert_eq!(c.label, crate::media::classifier::Label::Fax, "{c:?}");
        let g = report.gateway.unwrap();
        assert!(g.samples >= 50 * FRAME as u64, "{g:?}");
    }
}
