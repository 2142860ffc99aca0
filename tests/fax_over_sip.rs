//! Fax calls over SIP on loopback, in real time: `dial_one` sends a
//! three-page document to `answer_one` (or the built `faxbridge` binary to
//! itself) over real UDP sockets — SIP, RTP and UDPTL — and the received
//! TIFF must match the sent pages pixel for pixel.
//!
//! Covered: G.711 A-law and μ-law, T.38 in the initial INVITE, G.711 then a
//! re-INVITE to T.38 from the sender and from the receiver, a refused T.38
//! re-INVITE (the call stays on G.711), T.38 through a relay dropping 5 % of
//! the datagrams both ways (recovered by UDPTL redundancy), garbage
//! datagrams sprayed at the media ports during a call, the no-progress
//! watchdog hanging up on a silent far end, and a far end that goes back
//! from T.38 to audio after the fax (in process and through the daemon,
//! whose mail must carry the pages) or in the middle of it.
//!
//! Pages are standard resolution, 1728 × 300 rows, so each call takes
//! about 15–25 s of real time.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use faxbridge::docs::tiff::{self, Compression};
use faxbridge::docs::{Page, RenderOptions, Resolution};
use faxbridge::fax::{FaxJob, FaxSession, FaxSettings};
use faxbridge::media::fax_call::{
    CallEnd, FaxCallConfig, FaxCallReport, MediaPath, MediaSockets, answer_call, place_call,
};
use faxbridge::sdp::{Codec, UdpEc};
use faxbridge::sip::{CallEvent, EndReason, ReInviteOutcome, SipConfig, SipEndpoint};
use faxbridge::tools::answer::{AnswerOptions, Answerer};
use faxbridge::tools::dial::{DialMode, DialOptions, dial_one};
use tokio::net::UdpSocket;

mod support;

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// Longest a test call may take.
const CALL_LIMIT: Duration = Duration::from_secs(150);
const ROWS: u32 = 300;

/// Deterministic pseudo-random numbers (test pages, loss, garbage).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

fn fill(p: &mut Page, x0: u32, y0: u32, w: u32, h: u32) {
    for y in y0..(y0 + h).min(p.height) {
        for x in x0..(x0 + w).min(p.width) {
            p.set(x, y, true);
        }
    }
}

/// A standard-resolution page with a frame, `n + 1` marker blocks and
/// rows of random "words" unique to the page.
fn test_page(n: u32) -> Page {
    let mut p = Page::blank(1728, ROWS, Resolution::Standard);
    let mut rng = Lcg(0xfa7 + u64::from(n) * 7919);
    fill(&mut p, 40, 10, 1648, 2);
    fill(&mut p, 40, ROWS - 12, 1648, 2);
    fill(&mut p, 40, 10, 3, ROWS - 20);
    fill(&mut p, 1685, 10, 3, ROWS - 20);
    for i in 0..=n {
        fill(&mut p, 1600 - i * 50, 20, 40, 20);
    }
    let mut y = 50;
    while y + 8 < ROWS - 20 {
        let mut x = 70 + (rng.next() % 40) as u32;
        while x + 8 < 1650 {
            let len = 2 + (rng.next() % 5) as u32;
            for _ in 0..len {
                let bits = rng.next();
                for k in 0..6u32 {
                    if bits >> k & 1 == 1 {
                        fill(&mut p, x + (k % 3) * 3, y + (k / 3) * 4, 2, 4);
                    }
                }
                x += 10;
            }
            x += 40 + (rng.next() % 60) as u32;
        }
        y += 32;
    }
    p
}

struct Doc {
    dir: tempfile::TempDir,
    tiff: PathBuf,
    pages: Vec<Page>,
}

fn document() -> Doc {
    let dir = tempfile::tempdir().unwrap();
    let tiff = dir.path().join("send.tif");
    let pages: Vec<Page> = (0..3).map(test_page).collect();
    tiff::write_tiff(&tiff, &pages, Compression::Group4).unwrap();
    println!(
        "document: {} bytes of G4",
        std::fs::metadata(&tiff).unwrap().len()
    );
    Doc { dir, tiff, pages }
}

fn assert_pages_match(received: &Path, sent: &[Page]) {
    let got = tiff::read_tiff(received).unwrap();
    assert_eq!(got.len(), sent.len(), "page count");
    for (n, (g, w)) in got.iter().zip(sent).enumerate() {
        assert_eq!((g.width, g.height), (w.width, w.height), "page {n} size");
        assert_eq!(g.resolution(), w.resolution(), "page {n} resolution");
        assert!(g.bits == w.bits, "page {n} differs from the source");
    }
}

fn fax_settings() -> FaxSettings {
    FaxSettings {
        ident: "+44 20 7946 0000".into(),
        ..FaxSettings::default()
    }
}

fn answer_options(out: &Path, t38: bool, t38_reinvite: bool) -> AnswerOptions {
    AnswerOptions {
        listen: SocketAddr::new(LOCALHOST, 0),
        out_dir: out.to_path_buf(),
        call: FaxCallConfig {
            fax: fax_settings(),
            t38,
            prefer_t38: t38,
            t38_reinvite,
            ..FaxCallConfig::default()
        },
    }
}

