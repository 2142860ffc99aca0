//! Two faxbridge SIP endpoints talking over loopback UDP and TCP, plus raw
//! datagrams for the messages no well-behaved stack would send.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use faxbridge::sip::acl::Account;
use faxbridge::sip::{
    ActiveCall, CallEvent, DialError, DialRequest, EndReason, IncomingCall, ReInviteOutcome,
    SipConfig, SipEndpoint,
};
use tokio::sync::mpsc;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);

fn audio_sdp(port: u16, version: u32) -> Vec<u8> {
    format!(
        "v=0\r\no=- 4242 {version} IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
    )
    .into_bytes()
}

fn t38_sdp(port: u16, version: u32) -> Vec<u8> {
    format!(
        "v=0\r\no=- 4242 {version} IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=image {port} udptl t38\r\na=T38FaxVersion:0\r\na=T38MaxBitRate:14400\r\n\
         a=T38FaxRateManagement:transferredTCF\r\na=T38FaxUdpEC:t38UDPRedundancy\r\n"
    )
    .into_bytes()
}

fn config(peers: &str, extra: &str) -> SipConfig {
    let text = format!(
        "listen = \"127.0.0.1:0\"\n{extra}\n{peers}\n[routing]\nroutes = [{{ did = \"2000\", route = \"fax-in\" }}]\n"
    );
    toml::from_str(&text).expect("test config")
}

fn loopback_peer() -> &'static str {
    "[[peers]]\nname = \"loopback\"\naddresses = [\"127.0.0.0/8\"]\n"
}

async fn start(cfg: SipConfig) -> (SipEndpoint, mpsc::Receiver<IncomingCall>) {
    SipEndpoint::start(&cfg).await.expect("endpoint starts")
}

fn target(ep: &SipEndpoint, user: &str, tcp: bool) -> String {
    if tcp {
        format!("sip:{user}@{};transport=tcp", ep.tcp_addr().unwrap())
    } else {
        format!("sip:{user}@{}", ep.udp_addr().unwrap())
    }
}

fn dial_req(target: String, offer: Vec<u8>) -> DialRequest {
    DialRequest {
        target,
        from_user: "1000".into(),
        offer,
        account: None,
    }
}

/// Answers every call and every re-INVITE the way the fax layer would:
/// T.38 offers get an image answer, audio offers an audio answer. Reports
/// every event on the returned channel.
fn auto_answer(mut calls: mpsc::Receiver<IncomingCall>) -> mpsc::UnboundedReceiver<String> {
    let (report, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(call) = calls.recv().await {
            let report = report.clone();
            tokio::spawn(async move {
                let _ = report.send(format!(
                    "incoming did={:?} route={} peer={}",
                    call.did,
                    call.fax_route().unwrap_or("-"),
                    call.peer
                ));
                let mut active = call.accept(audio_sdp(30000, 1)).expect("accept");
                serve_events(&mut active, &report, 30000).await;
            });
        }
    });
    rx
}

async fn serve_events(active: &mut ActiveCall, report: &mpsc::UnboundedSender<String>, port: u16) {
    let mut version = 10;
    while let Some(ev) = active.next_event().await {
        match ev {
            CallEvent::Established => {
                let _ = report.send("established".into());
            }
            CallEvent::ReInvite(r) => {
                version += 1;
                if r.is_t38() {
                    let _ = report.send("reinvite t38".into());
                    r.accept(t38_sdp(port + 2, version));
                } else {
                    let _ = report.send("reinvite audio".into());
                    r.accept(audio_sdp(port, version));
                }
            }
            CallEvent::Ended(why) => {
                let _ = report.send(format!("ended {why:?}"));
                return;
            }
        }
    }
}

async fn expect(rx: &mut mpsc::UnboundedReceiver<String>, want: &str) {
    let got = timeout(WAIT, rx.recv())
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for `{want}`"))
        .expect("reporter alive");
    assert!(got.starts_with(want), "expected `{want}`, got `{got}`");
}

async fn wait_idle(ep: &SipEndpoint) {
    for _ in 0..200 {
        if ep.active_calls() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("calls were not cleaned up: {}", ep.active_calls());
}

#[tokio::test]
async fn options_answered_over_udp_and_tcp() {
    let (a, _ca) = start(config(loopback_peer(), "")).await;
    let (b, _cb) = start(config(loopback_peer(), "")).await;
    assert_eq!(a.options(&target(&b, "2000", false)).await.unwrap(), 200);
    assert_eq!(a.options(&target(&b, "2000", true)).await.unwrap(), 200);
}

async fn basic_call(tcp: bool) {
    let (a, _ca) = start(config(loopback_peer(), "")).await;
    let (b, cb) = start(config(loopback_peer(), "")).await;
    let mut b_events = auto_answer(cb);

    let dialing = a
        .dial(dial_req(target(&b, "2000", tcp), audio_sdp(20000, 1)))
        .await
        .unwrap();
    let mut call = timeout(WAIT, dialing.outcome()).await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&call.remote_sdp).contains("m=audio 30000"));
    expect(
        &mut b_events,
        "incoming did=Some(\"2000\") route=fax-in peer=loopback",
    )
    .await;
    expect(&mut b_events, "established").await;
    assert!(matches!(
        timeout(WAIT, call.next_event()).await.unwrap(),
        Some(CallEvent::Established)
    ));

    call.handle.hangup().await.unwrap();
    expect(&mut b_events, "ended RemoteHangup").await;
    assert!(matches!(
        timeout(WAIT, call.next_event()).await.unwrap(),
        Some(CallEvent::Ended(EndReason::LocalHangup))
    ));
    wait_idle(&a).await;
    wait_idle(&b).await;
}

#[tokio::test]
async fn invite_ok_ack_bye_over_udp() {
    basic_call(false).await;
}

#[tokio::test]
async fn invite_ok_ack_bye_over_tcp() {
    basic_call(true).await;
}

#[tokio::test]
async fn cancel_before_answer_gets_487() {
    let (a, _ca) = start(config(loopback_peer(), "")).await;
    let (b, mut cb) = start(config(loopback_peer(), "")).await;
    let mut dialing = a
        .dial(dial_req(target(&b, "2000", false), audio_sdp(20000, 1)))
        .await
        .unwrap();
    let mut incoming = timeout(WAIT, cb.recv()).await.unwrap().unwrap();
    incoming.ring();
    let progress = timeout(WAIT, dialing.next_progress())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(progress.status, 180);

    dialing.handle().hangup().await.unwrap();
    match timeout(WAIT, dialing.outcome()).await.unwrap() {
        Err(DialError::Rejected { status, .. }) => assert_eq!(status, 487),
        other => panic!("expected 487, got {other:?}"),
    }
    assert!(matches!(
        timeout(WAIT, incoming.next_event()).await.unwrap(),
        Some(CallEvent::Ended(EndReason::Cancelled))
    ));
    // Answering after the CANCEL is refused.
    assert!(incoming.accept(audio_sdp(1, 1)).is_err());
    wait_idle(&a).await;
    wait_idle(&b).await;
}

