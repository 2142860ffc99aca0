//! Entry points for the fuzz targets (`fuzz/`) and their corpus replay
//! (`tests/fuzz_corpus.rs`): every parser that takes bytes from outside,
//! each behind one `fn(&[u8])` that must never panic, hang or allocate
//! without bound, whatever the bytes.
//!
//! Each function drives the same code the daemon runs on those bytes, with
//! the limits the daemon sets, and no sockets, files or tasks. Inputs that
//! need several datagrams or settings frame them as [`frames`] describes.
//! Not part of the library's interface.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use rsipstack::sip::{
    Header, Request, SipMessage,
    prelude::{HeadersExt, ToTypedHeader},
};

use crate::config::Config;
use crate::docs::render::{InputKind, RenderOptions, detect, render_bytes};
use crate::docs::{Paper, Resolution};
use crate::media::rtp::{self, RtpHeader, TelephoneEvent};
use crate::media::rtp_stream::PlayoutBuffer;
use crate::media::t38_stream::{ifp_encoded_len, trim_fec_padding};
use crate::media::udptl::{ErrorCorrection, RxEvent, UdptlDecoder, UdptlEncoder};
use crate::numbering::policy::{LocalTime, Weekday};
use crate::routing::{CallRequest, Router};
use crate::sdp::negotiate::{
    AudioCaps, Codec, LocalMediaCaps, LocalSession, OfferKind, T38Caps, answer, classify_remote,
    offer, process_answer,
};
use crate::sdp::{SessionDescription, T38Params};
use crate::sip::acl::{Acl, AuthAttempt, DigestState};
use crate::sip::digest::{Credentials, NonceCounts, NonceIssuer};
use crate::smtp::Refusal;
use crate::smtp::protocol::{Event, ProtocolConfig, Session};

/// Splits `data` into frames of at most 65535 bytes, each preceded by its
/// length as two big-endian bytes; a last frame whose length runs past the
/// end is cut short. The targets that take several datagrams read them so.
pub fn frames(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while rest.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        let end = (2 + len).min(rest.len());
        out.push(&rest[2..end]);
        rest = &rest[end..];
    }
    out
}

/// Frames `parts` as [`frames`] reads them (for seeding corpora).
pub fn frame(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in parts {
        let len = u16::try_from(p.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&p[..usize::from(len)]);
    }
    out
}

/// A small deterministic generator for the decisions a target must take
/// (accept or refuse a sender, and so on), seeded from the input.
struct Choices(u64);

impl Choices {
    fn new(seed: u8) -> Self {
        Choices(u64::from(seed).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn chance(&mut self, in_four: u64) -> bool {
        self.next() % 4 < in_four
    }
}

/// The site the SIP target judges requests for: peers, a digest account,
/// ATA units with fax and payment ports, a bridge line, fax routes, a trunk.
const SITE: &str = r#"
[sip]
listen = "127.0.0.1:5060"
[[sip.peers]]
name = "ata"
addresses = ["192.0.2.0/28"]
[[sip.peers]]
name = "trunk"
addresses = ["198.51.100.7/32"]
[sip.auth]
accounts = [{ username = "roamer", password = "s3cret", sources = ["203.0.113.0/24"] }]
[sip.routing]
routes = [{ did = "100", route = "lab" }]
default_route = "lab"

[routes.lab]
mailboxes = ["lab@example.org"]

[outgoing]
uri = "sip:{number}@198.51.100.7:5060"

[[ata.buildings]]
name = "Lab"
subnets = ["192.0.2.0/24"]
emergency_cli = "+441632960999"

[[ata.units]]
name = "lab-ata"
address = "192.0.2.1"
model = "Mediatrix 4102"
building = "Lab"

[[ata.ports]]
unit = "lab-ata"
number = 1
sip_user = "2001"
role = "fax"
owner = "Physics"

[[ata.ports]]
unit = "lab-ata"
number = 2
sip_user = "3001"
role = "pdq"
owner = "Tills"
takes_payments = true

[[bridge.lines]]
unit = "lab-ata"
port = 1
number = "+441632960201"
"#;

struct Site {
    acl: Acl,
    router: Router,
    nonces: NonceIssuer,
}

fn site() -> &'static Site {
    static SITE_CELL: OnceLock<Site> = OnceLock::new();
    SITE_CELL.get_or_init(|| {
        let config = Config::parse(SITE).expect("the fuzzing site parses");
        if let Err(problems) = config.validate() {
            panic!("the fuzzing site is invalid: {problems:?}");
        }
        Site {
            acl: config.sip.acl().expect("the fuzzing site's ACL"),
            router: Router::new(
                config.ata.inventory(),
                config.intake.dialplan.clone(),
                config.bridge.clone(),
                &config.sip.routing.routes,
                config.sip.routing.default_route.clone(),
                &config.outgoing.uri,
                &config.outgoing.emergency_uris,
            ),
            nonces: NonceIssuer::new([7; 32], 300),
        }
    })
}

/// Sources a request is judged from: a unit, a peer, a roaming account's
/// network, and a stranger.
const SOURCES: [IpAddr; 4] = [
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
    IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7)),
    IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9)),
    IpAddr::V4(Ipv4Addr::new(8, 8, 8, 8)),
];

