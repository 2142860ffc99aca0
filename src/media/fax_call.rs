//! The media task of one fax call: G.711 RTP or T.38 UDPTL on one side, a
//! [`FaxSession`] on the other, switched by SIP re-INVITEs.
//!
//! A call has two halves. Its media — both UDP sockets, the fax session,
//! the playout buffer, the UDPTL codec — is a channel of the shared
//! [`MediaClock`], stepped every 20 ms together with every other call's;
//! its signalling — the SIP call's events, re-INVITEs, the switching
//! decisions — is a tokio task that wakes only when something happens
//! (a SIP event, a timer of the switch, or an event of the media: a fax
//! tone heard, a T.30 frame, the end). The two share the media state
//! behind a mutex the clock takes once per step. Both are thin loops
//! around sans-IO parts:
//!
//! * **Clock.** One step per 20 ms of the shared clock; after a scheduling
//!   hiccup the missed steps run back to back, so exactly 160 samples are
//!   sent and 160 samples are played per elapsed 20 ms. A fax modem cannot
//!   tolerate inserted or dropped samples. Each step first reads every
//!   datagram that arrived since the last one; the sockets are not
//!   registered with the runtime, so a datagram wakes nothing.
//! * **Audio** (PCMA/PCMU as answered in SDP): every tick one 160-octet RTP
//!   packet ([`super::rtp::RtpSender`] stamps sequence, timestamp and SSRC)
//!   and one 20 ms pull from a fixed-delay playout buffer
//!   ([`super::rtp_stream::PlayoutBuffer`]); a slot whose packet is missing
//!   is reported to the session as missing samples, never stretched.
//! * **T.38**: received datagrams go through [`UdptlDecoder`] (redundancy
//!   and FEC repair; FEC padding trimmed by [`super::t38_stream`]) to
//!   [`FaxSession::receive_ifp`]; every tick the session's clock advances
//!   160 samples and the IFPs it produced leave through [`UdptlEncoder`]
//!   with the negotiated error correction (redundancy depth configurable,
//!   3 by default, as Mediatrix gateways use).
//! * **Switching between G.711 and T.38** is decided by [`super::switch`]
//!   (when to re-INVITE to T.38, how to answer the far end's re-INVITE,
//!   glare and retries, what a change of media does to the fax session);
//!   this task feeds it the call's events and carries out its actions. It
//!   listens to the received audio for the far end's fax signal
//!   ([`super::tones`]) while the switch asks for it, sends and awaits our
//!   re-INVITE, and builds the new leg and session a change needs. A
//!   SpanDSP terminal cannot change transport, so a switch to T.38 before
//!   any page replaces the fax session with a new one over the new
//!   transport: both T.30 engines simply start again (the caller waits for
//!   DIS, the answerer repeats it after T4).
//! * **Back to audio after the fax.** When the far end returns to voice
//!   once the fax is over (Mediatrix does before it hangs up), only the
//!   media leg changes. A session still running at that point is ended at
//!   once — its T.30 messages can no longer reach the far end — and
//!   SpanDSP keeps it a success when the end of the procedure (EOP and its
//!   MCF) was already seen, as it is when a gateway goes back to voice on
//!   DCN; earlier in the document it ends as a failed fax keeping the
//!   pages received. The new audio leg then carries G.711 silence (0xD5
//!   A-law, 0xFF μ-law) at the usual 20 ms pacing, and the call lingers
//!   from the switch so the far end can hang up first.
//! * **Media from the far end only.** Received RTP and UDPTL are taken only
//!   from the address the far end's SDP names for them, as
//!   [`super::source`] rules: a first valid packet from another port of
//!   that address binds the stream there (a far end behind NAT), and after
//!   that the source and the SSRC of its first RTP packet are kept until a
//!   re-INVITE signals the stream anew. Anything else is dropped before it
//!   reaches the playout buffer or the UDPTL decoder, and counted
//!   ([`MediaStats`], `faxbridge_media_packets_dropped_total`); malformed
//!   datagrams are counted as malformed whoever sent them.
//! * **Watchdog.** The call is ended (BYE) when the session shows no
//!   progress — no T.30 frame, phase change or page — for
//!   [`FaxCallConfig::watchdog`] of wall time, and shortly after the session
//!   finishes.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use std::net::UdpSocket;
use std::sync::Mutex;
use std::time::Instant;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use super::clock::{Channel, MediaClock, Step};

use super::rtp::{self, RtpSender};
use super::rtp_stream::{Piece, PlayoutBuffer};
use super::source::{self, CallKind, Datagram, DropReason, SourceGuard, Verdict};
use super::switch::{
    Action as SwitchAction, Answer as SwitchAnswer, Change, Config as SwitchConfig, Engine,
    FaxState, Input as SwitchInput, ListenEnd, Outcome, Refusal, StayReason, Switch,
};
pub use super::switch::{FAX_SIGNAL_TIMEOUT, MediaPath};
use super::t38_stream::trim_fec_padding;
use super::tones::{FarEnd, FaxSignal, FaxToneDetector};
use super::udptl::{
    DEFAULT_MAX_DATAGRAM, Delivery, ErrorCorrection, IfpSource, UdptlDecoder, UdptlEncoder,
    UdptlError,
};
use crate::fax::{
    Direction, FaxError, FaxJob, FaxOutcome, FaxSession, FaxSettings, FaxStatus, G711Law,
    SAMPLES_PER_20MS, T38Options, Transport,
};
use crate::sdp::{
    self, AudioCaps, Codec, LocalMediaCaps, LocalSession, Negotiated, OfferKind, SdpError, T38Caps,
    T38Params, UdpEc,
};
use crate::sip::acl::Account;
use crate::sip::{
    ActiveCall, CallError, CallEvent, CallHandle, DialError, DialRequest, EndReason, IncomingCall,
    ReInvite, ReInviteOutcome, SipEndpoint, SipError,
};

/// One 20 ms frame of 8 kHz audio.
const FRAME: usize = SAMPLES_PER_20MS;

/// How long the media keeps running after the fax session finished, so its
/// last packets (DCN, MCF) reach the far end before our BYE. The receiver
/// waits longer, so that the sender normally hangs up first.
const LINGER_SENDER: Duration = Duration::from_millis(500);
const LINGER_RECEIVER: Duration = Duration::from_secs(3);

/// Largest datagram read from a media socket.
const MAX_DATAGRAM: usize = 2048;
/// Most datagrams read from one socket per 20 ms tick: a normal stream
/// brings one or two; a flood is left to the socket's buffer (and dropped
/// by the kernel) rather than starving the other calls.
const MAX_DRAIN: usize = 64;

/// On a T.38 leg, the RTP socket is emptied every this many steps (0.5 s).
const T38_RTP_DRAIN_STEPS: u64 = 25;

/// A T.38 terminal that sent nothing for this many ticks (0.5 s) is
/// stepped every [`T38_SLOW_TICKS`] ticks (80 ms) until it sends again.
const T38_QUIET_TICKS: u32 = 25;
const T38_SLOW_TICKS: u32 = 4;

