//! The B2BUA over loopback: a fake ATA (127.0.0.3) and a fake trunk
//! (127.0.0.2), both real SIP endpoints, call through faxbridge's endpoint
//! (127.0.0.1), which bridges every INVITE with `bridge_call`.
//!
//! The inventory has three units: `ho` (127.0.0.3, building HO,
//! 127.0.0.0/24) with a plain port, a hot-dial port, a warm-dial port and a
//! port with neither; `annex` (127.0.1.3, building Annex, 127.0.1.0/24);
//! and `shed` (127.0.2.3), whose subnet is in no building. The whole of
//! 127.0.0.0/8 is local on Linux, so each unit has its own source address.

use std::net::SocketAddr;
use std::time::Duration;

use faxbridge::ata::inventory::WarmDial;
use faxbridge::ata::{BuildingConfig, Inventory, PortConfig, PortRole, SnmpOverride, UnitConfig};
use faxbridge::bridge::b2bua::{BridgeOutcome, BridgeSettings, bridge_call};
use faxbridge::bridge::media::party_media;
use faxbridge::bridge::{BridgeConfig, LineConfig};
use faxbridge::numbering::DialPlan;
use faxbridge::routing::Router;
use faxbridge::routing::did::RouteRule;
use faxbridge::sip::{
    CallEvent, DialError, DialOptions, DialRequest, EndReason, IncomingCall, SipConfig, SipEndpoint,
};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);

fn audio_sdp(addr: SocketAddr) -> Vec<u8> {
    format!(
        "v=0\r\no=- 77 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 8 0\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n",
        ip = addr.ip(),
        port = addr.port()
    )
    .into_bytes()
}

async fn endpoint(listen: &str, peers: &str) -> (SipEndpoint, mpsc::Receiver<IncomingCall>) {
    let text = format!(
        "listen = \"{listen}\"\ntransports = [\"udp\"]\n{peers}\n[routing]\ndefault_route = \"in\"\n"
    );
    let cfg: SipConfig = toml::from_str(&text).unwrap();
    SipEndpoint::start(&cfg).await.expect("endpoint starts")
}