async fn reinvite_both_ways(tcp: bool) {
    let (a, _ca) = start(config(loopback_peer(), "")).await;
    let (b, mut cb) = start(config(loopback_peer(), "")).await;

    let dialing = a
        .dial(dial_req(target(&b, "2000", tcp), audio_sdp(20000, 1)))
        .await
        .unwrap();
    let incoming = timeout(WAIT, cb.recv()).await.unwrap().unwrap();
    let mut b_call = incoming.accept(audio_sdp(30000, 1)).unwrap();
    let mut a_call = timeout(WAIT, dialing.outcome()).await.unwrap().unwrap();
    assert!(matches!(
        timeout(WAIT, b_call.next_event()).await.unwrap(),
        Some(CallEvent::Established)
    ));

    // The caller (A) switches to T.38; B's handler answers with an image line.
    let a_handle = a_call.handle.clone();
    let a_switch = tokio::spawn(async move { a_handle.reinvite(t38_sdp(20002, 2)).await });
    match timeout(WAIT, b_call.next_event()).await.unwrap() {
        Some(CallEvent::ReInvite(r)) => {
            assert!(r.is_t38(), "T.38 offer recognised");
            r.accept(t38_sdp(30002, 2));
        }
        other => panic!("expected a re-INVITE, got {other:?}"),
    }
    match timeout(WAIT, a_switch).await.unwrap().unwrap().unwrap() {
        ReInviteOutcome::Accepted(answer) => {
            assert!(String::from_utf8_lossy(&answer).contains("m=image 30002 udptl t38"))
        }
        other => panic!("T.38 switch refused: {other:?}"),
    }

    // From now on A's handler answers re-INVITEs like the fax layer would,
    // and refuses them with 488 once `refuse` is set.
    let refuse = Arc::new(AtomicBool::new(false));
    let (a_tx, mut a_events) = mpsc::unbounded_channel();
    {
        let refuse = refuse.clone();
        tokio::spawn(async move {
            let mut version = 100;
            while let Some(ev) = a_call.next_event().await {
                match ev {
                    CallEvent::ReInvite(r) if refuse.load(Ordering::SeqCst) => r.reject(488),
                    CallEvent::ReInvite(r) => {
                        version += 1;
                        let t38 = r.is_t38();
                        let _ =
                            a_tx.send(format!("reinvite {}", if t38 { "t38" } else { "audio" }));
                        r.accept(if t38 {
                            t38_sdp(20002, version)
                        } else {
                            audio_sdp(20000, version)
                        });
                    }
                    CallEvent::Ended(why) => {
                        let _ = a_tx.send(format!("ended {why:?}"));
                    }
                    CallEvent::Established => {}
                }
            }
        });
    }

    // The called side (B) switches back to audio; A's handler answers.
    match b_call.handle.reinvite(audio_sdp(30000, 3)).await.unwrap() {
        ReInviteOutcome::Accepted(answer) => {
            assert!(String::from_utf8_lossy(&answer).contains("m=audio 20000"))
        }
        other => panic!("switch back refused: {other:?}"),
    }
    // And B re-INVITEs to T.38 (the far end detecting CED).
    match b_call.handle.reinvite(t38_sdp(30002, 4)).await.unwrap() {
        ReInviteOutcome::Accepted(answer) => {
            assert!(String::from_utf8_lossy(&answer).contains("m=image"))
        }
        other => panic!("T.38 from the called side refused: {other:?}"),
    }
    // A session refresh repeating the last offer is answered without the handler.
    match b_call.handle.reinvite(t38_sdp(30002, 4)).await.unwrap() {
        ReInviteOutcome::Accepted(_) => {}
        other => panic!("refresh refused: {other:?}"),
    }
    expect(&mut a_events, "reinvite audio").await;
    expect(&mut a_events, "reinvite t38").await;

    // A refuses an offer with 488: the session continues.
    refuse.store(true, Ordering::SeqCst);
    let b_handle = b_call.handle.clone();
    match b_handle.reinvite(audio_sdp(30000, 5)).await.unwrap() {
        ReInviteOutcome::Rejected(488) => {}
        other => panic!("expected 488, got {other:?}"),
    }
    b_handle.hangup().await.unwrap();
    expect(&mut a_events, "ended RemoteHangup").await;
    wait_idle(&a).await;
    wait_idle(&b).await;
}

#[tokio::test]
async fn reinvite_to_t38_and_back_over_udp() {
    reinvite_both_ways(false).await;
}

#[tokio::test]
async fn reinvite_to_t38_and_back_over_tcp() {
    reinvite_both_ways(true).await;
}

#[tokio::test]
async fn concurrent_reinvites_from_both_sides_complete() {
    let (a, mut ca) = start(config(loopback_peer(), "")).await;
    let (b, mut cb) = start(config(loopback_peer(), "")).await;
    let dialing = a
        .dial(dial_req(target(&b, "2000", false), audio_sdp(20000, 1)))
        .await
        .unwrap();
    let incoming = timeout(WAIT, cb.recv()).await.unwrap().unwrap();
    let b_call = incoming.accept(audio_sdp(30000, 1)).unwrap();
    let a_call = timeout(WAIT, dialing.outcome()).await.unwrap().unwrap();
    assert!(ca.try_recv().is_err());

    // Both handlers accept whatever they are offered.
    let (tx, mut seen) = mpsc::unbounded_channel();
    let (ha, hb) = (a_call.handle.clone(), b_call.handle.clone());
    for (mut call, port) in [(a_call, 20000u16), (b_call, 30000u16)] {
        let tx = tx.clone();
        tokio::spawn(async move { serve_events(&mut call, &tx, port).await });
    }
    let (ra, rb) = tokio::join!(
        ha.reinvite(t38_sdp(20002, 2)),
        hb.reinvite(t38_sdp(30002, 2))
    );
    assert!(matches!(ra.unwrap(), ReInviteOutcome::Accepted(_)));
    assert!(matches!(rb.unwrap(), ReInviteOutcome::Accepted(_)));
    let mut t38_seen = 0;
    while let Ok(ev) = seen.try_recv() {
        if ev == "reinvite t38" {
            t38_seen += 1;
        }
    }
    assert!(
        t38_seen >= 1,
        "at least one side's handler saw the other's offer"
    );
    ha.hangup().await.unwrap();
    wait_idle(&a).await;
    wait_idle(&b).await;
}

