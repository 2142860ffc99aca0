//! What a stranger can cost the SIP listeners, through the real daemon:
//!
//! * digest: a replayed response (same nonce and count) and a response
//!   whose `uri` names another request are challenged, a response without
//!   `qop` is challenged, and a `[sip.auth]` account used from outside its
//!   `sources` is refused, all with raw SIP over UDP;
//! * a flood of 1,100 idle TCP connections against a daemon held to 1,024
//!   file descriptors (the limit that once ran out): OPTIONS over TCP and
//!   UDP are still answered, a real fax over UDP still arrives pixel for
//!   pixel, one address holds no more than its share, silent connections
//!   are closed after `first_request_secs`, the log is not flooded and
//!   `/metrics` counts the closed connections;
//! * a flood of INVITEs from one peer gets 503 with Retry-After beyond the
//!   peer's `max_calls`, while another peer's call connects and a 999 from
//!   an ATA unit of the flooding peer still reaches the trunk (SIPp plays
//!   the other peer, the unit and the trunk).

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use faxbridge::docs::tiff::{Compression, write_tiff};
use faxbridge::sip::digest::{DigestAlgorithm, DigestInput, compute_response};

mod support;
use support::config::{DaemonConfig, quote};
use support::fax::{assert_same_pixels, pages, pdf_pages};
use support::procs::{BIN, LOG_WAIT, Proc, start_daemon};
use support::sipp::{Uas, uac};
use support::smtp::free_port;

const WAIT: Duration = Duration::from_secs(5);

/// A SIP response as read off the wire.
struct Reply {
    status: u16,
    text: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<String> {
        self.text.split("\r\n").find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }

    /// A quoted parameter of the digest challenge.
    fn challenge(&self, key: &str) -> String {
        let v = self.header("WWW-Authenticate").expect("a challenge");
        let at = v.find(&format!("{key}=\"")).expect(key) + key.len() + 2;
        v[at..].split('"').next().unwrap().to_string()
    }
}

/// A UDP SIP client at one loopback address.
struct Client {
    socket: UdpSocket,
    server: SocketAddr,
    seq: u32,
}

impl Client {
    fn new(ip: &str, server: SocketAddr) -> Client {
        let socket = UdpSocket::bind(format!("{ip}:0")).unwrap();
        socket.set_read_timeout(Some(WAIT)).unwrap();
        Client {
            socket,
            server,
            seq: 0,
        }
    }

    fn local(&self) -> SocketAddr {
        self.socket.local_addr().unwrap()
    }

    /// Sends `method` to `request_uri` with `extra` header lines and
    /// `body`; returns the final response, or `None` if none came.
    fn request(
        &mut self,
        method: &str,
        request_uri: &str,
        call_id: &str,
        extra: &str,
        body: &str,
    ) -> Option<Reply> {
        self.seq += 1;
        let local = self.local();
        let content_type = if body.is_empty() {
            ""
        } else {
            "Content-Type: application/sdp\r\n"
        };
        let msg = format!(
            "{method} {request_uri} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {local};branch=z9hG4bK-{call_id}-{seq};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:1000@{ip}>;tag=t-{call_id}\r\n\
             To: <{request_uri}>\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: {seq} {method}\r\n\
             Contact: <sip:1000@{local}>\r\n\
             {extra}{content_type}Content-Length: {len}\r\n\r\n{body}",
            seq = self.seq,
            ip = local.ip(),
            len = body.len(),
        );
        self.socket.send_to(msg.as_bytes(), self.server).unwrap();
        self.final_for(call_id, WAIT)
    }

    /// The next final response for `call_id` within `wait`.
    fn final_for(&self, call_id: &str, wait: Duration) -> Option<Reply> {
        let deadline = Instant::now() + wait;
        let mut buf = vec![0u8; 8192];
        while Instant::now() < deadline {
            let Ok((n, _)) = self.socket.recv_from(&mut buf) else {
                continue;
            };
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            let status: u16 = text
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let reply = Reply { status, text };
            if status >= 200 && reply.header("Call-ID").as_deref() == Some(call_id) {
                return Some(reply);
            }
        }
        None
    }
}