/// One SIP datagram: the wire screening (400 or drop for what the stack
/// must not see), then for a request what the endpoint decides from it
/// without sockets: admission (ACL and digest), the router's decision for
/// an INVITE, the offer check, session timer and identity headers, the
/// Contact list of a REGISTER and the 400 it may answer.
pub fn sip(data: &[u8]) {
    let _ = crate::sip::wire::screen_datagram(data, "fuzztag");
    let _ = crate::sip::wire::bad_request(data, "fuzzing", "fuzztag");
    // The same bytes as a TCP stream: what is decided must not depend on
    // how the reads cut the stream.
    let stride = usize::from(data.first().copied().unwrap_or(1)).max(1);
    assert_eq!(
        stream_decisions(data, data.len().max(1)),
        stream_decisions(data, stride),
        "read in pieces of {stride} bytes"
    );
    if let Ok(SipMessage::Request(req)) = SipMessage::try_from(data) {
        sip_request(&req, data.first().copied().unwrap_or(0));
    }
}

/// Everything a [`crate::sip::wire::StreamScreen`] decides on `data` read
/// `stride` bytes at a time: the bytes handed on, in one piece, and the
/// other decisions in order.
fn stream_decisions(data: &[u8], stride: usize) -> (Vec<u8>, Vec<String>) {
    use crate::sip::wire::{StreamPiece, StreamScreen};
    let mut screen = StreamScreen::new();
    let (mut forwarded, mut others) = (Vec::new(), Vec::new());
    for chunk in data.chunks(stride) {
        screen.push(chunk);
        while let Some(piece) = screen.next_piece("fuzztag") {
            match piece {
                StreamPiece::Forward(bytes) => {
                    assert!(!bytes.is_empty(), "an empty piece handed on");
                    forwarded.extend_from_slice(&bytes);
                }
                other => others.push(format!("{other:?}")),
            }
        }
    }
    assert!(forwarded.len() + screen.pending() <= data.len());
    (forwarded, others)
}

fn sip_request(req: &Request, seed: u8) {
    let site = site();
    let _ = crate::sip::wire::validate_request(req);
    let source = SOURCES[usize::from(seed) % SOURCES.len()];
    let credentials = req
        .header_value("Authorization")
        .and_then(|v| Credentials::parse(&v).ok());
    let method = req.method.to_string();
    let request_uri = req.uri.to_string();
    let mut counts = NonceCounts::new(16);
    let verdict = site.acl.judge(
        source,
        AuthAttempt {
            method: &method,
            request_uri: &request_uri,
            credentials: credentials.as_ref(),
        },
        DigestState {
            realm: "faxbridge",
            nonces: &site.nonces,
            counts: &mut counts,
            now_secs: 1_700_000_000,
        },
    );
    let peer = match &verdict {
        crate::sip::acl::Verdict::Admit(a) => Some(a.name().to_string()),
        _ => None,
    };
    let to_uri = req.to_header().ok().and_then(|t| t.uri().ok());
    let did =
        crate::routing::did::called_number(req.uri.user(), to_uri.as_ref().and_then(|u| u.user()));
    let from_user = req
        .from_header()
        .ok()
        .and_then(|f| f.uri().ok())
        .and_then(|u| u.user().map(str::to_string))
        .unwrap_or_default();
    let _ = site.router.decide(&CallRequest {
        source,
        peer: peer.as_deref(),
        from_user: &from_user,
        called: did.as_deref().unwrap_or(""),
        now: LocalTime {
            weekday: Weekday::from_monday(seed % 7),
            minute: u16::from(seed) * 5,
        },
    });
    let content_type = req.header_value("Content-Type");
    let _ = crate::sip::offer::inspect_offer(content_type.as_deref(), &req.body);
    let session_expires = crate::sip::call::session_expires_for(req);
    let _ = crate::sip::policy::session_expires_answer(session_expires.as_deref(), seed & 1 == 1);
    let _ = crate::sip::policy::refresh_interval_as_uac(session_expires.as_deref());
    let _ = crate::sip::policy::is_unchanged_offer(&req.body, &req.body);
    let _ = crate::sip::call::identity_headers(req);
    let contacts: Vec<String> = req
        .headers
        .iter()
        .filter_map(|h| match h {
            Header::Contact(c) => Some(c.value().to_string()),
            _ => None,
        })
        .collect();
    let _ = crate::sip::registrar::parse_contacts(&contacts);
    if let Ok(via) = req.via_header() {
        let _ = via.typed();
    }
}

