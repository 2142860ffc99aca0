//! The G.711↔T.38 gateway of the analogue bridge in the real daemon.
//!
//! A fax machine on an ATA port only speaks G.711 (played by `faxbridge
//! dial --g711` or a plain `faxbridge answer`, which refuse T.38 with 488);
//! the trunk side is a T.38 fax (`faxbridge answer --t38-reinvite` or
//! `faxbridge dial --t38-reinvite`), which re-INVITEs to T.38 as soon as it
//! hears the other fax. `faxbridge run` bridges the call: the port refuses
//! the forwarded re-INVITE, so the bridge answers the T.38 offer itself and
//! its relay gateways between the port's G.711 and the trunk's T.38. The
//! pages must arrive pixel for pixel, and the T.38 side must report that it
//! really ran over T.38.
//!
//! Media stays with the legs that signalled it on the T.38 relay too: a
//! stranger on another loopback address sends well-formed RTP, UDPTL and
//! RTCP to both relay legs through the whole call, before and after the
//! switch to T.38, and none of it reaches either fax.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use faxbridge::docs::tiff::{Compression, read_tiff, write_tiff};

mod support;
use support::config::{DaemonConfig, assert_valid};
use support::fax::{assert_same_pages, pages};
use support::procs::{BIN, start_daemon};

/// Where the ATA (port side) and the trunk live in one test.
struct Layout {
    /// Address of the ATA unit (its `faxbridge` process binds or dials from here).
    ata: &'static str,
    /// Address the trunk peer is admitted from.
    trunk: &'static str,
    /// `[bridge] ata_sip_port`.
    ata_sip_port: u16,
    /// Port of the trunk's SIP listener.
    trunk_port: u16,
}

fn config(root: &Path, l: &Layout) -> PathBuf {
    config_with(root, l, "")
}

/// [`config`] with `extra` sections appended.
fn config_with(root: &Path, l: &Layout, extra: &str) -> PathBuf {
    let path = DaemonConfig::new(root)
        .peer("ata", &[&format!("{}/32", l.ata)])
        .peer("trunk", &[&format!("{}/32", l.trunk)])
        .did("100", "lab")
        .route("lab", &["lab@example.org"])
        .trunk(&format!("sip:{{number}}@{}:{}", l.trunk, l.trunk_port))
        .set("bridge", &format!("ata_sip_port = {}", l.ata_sip_port))
        .lab_ata(l.ata)
        .extra(extra)
        .write();
    assert_valid(&path);
    path
}

/// `faxbridge answer --once` whose stdout lines are collected.
struct Answerer {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// Where it listens for SIP.
    addr: SocketAddr,
}

impl Answerer {
    fn start(listen: &str, out: &Path, extra: &[&str]) -> Answerer {
        let mut child = Command::new(BIN)
            .args(["answer", "--once", "--listen", listen, "--out"])
            .arg(out)
            .args(["--ident", "+44 1632 960300"])
            .args(extra)
            .env("RUST_LOG", "warn")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                eprintln!("answer: {line}");
                let _ = tx.send(line);
            }
        });
        let first = lines.recv_timeout(Duration::from_secs(30)).unwrap();
        let addr = first
            .split_once("listening on sip:")
            .unwrap_or_else(|| panic!("{first}"))
            .1
            .trim()
            .parse()
            .unwrap();
        Answerer { child, lines, addr }
    }

    /// The report line of the call.
    fn report(&mut self) -> String {
        let line = self.lines.recv_timeout(Duration::from_secs(60)).unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "answer failed: {line}");
        line
    }
}

impl Drop for Answerer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn dial(port: u16, number: &str, mode: &str, from: &str, doc: &Path) -> String {
    let out = Command::new(BIN)
        .args([
            "dial",
            &format!("sip:{number}@127.0.0.1:{port}"),
            mode,
            "--from",
            from,
        ])
        .arg(doc)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "dial failed: {text}");
    text
}

fn received_tiff(dir: &Path) -> PathBuf {
    let received: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tif"))
        .collect();
    assert_eq!(received.len(), 1, "{received:?}");
    received[0].clone()
}

