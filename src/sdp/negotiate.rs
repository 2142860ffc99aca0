//! RFC 3264 offer/answer for faxbridge's two kinds of media: G.711 audio
//! (PCMU/PCMA with RFC 4733 telephone events) and T.38 fax over UDPTL.
//!
//! * [`answer`] answers an offer: it accepts at most one stream, rejects the
//!   others with port 0 in the same position (RFC 3264 §6), and fails with
//!   [`SdpError::NotAcceptable`] (SIP 488) when nothing fits.
//! * [`offer`] builds our offer for audio, T.38 or both; [`process_answer`]
//!   reads the answer to it.
//! * [`LocalSession`] keeps our `o=` line: same session id for the whole
//!   dialog, version +1 whenever what we send changes (RFC 3264 §8), the
//!   same version when a re-INVITE only refreshes the session.
//! * [`classify_remote`] tells a re-INVITE that changes media from one that
//!   only refreshes the session timer.

use std::net::IpAddr;

use super::{
    Attribute, Connection, Direction, MediaDescription, Origin, SdpError, SessionDescription,
    T38Params,
};

/// The G.711 codecs faxbridge sends and receives (RFC 3551 §4.5.14).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// G.711 µ-law, static payload type 0 (North America, Japan).
    Pcmu,
    /// G.711 A-law, static payload type 8 (Europe, rest of world).
    Pcma,
}

impl Codec {
    /// The static payload type.
    pub fn payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
        }
    }

    /// The rtpmap encoding name.
    pub fn name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }

    fn from_rtpmap(map: &super::RtpMap) -> Option<Self> {
        if map.clock_rate != 8000 || map.channels.is_some_and(|c| c != 1) {
            return None;
        }
        [Codec::Pcmu, Codec::Pcma]
            .into_iter()
            .find(|c| map.encoding.eq_ignore_ascii_case(c.name()))
    }
}

/// What we can do with audio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioCaps {
    /// Our RTP port.
    pub port: u16,
    /// Codecs we accept, in the order we offer them.
    pub codecs: Vec<Codec>,
    /// Payload type we offer for telephone-event (e.g. 101); `None` to
    /// neither offer nor accept RFC 4733 events.
    pub telephone_event: Option<u8>,
    /// Packetisation time we ask for, in ms (20 for G.711).
    pub ptime: u32,
}

/// What we can do with T.38.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct T38Caps {
    /// Our UDPTL port.
    pub port: u16,
    /// Our T.38 parameters: highest version, bit rate, receive sizes,
    /// strongest error correction we allow.
    pub params: T38Params,
}

/// Our side of a negotiation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalMediaCaps {
    /// Address written in our `c=` line.
    pub address: IpAddr,
    /// Audio, if this call may use it.
    pub audio: Option<AudioCaps>,
    /// T.38, if this call may use it.
    pub t38: Option<T38Caps>,
    /// When an offer carries both usable audio and T.38, accept T.38 (and
    /// reject the audio stream); otherwise accept the audio.
    pub prefer_t38: bool,
}

/// Which streams our offer carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferKind {
    /// One G.711 audio stream.
    Audio,
    /// One T.38 stream (the usual re-INVITE to fax).
    T38,
    /// Audio first, then T.38, for peers that pick one.
    AudioAndT38,
}

/// The agreed audio stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiatedAudio {
    /// Position of the m-line in the offer and answer.
    pub index: usize,
    /// Where to send RTP: the far end's connection address (an IP address
    /// or, rarely, a host name to resolve).
    pub remote_host: String,
    /// The far end's RTP port.
    pub remote_port: u16,
    /// The codec.
    pub codec: Codec,
    /// The payload type carrying it (the offerer's number).
    pub payload_type: u8,
    /// The payload type for RFC 4733 events, if agreed.
    pub telephone_event: Option<u8>,
    /// The far end's `a=ptime`, if given.
    pub remote_ptime: Option<u32>,
    /// Our direction: `RecvOnly` means the far end holds us (we do not send).
    pub direction: Direction,
}

/// The agreed T.38 stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiatedT38 {
    /// Position of the m-line in the offer and answer.
    pub index: usize,
    /// Where to send UDPTL.
    pub remote_host: String,
    /// The far end's UDPTL port.
    pub remote_port: u16,
    /// The session parameters in force: version, rate management, error
    /// correction and optional features as agreed.
    pub agreed: T38Params,
    /// What the far end announced; its `max_datagram` bounds our datagrams.
    pub remote: T38Params,
    /// Our direction.
    pub direction: Direction,
}

/// The media a completed offer/answer selected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Negotiated {
    /// G.711 audio.
    Audio(NegotiatedAudio),
    /// T.38 over UDPTL.
    T38(NegotiatedT38),
}

/// Our answer to an offer and what it selected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The SDP to send.
    pub sdp: SessionDescription,
    /// The stream to run.
    pub media: Negotiated,
}

/// Our `o=` line across one dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalSession {
    session_id: u64,
    version: u64,
    address: IpAddr,
    last: Option<SessionDescription>,
}