/// Our media capabilities as a call of the daemon has them.
fn caps(prefer_t38: bool) -> LocalMediaCaps {
    LocalMediaCaps {
        address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 200)),
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
        prefer_t38,
    }
}

/// One SDP body as an offer and as an answer: parse, write back and read
/// again (what we write we must read), answer it, take it as the answer to
/// our offers, and compare it with itself as a later description.
pub fn sdp(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(sd) = crate::sdp::parse(text) else {
        return;
    };
    let written = sd.to_string();
    let again: SessionDescription = crate::sdp::parse(&written)
        .unwrap_or_else(|e| panic!("our own SDP does not parse: {e}\n{written}"));
    let _ = classify_remote(Some(&sd), &again);
    for m in &sd.media {
        let _ = m.t38_params();
        let _ = m.ptime();
        let _ = m.direction_attribute();
        for f in &m.formats {
            if let Ok(pt) = f.parse::<u8>() {
                let _ = m.rtpmap(pt);
                let _ = m.fmtp(pt);
            }
        }
    }
    for prefer_t38 in [false, true] {
        let mut session = LocalSession::new(4000, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 200)));
        if let Ok(a) = answer(&sd, &caps(prefer_t38), &mut session) {
            let text = a.sdp.to_string();
            crate::sdp::parse(&text)
                .unwrap_or_else(|e| panic!("our answer does not parse: {e}\n{text}"));
        }
    }
    for kind in [OfferKind::Audio, OfferKind::T38, OfferKind::AudioAndT38] {
        let mut session = LocalSession::new(4000, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 200)));
        if let Ok(ours) = offer(&caps(false), kind, &mut session) {
            let _ = process_answer(&ours, &sd);
        }
    }
}

/// RTP packets: the header parser, a telephone-event payload, writing the
/// packet back, and the playout buffer fed with the packets in input order.
pub fn rtp(data: &[u8]) {
    let mut playout = PlayoutBuffer::new(480);
    for packet in frames(data) {
        let Ok(p) = rtp::parse(packet) else {
            continue;
        };
        if let Ok(ev) = TelephoneEvent::parse(p.payload) {
            let _ = ev.dtmf_char();
            assert_eq!(TelephoneEvent::parse(&ev.to_bytes()), Ok(ev));
        }
        let header = RtpHeader::new(
            p.header.payload_type,
            p.header.sequence,
            p.header.timestamp,
            p.header.ssrc,
        );
        let _ = rtp::build(&header, p.payload, 0);
        playout.push(p.header.timestamp, p.payload);
        let _ = playout.pull(160);
    }
    let _ = playout.pull(8000);
}

/// UDPTL datagrams into a decoder (redundancy and FEC recovery, reordering
/// and loss), the IFPs it delivers through the T.38 length check, and the
/// first frame's bytes as IFPs through an encoder of each error-correction
/// scheme and back through a decoder.
///
/// The first byte picks the decoder's hold-back and the encoder's scheme.
pub fn udptl(data: &[u8]) {
    let Some((&setup, rest)) = data.split_first() else {
        return;
    };
    let mut decoder = UdptlDecoder::new(u16::from(setup & 0x0f));
    let deliver = |events: Vec<RxEvent>| {
        for e in events {
            if let RxEvent::Ifp { data, .. } = e {
                for version in 0..=3 {
                    let _ = ifp_encoded_len(&data, version);
                    let _ = trim_fec_padding(&data, version);
                }
            }
        }
    };
    let datagrams = frames(rest);
    for d in &datagrams {
        if let Ok(events) = decoder.receive(d) {
            deliver(events);
        }
    }
    deliver(decoder.flush());
    let _ = decoder.stats();

    let ec = match setup >> 6 {
        0 => ErrorCorrection::None,
        1 => ErrorCorrection::Redundancy {
            depth: (setup >> 4 & 3) * 5,
        },
        _ => ErrorCorrection::Fec {
            span: (setup & 0x0f),
            entries: (setup >> 4 & 3) + 1,
        },
    };
    if let Ok(mut encoder) = UdptlEncoder::new(ec, 1400) {
        let mut back = UdptlDecoder::new(0);
        for ifp in datagrams.iter().take(64) {
            if let Ok(d) = encoder.encode(ifp) {
                let _ = back.receive(&d);
            }
        }
        let _ = back.flush();
    }
}