/// How a fax call uses its media.
#[derive(Debug, Clone)]
pub struct FaxCallConfig {
    /// T.30 settings of the fax session.
    pub fax: FaxSettings,
    /// G.711 codecs we offer or accept, in preference order (empty: no
    /// audio at all, T.38 only).
    pub codecs: Vec<Codec>,
    /// Accept T.38 (in the initial INVITE or a re-INVITE) and offer it.
    pub t38: bool,
    /// When an offer carries both G.711 and T.38, take T.38.
    pub prefer_t38: bool,
    /// What our INVITE offers when we place the call.
    pub initial_offer: OfferKind,
    /// Re-INVITE to T.38 ourselves when, on G.711, the far end's fax signal
    /// (CNG, CED or V.21 preamble) is heard.
    pub t38_reinvite: bool,
    /// Our T.38 parameters (version, rate, buffer sizes, error correction).
    pub t38_params: T38Params,
    /// UDPTL redundancy depth when `t38UDPRedundancy` is agreed (1..=15;
    /// 0 sends no recovery data).
    pub redundancy: u8,
    /// Fixed playout delay for received RTP.
    pub playout_delay: Duration,
    /// End the call when the fax session shows no progress (no T.30 frame,
    /// phase change or page) for this long.
    pub watchdog: Duration,
    /// Told when the call is answered, each time the count of pages
    /// confirmed (MCF) rises and when the last page is confirmed, while the
    /// call runs; the queue commits confirmed pages at once so a crash
    /// mid-call does not resend them, and reception records a confirmed
    /// document so a crash before the hang-up does not mark it partial.
    pub progress: Option<Arc<watch::Sender<CallProgress>>>,
    /// Send each RTP packet up to this much before or after its 20 ms slot
    /// (uniformly random, around a constant delay of the same size), as a
    /// network with jitter would deliver it: for `faxbridge dial
    /// --jitter-ms` and the channels benchmark. Zero sends on the slot.
    pub send_jitter: Duration,
}

/// Live progress of a call, published through [`FaxCallConfig::progress`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallProgress {
    /// The far end answered and the fax session started.
    pub answered: bool,
    /// Pages confirmed so far in this call.
    pub pages_confirmed: u32,
    /// Receiving: the last page was confirmed (MCF to EOP), so the sender
    /// was told the whole document arrived. Reception records it at once:
    /// a fax cut off after this point is complete, not partial.
    pub document_confirmed: bool,
}

impl Default for FaxCallConfig {
    fn default() -> Self {
        FaxCallConfig {
            fax: FaxSettings::default(),
            codecs: vec![Codec::Pcma, Codec::Pcmu],
            t38: false,
            prefer_t38: false,
            initial_offer: OfferKind::Audio,
            t38_reinvite: false,
            t38_params: T38Params::default(),
            redundancy: super::udptl::MEDIATRIX_REDUNDANCY,
            playout_delay: Duration::from_millis(60),
            watchdog: Duration::from_secs(60),
            progress: None,
            send_jitter: Duration::ZERO,
        }
    }
}

/// The two media sockets of a call and the address and ports our SDP
/// announces for them.
///
/// [`MediaSockets::bind`] announces what it bound; behind a port-forwarding
/// router (or a test relay) the announced ports can be changed before the
/// call starts.
#[derive(Debug)]
pub struct MediaSockets {
    /// RTP socket (G.711).
    pub rtp: UdpSocket,
    /// UDPTL socket (T.38).
    pub udptl: UdpSocket,
    /// Address written in our `c=` line.
    pub address: IpAddr,
    /// RTP port written in our audio `m=` line.
    pub rtp_port: u16,
    /// UDPTL port written in our image `m=` line.
    pub udptl_port: u16,
}

impl MediaSockets {
    /// Bind an RTP and a UDPTL socket on `ip` (ports chosen by the system;
    /// an even RTP port when one comes up, as RFC 3550 §11 recommends).
    ///
    /// The sockets do not block and are not registered with the runtime:
    /// the media clock reads them on its steps.
    pub async fn bind(ip: IpAddr) -> Result<MediaSockets, FaxCallError> {
        let bind_err = |source| FaxCallError::Bind { ip, source };
        let open = || {
            let s = UdpSocket::bind((ip, 0))?;
            s.set_nonblocking(true)?;
            Ok(s)
        };
        let mut rtp = open().map_err(bind_err)?;
        for _ in 0..8 {
            if rtp.local_addr().map_err(bind_err)?.port() % 2 == 0 {
                break;
            }
            rtp = open().map_err(bind_err)?;
        }
        let udptl = open().map_err(bind_err)?;
        let rtp_port = rtp.local_addr().map_err(bind_err)?.port();
        let udptl_port = udptl.local_addr().map_err(bind_err)?.port();
        Ok(MediaSockets {
            rtp,
            udptl,
            address: ip,
            rtp_port,
            udptl_port,
        })
    }

    fn caps(&self, cfg: &FaxCallConfig) -> LocalMediaCaps {
        LocalMediaCaps {
            address: self.address,
            audio: (!cfg.codecs.is_empty()).then(|| AudioCaps {
                port: self.rtp_port,
                codecs: cfg.codecs.clone(),
                telephone_event: None,
                ptime: 20,
            }),
            t38: cfg.t38.then(|| T38Caps {
                port: self.udptl_port,
                params: cfg.t38_params.clone(),
            }),
            prefer_t38: cfg.prefer_t38,
        }
    }
}

/// Why the call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallEnd {
    /// The fax session finished and we or the far end hung up.
    Completed,
    /// The call ended (far-end BYE, CANCEL, missing ACK) before the fax
    /// session finished.
    Signalling(EndReason),
    /// The watchdog ended a call that made no progress.
    Watchdog,
    /// The call's media failed (a bug: a panic while stepping it).
    MediaFailed,
}

/// Packet counters of one call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediaStats {
    /// RTP packets sent.
    pub rtp_sent: u64,
    /// RTP packets played or buffered.
    pub rtp_received: u64,
    /// Datagrams on the RTP socket that were not RTP.
    pub rtp_malformed: u64,
    /// RTP packets from the far end ignored: other payload types, or audio
    /// arriving while T.38 is in use.
    pub rtp_ignored: u64,
    /// RTP packets dropped as not from the far end's source (another
    /// address, or another port once the stream was bound).
    pub rtp_dropped_foreign: u64,
    /// RTP packets from the far end's source dropped for another SSRC than
    /// the stream's.
    pub rtp_dropped_ssrc: u64,
    /// RTP packets that came after their playout slot.
    pub rtp_late: u64,
    /// Received audio samples reported missing to the modem.
    pub audio_missing_samples: u64,
    /// UDPTL datagrams sent.
    pub udptl_sent: u64,
    /// Well-formed UDPTL datagrams received.
    pub udptl_received: u64,
    /// Datagrams on the UDPTL socket that were not UDPTL.
    pub udptl_malformed: u64,
    /// Well-formed UDPTL datagrams dropped as not from the far end's
    /// source.
    pub udptl_dropped_foreign: u64,
    /// IFPs recovered from redundant copies in later datagrams.
    pub ifp_recovered_redundancy: u64,
    /// IFPs rebuilt from FEC parity.
    pub ifp_recovered_fec: u64,
    /// IFPs lost for good.
    pub ifp_missing: u64,
    /// IFPs the T.38 terminal rejected as malformed.
    pub ifp_rejected: u64,
    /// Datagrams the kernel would not send.
    pub send_errors: u64,
}

/// How one fax call went.
#[derive(Debug, Clone)]
pub struct FaxCallReport {
    /// SIP Call-ID.
    pub call_id: String,
    /// The T.30 result.
    pub outcome: FaxOutcome,
    /// Media negotiated when the call was set up.
    pub initial_media: MediaPath,
    /// Media in use at the end.
    pub media: MediaPath,
    /// Changes of media (re-INVITEs that replaced the fax session).
    pub switches: u32,
    /// Why the call ended.
    pub ended_by: CallEnd,
    /// Packet counters.
    pub stats: MediaStats,
    /// Wall time from answer to hang-up.
    pub elapsed: Duration,
}

impl std::fmt::Display for FaxCallReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} over {}", self.outcome.summary(), self.media)?;
        if self.initial_media != self.media {
            write!(f, " (switched from {})", self.initial_media)?;
        }
        match &self.ended_by {
            CallEnd::Completed => {}
            CallEnd::Signalling(r) => write!(f, "; call ended by signalling: {r:?}")?,
            CallEnd::Watchdog => write!(f, "; ended by the no-progress watchdog")?,
            CallEnd::MediaFailed => write!(f, "; ended because its media failed")?,
        }
        write!(f, "; call {}", self.call_id)
    }
}