impl LocalSession {
    /// A session with this id (the caller picks it, e.g. from the clock or
    /// a random number) announced from `address`.
    pub fn new(session_id: u64, address: IpAddr) -> Self {
        Self {
            session_id,
            version: session_id,
            address,
            last: None,
        }
    }

    /// The version of the last description sealed.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The last description sealed, to repeat on a refresh.
    pub fn last(&self) -> Option<&SessionDescription> {
        self.last.as_ref()
    }

    /// Wrap media into a description with our origin, bumping the version
    /// only when the content differs from the last one we sent
    /// (RFC 3264 §8: "the version MUST be incremented" on change, and an
    /// unchanged description keeps it).
    pub fn seal(&mut self, media: Vec<MediaDescription>) -> SessionDescription {
        let mut sdp = SessionDescription {
            origin: Origin {
                username: "-".into(),
                session_id: self.session_id.to_string(),
                session_version: self.version,
                net_type: "IN".into(),
                addr_type: if self.address.is_ipv4() { "IP4" } else { "IP6" }.into(),
                address: self.address.to_string(),
            },
            session_name: "faxbridge".into(),
            connection: Some(Connection::for_ip(self.address)),
            attributes: Vec::new(),
            other: vec![('t', "0 0".into())],
            media,
        };
        if let Some(last) = &self.last
            && !last.same_content(&sdp)
        {
            self.version = self.version.wrapping_add(1);
        }
        sdp.origin.session_version = self.version;
        self.last = Some(sdp.clone());
        sdp
    }
}

/// How a description from the far end relates to its previous one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteChange {
    /// The first description of the dialog.
    Initial,
    /// Same content (and normally the same version): a session-timer
    /// refresh; keep media running and answer with our last description.
    Refresh,
    /// Same session, changed media (e.g. the switch to T.38).
    Modified,
    /// A different session id or origin: the far end restarted its session
    /// (or a B2BUA in the path changed); renegotiate from scratch.
    NewSession,
}

/// Compare a new remote description with the previous one of the dialog.
///
/// Equal content counts as a refresh even if the version moved (some
/// equipment bumps it on every re-INVITE), and changed content counts as a
/// change even if the version did not (RFC 3264 §8 forbids that, but being
/// strict here would drop a fax).
pub fn classify_remote(
    previous: Option<&SessionDescription>,
    new: &SessionDescription,
) -> RemoteChange {
    let Some(prev) = previous else {
        return RemoteChange::Initial;
    };
    let (a, b) = (&prev.origin, &new.origin);
    if a.session_id != b.session_id || a.username != b.username || a.address != b.address {
        return RemoteChange::NewSession;
    }
    if prev.same_content(new) {
        RemoteChange::Refresh
    } else {
        RemoteChange::Modified
    }
}

/// Our direction for stream `index` of the far end's description: the
/// reverse of its direction, without sending when its address is 0.0.0.0 or
/// `::` (the RFC 2543 way of putting a call on hold, RFC 3264 §8.4).
fn our_direction(far: &SessionDescription, index: usize, conn: &Connection) -> Direction {
    let d = far.direction(index).reversed();
    if !conn.ip().is_some_and(|ip| ip.is_unspecified()) {
        return d;
    }
    match d {
        Direction::SendRecv | Direction::RecvOnly => Direction::RecvOnly,
        Direction::SendOnly | Direction::Inactive => Direction::Inactive,
    }
}

/// Parse a telephone-event fmtp list (`0-15,16`) into a set; an absent
/// list means 0–15 (RFC 4733 §2.4.1).
fn event_set(fmtp: Option<&str>) -> [bool; 256] {
    let mut set = [false; 256];
    let Some(list) = fmtp else {
        set[..16].iter_mut().for_each(|b| *b = true);
        return set;
    };
    for part in list.split(',') {
        let part = part.trim();
        let (lo, hi) = part.split_once('-').unwrap_or((part, part));
        if let (Ok(lo), Ok(hi)) = (lo.trim().parse::<u8>(), hi.trim().parse::<u8>())
            && lo <= hi
        {
            set[usize::from(lo)..=usize::from(hi)]
                .iter_mut()
                .for_each(|b| *b = true);
        }
    }
    set
}

/// Write a set of events as ranges: `0-15,16` → `0-16`.
fn event_list(set: &[bool; 256]) -> String {
    let mut out = Vec::new();
    let mut i = 0;
    while i < 256 {
        if set[i] {
            let start = i;
            while i + 1 < 256 && set[i + 1] {
                i += 1;
            }
            out.push(if start == i {
                start.to_string()
            } else {
                format!("{start}-{i}")
            });
        }
        i += 1;
    }
    out.join(",")
}

/// Events faxbridge handles: DTMF 0–9 * # A–D (0–15) and flash (16).
const OUR_EVENTS: &str = "0-16";

/// The telephone-event payload type in an RTP media description.
fn telephone_event_pt(m: &MediaDescription) -> Option<u8> {
    m.formats
        .iter()
        .filter_map(|f| f.parse::<u8>().ok())
        .find(|&pt| {
            m.rtpmap(pt).is_some_and(|map| {
                map.encoding.eq_ignore_ascii_case("telephone-event") && map.clock_rate == 8000
            })
        })
}