/// faxbridge's endpoint, as the daemon sets it up: the router decides
/// every INVITE; calls from the ATA and to the port's number are bridged; a
/// call to the fax number 5000 is held unanswered (it gets the endpoint's
/// answer timeout). Outcomes of bridged calls are reported.
///
/// Port 2 of `ho` (SIP user 2002) has hot dial to 01223000001, port 3
/// (2003) warm dial to 01223000002, port 4 (2004) neither.
async fn faxbridge(
    trunk: SocketAddr,
    ata_port: u16,
    answer_timeout_secs: u64,
) -> (SocketAddr, mpsc::UnboundedReceiver<BridgeOutcome>) {
    let text = format!(
        "listen = \"127.0.0.1:0\"\ntransports = [\"udp\"]\nanswer_timeout_secs = {answer_timeout_secs}\n\
         [[peers]]\nname = \"trunk\"\naddresses = [\"127.0.0.2\"]\n\
         [[peers]]\nname = \"atas\"\naddresses = [\"127.0.0.3\", \"127.0.1.3\", \"127.0.2.3\"]\n\
         [routing]\nroutes = [{{ did = \"5000\", route = \"fax\" }}]\n"
    );
    let cfg: SipConfig = toml::from_str(&text).unwrap();
    let (ep, mut calls) = SipEndpoint::start(&cfg).await.expect("endpoint starts");
    let addr = ep.udp_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    {
        let unit = |name: &str, address: &str, building: &str| UnitConfig {
            name: name.into(),
            address: address.parse().unwrap(),
            model: "Mediatrix 4102".into(),
            building: building.into(),
            firmware: None,
            snmp: SnmpOverride::default(),
        };
        let units = [
            unit("ho", "127.0.0.3", "HO"),
            unit("annex", "127.0.1.3", "Annex"),
            unit("shed", "127.0.2.3", ""),
        ];
        let port = |unit: &str, number: u32, sip_user: &str| PortConfig {
            unit: unit.into(),
            number,
            line: None,
            sip_user: sip_user.into(),
            role: PortRole::Pdq,
            owner: String::new(),
            takes_payments: true,
            hot_dial: None,
            warm_dial: None,
        };
        let ports = [
            port("ho", 1, "2001"),
            PortConfig {
                hot_dial: Some("01223000001".into()),
                ..port("ho", 2, "2002")
            },
            PortConfig {
                warm_dial: Some(WarmDial {
                    number: "01223000002".into(),
                    after_seconds: 5,
                }),
                ..port("ho", 3, "2003")
            },
            port("ho", 4, "2004"),
            port("annex", 1, "3001"),
            port("shed", 1, "4001"),
        ];
        let buildings = [
            BuildingConfig {
                name: "HO".into(),
                subnets: vec!["127.0.0.0/24".into()],
                emergency_cli: "+441632960001".into(),
            },
            BuildingConfig {
                name: "Annex".into(),
                subnets: vec!["127.0.1.0/24".into()],
                emergency_cli: "+441632960002".into(),
            },
        ];
        let inventory = Inventory::new(&units, &ports, &buildings);
        let dialplan = DialPlan::default();
        let line = |unit: &str, port: u32, number: &str| LineConfig {
            unit: unit.into(),
            port,
            number: number.into(),
            cli: None,
        };
        let bridge = BridgeConfig {
            lines: vec![
                line("ho", 1, "+441632960201"),
                line("ho", 2, "+441632960202"),
                line("ho", 3, "+441632960203"),
                line("ho", 4, "+441632960204"),
                line("annex", 1, "+441632960301"),
                line("shed", 1, "+441632960401"),
            ],
            ata_sip_port: ata_port,
            ..BridgeConfig::default()
        };
        let trunk_uri = format!("sip:{{number}}@{trunk}");
        let fax = [RouteRule {
            did: "5000".into(),
            route: "fax".into(),
        }];
        ep.set_router(std::sync::Arc::new(Router::new(
            inventory,
            dialplan,
            bridge,
            &fax,
            None,
            &trunk_uri,
            &[],
        )));
    }
    tokio::spawn(async move {
        let settings = BridgeSettings::new("127.0.0.1".parse().unwrap());
        let mut held = Vec::new();
        while let Some(call) = calls.recv().await {
            if call.fax_route().is_some() {
                held.push(call);
                continue;
            }
            let outcome = bridge_call(&ep, &settings, call).await;
            let _ = tx.send(outcome);
        }
    });
    (addr, rx)
}

struct World {
    ata: SipEndpoint,
    ata_calls: mpsc::Receiver<IncomingCall>,
    trunk: SipEndpoint,
    trunk_calls: mpsc::Receiver<IncomingCall>,
    fb: SocketAddr,
    outcomes: mpsc::UnboundedReceiver<BridgeOutcome>,
}

async fn world() -> World {
    world_with(20).await
}

async fn world_with(answer_timeout_secs: u64) -> World {
    let loopback = "[[peers]]\nname = \"lo\"\naddresses = [\"127.0.0.0/8\"]\n";
    let (trunk, trunk_calls) = endpoint("127.0.0.2:0", loopback).await;
    let (ata, ata_calls) = endpoint("127.0.0.3:0", loopback).await;
    let (fb, outcomes) = faxbridge(
        trunk.udp_addr().unwrap(),
        ata.udp_addr().unwrap().port(),
        answer_timeout_secs,
    )
    .await;
    World {
        ata,
        ata_calls,
        trunk,
        trunk_calls,
        fb,
        outcomes,
    }
}

fn user_of(uri: &str) -> String {
    faxbridge::sip::wire::uri_user(uri).unwrap_or_default()
}

fn media_of(sdp: &[u8]) -> SocketAddr {
    let sd = faxbridge::sdp::parse(std::str::from_utf8(sdp).unwrap()).unwrap();
    party_media(&sd).unwrap().rtp.unwrap()
}