#[tokio::test]
async fn unknown_source_is_forbidden() {
    let (a, _ca) = start(config(loopback_peer(), "")).await;
    let only_other =
        "[[peers]]\nname = \"elsewhere\"\naddresses = [\"192.0.2.0/24\", \"127.0.0.2\"]\n";
    let (b, _cb) = start(config(only_other, "")).await;
    assert_eq!(a.options(&target(&b, "2000", false)).await.unwrap(), 403);
    let dialing = a
        .dial(dial_req(target(&b, "2000", false), audio_sdp(20000, 1)))
        .await
        .unwrap();
    match timeout(WAIT, dialing.outcome()).await.unwrap() {
        Err(DialError::Rejected { status: 403, .. }) => {}
        other => panic!("expected 403, got {other:?}"),
    }
}

#[tokio::test]
async fn digest_challenge_then_authenticated_invite() {
    let (a, _ca) = start(config(loopback_peer(), "")).await;
    let auth = "realm = \"fax.test\"\n[auth]\naccounts = [{ username = \"roamer\", password = \"s3cret\", sources = [\"127.0.0.0/8\"] }]\n";
    let (b, cb) = start(config("", auth)).await;
    let mut b_events = auto_answer(cb);

    // No credentials: the challenge is final.
    let dialing = a
        .dial(dial_req(target(&b, "2000", false), audio_sdp(20000, 1)))
        .await
        .unwrap();
    match timeout(WAIT, dialing.outcome()).await.unwrap() {
        Err(DialError::Rejected { status: 401, .. }) => {}
        other => panic!("expected 401, got {other:?}"),
    }
    // Wrong password: challenged again, then given up.
    let mut req = dial_req(target(&b, "2000", true), audio_sdp(20000, 1));
    req.account = Some(Account {
        username: "roamer".into(),
        password: "guess".into(),
    });
    match timeout(WAIT, a.dial(req).await.unwrap().outcome())
        .await
        .unwrap()
    {
        Err(DialError::Rejected { status: 401, .. }) => {}
        other => panic!("expected 401, got {other:?}"),
    }
    // Right password: the call goes through.
    let mut req = dial_req(target(&b, "2000", false), audio_sdp(20000, 1));
    req.account = Some(Account {
        username: "roamer".into(),
        password: "s3cret".into(),
    });
    let call = timeout(WAIT, a.dial(req).await.unwrap().outcome())
        .await
        .unwrap()
        .expect("authenticated call");
    expect(
        &mut b_events,
        "incoming did=Some(\"2000\") route=fax-in peer=roamer",
    )
    .await;
    call.handle.hangup().await.unwrap();
    wait_idle(&a).await;
    wait_idle(&b).await;
}

#[tokio::test]
async fn unknown_number_gets_404_and_bad_offer_488() {
    let (a, _ca) = start(config(loopback_peer(), "")).await;
    let (b, _cb) = start(config(loopback_peer(), "")).await;
    for tcp in [false, true] {
        let dialing = a
            .dial(dial_req(target(&b, "3999", tcp), audio_sdp(20000, 1)))
            .await
            .unwrap();
        match timeout(WAIT, dialing.outcome()).await.unwrap() {
            Err(DialError::Rejected { status: 404, .. }) => {}
            other => panic!("expected 404, got {other:?}"),
        }
    }
    let g729 = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
                 m=audio 20000 RTP/AVP 18\r\n"
        .to_vec();
    let dialing = a
        .dial(dial_req(target(&b, "2000", false), g729))
        .await
        .unwrap();
    match timeout(WAIT, dialing.outcome()).await.unwrap() {
        Err(DialError::Rejected { status: 488, .. }) => {}
        other => panic!("expected 488, got {other:?}"),
    }
    wait_idle(&a).await;
    wait_idle(&b).await;
}

fn raw_request(sock: &UdpSocket, to: SocketAddr, text: &str) -> Option<String> {
    sock.send_to(text.as_bytes(), to).unwrap();
    let mut buf = [0u8; 4096];
    match sock.recv_from(&mut buf) {
        Ok((n, _)) => Some(String::from_utf8_lossy(&buf[..n]).into_owned()),
        Err(_) => None,
    }
}

fn options_text(local: SocketAddr, branch: &str, extra_headers: &str, drop: &str) -> String {
    let text = format!(
        "OPTIONS sip:2000@127.0.0.1 SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch=z9hG4bK{branch};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:raw@{local}>;tag=raw1\r\n\
         To: <sip:2000@127.0.0.1>\r\n\
         Call-ID: {branch}@raw\r\n\
         CSeq: 1 OPTIONS\r\n\
         {extra_headers}\
         Content-Length: 0\r\n\r\n"
    );
    text.replace(drop, "")
}

