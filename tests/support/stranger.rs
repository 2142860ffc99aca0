//! A stranger on the network: another local address than every party's
//! (all of 127.0.0.0/8 is local on Linux) that sends well-formed media —
//! PCMA RTP with its own SSRC and plausible sequence numbers, RTCP
//! receiver reports, UDPTL with plausible sequence numbers and redundancy —
//! to the media ports of a call it is not part of.

use std::net::SocketAddr;
use std::thread::JoinHandle;
use std::time::Duration;

use faxbridge::fax::{ConnectToneTx, G711Law, GeneratedTone};
use faxbridge::media::fax_call::{FaxCallReport, MediaStats};
use faxbridge::media::rtp::RtpSender;
use faxbridge::media::udptl::{ErrorCorrection, UdptlEncoder};

use super::procs::{Lines, field};

/// Where the stranger sends from.
pub const ADDRESS: &str = "127.0.0.77";

/// The SSRC of the stranger's RTP.
pub const SSRC: u32 = 0x0bad_5eed;

/// Builds the stranger's datagrams.
pub struct Forger {
    rtp: RtpSender,
    udptl: UdptlEncoder,
    tone: ConnectToneTx,
}

impl Default for Forger {
    fn default() -> Self {
        Forger {
            rtp: RtpSender::new(SSRC, 1000, 160_000, 8),
            udptl: UdptlEncoder::new(ErrorCorrection::Redundancy { depth: 3 }, 400).unwrap(),
            // Fax CNG: anything that heard it would take it for a fax.
            tone: ConnectToneTx::new(GeneratedTone::FaxCng).unwrap(),
        }
    }
}

impl Forger {
    /// The next 20 ms PCMA packet (payload type 8) of an 1100 Hz tone.
    pub fn rtp(&mut self) -> Vec<u8> {
        let mut pcm = [0i16; 160];
        self.tone.tx(&mut pcm);
        let mut frame = [0u8; 160];
        G711Law::ALaw.encode_into(&pcm, &mut frame);
        self.rtp.audio_frame(&frame)
    }

    /// An RTCP receiver report from the stranger's SSRC.
    pub fn rtcp(&self) -> Vec<u8> {
        let mut rr = vec![0x80, 201, 0, 1];
        rr.extend_from_slice(&SSRC.to_be_bytes());
        rr
    }

    /// The next UDPTL datagram: a T.38 CED indicator (t30-indicator 2)
    /// with three earlier ones as redundancy.
    pub fn udptl(&mut self) -> Vec<u8> {
        self.udptl.encode(&[0x04]).unwrap()
    }
}

/// Datagrams a stranger sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sent {
    /// RTP packets and UDPTL datagrams to media ports.
    pub media: u64,
    /// RTCP reports to RTCP ports.
    pub rtcp: u64,
}

impl Sent {
    /// Everything.
    pub fn total(&self) -> u64 {
        self.media + self.rtcp
    }
}

/// On a thread of its own, `rounds` rounds one `every` apart: one RTP
/// packet and one UDPTL datagram to each of `media`, one RTCP report to
/// each of `rtcp`.
pub fn inject(
    media: Vec<SocketAddr>,
    rtcp: Vec<SocketAddr>,
    rounds: u32,
    every: Duration,
) -> JoinHandle<Sent> {
    std::thread::spawn(move || {
        let socket = std::net::UdpSocket::bind((ADDRESS, 0)).unwrap();
        let mut forger = Forger::default();
        let mut sent = Sent::default();
        for _ in 0..rounds {
            for to in &media {
                socket.send_to(&forger.rtp(), to).unwrap();
                socket.send_to(&forger.udptl(), to).unwrap();
                sent.media += 2;
            }
            for to in &rtcp {
                socket.send_to(&forger.rtcp(), to).unwrap();
                sent.rtcp += 1;
            }
            std::thread::sleep(every);
        }
        sent
    })
}