/// An `Authorization` header answering `challenge` for `method` on `uri`
/// with count `nc` (`None`: the RFC 2069 form, no qop).
fn authorization(
    user: &str,
    password: &str,
    challenge: &Reply,
    method: &str,
    uri: &str,
    nc: Option<&str>,
) -> String {
    let realm = challenge.challenge("realm");
    let nonce = challenge.challenge("nonce");
    let response = compute_response(&DigestInput {
        algorithm: DigestAlgorithm::Md5,
        username: user,
        realm: &realm,
        password,
        method,
        uri,
        nonce: &nonce,
        qop_auth: nc.map(|nc| (nc, "0a4f113b")),
    });
    let qop = nc
        .map(|nc| format!(", qop=auth, nc={nc}, cnonce=\"0a4f113b\""))
        .unwrap_or_default();
    format!(
        "Authorization: Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", \
         uri=\"{uri}\", response=\"{response}\", algorithm=MD5{qop}\r\n"
    )
}

#[test]
fn digest_replays_wrong_uris_and_foreign_sources_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = DaemonConfig::new(dir.path())
        .set("sip", "transports = [\"udp\"]\nrealm = \"fax.test\"")
        .peer("trunk", &["127.0.0.2/32"])
        .set(
            "sip.auth",
            "accounts = [{ username = \"roamer\", password = \"s3cret\", sources = [\"127.0.5.0/24\"] }]",
        )
        .set("sip.routing", "default_route = \"inbox\"")
        .route("inbox", &["Fax <fax@example.org>"])
        .write();
    let daemon = start_daemon(&cfg);
    let server = daemon.addr("udp");
    let uri = format!("sip:100@{server}");
    let mut roamer = Client::new("127.0.5.1", server);

    // Challenged, with qop=auth offered.
    let challenge = roamer.request("OPTIONS", &uri, "d1", "", "").unwrap();
    assert_eq!(challenge.status, 401, "{}", challenge.text);
    assert!(
        challenge
            .header("WWW-Authenticate")
            .unwrap()
            .contains("qop=\"auth\""),
        "{}",
        challenge.text
    );
    // Answered with count 1: admitted.
    let auth1 = authorization(
        "roamer",
        "s3cret",
        &challenge,
        "OPTIONS",
        &uri,
        Some("00000001"),
    );
    let ok = roamer.request("OPTIONS", &uri, "d2", &auth1, "").unwrap();
    assert_eq!(ok.status, 200, "{}", ok.text);
    // The same response again (same nonce and count) in a new request: a
    // replay, challenged with a new nonce.
    let replay = roamer.request("OPTIONS", &uri, "d3", &auth1, "").unwrap();
    assert_eq!(
        replay.status, 401,
        "a replay must be challenged: {}",
        replay.text
    );
    assert!(
        replay
            .header("WWW-Authenticate")
            .unwrap()
            .contains("stale=true"),
        "{}",
        replay.text
    );
    // The same nonce with the next count: admitted.
    let auth2 = authorization(
        "roamer",
        "s3cret",
        &challenge,
        "OPTIONS",
        &uri,
        Some("00000002"),
    );
    let ok = roamer.request("OPTIONS", &uri, "d4", &auth2, "").unwrap();
    assert_eq!(ok.status, 200, "{}", ok.text);

    // A response computed for another Request-URI: challenged.
    let fresh = roamer.request("OPTIONS", &uri, "d5", "", "").unwrap();
    let other_uri = format!("sip:999@{server}");
    let wrong_uri = authorization(
        "roamer",
        "s3cret",
        &fresh,
        "OPTIONS",
        &other_uri,
        Some("00000001"),
    );
    let r = roamer
        .request("OPTIONS", &uri, "d6", &wrong_uri, "")
        .unwrap();
    assert_eq!(r.status, 401, "uri must name the Request-URI: {}", r.text);
    // Without qop (RFC 2069): challenged.
    let no_qop = authorization("roamer", "s3cret", &fresh, "OPTIONS", &uri, None);
    let r = roamer.request("OPTIONS", &uri, "d7", &no_qop, "").unwrap();
    assert_eq!(r.status, 401, "qop=auth is required: {}", r.text);
    // The fresh nonce still works when answered properly.
    let right = authorization(
        "roamer",
        "s3cret",
        &fresh,
        "OPTIONS",
        &uri,
        Some("00000001"),
    );
    let r = roamer.request("OPTIONS", &uri, "d8", &right, "").unwrap();
    assert_eq!(r.status, 200, "{}", r.text);

    // From outside the account's sources: refused, even with the right
    // password on a valid nonce.
    let fresh = roamer.request("OPTIONS", &uri, "d9", "", "").unwrap();
    let mut outsider = Client::new("127.0.6.1", server);
    let r = outsider.request("OPTIONS", &uri, "d10", "", "").unwrap();
    assert_eq!(
        r.status, 403,
        "no account may be used from here: {}",
        r.text
    );
    let right = authorization(
        "roamer",
        "s3cret",
        &fresh,
        "OPTIONS",
        &uri,
        Some("00000001"),
    );
    let r = outsider
        .request("OPTIONS", &uri, "d11", &right, "")
        .unwrap();
    assert_eq!(r.status, 403, "{}", r.text);
    // An INVITE the same way: refused too.
    let invite_auth = authorization("roamer", "s3cret", &fresh, "INVITE", &uri, Some("00000002"));
    let r = outsider
        .request(
            "INVITE",
            &uri,
            "d12",
            &invite_auth,
            &sdp("127.0.6.1", 40000),
        )
        .unwrap();
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(daemon.log_contains(
        &[
            "digest account used from outside its sources refused",
            "127.0.6.1"
        ],
        Duration::from_secs(2)
    ));
}