#[test]
fn g711_port_faxes_a_t38_trunk_through_the_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let out = root.join("trunk");
    std::fs::create_dir_all(&out).unwrap();
    let mut trunk = Answerer::start("127.0.0.3:0", &out, &["--t38-reinvite"]);
    let layout = Layout {
        ata: "127.0.0.1",
        trunk: "127.0.0.3",
        ata_sip_port: 5060,
        trunk_port: trunk.addr.port(),
    };
    let config = config(root, &layout);
    let daemon = start_daemon(&config);
    let port = daemon.addr("udp").port();

    let sent = pages(200);
    let doc = root.join("doc.tif");
    write_tiff(&doc, &sent, Compression::Group4).unwrap();

    let result = dial(port, "01632960300", "--g711", "2001", &doc);
    assert!(result.contains("sent 3/3 pages"), "{result}");
    assert!(
        result.contains("over G.711"),
        "the port stays on G.711: {result}"
    );
    let report = trunk.report();
    assert!(report.contains("received 3"), "{report}");
    assert!(
        report.contains("over T.38"),
        "the trunk side ran over T.38: {report}"
    );
    assert_same_pages(&sent, &read_tiff(&received_tiff(&out)).unwrap());
    assert!(daemon.sigterm().success());
}

#[test]
fn t38_trunk_faxes_a_g711_port_through_the_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // Here the trunk dials from 127.0.0.1 and the ATA port answers on
    // 127.0.0.3.
    let out = root.join("port");
    std::fs::create_dir_all(&out).unwrap();
    let mut ata = Answerer::start("127.0.0.3:0", &out, &[]);
    let layout = Layout {
        ata: "127.0.0.3",
        trunk: "127.0.0.1",
        ata_sip_port: ata.addr.port(),
        trunk_port: 5060,
    };
    let config = config(root, &layout);
    let daemon = start_daemon(&config);
    let port = daemon.addr("udp").port();

    let sent = pages(200);
    let doc = root.join("doc.tif");
    write_tiff(&doc, &sent, Compression::Group4).unwrap();

    let result = dial(
        port,
        "+441632960201",
        "--t38-reinvite",
        "+441632960777",
        &doc,
    );
    assert!(result.contains("sent 3/3 pages"), "{result}");
    assert!(
        result.contains("over T.38"),
        "the trunk side ran over T.38: {result}"
    );
    let report = ata.report();
    assert!(report.contains("received 3"), "{report}");
    assert!(
        report.contains("over G.711"),
        "the port stays on G.711: {report}"
    );
    assert_same_pages(&sent, &read_tiff(&received_tiff(&out)).unwrap());
    assert!(daemon.sigterm().success());
}

/// A trunk whose INVITE offers T.38 only (no audio stream at all): the
/// bridge offers the G.711 port audio instead, answers the T.38 offer
/// itself and gateways from the start of the call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_t38_only_invite_reaches_a_g711_port_through_the_gateway() {
    use faxbridge::fax::FaxJob;
    use faxbridge::media::fax_call::{FaxCallConfig, MediaPath, MediaSockets, place_call};
    use faxbridge::sdp::OfferKind;
    use faxbridge::sip::{SipConfig, SipEndpoint};

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let out = root.join("port");
    std::fs::create_dir_all(&out).unwrap();
    let mut ata = Answerer::start("127.0.0.3:0", &out, &[]);
    let layout = Layout {
        ata: "127.0.0.3",
        trunk: "127.0.0.1",
        ata_sip_port: ata.addr.port(),
        trunk_port: 5060,
    };
    let config = config(root, &layout);
    let daemon = start_daemon(&config);
    let port = daemon.addr("udp").port();

    let sent = pages(200);
    let doc = root.join("doc.tif");
    write_tiff(&doc, &sent, Compression::Group4).unwrap();

    let sip: SipConfig = toml::from_str(
        "listen = \"127.0.0.1:0\"\ntransports = [\"udp\"]\n[[peers]]\nname = \"lo\"\naddresses = [\"127.0.0.0/8\"]\n[routing]\ndefault_route = \"in\"\n",
    )
    .unwrap();
    let (trunk, _calls) = SipEndpoint::start(&sip).await.unwrap();
    let cfg = FaxCallConfig {
        codecs: Vec::new(),
        t38: true,
        prefer_t38: true,
        initial_offer: OfferKind::T38,
        ..FaxCallConfig::default()
    };
    let sockets = MediaSockets::bind("127.0.0.1".parse().unwrap())
        .await
        .unwrap();
    let report = place_call(
        &trunk,
        &format!("sip:+441632960201@127.0.0.1:{port}"),
        "+441632960777",
        None,
        FaxJob::Send(doc),
        sockets,
        &cfg,
    )
    .await
    .unwrap();
    assert!(report.outcome.is_success(), "{report}");
    assert_eq!(report.outcome.pages_transferred, 3, "{report}");
    assert_eq!(
        (report.initial_media, report.media),
        (MediaPath::T38, MediaPath::T38),
        "{report}"
    );
    let line = tokio::task::spawn_blocking(move || ata.report())
        .await
        .unwrap();
    assert!(line.contains("received 3"), "{line}");
    assert!(line.contains("over G.711"), "the port is on G.711: {line}");
    assert_same_pages(&sent, &read_tiff(&received_tiff(&out)).unwrap());
    assert!(daemon.sigterm().success());
}

