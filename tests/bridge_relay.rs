//! The bridge's media relay over loopback UDP: two fake endpoints exchange
//! RTP and UDPTL through it. Datagrams must arrive byte for byte, the
//! relay must find a party that sends from another port than its SDP
//! said, and the classifier must hear the audio that passes (a SpanDSP
//! Bell 212A answer tone in PCMA is a data modem).
//!
//! Media stays with the legs that signalled it: a stranger on another
//! loopback address (127.0.0.77; all of 127.0.0.0/8 is local) sends
//! well-formed RTP, RTCP and UDPTL to both legs, in relay and in gateway
//! mode, and none of it reaches a party or the T.38 gateway; another SSRC
//! from a party's own source, and an ATA whose SDP names another address
//! than its unit, are refused too, and a re-INVITE binds a leg anew.

use std::net::SocketAddr;
use std::time::Duration;

use faxbridge::bridge::relay::{GatewayMode, Leg, LegSockets, MediaMode, Relay, RelayReport};
use faxbridge::fax::{ConnectToneTx, G711Law, GeneratedTone, T38Options};
use faxbridge::media::classifier::{Label, ModemKind};
use faxbridge::media::rtp::{RtpSender, parse};
use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio::time::timeout;

mod support;
use support::stranger::{self, Forger};

const WAIT: Duration = Duration::from_secs(2);

async fn socket() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").await.unwrap()
}

/// One fake endpoint (an ATA or the trunk): its RTP and RTCP sockets.
struct Party {
    rtp: UdpSocket,
    rtcp: UdpSocket,
}

impl Party {
    async fn new() -> Party {
        Party {
            rtp: socket().await,
            rtcp: socket().await,
        }
    }

    fn rtp_addr(&self) -> SocketAddr {
        self.rtp.local_addr().unwrap()
    }

    fn rtcp_addr(&self) -> SocketAddr {
        self.rtcp.local_addr().unwrap()
    }

    async fn recv_rtp(&self) -> (Vec<u8>, SocketAddr) {
        let mut buf = [0u8; 2048];
        let (n, from) = timeout(WAIT, self.rtp.recv_from(&mut buf))
            .await
            .expect("a relayed datagram within 2 s")
            .unwrap();
        (buf[..n].to_vec(), from)
    }

    async fn nothing_on_rtp(&self) -> bool {
        let mut buf = [0u8; 2048];
        timeout(Duration::from_millis(200), self.rtp.recv_from(&mut buf))
            .await
            .is_err()
    }
}

/// The relay's sockets for one leg, with the party's SDP addresses.
struct RelayLeg {
    sockets: LegSockets,
    rtp: SocketAddr,
    rtcp: SocketAddr,
}

async fn relay_leg(sdp: Option<&Party>) -> RelayLeg {
    let sockets = LegSockets::bind("127.0.0.1".parse().unwrap()).unwrap();
    let (a, b) = (
        sockets.rtp.local_addr().unwrap(),
        sockets.rtcp.local_addr().unwrap(),
    );
    RelayLeg {
        sockets: LegSockets {
            remote_rtp: sdp.map(Party::rtp_addr),
            remote_rtcp: sdp.map(Party::rtcp_addr),
            ..sockets
        },
        rtp: a,
        rtcp: b,
    }
}

/// 20 ms PCMA packets of `samples`.
fn pcma_packets(sender: &mut RtpSender, samples: &[i16]) -> Vec<Vec<u8>> {
    samples
        .chunks(160)
        .map(|block| {
            let mut frame = [0u8; 160];
            G711Law::ALaw.encode_into(block, &mut frame[..block.len()]);
            sender.audio_frame(&frame[..block.len()])
        })
        .collect()
}

fn bell_answer_tone(blocks: usize) -> Vec<i16> {
    let mut g = ConnectToneTx::new(GeneratedTone::BellAns).unwrap();
    let mut out = vec![0i16; 160 * blocks];
    for block in out.chunks_mut(160) {
        g.tx(block);
    }
    out
}