fn sdp(ip: &str, port: u16) -> String {
    format!(
        "v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
    )
}

/// A TCP connection from `source` to `server`, or `None` if it could not
/// be made within a second.
fn connect_from(source: IpAddr, server: SocketAddr) -> Option<TcpStream> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).ok()?;
    socket.bind(&SocketAddr::new(source, 0).into()).ok()?;
    socket
        .connect_timeout(&server.into(), Duration::from_secs(1))
        .ok()?;
    let stream: TcpStream = socket.into();
    stream.set_nonblocking(true).ok()?;
    Some(stream)
}

/// Whether the far end closed `stream` (EOF or reset).
fn is_closed(mut stream: &TcpStream) -> bool {
    let mut b = [0u8; 1];
    match stream.read(&mut b) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
    }
}

/// The flooding client's connections, by source address.
struct Flood {
    conns: Vec<(IpAddr, Option<TcpStream>)>,
}

impl Flood {
    /// `per` connections from each of `sources`.
    fn sources(sources: &[IpAddr], per: usize) -> Vec<IpAddr> {
        sources
            .iter()
            .flat_map(|ip| std::iter::repeat_n(*ip, per))
            .collect()
    }

    fn open(plan: Vec<IpAddr>, server: SocketAddr) -> Flood {
        let conns = plan
            .into_iter()
            .map(|ip| (ip, connect_from(ip, server)))
            .collect();
        Flood { conns }
    }

    /// Connections still open, from `ip` (or all).
    fn open_count(&self, ip: Option<IpAddr>) -> usize {
        self.conns
            .iter()
            .filter(|(i, _)| ip.is_none_or(|ip| *i == ip))
            .filter_map(|(_, s)| s.as_ref())
            .filter(|s| !is_closed(s))
            .count()
    }

    /// Opens again every connection that was closed (a persistent attacker).
    fn reopen(&mut self, server: SocketAddr) {
        for (ip, s) in &mut self.conns {
            if s.as_ref().is_none_or(is_closed) {
                *s = connect_from(*ip, server);
            }
        }
    }
}