/// Both legs speak T.38 (T.38/T.38 relay, no gateway). The call starts on
/// G.711, because the bridge relays one stream per call and refuses the
/// T.38 m-line of an initial audio-and-T.38 offer (see
/// `faxbridge::bridge::media`); then one fax re-INVITEs to T.38
/// (`reinviter` on the port side, `acceptor` on the trunk side, or the
/// other way round), the bridge forwards the re-INVITE, the other fax
/// accepts it, and the relay forwards UDPTL between the legs. Both ends
/// finishing over T.38 tells a relay from the gateway, which keeps one leg
/// on G.711.
fn t38_relay_fax(port_mode: &str, trunk_mode: &str) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let out = root.join("trunk");
    std::fs::create_dir_all(&out).unwrap();
    let mut trunk = Answerer::start("127.0.0.3:0", &out, &[trunk_mode]);
    let layout = Layout {
        ata: "127.0.0.1",
        trunk: "127.0.0.3",
        ata_sip_port: 5060,
        trunk_port: trunk.addr.port(),
    };
    let config = config(root, &layout);
    let daemon = start_daemon(&config);
    let port = daemon.addr("udp").port();

    let sent = pages(200);
    let doc = root.join("doc.tif");
    write_tiff(&doc, &sent, Compression::Group4).unwrap();

    let result = dial(port, "01632960300", port_mode, "2001", &doc);
    assert!(result.contains("sent 3/3 pages"), "{result}");
    assert!(
        result.contains("over T.38 (switched from G.711"),
        "the port side ran the fax over T.38: {result}"
    );
    let report = trunk.report();
    assert!(report.contains("received 3"), "{report}");
    assert!(
        report.contains("over T.38 (switched from G.711"),
        "the trunk side ran the fax over T.38 too, so the bridge relayed \
         T.38 and did not gateway: {report}"
    );
    assert_same_pages(&sent, &read_tiff(&received_tiff(&out)).unwrap());
    assert!(daemon.sigterm().success());
}

#[test]
fn t38_port_faxes_a_t38_trunk_through_the_t38_relay() {
    t38_relay_fax("--t38-reinvite", "--t38");
}

#[test]
fn t38_port_faxes_a_t38_trunk_that_reinvites_through_the_t38_relay() {
    t38_relay_fax("--t38", "--t38-reinvite");
}