#[tokio::test]
async fn rtp_passes_untouched_and_the_classifier_hears_a_card_terminal() {
    let (caller, callee) = (Party::new().await, Party::new().await);
    let (a, b) = (
        relay_leg(Some(&caller)).await,
        relay_leg(Some(&callee)).await,
    );
    let (a_rtp, b_rtp) = (a.rtp, b.rtp);
    let relay = Relay::start(a.sockets, b.sockets, MediaMode::Rtp, None);

    // The caller (a PDQ) sends silence; the callee (its acquirer's modem)
    // answers with the Bell 212A 2225 Hz tone. Lock-step, so every
    // datagram can be compared with what arrives.
    let mut up = RtpSender::new(0x1111_1111, 100, 5000, 8);
    let mut down = RtpSender::new(0x2222_2222, 65_500, 1 << 31, 8);
    let silence = pcma_packets(&mut up, &vec![0i16; 160 * 60]);
    let tone = pcma_packets(&mut down, &bell_answer_tone(60));
    for (s, t) in silence.iter().zip(&tone) {
        caller.rtp.send_to(s, a_rtp).await.unwrap();
        let (got, from) = callee.recv_rtp().await;
        assert_eq!(&got, s, "caller→callee datagram changed");
        assert_eq!(from, b_rtp, "the callee hears the relay's own leg socket");
        callee.rtp.send_to(t, b_rtp).await.unwrap();
        let (got, from) = caller.recv_rtp().await;
        assert_eq!(&got, t, "callee→caller datagram changed");
        assert_eq!(from, a_rtp);
    }
    // Sequence numbers wrapped on the way down and still arrived as sent.
    let last = parse(tone.last().unwrap()).unwrap().header;
    assert_eq!(last.sequence, 65_500u16.wrapping_add(59));
    assert_eq!(last.ssrc, 0x2222_2222);

    let counters = relay
        .counters()
        .from_leg(faxbridge::bridge::relay::Leg::Callee);
    // The relay counts a datagram just after sending it, on the media
    // clock's thread: give it a moment after the last one arrived.
    let deadline = std::time::Instant::now() + Duration::from_secs(1);
    while counters.snapshot().forwarded < 60 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(counters.snapshot().forwarded, 60);
    let report: RelayReport = relay.stop().await.unwrap();
    for stats in [report.from_caller, report.from_callee] {
        assert_eq!(stats.received, 60);
        assert_eq!(stats.forwarded, 60);
        assert_eq!(stats.forwarded_bytes, 60 * 172);
        assert_eq!(stats.tapped, 60);
        assert_eq!(stats.dropped_foreign + stats.dropped_no_remote, 0);
    }
    let c = report.classification.expect("classifier ran");
    assert_eq!(
        c.label,
        Label::DataModem {
            kind: ModemKind::Bell212A
        },
        "{c:#?}"
    );
    assert_eq!(c.analysed_ms, 1200);
}

#[tokio::test]
async fn the_relay_learns_where_a_party_really_sends_from() {
    let (caller, callee) = (Party::new().await, Party::new().await);
    // The callee's SDP names an address nobody listens on (behind NAT).
    let wrong = socket().await;
    let wrong_addr = wrong.local_addr().unwrap();
    drop(wrong);
    let a = relay_leg(Some(&caller)).await;
    let mut b = relay_leg(None).await;
    b.sockets.remote_rtp = Some(wrong_addr);
    let (a_rtp, b_rtp) = (a.rtp, b.rtp);
    let relay = Relay::start(a.sockets, b.sockets, MediaMode::Rtp, None);

    let mut up = RtpSender::new(1, 1, 0, 0);
    let mut down = RtpSender::new(2, 1, 0, 0);
    // Before the callee has sent anything, its media goes to the SDP guess.
    caller
        .rtp
        .send_to(&up.audio_frame(&[0xff; 160]), a_rtp)
        .await
        .unwrap();
    assert!(callee.nothing_on_rtp().await);
    // Its first packet teaches the relay its real address.
    let first = down.audio_frame(&[0xff; 160]);
    callee.rtp.send_to(&first, b_rtp).await.unwrap();
    assert_eq!(caller.recv_rtp().await.0, first);
    let next = up.audio_frame(&[0x7f; 160]);
    caller.rtp.send_to(&next, a_rtp).await.unwrap();
    assert_eq!(callee.recv_rtp().await.0, next);

    // A stranger's packet to the callee's leg is not relayed…
    let stranger = socket().await;
    let forged = RtpSender::new(99, 1, 0, 0).audio_frame(&[0x55; 160]);
    stranger.send_to(&forged, b_rtp).await.unwrap();
    assert!(caller.nothing_on_rtp().await);
    // …and the party is still heard.
    let more = down.audio_frame(&[0xfe; 160]);
    callee.rtp.send_to(&more, b_rtp).await.unwrap();
    assert_eq!(caller.recv_rtp().await.0, more);

    let report = relay.stop().await.unwrap();
    assert_eq!(report.from_callee.dropped_foreign, 1);
    assert_eq!(report.from_caller.dropped_no_remote, 0);
    assert_eq!(report.from_callee.forwarded, 2);
    assert_eq!(report.from_caller.forwarded, 2);
}