/// OPTIONS over TCP from `source`; the status of the response.
fn tcp_options(source: &str, server: SocketAddr) -> Option<u16> {
    let mut s = connect_from(source.parse().unwrap(), server)?;
    s.set_nonblocking(false).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    let local = s.local_addr().unwrap();
    let msg = format!(
        "OPTIONS sip:100@{server};transport=tcp SIP/2.0\r\n\
         Via: SIP/2.0/TCP {local};branch=z9hG4bK-tcp-options\r\n\
         Max-Forwards: 70\r\nFrom: <sip:probe@{ip}>;tag=p1\r\nTo: <sip:100@{server}>\r\n\
         Call-ID: tcp-options@{ip}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
        ip = local.ip()
    );
    s.write_all(msg.as_bytes()).ok()?;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = s.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&got)
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// `GET /metrics` from the web interface at `addr`.
fn metrics(addr: SocketAddr) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    text
}

/// The value of the sample whose line starts with `series`.
fn sample(metrics: &str, series: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {series} in /metrics:\n{metrics}"))
}

fn mails(maildir: &Path) -> Vec<Vec<u8>> {
    std::fs::read_dir(maildir.join("new"))
        .map(|d| {
            d.filter_map(|e| std::fs::read(e.ok()?.path()).ok())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_tcp_connection_flood_costs_neither_signalling_nor_faxes() {
    // The flood holds 1,100 sockets here.
    rlimit::increase_nofile_limit(8192).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let first_request_secs = 4;
    // /metrics is read from loopback (metrics_from); nobody signs in here.
    let cfg = DaemonConfig::new(root)
        .ident("+44 1632 960000")
        .set(
            "sip",
            &format!(
                "transports = [\"udp\", \"tcp\"]\nfirst_request_secs = {first_request_secs}"
            ),
        )
        .did("100", "lab")
        .route("lab", &["Physics Lab <lab@example.org>"])
        .web("")
        .entry(
            "web.accounts",
            "username = \"admin\"\npassword_hash = \"pbkdf2-sha256$600000$0a1b2c3d$940DD54B117167A8A9DBFD6F73B02345EAE6B1266FA69D623A52F5043D9E1C85\"\nrole = \"admin\"",
        )
        .write();
    // 1,024 descriptors, soft and hard, as under the unit that once had no
    // LimitNOFILE: the daemon cannot raise it and must fit its limits in.
    let mut cmd = Command::new("prlimit");
    cmd.args(["--nofile=1024:1024", "--", BIN, "run", "--config"])
        .arg(&cfg)
        .env("RUST_LOG", "info");
    let daemon = Proc::start("daemon", &mut cmd, "faxbridge ready");
    assert!(daemon.log_contains(&["SIP over TCP/TLS limits"], Duration::ZERO));
    let lines_at_start = daemon.log_lines();
    // The flood is over TCP; the checks on the side over UDP (the daemon
    // bound both on one port when it could, but need not have).
    let server = daemon.addr("tcp");
    let udp_server = daemon.addr("udp");

    // 100 connections from one address, then 1,000 from 40 others.
    let greedy: IpAddr = "127.0.0.9".parse().unwrap();
    let many: Vec<IpAddr> = (1..=40)
        .map(|n| format!("127.0.1.{n}").parse().unwrap())
        .collect();
    let flood_started = Instant::now();
    let mut plan = Flood::sources(&[greedy], 100);
    plan.extend(Flood::sources(&many, 25));
    let mut flood = Flood::open(plan, server);
    let made = flood.conns.iter().filter(|(_, s)| s.is_some()).count();
    assert!(made >= 1000, "only {made} of 1,100 connections were made");
    std::thread::sleep(Duration::from_secs(1));
    let greedy_open = flood.open_count(Some(greedy));
    assert!(
        greedy_open <= 32,
        "one address holds {greedy_open} connections; its share is 32"
    );
    let open = flood.open_count(None);
    assert!(
        open < 1024 - 256,
        "{open} idle connections held: the descriptor limit cannot carry them beside calls"
    );

    // The attacker keeps every connection open, reconnecting each one
    // the daemon closes, while the rest of the test runs.
    let stop = Arc::new(AtomicBool::new(false));
    let flooder = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(120);
            while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
                flood.reopen(server);
                std::thread::sleep(Duration::from_millis(500));
            }
            flood
        })
    };

    // Signalling still works over UDP and over TCP.
    let mut udp = Client::new("127.0.0.50", udp_server);
    let r = udp
        .request(
            "OPTIONS",
            &format!("sip:100@{udp_server}"),
            "flood-udp",
            "",
            "",
        )
        .expect("OPTIONS over UDP answered during the flood");
    assert_eq!(r.status, 200);
    assert_eq!(
        tcp_options("127.0.0.77", server),
        Some(200),
        "OPTIONS over TCP answered during the flood"
    );

    // A real fax over UDP arrives, every pixel intact.
    let sent = pages(300);
    let tiff = root.join("send.tif");
    write_tiff(&tiff, &sent, Compression::Group4).unwrap();
    let out = Command::new(BIN)
        .arg("dial")
        .arg(format!("sip:100@{udp_server}"))
        .arg(&tiff)
        .args(["--g711", "--from", "01632960123"])
        .env("RUST_LOG", "warn")
        .output()
        .expect("run faxbridge dial");
    assert!(
        out.status.success(),
        "fax during the flood failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let maildir = root.join("spool").join("maildir");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mail = loop {
        if let Some(m) = mails(&maildir).pop() {
            break m;
        }
        assert!(Instant::now() < deadline, "no fax mail during the flood");
        std::thread::sleep(Duration::from_millis(200));
    };
    let got = pdf_pages(&mail, &root.join("pdf"));
    assert_eq!(got.len(), 3, "pages in the PDF");
    for (i, (p, g)) in sent.iter().zip(&got).enumerate() {
        assert_same_pixels(p, g, i + 1);
    }

    // The attacker stops reconnecting: every silent connection is closed
    // within first_request_secs.
    stop.store(true, Ordering::SeqCst);
    let flood = flooder.join().unwrap();
    let flood_secs = flood_started.elapsed().as_secs();
    std::thread::sleep(Duration::from_secs(first_request_secs + 2));
    assert_eq!(
        flood.open_count(None),
        0,
        "idle connections still open after {first_request_secs} s"
    );

    // The log: a few lines per 10 s about refused and closed connections,
    // not one per connection (and no accept loop spinning).
    let refused_lines = daemon.log_count(&["SIP connection refused"]);
    let closed_lines = daemon.log_count(&["SIP connection closed"]);
    let limit = flood_secs / 10 + 2;
    assert!(
        refused_lines <= limit as usize && closed_lines <= limit as usize,
        "{refused_lines} refusal and {closed_lines} closing lines in {flood_secs} s"
    );
    assert!(!daemon.log_contains(&["Too many open files"], Duration::ZERO));
    let flood_lines = daemon.log_lines() - lines_at_start;
    assert!(
        flood_lines < 400,
        "{flood_lines} log lines during a {flood_secs} s flood and one fax"
    );

    // /metrics counts what was closed, and nothing is left open.
    let m = metrics(daemon.addr("web"));
    assert!(
        sample(
            &m,
            "faxbridge_sip_connections_closed_total{reason=\"per_address\"}"
        ) >= 68,
        "{m}"
    );
    assert!(
        sample(
            &m,
            "faxbridge_sip_connections_closed_total{reason=\"no_request\"}"
        ) > 0,
        "{m}"
    );
    assert_eq!(sample(&m, "faxbridge_sip_connections "), 0, "{m}");
    assert_eq!(sample(&m, "faxbridge_sip_accept_errors_total "), 0, "{m}");
    assert!(daemon.sigterm().success(), "daemon exits cleanly");
}