/// `faxbridge_media_packets_dropped_total` for `call` (`bridged` or
/// `fax`) and `reason` (`foreign_source` or `ssrc`) in a `/metrics` text.
pub fn dropped(metrics: &str, call: &str, reason: &str) -> u64 {
    let series =
        format!("faxbridge_media_packets_dropped_total{{call=\"{call}\",reason=\"{reason}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series.as_str()))
        .unwrap_or_else(|| panic!("no {series}in /metrics:\n{metrics}"))
        .trim()
        .parse()
        .unwrap()
}

/// `GET /metrics` from the web interface at `web` (readable without
/// signing in from `[web] metrics_from`).
pub fn scrape(web: SocketAddr) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(web).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {web}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_string()
}

/// A `[web]` section (with the one account the web interface requires)
/// serving `/metrics` to loopback without sign-in, on a port of
/// 127.0.0.1 the daemon's ready line names (`web=`).
pub fn web_section() -> String {
    String::from(
        "[web]\nlisten = \"127.0.0.1:0\"\nmetrics_from = [\"127.0.0.0/8\"]\n\
         [[web.accounts]]\nusername = \"admin\"\nrole = \"admin\"\n\
         password_hash = \"pbkdf2-sha256$100000$0a1b2c3d4e5f6071$37AAD17F6B9872311D002DAAE7EFFBB95A25CF9A8A2EB113D1C2B9C10E556F18\"\n",
    )
}

/// The media addresses named by `keys` in the next daemon log line
/// containing `message` (lines printed before the call must have been
/// passed over with [`Lines::skip_past`]).
pub async fn addresses_in_log(
    lines: &Lines,
    message: &'static str,
    keys: Vec<&'static str>,
) -> Vec<SocketAddr> {
    let lines = lines.clone();
    tokio::task::spawn_blocking(move || {
        let line = lines
            .wait_for(message, Duration::from_secs(30))
            .unwrap_or_else(|| panic!("no {message:?} in the daemon's log"));
        keys.iter()
            .map(|k| {
                field(&line, k)
                    .unwrap_or_else(|| panic!("no {k}= in {line}"))
                    .parse()
                    .unwrap()
            })
            .collect()
    })
    .await
    .unwrap()
}

/// The stranger of [`inject`] at the addresses the daemon logs in its
/// next line containing `message`: one RTP packet and one UDPTL datagram
/// to each of `media` keys, one RTCP report to each of `rtcp` keys, a
/// thousand rounds 5 ms apart. Returns what it sent.
pub async fn inject_at_logged(
    lines: &Lines,
    message: &'static str,
    media: &'static [&'static str],
    rtcp: &'static [&'static str],
) -> Sent {
    let keys = media.iter().chain(rtcp).copied().collect();
    let mut addresses = addresses_in_log(lines, message, keys).await;
    let rtcp = addresses.split_off(media.len());
    let media = addresses;
    let injecting = inject(media, rtcp, 1000, Duration::from_millis(5));
    tokio::task::spawn_blocking(move || injecting.join().unwrap())
        .await
        .unwrap()
}

/// The far end of a call saw nothing but its party's media: no datagram
/// from another source or with another SSRC, nothing malformed, and no
/// more packets than the party sent (`from` is the party's report; a few
/// of its last packets may still have been on their way at hang-up).
pub fn heard_only_its_party(at: &FaxCallReport, from: &FaxCallReport) {
    let (s, f) = (&at.stats, &from.stats);
    let foreign = MediaStats {
        rtp_dropped_foreign: s.rtp_dropped_foreign,
        rtp_dropped_ssrc: s.rtp_dropped_ssrc,
        udptl_dropped_foreign: s.udptl_dropped_foreign,
        rtp_malformed: s.rtp_malformed,
        udptl_malformed: s.udptl_malformed,
        ..MediaStats::default()
    };
    assert_eq!(foreign, MediaStats::default(), "{at}: {s:?}");
    assert!(
        s.rtp_received <= f.rtp_sent && s.rtp_received + 50 >= f.rtp_sent,
        "RTP received {} of {} sent: {s:?}",
        s.rtp_received,
        f.rtp_sent
    );
    assert!(
        s.udptl_received <= f.udptl_sent && s.udptl_received + 50 >= f.udptl_sent,
        "UDPTL received {} of {} sent: {s:?}",
        s.udptl_received,
        f.udptl_sent
    );
}
