//! SIP over TLS end to end: the real `faxbridge run` daemon with a TLS
//! listener (`sip.tls_listen`) receives a three-page fax that `faxbridge
//! dial` sends to a `sips:` URI — SIP over TLS, media over RTP/UDPTL — and
//! mails it as PDF to a real SMTP server; the PDF's page images must match
//! the sent pages pixel for pixel.
//!
//! The certificates are made at test time with the `openssl` command (Debian
//! package `openssl`): a test CA, a server certificate it signs for
//! `IP:127.0.0.1`, and an unrelated self-signed CA. A caller that trusts
//! only the unrelated CA must refuse the daemon (no call, no mail), and
//! `check-config` must name the key of a TLS setting that cannot work.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use faxbridge::docs::tiff::{Compression, write_tiff};

mod support;
use support::config::{DaemonConfig, quote};
use support::fax::{assert_same_pixels, pages, pdf_pages};
use support::procs::{BIN, LOG_WAIT, start_daemon};
use support::smtp::Sink;

/// `sip.first_request_secs` of the daemon: a connection that has not
/// finished its TLS handshake, or sent a request after it, by then is closed.
const FIRST_REQUEST_SECS: u64 = 3;

/// Runs `openssl` with `args` in `dir`; fails the test on error.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl (Debian package openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA (`<name>-ca.pem`, `<name>-ca.key`) in `dir`.
fn make_ca(dir: &Path, name: &str) -> PathBuf {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN=faxbridge test CA {name}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout",
            &format!("{name}-ca.key"),
            "-out",
            &format!("{name}-ca.pem"),
        ],
    );
    dir.join(format!("{name}-ca.pem"))
}

/// A certificate for IP 127.0.0.1 signed by CA `ca`: (`cert`, `key`).
fn make_server_cert(dir: &Path, ca: &str, name: &str) -> (PathBuf, PathBuf) {
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
        ],
    );
    // rustls checks the subjectAltName, never the CN.
    std::fs::write(
        dir.join(format!("{name}.ext")),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            &format!("{ca}-ca.pem"),
            "-CAkey",
            &format!("{ca}-ca.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &format!("{name}.ext"),
            "-out",
            &format!("{name}.pem"),
        ],
    );
    (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
    )
}

struct Setup {
    // Dropped first: the sink stops before its directory goes.
    sink: Sink,
    _dir: tempfile::TempDir,
    root: PathBuf,
    config: PathBuf,
    /// The CA that signed the daemon's certificate.
    ca: PathBuf,
    /// A CA that has nothing to do with the daemon.
    stranger_ca: PathBuf,
}

/// The daemon's configuration, relaying mail to 127.0.0.1:`smtp_port`;
/// `tls` are the `[sip]` keys of the TLS listener.
fn daemon_config(root: &Path, smtp_port: u16, tls: &str) -> PathBuf {
    DaemonConfig::new(root)
        .ident("+44 1632 960000")
        .set("sip", tls)
        .did("100", "lab")
        .route("lab", &["Physics Lab <lab@example.org>"])
        .mail_from("Fax Service <fax@example.org>")
        .relay(smtp_port)
        .write()
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let pki = root.join("pki");
    std::fs::create_dir_all(&pki).unwrap();
    let ca = make_ca(&pki, "lab");
    let stranger_ca = make_ca(&pki, "stranger");
    let (cert, key) = make_server_cert(&pki, "lab", "daemon");
    let sink_dir = root.join("sink");
    std::fs::create_dir_all(&sink_dir).unwrap();
    let sink = Sink::listen(&sink_dir, &[]);
    // The ready line says where the TLS listener is (`tls=`).
    let tls = format!(
        "tls_listen = \"127.0.0.1:0\"\ntls_cert = {}\ntls_key = {}\ntls_ca = {}\nfirst_request_secs = {FIRST_REQUEST_SECS}\n",
        quote(cert.display()),
        quote(key.display()),
        quote(ca.display())
    );
    let config = daemon_config(&root, sink.port, &tls);
    Setup {
        sink,
        _dir: dir,
        root,
        config,
        ca,
        stranger_ca,
    }
}