#[test]
fn an_invite_flood_from_one_peer_gets_503_but_others_and_999_get_through() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // SIPp takes `-p 0` for no port at all (it then binds 5060 or the next
    // free port) and does not say which port it got: the trunk's port is
    // reserved before SIPp binds it.
    let trunk_port = free_port();
    let trunk_uri = format!("sip:{{number}}@127.0.0.3:{trunk_port}");
    let cfg = DaemonConfig::new(root)
        .set("sip", "transports = [\"udp\"]")
        // The flooding host and an ATA unit of the same site share one entry.
        .entry(
            "sip.peers",
            "name = \"site\"\naddresses = [\"127.0.0.20/32\", \"127.0.1.1/32\"]\nmax_calls = 2",
        )
        .peer("other", &["127.0.0.21/32"])
        .peer("trunk", &["127.0.0.3/32"])
        .did("100", "lab")
        .route("lab", &["Physics Lab <lab@example.org>"])
        .trunk(&trunk_uri)
        .set("outgoing", &format!("emergency_uris = [{}]", quote(&trunk_uri)))
        .set("bridge", "trunk_peer = \"trunk\"")
        .entry(
            "ata.buildings",
            "name = \"Head office\"\nsubnets = [\"127.0.1.0/24\"]\nemergency_cli = \"+441632960001\"",
        )
        .ata_unit(
            "ho",
            "127.0.1.1",
            "model = \"Mediatrix 4102\"\nbuilding = \"Head office\"",
        )
        .ata_port("ho", 1, "2001", "phone", "")
        .bridge_line("ho", 1, "+441632960201")
        .write();
    let trunk = Uas::start("trunk_answer.xml", "127.0.0.3", trunk_port, 1, root);
    let daemon = start_daemon(&cfg);
    let server = daemon.addr("udp");

    // Five INVITEs at once from the flooding host; none is acknowledged,
    // so the answered ones stay in progress.
    let flooder = Client::new("127.0.0.20", server);
    let local = flooder.local();
    let uri = format!("sip:100@{server}");
    for n in 0..5 {
        let body = sdp("127.0.0.20", 42000 + 2 * n);
        let msg = format!(
            "INVITE {uri} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {local};branch=z9hG4bK-flood-{n};rport\r\n\
             Max-Forwards: 70\r\nFrom: <sip:1000@127.0.0.20>;tag=f{n}\r\nTo: <{uri}>\r\n\
             Call-ID: flood-{n}\r\nCSeq: 1 INVITE\r\nContact: <sip:1000@{local}>\r\n\
             Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        flooder.socket.send_to(msg.as_bytes(), server).unwrap();
        // In order, so that the first two are the ones taken.
        std::thread::sleep(Duration::from_millis(100));
    }
    let finals: Vec<Reply> = (0..5)
        .map(|n| {
            flooder
                .final_for(&format!("flood-{n}"), Duration::from_secs(10))
                .unwrap_or_else(|| panic!("no final response to INVITE {n}"))
        })
        .collect();
    let statuses: Vec<u16> = finals.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200, 503, 503, 503], "the peer's limit is 2");
    for r in &finals[2..] {
        assert_eq!(
            r.header("Retry-After").as_deref(),
            Some("10"),
            "503 says when to retry: {}",
            r.text
        );
    }
    assert!(daemon.log_contains(&["call refused: the peer has its limit"], LOG_WAIT));

    // Another peer's call connects meanwhile.
    // SIPp's own port, reserved for the same reason as the trunk's.
    let other = uac(
        "mediatrix_call.xml",
        "127.0.0.21",
        free_port(),
        server,
        "100",
        &[("user", "1000")],
        root,
    );
    assert!(
        other.status.success(),
        "another peer's call failed:\n{}\n{}",
        other.errors,
        other.messages
    );

    // 999 from the ATA unit of the flooding peer, which is at its limit:
    // it reaches the trunk.
    let emergency = uac(
        "mediatrix_call.xml",
        "127.0.1.1",
        free_port(),
        server,
        "999",
        &[("user", "2001")],
        root,
    );
    assert!(
        emergency.status.success(),
        "999 from the unit failed:\n{}\n{}",
        emergency.errors,
        emergency.messages
    );
    let invites = trunk.invites();
    assert_eq!(invites.len(), 1, "the trunk got the emergency call");
    assert!(
        invites[0].starts_with("INVITE sip:999@127.0.0.3"),
        "{}",
        invites[0]
    );
}