#[tokio::test]
async fn rtcp_follows_rtp_and_udptl_passes_after_a_switch_to_t38() {
    let (caller, callee) = (Party::new().await, Party::new().await);
    let (a, b) = (
        relay_leg(Some(&caller)).await,
        relay_leg(Some(&callee)).await,
    );
    let (a_rtp, a_rtcp, b_rtp) = (a.rtp, a.rtcp, b.rtp);
    let relay = Relay::start(a.sockets, b.sockets, MediaMode::Rtp, None);

    // An RTCP receiver report goes to the callee's RTCP address.
    let rr = [
        0x81, 201, 0, 7, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    let rr = &rr[..];
    caller.rtcp.send_to(rr, a_rtcp).await.unwrap();
    let mut buf = [0u8; 256];
    let (n, _) = timeout(WAIT, callee.rtcp.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], rr);

    // Both legs re-INVITEd to T.38 on new ports: UDPTL passes both ways.
    let (caller_t38, callee_t38) = (socket().await, socket().await);
    relay.set_mode(MediaMode::Udptl);
    relay.set_remote(
        faxbridge::bridge::relay::Leg::Caller,
        Some(caller_t38.local_addr().unwrap()),
        None,
    );
    relay.set_remote(
        faxbridge::bridge::relay::Leg::Callee,
        Some(callee_t38.local_addr().unwrap()),
        None,
    );
    // seq 0, primary IFP of 3 octets (a T.30 indicator), no redundancy.
    let ifp_up = [0x00, 0x00, 0x03, 0x02, 0x00, 0x00, 0x00];
    let ifp_down = [0x00, 0x00, 0x02, 0x00, 0x0c, 0x00];
    let mut got = [0u8; 64];
    // The control messages and the first datagram race; resend until the
    // mode switch has been applied (the first may be judged as RTP).
    let mut arrived = None;
    for _ in 0..20 {
        caller_t38.send_to(&ifp_up, a_rtp).await.unwrap();
        if let Ok(Ok((n, _))) =
            timeout(Duration::from_millis(100), callee_t38.recv_from(&mut got)).await
        {
            arrived = Some(got[..n].to_vec());
            break;
        }
    }
    assert_eq!(arrived.as_deref(), Some(&ifp_up[..]));
    callee_t38.send_to(&ifp_down, b_rtp).await.unwrap();
    let (n, _) = timeout(WAIT, caller_t38.recv_from(&mut got))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&got[..n], &ifp_down);

    let report = relay.stop().await.unwrap();
    assert_eq!(report.from_caller.rtcp_forwarded, 1);
    assert_eq!(report.from_caller.tapped, 0, "UDPTL is not audio");
    assert!(report.from_callee.forwarded >= 1);
}

#[tokio::test]
async fn the_daemon_stop_signal_ends_the_relay() {
    let (caller, callee) = (Party::new().await, Party::new().await);
    let (a, b) = (
        relay_leg(Some(&caller)).await,
        relay_leg(Some(&callee)).await,
    );
    let (stop_tx, stop_rx) = watch::channel(false);
    let relay = Relay::start(a.sockets, b.sockets, MediaMode::Rtp, Some(stop_rx));
    stop_tx.send(true).unwrap();
    let report = timeout(WAIT, relay.stop()).await.unwrap().unwrap();
    assert_eq!(report.from_caller.received, 0);
    let c = report.classification.unwrap();
    assert_eq!(c.label, Label::Unknown);
}