fn dial(target: &str, tiff: &Path, ca: &Path) -> Output {
    Command::new(BIN)
        .arg("dial")
        .arg(target)
        .arg(tiff)
        .args(["--g711", "--from", "01632960123"])
        .arg("--tls-ca")
        .arg(ca)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run faxbridge dial")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn fax_to_a_sips_uri_travels_over_tls_and_untrusted_servers_are_refused() {
    let s = setup();
    let daemon = start_daemon(&s.config);
    let tls_port = daemon.addr("tls").port();
    let sent = pages(300);
    let tiff = s.root.join("send.tif");
    write_tiff(&tiff, &sent, Compression::Group4).unwrap();
    let target = format!("sips:100@127.0.0.1:{tls_port}");

    // A caller that does not trust the daemon's CA refuses the handshake:
    // no INVITE is delivered, so nothing is received or mailed.
    let refused = dial(&target, &tiff, &s.stranger_ca);
    assert!(
        !refused.status.success(),
        "a server certificate from an unknown CA must be refused: {}",
        text(&refused)
    );
    let why = text(&refused);
    assert!(
        why.contains("over TLS") && why.contains("UnknownIssuer"),
        "the refusal says why: {why}"
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        s.sink.messages().is_empty(),
        "no fax through an untrusted link"
    );

    // The same call with the right CA goes through, over TLS signalling.
    let out = dial(&target, &tiff, &s.ca);
    assert!(out.status.success(), "dial over TLS failed: {}", text(&out));
    let mail = s.sink.wait_for_messages(1, Duration::from_secs(30));
    let work = s.root.join("pdf");
    std::fs::create_dir_all(&work).unwrap();
    let got = pdf_pages(&mail[0], &work);
    assert_eq!(got.len(), 3, "pages in the PDF");
    for (i, (p, g)) in sent.iter().zip(&got).enumerate() {
        assert_same_pixels(p, g, i + 1);
    }

    // `;transport=tls` on a sip: URI is TLS too.
    let out = dial(
        &format!("sip:100@127.0.0.1:{tls_port};transport=tls"),
        &tiff,
        &s.ca,
    );
    assert!(
        out.status.success(),
        "dial with transport=tls: {}",
        text(&out)
    );
    s.sink.wait_for_messages(2, Duration::from_secs(30));
    assert!(daemon.sigterm().success(), "daemon exits cleanly");
}

#[test]
fn check_config_names_the_tls_key_at_fault() {
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path().join("pki");
    std::fs::create_dir_all(&pki).unwrap();
    make_ca(&pki, "lab");
    let (cert, _key) = make_server_cert(&pki, "lab", "daemon");
    let (_other_cert, other_key) = make_server_cert(&pki, "lab", "other");
    let check = |tls: String| {
        let config = daemon_config(dir.path(), 2525, &tls);
        let out = Command::new(BIN)
            .arg("check-config")
            .arg(&config)
            .output()
            .unwrap();
        (out.status.success(), text(&out))
    };
    let listen = "tls_listen = \"127.0.0.1:5061\"\n";
    let (ok, msg) = check(format!("{listen}tls_cert = \"{}\"\n", cert.display()));
    assert!(!ok && msg.contains("sip.tls_key"), "missing key: {msg}");
    let (ok, msg) = check(format!(
        "{listen}tls_cert = \"{}\"\ntls_key = \"{}\"\n",
        cert.display(),
        other_key.display()
    ));
    assert!(
        !ok && msg.contains("sip.tls_key") && msg.contains("does not fit"),
        "a key of another certificate: {msg}"
    );
    let (ok, msg) = check(format!(
        "{listen}tls_cert = \"{}\"\ntls_key = \"{}\"\n",
        pki.join("nowhere.pem").display(),
        other_key.display()
    ));
    assert!(
        !ok && msg.contains("sip.tls_cert") && msg.contains("cannot read"),
        "missing file: {msg}"
    );
    // A path to an endless device is refused at once, not read forever.
    let started = Instant::now();
    let (ok, msg) = check(format!(
        "{listen}tls_cert = \"/dev/zero\"\ntls_key = \"{}\"\n",
        other_key.display()
    ));
    assert!(
        !ok && msg.contains("sip.tls_cert") && msg.contains("larger than"),
        "/dev/zero as the certificate: {msg}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    let (ok, msg) = check(format!("tls_cert = \"{}\"\n", cert.display()));
    assert!(
        !ok && msg.contains("sip.tls_listen"),
        "cert without listener: {msg}"
    );
}