fn dial_options(target: String, file: &Path, mode: DialMode, codecs: Vec<Codec>) -> DialOptions {
    DialOptions {
        target,
        files: vec![file.to_path_buf()],
        mode,
        from_user: "1000".into(),
        account: None,
        render: RenderOptions::default(),
        call: FaxCallConfig {
            fax: fax_settings(),
            codecs,
            ..FaxCallConfig::default()
        },
    }
}

/// Logs to the test output when `RUST_LOG` is set (e.g. `faxbridge=info`).
fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// `dial_one` → `answer_one`-style receiver in this process.
async fn send_and_receive(
    answer_t38: bool,
    answer_reinvite: bool,
    mode: DialMode,
    codecs: Vec<Codec>,
) -> (FaxCallReport, FaxCallReport, Doc) {
    send_and_receive_over(answer_t38, answer_reinvite, mode, codecs, "").await
}

/// [`send_and_receive`] with `uri_params` appended to the target URI, e.g.
/// `;transport=tcp`.
async fn send_and_receive_over(
    answer_t38: bool,
    answer_reinvite: bool,
    mode: DialMode,
    codecs: Vec<Codec>,
    uri_params: &str,
) -> (FaxCallReport, FaxCallReport, Doc) {
    init_logs();
    let doc = document();
    let out = doc.dir.path().join("in");
    let mut answerer = Answerer::start(answer_options(&out, answer_t38, answer_reinvite))
        .await
        .unwrap();
    let target = format!("sip:2000@{}{uri_params}", answerer.sip_addr().unwrap());
    let receiving = tokio::spawn(async move {
        let r = answerer.answer_next().await;
        answerer.shutdown().await;
        r
    });
    let sent = tokio::time::timeout(
        CALL_LIMIT,
        dial_one(dial_options(target, &doc.tiff, mode, codecs)),
    )
    .await
    .expect("the sending call finishes in time")
    .expect("the call is placed");
    let received = tokio::time::timeout(Duration::from_secs(20), receiving)
        .await
        .expect("the receiving call ends soon after the sender's")
        .unwrap()
        .expect("the call is answered");
    println!("sent:     {sent}\n          {:?}", sent.stats);
    println!("received: {received}\n          {:?}", received.stats);
    println!("wall time: {:.1} s", sent.elapsed.as_secs_f64());
    (sent, received, doc)
}