#[tokio::test]
async fn strangers_are_never_relayed_and_a_party_keeps_its_ssrc() {
    let (caller, callee) = (Party::new().await, Party::new().await);
    let (mut a, b) = (
        relay_leg(Some(&caller)).await,
        relay_leg(Some(&callee)).await,
    );
    // The caller is an ATA port whose unit is at 127.0.0.1.
    a.sockets.unit = Some("127.0.0.1".parse().unwrap());
    let (a_rtp, a_rtcp, b_rtp, b_rtcp) = (a.rtp, a.rtcp, b.rtp, b.rtcp);
    let relay = Relay::start(a.sockets, b.sockets, MediaMode::Rtp, None);

    // Before either party sent anything, a stranger sends well-formed
    // RTP, RTCP and UDPTL to both legs: nothing binds a leg, nothing is
    // relayed.
    let stranger = UdpSocket::bind((stranger::ADDRESS, 0)).await.unwrap();
    let mut forger = Forger::default();
    for _ in 0..50 {
        for to in [a_rtp, b_rtp] {
            stranger.send_to(&forger.rtp(), to).await.unwrap();
            stranger.send_to(&forger.udptl(), to).await.unwrap();
        }
        for to in [a_rtcp, b_rtcp] {
            stranger.send_to(&forger.rtcp(), to).await.unwrap();
        }
    }
    assert!(caller.nothing_on_rtp().await && callee.nothing_on_rtp().await);

    // The parties are relayed to each other as usual…
    let mut up = RtpSender::new(0x1111, 1, 0, 8);
    let mut down = RtpSender::new(0x2222, 1, 0, 8);
    for _ in 0..5 {
        let p = up.audio_frame(&[0xd5; 160]);
        caller.rtp.send_to(&p, a_rtp).await.unwrap();
        assert_eq!(callee.recv_rtp().await.0, p);
        let p = down.audio_frame(&[0xd5; 160]);
        callee.rtp.send_to(&p, b_rtp).await.unwrap();
        assert_eq!(caller.recv_rtp().await.0, p);
    }
    // …and the stranger is still not, from any port.
    for _ in 0..50 {
        for to in [a_rtp, b_rtp] {
            stranger.send_to(&forger.rtp(), to).await.unwrap();
            stranger.send_to(&forger.udptl(), to).await.unwrap();
        }
    }
    let other_port = UdpSocket::bind((stranger::ADDRESS, 0)).await.unwrap();
    other_port.send_to(&forger.rtp(), a_rtp).await.unwrap();
    assert!(caller.nothing_on_rtp().await && callee.nothing_on_rtp().await);

    // Another SSRC from the caller's own socket is another stream: not
    // relayed until a re-INVITE signals it.
    let mut other_stream = RtpSender::new(0x3333, 1, 0, 8);
    caller
        .rtp
        .send_to(&other_stream.audio_frame(&[0xd5; 160]), a_rtp)
        .await
        .unwrap();
    assert!(callee.nothing_on_rtp().await);

    // A re-INVITE moves the caller to a new port: the leg is bound anew,
    // the new port and its SSRC are relayed, the old port no longer.
    let moved = socket().await;
    relay.set_remote(Leg::Caller, Some(moved.local_addr().unwrap()), None);
    let mut arrived = None;
    for _ in 0..20 {
        let p = other_stream.audio_frame(&[0x55; 160]);
        moved.send_to(&p, a_rtp).await.unwrap();
        let mut buf = [0u8; 2048];
        if let Ok(Ok((n, _))) =
            timeout(Duration::from_millis(100), callee.rtp.recv_from(&mut buf)).await
        {
            arrived = Some((buf[..n].to_vec(), p));
            break;
        }
    }
    let (got, sent) = arrived.expect("the re-INVITEd port is relayed");
    assert_eq!(got, sent);
    caller
        .rtp
        .send_to(&up.audio_frame(&[0xd5; 160]), a_rtp)
        .await
        .unwrap();
    assert!(
        callee.nothing_on_rtp().await,
        "the old port is not the caller's any more"
    );
    // The callee's media now goes to the caller's new port.
    let p = down.audio_frame(&[0xd5; 160]);
    callee.rtp.send_to(&p, b_rtp).await.unwrap();
    let mut buf = [0u8; 2048];
    let (n, _) = timeout(WAIT, moved.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], &p[..]);

    let report = relay.stop().await.unwrap();
    let (from_a, from_b) = (report.from_caller, report.from_callee);
    // 100 RTP and 100 UDPTL from the stranger to each leg, 50 RTCP to each
    // RTCP port, one RTP from another stranger port and one from the
    // caller's old port after the re-INVITE.
    assert_eq!(from_a.dropped_foreign, 100 + 100 + 50 + 1 + 1, "{from_a:?}");
    assert_eq!(from_b.dropped_foreign, 100 + 100 + 50, "{from_b:?}");
    assert_eq!((from_a.dropped_ssrc, from_b.dropped_ssrc), (1, 0));
    assert_eq!((from_a.forwarded, from_b.forwarded), (6, 6));
    assert_eq!(from_a.rtcp_forwarded + from_b.rtcp_forwarded, 0);
}