/// The first G.711 format in a media description, in its order.
fn first_g711(m: &MediaDescription, allowed: &[Codec]) -> Option<(u8, Codec)> {
    m.formats
        .iter()
        .filter_map(|f| f.parse::<u8>().ok())
        .find_map(|pt| {
            let codec = Codec::from_rtpmap(&m.rtpmap(pt)?)?;
            allowed.contains(&codec).then_some((pt, codec))
        })
}

fn audio_media(
    port: u16,
    codecs: &[(u8, Codec)],
    events: Option<(u8, String)>,
    ptime: u32,
    direction: Direction,
) -> MediaDescription {
    let mut formats: Vec<String> = codecs.iter().map(|(pt, _)| pt.to_string()).collect();
    let mut attributes: Vec<Attribute> = codecs
        .iter()
        .map(|(pt, c)| Attribute::value("rtpmap", format!("{pt} {}/8000", c.name())))
        .collect();
    if let Some((pt, list)) = events {
        formats.push(pt.to_string());
        attributes.push(Attribute::value(
            "rtpmap",
            format!("{pt} telephone-event/8000"),
        ));
        attributes.push(Attribute::value("fmtp", format!("{pt} {list}")));
    }
    attributes.push(Attribute::value("ptime", ptime.to_string()));
    attributes.push(Attribute::flag(direction.as_str()));
    let mut m = MediaDescription::new("audio", port, "RTP/AVP", formats);
    m.attributes = attributes;
    m
}

fn image_media(port: u16, params: &T38Params, direction: Option<Direction>) -> MediaDescription {
    let mut m = MediaDescription::new("image", port, "udptl", vec!["t38".into()]);
    m.attributes = params.to_attributes();
    if let Some(d) = direction {
        m.attributes.push(Attribute::flag(d.as_str()));
    }
    m
}

/// A rejected stream in an answer: same media, proto and formats, port 0,
/// nothing else (RFC 3264 §6).
fn rejected(m: &MediaDescription) -> MediaDescription {
    let mut formats = m.formats.clone();
    if formats.is_empty() {
        formats.push("0".into());
    }
    MediaDescription::new(&m.media, 0, &m.proto, formats)
}

/// Answer an offer. At most one stream is accepted: the first usable audio
/// stream or the first usable T.38 stream (by [`LocalMediaCaps::prefer_t38`]
/// when both are usable). The audio codec is the first G.711 in the
/// offerer's order; T.38 parameters follow [`T38Params::answer_to`].
pub fn answer(
    offer: &SessionDescription,
    local: &LocalMediaCaps,
    session: &mut LocalSession,
) -> Result<Answer, SdpError> {
    let mut audio: Option<NegotiatedAudio> = None;
    let mut t38: Option<NegotiatedT38> = None;
    let mut reasons: Vec<String> = Vec::new();

    for (index, m) in offer.media.iter().enumerate() {
        let label = format!(
            "stream {} (m={} {} {})",
            index + 1,
            m.media,
            m.port,
            m.proto
        );
        if m.port == 0 {
            continue;
        }
        let Some(conn) = offer.connection_for(index) else {
            reasons.push(format!("{label} has no connection address"));
            continue;
        };
        if m.is_rtp_audio() {
            let Some(caps) = &local.audio else {
                reasons.push(format!("{label}: audio not allowed on this call"));
                continue;
            };
            if audio.is_some() {
                continue;
            }
            let Some((payload_type, codec)) = first_g711(m, &caps.codecs) else {
                reasons.push(format!("{label} offers no G.711 (PCMU/PCMA) codec"));
                continue;
            };
            let telephone_event = caps.telephone_event.and(telephone_event_pt(m));
            audio = Some(NegotiatedAudio {
                index,
                remote_host: conn.host().to_string(),
                remote_port: m.port,
                codec,
                payload_type,
                telephone_event,
                remote_ptime: m.ptime(),
                direction: our_direction(offer, index, conn),
            });
        } else if m.is_udptl_t38() {
            let Some(caps) = &local.t38 else {
                reasons.push(format!("{label}: T.38 not allowed on this call"));
                continue;
            };
            if t38.is_some() {
                continue;
            }
            let remote = match m.t38_params() {
                Ok(p) => p,
                Err(e) => {
                    reasons.push(format!("{label}: {e}"));
                    continue;
                }
            };
            t38 = Some(NegotiatedT38 {
                index,
                remote_host: conn.host().to_string(),
                remote_port: m.port,
                agreed: T38Params::answer_to(&remote, &caps.params),
                remote,
                direction: our_direction(offer, index, conn),
            });
        } else {
            reasons.push(format!("{label} is not G.711 audio or T.38 over UDPTL"));
        }
    }

    let chosen = match (audio, t38) {
        (Some(_), Some(t)) if local.prefer_t38 => Negotiated::T38(t),
        (Some(a), _) => Negotiated::Audio(a),
        (None, Some(t)) => Negotiated::T38(t),
        (None, None) => {
            if offer.media.is_empty() {
                reasons.push("the offer has no media streams".into());
            } else if reasons.is_empty() {
                reasons.push("every stream is disabled (port 0)".into());
            }
            return Err(SdpError::NotAcceptable(reasons.join("; ")));
        }
    };

    let mut media: Vec<MediaDescription> = offer.media.iter().map(rejected).collect();
    match &chosen {
        Negotiated::Audio(a) => {
            let caps = local.audio.as_ref();
            let offered = &offer.media[a.index];
            let events = a.telephone_event.and_then(|pt| {
                let theirs = event_set(offered.fmtp(pt));
                let ours = event_set(Some(OUR_EVENTS));
                let mut both = [false; 256];
                for i in 0..256 {
                    both[i] = theirs[i] && ours[i];
                }
                let list = event_list(&both);
                (!list.is_empty()).then_some((pt, list))
            });
            let mut chosen_audio = a.clone();
            chosen_audio.telephone_event = events.as_ref().map(|(pt, _)| *pt);
            media[a.index] = audio_media(
                caps.map_or(0, |c| c.port),
                &[(a.payload_type, a.codec)],
                events,
                caps.map_or(20, |c| c.ptime),
                offer.direction(a.index).reversed(),
            );
            let sdp = session.seal(media);
            Ok(Answer {
                sdp,
                media: Negotiated::Audio(chosen_audio),
            })
        }
        Negotiated::T38(t) => {
            let port = local.t38.as_ref().map_or(0, |c| c.port);
            let reversed = offer.direction(t.index).reversed();
            let dir = (reversed != Direction::SendRecv).then_some(reversed);
            media[t.index] = image_media(port, &t.agreed, dir);
            let sdp = session.seal(media);
            Ok(Answer { sdp, media: chosen })
        }
    }
}