fn assert_success(sent: &FaxCallReport, received: &FaxCallReport, doc: &Doc) {
    assert!(sent.outcome.is_success(), "sender: {sent}");
    assert!(received.outcome.is_success(), "receiver: {received}");
    assert_eq!(sent.outcome.pages_transferred, 3);
    assert_eq!(received.outcome.pages_transferred, 3);
    assert_eq!(sent.ended_by, CallEnd::Completed);
    assert_eq!(received.ended_by, CallEnd::Completed);
    assert_pages_match(&received.outcome.tiff, &doc.pages);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn g711_alaw_three_pages() {
    let (sent, received, doc) =
        send_and_receive(false, false, DialMode::Default, vec![Codec::Pcma]).await;
    assert_success(&sent, &received, &doc);
    for r in [&sent, &received] {
        assert_eq!(r.media, MediaPath::Audio(Codec::Pcma));
        assert_eq!(r.switches, 0);
        assert!(
            r.stats.rtp_sent > 500 && r.stats.rtp_received > 500,
            "{:?}",
            r.stats
        );
        assert_eq!(r.stats.udptl_sent, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sip_over_tcp_with_t38_reinvite() {
    // Signalling over TCP (RFC 3261 §18: the same messages, a stream
    // transport); the re-INVITE to T.38 travels on the same connection.
    let (sent, received, doc) = send_and_receive_over(
        true,
        true,
        DialMode::Default,
        vec![Codec::Pcmu],
        ";transport=tcp",
    )
    .await;
    assert_success(&sent, &received, &doc);
    for r in [&sent, &received] {
        assert_eq!(r.media, MediaPath::T38);
        assert_eq!(r.switches, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t38_in_the_initial_invite() {
    let (sent, received, doc) =
        send_and_receive(true, false, DialMode::T38, vec![Codec::Pcma, Codec::Pcmu]).await;
    assert_success(&sent, &received, &doc);
    for r in [&sent, &received] {
        assert_eq!((r.initial_media, r.media), (MediaPath::T38, MediaPath::T38));
        assert_eq!(r.stats.rtp_sent, 0);
        assert!(r.stats.udptl_sent > 50, "{:?}", r.stats);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn g711_then_reinvite_to_t38_from_the_sender() {
    let (sent, received, doc) =
        send_and_receive(true, false, DialMode::T38Reinvite, vec![Codec::Pcma]).await;
    assert_success(&sent, &received, &doc);
    for r in [&sent, &received] {
        assert_eq!(r.initial_media, MediaPath::Audio(Codec::Pcma), "{r}");
        assert_eq!(r.media, MediaPath::T38, "{r}");
        assert_eq!(r.switches, 1, "{r}");
        assert!(r.stats.udptl_sent > 50, "{:?}", r.stats);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn g711_then_reinvite_to_t38_from_the_receiver() {
    let (sent, received, doc) =
        send_and_receive(true, true, DialMode::Default, vec![Codec::Pcmu]).await;
    assert_success(&sent, &received, &doc);
    for r in [&sent, &received] {
        assert_eq!(r.initial_media, MediaPath::Audio(Codec::Pcmu));
        assert_eq!(r.media, MediaPath::T38);
        assert_eq!(r.switches, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_t38_reinvite_keeps_the_call_on_g711() {
    // The receiver asks for T.38; the sender is G.711 only and answers 488.
    let (sent, received, doc) =
        send_and_receive(true, true, DialMode::G711, vec![Codec::Pcma]).await;
    assert_success(&sent, &received, &doc);
    for r in [&sent, &received] {
        assert_eq!(r.media, MediaPath::Audio(Codec::Pcma));
        assert_eq!(r.switches, 0);
        assert_eq!(r.stats.udptl_sent, 0);
    }
}

/// Reads the `listening on sip:ADDR` line of `faxbridge answer`.
fn read_listen_line(stdout: &mut impl std::io::BufRead) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "answer exited early"
        );
        if let Some(addr) = line.trim().strip_prefix("listening on sip:") {
            return addr.to_string();
        }
    }
}

#[test]
fn binaries_send_and_receive_over_g711_ulaw() {
    use std::io::{BufReader, Read};
    use std::process::{Command, Stdio};
    let exe = env!("CARGO_BIN_EXE_faxbridge");
    let doc = document();
    let out = doc.dir.path().join("in");
    let mut answer = Command::new(exe)
        .args(["answer", "--listen", "127.0.0.1:0", "--once", "--out"])
        .arg(&out)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(answer.stdout.take().unwrap());
    let addr = read_listen_line(&mut stdout);
    let started = Instant::now();
    let dial = Command::new(exe)
        .args([
            "dial",
            &format!("sip:2000@{addr}"),
            "--g711",
            "--codec",
            "pcmu",
        ])
        .arg(&doc.tiff)
        .output()
        .unwrap();
    let dial_out = String::from_utf8_lossy(&dial.stdout);
    println!("dial ({:?}): {dial_out}", started.elapsed());
    assert!(
        dial.status.success(),
        "dial failed: {dial_out} {}",
        String::from_utf8_lossy(&dial.stderr)
    );
    assert!(
        dial_out.contains("sent 3/3 pages") && dial_out.contains("over G.711 PCMU"),
        "{dial_out}"
    );
    let status = answer.wait().unwrap();
    let mut answer_out = String::new();
    stdout.read_to_string(&mut answer_out).unwrap();
    println!("answer: {answer_out}");
    assert!(status.success(), "answer failed: {answer_out}");
    assert!(answer_out.contains("received 3 pages"), "{answer_out}");
    let files: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_pages_match(&files[0], &doc.pages);
}

fn open_config() -> SipConfig {
    toml::from_str(
        "listen = \"127.0.0.1:0\"\n[[peers]]\nname = \"lo\"\naddresses = [\"127.0.0.0/8\"]\n\
         [routing]\ndefault_route = \"fax\"\n",
    )
    .unwrap()
}

/// A one-way UDP relay that drops a fraction of datagrams (deterministic).
async fn lossy_relay(
    forward_to: SocketAddr,
    loss_per_mille: u64,
    seed: u64,
    dropped: Arc<AtomicU64>,
) -> u16 {
    let sock = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    let port = sock.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut rng = Lcg(seed);
        let mut buf = [0u8; 2048];
        while let Ok((n, _)) = sock.recv_from(&mut buf).await {
            if rng.next() % 1000 < loss_per_mille {
                dropped.fetch_add(1, Ordering::Relaxed);
            } else {
                let _ = sock.send_to(&buf[..n], forward_to).await;
            }
        }
    });
    port
}

/// Lower-level set-up: both sides on their own endpoints with
/// `MediaSockets` the test can see and re-route.
async fn call_with_sockets(
    answer_cfg: FaxCallConfig,
    dial_cfg: FaxCallConfig,
    tweak: impl AsyncFnOnce(&mut MediaSockets, &mut MediaSockets),
) -> (FaxCallReport, FaxCallReport, Doc) {
    init_logs();
    let doc = document();
    let rx_path = doc.dir.path().join("received.tif");
    let (rx_ep, mut calls) = SipEndpoint::start(&open_config()).await.unwrap();
    let (tx_ep, _) = SipEndpoint::start(&open_config()).await.unwrap();
    let mut rx_sockets = MediaSockets::bind(LOCALHOST).await.unwrap();
    let mut tx_sockets = MediaSockets::bind(LOCALHOST).await.unwrap();
    tweak(&mut rx_sockets, &mut tx_sockets).await;
    let target = format!("sip:2000@{}", rx_ep.udp_addr().unwrap());
    let receiving = {
        let rx_path = rx_path.clone();
        tokio::spawn(async move {
            let call = calls.recv().await.unwrap();
            answer_call(call, FaxJob::Receive(rx_path), rx_sockets, &answer_cfg).await
        })
    };
    let sent = tokio::time::timeout(
        CALL_LIMIT,
        place_call(
            &tx_ep,
            &target,
            "1000",
            None,
            FaxJob::Send(doc.tiff.clone()),
            tx_sockets,
            &dial_cfg,
        ),
    )
    .await
    .expect("call finishes in time")
    .unwrap();
    let received = tokio::time::timeout(Duration::from_secs(20), receiving)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    println!("sent:     {sent}\n          {:?}", sent.stats);
    println!("received: {received}\n          {:?}", received.stats);
    println!("wall time: {:.1} s", sent.elapsed.as_secs_f64());
    tx_ep.shutdown().await;
    rx_ep.shutdown().await;
    (sent, received, doc)
}

fn t38_config() -> FaxCallConfig {
    FaxCallConfig {
        fax: fax_settings(),
        t38: true,
        prefer_t38: true,
        initial_offer: faxbridge::sdp::OfferKind::T38,
        ..FaxCallConfig::default()
    }
}

/// A T.38 call whose UDPTL goes both ways through relays that drop 5 % of
/// the datagrams (deterministic seeds), with the error correction `ec`.
async fn lossy_t38_call(ec: UdpEc) {
    let dropped = Arc::new(AtomicU64::new(0));
    let d = dropped.clone();
    let mut cfg = t38_config();
    cfg.t38_params.udp_ec = Some(ec);
    let (sent, received, doc) = call_with_sockets(cfg.clone(), cfg, async move |rx, tx| {
        // Each side announces a relay in front of its real UDPTL socket.
        let rx_real = rx.udptl.local_addr().unwrap();
        let tx_real = tx.udptl.local_addr().unwrap();
        rx.udptl_port = lossy_relay(rx_real, 50, 1, d.clone()).await;
        tx.udptl_port = lossy_relay(tx_real, 50, 2, d).await;
    })
    .await;
    assert_success(&sent, &received, &doc);
    let dropped = dropped.load(Ordering::Relaxed);
    let total = sent.stats.udptl_sent + received.stats.udptl_sent;
    println!("relay dropped {dropped} of {total} datagrams");
    assert!(
        dropped * 100 >= total * 3,
        "about 5 % must be dropped: {dropped}/{total}"
    );
    let recovered = |r: &FaxCallReport| match ec {
        UdpEc::Fec => r.stats.ifp_recovered_fec,
        _ => r.stats.ifp_recovered_redundancy,
    };
    assert!(
        recovered(&sent) > 0 && recovered(&received) > 0,
        "{ec:?} must have filled gaps both ways"
    );
    assert_eq!(sent.media, MediaPath::T38);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t38_survives_five_percent_loss_with_redundancy() {
    lossy_t38_call(UdpEc::Redundancy).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t38_survives_five_percent_loss_with_fec() {
    lossy_t38_call(UdpEc::Fec).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_on_the_media_ports_does_not_break_the_call() {
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let mut dial_cfg = t38_config();
    dial_cfg.initial_offer = faxbridge::sdp::OfferKind::Audio;
    dial_cfg.t38_reinvite = true;
    let (sent, received, doc) = call_with_sockets(t38_config(), dial_cfg, async move |rx, tx| {
        let targets: Vec<SocketAddr> = [&rx.rtp, &rx.udptl, &tx.rtp, &tx.udptl]
            .iter()
            .map(|s| s.local_addr().unwrap())
            .collect();
        tokio::spawn(async move {
            let sock = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
            let mut rng = Lcg(7);
            while !s.load(Ordering::Relaxed) {
                for t in &targets {
                    let len = 1 + (rng.next() % 300) as usize;
                    let mut junk: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                    if rng.next().is_multiple_of(2) {
                        // RTP-looking: version 2, PCMA, a foreign SSRC.
                        junk.resize(len.max(172), 0);
                        junk[0] = 0x80;
                        junk[1] = 8;
                    }
                    let _ = sock.send_to(&junk, t).await;
                }
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
        });
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    assert_success(&sent, &received, &doc);
    assert_eq!(sent.media, MediaPath::T38);
    for r in [&sent, &received] {
        assert!(
            r.stats.rtp_malformed + r.stats.rtp_ignored > 0 && r.stats.udptl_malformed > 0,
            "garbage must have arrived: {:?}",
            r.stats
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watchdog_hangs_up_on_a_silent_far_end() {
    let doc = document();
    let (far, mut calls) = SipEndpoint::start(&open_config()).await.unwrap();
    let (near, _) = SipEndpoint::start(&open_config()).await.unwrap();
    // The far end answers with an audio stream that goes nowhere and never
    // sends anything.
    let sink = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    let port = sink.local_addr().unwrap().port();
    let far_end = tokio::spawn(async move {
        let call = calls.recv().await.unwrap();
        let sdp = format!(
            "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
             m=audio {port} RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n"
        );
        let mut active = call.accept(sdp.into_bytes()).unwrap();
        loop {
            match active.next_event().await {
                Some(CallEvent::Ended(why)) => return why,
                Some(_) => {}
                None => return EndReason::LocalHangup,
            }
        }
    });
    let cfg = FaxCallConfig {
        fax: fax_settings(),
        watchdog: Duration::from_secs(3),
        ..FaxCallConfig::default()
    };
    let started = Instant::now();
    let report = place_call(
        &near,
        &format!("sip:2000@{}", far.udp_addr().unwrap()),
        "1000",
        None,
        FaxJob::Send(doc.tiff.clone()),
        MediaSockets::bind(LOCALHOST).await.unwrap(),
        &cfg,
    )
    .await
    .unwrap();
    let took = started.elapsed();
    println!("{report} after {took:?}");
    assert_eq!(report.ended_by, CallEnd::Watchdog);
    assert!(!report.outcome.is_success());
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(8),
        "{took:?}"
    );
    let why = tokio::time::timeout(Duration::from_secs(5), far_end)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(why, EndReason::RemoteHangup, "the far end got our BYE");
    drop(sink);
    near.shutdown().await;
    far.shutdown().await;
}

/// The `m=` line of `kind` in an SDP body, with its port.
fn m_line(sdp: &[u8], kind: &str) -> Option<(u16, String)> {
    String::from_utf8_lossy(sdp)
        .lines()
        .find(|l| l.starts_with(&format!("m={kind} ")))
        .map(|l| {
            let port = l
                .split(' ')
                .nth(1)
                .and_then(|p| p.parse().ok())
                .unwrap_or(0);
            (port, l.to_string())
        })
}

/// Waits until `sock` receives a datagram from `from_port` that `accept`
/// approves; fails after 5 s.
async fn expect_media(
    sock: &UdpSocket,
    from_port: u16,
    what: &str,
    accept: impl Fn(&[u8]) -> bool,
) {
    let mut buf = [0u8; 2048];
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, sock.recv_from(&mut buf)).await {
            Ok(Ok((n, from))) if from.port() == from_port && accept(&buf[..n]) => return,
            Ok(Ok(_)) => {}
            _ => panic!("no {what} from port {from_port} within 5 s"),
        }
    }
}

/// Drains `sock` for `period` and counts the datagrams from `from_port`.
async fn count_media(sock: &UdpSocket, from_port: u16, period: Duration) -> usize {
    let mut buf = [0u8; 2048];
    let deadline = Instant::now() + period;
    let mut n = 0;
    while let Ok(Ok((_, from))) = tokio::time::timeout(
        deadline.saturating_duration_since(Instant::now()),
        sock.recv_from(&mut buf),
    )
    .await
    {
        if from.port() == from_port {
            n += 1;
        }
    }
    n
}

fn is_rtp(d: &[u8]) -> bool {
    d.len() > 12 && d[0] >> 6 == 2
}

/// The far end ends T.38 (RFC 3264 §8: a new offer replacing the image
/// stream with audio, as a gateway does when it falls back to voice): the
/// call starts on G.711, the far end re-INVITEs to T.38, refreshes the
/// session twice keeping the image m-line (once repeating its SDP, once with
/// a new version), then re-INVITEs back to audio. faxbridge answers every
/// one 200, with an image m-line while T.38 lasts and an audio m-line at the
/// end, and its media follows: RTP, then UDPTL only, then RTP again to the
/// new audio address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn far_end_goes_to_t38_and_back_to_audio() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let (rx_ep, mut calls) = SipEndpoint::start(&open_config()).await.unwrap();
    let (far, _far_calls) = SipEndpoint::start(&open_config()).await.unwrap();
    let mut cfg = t38_config();
    cfg.t38_reinvite = false;
    let receiving = {
        let out = dir.path().join("received.tif");
        tokio::spawn(async move {
            let call = calls.recv().await.unwrap();
            let sockets = MediaSockets::bind(LOCALHOST).await.unwrap();
            answer_call(call, FaxJob::Receive(out), sockets, &cfg).await
        })
    };
    let audio1 = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    let image = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    let audio2 = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    let port = |s: &UdpSocket| s.local_addr().unwrap().port();
    let audio_sdp = |port: u16, version: u32| {
        format!(
            "v=0\r\no=- 77 {version} IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
             m=audio {port} RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\na=ptime:20\r\n"
        )
        .into_bytes()
    };
    let image_sdp = |port: u16, version: u32| {
        format!(
            "v=0\r\no=- 77 {version} IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
             m=image {port} udptl t38\r\na=T38FaxVersion:0\r\na=T38MaxBitRate:14400\r\n\
             a=T38FaxRateManagement:transferredTCF\r\na=T38FaxMaxDatagram:400\r\n\
             a=T38FaxUdpEC:t38UDPRedundancy\r\n"
        )
        .into_bytes()
    };

    let dialing = far
        .dial(faxbridge::sip::DialRequest {
            target: format!("sip:2000@{}", rx_ep.udp_addr().unwrap()),
            from_user: "1000".into(),
            offer: audio_sdp(port(&audio1), 1),
            account: None,
        })
        .await
        .unwrap();
    let active = dialing.outcome().await.expect("answered");
    let (rtp_port, _) = m_line(&active.remote_sdp, "audio").expect("audio answer");
    expect_media(&audio1, rtp_port, "RTP (CED)", is_rtp).await;

    let reinvite = |offer: Vec<u8>| {
        let handle = active.handle.clone();
        async move {
            match handle.reinvite(offer).await.expect("re-INVITE answered") {
                ReInviteOutcome::Accepted(answer) => answer,
                ReInviteOutcome::Rejected(code) => panic!("re-INVITE refused with {code}"),
            }
        }
    };
    // To T.38.
    let answer = reinvite(image_sdp(port(&image), 2)).await;
    let (udptl_port, line) = m_line(&answer, "image").expect("image answer");
    assert!(udptl_port != 0, "T.38 accepted: {line}");
    expect_media(&image, udptl_port, "UDPTL", |d| d.len() >= 3).await;

    // Session refreshes keep T.38: the same SDP again (RFC 4028), then the
    // same image m-line under a new version.
    for offer in [image_sdp(port(&image), 2), image_sdp(port(&image), 3)] {
        let answer = reinvite(offer).await;
        let (p, line) = m_line(&answer, "image").expect("still image");
        assert_eq!(p, udptl_port, "same UDPTL port: {line}");
        assert!(m_line(&answer, "audio").is_none_or(|(p, _)| p == 0));
    }
    expect_media(&image, udptl_port, "UDPTL after the refresh", |d| {
        d.len() >= 3
    })
    .await;
    assert_eq!(
        count_media(&audio1, rtp_port, Duration::from_millis(500)).await,
        0,
        "no RTP while on T.38"
    );

    // Back to audio, at a new address.
    let answer = reinvite(audio_sdp(port(&audio2), 4)).await;
    let (p, line) = m_line(&answer, "audio").expect("audio m-line in the answer");
    assert!(p != 0, "audio accepted: {line}");
    assert!(m_line(&answer, "image").is_none_or(|(p, _)| p == 0));
    expect_media(&audio2, p, "RTP after the switch back", is_rtp).await;
    // UDPTL stops (anything in flight has arrived within a few frames).
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        count_media(&image, udptl_port, Duration::from_millis(500)).await,
        0,
        "UDPTL stops after the switch back"
    );

    active.handle.hangup().await.unwrap();
    let report = tokio::time::timeout(Duration::from_secs(10), receiving)
        .await
        .expect("the receiver ends after the BYE")
        .unwrap()
        .unwrap();
    println!("receiver: {report}\n          {:?}", report.stats);
    assert_eq!(report.initial_media, MediaPath::Audio(Codec::Pcma));
    assert_eq!(report.media, MediaPath::Audio(Codec::Pcma), "{report}");
    assert_eq!(report.switches, 2, "audio → T.38 → audio: {report}");
    far.shutdown().await;
    rx_ep.shutdown().await;
}

/// The far end of a gateway that goes back to voice after the fax
/// (Mediatrix re-INVITEs from T.38 to G.711 once the fax is over, then
/// hangs up), on `far`: a T.38 fax sender driven directly over UDPTL. It
/// calls `target` with T.38 in the initial INVITE, sends the pages of
/// `tiff`, re-INVITEs to audio when `switch_when` says so of its T.30
/// session (normally once it has finished), and
/// requires 200 with an audio m-line and G.711 A-law silence (0xD5) at
/// 20 ms pacing on the new leg; then it hangs up.
async fn t38_fax_then_back_to_audio(
    far: &SipEndpoint,
    target: &str,
    tiff: &Path,
    switch_when: fn(&faxbridge::fax::FaxSession) -> bool,
) {
    use faxbridge::fax::{T38Options, Transport};
    use faxbridge::media::udptl::{ErrorCorrection, RxEvent, UdptlDecoder, UdptlEncoder};

    let image = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    let audio = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    let image_port = image.local_addr().unwrap().port();
    let audio_port = audio.local_addr().unwrap().port();
    let offer = format!(
        "v=0\r\no=- 78 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=image {image_port} udptl t38\r\na=T38FaxVersion:0\r\na=T38MaxBitRate:14400\r\n\
         a=T38FaxRateManagement:transferredTCF\r\na=T38FaxMaxDatagram:400\r\n\
         a=T38FaxUdpEC:t38UDPRedundancy\r\n"
    );
    let dialing = far
        .dial(faxbridge::sip::DialRequest {
            target: target.to_string(),
            from_user: "1000".into(),
            offer: offer.into_bytes(),
            account: None,
        })
        .await
        .unwrap();
    let active = dialing.outcome().await.expect("answered");
    let (udptl_port, line) = m_line(&active.remote_sdp, "image").expect("image answer");
    assert!(udptl_port != 0, "T.38 accepted: {line}");
    let to = SocketAddr::new(LOCALHOST, udptl_port);

    // The far end's fax sender over T.38.
    let mut session = FaxSession::new(
        FaxJob::Send(tiff.to_path_buf()),
        Transport::T38(T38Options::default()),
        &fax_settings(),
    )
    .unwrap();
    let mut encoder = UdptlEncoder::new(ErrorCorrection::Redundancy { depth: 3 }, 400).unwrap();
    let mut decoder = UdptlDecoder::new(0);
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut buf = [0u8; 2048];
    let started = Instant::now();
    while !switch_when(&session) {
        assert!(started.elapsed() < CALL_LIMIT, "the fax takes too long");
        tokio::select! {
            _ = tick.tick() => session.advance(160).unwrap(),
            r = image.recv_from(&mut buf) => {
                let (n, _) = r.unwrap();
                if let Ok(events) = decoder.receive(&buf[..n]) {
                    for e in events {
                        if let RxEvent::Ifp { seq, data, .. } = e {
                            let _ = session.receive_ifp(seq, &data);
                        }
                    }
                }
            }
        }
        for p in session.take_ifp_packets() {
            let d = encoder.encode(&p.data).unwrap();
            image.send_to(&d, to).await.unwrap();
        }
    }
    if let Some(sent) = session.outcome() {
        println!("far end sent: {}", sent.summary());
        assert!(sent.is_success(), "{}", sent.summary());
        assert_eq!(sent.pages_transferred, 3);
    }

    // Back to voice, as the gateway does after the fax.
    let audio_offer = format!(
        "v=0\r\no=- 78 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {audio_port} RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\na=ptime:20\r\n"
    );
    let answer = match active
        .handle
        .reinvite(audio_offer.into_bytes())
        .await
        .expect("re-INVITE answered")
    {
        ReInviteOutcome::Accepted(answer) => answer,
        ReInviteOutcome::Rejected(code) => panic!("re-INVITE to audio refused with {code}"),
    };
    let (rtp_port, line) = m_line(&answer, "audio").expect("audio m-line in the answer");
    assert!(rtp_port != 0, "audio accepted: {line}");
    assert!(m_line(&answer, "image").is_none_or(|(p, _)| p == 0));

    // A-law silence, one 160-octet frame per 20 ms.
    let mut rtp = [0u8; 2048];
    let mut silent = 0;
    let first = Instant::now();
    while silent < 25 {
        let (n, from) = tokio::time::timeout(Duration::from_secs(5), audio.recv_from(&mut rtp))
            .await
            .expect("RTP after the switch to audio")
            .unwrap();
        if from.port() != rtp_port || !is_rtp(&rtp[..n]) {
            continue;
        }
        assert_eq!(rtp[1] & 0x7f, 8, "PCMA");
        let payload = &rtp[12..n];
        assert_eq!(payload.len(), 160, "20 ms frames");
        assert!(payload.iter().all(|&b| b == 0xD5), "A-law silence");
        silent += 1;
    }
    let took = first.elapsed();
    println!("25 silent frames in {took:?}");
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_millis(900),
        "20 ms pacing: {took:?}"
    );

    active.handle.hangup().await.unwrap();
}

/// A far end that goes back to audio after a T.38 fax
/// ([`t38_fax_then_back_to_audio`]) gets 200 and silence; after its BYE the
/// receiving call reports the fax's success with its three pages, and the
/// received pages match the source pixel for pixel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn far_end_returns_to_audio_after_the_fax() {
    init_logs();
    let doc = document();
    let rx_path = doc.dir.path().join("received.tif");
    let (rx_ep, mut calls) = SipEndpoint::start(&open_config()).await.unwrap();
    let (far, _far_calls) = SipEndpoint::start(&open_config()).await.unwrap();
    let mut cfg = t38_config();
    cfg.t38_reinvite = false;
    let receiving = {
        let out = rx_path.clone();
        tokio::spawn(async move {
            let call = calls.recv().await.unwrap();
            let sockets = MediaSockets::bind(LOCALHOST).await.unwrap();
            answer_call(call, FaxJob::Receive(out), sockets, &cfg).await
        })
    };
    t38_fax_then_back_to_audio(
        &far,
        &format!("sip:2000@{}", rx_ep.udp_addr().unwrap()),
        &doc.tiff,
        FaxSession::is_finished,
    )
    .await;
    let report = tokio::time::timeout(Duration::from_secs(10), receiving)
        .await
        .expect("the receiver ends after the BYE")
        .unwrap()
        .unwrap();
    println!("receiver: {report}\n          {:?}", report.stats);
    assert!(report.outcome.is_success(), "{report}");
    assert_eq!(report.outcome.pages_transferred, 3);
    assert_eq!(report.outcome.pages_stored, 3);
    assert_eq!(report.ended_by, CallEnd::Completed);
    assert_eq!(report.initial_media, MediaPath::T38);
    assert_eq!(report.media, MediaPath::Audio(Codec::Pcma), "{report}");
    assert_eq!(report.switches, 1);
    assert_pages_match(&report.outcome.tiff, &doc.pages);
    far.shutdown().await;
    rx_ep.shutdown().await;
}

/// The same far end against the real daemon: the fax received over T.38,
/// followed by the far end's switch back to audio and its BYE, is still
/// the fax's success, and is mailed (local Maildir, no relay) as a PDF
/// whose page images match the three source pages pixel for pixel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_mails_a_fax_whose_far_end_went_back_to_audio() {
    use mail_parser::{MessageParser, MimeHeaders};

    init_logs();
    let doc = document();
    let root = doc.dir.path().to_path_buf();
    let spool = root.join("spool");
    let config = support::config::DaemonConfig::new(&root)
        .ident("+44 1632 960000")
        .peer("gateway", &["127.0.0.0/8"])
        .did("2000", "lab")
        .route("lab", &["Physics Lab <lab@example.org>"])
        .write();
    let daemon = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || support::procs::start_daemon(&config))
            .await
            .unwrap()
    };
    let (far, _far_calls) = SipEndpoint::start(&open_config()).await.unwrap();
    t38_fax_then_back_to_audio(
        &far,
        &format!("sip:2000@{}", daemon.addr("udp")),
        &doc.tiff,
        FaxSession::is_finished,
    )
    .await;
    far.shutdown().await;

    // The mail with the PDF.
    let deadline = Instant::now() + Duration::from_secs(30);
    let message = loop {
        let found = ["new", "cur"].iter().find_map(|d| {
            std::fs::read_dir(spool.join("maildir").join(d))
                .ok()?
                .filter_map(|e| std::fs::read(e.ok()?.path()).ok())
                .find(|m| String::from_utf8_lossy(m).contains("lab@example.org"))
        });
        if let Some(m) = found {
            break m;
        }
        assert!(Instant::now() < deadline, "no mail for the fax");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    drop(daemon);
    let msg = MessageParser::default()
        .parse(&message)
        .expect("parse mail");
    let subject = msg.subject().unwrap_or_default();
    assert!(
        subject.starts_with("Fax from ") && subject.contains("3 pages"),
        "mailed as the fax's success: {subject}"
    );
    let pdf = msg
        .attachments()
        .find(|a| a.content_type().is_some_and(|c| c.subtype() == Some("pdf")))
        .expect("a PDF attachment");
    let work = root.join("pdf");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(work.join("fax.pdf"), pdf.contents()).unwrap();
    let status = std::process::Command::new("pdfimages")
        .arg("-png")
        .arg(work.join("fax.pdf"))
        .arg(work.join("img"))
        .status()
        .expect("pdfimages (poppler-utils)");
    assert!(status.success());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&work)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("img-"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 3, "three pages mailed");
    for (n, (file, sent)) in files.iter().zip(&doc.pages).enumerate() {
        let got = image::open(file).unwrap().to_luma8();
        assert_eq!(
            (got.width(), got.height()),
            (sent.width, sent.height),
            "page {n} size"
        );
        let differ = (0..sent.height)
            .flat_map(|y| (0..sent.width).map(move |x| (x, y)))
            .filter(|&(x, y)| (got.get_pixel(x, y).0[0] < 128) != sent.get(x, y))
            .count();
        assert_eq!(differ, 0, "page {n}: {differ} pixels differ");
    }
}

/// A far end that goes back to audio in the middle of the document (after
/// the first of three pages) is also answered 200: the fax session cannot
/// go on over the new leg, so it ends there and the call reports what it
/// really got — a failed fax with the first page kept — instead of a 488
/// that would leave the far end on T.38 it has given up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn far_end_returns_to_audio_mid_fax_keeps_the_pages_so_far() {
    init_logs();
    let doc = document();
    let rx_path = doc.dir.path().join("received.tif");
    let (rx_ep, mut calls) = SipEndpoint::start(&open_config()).await.unwrap();
    let (far, _far_calls) = SipEndpoint::start(&open_config()).await.unwrap();
    let mut cfg = t38_config();
    cfg.t38_reinvite = false;
    let receiving = {
        let out = rx_path.clone();
        tokio::spawn(async move {
            let call = calls.recv().await.unwrap();
            let sockets = MediaSockets::bind(LOCALHOST).await.unwrap();
            answer_call(call, FaxJob::Receive(out), sockets, &cfg).await
        })
    };
    t38_fax_then_back_to_audio(
        &far,
        &format!("sip:2000@{}", rx_ep.udp_addr().unwrap()),
        &doc.tiff,
        |s| s.pages_transferred() >= 1,
    )
    .await;
    let report = tokio::time::timeout(Duration::from_secs(10), receiving)
        .await
        .expect("the receiver ends after the BYE")
        .unwrap()
        .unwrap();
    println!("receiver: {report}\n          {:?}", report.stats);
    assert!(!report.outcome.is_success(), "{report}");
    assert!(
        (1..3).contains(&report.outcome.pages_transferred),
        "{report}"
    );
    assert_eq!(report.media, MediaPath::Audio(Codec::Pcma), "{report}");
    let got = tiff::read_tiff(&report.outcome.tiff).unwrap();
    assert!(!got.is_empty());
    assert!(
        got[0].bits == doc.pages[0].bits,
        "the first page is kept intact"
    );
    far.shutdown().await;
    rx_ep.shutdown().await;
}