#[tokio::test]
async fn an_ata_whose_sdp_names_another_address_than_its_unit_is_not_heard() {
    let (caller, callee) = (Party::new().await, Party::new().await);
    let (mut a, b) = (
        relay_leg(Some(&caller)).await,
        relay_leg(Some(&callee)).await,
    );
    // The unit is configured at 127.0.0.5; the SDP names the caller's
    // sockets on 127.0.0.1.
    a.sockets.unit = Some("127.0.0.5".parse().unwrap());
    let (a_rtp, b_rtp) = (a.rtp, b.rtp);
    let relay = Relay::start(a.sockets, b.sockets, MediaMode::Rtp, None);
    let mut up = RtpSender::new(1, 1, 0, 8);
    for _ in 0..3 {
        caller
            .rtp
            .send_to(&up.audio_frame(&[0xd5; 160]), a_rtp)
            .await
            .unwrap();
    }
    assert!(callee.nothing_on_rtp().await);
    // From the unit's own address neither: it is not what the SDP says.
    let unit = UdpSocket::bind("127.0.0.5:0").await.unwrap();
    unit.send_to(&up.audio_frame(&[0xd5; 160]), a_rtp)
        .await
        .unwrap();
    assert!(callee.nothing_on_rtp().await);
    // The trunk leg is unaffected.
    let p = RtpSender::new(2, 1, 0, 8).audio_frame(&[0xd5; 160]);
    callee.rtp.send_to(&p, b_rtp).await.unwrap();
    assert_eq!(caller.recv_rtp().await.0, p);
    let report = relay.stop().await.unwrap();
    assert_eq!(report.from_caller.dropped_foreign, 4);
    assert_eq!(report.from_caller.forwarded, 0);
    assert_eq!(report.from_callee.forwarded, 1);
}

/// Gateway mode (the caller on G.711, the callee on T.38): the stranger's
/// CNG audio to the audio leg and its CED indicators to the T.38 leg reach
/// neither the gateway nor the classifier. The legitimate parties send
/// silence and no-signal, so anything the gateway or the classifier made
/// of the stranger's signals would show.
#[tokio::test]
async fn strangers_do_not_reach_the_t38_gateway() {
    use faxbridge::media::udptl::{ErrorCorrection, RxEvent, UdptlDecoder, UdptlEncoder};

    let (audio_party, t38_party) = (Party::new().await, Party::new().await);
    let (a, b) = (
        relay_leg(Some(&audio_party)).await,
        relay_leg(Some(&t38_party)).await,
    );
    let (to_audio_leg, to_t38_leg) = (a.rtp, b.rtp);
    let mode = MediaMode::Gateway(GatewayMode {
        t38_leg: Leg::Callee,
        law: G711Law::ALaw,
        payload_type: 8,
        t38: T38Options::default(),
        udp_ec: Some(faxbridge::sdp::UdpEc::Redundancy),
    });
    let relay = Relay::start(a.sockets, b.sockets, mode, None);
    let stranger = UdpSocket::bind((stranger::ADDRESS, 0)).await.unwrap();
    let mut forger = Forger::default();
    let mut silence = RtpSender::new(7, 100, 1000, 8);
    let mut no_signal = UdptlEncoder::new(ErrorCorrection::Redundancy { depth: 3 }, 400).unwrap();
    let mut decoder = UdptlDecoder::new(0);
    let mut ifps = Vec::new();
    let mut audio = Vec::new();
    let mut ticker = tokio::time::interval(Duration::from_millis(20));
    let mut buf = [0u8; 2048];
    for step in 0..60 {
        ticker.tick().await;
        // The stranger starts first: a relay that took the first valid
        // packet from anywhere would be its.
        if step >= 5 {
            audio_party
                .rtp
                .send_to(&silence.audio_frame(&[0xd5; 160]), to_audio_leg)
                .await
                .unwrap();
            t38_party
                .rtp
                .send_to(&no_signal.encode(&[0x00]).unwrap(), to_t38_leg)
                .await
                .unwrap();
        }
        for _ in 0..3 {
            stranger.send_to(&forger.rtp(), to_audio_leg).await.unwrap();
            stranger.send_to(&forger.udptl(), to_t38_leg).await.unwrap();
            stranger
                .send_to(&forger.udptl(), to_audio_leg)
                .await
                .unwrap();
            stranger.send_to(&forger.rtp(), to_t38_leg).await.unwrap();
        }
        while let Ok((n, _)) = t38_party.rtp.try_recv_from(&mut buf) {
            for e in decoder.receive(&buf[..n]).unwrap() {
                if let RxEvent::Ifp { data, .. } = e {
                    ifps.push(data);
                }
            }
        }
        while let Ok((n, _)) = audio_party.rtp.try_recv_from(&mut buf) {
            let p = parse(&buf[..n]).unwrap();
            assert_ne!(
                p.header.ssrc,
                stranger::SSRC,
                "the stranger's RTP was relayed"
            );
            audio.extend(p.payload.iter().map(|&o| G711Law::ALaw.decode(o)));
        }
    }
    // Let the relay read the last tick's datagrams.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let report = relay.stop().await.unwrap();
    assert_eq!(report.from_caller.dropped_foreign, 60 * 6, "{report:?}");
    assert_eq!(report.from_callee.dropped_foreign, 60 * 6, "{report:?}");
    assert_eq!(
        report.from_caller.tapped, 55,
        "only the audio party is heard"
    );
    // No CED indicator came out as 2100 Hz audio, and the gateway sent
    // the T.38 party no CNG indicator (T.38 §A: t30-indicator 1, 0x02).
    assert!(audio.len() >= 50 * 160, "{} samples", audio.len());
    let energy: f64 = audio.iter().map(|&s| f64::from(s).powi(2)).sum();
    assert!(
        energy < 1e6,
        "the T.38 party sent no CED: silence expected, energy {energy}"
    );
    assert!(!ifps.is_empty());
    assert!(ifps.iter().all(|i| i != &vec![0x02]), "{ifps:?}");
    let c = report.classification.unwrap();
    assert_ne!(
        c.label,
        Label::Fax,
        "the stranger's CNG was not heard: {c:?}"
    );
}