/// One SMTP session fed the input in pieces: the first byte sets the
/// session (STARTTLS, AUTH, plain AUTH, trusted relay) and seeds the
/// handler's answers, the second sets the size of the pieces; every event
/// is answered as the listener would, until the session waits or closes.
pub fn smtp(data: &[u8]) {
    let [setup, piece, rest @ ..] = data else {
        return;
    };
    let cfg = ProtocolConfig {
        hostname: "fax.example.org".into(),
        max_message_bytes: 64 * 1024,
        max_recipients: 5,
        max_errors: 10,
        tls_available: setup & 1 != 0,
        require_tls: setup & 2 != 0,
        auth_available: setup & 4 != 0,
        allow_plain_auth: setup & 8 != 0,
        max_sender_refusals: 3,
    };
    let peer = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 9)), 40000);
    let mut s = Session::new(cfg, peer);
    if setup & 16 != 0 {
        s.set_trusted();
    }
    let mut choices = Choices::new(*setup);
    let refusal = || Refusal::new(550, "5.7.1", "Refused by the fuzz handler", "");
    let size = usize::from(*piece).max(1);
    let mut pieces = rest.chunks(size);
    let mut polls = 0usize;
    loop {
        polls += 1;
        assert!(polls < 1_000_000, "the SMTP session does not settle");
        match s.poll() {
            Event::NeedInput => {
                let _ = s.take_output();
                let _ = s.is_idle();
                let _ = s.waiting();
                match pieces.next() {
                    Some(p) => s.feed(p),
                    None => break,
                }
            }
            Event::CheckSender { .. } => {
                if choices.chance(3) {
                    s.sender_checked(Ok(()));
                } else {
                    s.sender_checked(Err(refusal()));
                }
            }
            Event::CheckRecipient { .. } => {
                if choices.chance(3) {
                    s.recipient_checked(Ok(()));
                } else {
                    s.recipient_checked(Err(refusal()));
                }
            }
            Event::Deliver { data, .. } => {
                // Delivered data has CRLF line ends only and no NUL: the
                // rest was refused (no smuggled line ends get through).
                let mut prev = 0u8;
                for (i, &b) in data.iter().enumerate() {
                    assert!(b != 0, "NUL delivered");
                    assert!(b != b'\n' || prev == b'\r', "bare LF delivered");
                    assert!(prev != b'\r' || b == b'\n', "bare CR delivered at {i}");
                    prev = b;
                }
                assert!(prev != b'\r', "bare CR delivered at the end");
                let info = s.info();
                let _ = crate::smtp::protocol::received_header(
                    "fax.example.org",
                    &info.helo,
                    info.peer,
                    s.protocol(),
                    "fuzz",
                    &[],
                    SystemTime::UNIX_EPOCH,
                );
                if choices.chance(3) {
                    s.message_done(Ok(data.len() % 3));
                } else {
                    s.message_done(Err(refusal()));
                }
            }
            Event::Authenticate { .. } => match choices.next() % 3 {
                0 => s.auth_checked(true),
                1 => s.auth_checked(false),
                _ => s.auth_locked(Duration::from_secs(choices.next() % 600)),
            },
            Event::StartTls => s.tls_started(),
            Event::Close => break,
        }
    }
    if choices.chance(1) {
        s.timed_out();
    } else {
        s.shutting_down();
    }
    let _ = s.take_output();
}

/// One email as the intake reads it: MIME parsing (mail-parser), the
/// refusal of damaged MIME, part selection, the cover page and the texts
/// the card-number guard reads.
pub fn mime(data: &[u8]) {
    let cfg = crate::intake::message::MessageConfig::default();
    if let Ok(a) = crate::intake::pipeline::analyse(data, "sender@example.org", &cfg) {
        let _ = a.texts();
        let _ = a.plan.cover("+44 1632 960201", Some("+441632960201"));
    }
}