#[tokio::test]
async fn malformed_datagrams_get_400_or_are_dropped_and_service_continues() {
    let (a, _ca) = start(config(loopback_peer(), "")).await;
    let (b, cb) = start(config(loopback_peer(), "")).await;
    let mut b_events = auto_answer(cb);
    let b_addr = b.udp_addr().unwrap();
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(700)))
        .unwrap();
    let local = sock.local_addr().unwrap();

    let ok = tokio::task::spawn_blocking(move || {
        let mut results = Vec::new();
        // Sanity: a well-formed OPTIONS is answered 200.
        results.push(raw_request(
            &sock,
            b_addr,
            &options_text(local, "good", "", "#"),
        ));
        // Garbage: nothing to answer.
        results.push(raw_request(
            &sock,
            b_addr,
            "\u{1}\u{2}not sip at all\r\n\r\n",
        ));
        // Missing CSeq: 400.
        results.push(raw_request(
            &sock,
            b_addr,
            &options_text(local, "nocseq", "", "CSeq: 1 OPTIONS\r\n"),
        ));
        // Missing Via: cannot be answered, dropped.
        let no_via = options_text(local, "novia", "", "#");
        let no_via = no_via
            .lines()
            .filter(|l| !l.starts_with("Via:"))
            .collect::<Vec<_>>()
            .join("\r\n");
        results.push(raw_request(&sock, b_addr, &no_via));
        // Content-Length larger than the body: 400 (RFC 3261 §18.3).
        let long = options_text(local, "longcl", "", "#")
            .replace("Content-Length: 0", "Content-Length: 300");
        results.push(raw_request(&sock, b_addr, &long));
        // Unreadable Content-Length: 400.
        let bad =
            options_text(local, "badcl", "", "#").replace("Content-Length: 0", "Content-Length: x");
        results.push(raw_request(&sock, b_addr, &bad));
        results
    })
    .await
    .unwrap();
    assert!(
        ok[0].as_deref().unwrap_or("").starts_with("SIP/2.0 200"),
        "{:?}",
        ok[0]
    );
    assert!(
        ok[0].as_deref().unwrap().contains("Allow: INVITE"),
        "{:?}",
        ok[0]
    );
    assert_eq!(ok[1], None, "garbage is dropped");
    assert!(
        ok[2].as_deref().unwrap_or("").starts_with("SIP/2.0 400"),
        "{:?}",
        ok[2]
    );
    assert!(ok[2].as_deref().unwrap().contains("branch=z9hG4bKnocseq"));
    assert_eq!(ok[3], None, "no Via, no answer");
    assert!(
        ok[4].as_deref().unwrap_or("").starts_with("SIP/2.0 400"),
        "{:?}",
        ok[4]
    );
    assert!(
        ok[5].as_deref().unwrap_or("").starts_with("SIP/2.0 400"),
        "{:?}",
        ok[5]
    );

    // The endpoint still takes calls.
    let dialing = a
        .dial(dial_req(target(&b, "2000", false), audio_sdp(20000, 1)))
        .await
        .unwrap();
    let call = timeout(WAIT, dialing.outcome()).await.unwrap().unwrap();
    expect(&mut b_events, "incoming").await;
    call.handle.hangup().await.unwrap();
    wait_idle(&b).await;
}

#[tokio::test]
async fn raw_invite_from_a_plain_socket_is_answered() {
    // A hand-written INVITE as an ATA would send it, with Session-Expires:
    // the 200 must make the caller the refresher so we never cut the fax.
    let (b, cb) = start(config(loopback_peer(), "")).await;
    let mut b_events = auto_answer(cb);
    let b_addr = b.udp_addr().unwrap();
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let local = sock.local_addr().unwrap();
    let sdp = String::from_utf8(audio_sdp(40000, 1)).unwrap();
    let invite = format!(
        "INVITE sip:2000@{b_addr} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch=z9hG4bKrawinv;rport\r\n\
         Max-Forwards: 70\r\n\
         From: \"ATA\" <sip:555@{local}>;tag=ata1\r\n\
         To: <sip:2000@{b_addr}>\r\n\
         Call-ID: rawinvite@ata\r\n\
         CSeq: 7 INVITE\r\n\
         Contact: <sip:555@{local}>\r\n\
         Supported: timer\r\n\
         Session-Expires: 90\r\n\
         Content-Type: application/sdp\r\n\
         Content-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    );
    let responses = tokio::task::spawn_blocking(move || {
        sock.send_to(invite.as_bytes(), b_addr).unwrap();
        let mut out = Vec::new();
        let mut buf = [0u8; 8192];
        while let Ok((n, _)) = sock.recv_from(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            let final_ok = text.starts_with("SIP/2.0 200");
            out.push(text);
            if final_ok {
                break;
            }
        }
        (sock, out)
    })
    .await
    .unwrap();
    let (sock, responses) = responses;
    assert!(responses[0].starts_with("SIP/2.0 100"), "{responses:?}");
    let ok = responses.last().unwrap();
    assert!(ok.starts_with("SIP/2.0 200"), "{responses:?}");
    assert!(ok.contains("Session-Expires: 90;refresher=uac"), "{ok}");
    assert!(ok.contains("m=audio 30000"), "{ok}");
    let to_line = ok.lines().find(|l| l.starts_with("To:")).unwrap();
    expect(&mut b_events, "incoming").await;
    let ack = format!(
        "ACK sip:2000@{b_addr} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch=z9hG4bKrawack;rport\r\n\
         Max-Forwards: 70\r\n\
         From: \"ATA\" <sip:555@{local}>;tag=ata1\r\n\
         {to_line}\r\n\
         Call-ID: rawinvite@ata\r\n\
         CSeq: 7 ACK\r\n\
         Content-Length: 0\r\n\r\n"
    );
    sock.send_to(ack.as_bytes(), b_addr).unwrap();
    expect(&mut b_events, "established").await;

    // In-dialog requests as a session-timer refresher sends them: a
    // re-INVITE repeating the same offer (RFC 3264 §8: unchanged o= line)
    // and an UPDATE without a body. Both are answered 200 by the endpoint
    // without troubling the handler; so is an in-dialog OPTIONS.
    let in_dialog = |method: &str, cseq: u32, body: &str| {
        let ct = if body.is_empty() {
            String::new()
        } else {
            "Content-Type: application/sdp\r\n".to_string()
        };
        format!(
            "{method} sip:2000@{b_addr} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {local};branch=z9hG4bKin{cseq};rport\r\n\
             Max-Forwards: 70\r\n\
             From: \"ATA\" <sip:555@{local}>;tag=ata1\r\n\
             {to_line}\r\n\
             Call-ID: rawinvite@ata\r\n\
             CSeq: {cseq} {method}\r\n\
             Contact: <sip:555@{local}>\r\n\
             {ct}Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let refresh = in_dialog("INVITE", 8, &sdp);
    let update = in_dialog("UPDATE", 9, "");
    let options = in_dialog("OPTIONS", 10, "");
    let (sock, replies) = tokio::task::spawn_blocking(move || {
        let mut replies = Vec::new();
        for (req, cseq) in [(refresh, "CSeq: 8 INVITE"), (update, "CSeq: 9 UPDATE"), (options, "CSeq: 10 OPTIONS")] {
            sock.send_to(req.as_bytes(), b_addr).unwrap();
            let reply = recv_matching(&sock, |m| m.starts_with("SIP/2.0 2") && m.contains(cseq));
            if cseq.ends_with("INVITE") {
                let ack = format!(
                    "ACK sip:2000@{b_addr} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKack8;rport\r\n\
                     Max-Forwards: 70\r\nFrom: \"ATA\" <sip:555@{local}>;tag=ata1\r\n{}\r\n\
                     Call-ID: rawinvite@ata\r\nCSeq: 8 ACK\r\nContent-Length: 0\r\n\r\n",
                    header_lines(&reply, "To")[0]
                );
                sock.send_to(ack.as_bytes(), b_addr).unwrap();
            }
            replies.push(reply);
        }
        (sock, replies)
    })
    .await
    .unwrap();
    assert!(replies[0].starts_with("SIP/2.0 200"), "{}", replies[0]);
    assert!(
        replies[0].contains("m=audio 30000"),
        "previous answer repeated: {}",
        replies[0]
    );
    assert!(
        replies[0].contains("Session-Expires: 90;refresher=uac"),
        "{}",
        replies[0]
    );
    assert!(replies[1].starts_with("SIP/2.0 200"), "{}", replies[1]);
    assert!(replies[2].contains("Allow: INVITE"), "{}", replies[2]);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(b_events.try_recv().is_err(), "the handler saw no re-INVITE");

    let bye = format!(
        "BYE sip:2000@{b_addr} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch=z9hG4bKrawbye;rport\r\n\
         Max-Forwards: 70\r\n\
         From: \"ATA\" <sip:555@{local}>;tag=ata1\r\n\
         {to_line}\r\n\
         Call-ID: rawinvite@ata\r\n\
         CSeq: 11 BYE\r\n\
         Content-Length: 0\r\n\r\n"
    );
    let reply = tokio::task::spawn_blocking(move || {
        sock.send_to(bye.as_bytes(), b_addr).unwrap();
        let mut buf = [0u8; 4096];
        let mut last = String::new();
        while let Ok((n, _)) = sock.recv_from(&mut buf) {
            last = String::from_utf8_lossy(&buf[..n]).into_owned();
            if last.contains("CSeq: 11 BYE") {
                break;
            }
        }
        last
    })
    .await
    .unwrap();
    assert!(reply.starts_with("SIP/2.0 200"), "{reply}");
    expect(&mut b_events, "ended RemoteHangup").await;
    wait_idle(&b).await;
}

/// Header lines of a raw SIP message named `name` (case-insensitive).
fn header_lines<'a>(msg: &'a str, name: &str) -> Vec<&'a str> {
    msg.split("\r\n\r\n")
        .next()
        .unwrap_or("")
        .lines()
        .filter(|l| {
            l.split_once(':')
                .is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        })
        .collect()
}

/// A response to the raw request `req`, copying the headers RFC 3261 §8.2.6.2 asks for.
fn raw_response(req: &str, status: &str, contact: &str, body: &str) -> String {
    let mut out = format!("SIP/2.0 {status}\r\n");
    for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
        for l in header_lines(req, name) {
            out.push_str(l);
            out.push_str("\r\n");
        }
    }
    out.push_str(&format!("Contact: <{contact}>\r\n"));
    if !body.is_empty() {
        out.push_str("Content-Type: application/sdp\r\n");
    }
    out.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    out
}