/// CPU seconds (user + system) the process `pid` has used.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name, which is in parentheses.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    ticks / 100.0
}

/// The SMTP greeting's code from a new connection, if one comes in time.
fn smtp_greeting(server: SocketAddr) -> Option<u16> {
    let mut s = TcpStream::connect_timeout(&server, WAIT).ok()?;
    s.set_read_timeout(Some(WAIT)).unwrap();
    let mut buf = [0u8; 512];
    let n = s.read(&mut buf).ok()?;
    String::from_utf8_lossy(&buf[..n]).get(..3)?.parse().ok()
}

#[test]
fn accept_loops_back_off_when_descriptors_run_out() {
    rlimit::increase_nofile_limit(8192).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // SMTP allows far more connections than the process has descriptors,
    // so a flood runs the daemon out of them: every accept then fails.
    let cfg = DaemonConfig::new(root)
        .set("sip", "transports = [\"udp\", \"tcp\"]")
        .smtp_intake("max_connections = 5000\nmax_connections_per_address = 1000")
        .write();
    let mut cmd = Command::new("prlimit");
    cmd.args(["--nofile=512:512", "--", BIN, "run", "--config"])
        .arg(&cfg)
        .env("RUST_LOG", "info");
    let daemon = Proc::start("daemon", &mut cmd, "faxbridge ready");
    let smtp = daemon.addr("smtp");
    let sip = daemon.addr("tcp");
    let sip_udp = daemon.addr("udp");
    assert_eq!(smtp_greeting(smtp), Some(220));

    // 800 connections to SMTP from 8 addresses: more than the daemon has
    // descriptors; the kernel completes the rest into the listen backlog.
    let sources: Vec<IpAddr> = (1..=8)
        .map(|n| format!("127.0.3.{n}").parse().unwrap())
        .collect();
    let flood = Flood::open(Flood::sources(&sources, 100), smtp);
    std::thread::sleep(Duration::from_secs(1));
    // SIP over TCP competes for the same descriptors (it may or may not
    // get one); whatever happens, neither loop spins.
    let _ = tcp_options("127.0.3.99", sip);
    let cpu_before = cpu_secs(daemon.pid());
    let watched = Instant::now();
    std::thread::sleep(Duration::from_secs(4));
    let cpu = cpu_secs(daemon.pid()) - cpu_before;
    let secs = watched.elapsed().as_secs_f64();
    assert!(
        daemon.log_contains(&["SMTP accept failed"], LOG_WAIT),
        "the flood did not run the daemon out of descriptors"
    );
    // Backing off: no core spun, no log flood.
    assert!(
        cpu < 0.2 * secs,
        "the daemon used {cpu:.2} s of CPU in {secs:.1} s while out of descriptors"
    );
    let smtp_lines = daemon.log_count(&["SMTP accept failed"]);
    assert!(
        smtp_lines <= 3,
        "{smtp_lines} SMTP accept failure lines within seconds"
    );
    let sip_lines = daemon.log_count(&["accept failed"]) - smtp_lines;
    assert!(
        sip_lines <= 3,
        "{sip_lines} SIP accept failure lines within seconds"
    );
    // SIP over UDP needs no descriptor: it is answered throughout.
    let mut udp = Client::new("127.0.3.100", sip_udp);
    let reply = udp
        .request(
            "OPTIONS",
            &format!("sip:100@{sip_udp}"),
            "fd-options-1",
            "",
            "",
        )
        .expect("OPTIONS over UDP answered while out of descriptors");
    assert_eq!(reply.status, 200);

    // The flood ends: both listeners serve again by themselves (at the
    // latest when the sessions accepted during it time out unproven).
    drop(flood);
    let recovered = Instant::now();
    let mut greeting = None;
    while recovered.elapsed() < Duration::from_secs(45) && greeting != Some(220) {
        greeting = smtp_greeting(smtp);
    }
    assert_eq!(greeting, Some(220), "SMTP serves again after the flood");
    assert_eq!(
        tcp_options("127.0.3.101", sip),
        Some(200),
        "SIP over TCP serves again"
    );
}