/// A TLS client trusting `ca`, connected to the daemon's TLS listener with
/// the handshake done.
fn tls_connect(
    ca: &Path,
    port: u16,
) -> rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream> {
    use rustls::pki_types::pem::PemObject;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let conn = rustls::ClientConnection::new(std::sync::Arc::new(config), name).unwrap();
    let sock = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let mut tls = rustls::StreamOwned::new(conn, sock);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock).expect("TLS handshake");
    }
    tls
}

/// Seconds from `since` until the far end closes `stream` (EOF or an
/// error), reading and discarding whatever arrives.
fn secs_until_closed(stream: &mut impl std::io::Read, since: Instant) -> f64 {
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return since.elapsed().as_secs_f64(),
            Ok(_) => {}
        }
    }
}

fn options_over(tls: &mut impl std::io::Write, port: u16, n: u32) {
    let msg = format!(
        "OPTIONS sip:100@127.0.0.1:{port};transport=tls SIP/2.0\r\n\
         Via: SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bK-silent-{n}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=s{n}\r\nTo: <sip:100@127.0.0.1>\r\n\
         Call-ID: silent-{n}@127.0.0.1\r\nCSeq: {n} OPTIONS\r\nContent-Length: 0\r\n\r\n"
    );
    tls.write_all(msg.as_bytes()).unwrap();
    tls.flush().unwrap();
}

fn read_response(tls: &mut impl std::io::Read) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 2048];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tls.read(&mut buf).expect("a response over TLS");
        assert!(n > 0, "closed before the response");
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[test]
fn silent_tls_connections_are_closed_and_talking_ones_kept() {
    let s = setup();
    let daemon = start_daemon(&s.config);
    let tls_port = daemon.addr("tls").port();
    let limit = FIRST_REQUEST_SECS as f64;

    // A TCP connection to the TLS port that never starts a handshake.
    let mut raw = std::net::TcpStream::connect(("127.0.0.1", tls_port)).unwrap();
    let raw_opened = Instant::now();
    raw.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    // A TLS connection that says nothing after its handshake.
    let mut silent = tls_connect(&s.ca, tls_port);
    let silent_shook = Instant::now();
    // A TLS connection that sends a request at once.
    let mut talking = tls_connect(&s.ca, tls_port);
    options_over(&mut talking, tls_port, 1);
    assert!(read_response(&mut talking).starts_with("SIP/2.0 200"));

    let t = secs_until_closed(&mut raw, raw_opened);
    assert!(
        (limit - 0.5..limit + 2.0).contains(&t),
        "no handshake: closed after {t:.1} s, the limit is {limit} s"
    );
    let t = secs_until_closed(&mut silent, silent_shook);
    assert!(
        (limit - 0.5..limit + 2.0).contains(&t),
        "silent after the handshake: closed after {t:.1} s, the limit is {limit} s"
    );
    // The one that spoke is still served past the limit.
    options_over(&mut talking, tls_port, 2);
    assert!(read_response(&mut talking).starts_with("SIP/2.0 200"));
    // The daemon logs the close just after it; its log reaches the test
    // through a reader thread.
    assert!(daemon.log_contains(&["SIP connection closed", "Tls"], LOG_WAIT));
}