/// Receives until a message satisfying `want` arrives.
fn recv_matching(sock: &UdpSocket, want: impl Fn(&str) -> bool) -> String {
    let mut buf = [0u8; 8192];
    loop {
        let (n, _) = sock
            .recv_from(&mut buf)
            .expect("message before the timeout");
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        if want(&text) {
            return text;
        }
    }
}

/// A call from a raw UDP peer (a plain socket playing the far end) to
/// endpoint B, answered and acknowledged: what glare and refusal tests
/// start from.
struct RawCall {
    b: SipEndpoint,
    b_addr: SocketAddr,
    sock: Arc<UdpSocket>,
    local: SocketAddr,
    /// From, Call-ID and Contact of the far end, for its later requests.
    dialog_headers: String,
    /// B's `To` with its tag.
    to_line: String,
    sdp: String,
    b_call: ActiveCall,
    /// B's incoming calls, kept open for the test's lifetime.
    _calls: mpsc::Receiver<IncomingCall>,
}

async fn raw_call_to_b(tag: &str) -> RawCall {
    let (b, mut cb) = start(config(loopback_peer(), "")).await;
    let b_addr = b.udp_addr().unwrap();
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(6))).unwrap();
    let local = sock.local_addr().unwrap();
    let sdp = String::from_utf8(audio_sdp(40000, 1)).unwrap();
    let dialog_headers = format!(
        "From: <sip:555@{local}>;tag={tag}1\r\nCall-ID: {tag}@ata\r\nContact: <sip:555@{local}>\r\n"
    );
    let invite = format!(
        "INVITE sip:2000@{b_addr} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{tag}1;rport\r\n\
         Max-Forwards: 70\r\n{dialog_headers}To: <sip:2000@{b_addr}>\r\nCSeq: 1 INVITE\r\n\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    );
    sock.send_to(invite.as_bytes(), b_addr).unwrap();
    let incoming = timeout(WAIT, cb.recv()).await.unwrap().unwrap();
    let mut b_call = incoming.accept(audio_sdp(30000, 1)).unwrap();
    let sock = Arc::new(sock);
    let s = sock.clone();
    let ok = tokio::task::spawn_blocking(move || {
        recv_matching(&s, |m| {
            m.starts_with("SIP/2.0 200") && m.contains("CSeq: 1 INVITE")
        })
    })
    .await
    .unwrap();
    let to_line = header_lines(&ok, "To")[0].to_string();
    let ack = format!(
        "ACK sip:2000@{b_addr} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{tag}2;rport\r\n\
         Max-Forwards: 70\r\n{dialog_headers}{to_line}\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"
    );
    sock.send_to(ack.as_bytes(), b_addr).unwrap();
    assert!(matches!(
        timeout(WAIT, b_call.next_event()).await.unwrap(),
        Some(CallEvent::Established)
    ));
    RawCall {
        _calls: cb,
        b,
        b_addr,
        sock,
        local,
        dialog_headers,
        to_line,
        sdp,
        b_call,
    }
}