/// A TIFF file as fax reception and `convert to-pdf` read it: the page
/// directory, each page's strips decoded, and the pages carried into a PDF.
pub fn tiff(data: &[u8]) {
    let Ok(pages) = crate::docs::tiff::parse_tiff(data) else {
        return;
    };
    for (i, p) in pages.iter().enumerate().take(8) {
        let _ = p.decode(i + 1);
    }
    let _ = crate::docs::pdf::tiff_to_pdf_bytes(&pages);
}

/// The render options the document targets use: the daemon's limits, a
/// shorter clock and fewer pages (a fuzzer needs many runs a second).
pub fn render_options() -> RenderOptions {
    RenderOptions {
        resolution: Resolution::Standard,
        paper: Paper::A4,
        max_pages: 3,
        max_input_bytes: 1 << 20,
        max_pixels: 4_000_000,
        render_timeout: Some(Duration::from_secs(5)),
        max_decompressed_stream_bytes: 8 << 20,
        max_decompressed_bytes: 16 << 20,
        max_operators_per_page: 100_000,
        ..RenderOptions::default()
    }
}

/// A PDF attachment: the text the card-number guard reads, then rendering
/// to fax pages, with [`render_options`]' limits. Input that is not a PDF
/// is left alone (the image and text paths are fuzzed elsewhere).
pub fn pdf(data: &[u8]) {
    if detect(data) != Some(InputKind::Pdf) {
        return;
    }
    let opts = render_options();
    let _ = crate::docs::pdf_text(data, "fuzz.pdf", &opts);
    let _ = render_bytes(data.to_vec(), "fuzz.pdf", &opts, 0);
}

/// SNMP responses of one poll: each frame is one response datagram
/// (SNMPv1/v2c), read as the poller reads it; the first two answer the
/// GETs of the system group and the scalars, the rest are GETBULK answers
/// walking the firmware, line and registration tables in turn; then the
/// reading is judged against the previous one.
pub fn snmp(data: &[u8]) {
    use crate::ata::poller::{reading_from, varbinds_of, walk_batch, walk_tables};
    use crate::ata::status::{Expectations, Snapshot, assess};
    let mut answers = frames(data)
        .into_iter()
        .map(|d| match snmp2::Pdu::from_bytes(d) {
            Ok(pdu) => varbinds_of(pdu),
            Err(_) => Vec::new(),
        });
    let system = answers.next().unwrap_or_default();
    let scalars = answers.next().unwrap_or_default();
    let mut walked: Vec<Vec<_>> = Vec::new();
    for table in walk_tables() {
        let mut cursor = table.clone();
        let mut rows = Vec::new();
        // An empty batch ends a walk, so this ends with the input.
        while let Ok(false) = walk_batch(
            &table,
            &mut cursor,
            answers.next().unwrap_or_default(),
            &mut rows,
        ) {}
        walked.push(rows);
    }
    let [firmware, lines, registrations] = <[Vec<_>; 3]>::try_from(walked).expect("three tables");
    let reading = reading_from(&system, &scalars, &firmware, &lines, &registrations)
        .ok_or_else(|| "no sysUpTime".to_string());
    let expect = Expectations {
        firmware: Some("48.0.1234".into()),
        lines: vec!["Port1".into(), "Port2".into()],
        upgrade_window_ms: 600_000,
    };
    let first = Snapshot {
        unit: "ata1".into(),
        at: 1_000_000,
        result: reading.clone(),
    };
    let (status, _) = assess(None, &first, &expect);
    let later = Snapshot {
        unit: "ata1".into(),
        at: 1_060_000,
        result: reading,
    };
    let _ = assess(Some(&status), &later, &expect);
}

/// A configuration file as `check-config` reads it: TOML, every section's
/// validation, the warnings, and what the daemon derives from it.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(config) = Config::parse(text) else {
        return;
    };
    if config.validate().is_err() {
        return;
    }
    let _ = config.warnings();
    let _ = config.summary();
    let _ = config.sip.acl();
    let _ = config.ata.inventory();
    let _ = config.send_routes();
    let _ = config.intake_settings();
}

/// A fuzz target: takes any bytes, never panics.
pub type Target = fn(&[u8]);

/// Every target by name, for the corpus replay and the fuzz crate.
pub const TARGETS: &[(&str, Target)] = &[
    ("sip", sip),
    ("sdp", sdp),
    ("rtp", rtp),
    ("udptl", udptl),
    ("smtp", smtp),
    ("mime", mime),
    ("tiff", tiff),
    ("pdf", pdf),
    ("snmp", snmp),
    ("config", config),
];