/// When the gateway takes over from relaying (the callee re-INVITEd to
/// T.38, the caller refused), the caller keeps hearing the stream it heard:
/// the callee's SSRC, its next sequence number, and timestamps that moved
/// on with the time — the caller's leg was not re-INVITEd, so a party that
/// keeps its stream's SSRC would refuse a new one.
#[tokio::test]
async fn the_gateway_carries_on_the_stream_the_audio_party_heard() {
    let (caller, callee) = (Party::new().await, Party::new().await);
    let (a, b) = (
        relay_leg(Some(&caller)).await,
        relay_leg(Some(&callee)).await,
    );
    let (a_rtp, b_rtp) = (a.rtp, b.rtp);
    let relay = Relay::start(a.sockets, b.sockets, MediaMode::Rtp, None);
    let mut up = RtpSender::new(0x1111, 1, 0, 8);
    let mut down = RtpSender::new(0x2222, 40_000, 1_000_000, 8);
    let mut last = None;
    for _ in 0..5 {
        caller
            .rtp
            .send_to(&up.audio_frame(&[0xd5; 160]), a_rtp)
            .await
            .unwrap();
        callee.recv_rtp().await;
        callee
            .rtp
            .send_to(&down.audio_frame(&[0xd5; 160]), b_rtp)
            .await
            .unwrap();
        last = Some(parse(&caller.recv_rtp().await.0).unwrap().header);
    }
    let last = last.unwrap();
    let pause = std::time::Instant::now();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let callee_t38 = socket().await;
    relay.set_mode(MediaMode::Gateway(GatewayMode {
        t38_leg: Leg::Callee,
        law: G711Law::ALaw,
        payload_type: 8,
        t38: T38Options::default(),
        udp_ec: None,
    }));
    relay.set_remote(Leg::Callee, Some(callee_t38.local_addr().unwrap()), None);
    let first = parse(&caller.recv_rtp().await.0).unwrap().header;
    let waited = pause.elapsed().as_millis() as u32 * 8;
    assert_eq!(first.ssrc, 0x2222, "the stream the caller heard");
    assert_eq!(first.sequence, last.sequence.wrapping_add(1));
    let advanced = first.timestamp.wrapping_sub(last.timestamp);
    assert!(
        (1600..=waited + 800).contains(&advanced),
        "timestamps moved on with the {waited} samples that passed: {advanced}"
    );
    let next = parse(&caller.recv_rtp().await.0).unwrap().header;
    assert_eq!(
        (next.ssrc, next.sequence, next.timestamp),
        (
            0x2222,
            first.sequence.wrapping_add(1),
            first.timestamp + 160
        )
    );
    relay.stop().await.unwrap();
}