#[tokio::test]
async fn glare_is_answered_491_and_retried_after_backoff() {
    let RawCall {
        b,
        b_addr,
        sock,
        local,
        dialog_headers,
        to_line,
        sdp,
        b_call,
        ..
    } = raw_call_to_b("g").await;

    // B switches to T.38 ...
    let b_handle = b_call.handle.clone();
    let started = std::time::Instant::now();
    let b_switch = tokio::spawn(async move { b_handle.reinvite(t38_sdp(30002, 2)).await });
    let s = sock.clone();
    let (first_reinvite, glare_reply) = tokio::task::spawn_blocking(move || {
        let first = recv_matching(&s, |m| m.starts_with("INVITE "));
        // ... while the far end sends its own re-INVITE: B must refuse it
        // with 491 (RFC 3261 §14.2).
        let theirs = format!(
            "INVITE sip:2000@{b_addr} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKg3;rport\r\n\
             Max-Forwards: 70\r\n{dialog_headers}{to_line}\r\nCSeq: 2 INVITE\r\n\
             Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
            sdp.len()
        );
        s.send_to(theirs.as_bytes(), b_addr).unwrap();
        let reply = recv_matching(&s, |m| m.starts_with("SIP/2.0") && m.contains("CSeq: 2 INVITE"));
        let ack = format!(
            "ACK sip:2000@{b_addr} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKg3;rport\r\n\
             Max-Forwards: 70\r\n{dialog_headers}{}\r\nCSeq: 2 ACK\r\nContent-Length: 0\r\n\r\n",
            header_lines(&reply, "To")[0]
        );
        s.send_to(ack.as_bytes(), b_addr).unwrap();
        // And the far end refuses B's re-INVITE the same way.
        let resp = raw_response(&first, "491 Request Pending", &format!("sip:555@{local}"), "");
        s.send_to(resp.as_bytes(), b_addr).unwrap();
        (first, reply)
    })
    .await
    .unwrap();
    assert!(glare_reply.starts_with("SIP/2.0 491"), "{glare_reply}");
    assert!(first_reinvite.contains("m=image 30002 udptl t38"));

    // B retries after its backoff (it did not choose the Call-ID: 0–2 s).
    let s = sock.clone();
    let first_cseq = header_lines(&first_reinvite, "CSeq")[0].to_string();
    let retry = tokio::task::spawn_blocking(move || {
        let retry = recv_matching(&s, |m| {
            m.starts_with("INVITE ") && !m.contains(first_cseq.as_str())
        });
        let answer = String::from_utf8(t38_sdp(40002, 2)).unwrap();
        let resp = raw_response(&retry, "200 OK", &format!("sip:555@{local}"), &answer);
        s.send_to(resp.as_bytes(), b_addr).unwrap();
        recv_matching(&s, |m| m.starts_with("ACK "));
        retry
    })
    .await
    .unwrap();
    assert!(retry.contains("m=image 30002 udptl t38"));
    match timeout(WAIT, b_switch).await.unwrap().unwrap().unwrap() {
        ReInviteOutcome::Accepted(answer) => {
            assert!(String::from_utf8_lossy(&answer).contains("m=image 40002"))
        }
        other => panic!("expected the retried re-INVITE to succeed, got {other:?}"),
    }
    assert!(started.elapsed() <= Duration::from_secs(5));
    let s = sock.clone();
    let bye_answer = tokio::task::spawn_blocking(move || {
        let bye = recv_matching(&s, |m| m.starts_with("BYE "));
        let resp = raw_response(&bye, "200 OK", &format!("sip:555@{local}"), "");
        s.send_to(resp.as_bytes(), b_addr).unwrap();
    });
    timeout(WAIT, b_call.handle.hangup())
        .await
        .unwrap()
        .unwrap();
    bye_answer.await.unwrap();
    wait_idle(&b).await;
}

/// A far end that refuses our re-INVITE with `500` and `Retry-After` (it was
/// still busy with another offer, or had not yet seen our ACK, RFC 3261
/// §14.2) gets it again after that wait instead of a failed switch to T.38.
#[tokio::test]
async fn reinvite_refused_500_with_retry_after_is_sent_again_after_the_wait() {
    let RawCall {
        b,
        b_addr,
        sock,
        local,
        b_call,
        ..
    } = raw_call_to_b("busy").await;

    let b_handle = b_call.handle.clone();
    let b_switch = tokio::spawn(async move { b_handle.reinvite(t38_sdp(30002, 2)).await });
    let s = sock.clone();
    let (first_at, retry_at, retry) = tokio::task::spawn_blocking(move || {
        let first = recv_matching(&s, |m| m.starts_with("INVITE "));
        let first_at = std::time::Instant::now();
        let busy = raw_response(
            &first,
            "500 Server Internal Error",
            &format!("sip:555@{local}"),
            "",
        )
        .replacen(
            "Content-Length: 0",
            "Retry-After: 2\r\nContent-Length: 0",
            1,
        );
        s.send_to(busy.as_bytes(), b_addr).unwrap();
        let first_cseq = header_lines(&first, "CSeq")[0].to_string();
        let retry = recv_matching(&s, |m| {
            m.starts_with("INVITE ") && !m.contains(first_cseq.as_str())
        });
        let retry_at = std::time::Instant::now();
        let answer = String::from_utf8(t38_sdp(40002, 2)).unwrap();
        let resp = raw_response(&retry, "200 OK", &format!("sip:555@{local}"), &answer);
        s.send_to(resp.as_bytes(), b_addr).unwrap();
        recv_matching(&s, |m| m.starts_with("ACK "));
        (first_at, retry_at, retry)
    })
    .await
    .unwrap();
    let waited = retry_at - first_at;
    assert!(
        waited >= Duration::from_millis(1900) && waited < Duration::from_secs(4),
        "sent again after {waited:?}, Retry-After was 2 s"
    );
    assert!(retry.contains("m=image 30002 udptl t38"), "{retry}");
    match timeout(WAIT, b_switch).await.unwrap().unwrap().unwrap() {
        ReInviteOutcome::Accepted(answer) => {
            assert!(String::from_utf8_lossy(&answer).contains("m=image 40002"))
        }
        other => panic!("expected the re-INVITE sent again to succeed, got {other:?}"),
    }
    let s = sock.clone();
    let bye_answer = tokio::task::spawn_blocking(move || {
        let bye = recv_matching(&s, |m| m.starts_with("BYE "));
        let resp = raw_response(&bye, "200 OK", &format!("sip:555@{local}"), "");
        s.send_to(resp.as_bytes(), b_addr).unwrap();
    });
    timeout(WAIT, b_call.handle.hangup())
        .await
        .unwrap()
        .unwrap();
    bye_answer.await.unwrap();
    wait_idle(&b).await;
}

#[tokio::test]
async fn handler_refusals_reach_the_caller() {
    let (a, _ca) = start(config(loopback_peer(), "")).await;
    let (b, mut cb) = start(config(loopback_peer(), "")).await;
    // Explicit rejection.
    let dialing = a
        .dial(dial_req(target(&b, "2000", false), audio_sdp(20000, 1)))
        .await
        .unwrap();
    timeout(WAIT, cb.recv()).await.unwrap().unwrap().reject(486);
    match timeout(WAIT, dialing.outcome()).await.unwrap() {
        Err(DialError::Rejected { status: 486, .. }) => {}
        other => panic!("expected 486, got {other:?}"),
    }
    // A handler that drops the call unanswered: 480.
    let dialing = a
        .dial(dial_req(target(&b, "2000", true), audio_sdp(20000, 1)))
        .await
        .unwrap();
    drop(timeout(WAIT, cb.recv()).await.unwrap().unwrap());
    match timeout(WAIT, dialing.outcome()).await.unwrap() {
        Err(DialError::Rejected { status: 480, .. }) => {}
        other => panic!("expected 480, got {other:?}"),
    }
    wait_idle(&a).await;
    wait_idle(&b).await;
}