/// Build our offer. Errors if `kind` needs capabilities `local` lacks.
pub fn offer(
    local: &LocalMediaCaps,
    kind: OfferKind,
    session: &mut LocalSession,
) -> Result<SessionDescription, SdpError> {
    let mut media = Vec::new();
    if matches!(kind, OfferKind::Audio | OfferKind::AudioAndT38) {
        let caps = local.audio.as_ref().ok_or_else(|| {
            SdpError::NotAcceptable("cannot offer audio: no local audio capabilities".into())
        })?;
        if caps.codecs.is_empty() {
            return Err(SdpError::NotAcceptable(
                "cannot offer audio: the local codec list is empty".into(),
            ));
        }
        if let Some(pt) = caps.telephone_event
            && !(96..=127).contains(&pt)
        {
            return Err(SdpError::NotAcceptable(format!(
                "cannot offer telephone-event on payload type {pt}: use a dynamic type 96..=127 (101 is usual)"
            )));
        }
        let codecs: Vec<(u8, Codec)> = caps.codecs.iter().map(|c| (c.payload_type(), *c)).collect();
        let events = caps.telephone_event.map(|pt| (pt, OUR_EVENTS.to_string()));
        media.push(audio_media(
            caps.port,
            &codecs,
            events,
            caps.ptime,
            Direction::SendRecv,
        ));
    }
    if matches!(kind, OfferKind::T38 | OfferKind::AudioAndT38) {
        let caps = local.t38.as_ref().ok_or_else(|| {
            SdpError::NotAcceptable("cannot offer T.38: no local T.38 capabilities".into())
        })?;
        media.push(image_media(caps.port, &caps.params, None));
    }
    Ok(session.seal(media))
}