#[tokio::test]
async fn a_port_calls_out_through_the_trunk_with_its_number_and_media_flows() {
    let mut w = world().await;
    let ata_media = UdpSocket::bind("127.0.0.3:0").await.unwrap();
    let trunk_media = UdpSocket::bind("127.0.0.2:0").await.unwrap();
    let mut dialing = w
        .ata
        .dial_with(
            DialRequest {
                target: format!("sip:01223123456@{}", w.fb),
                from_user: "2001".into(),
                offer: audio_sdp(ata_media.local_addr().unwrap()),
                account: None,
            },
            DialOptions {
                asserted_identity: Some("<sip:2001@127.0.0.3>".into()),
                privacy: Some("id".into()),
                ..DialOptions::default()
            },
        )
        .await
        .unwrap();

    let incoming = timeout(WAIT, w.trunk_calls.recv()).await.unwrap().unwrap();
    assert_eq!(incoming.did.as_deref(), Some("+441223123456"));
    assert_eq!(
        user_of(&incoming.from),
        "+441632960201",
        "the port's number"
    );
    // faxbridge asserts the number it presents, not the port's extension,
    // and keeps the port's privacy request.
    let pai = incoming
        .asserted_identity
        .clone()
        .expect("P-Asserted-Identity");
    assert!(pai.starts_with("<sip:+441632960201@127.0.0.1:"), "{pai}");
    assert_eq!(incoming.privacy.as_deref(), Some("id"));
    let offered = media_of(&incoming.offer);
    assert_eq!(
        offered.ip().to_string(),
        "127.0.0.1",
        "the trunk is offered the relay"
    );
    incoming.ring();
    let p = timeout(WAIT, dialing.next_progress())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.status, 180, "ringing passes through");

    let mut trunk_call = incoming
        .accept(audio_sdp(trunk_media.local_addr().unwrap()))
        .unwrap();
    let mut ata_call = timeout(WAIT, dialing.outcome()).await.unwrap().unwrap();
    let answered = media_of(&ata_call.remote_sdp);
    assert_eq!(
        answered.ip().to_string(),
        "127.0.0.1",
        "the ATA is answered with the relay"
    );

    // A PCMA packet from the ATA reaches the trunk untouched, and back.
    let packet = faxbridge::media::rtp::RtpSender::new(7, 1, 0, 8).audio_frame(&[0xd5; 160]);
    ata_media.send_to(&packet, answered).await.unwrap();
    let mut buf = [0u8; 512];
    let (n, from) = timeout(WAIT, trunk_media.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], &packet[..]);
    assert_eq!(from, offered);
    let back = faxbridge::media::rtp::RtpSender::new(8, 1, 0, 8).audio_frame(&[0x55; 160]);
    trunk_media.send_to(&back, offered).await.unwrap();
    let (n, _) = timeout(WAIT, ata_media.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], &back[..]);

    // The trunk hangs up: the ATA gets BYE.
    trunk_call.handle.hangup().await.unwrap();
    loop {
        match timeout(WAIT, ata_call.next_event()).await.unwrap() {
            Some(CallEvent::Ended(r)) => {
                assert_eq!(r, EndReason::RemoteHangup);
                break;
            }
            Some(_) => {}
            None => panic!("no end event"),
        }
    }
    while let Ok(Some(_)) = timeout(Duration::from_millis(100), trunk_call.next_event()).await {}
    match timeout(WAIT, w.outcomes.recv()).await.unwrap().unwrap() {
        BridgeOutcome::Ended(report) => {
            assert_eq!(report.from_caller.forwarded, 1);
            assert_eq!(report.from_callee.forwarded, 1);
            assert_eq!(report.from_caller.tapped, 1);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn emergency_calls_present_the_building_cli_and_busy_passes_back() {
    let mut w = world().await;
    let dialing = w
        .ata
        .dial_with(
            DialRequest {
                target: format!("sip:999@{}", w.fb),
                from_user: "2001".into(),
                offer: audio_sdp("127.0.0.3:40000".parse().unwrap()),
                account: None,
            },
            DialOptions {
                privacy: Some("id".into()),
                ..DialOptions::default()
            },
        )
        .await
        .unwrap();
    let incoming = timeout(WAIT, w.trunk_calls.recv()).await.unwrap().unwrap();
    assert_eq!(incoming.did.as_deref(), Some("999"));
    assert_eq!(
        user_of(&incoming.from),
        "+441632960001",
        "the building's emergency CLI"
    );
    // The same number in P-Asserted-Identity, and never anonymous: the
    // operator locates the caller by it.
    let pai = incoming
        .asserted_identity
        .clone()
        .expect("P-Asserted-Identity");
    assert!(pai.starts_with("<sip:+441632960001@127.0.0.1:"), "{pai}");
    assert!(pai.ends_with(";user=phone>"), "{pai}");
    assert_eq!(incoming.privacy, None);
    incoming.reject(486);
    match timeout(WAIT, dialing.outcome()).await.unwrap() {
        Err(DialError::Rejected { status, .. }) => assert_eq!(status, 486),
        other => panic!("expected 486, got {other:?}"),
    }
    assert!(matches!(
        timeout(WAIT, w.outcomes.recv()).await.unwrap().unwrap(),
        BridgeOutcome::Refused { status: 486 }
    ));
}

#[tokio::test]
async fn cancel_from_the_port_cancels_the_trunk_leg() {
    let mut w = world().await;
    let mut dialing = w
        .ata
        .dial(DialRequest {
            target: format!("sip:01223123456@{}", w.fb),
            from_user: "2001".into(),
            offer: audio_sdp("127.0.0.3:40002".parse().unwrap()),
            account: None,
        })
        .await
        .unwrap();
    let mut incoming = timeout(WAIT, w.trunk_calls.recv()).await.unwrap().unwrap();
    incoming.ring();
    timeout(WAIT, dialing.next_progress())
        .await
        .unwrap()
        .unwrap();
    dialing.handle().hangup().await.unwrap();
    match timeout(WAIT, dialing.outcome()).await.unwrap() {
        Err(DialError::Rejected { status, .. }) => assert_eq!(status, 487),
        other => panic!("expected 487, got {other:?}"),
    }
    assert!(matches!(
        timeout(WAIT, incoming.next_event()).await.unwrap(),
        Some(CallEvent::Ended(EndReason::Cancelled))
    ));
    assert!(matches!(
        timeout(WAIT, w.outcomes.recv()).await.unwrap().unwrap(),
        BridgeOutcome::Cancelled
    ));
}

#[tokio::test]
async fn unknown_ports_are_refused() {
    let mut w = world().await;
    let refused = w
        .ata
        .dial(DialRequest {
            target: format!("sip:01223123456@{}", w.fb),
            from_user: "2999".into(),
            offer: audio_sdp("127.0.0.3:40004".parse().unwrap()),
            account: None,
        })
        .await
        .unwrap();
    match timeout(WAIT, refused.outcome()).await.unwrap() {
        Err(DialError::Rejected { status, .. }) => assert_eq!(status, 403),
        other => panic!("expected 403, got {other:?}"),
    }
    // Refused by the router at the endpoint: never handed to the bridge.
    assert_never_bridged(&mut w.outcomes).await;
    assert!(w.trunk_calls.try_recv().is_err());
}

/// The call was refused before it reached the bridge: no outcome comes.
async fn assert_never_bridged(outcomes: &mut mpsc::UnboundedReceiver<BridgeOutcome>) {
    if let Ok(Some(outcome)) = timeout(Duration::from_millis(500), outcomes.recv()).await {
        panic!("a call the router refused reached the bridge: {outcome:?}");
    }
}

#[tokio::test]
async fn a_trunk_call_to_a_line_number_rings_its_port_with_the_caller_id() {
    let mut w = world().await;
    let dialing = w
        .trunk
        .dial_with(
            DialRequest {
                target: format!("sip:01632960201@{}", w.fb),
                from_user: "+441223123456".into(),
                offer: audio_sdp("127.0.0.2:40006".parse().unwrap()),
                account: None,
            },
            DialOptions {
                asserted_identity: Some("<sip:+441223123456@carrier.example>".into()),
                privacy: Some("none".into()),
                ..DialOptions::default()
            },
        )
        .await
        .unwrap();
    let incoming = timeout(WAIT, w.ata_calls.recv()).await.unwrap().unwrap();
    assert_eq!(incoming.did.as_deref(), Some("2001"), "the port's SIP user");
    assert_eq!(
        user_of(&incoming.from),
        "+441223123456",
        "caller ID passes through"
    );
    assert_eq!(
        incoming.asserted_identity.as_deref(),
        Some("<sip:+441223123456@carrier.example>"),
        "the carrier's assertion passes through"
    );
    assert_eq!(incoming.privacy.as_deref(), Some("none"));
    incoming.reject(486);
    match timeout(WAIT, dialing.outcome()).await.unwrap() {
        Err(DialError::Rejected { status, .. }) => assert_eq!(status, 486),
        other => panic!("expected 486, got {other:?}"),
    }
    assert!(matches!(
        timeout(WAIT, w.outcomes.recv()).await.unwrap().unwrap(),
        BridgeOutcome::Refused { status: 486 }
    ));
}

fn t38_sdp(addr: SocketAddr, version: u32) -> Vec<u8> {
    format!(
        "v=0\r\no=- 77 {version} IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
         m=image {port} udptl t38\r\na=T38FaxVersion:0\r\na=T38MaxBitRate:14400\r\n\
         a=T38FaxRateManagement:transferredTCF\r\na=T38FaxMaxDatagram:180\r\n\
         a=T38FaxUdpEC:t38UDPRedundancy\r\n",
        ip = addr.ip(),
        port = addr.port()
    )
    .into_bytes()
}

#[tokio::test]
async fn a_reinvite_to_t38_is_translated_and_udptl_flows_through_the_relay() {
    let mut w = world().await;
    let ata_media = UdpSocket::bind("127.0.0.3:0").await.unwrap();
    let trunk_media = UdpSocket::bind("127.0.0.2:0").await.unwrap();
    let ata_t38 = UdpSocket::bind("127.0.0.3:0").await.unwrap();
    let trunk_t38 = UdpSocket::bind("127.0.0.2:0").await.unwrap();
    let dialing = w
        .ata
        .dial(DialRequest {
            target: format!("sip:01223123456@{}", w.fb),
            from_user: "2001".into(),
            offer: audio_sdp(ata_media.local_addr().unwrap()),
            account: None,
        })
        .await
        .unwrap();
    let incoming = timeout(WAIT, w.trunk_calls.recv()).await.unwrap().unwrap();
    let mut trunk_call = incoming
        .accept(audio_sdp(trunk_media.local_addr().unwrap()))
        .unwrap();
    let ata_call = timeout(WAIT, dialing.outcome()).await.unwrap().unwrap();

    // The trunk side answers T.38 re-INVITEs with T.38 and reports the offer.
    let trunk_t38_addr = trunk_t38.local_addr().unwrap();
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(ev) = trunk_call.next_event().await {
            if let CallEvent::ReInvite(r) = ev {
                let _ = seen_tx.send((r.is_t38(), media_of(&r.offer)));
                r.accept(t38_sdp(trunk_t38_addr, 2));
            }
        }
    });
    // The ATA hears CNG and re-INVITEs to T.38 (as Mediatrix does).
    let outcome = timeout(
        WAIT,
        ata_call
            .handle
            .reinvite(t38_sdp(ata_t38.local_addr().unwrap(), 2)),
    )
    .await
    .unwrap()
    .unwrap();
    let (t38, trunk_sees) = seen.recv().await.unwrap();
    assert!(t38, "the trunk was offered T.38");
    assert_eq!(trunk_sees.ip().to_string(), "127.0.0.1");
    let ata_sees = match outcome {
        faxbridge::sip::ReInviteOutcome::Accepted(answer) => {
            let sd = faxbridge::sdp::parse(std::str::from_utf8(&answer).unwrap()).unwrap();
            assert!(sd.media[0].is_udptl_t38(), "{sd:?}");
            media_of(&answer)
        }
        other => panic!("{other:?}"),
    };
    // A UDPTL datagram each way, untouched.
    let ifp = [0x00, 0x00, 0x03, 0x02, 0x00, 0x00];
    let mut buf = [0u8; 256];
    let mut delivered = false;
    for _ in 0..20 {
        ata_t38.send_to(&ifp, ata_sees).await.unwrap();
        if let Ok(Ok((n, _))) =
            timeout(Duration::from_millis(100), trunk_t38.recv_from(&mut buf)).await
        {
            assert_eq!(&buf[..n], &ifp);
            delivered = true;
            break;
        }
    }
    assert!(delivered, "UDPTL reached the trunk");
    let back = [0x00, 0x01, 0x02, 0x00, 0x0c];
    trunk_t38.send_to(&back, trunk_sees).await.unwrap();
    let (n, _) = timeout(WAIT, ata_t38.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], &back);

    ata_call.handle.hangup().await.unwrap();
    match timeout(WAIT, w.outcomes.recv()).await.unwrap().unwrap() {
        BridgeOutcome::Ended(report) => {
            assert!(report.from_caller.forwarded >= 1);
            assert_eq!(report.from_callee.forwarded, 1);
            assert_eq!(report.from_caller.tapped, 0, "UDPTL is not audio");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn progress_passes_through_as_the_callee_sent_it() {
    let mut w = world().await;
    let mut dialing = w
        .ata
        .dial(DialRequest {
            target: format!("sip:01223123456@{}", w.fb),
            from_user: "2001".into(),
            offer: audio_sdp("127.0.0.3:40010".parse().unwrap()),
            account: None,
        })
        .await
        .unwrap();
    let incoming = timeout(WAIT, w.trunk_calls.recv()).await.unwrap().unwrap();
    let early = audio_sdp("127.0.0.2:40012".parse().unwrap());
    // Each form a trunk may send: 183 with and without SDP, 180 with and
    // without. The caller must see the same status, with the relay's SDP
    // exactly when the callee sent SDP.
    for (status, sdp) in [(183, true), (180, false), (183, false), (180, true)] {
        incoming.provisional(status, sdp.then(|| early.clone()));
        let p = timeout(WAIT, dialing.next_progress())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(p.status, status, "{status} with SDP {sdp}");
        match &p.sdp {
            Some(s) if sdp => assert_eq!(
                media_of(s).ip().to_string(),
                "127.0.0.1",
                "early media goes through the relay"
            ),
            None if !sdp => {}
            other => panic!("{status}: SDP {other:?}, expected {sdp}"),
        }
    }
    incoming.reject(486);
    match timeout(WAIT, dialing.outcome()).await.unwrap() {
        Err(DialError::Rejected { status, .. }) => assert_eq!(status, 486),
        other => panic!("expected 486, got {other:?}"),
    }
}

#[tokio::test]
async fn bridged_calls_ring_longer_than_the_answer_timeout() {
    // answer_timeout_secs = 1: an INVITE faxbridge does not answer in 1 s
    // gets 480, but a bridged call rings as long as the callee lets it.
    let mut w = world_with(1).await;
    let fax = w
        .trunk
        .dial(DialRequest {
            target: format!("sip:5000@{}", w.fb),
            from_user: "+441223123456".into(),
            offer: audio_sdp("127.0.0.2:40014".parse().unwrap()),
            account: None,
        })
        .await
        .unwrap();
    match timeout(WAIT, fax.outcome()).await.unwrap() {
        Err(DialError::Rejected { status, .. }) => {
            assert_eq!(
                status, 480,
                "the timeout applies to calls faxbridge answers"
            )
        }
        other => panic!("expected 480, got {other:?}"),
    }

    let trunk_media = UdpSocket::bind("127.0.0.2:0").await.unwrap();
    let ata_media = UdpSocket::bind("127.0.0.3:0").await.unwrap();
    let mut dialing = w
        .trunk
        .dial(DialRequest {
            target: format!("sip:01632960201@{}", w.fb),
            from_user: "+441223123456".into(),
            offer: audio_sdp(trunk_media.local_addr().unwrap()),
            account: None,
        })
        .await
        .unwrap();
    let incoming = timeout(WAIT, w.ata_calls.recv()).await.unwrap().unwrap();
    incoming.ring();
    let p = timeout(WAIT, dialing.next_progress())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.status, 180);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut ata_call = incoming
        .accept(audio_sdp(ata_media.local_addr().unwrap()))
        .unwrap();
    let trunk_call = timeout(WAIT, dialing.outcome())
        .await
        .unwrap()
        .expect("answered after ringing three times the answer timeout");
    trunk_call.handle.hangup().await.unwrap();
    loop {
        match timeout(WAIT, ata_call.next_event()).await.unwrap() {
            Some(CallEvent::Ended(r)) => {
                assert_eq!(r, EndReason::RemoteHangup);
                break;
            }
            Some(_) => {}
            None => panic!("no end event"),
        }
    }
    assert!(matches!(
        timeout(WAIT, w.outcomes.recv()).await.unwrap().unwrap(),
        BridgeOutcome::Ended(_)
    ));
}

/// The world's ATA apart from the rest, so that it and other ATAs can be
/// used beside the trunk and faxbridge.
struct Far {
    _trunk: SipEndpoint,
    _ata_calls: mpsc::Receiver<IncomingCall>,
    trunk_calls: mpsc::Receiver<IncomingCall>,
    fb: SocketAddr,
    outcomes: mpsc::UnboundedReceiver<BridgeOutcome>,
}

fn split(w: World) -> (SipEndpoint, Far) {
    let far = Far {
        _trunk: w.trunk,
        _ata_calls: w.ata_calls,
        trunk_calls: w.trunk_calls,
        fb: w.fb,
        outcomes: w.outcomes,
    };
    (w.ata, far)
}

/// An ATA endpoint bound on `ip` (another unit than the world's ATA).
async fn ata_at(ip: &str) -> SipEndpoint {
    let loopback = "[[peers]]\nname = \"lo\"\naddresses = [\"127.0.0.0/8\"]\n";
    endpoint(&format!("{ip}:0"), loopback).await.0
}

/// `ata` calls `request_user` as port `port_user` through faxbridge, with
/// privacy asked for as a port may; returns the call as the trunk sees it
/// and the caller's side of it.
async fn call_from(
    w: &mut Far,
    ata: &SipEndpoint,
    port_user: &str,
    request_user: &str,
) -> (IncomingCall, faxbridge::sip::Dialing) {
    let media = ata.udp_addr().unwrap().ip();
    let dialing = ata
        .dial_with(
            DialRequest {
                target: format!("sip:{request_user}@{}", w.fb),
                from_user: port_user.into(),
                offer: audio_sdp(SocketAddr::new(media, 40100)),
                account: None,
            },
            DialOptions {
                privacy: Some("id".into()),
                ..DialOptions::default()
            },
        )
        .await
        .unwrap();
    let incoming = timeout(WAIT, w.trunk_calls.recv())
        .await
        .unwrap_or_else(|_| panic!("{port_user} calling {request_user:?} never reached the trunk"))
        .unwrap();
    (incoming, dialing)
}

/// The trunk turns the call down with 486; the caller and the bridge's
/// outcome both say so.
async fn busy(w: &mut Far, incoming: IncomingCall, dialing: faxbridge::sip::Dialing) {
    incoming.reject(486);
    match timeout(WAIT, dialing.outcome()).await.unwrap() {
        Err(DialError::Rejected { status, .. }) => assert_eq!(status, 486),
        other => panic!("expected 486, got {other:?}"),
    }
    assert!(matches!(
        timeout(WAIT, w.outcomes.recv()).await.unwrap().unwrap(),
        BridgeOutcome::Refused { status: 486 }
    ));
}

/// A port call `ata` places is refused by faxbridge itself with `status`,
/// and the trunk never sees it.
async fn refused(w: &mut Far, ata: &SipEndpoint, port_user: &str, request_user: &str, status: u16) {
    let dialing = ata
        .dial(DialRequest {
            target: format!("sip:{request_user}@{}", w.fb),
            from_user: port_user.into(),
            offer: audio_sdp("127.0.0.3:40102".parse().unwrap()),
            account: None,
        })
        .await
        .unwrap();
    match timeout(WAIT, dialing.outcome()).await.unwrap() {
        Err(DialError::Rejected { status: got, .. }) => {
            assert_eq!(got, status, "{port_user} calling {request_user:?}")
        }
        other => panic!("{port_user} calling {request_user:?}: expected {status}, got {other:?}"),
    }
    assert_never_bridged(&mut w.outcomes).await;
    assert!(
        w.trunk_calls.try_recv().is_err(),
        "a refused call must not reach the trunk"
    );
}

#[tokio::test]
async fn hot_dial_ports_reach_their_number_whatever_the_unit_sends() {
    let (ata, mut w) = split(world().await);
    // Mediatrix Automatic Call: the INVITE's Request-URI user is `s` (no
    // digits were dialled), or stale digits from an older unit setting.
    for sent in ["s", "01223999999"] {
        let (incoming, dialing) = call_from(&mut w, &ata, "2002", sent).await;
        assert_eq!(
            incoming.did.as_deref(),
            Some("+441223000001"),
            "hot dial with {sent:?} reaches hot_dial"
        );
        assert_eq!(
            user_of(&incoming.from),
            "+441632960202",
            "the port's number"
        );
        busy(&mut w, incoming, dialing).await;
    }
}

#[tokio::test]
async fn warm_dial_ports_reach_their_number_on_the_delayed_hotline_marker() {
    let (ata, mut w) = split(world().await);
    // Mediatrix Delayed Hotline fires with the marker (any case) as target,
    // or an Automatic-Call-style INVITE without a number.
    for sent in ["warm", "WARM", "s"] {
        let (incoming, dialing) = call_from(&mut w, &ata, "2003", sent).await;
        assert_eq!(
            incoming.did.as_deref(),
            Some("+441223000002"),
            "warm dial with {sent:?} reaches warm_dial"
        );
        assert_eq!(
            user_of(&incoming.from),
            "+441632960203",
            "the port's number"
        );
        busy(&mut w, incoming, dialing).await;
    }
    // Digits dialled before the timer are the user's own call.
    let (incoming, dialing) = call_from(&mut w, &ata, "2003", "01223123456").await;
    assert_eq!(incoming.did.as_deref(), Some("+441223123456"));
    busy(&mut w, incoming, dialing).await;
}

#[tokio::test]
async fn a_port_without_hot_or_warm_dial_sending_the_marker_is_refused_484() {
    let (ata, mut w) = split(world().await);
    // 484 Address Incomplete (RFC 3261 §21.4.22): the unit's Delayed
    // Hotline fired but faxbridge has no number for the port, or the unit
    // sent no number at all.
    refused(&mut w, &ata, "2004", "warm", 484).await;
    refused(&mut w, &ata, "2004", "s", 484).await;
    // The same port dialling a number still gets through.
    let (incoming, dialing) = call_from(&mut w, &ata, "2004", "01223123456").await;
    assert_eq!(incoming.did.as_deref(), Some("+441223123456"));
    busy(&mut w, incoming, dialing).await;
}

/// Asserts the trunk sees an emergency call presenting `cli` in From and
/// in P-Asserted-Identity, without privacy, then turns it down busy.
async fn emergency_presents(
    w: &mut Far,
    ata: &SipEndpoint,
    port_user: &str,
    number: &str,
    cli: &str,
) {
    let (incoming, dialing) = call_from(w, ata, port_user, number).await;
    let who = format!("{number} from {port_user} at {}", ata.udp_addr().unwrap());
    assert_eq!(incoming.did.as_deref(), Some(number), "{who}");
    assert_eq!(user_of(&incoming.from), cli, "{who}: From");
    let pai = incoming
        .asserted_identity
        .clone()
        .unwrap_or_else(|| panic!("{who}: no P-Asserted-Identity"));
    assert!(
        pai.starts_with(&format!("<sip:{cli}@127.0.0.1:")),
        "{who}: P-Asserted-Identity {pai}"
    );
    assert_eq!(incoming.privacy, None, "{who}: never anonymous");
    busy(w, incoming, dialing).await;
}

#[tokio::test]
async fn emergency_calls_from_two_buildings_present_each_buildings_cli() {
    let (ho, mut w) = split(world().await);
    let annex = ata_at("127.0.1.3").await;
    for number in ["999", "112"] {
        emergency_presents(&mut w, &ho, "2001", number, "+441632960001").await;
        emergency_presents(&mut w, &annex, "3001", number, "+441632960002").await;
    }
    // A hot-dial port in HO still reaches 999 when it is dialled.
    emergency_presents(&mut w, &ho, "2002", "999", "+441632960001").await;
}

#[tokio::test]
async fn emergency_calls_from_a_subnet_without_a_building_still_get_through() {
    let (_ho, mut w) = split(world().await);
    let shed = ata_at("127.0.2.3").await;
    // No building holds 127.0.2.3: the plan presents the port's own number
    // so that the operator at least has a number to call back.
    for number in ["999", "112"] {
        emergency_presents(&mut w, &shed, "4001", number, "+441632960401").await;
    }
}