#[tokio::test]
async fn malformed_tcp_streams_are_closed_or_answered_400() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (a, _ca) = start(config(loopback_peer(), "")).await;
    let (b, _cb) = start(config(loopback_peer(), "")).await;
    let b_tcp = b.tcp_addr().unwrap();

    // A request missing CSeq, correctly framed: 400 on the same connection.
    let mut conn = tokio::net::TcpStream::connect(b_tcp).await.unwrap();
    let local = conn.local_addr().unwrap();
    let text = options_text(local, "tcpnocseq", "", "CSeq: 1 OPTIONS\r\n")
        .replace("SIP/2.0/UDP", "SIP/2.0/TCP");
    conn.write_all(text.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = timeout(WAIT, conn.read(&mut buf)).await.unwrap().unwrap();
    let reply = String::from_utf8_lossy(&buf[..n]);
    assert!(reply.starts_with("SIP/2.0 400"), "{reply}");

    // Broken framing (unreadable Content-Length): the stream cannot be
    // resynchronised, so the connection is closed.
    let text =
        options_text(local, "tcpbadcl", "", "#").replace("Content-Length: 0", "Content-Length: x");
    conn.write_all(text.as_bytes()).await.unwrap();
    let n = timeout(WAIT, conn.read(&mut buf))
        .await
        .unwrap()
        .unwrap_or(0);
    assert_eq!(n, 0, "connection closed after a framing error");

    // The listener still serves new connections.
    assert_eq!(a.options(&target(&b, "2000", true)).await.unwrap(), 200);
}

#[tokio::test]
async fn shutdown_hangs_up_calls_in_progress() {
    let (a, _ca) = start(config(loopback_peer(), "")).await;
    let (b, cb) = start(config(loopback_peer(), "")).await;
    let mut b_events = auto_answer(cb);
    let dialing = a
        .dial(dial_req(target(&b, "2000", true), audio_sdp(20000, 1)))
        .await
        .unwrap();
    let mut call = timeout(WAIT, dialing.outcome()).await.unwrap().unwrap();
    expect(&mut b_events, "incoming").await;
    expect(&mut b_events, "established").await;
    assert_eq!(b.active_calls(), 1);
    b.shutdown().await;
    expect(&mut b_events, "ended LocalHangup").await;
    loop {
        match timeout(WAIT, call.next_event()).await.unwrap() {
            Some(CallEvent::Ended(why)) => {
                assert_eq!(why, EndReason::RemoteHangup);
                break;
            }
            Some(_) => continue,
            None => panic!("events ended without Ended"),
        }
    }
    wait_idle(&a).await;
}

#[tokio::test]
async fn we_refresh_the_session_when_the_far_end_makes_us_refresher() {
    // The far end (a raw UAS) answers with Session-Expires: 2;refresher=uac.
    // A long fax must not be cut: we must re-INVITE with the unchanged
    // offer before the interval ends (RFC 4028 §10: at half of it).
    let (a, _ca) = start(config(loopback_peer(), "")).await;
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let uas = sock.local_addr().unwrap();
    let offer = audio_sdp(20000, 1);
    let dialing = a
        .dial(dial_req(format!("sip:2000@{uas}"), offer.clone()))
        .await
        .unwrap();
    let answer = String::from_utf8(audio_sdp(50000, 1)).unwrap();
    let contact = format!("sip:2000@{uas}");
    let raw = tokio::task::spawn_blocking(move || {
        let invite = recv_matching(&sock, |m| m.starts_with("INVITE "));
        let to = header_lines(&invite, "To")[0].to_string();
        let ok = raw_response(&invite, "200 OK", &contact, &answer).replacen(
            &to,
            &format!("{to};tag=uas1\r\nSession-Expires: 2;refresher=uac\r\nRequire: timer"),
            1,
        );
        sock.send_to(ok.as_bytes(), sock_peer(&invite)).unwrap();
        recv_matching(&sock, |m| m.starts_with("ACK "));
        let started = std::time::Instant::now();
        let refresh = recv_matching(&sock, |m| m.starts_with("INVITE "));
        let waited = started.elapsed();
        let ok = raw_response(&refresh, "200 OK", &contact, &answer);
        sock.send_to(ok.as_bytes(), sock_peer(&refresh)).unwrap();
        (sock, invite, refresh, waited)
    });
    let call = timeout(WAIT, dialing.outcome()).await.unwrap().unwrap();
    let (sock, invite, refresh, waited) = raw.await.unwrap();
    assert!(invite.contains("Supported: timer"), "{invite}");
    assert!(
        waited <= Duration::from_millis(1900),
        "refreshed after {waited:?}"
    );
    let body = |m: &str| m.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    assert_eq!(
        body(&refresh),
        String::from_utf8(offer).unwrap(),
        "refresh repeats the offer"
    );
    let s = Arc::new(sock);
    let s2 = s.clone();
    let bye_answer = tokio::task::spawn_blocking(move || {
        let bye = recv_matching(&s2, |m| m.starts_with("BYE "));
        let ok = raw_response(&bye, "200 OK", "sip:2000@127.0.0.1", "");
        s2.send_to(ok.as_bytes(), sock_peer(&bye)).unwrap();
    });
    timeout(WAIT, call.handle.hangup()).await.unwrap().unwrap();
    bye_answer.await.unwrap();
    wait_idle(&a).await;
}