/// Read the answer to our offer and return the stream it selected (T.38 if
/// the answerer accepted it, else audio).
pub fn process_answer(
    our_offer: &SessionDescription,
    answer: &SessionDescription,
) -> Result<Negotiated, SdpError> {
    if our_offer.media.len() != answer.media.len() {
        return Err(SdpError::AnswerMismatch(format!(
            "{} m-lines offered, {} answered (RFC 3264 §6 requires the same number)",
            our_offer.media.len(),
            answer.media.len()
        )));
    }
    let mut audio = None;
    let mut t38 = None;
    for (index, (o, a)) in our_offer.media.iter().zip(&answer.media).enumerate() {
        if !o.media.eq_ignore_ascii_case(&a.media) {
            return Err(SdpError::AnswerMismatch(format!(
                "stream {} was offered as {} but answered as {}",
                index + 1,
                o.media,
                a.media
            )));
        }
        if a.port == 0 {
            continue;
        }
        let conn = answer.connection_for(index).ok_or_else(|| {
            SdpError::AnswerMismatch(format!("stream {} has no connection address", index + 1))
        })?;
        if o.is_rtp_audio() && a.is_rtp_audio() {
            let offered: Vec<Codec> = o
                .formats
                .iter()
                .filter_map(|f| f.parse::<u8>().ok())
                .filter_map(|pt| Codec::from_rtpmap(&o.rtpmap(pt)?))
                .collect();
            let (payload_type, codec) = first_g711(a, &offered).ok_or_else(|| {
                SdpError::AnswerMismatch(format!(
                    "stream {} accepts no G.711 codec we offered (formats {})",
                    index + 1,
                    a.formats.join(" ")
                ))
            })?;
            let telephone_event = telephone_event_pt(o).and(telephone_event_pt(a));
            audio.get_or_insert(NegotiatedAudio {
                index,
                remote_host: conn.host().to_string(),
                remote_port: a.port,
                codec,
                payload_type,
                telephone_event,
                remote_ptime: a.ptime(),
                direction: our_direction(answer, index, conn),
            });
        } else if o.is_udptl_t38() && a.is_udptl_t38() {
            let ours = o.t38_params()?;
            let remote = a.t38_params()?;
            // The answer must not exceed the offer; clamp rather than fail.
            let mut agreed = remote.clone();
            agreed.version = remote.version.min(ours.version);
            agreed.fill_bit_removal &= ours.fill_bit_removal;
            agreed.transcoding_mmr &= ours.transcoding_mmr;
            agreed.transcoding_jbig &= ours.transcoding_jbig;
            t38.get_or_insert(NegotiatedT38 {
                index,
                remote_host: conn.host().to_string(),
                remote_port: a.port,
                agreed,
                remote,
                direction: our_direction(answer, index, conn),
            });
        } else {
            return Err(SdpError::AnswerMismatch(format!(
                "stream {} accepted as `{} {}`, which we did not offer",
                index + 1,
                a.media,
                a.proto
            )));
        }
    }
    match (t38, audio) {
        (Some(t), _) => Ok(Negotiated::T38(t)),
        (None, Some(a)) => Ok(Negotiated::Audio(a)),
        (None, None) => Err(SdpError::NotAcceptable(
            "the answer rejected every stream we offered".into(),
        )),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::samples::*;
    use super::super::t38::{RateManagement, UdpEc};
    use super::super::{RtpMap, parse};
    use super::*;

    pub(crate) fn caps() -> LocalMediaCaps {
        LocalMediaCaps {
            address: "192.0.2.200".parse().unwrap(),
            audio: Some(AudioCaps {
                port: 30000,
                codecs: vec![Codec::Pcma, Codec::Pcmu],
                telephone_event: Some(101),
                ptime: 20,
            }),
            t38: Some(T38Caps {
                port: 30002,
                params: T38Params::default(),
            }),
            prefer_t38: true,
        }
    }

    fn session() -> LocalSession {
        LocalSession::new(4000, "192.0.2.200".parse().unwrap())
    }

    fn audio_of(a: &Answer) -> &NegotiatedAudio {
        match &a.media {
            Negotiated::Audio(x) => x,
            other => panic!("expected audio, got {other:?}"),
        }
    }

    fn t38_of(n: &Negotiated) -> &NegotiatedT38 {
        match n {
            Negotiated::T38(x) => x,
            other => panic!("expected T.38, got {other:?}"),
        }
    }

    #[test]
    fn answers_mediatrix_audio_with_pcmu_in_offerers_order() {
        let offer = parse(MEDIATRIX_AUDIO).unwrap();
        let a = answer(&offer, &caps(), &mut session()).unwrap();
        let n = audio_of(&a);
        // Our list prefers PCMA, but the offerer listed PCMU first.
        assert_eq!(n.codec, Codec::Pcmu);
        assert_eq!(n.payload_type, 0);
        assert_eq!(n.telephone_event, Some(101));
        assert_eq!(
            (n.remote_host.as_str(), n.remote_port),
            ("192.0.2.10", 5004)
        );
        assert_eq!(n.remote_ptime, Some(20));
        assert_eq!(n.direction, Direction::SendRecv);
        assert_eq!(
            a.sdp.to_string(),
            crlf(
                "v=0
o=- 4000 4000 IN IP4 192.0.2.200
s=faxbridge
c=IN IP4 192.0.2.200
t=0 0
m=audio 30000 RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=ptime:20
a=sendrecv
"
            )
        );
    }

    #[test]
    fn answers_asterisk_with_pcma_and_flash_event() {
        let a = answer(&parse(ASTERISK_AUDIO).unwrap(), &caps(), &mut session()).unwrap();
        let n = audio_of(&a);
        assert_eq!(n.codec, Codec::Pcma);
        assert_eq!(a.sdp.media[0].fmtp(101), Some("0-16"));
        assert_eq!(a.sdp.media[0].formats, ["8", "101"]);
    }

    #[test]
    fn skips_codecs_we_lack_in_freeswitch_offer() {
        let a = answer(&parse(FREESWITCH_AUDIO).unwrap(), &caps(), &mut session()).unwrap();
        assert_eq!(audio_of(&a).codec, Codec::Pcmu); // after opus and G722
        // Limited to A-law, the same offer gives PCMA.
        let mut only_a = caps();
        only_a.audio.as_mut().unwrap().codecs = vec![Codec::Pcma];
        let a = answer(&parse(FREESWITCH_AUDIO).unwrap(), &only_a, &mut session()).unwrap();
        assert_eq!(audio_of(&a).codec, Codec::Pcma);
        // Without telephone-event support none is answered.
        let mut no_te = caps();
        no_te.audio.as_mut().unwrap().telephone_event = None;
        let a = answer(&parse(FREESWITCH_AUDIO).unwrap(), &no_te, &mut session()).unwrap();
        assert_eq!(audio_of(&a).telephone_event, None);
        assert_eq!(a.sdp.media[0].formats, ["0"]);
    }

    #[test]
    fn dynamic_payload_type_for_g711_is_honoured() {
        let text = "v=0\no=- 1 1 IN IP4 192.0.2.9\ns=-\nc=IN IP4 192.0.2.9\nt=0 0\nm=audio 4000 RTP/AVP 96 97\na=rtpmap:96 opus/48000/2\na=rtpmap:97 pcma/8000\n";
        let a = answer(&parse(text).unwrap(), &caps(), &mut session()).unwrap();
        assert_eq!(audio_of(&a).payload_type, 97);
        assert_eq!(audio_of(&a).codec, Codec::Pcma);
        assert_eq!(
            a.sdp.media[0].rtpmap(97),
            Some(RtpMap {
                payload_type: 97,
                encoding: "PCMA".into(),
                clock_rate: 8000,
                channels: None
            })
        );
    }

    #[test]
    fn answers_mediatrix_t38_reinvite() {
        let offer = parse(MEDIATRIX_T38_REINVITE).unwrap();
        let a = answer(&offer, &caps(), &mut session()).unwrap();
        let t = t38_of(&a.media);
        assert_eq!(
            (t.remote_host.as_str(), t.remote_port),
            ("192.0.2.10", 5006)
        );
        assert_eq!(t.remote.max_datagram, Some(180));
        assert!(!t.remote.fill_bit_removal);
        assert_eq!(
            t.agreed.rate_management,
            Some(RateManagement::TransferredTcf)
        );
        assert_eq!(t.agreed.udp_ec, Some(UdpEc::Redundancy));
        assert_eq!(
            a.sdp.to_string(),
            crlf(
                "v=0
o=- 4000 4000 IN IP4 192.0.2.200
s=faxbridge
c=IN IP4 192.0.2.200
t=0 0
m=image 30002 udptl t38
a=T38FaxVersion:0
a=T38MaxBitRate:14400
a=T38FaxRateManagement:transferredTCF
a=T38FaxMaxBuffer:2000
a=T38FaxMaxDatagram:400
a=T38FaxUdpEC:t38UDPRedundancy
"
            )
        );
    }

    #[test]
    fn t38_version_is_the_lower_and_rate_management_is_copied() {
        let text = crlf(CISCO_T38)
            .replace("T38FaxVersion:0", "T38FaxVersion:3")
            .replace("transferredTCF", "localTCF")
            .replace("T38MaxBitRate:14400", "T38MaxBitRate:33600");
        let mut ours = caps();
        ours.t38.as_mut().unwrap().params.version = 2;
        let a = answer(&parse(&text).unwrap(), &ours, &mut session()).unwrap();
        let t = t38_of(&a.media);
        assert_eq!(t.agreed.version, 2);
        assert_eq!(t.agreed.max_bit_rate, Some(14400));
        assert_eq!(t.agreed.rate_management, Some(RateManagement::LocalTcf));
        let m = &a.sdp.media[0];
        assert_eq!(
            m.attribute("T38FaxVersion").unwrap().value.as_deref(),
            Some("2")
        );
        assert_eq!(
            m.attribute("T38FaxRateManagement")
                .unwrap()
                .value
                .as_deref(),
            Some("localTCF")
        );
        assert_eq!(t.remote_host, "192.0.2.50"); // media-level c=
    }

    #[test]
    fn offer_with_both_streams_accepts_one_and_rejects_the_other_in_place() {
        let offer = parse(FREESWITCH_AUDIO_AND_T38).unwrap();
        let a = answer(&offer, &caps(), &mut session()).unwrap();
        assert_eq!(t38_of(&a.media).index, 1);
        assert_eq!(a.sdp.media.len(), 2);
        assert_eq!(a.sdp.media[0].port, 0);
        assert_eq!(a.sdp.media[0].media, "audio");
        assert_eq!(a.sdp.media[0].formats, ["0", "8", "101"]);
        assert!(a.sdp.media[0].attributes.is_empty());
        assert_eq!(a.sdp.media[1].port, 30002);

        let mut audio_first = caps();
        audio_first.prefer_t38 = false;
        let a = answer(&offer, &audio_first, &mut session()).unwrap();
        assert_eq!(audio_of(&a).index, 0);
        assert_eq!(a.sdp.media[1].port, 0);
        assert_eq!(a.sdp.media[1].proto, "udptl");
        assert!(a.sdp.to_string().contains("\r\nm=image 0 udptl t38\r\n"));
    }

    #[test]
    fn rfc3264_offer_gets_audio_and_rejected_video() {
        let offer = parse(RFC3264_OFFER).unwrap();
        let a = answer(&offer, &caps(), &mut session()).unwrap();
        let n = audio_of(&a);
        assert_eq!(n.codec, Codec::Pcmu);
        assert_eq!(n.remote_host, "host.atlanta.example.com");
        assert_eq!(n.telephone_event, None);
        assert!(
            a.sdp
                .to_string()
                .contains("\r\nm=video 0 RTP/AVP 31 32\r\n")
        );
    }

    #[test]
    fn nothing_acceptable_is_a_488() {
        let e = answer(&parse(CISCO_G729_ONLY).unwrap(), &caps(), &mut session()).unwrap_err();
        assert!(matches!(e, SdpError::NotAcceptable(_)));
        assert_eq!(e.sip_status(), 488);
        assert!(e.to_string().contains("no G.711"), "{e}");
        // T.38 offered on an audio-only call.
        let mut audio_only = caps();
        audio_only.t38 = None;
        let e = answer(&parse(ASTERISK_T38).unwrap(), &audio_only, &mut session()).unwrap_err();
        assert!(e.to_string().contains("T.38 not allowed"), "{e}");
        // A broken T.38 attribute.
        let bad = crlf(ASTERISK_T38).replace("T38FaxVersion:0", "T38FaxVersion:9");
        let e = answer(&parse(&bad).unwrap(), &caps(), &mut session()).unwrap_err();
        assert!(e.to_string().contains("T38FaxVersion"), "{e}");
        // T.38 over RTP and every stream disabled.
        let rtp_t38 = "v=0\no=- 1 1 IN IP4 192.0.2.9\ns=-\nc=IN IP4 192.0.2.9\nt=0 0\nm=image 4000 RTP/AVP 96\na=rtpmap:96 t38/8000\nm=audio 0 RTP/AVP 0\n";
        let e = answer(&parse(rtp_t38).unwrap(), &caps(), &mut session()).unwrap_err();
        assert!(e.to_string().contains("not G.711 audio or T.38"), "{e}");
        let off = "v=0\no=- 1 1 IN IP4 192.0.2.9\ns=-\nt=0 0\nm=audio 0 RTP/AVP 0\n";
        let e = answer(&parse(off).unwrap(), &caps(), &mut session()).unwrap_err();
        assert!(e.to_string().contains("disabled"), "{e}");
        let none = "v=0\no=- 1 1 IN IP4 192.0.2.9\ns=-\nt=0 0\n";
        assert!(answer(&parse(none).unwrap(), &caps(), &mut session()).is_err());
    }

    #[test]
    fn hold_offers_are_answered_with_the_reverse_direction() {
        let text = crlf(ASTERISK_AUDIO).replace("a=sendrecv", "a=sendonly");
        let a = answer(&parse(&text).unwrap(), &caps(), &mut session()).unwrap();
        assert_eq!(audio_of(&a).direction, Direction::RecvOnly);
        assert_eq!(a.sdp.direction(0), Direction::RecvOnly);
        // Old-style hold: c=0.0.0.0 with sendrecv. The answer stays
        // sendrecv, but we must not send.
        let text = crlf(ASTERISK_AUDIO).replace("c=IN IP4 198.51.100.5", "c=IN IP4 0.0.0.0");
        let a = answer(&parse(&text).unwrap(), &caps(), &mut session()).unwrap();
        assert_eq!(audio_of(&a).direction, Direction::RecvOnly);
        assert_eq!(a.sdp.direction(0), Direction::SendRecv);
        let text = crlf(ASTERISK_AUDIO).replace("a=sendrecv", "a=inactive");
        let a = answer(&parse(&text).unwrap(), &caps(), &mut session()).unwrap();
        assert_eq!(a.sdp.direction(0), Direction::Inactive);
        let text = crlf(ASTERISK_T38)
            .replace("t38UDPRedundancy\r\n", "t38UDPRedundancy\r\na=recvonly\r\n");
        let a = answer(&parse(&text).unwrap(), &caps(), &mut session()).unwrap();
        assert_eq!(a.sdp.direction(0), Direction::SendOnly);
    }

    #[test]
    fn builds_offers() {
        let mut s = session();
        let audio = offer(&caps(), OfferKind::Audio, &mut s).unwrap();
        assert_eq!(
            audio.to_string(),
            crlf(
                "v=0
o=- 4000 4000 IN IP4 192.0.2.200
s=faxbridge
c=IN IP4 192.0.2.200
t=0 0
m=audio 30000 RTP/AVP 8 0 101
a=rtpmap:8 PCMA/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=ptime:20
a=sendrecv
"
            )
        );
        // Re-INVITE to T.38: same session id, version + 1.
        let t38 = offer(&caps(), OfferKind::T38, &mut s).unwrap();
        assert_eq!(t38.origin.session_id, "4000");
        assert_eq!(t38.origin.session_version, 4001);
        assert!(t38.media[0].is_udptl_t38());
        assert_eq!(t38.media[0].t38_params().unwrap(), T38Params::default());
        // A refresh with nothing changed keeps the version.
        let again = offer(&caps(), OfferKind::T38, &mut s).unwrap();
        assert_eq!(again.origin.session_version, 4001);
        assert_eq!(again, t38);
        let both = offer(&caps(), OfferKind::AudioAndT38, &mut s).unwrap();
        assert_eq!(both.origin.session_version, 4002);
        assert_eq!(both.media.len(), 2);
        assert!(both.media[0].is_rtp_audio() && both.media[1].is_udptl_t38());
        let mut none = caps();
        none.t38 = None;
        assert!(offer(&none, OfferKind::T38, &mut s).is_err());
        none.audio.as_mut().unwrap().telephone_event = Some(8);
        let e = offer(&none, OfferKind::Audio, &mut s).unwrap_err();
        assert!(e.to_string().contains("96..=127"), "{e}");
        none.audio.as_mut().unwrap().codecs.clear();
        assert!(offer(&none, OfferKind::Audio, &mut s).is_err());
    }

    #[test]
    fn processes_answers_to_our_offers() {
        let mut s = session();
        let ours = offer(&caps(), OfferKind::T38, &mut s).unwrap();
        // Mediatrix accepts our T.38 re-INVITE.
        let n = process_answer(&ours, &parse(MEDIATRIX_T38_REINVITE).unwrap()).unwrap();
        let t = t38_of(&n);
        assert_eq!(t.remote_port, 5006);
        assert_eq!(t.remote.max_datagram, Some(180));
        // An answer claiming a higher version is clamped to what we offered.
        let v3 = crlf(MEDIATRIX_T38_REINVITE).replace("T38FaxVersion:0", "T38FaxVersion:3");
        let n = process_answer(&ours, &parse(&v3).unwrap()).unwrap();
        assert_eq!(t38_of(&n).agreed.version, 0);
        // Rejected T.38 (port 0) is a NotAcceptable the SIP layer falls back on.
        let rejected = crlf(MEDIATRIX_T38_REINVITE).replace("m=image 5006", "m=image 0");
        let e = process_answer(&ours, &parse(&rejected).unwrap()).unwrap_err();
        assert!(matches!(e, SdpError::NotAcceptable(_)));
        // Audio offer answered by Asterisk with PCMA.
        let ours = offer(&caps(), OfferKind::Audio, &mut s).unwrap();
        let n = process_answer(&ours, &parse(ASTERISK_AUDIO).unwrap()).unwrap();
        let Negotiated::Audio(a) = n else { panic!() };
        assert_eq!(
            (a.codec, a.payload_type, a.telephone_event),
            (Codec::Pcma, 8, Some(101))
        );
        assert_eq!(a.remote_port, 17412);
        // Wrong number of m-lines, wrong media type, codec not offered.
        let e = process_answer(&ours, &parse(FREESWITCH_AUDIO_AND_T38).unwrap()).unwrap_err();
        assert!(e.to_string().contains("m-lines"), "{e}");
        let e = process_answer(&ours, &parse(ASTERISK_T38).unwrap()).unwrap_err();
        assert!(e.to_string().contains("answered as image"), "{e}");
        let e = process_answer(&ours, &parse(CISCO_G729_ONLY).unwrap()).unwrap_err();
        assert!(e.to_string().contains("no G.711"), "{e}");
        // Both offered, both accepted: T.38 wins.
        let both = offer(&caps(), OfferKind::AudioAndT38, &mut s).unwrap();
        let n = process_answer(&both, &parse(FREESWITCH_AUDIO_AND_T38).unwrap()).unwrap();
        assert_eq!(t38_of(&n).index, 1);
    }

    #[test]
    fn answering_the_same_offer_twice_keeps_the_version() {
        let mut s = session();
        let offer = parse(MEDIATRIX_AUDIO).unwrap();
        let first = answer(&offer, &caps(), &mut s).unwrap();
        let second = answer(&offer, &caps(), &mut s).unwrap();
        assert_eq!(first.sdp, second.sdp);
        let t38 = answer(&parse(MEDIATRIX_T38_REINVITE).unwrap(), &caps(), &mut s).unwrap();
        assert_eq!(
            t38.sdp.origin.session_version,
            first.sdp.origin.session_version + 1
        );
        assert_eq!(s.last(), Some(&t38.sdp));
        assert_eq!(s.version(), 4001);
    }

    #[test]
    fn classifies_remote_descriptions() {
        let audio = parse(MEDIATRIX_AUDIO).unwrap();
        let t38 = parse(MEDIATRIX_T38_REINVITE).unwrap();
        assert_eq!(classify_remote(None, &audio), RemoteChange::Initial);
        assert_eq!(classify_remote(Some(&audio), &audio), RemoteChange::Refresh);
        assert_eq!(classify_remote(Some(&audio), &t38), RemoteChange::Modified);
        // Session-timer refresh keeping the image m-line with a bumped version.
        let mut bumped = t38.clone();
        bumped.origin.session_version += 1;
        assert_eq!(classify_remote(Some(&t38), &bumped), RemoteChange::Refresh);
        let mut other = t38.clone();
        other.origin.session_id = "99".into();
        assert_eq!(
            classify_remote(Some(&t38), &other),
            RemoteChange::NewSession
        );
    }

    #[test]
    fn event_lists() {
        assert_eq!(event_list(&event_set(Some("0-15,16"))), "0-16");
        assert_eq!(event_list(&event_set(None)), "0-15");
        assert_eq!(
            event_list(&event_set(Some("0-11, 32, 36-36, x, 9-2"))),
            "0-11,32,36"
        );
        assert_eq!(event_list(&event_set(Some("0-255"))).as_str(), "0-255");
        assert_eq!(event_list(&[false; 256]), "");
    }
}