/// The T.38 relay with a stranger (127.0.0.77) injecting at both relay
/// legs from the moment the relay starts until well after the switch to
/// T.38: a thousand rounds of one PCMA RTP packet and one UDPTL datagram
/// to each leg and one RTCP report to each RTCP port. Both faxes are
/// faxbridge's own fax calls here, so what each received can be compared
/// with what the other sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_cannot_inject_into_the_t38_relay() {
    use faxbridge::fax::FaxJob;
    use faxbridge::media::fax_call::{
        FaxCallConfig, MediaPath, MediaSockets, answer_call, place_call,
    };
    use faxbridge::sip::{SipConfig, SipEndpoint};
    use support::stranger::{
        Sent, dropped, heard_only_its_party, inject_at_logged, scrape, web_section,
    };

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let sip = |listen: &str| -> SipConfig {
        toml::from_str(&format!(
            "listen = \"{listen}\"\ntransports = [\"udp\"]\n[[peers]]\nname = \"lo\"\naddresses = [\"127.0.0.0/8\"]\n[routing]\ndefault_route = \"in\"\n"
        ))
        .unwrap()
    };
    let (trunk, mut trunk_calls) = SipEndpoint::start(&sip("127.0.0.3:0")).await.unwrap();
    let (ata, _ata_calls) = SipEndpoint::start(&sip("127.0.0.1:0")).await.unwrap();
    let layout = Layout {
        ata: "127.0.0.1",
        trunk: "127.0.0.3",
        ata_sip_port: 5060,
        trunk_port: trunk.udp_addr().unwrap().port(),
    };
    let config = config_with(root, &layout, &web_section());
    let daemon = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || start_daemon(&config))
            .await
            .unwrap()
    };
    let port = daemon.addr("udp").port();
    let web = daemon.addr("web");
    let log = daemon.lines();

    let sent = pages(200);
    let doc = root.join("doc.tif");
    write_tiff(&doc, &sent, Compression::Group4).unwrap();
    let received = root.join("trunk.tif");
    // As `faxbridge answer --t38` on the trunk and `faxbridge dial
    // --t38-reinvite` on the port.
    let trunk_side = {
        let received = received.clone();
        tokio::spawn(async move {
            let incoming = tokio::time::timeout(Duration::from_secs(15), trunk_calls.recv())
                .await
                .unwrap()
                .unwrap();
            let sockets = MediaSockets::bind("127.0.0.3".parse().unwrap())
                .await
                .unwrap();
            let cfg = FaxCallConfig {
                t38: true,
                prefer_t38: true,
                ..FaxCallConfig::default()
            };
            answer_call(incoming, FaxJob::Receive(received), sockets, &cfg).await
        })
    };
    let stranger = {
        let log = log.clone();
        tokio::spawn(async move {
            inject_at_logged(
                &log,
                "media relay started",
                &["caller_leg", "callee_leg"],
                &["caller_rtcp", "callee_rtcp"],
            )
            .await
        })
    };
    let cfg = FaxCallConfig {
        t38: true,
        t38_reinvite: true,
        ..FaxCallConfig::default()
    };
    let sockets = MediaSockets::bind("127.0.0.1".parse().unwrap())
        .await
        .unwrap();
    let port_side = place_call(
        &ata,
        &format!("sip:01632960300@127.0.0.1:{port}"),
        "2001",
        None,
        FaxJob::Send(doc),
        sockets,
        &cfg,
    )
    .await
    .unwrap();
    let trunk_side = trunk_side.await.unwrap().unwrap();
    let injected = stranger.await.unwrap();
    println!("port:  {port_side}\n       {:?}", port_side.stats);
    println!("trunk: {trunk_side}\n       {:?}", trunk_side.stats);
    assert!(port_side.outcome.is_success(), "{port_side}");
    for side in [&port_side, &trunk_side] {
        assert_eq!(
            (side.initial_media, side.media),
            (
                MediaPath::Audio(faxbridge::sdp::Codec::Pcma),
                MediaPath::T38
            ),
            "relayed over T.38: {side}"
        );
    }
    assert_same_pages(&sent, &read_tiff(&received).unwrap());
    heard_only_its_party(&port_side, &trunk_side);
    heard_only_its_party(&trunk_side, &port_side);
    assert_eq!(
        injected,
        Sent {
            media: 4000,
            rtcp: 2000
        }
    );
    // Every forged datagram was dropped (and a few late RTP packets of
    // the parties after they moved to their UDPTL ports).
    let m = tokio::task::spawn_blocking(move || scrape(web))
        .await
        .unwrap();
    let drops = dropped(&m, "bridged", "foreign_source");
    assert!(
        (injected.total()..injected.total() + 100).contains(&drops),
        "{drops} dropped:\n{m}"
    );
    assert_eq!(dropped(&m, "bridged", "ssrc"), 0);
    drop(trunk);
    drop(ata);
    assert!(daemon.sigterm().success());
}