/// Where to answer a raw request: the sent-by of its top Via (no NAT here).
fn sock_peer(req: &str) -> SocketAddr {
    let via = header_lines(req, "Via")[0];
    let sent_by = via.split_whitespace().nth(2).unwrap();
    sent_by.split(';').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn wildcard_listener_advertises_the_public_address() {
    // Listening on 0.0.0.0, B must put the configured public address in its
    // Contact: the far end sends its ACK and BYE there.
    let mut cfg = config(loopback_peer(), "public_address = \"127.0.0.1\"");
    cfg.listen = "0.0.0.0:0".parse().unwrap();
    let (b, cb) = start(cfg).await;
    let mut b_events = auto_answer(cb);
    let port = b.udp_addr().unwrap().port();
    let b_addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let local = sock.local_addr().unwrap();
    let sdp = String::from_utf8(audio_sdp(40000, 1)).unwrap();
    let invite = format!(
        "INVITE sip:2000@{b_addr} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKw1;rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:555@{local}>;tag=w1\r\nTo: <sip:2000@{b_addr}>\r\n\
         Call-ID: wildcard@ata\r\nCSeq: 1 INVITE\r\nContact: <sip:555@{local}>\r\n\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    );
    let ok = tokio::task::spawn_blocking(move || {
        sock.send_to(invite.as_bytes(), b_addr).unwrap();
        recv_matching(&sock, |m| m.starts_with("SIP/2.0 200"))
    })
    .await
    .unwrap();
    expect(&mut b_events, "incoming").await;
    let contact = header_lines(&ok, "Contact")[0];
    assert!(
        contact.contains(&format!("@127.0.0.1:{port}")),
        "Contact must carry the public address: {contact}"
    );
}

#[tokio::test]
async fn t38_in_the_initial_invite_is_presented_as_t38() {
    use faxbridge::sip::offer::MediaKind;
    let (a, _ca) = start(config(loopback_peer(), "")).await;
    let (b, mut cb) = start(config(loopback_peer(), "")).await;
    let dialing = a
        .dial(dial_req(target(&b, "2000", false), t38_sdp(20002, 1)))
        .await
        .unwrap();
    let incoming = timeout(WAIT, cb.recv()).await.unwrap().unwrap();
    assert_eq!(incoming.summary.kind, MediaKind::T38);
    assert_eq!(
        incoming.summary.remote_media,
        Some("127.0.0.1:20002".parse().unwrap())
    );
    assert_eq!(incoming.from, format!("sip:1000@{}", a.udp_addr().unwrap()));
    let b_call = incoming.accept(t38_sdp(30002, 1)).unwrap();
    let a_call = timeout(WAIT, dialing.outcome()).await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&a_call.remote_sdp).contains("m=image 30002 udptl t38"));
    timeout(WAIT, b_call.handle.hangup())
        .await
        .unwrap()
        .unwrap();
    wait_idle(&a).await;
    wait_idle(&b).await;
}

/// RFC 3261 §14.2: an INVITE inside a dialog whose previous INVITE's 2xx
/// has not been acknowledged gets 500 with a Retry-After of 0–10 s, and the
/// dialog survives: the late ACK confirms it, a later re-INVITE is
/// answered and a BYE ends it.
#[tokio::test]
async fn invite_before_the_ack_gets_500_with_retry_after_and_the_dialog_stays() {
    let (b, cb) = start(config(loopback_peer(), "")).await;
    let mut b_events = auto_answer(cb);
    let b_addr = b.udp_addr().unwrap();
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let local = sock.local_addr().unwrap();
    let sdp = String::from_utf8(audio_sdp(40000, 1)).unwrap();
    let request = move |method: &str, branch: &str, cseq: u32, to: &str, body: &str| {
        let ct = if body.is_empty() {
            String::new()
        } else {
            "Content-Type: application/sdp\r\n".to_string()
        };
        format!(
            "{method} sip:2000@{b_addr} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {local};branch=z9hG4bK{branch};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:555@{local}>;tag=early1\r\n\
             {to}\r\n\
             Call-ID: early-invite@ata\r\n\
             CSeq: {cseq} {method}\r\n\
             Contact: <sip:555@{local}>\r\n\
             {ct}Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let invite = request("INVITE", "e1", 1, &format!("To: <sip:2000@{b_addr}>"), &sdp);
    let (sock, to_line, refused) = tokio::task::spawn_blocking({
        let sdp = sdp.clone();
        move || {
            sock.send_to(invite.as_bytes(), b_addr).unwrap();
            let ok = recv_matching(&sock, |m| {
                m.starts_with("SIP/2.0 200") && m.contains("CSeq: 1 INVITE")
            });
            let to_line = header_lines(&ok, "To")[0].to_string();
            // No ACK yet: a second INVITE in the same dialog.
            let second = request("INVITE", "e2", 2, &to_line, &sdp);
            sock.send_to(second.as_bytes(), b_addr).unwrap();
            let refused = recv_matching(&sock, |m| {
                m.starts_with("SIP/2.0 5") && m.contains("CSeq: 2 INVITE")
            });
            // The ACK for the 500 (same branch, RFC 3261 §17.1.1.3).
            let ack500 = request("ACK", "e2", 2, header_lines(&refused, "To")[0], "");
            sock.send_to(ack500.as_bytes(), b_addr).unwrap();
            (sock, to_line, refused)
        }
    })
    .await
    .unwrap();
    assert!(
        refused.starts_with("SIP/2.0 500"),
        "500 for an INVITE before the ACK: {refused}"
    );
    let retry = header_lines(&refused, "Retry-After");
    let secs: u32 = retry
        .first()
        .and_then(|l| l.split_once(':'))
        .and_then(|(_, v)| v.trim().split(';').next()?.trim().parse().ok())
        .unwrap_or_else(|| panic!("Retry-After in {refused}"));
    assert!(secs <= 10, "Retry-After {secs} s");
    expect(&mut b_events, "incoming").await;

    // The dialog is intact: the late ACK confirms it.
    let ack = request("ACK", "e1ack", 1, &to_line, "");
    sock.send_to(ack.as_bytes(), b_addr).unwrap();
    expect(&mut b_events, "established").await;

    // The retried re-INVITE (same session) is answered 200, then BYE.
    let (sock, reinvite_reply) = tokio::task::spawn_blocking({
        let to_line = to_line.clone();
        move || {
            let again = request("INVITE", "e3", 3, &to_line, &sdp);
            sock.send_to(again.as_bytes(), b_addr).unwrap();
            let reply = recv_matching(&sock, |m| {
                m.starts_with("SIP/2.0 2") && m.contains("CSeq: 3 INVITE")
            });
            let ack = request("ACK", "e3ack", 3, &to_line, "");
            sock.send_to(ack.as_bytes(), b_addr).unwrap();
            (sock, reply)
        }
    })
    .await
    .unwrap();
    assert!(reinvite_reply.contains("m=audio 30000"), "{reinvite_reply}");
    let bye_reply = tokio::task::spawn_blocking(move || {
        let bye = request("BYE", "e4", 4, &to_line, "");
        sock.send_to(bye.as_bytes(), b_addr).unwrap();
        recv_matching(&sock, |m| {
            m.starts_with("SIP/2.0") && m.contains("CSeq: 4 BYE")
        })
    })
    .await
    .unwrap();
    assert!(bye_reply.starts_with("SIP/2.0 200"), "{bye_reply}");
    expect(&mut b_events, "ended RemoteHangup").await;
    wait_idle(&b).await;
}