/// Why a fax call could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum FaxCallError {
    /// A media socket could not be bound.
    #[error("cannot bind a media socket on {ip}: {source}; use an address of this host")]
    Bind {
        /// The address.
        ip: IpAddr,
        /// The system error.
        source: io::Error,
    },
    /// The far end's session description is unusable (the call was refused
    /// or hung up).
    #[error("the far end's SDP is unusable: {0}")]
    Sdp(#[from] SdpError),
    /// The fax session could not start.
    #[error(transparent)]
    Fax(#[from] FaxError),
    /// The SIP endpoint could not place the call.
    #[error("cannot place the call: {0}")]
    Sip(#[from] SipError),
    /// The far end did not answer.
    #[error("the call was not answered: {0}")]
    Dial(#[from] DialError),
    /// The SIP layer refused an operation on the call.
    #[error("SIP call error: {0}")]
    Call(#[from] CallError),
    /// The UDPTL encoder refused the configuration.
    #[error("cannot set up UDPTL: {0}")]
    Udptl(#[from] UdptlError),
}

fn law_of(codec: Codec) -> G711Law {
    match codec {
        Codec::Pcma => G711Law::ALaw,
        Codec::Pcmu => G711Law::MuLaw,
    }
}

/// The G.711 code of a zero sample: what a leg sends when the fax session
/// has nothing (more) to say on it.
fn silence_of(codec: Codec) -> u8 {
    match law_of(codec) {
        G711Law::ALaw => 0xD5,
        G711Law::MuLaw => 0xFF,
    }
}

fn transport_for(neg: &Negotiated) -> Transport {
    match neg {
        Negotiated::Audio(a) => Transport::Audio(law_of(a.codec)),
        Negotiated::T38(t) => Transport::T38(T38Options {
            version: t.agreed.version,
            max_datagram: t
                .remote
                .max_datagram
                .map_or(DEFAULT_MAX_DATAGRAM as u16, |d| {
                    d.min(u32::from(u16::MAX)) as u16
                }),
            fill_bit_removal: t.agreed.fill_bit_removal,
        }),
    }
}

/// Where to send: the far end's address from SDP, resolved. `None` for
/// port 0 or a name that does not resolve (nothing is sent then).
async fn resolve(host: &str, port: u16) -> Option<SocketAddr> {
    if port == 0 {
        return None;
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Some(SocketAddr::new(ip, port));
    }
    match tokio::net::lookup_host((host, port)).await {
        Ok(mut addrs) => addrs.next(),
        Err(e) => {
            warn!(host, error = %e, "cannot resolve the far end's media address; not sending");
            None
        }
    }
}

struct AudioLeg {
    codec: Codec,
    payload_type: u8,
    remote: Option<SocketAddr>,
    sends: bool,
    sender: RtpSender,
    /// The packet being sent, kept for the next one.
    packet: Vec<u8>,
    playout: PlayoutBuffer,
    /// The SSRC whose audio the playout buffer holds.
    playing: Option<u32>,
}

struct T38Leg {
    remote: Option<SocketAddr>,
    sends: bool,
    udp_ec: Option<UdpEc>,
    /// With no UDPTL error correction, SpanDSP's repeat counts apply.
    repeat: bool,
    version: u8,
    encoder: UdptlEncoder,
    decoder: UdptlDecoder,
    /// The datagram being sent (kept for its capacity).
    datagram: Vec<u8>,
}

enum Leg {
    Audio(AudioLeg),
    T38(T38Leg),
}

impl Leg {
    async fn new(neg: &Negotiated, cfg: &FaxCallConfig) -> Result<Leg, FaxCallError> {
        Ok(match neg {
            Negotiated::Audio(a) => Leg::Audio(AudioLeg {
                codec: a.codec,
                payload_type: a.payload_type,
                remote: resolve(&a.remote_host, a.remote_port).await,
                sends: a.direction.sends(),
                sender: RtpSender::new(
                    rand::random(),
                    rand::random(),
                    rand::random(),
                    a.payload_type,
                ),
                packet: Vec::with_capacity(rtp::FIXED_HEADER_LEN + FRAME),
                playout: PlayoutBuffer::new(
                    (cfg.playout_delay.as_millis() as u32).saturating_mul(8),
                ),
                playing: None,
            }),
            Negotiated::T38(t) => {
                let ec = ErrorCorrection::for_negotiated(t.agreed.udp_ec, cfg.redundancy);
                let max = t
                    .remote
                    .max_datagram
                    .map_or(DEFAULT_MAX_DATAGRAM, |d| d as usize);
                Leg::T38(T38Leg {
                    remote: resolve(&t.remote_host, t.remote_port).await,
                    sends: t.direction.sends(),
                    udp_ec: t.agreed.udp_ec,
                    repeat: ec == ErrorCorrection::None,
                    version: t.agreed.version,
                    encoder: UdptlEncoder::new(ec, max)?,
                    decoder: UdptlDecoder::new(0),
                    datagram: Vec::with_capacity(max.min(2048)),
                })
            }
        })
    }

    fn path(&self) -> MediaPath {
        match self {
            Leg::Audio(a) => MediaPath::Audio(a.codec),
            Leg::T38(_) => MediaPath::T38,
        }
    }
}

/// Answer an incoming call and receive or send `job` on it.
///
/// The offer is answered from `sockets` and `cfg` (refused with 488, or
/// 400 for unreadable SDP, when nothing fits); the call then runs until the
/// fax session finishes, the far end hangs up or the watchdog fires.
pub async fn answer_call(
    incoming: IncomingCall,
    job: FaxJob,
    sockets: MediaSockets,
    cfg: &FaxCallConfig,
) -> Result<FaxCallReport, FaxCallError> {
    let offer = match sdp::parse(&String::from_utf8_lossy(&incoming.offer)) {
        Ok(o) => o,
        Err(e) => {
            incoming.reject(e.sip_status());
            return Err(e.into());
        }
    };
    let mut local = LocalSession::new(u64::from(rand::random::<u32>()), sockets.address);
    let caps = sockets.caps(cfg);
    let answer = match sdp::answer(&offer, &caps, &mut local) {
        Ok(a) => a,
        Err(e) => {
            incoming.reject(e.sip_status());
            return Err(e.into());
        }
    };
    let session = match FaxSession::new(job.clone(), transport_for(&answer.media), &cfg.fax) {
        Ok(s) => s,
        Err(e) => {
            incoming.reject(500);
            return Err(e.into());
        }
    };
    let leg = match Leg::new(&answer.media, cfg).await {
        Ok(l) => l,
        Err(e) => {
            incoming.reject(500);
            return Err(e);
        }
    };
    let call_id = incoming.call_id.clone();
    info!(
        %call_id,
        from = %incoming.from,
        media = %MediaPath::of(&answer.media),
        rtp = %SocketAddr::new(sockets.address, sockets.rtp_port),
        udptl = %SocketAddr::new(sockets.address, sockets.udptl_port),
        "answering fax call"
    );
    let call = incoming.accept(answer.sdp.to_string().into_bytes())?;
    Ok(CallTask::new(
        call_id, call, sockets, caps, local, job, cfg, session, leg, false,
    )
    .run()
    .await)
}

/// Place a call to `target` (a SIP URI) and send or receive `job` on it.
pub async fn place_call(
    endpoint: &SipEndpoint,
    target: &str,
    from_user: &str,
    account: Option<Account>,
    job: FaxJob,
    sockets: MediaSockets,
    cfg: &FaxCallConfig,
) -> Result<FaxCallReport, FaxCallError> {
    let mut local = LocalSession::new(u64::from(rand::random::<u32>()), sockets.address);
    let caps = sockets.caps(cfg);
    let offer = sdp::offer(&caps, cfg.initial_offer, &mut local)?;
    let dialing = endpoint
        .dial(DialRequest {
            target: target.to_string(),
            from_user: from_user.to_string(),
            offer: offer.to_string().into_bytes(),
            account,
        })
        .await?;
    let call_id = dialing.call_id().to_string();
    info!(%call_id, target, "calling");
    let call = dialing.outcome().await?;
    let setup = async {
        let answer = sdp::parse(&String::from_utf8_lossy(&call.remote_sdp))?;
        let neg = sdp::process_answer(&offer, &answer)?;
        let session = FaxSession::new(job.clone(), transport_for(&neg), &cfg.fax)?;
        let leg = Leg::new(&neg, cfg).await?;
        Ok::<_, FaxCallError>((session, leg))
    };
    let (session, leg) = match setup.await {
        Ok(x) => x,
        Err(e) => {
            if let Err(h) = call.handle.hangup().await {
                debug!(%call_id, error = %h, "hang-up after a failed set-up");
            }
            return Err(e);
        }
    };
    info!(%call_id, media = %leg.path(), "call answered");
    if let Some(p) = &cfg.progress {
        p.send_modify(|p| p.answered = true);
    }
    Ok(CallTask::new(
        call_id, call, sockets, caps, local, job, cfg, session, leg, true,
    )
    .run()
    .await)
}

/// What the media tells the call's task.
#[derive(Debug)]
enum MediaEvent {
    /// The far end's fax signal was heard in the received audio.
    Heard(FaxSignal),
    /// A T.30 frame passed (the page count may have moved), or the session
    /// finished.
    Fax(FaxState),
    /// The call is over as far as the media goes: the linger after the
    /// fax ran out, or the watchdog fired.
    End(CallEnd),
}

/// The media half of a call: what the clock steps every 20 ms. Shared
/// with the call's task behind a mutex.
struct FaxMedia {
    call_id: String,
    sockets: MediaSockets,
    session: FaxSession,
    leg: Leg,
    /// False once the far end went back to voice after the fax: the leg
    /// then carries silence (the switch decides; the task keeps this in
    /// step with it).
    session_drives_leg: bool,
    /// Listens to the far end's audio for its fax signal while the switch
    /// listens; `None` once heard, given up or moot.
    detector: Option<FaxToneDetector>,
    /// Decoded received audio fed to the detector.
    detect_pcm: Vec<i16>,
    /// Which RTP datagrams are the far end's: armed from the audio stream's
    /// SDP address (kept on a T.38 leg, so late audio from the far end is
    /// told from a stranger's).
    rtp_guard: SourceGuard,
    /// Which UDPTL datagrams are the far end's: armed from the T.38
    /// stream's SDP address.
    udptl_guard: SourceGuard,
    stats: MediaStats,
    /// When the fax session was seen finished: the call lingers from there
    /// (from the switch, after the far end went back to audio).
    finished_at: Option<Instant>,
    linger: Duration,
    watchdog: Duration,
    /// The session's T.30 activity count at the last step.
    last_activity: Option<u64>,
    /// The page count last told to the task.
    told_pages: Option<u32>,
    /// When the session last showed progress.
    progress_at: Instant,
    progress: Option<Arc<watch::Sender<CallProgress>>>,
    events: mpsc::UnboundedSender<MediaEvent>,
    /// [`MediaEvent::End`] was sent.
    end_sent: bool,
    /// Set by the task when the call ends: the clock drops the channel at
    /// its next step.
    stopped: bool,
    /// Receive buffer of both sockets.
    buf: Vec<u8>,
    /// Steps run, for work done every few steps.
    steps: u64,
    /// T.38: ticks since the terminal last sent a packet.
    t38_quiet: u32,
    /// T.38: ticks not yet given to the terminal.
    t38_owed: u32,
    /// With [`FaxCallConfig::send_jitter`]: the jitter, and the RTP socket
    /// shared with the delay line that sends the packets.
    jitter: Option<(Duration, Arc<UdpSocket>)>,
}

/// The signalling half of a call: a task that wakes on SIP events, the
/// switch's timers and the media's events.
struct CallTask {
    call_id: String,
    call: ActiveCall,
    handle: CallHandle,
    job: FaxJob,
    cfg: FaxCallConfig,
    media: Arc<Mutex<FaxMedia>>,
    events: mpsc::UnboundedReceiver<MediaEvent>,
    initial: MediaPath,
    /// The T.38 switching decisions: which re-INVITE to send, how to
    /// answer the far end's, what a change of media does to the session.
    switch: Switch,
    /// Our re-INVITE in flight.
    reinvite: Option<JoinHandle<Result<ReInviteOutcome, CallError>>>,
    /// The far end's re-INVITE being answered.
    their: Option<ReInvite>,
    /// What [`SwitchAction::Prepare`] built, until it is installed.
    prepared: Option<(Option<FaxSession>, Leg)>,
}

/// The clock's handle on a call's media.
struct FaxChannel(Arc<Mutex<FaxMedia>>);

impl Channel for FaxChannel {
    fn step(&mut self, now: Instant) -> Step {
        lock(&self.0).step(now)
    }
}

impl Drop for FaxChannel {
    /// The clock let go of the media: when the task did not ask for that
    /// (a panic in a step), the task ends the call.
    fn drop(&mut self) {
        let mut media = lock(&self.0);
        if !media.stopped {
            media.end(CallEnd::MediaFailed);
        }
    }
}

fn lock(media: &Mutex<FaxMedia>) -> std::sync::MutexGuard<'_, FaxMedia> {
    // A panic in a step leaves the state as it was at the panic; the call
    // still ends and reports what it has.
    media.lock().unwrap_or_else(|e| e.into_inner())
}

impl CallTask {
    /// `placed`: we placed the call, so it is established already and we
    /// chose its Call-ID.
    #[allow(clippy::too_many_arguments)]
    fn new(
        call_id: String,
        call: ActiveCall,
        sockets: MediaSockets,
        caps: LocalMediaCaps,
        local: LocalSession,
        job: FaxJob,
        cfg: &FaxCallConfig,
        session: FaxSession,
        leg: Leg,
        placed: bool,
    ) -> CallTask {
        let handle = call.handle.clone();
        let initial = leg.path();
        let now = Instant::now();
        let mut switch = Switch::new(
            SwitchConfig {
                caps,
                t38_reinvite: cfg.t38_reinvite,
                owns_call_id: placed,
            },
            local,
            initial,
            placed.then_some(now),
            rand::random(),
        );
        let detector = if switch.listening() {
            // Our session's T.30 role says which signals the far end sends.
            let far_end = match session.direction() {
                Direction::Send => FarEnd::Answering,
                Direction::Receive => FarEnd::Calling,
            };
            match FaxToneDetector::new(far_end) {
                Ok(d) => Some(d),
                Err(e) => {
                    warn!(call_id = %call_id, error = %e, "no fax tone detector; staying on G.711");
                    switch.handle(SwitchInput::DetectorUnavailable, now);
                    None
                }
            }
        } else {
            None
        };
        let linger = match session.direction() {
            Direction::Send => LINGER_SENDER,
            Direction::Receive => LINGER_RECEIVER,
        };
        let (events_tx, events) = mpsc::unbounded_channel();
        let jitter = (!cfg.send_jitter.is_zero())
            .then(|| sockets.rtp.try_clone().ok())
            .flatten()
            .map(|s| (cfg.send_jitter, Arc::new(s)));
        let mut media = FaxMedia {
            call_id: call_id.clone(),
            sockets,
            session,
            leg,
            session_drives_leg: switch.session_drives_leg(),
            detector,
            detect_pcm: Vec::with_capacity(FRAME),
            rtp_guard: SourceGuard::new(None, None),
            udptl_guard: SourceGuard::new(None, None),
            stats: MediaStats::default(),
            finished_at: None,
            linger,
            watchdog: cfg.watchdog,
            last_activity: None,
            told_pages: None,
            progress_at: now,
            progress: cfg.progress.clone(),
            events: events_tx,
            end_sent: false,
            stopped: false,
            buf: vec![0; MAX_DATAGRAM],
            steps: 0,
            t38_quiet: 0,
            t38_owed: 0,
            jitter,
        };
        media.arm_leg();
        CallTask {
            call_id,
            call,
            handle,
            job,
            cfg: cfg.clone(),
            media: Arc::new(Mutex::new(media)),
            events,
            initial,
            switch,
            reinvite: None,
            their: None,
            prepared: None,
        }
    }

    /// What switching needs to know of the fax session.
    fn fax_state(&self) -> FaxState {
        lock(&self.media).fax_state()
    }

    async fn run(mut self) -> FaxCallReport {
        let started = Instant::now();
        MediaClock::global().add(Box::new(FaxChannel(self.media.clone())));
        let mut signalling_ended = false;
        let ended_by = loop {
            // The switch's timers: our re-INVITE due, the end of listening
            // for the fax signal.
            let timeout = self.switch.poll_timeout();
            let (call, reinvite) = (&mut self.call, &mut self.reinvite);
            tokio::select! {
                event = call.next_event(), if !signalling_ended => match event {
                    Some(CallEvent::Established) => self.feed(SwitchInput::Established).await,
                    Some(CallEvent::ReInvite(r)) => {
                        let offer = r.offer.clone();
                        let fax = self.fax_state();
                        self.their = Some(r);
                        self.feed(SwitchInput::ReInvite { offer, fax }).await;
                        // Answered by now; dropped unanswered it would get
                        // 488 and keep the session.
                        self.their = None;
                    }
                    Some(CallEvent::Ended(reason)) => {
                        signalling_ended = true;
                        if !lock(&self.media).session.is_finished() {
                            info!(call_id = %self.call_id, ?reason, "call ended before the fax finished");
                            break CallEnd::Signalling(reason);
                        }
                        break CallEnd::Completed;
                    }
                    None => {
                        signalling_ended = true;
                        if !lock(&self.media).session.is_finished() {
                            break CallEnd::Signalling(EndReason::LocalHangup);
                        }
                        break CallEnd::Completed;
                    }
                },
                result = async { reinvite.as_mut().expect("guarded by is_some").await },
                    if reinvite.is_some() =>
                {
                    self.reinvite = None;
                    let outcome = match result {
                        Ok(Ok(ReInviteOutcome::Accepted(answer))) => Outcome::Accepted(answer),
                        Ok(Ok(ReInviteOutcome::Rejected(code))) => Outcome::Refused(code),
                        Ok(Err(CallError::Glare(_))) => Outcome::Glare,
                        Ok(Err(CallError::NoResponse { .. })) => Outcome::NoResponse,
                        Ok(Err(e)) => Outcome::Failed(e.to_string()),
                        Err(e) => Outcome::Failed(format!("the re-INVITE task failed: {e}")),
                    };
                    self.feed(SwitchInput::ReInviteDone(outcome)).await;
                }
                event = self.events.recv() => match event {
                    Some(MediaEvent::Heard(signal)) => {
                        info!(call_id = %self.call_id, %signal, "far end's fax signal heard; re-INVITE to T.38");
                        self.feed(SwitchInput::SignalHeard).await;
                    }
                    Some(MediaEvent::Fax(fax)) => self.feed(SwitchInput::Fax(fax)).await,
                    Some(MediaEvent::End(end)) => break end,
                    // The media holds the sender for as long as we hold it.
                    None => break CallEnd::Completed,
                },
                _ = tokio::time::sleep_until(
                    tokio::time::Instant::from_std(timeout.unwrap_or(started))
                ), if timeout.is_some() => self.feed(SwitchInput::Timeout).await,
            }
        };
        if let Some(task) = self.reinvite.take() {
            task.abort();
        }
        {
            let mut media = lock(&self.media);
            media.stopped = true;
            media.session.hang_up();
        }
        if !signalling_ended && let Err(e) = self.handle.hangup().await {
            debug!(call_id = %self.call_id, error = %e, "hang-up failed");
        }
        let mut media = lock(&self.media);
        media.retire_leg();
        let outcome = media
            .session
            .outcome()
            .cloned()
            .unwrap_or_else(|| FaxOutcome {
                direction: media.session.direction(),
                status: FaxStatus::Failed {
                    code: -1,
                    reason: "The fax engine reported no result.".into(),
                },
                pages_transferred: media.session.pages_transferred(),
                pages_total: None,
                pages_stored: 0,
                output_failed: false,
                partial_page: false,
                bit_rate: None,
                ecm: false,
                remote_ident: None,
                samples: media.session.samples(),
                tiff: match &self.job {
                    FaxJob::Send(p) | FaxJob::Receive(p) => p.clone(),
                },
            });
        let report = FaxCallReport {
            call_id: self.call_id.clone(),
            outcome,
            initial_media: self.initial,
            media: media.leg.path(),
            switches: self.switch.switches(),
            ended_by,
            stats: media.stats,
            elapsed: started.elapsed(),
        };
        drop(media);
        info!(call_id = %self.call_id, stats = ?report.stats, "fax call: {report}");
        report
    }

    /// Hand `input` to the switch and carry out every action it returns,
    /// including those that follow from reporting a prepared change.
    async fn feed(&mut self, input: SwitchInput) {
        let now = Instant::now();
        self.switch.handle(input, now);
        while let Some(action) = self.switch.poll_action() {
            match action {
                SwitchAction::SendReInvite(offer) => {
                    info!(call_id = %self.call_id, "re-INVITE to T.38");
                    let handle = self.handle.clone();
                    let body = offer.to_string().into_bytes();
                    self.reinvite = Some(tokio::spawn(async move { handle.reinvite(body).await }));
                }
                SwitchAction::Prepare(change) => {
                    let input = match self.prepare(&change).await {
                        Ok(prepared) => {
                            self.prepared = Some(prepared);
                            SwitchInput::Prepared
                        }
                        Err(e) => {
                            warn!(call_id = %self.call_id, error = %e, to = %MediaPath::of(&change.media), "cannot switch media; staying on the current media");
                            SwitchInput::PrepareFailed
                        }
                    };
                    self.switch.handle(input, now);
                }
                SwitchAction::Answer(answer) => {
                    let Some(r) = self.their.take() else {
                        continue;
                    };
                    match answer {
                        SwitchAnswer::Accept(body) => r.accept(body),
                        SwitchAnswer::Refuse { status, why } => {
                            match why {
                                Refusal::Unreadable(e) => {
                                    debug!(call_id = %self.call_id, error = %e, "unreadable re-INVITE offer")
                                }
                                Refusal::NotAcceptable(e) => {
                                    info!(call_id = %self.call_id, error = %e, "refusing re-INVITE")
                                }
                                Refusal::T38AfterPages => {
                                    info!(call_id = %self.call_id, "refusing a change to T.38 after pages were transferred")
                                }
                                Refusal::CodecChangeMidFax => {
                                    info!(call_id = %self.call_id, "refusing a codec change in the middle of a G.711 fax")
                                }
                                Refusal::CannotSwitch => {
                                    info!(call_id = %self.call_id, status, "refusing re-INVITE")
                                }
                            }
                            r.reject(status);
                        }
                    }
                }
                SwitchAction::Install(engine) => self.install(engine),
                SwitchAction::StopListening(why) => {
                    let detector = lock(&self.media).detector.take();
                    if why == ListenEnd::NoSignal {
                        let modem = detector
                            .as_ref()
                            .is_some_and(FaxToneDetector::data_modem_answer_seen);
                        info!(
                            call_id = %self.call_id,
                            data_modem_answer = modem,
                            "no fax signal from the far end within {} s; staying on G.711",
                            FAX_SIGNAL_TIMEOUT.as_secs()
                        );
                    }
                }
                SwitchAction::StayOnAudio { why, retry_at } => {
                    let retry = retry_at.is_some();
                    match why {
                        StayReason::Refused(code) => {
                            info!(call_id = %self.call_id, code, retry, "the far end refused T.38; staying on G.711")
                        }
                        StayReason::UnusableAnswer(e) => {
                            warn!(call_id = %self.call_id, error = %e, "unusable answer to our re-INVITE; staying on the current media")
                        }
                        StayReason::NoOffer(e) => {
                            warn!(call_id = %self.call_id, error = %e, "cannot build a T.38 offer")
                        }
                        StayReason::Glare => {
                            warn!(call_id = %self.call_id, retry, "re-INVITE to T.38 collided with the far end's on every attempt; staying on G.711")
                        }
                        StayReason::NoResponse => {
                            warn!(call_id = %self.call_id, retry, "no answer to our re-INVITE to T.38; staying on G.711")
                        }
                        StayReason::Failed(e) => {
                            warn!(call_id = %self.call_id, error = %e, "re-INVITE to T.38 failed; staying on G.711")
                        }
                    }
                }
            }
        }
        let drives = self.switch.session_drives_leg();
        lock(&self.media).session_drives_leg = drives;
    }

    /// Build what a change of media needs (a new fax session and media
    /// leg) without touching the running ones.
    ///
    /// Takes `&mut self` only so that the future stays `Send` (the fax
    /// session is `Send` but not `Sync`).
    async fn prepare(
        &mut self,
        change: &Change,
    ) -> Result<(Option<FaxSession>, Leg), FaxCallError> {
        let session = match change.engine {
            Engine::Restart => Some(FaxSession::new(
                self.job.clone(),
                transport_for(&change.media),
                &self.cfg.fax,
            )?),
            Engine::Keep | Engine::EndKeepingResult => None,
        };
        Ok((session, Leg::new(&change.media, &self.cfg).await?))
    }

    /// Put the prepared change in force.
    fn install(&mut self, engine: Engine) {
        let Some((session, leg)) = self.prepared.take() else {
            return;
        };
        let mut media = lock(&self.media);
        let media = &mut *media;
        match engine {
            Engine::Restart => {
                info!(
                    call_id = %self.call_id,
                    from = %media.leg.path(),
                    to = %leg.path(),
                    "switching media; the fax session restarts"
                );
                media.retire_leg();
                if let Some(s) = session {
                    media.session = s;
                }
                media.leg = leg;
                media.arm_leg();
            }
            Engine::EndKeepingResult => {
                if !media.session.is_finished() {
                    // Its T.30 messages cannot reach the far end any more.
                    media.session.hang_up();
                }
                info!(
                    call_id = %self.call_id,
                    from = %media.leg.path(),
                    to = %leg.path(),
                    pages = media.session.pages_transferred(),
                    success = media.session.outcome().is_some_and(FaxOutcome::is_success),
                    "the far end went back to audio after the fax; keeping the fax result"
                );
                media.retire_leg();
                media.leg = leg;
                media.arm_leg();
                // The linger counts from the switch, so the far end that
                // asked for it normally hangs up first.
                media.finished_at = None;
            }
            Engine::Keep => {
                // Same media with new addresses or parameters: keep the
                // stream state where it matters.
                match (&mut media.leg, leg) {
                    (Leg::Audio(old), Leg::Audio(new)) => {
                        old.remote = new.remote;
                        old.sends = new.sends;
                        if old.payload_type != new.payload_type {
                            old.payload_type = new.payload_type;
                            old.sender = new.sender;
                        }
                    }
                    (Leg::T38(old), Leg::T38(new)) => {
                        old.remote = new.remote;
                        old.sends = new.sends;
                        if old.udp_ec != new.udp_ec || old.version != new.version {
                            old.udp_ec = new.udp_ec;
                            old.version = new.version;
                            old.repeat = new.repeat;
                            old.encoder = new.encoder;
                        }
                    }
                    (old, new) => *old = new,
                }
                media.arm_leg();
            }
        }
    }
}

impl FaxMedia {
    /// The far end signalled the current leg's stream (at set-up or in a
    /// re-INVITE): take its datagrams from the signalled address only, and
    /// bind the stream anew.
    fn arm_leg(&mut self) {
        match &self.leg {
            Leg::Audio(a) => self.rtp_guard.arm(a.remote),
            Leg::T38(t) => self.udptl_guard.arm(t.remote),
        }
    }

    /// What switching needs to know of the fax session.
    fn fax_state(&self) -> FaxState {
        FaxState {
            pages: self.session.pages_transferred(),
            finished: self.session.is_finished(),
        }
    }

    /// Tell the call's task; it is gone only when the call has ended.
    fn tell(&self, event: MediaEvent) {
        let _ = self.events.send(event);
    }

    /// One 20 ms step, due at `now`.
    fn step(&mut self, now: Instant) -> Step {
        if self.stopped {
            return Step::Done;
        }
        let t38 = matches!(self.leg, Leg::T38(_));
        self.steps += 1;
        if t38 {
            // A T.38 terminal that has sent nothing for a while (receiving
            // a page, waiting for the far end) is stepped every few ticks:
            // its timers are in samples, which it still gets every one of,
            // and what arrived waits in the socket. As soon as it sends, it
            // is stepped every 20 ms again, so its packets keep their pace.
            self.t38_owed += 1;
            if self.t38_quiet >= T38_QUIET_TICKS && self.t38_owed < T38_SLOW_TICKS {
                return Step::Continue;
            }
        }
        let sent_before = self.stats.udptl_sent + self.stats.send_errors;
        self.drain(t38);
        let ticks = self.t38_owed.max(1);
        if let Some(signal) = self.on_tick() {
            self.tell(MediaEvent::Heard(signal));
        }
        if t38 {
            if self.stats.udptl_sent + self.stats.send_errors > sent_before {
                self.t38_quiet = 0;
            } else {
                self.t38_quiet = self.t38_quiet.saturating_add(ticks);
            }
        }
        if self.session.is_finished() {
            let at = match self.finished_at {
                Some(at) => at,
                None => {
                    self.finished_at = Some(now);
                    self.tell(MediaEvent::Fax(self.fax_state()));
                    now
                }
            };
            if now.saturating_duration_since(at) >= self.linger {
                self.end(CallEnd::Completed);
            }
            return Step::Continue;
        }
        // A page is confirmed only by a T.30 frame (MCF), so the page count
        // (a SpanDSP statistics call, which reads the TIFF when sending) is
        // read only when the frame count moved.
        let activity = self.session.t30_activity();
        if self.last_activity != Some(activity) {
            self.last_activity = Some(activity);
            self.progress_at = now;
            let pages = self.session.pages_transferred();
            let complete = self.session.document_confirmed();
            if let Some(p) = &self.progress {
                p.send_if_modified(|p| {
                    let more = pages > p.pages_confirmed;
                    if more {
                        p.pages_confirmed = pages;
                    }
                    let done = complete && !p.document_confirmed;
                    if done {
                        p.document_confirmed = true;
                    }
                    more || done
                });
            }
            // The task's switch needs the page count only: telling it of
            // every frame (an ECM page is a frame per 256 bytes) would wake
            // the task five times a second for nothing.
            if self.told_pages != Some(pages) {
                self.told_pages = Some(pages);
                self.tell(MediaEvent::Fax(FaxState {
                    pages,
                    finished: false,
                }));
            }
        } else if now.saturating_duration_since(self.progress_at) >= self.watchdog && !self.end_sent
        {
            warn!(
                call_id = %self.call_id,
                "no fax progress for {} s; ending the call",
                self.watchdog.as_secs()
            );
            self.end(CallEnd::Watchdog);
        }
        Step::Continue
    }

    /// The media is done with the call; the task hangs up.
    fn end(&mut self, why: CallEnd) {
        if !self.end_sent {
            self.end_sent = true;
            self.tell(MediaEvent::End(why));
        }
    }

    /// Fold the counters of the leg being replaced into the call's.
    fn retire_leg(&mut self) {
        match &mut self.leg {
            Leg::Audio(a) => {
                let s = a.playout.stats();
                self.stats.rtp_late += s.late;
                a.playout = PlayoutBuffer::new(0);
            }
            Leg::T38(t) => {
                let s = t.decoder.stats();
                self.stats.udptl_malformed += s.malformed;
                self.stats.ifp_recovered_redundancy += s.recovered_redundancy;
                self.stats.ifp_recovered_fec += s.recovered_fec;
                self.stats.ifp_missing += s.missing;
                t.decoder = UdptlDecoder::new(0);
            }
        }
    }

    /// Take every datagram that arrived since the last step. The modem
    /// consumes audio 20 ms at a time anyway and the playout buffer places
    /// packets by timestamp, so reading on the step changes nothing for
    /// the fax. UDPTL is read only on a T.38 leg; datagrams that come
    /// early wait in the socket for the switch.
    ///
    /// On a T.38 leg the RTP socket carries nothing the call uses (audio
    /// after the switch is only counted), so it is emptied only every
    /// [`T38_RTP_DRAIN_STEPS`] steps: one system call less per step.
    fn drain(&mut self, t38: bool) {
        // Taken out for the loop (an empty Vec does not allocate).
        let mut buf = std::mem::take(&mut self.buf);
        let rtp_reads = if !t38 || self.steps.is_multiple_of(T38_RTP_DRAIN_STEPS) {
            MAX_DRAIN
        } else {
            0
        };
        for _ in 0..rtp_reads {
            match self.sockets.rtp.recv_from(&mut buf) {
                Ok((n, from)) => self.on_rtp(&buf[..n], from),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => debug!(call_id = %self.call_id, error = %e, "RTP socket error"),
            }
        }
        if t38 {
            for _ in 0..MAX_DRAIN {
                match self.sockets.udptl.recv_from(&mut buf) {
                    Ok((n, from)) => self.on_udptl(&buf[..n], from),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) => debug!(call_id = %self.call_id, error = %e, "UDPTL socket error"),
                }
            }
        }
        self.buf = buf;
    }

    /// Count a datagram the far end did not send.
    fn dropped(stats: &mut MediaStats, udptl: bool, reason: DropReason) {
        match (udptl, reason) {
            (true, _) => stats.udptl_dropped_foreign += 1,
            (false, DropReason::ForeignSource) => stats.rtp_dropped_foreign += 1,
            (false, DropReason::Ssrc) => stats.rtp_dropped_ssrc += 1,
        }
        source::count_drop(CallKind::Fax, reason);
    }

    fn on_rtp(&mut self, datagram: &[u8], from: SocketAddr) {
        let packet = match rtp::parse(datagram) {
            Ok(p) => p,
            Err(_) => {
                self.stats.rtp_malformed += 1;
                return;
            }
        };
        let ssrc = packet.header.ssrc;
        if let Verdict::Drop(reason) = self.rtp_guard.handle(from, Datagram::Rtp { ssrc }) {
            Self::dropped(&mut self.stats, false, reason);
            return;
        }
        let Leg::Audio(a) = &mut self.leg else {
            self.stats.rtp_ignored += 1;
            return;
        };
        if packet.header.payload_type != a.payload_type {
            self.stats.rtp_ignored += 1;
            return;
        }
        // One SSRC per binding; a new one after a re-INVITE is a new
        // stream whose timestamps start elsewhere.
        if a.playing.is_some_and(|p| p != ssrc) {
            debug!(call_id = %self.call_id, ssrc, "a new RTP source after a re-INVITE");
            a.playout.reset();
        }
        a.playing = Some(ssrc);
        self.stats.rtp_received += 1;
        a.playout.push(packet.header.timestamp, packet.payload);
    }

    fn on_udptl(&mut self, datagram: &[u8], from: SocketAddr) {
        let Leg::T38(t) = &mut self.leg else {
            return;
        };
        if let Err(e) = super::udptl::parse_packet(datagram) {
            debug!(call_id = %self.call_id, error = %e, "dropping a datagram on the UDPTL port");
            self.stats.udptl_malformed += 1;
            return;
        }
        if let Verdict::Drop(reason) = self.udptl_guard.handle(from, Datagram::Valid) {
            Self::dropped(&mut self.stats, true, reason);
            return;
        }
        let (session, stats, version) = (&mut self.session, &mut self.stats, t.version);
        let call_id = &self.call_id;
        let received = t.decoder.receive_with(datagram, |event| {
            if let Delivery::Ifp { seq, data, source } = event {
                let ifp = if source == IfpSource::Fec {
                    trim_fec_padding(data, version)
                } else {
                    data
                };
                if let Err(e) = session.receive_ifp(seq, ifp) {
                    stats.ifp_rejected += 1;
                    debug!(%call_id, error = %e, "IFP rejected");
                }
            }
            // Delivery::Missing needs nothing: the T.38 terminal sees the
            // jump in sequence numbers and marks the data as missing.
        });
        if let Err(e) = received {
            debug!(call_id = %self.call_id, error = %e, "dropping a datagram on the UDPTL port");
            return;
        }
        self.stats.udptl_received += 1;
        Self::send_ifps(&self.sockets, t, &mut self.session, &mut self.stats);
    }

    /// One 20 ms step of the media; returns the far end's fax signal when
    /// the detector heard it in this step's received audio.
    fn on_tick(&mut self) -> Option<FaxSignal> {
        let mut heard = None;
        match &mut self.leg {
            Leg::Audio(a) if !self.session_drives_leg => {
                // Voice after the fax: the finished session has nothing to
                // say on this leg. Received audio is drained and dropped;
                // silence keeps the far end's jitter buffer fed.
                let stats = &mut self.stats;
                a.playout.pull_each(FRAME, |piece| {
                    if let Piece::Missing(n) = piece {
                        stats.audio_missing_samples += n as u64;
                    }
                });
                let out = [silence_of(a.codec); FRAME];
                Self::send_audio(&self.sockets, a, &out, &mut self.stats, &self.jitter);
            }
            Leg::Audio(a) => {
                let (detector, pcm, session, stats) = (
                    &mut self.detector,
                    &mut self.detect_pcm,
                    &mut self.session,
                    &mut self.stats,
                );
                let law = law_of(a.codec);
                a.playout.pull_each(FRAME, |piece| {
                    // A wrong-transport error cannot happen: the session was
                    // made for this leg.
                    let _ = match piece {
                        Piece::Audio(bytes) => {
                            if let Some(d) = detector.as_mut() {
                                pcm.resize(bytes.len(), 0);
                                law.decode_into(bytes, pcm);
                                heard = heard.or(d.process(pcm));
                            }
                            session.receive_payload(bytes)
                        }
                        Piece::Missing(n) => {
                            stats.audio_missing_samples += n as u64;
                            session.receive_missing(n)
                        }
                    };
                });
                let mut out = [0u8; FRAME];
                let _ = self.session.transmit_payload(&mut out);
                Self::send_audio(&self.sockets, a, &out, &mut self.stats, &self.jitter);
            }
            Leg::T38(t) => {
                // Every tick since the last step: the terminal's time is
                // its sample count, kept exact.
                let ticks = std::mem::take(&mut self.t38_owed).max(1);
                let _ = self.session.advance(FRAME as u32 * ticks);
                Self::send_ifps(&self.sockets, t, &mut self.session, &mut self.stats);
            }
        }
        heard
    }

    /// Send one 20 ms frame on the audio leg, or only advance the RTP clock
    /// when the far end takes nothing (port 0, recvonly).
    fn send_audio(
        sockets: &MediaSockets,
        a: &mut AudioLeg,
        frame: &[u8; FRAME],
        stats: &mut MediaStats,
        jitter: &Option<(Duration, Arc<UdpSocket>)>,
    ) {
        match a.remote.filter(|_| a.sends) {
            Some(to) => {
                a.sender.audio_frame_into(frame, &mut a.packet);
                if let Some((jitter, socket)) = jitter {
                    let packet = a.packet.clone();
                    super::delay_line::DelayLine::global().send(socket, to, packet, *jitter);
                    stats.rtp_sent += 1;
                    return;
                }
                match sockets.rtp.send_to(&a.packet, to) {
                    Ok(_) => stats.rtp_sent += 1,
                    Err(_) => stats.send_errors += 1,
                }
            }
            None => a.sender.skip(FRAME as u32),
        }
    }

    fn send_ifps(
        sockets: &MediaSockets,
        t: &mut T38Leg,
        session: &mut FaxSession,
        stats: &mut MediaStats,
    ) {
        session.drain_ifp_packets(|p| {
            if let Err(e) = t.encoder.encode_into(&p.data, &mut t.datagram) {
                warn!(error = %e, "cannot frame an IFP");
                return;
            }
            let Some(to) = t.remote.filter(|_| t.sends) else {
                return;
            };
            let times = if t.repeat { p.transmissions.max(1) } else { 1 };
            for _ in 0..times {
                match sockets.udptl.send_to(&t.datagram, to) {
                    Ok(_) => stats.udptl_sent += 1,
                    Err(_) => stats.send_errors += 1,
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docs::tiff::{Compression, write_tiff};
    use crate::docs::{Page, Resolution};

    /// One side of a G.711 call on loopback, sending to `to` once known.
    fn side(job: FaxJob, sockets: MediaSockets, to: SocketAddr) -> FaxMedia {
        let (events, _) = mpsc::unbounded_channel();
        let session = FaxSession::new(
            job,
            Transport::Audio(G711Law::ALaw),
            &FaxSettings::default(),
        )
        .unwrap();
        let mut media = FaxMedia {
            call_id: "test".into(),
            sockets,
            session,
            leg: Leg::Audio(AudioLeg {
                codec: Codec::Pcma,
                payload_type: 8,
                remote: Some(to),
                sends: true,
                sender: RtpSender::new(1, 2, 3, 8),
                packet: Vec::with_capacity(rtp::FIXED_HEADER_LEN + FRAME),
                playout: PlayoutBuffer::new(480),
                playing: None,
            }),
            session_drives_leg: true,
            detector: None,
            detect_pcm: Vec::with_capacity(FRAME),
            rtp_guard: SourceGuard::new(None, None),
            udptl_guard: SourceGuard::new(None, None),
            stats: MediaStats::default(),
            finished_at: None,
            linger: LINGER_SENDER,
            watchdog: Duration::from_secs(60),
            last_activity: None,
            told_pages: None,
            progress_at: Instant::now(),
            progress: None,
            events,
            end_sent: false,
            stopped: false,
            buf: vec![0; MAX_DATAGRAM],
            steps: 0,
            t38_quiet: 0,
            t38_owed: 0,
            jitter: None,
        };
        media.arm_leg();
        media
    }

    /// One side of a T.38 call on loopback (UDPTL redundancy 3, as
    /// deployed gateways send), sending to `to`.
    fn t38_side(job: FaxJob, sockets: MediaSockets, to: SocketAddr) -> FaxMedia {
        let session = FaxSession::new(
            job,
            Transport::T38(T38Options {
                version: 0,
                max_datagram: 400,
                fill_bit_removal: false,
            }),
            &FaxSettings::default(),
        )
        .unwrap();
        let mut media = side(
            FaxJob::Receive(std::path::PathBuf::from("unused.tif")),
            sockets,
            to,
        );
        media.session = session;
        let ec = ErrorCorrection::Redundancy { depth: 3 };
        media.leg = Leg::T38(T38Leg {
            remote: Some(to),
            sends: true,
            udp_ec: Some(UdpEc::Redundancy),
            repeat: false,
            version: 0,
            encoder: UdptlEncoder::new(ec, 400).unwrap(),
            decoder: UdptlDecoder::new(0),
            datagram: Vec::with_capacity(400),
        });
        media.arm_leg();
        media
    }

    fn sockets() -> MediaSockets {
        let open = || {
            let s = UdpSocket::bind("127.0.0.1:0").unwrap();
            s.set_nonblocking(true).unwrap();
            s
        };
        let (rtp, udptl) = (open(), open());
        MediaSockets {
            rtp_port: rtp.local_addr().unwrap().port(),
            udptl_port: udptl.local_addr().unwrap().port(),
            rtp,
            udptl,
            address: "127.0.0.1".parse().unwrap(),
        }
    }

    /// Two fax calls' media stepped against each other over loopback, as
    /// the clock steps them: a step in which neither session saw a T.30
    /// frame, phase change or page and nothing is told to the call's task
    /// (the steady state inside a page and in the training) allocates
    /// nothing on the heap — no packet, playout or receive buffer is made
    /// per step.
    #[test]
    fn the_g711_media_step_allocates_nothing_in_steady_state() {
        steady_state_allocations(false);
    }

    /// The same over T.38 with UDPTL redundancy: framing, the decoder's
    /// reassembly and SpanDSP's packets reuse buffers made up front.
    #[test]
    fn the_t38_media_step_allocates_nothing_in_steady_state() {
        steady_state_allocations(true);
    }

    fn steady_state_allocations(t38: bool) {
        let dir = tempfile::tempdir().unwrap();
        let mut page = Page::blank(1728, 400, Resolution::Fine);
        for y in (0..400).step_by(7) {
            for x in (y % 13..1728).step_by(5) {
                page.set(x, y, true);
            }
        }
        let doc = dir.path().join("doc.tif");
        write_tiff(&doc, &[page], Compression::Group4).unwrap();
        let (a, b) = (sockets(), sockets());
        let (mut tx, mut rx) = if t38 {
            let (a_addr, b_addr) = (a.udptl.local_addr().unwrap(), b.udptl.local_addr().unwrap());
            (
                t38_side(FaxJob::Send(doc), a, b_addr),
                t38_side(FaxJob::Receive(dir.path().join("rx.tif")), b, a_addr),
            )
        } else {
            let (a_addr, b_addr) = (a.rtp.local_addr().unwrap(), b.rtp.local_addr().unwrap());
            (
                side(FaxJob::Send(doc), a, b_addr),
                side(FaxJob::Receive(dir.path().join("rx.tif")), b, a_addr),
            )
        };
        // The first steps make the playout rings and sized buffers.
        let warm_up = 10;
        let start = Instant::now();
        let (mut quiet, mut allocating) = (0, Vec::new());
        for n in 0..20_000u32 {
            let due = start + STEP_FOR_TEST * n;
            // What the task is told about: T.30 activity, the end of the
            // fax and of the call.
            let told = |m: &mut FaxMedia| {
                (
                    m.session.t30_activity(),
                    m.session.is_finished(),
                    m.finished_at,
                    m.end_sent,
                )
            };
            let before = (told(&mut tx), told(&mut rx));
            let (_, allocs) = crate::alloc_count::count(|| {
                tx.step(due);
                rx.step(due);
            });
            let after = (told(&mut tx), told(&mut rx));
            if n >= warm_up && before == after {
                quiet += 1;
                if allocs > 0 {
                    allocating.push((n, allocs));
                }
            }
            if tx.session.is_finished() && rx.session.is_finished() {
                break;
            }
        }
        assert!(
            rx.session.outcome().is_some_and(FaxOutcome::is_success),
            "the fax did not go through: {:?}",
            rx.session.outcome().map(FaxOutcome::summary)
        );
        assert!(quiet > 1000, "only {quiet} steady steps");
        assert!(
            allocating.is_empty(),
            "{} of {quiet} steady steps allocated (step, allocations): {:?} … {:?}",
            allocating.len(),
            &allocating[..allocating.len().min(10)],
            &allocating[allocating.len().saturating_sub(10)..]
        );
    }

    const STEP_FOR_TEST: Duration = Duration::from_millis(20);
}
