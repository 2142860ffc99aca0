//! The SMTP listener over loopback, driven by a real SMTP client (lettre:
//! STARTTLS, AUTH PLAIN/LOGIN) and by raw TCP scripts for what no polite
//! client sends: pipelined batches, malformed and overlong lines, garbage,
//! oversize data, silence.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use faxbridge::intake::Refusal;
use faxbridge::smtp::{
    Accepted, MailHandler, ReceivedMessage, SessionInfo, SmtpAccount, SmtpConfig, SmtpError,
    SmtpListener,
};
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// What the listener asked the handler.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Call {
    Sender(String),
    Recipient(String, String),
    Accept(SessionInfo, ReceivedMessage),
}

/// A handler that records every question and refuses senders containing
/// "blocked", recipients at 999 and messages containing "REFUSE ME".
#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<Call>>,
}

impl Recorder {
    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    fn messages(&self) -> Vec<(SessionInfo, ReceivedMessage)> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Accept(s, m) => Some((s, m)),
                _ => None,
            })
            .collect()
    }
}

fn refusal(code: u16, enhanced: &'static str, reason: &str) -> Refusal {
    Refusal {
        code,
        enhanced,
        reason: reason.to_string(),
        advice: "Ask the fax administrator.".to_string(),
    }
}

#[async_trait::async_trait]
impl MailHandler for Recorder {
    async fn check_sender(&self, _session: &SessionInfo, mail_from: &str) -> Result<(), Refusal> {
        self.calls
            .lock()
            .unwrap()
            .push(Call::Sender(mail_from.to_string()));
        if mail_from.contains("blocked") {
            return Err(refusal(
                550,
                "5.7.1",
                &format!("{mail_from} is not allowed to send faxes"),
            ));
        }
        Ok(())
    }

    async fn check_recipient(
        &self,
        _session: &SessionInfo,
        mail_from: &str,
        recipient: &str,
    ) -> Result<(), Refusal> {
        self.calls.lock().unwrap().push(Call::Recipient(
            mail_from.to_string(),
            recipient.to_string(),
        ));
        if recipient.starts_with("999@") {
            return Err(refusal(550, "5.7.1", "999 is an emergency number"));
        }
        Ok(())
    }

    async fn accept(
        &self,
        session: &SessionInfo,
        message: ReceivedMessage,
    ) -> Result<Accepted, Refusal> {
        let refuse = message.data.windows(9).any(|w| w == b"REFUSE ME");
        let jobs = (0..message.recipients.len())
            .map(|i| format!("job-{i}"))
            .collect();
        self.calls
            .lock()
            .unwrap()
            .push(Call::Accept(session.clone(), message));
        if refuse {
            return Err(refusal(554, "5.7.1", "The message was refused"));
        }
        Ok(Accepted { jobs })
    }
}

/// A listener running on 127.0.0.1 with its recorder; stopped on drop.
struct Server {
    addr: SocketAddr,
    handler: Arc<Recorder>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Server {
    async fn start(mut config: SmtpConfig) -> Server {
        faxbridge::mail::install_crypto_provider();
        config.listen = Some("127.0.0.1:0".parse().unwrap());
        config
            .hostname
            .get_or_insert_with(|| "fax.test".to_string());
        let listener = SmtpListener::bind(&config).await.expect("bind");
        let addr = listener.local_addr().unwrap();
        let handler = Arc::new(Recorder::default());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(listener.run(handler.clone(), async move {
            let _ = stopped.await;
        }));
        Server {
            addr,
            handler,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stop and wait for every session to end (bounded).
    async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("the listener stops within 10 s")
                .unwrap();
        }
    }

    fn plain_transport(&self) -> AsyncSmtpTransport<Tokio1Executor> {
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(self.addr.ip().to_string())
            .port(self.addr.port())
            .hello_name(ClientId::Domain("client.test".into()))
            .timeout(Some(Duration::from_secs(10)))
            .build()
    }

    fn tls_transport(
        &self,
        cert_pem: &[u8],
        credentials: Option<(Credentials, Mechanism)>,
    ) -> AsyncSmtpTransport<Tokio1Executor> {
        let tls = TlsParameters::builder("localhost".into())
            .add_root_certificate(Certificate::from_pem(cert_pem).unwrap())
            .build_rustls()
            .unwrap();
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(self.addr.ip().to_string())
                .port(self.addr.port())
                .hello_name(ClientId::Domain("client.test".into()))
                .timeout(Some(Duration::from_secs(10)))
                .tls(Tls::Required(tls));
        if let Some((credentials, mechanism)) = credentials {
            builder = builder
                .credentials(credentials)
                .authentication(vec![mechanism]);
        }
        builder.build()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A raw SMTP client: write lines, read whole (multi-line) replies.
struct Raw {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

impl Raw {
    async fn connect(addr: SocketAddr) -> Raw {
        let (r, w) = TcpStream::connect(addr).await.unwrap().into_split();
        Raw {
            reader: BufReader::new(r),
            writer: w,
        }
    }

    /// Connect and read the greeting.
    async fn greeted(addr: SocketAddr) -> Raw {
        let mut raw = Raw::connect(addr).await;
        let greeting = raw.reply().await;
        assert!(greeting.starts_with("220 fax.test ESMTP"), "{greeting}");
        raw
    }

    async fn send(&mut self, bytes: impl AsRef<[u8]>) {
        self.writer.write_all(bytes.as_ref()).await.unwrap();
    }

    /// One reply, all its lines; empty at end of stream.
    async fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(Duration::from_secs(10), self.reader.read_line(&mut line))
                .await
                .expect("a reply within 10 s")
                .unwrap();
            if n == 0 {
                return all;
            }
            assert!(line.ends_with("\r\n"), "reply line without CRLF: {line:?}");
            all.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                return all;
            }
        }
    }

    /// Send one command and return its reply.
    async fn cmd(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n")).await;
        self.reply().await
    }

    /// Whether the server closed the connection (EOF within 5 s).
    async fn closed(&mut self) -> bool {
        let mut rest = Vec::new();
        matches!(
            tokio::time::timeout(Duration::from_secs(5), self.reader.read_to_end(&mut rest)).await,
            Ok(Ok(0))
        )
    }
}

/// A self-signed certificate for localhost / 127.0.0.1, made with openssl.
fn make_certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let status = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        // rustls refuses a CA certificate as the server's own
        // (CaUsedAsEndEntity); openssl req -x509 makes one unless told.
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("run openssl (Debian package openssl)");
    assert!(status.success(), "openssl req failed");
    (cert, key)
}

/// The account used by the TLS tests: relay / "correct horse", stored as
/// PBKDF2 made by `openssl kdf` (100,000 iterations, the least a
/// configuration may use), sending for example.org.
fn relay_account() -> SmtpAccount {
    let out = std::process::Command::new("openssl")
        .args(["kdf", "-keylen", "32", "-kdfopt", "digest:SHA256"])
        .args(["-kdfopt", "pass:correct horse", "-kdfopt", "salt:a1b2c3d4"])
        .args(["-kdfopt", "iter:100000", "PBKDF2"])
        .output()
        .expect("run openssl kdf");
    assert!(out.status.success(), "openssl kdf failed");
    let hex: String = String::from_utf8(out.stdout)
        .unwrap()
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .collect();
    SmtpAccount {
        username: "relay".into(),
        password_hash: format!("pbkdf2-sha256$100000$a1b2c3d4${hex}"),
        addresses: vec!["example.org".into()],
    }
}

fn tls_config(dir: &Path) -> (SmtpConfig, Vec<u8>) {
    let (cert, key) = make_certificate(dir);
    let pem = std::fs::read(&cert).unwrap();
    let config = SmtpConfig {
        tls_cert: Some(cert),
        tls_key: Some(key),
        accounts: vec![relay_account()],
        ..SmtpConfig::default()
    };
    (config, pem)
}

fn envelope(from: &str, to: &[&str]) -> Envelope {
    Envelope::new(
        Some(from.parse().unwrap()),
        to.iter().map(|t| t.parse().unwrap()).collect(),
    )
    .unwrap()
}

/// The message data after the listener's `Received:` header.
fn body_after_received(data: &[u8]) -> &[u8] {
    assert!(data.starts_with(b"Received: from "), "no Received header");
    // The header's continuation lines start with a tab.
    let mut pos = 0;
    loop {
        let end = data[pos..].windows(2).position(|w| w == b"\r\n").unwrap() + pos + 2;
        pos = end;
        if data.get(pos) != Some(&b'\t') {
            return &data[pos..];
        }
    }
}

/// What the listener receives when lettre sends `message`: lettre always
/// ends the data with `CRLF . CRLF`, so a message that already ends in CRLF
/// gains one empty line.
fn as_sent_by_lettre(message: &[u8]) -> Vec<u8> {
    let mut m = message.to_vec();
    m.extend_from_slice(b"\r\n");
    m
}

/// Byte comparison that reports where two long messages differ.
#[track_caller]
fn assert_same_bytes(got: &[u8], want: &[u8]) {
    if got != want {
        let at = got
            .iter()
            .zip(want)
            .position(|(a, b)| a != b)
            .unwrap_or(got.len().min(want.len()));
        let show = |b: &[u8]| {
            String::from_utf8_lossy(&b[at.saturating_sub(20)..(at + 20).min(b.len())]).to_string()
        };
        panic!(
            "messages differ at byte {at} (lengths {} and {}): got {:?}, want {:?}",
            got.len(),
            want.len(),
            show(got),
            show(want)
        );
    }
}

const MESSAGE: &[u8] = b"From: Jane <j.smith@example.org>\r\n\
To: 01223123456@fax.example.org\r\n\
Subject: Order\r\n\
\r\n\
Please fax this.\r\n";

#[tokio::test]
async fn plain_delivery_to_two_recipients() {
    let server = Server::start(SmtpConfig::default()).await;
    let response = server
        .plain_transport()
        .send_raw(
            &envelope(
                "j.smith@example.org",
                &["01223123456@fax.example.org", "01223654321@fax.example.org"],
            ),
            MESSAGE,
        )
        .await
        .expect("the message is accepted");
    assert_eq!(response.code().to_string(), "250");
    let text = response.message().collect::<Vec<_>>().join(" ");
    assert!(text.contains("2 fax jobs queued"), "{text}");

    let calls = server.handler.calls();
    assert_eq!(calls[0], Call::Sender("j.smith@example.org".into()));
    assert_eq!(
        calls[1],
        Call::Recipient(
            "j.smith@example.org".into(),
            "01223123456@fax.example.org".into()
        )
    );
    assert_eq!(
        calls[2],
        Call::Recipient(
            "j.smith@example.org".into(),
            "01223654321@fax.example.org".into()
        )
    );
    let (session, message) = &server.handler.messages()[0];
    assert_eq!(session.helo, "client.test");
    assert!(!session.tls);
    assert_eq!(session.authenticated, None);
    assert_eq!(session.peer.ip().to_string(), "127.0.0.1");
    assert_eq!(message.mail_from, "j.smith@example.org");
    assert_eq!(
        message.recipients,
        ["01223123456@fax.example.org", "01223654321@fax.example.org"]
    );
    let received = String::from_utf8_lossy(&message.data[..200]).to_string();
    assert!(
        received.starts_with(
            "Received: from client.test ([127.0.0.1])\r\n\tby fax.test (faxbridge) with ESMTP id "
        ),
        "{received}"
    );
    assert_same_bytes(
        body_after_received(&message.data),
        &as_sent_by_lettre(MESSAGE),
    );
}

#[tokio::test]
async fn one_recipient_refused_while_another_is_accepted() {
    let server = Server::start(SmtpConfig::default()).await;
    let mut c = Raw::greeted(server.addr).await;
    assert!(c.cmd("EHLO client.test").await.starts_with("250-fax.test"));
    assert_eq!(
        c.cmd("MAIL FROM:<j.smith@example.org>").await,
        "250 2.1.0 Sender OK\r\n"
    );
    assert_eq!(
        c.cmd("RCPT TO:<999@fax.example.org>").await,
        "550 5.7.1 999 is an emergency number\r\n"
    );
    assert_eq!(
        c.cmd("RCPT TO:<01223123456@fax.example.org>").await,
        "250 2.1.5 Recipient OK\r\n"
    );
    assert!(c.cmd("DATA").await.starts_with("354 "));
    c.send(MESSAGE).await;
    assert_eq!(
        c.cmd(".").await,
        "250 2.0.0 Message accepted: 1 fax job queued\r\n"
    );
    // A message the handler refuses: the reply carries its reason and the
    // session goes on.
    c.cmd("MAIL FROM:<j.smith@example.org>").await;
    c.cmd("RCPT TO:<01223123456@fax.example.org>").await;
    c.cmd("DATA").await;
    c.send("Subject: x\r\n\r\nREFUSE ME\r\n").await;
    assert_eq!(c.cmd(".").await, "554 5.7.1 The message was refused\r\n");
    assert_eq!(
        c.cmd("QUIT").await,
        "221 2.0.0 fax.test closing connection\r\n"
    );
    assert!(c.closed().await);

    let messages = server.handler.messages();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0].1.recipients, ["01223123456@fax.example.org"]);
    assert_same_bytes(body_after_received(&messages[0].1.data), MESSAGE);
    // With one recipient the trace header names it (RFC 5321 §4.4).
    assert!(
        String::from_utf8_lossy(&messages[0].1.data)
            .contains("\tfor <01223123456@fax.example.org>;")
    );
}

#[tokio::test]
async fn a_refused_sender_hears_why() {
    let server = Server::start(SmtpConfig::default()).await;
    let err = server
        .plain_transport()
        .send_raw(
            &envelope("blocked@example.org", &["01223123456@fax.example.org"]),
            MESSAGE,
        )
        .await
        .unwrap_err();
    assert!(err.is_permanent(), "{err}");
    assert_eq!(err.status().unwrap().to_string(), "550");
    assert!(
        err.to_string()
            .contains("5.7.1 blocked@example.org is not allowed to send faxes"),
        "{err}"
    );
    assert!(server.handler.messages().is_empty());
    assert_eq!(
        server.handler.calls(),
        [Call::Sender("blocked@example.org".into())]
    );
}

#[tokio::test]
async fn starttls_then_auth_plain_and_login() {
    let dir = tempfile::tempdir().unwrap();
    let (config, pem) = tls_config(dir.path());
    let server = Server::start(config).await;

    for mechanism in [Mechanism::Plain, Mechanism::Login] {
        let transport = server.tls_transport(
            &pem,
            Some((
                Credentials::new("relay".into(), "correct horse".into()),
                mechanism,
            )),
        );
        transport
            .send_raw(
                &envelope("j.smith@example.org", &["01223123456@fax.example.org"]),
                MESSAGE,
            )
            .await
            .unwrap_or_else(|e| panic!("{mechanism:?}: {e}"));
    }
    let messages = server.handler.messages();
    assert_eq!(messages.len(), 2);
    for (session, message) in &messages {
        assert!(session.tls);
        assert_eq!(session.authenticated.as_deref(), Some("relay"));
        assert_eq!(session.helo, "client.test");
        let text = String::from_utf8_lossy(&message.data);
        assert!(text.contains(" with ESMTPSA id "), "{text}");
        assert_same_bytes(
            body_after_received(&message.data),
            &as_sent_by_lettre(MESSAGE),
        );
    }

    // STARTTLS without AUTH: ESMTPS.
    server
        .tls_transport(&pem, None)
        .send_raw(
            &envelope("j.smith@example.org", &["01223123456@fax.example.org"]),
            MESSAGE,
        )
        .await
        .unwrap();
    let (session, message) = server.handler.messages().pop().unwrap();
    assert!(session.tls && session.authenticated.is_none());
    assert!(String::from_utf8_lossy(&message.data).contains(" with ESMTPS id "));

    // A wrong password gets 535 5.7.8.
    let err = server
        .tls_transport(
            &pem,
            Some((
                Credentials::new("relay".into(), "wrong".into()),
                Mechanism::Plain,
            )),
        )
        .send_raw(
            &envelope("j.smith@example.org", &["01223123456@fax.example.org"]),
            MESSAGE,
        )
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|c| c.to_string()).as_deref(), Some("535"));
    assert!(err.to_string().contains("5.7.8"), "{err}");
    assert_eq!(server.handler.messages().len(), 3);
}

#[tokio::test]
async fn auth_is_refused_without_tls() {
    let dir = tempfile::tempdir().unwrap();
    let (config, _pem) = tls_config(dir.path());
    let server = Server::start(config).await;
    let mut c = Raw::greeted(server.addr).await;
    let ehlo = c.cmd("EHLO client.test").await;
    assert!(ehlo.contains("250-STARTTLS\r\n"), "{ehlo}");
    assert!(!ehlo.contains("AUTH"), "{ehlo}");
    // "\0relay\0correct horse"
    let reply = c.cmd("AUTH PLAIN AHJlbGF5AGNvcnJlY3QgaG9yc2U=").await;
    assert!(
        reply.starts_with("538 5.7.11 Encryption required"),
        "{reply}"
    );
    assert_eq!(c.cmd("AUTH LOGIN").await.get(..10), Some("538 5.7.11"));
    // Without a certificate and accounts AUTH is not there at all.
    let plain = Server::start(SmtpConfig::default()).await;
    let mut c = Raw::greeted(plain.addr).await;
    c.cmd("EHLO client.test").await;
    assert!(
        c.cmd("AUTH PLAIN AHJlbGF5AGNvcnJlY3QgaG9yc2U=")
            .await
            .starts_with("502 5.5.1")
    );

    // allow_plain_auth = true offers it in clear (trusted networks only).
    let open = Server::start(SmtpConfig {
        allow_plain_auth: true,
        accounts: vec![relay_account()],
        ..SmtpConfig::default()
    })
    .await;
    let mut c = Raw::greeted(open.addr).await;
    assert!(
        c.cmd("EHLO client.test")
            .await
            .contains("250-AUTH PLAIN LOGIN\r\n")
    );
    assert_eq!(
        c.cmd("AUTH PLAIN AHJlbGF5AGNvcnJlY3QgaG9yc2U=").await,
        "235 2.7.0 Authentication successful\r\n"
    );
}

#[tokio::test]
async fn require_tls_refuses_mail_in_clear() {
    let dir = tempfile::tempdir().unwrap();
    let (mut config, pem) = tls_config(dir.path());
    config.require_tls = true;
    let server = Server::start(config).await;
    let mut c = Raw::greeted(server.addr).await;
    c.cmd("EHLO client.test").await;
    assert_eq!(
        c.cmd("MAIL FROM:<j.smith@example.org>").await,
        "530 5.7.0 Must issue a STARTTLS command first\r\n"
    );
    assert!(server.handler.calls().is_empty());
    // The same through STARTTLS is accepted.
    server
        .tls_transport(&pem, None)
        .send_raw(
            &envelope("j.smith@example.org", &["01223123456@fax.example.org"]),
            MESSAGE,
        )
        .await
        .unwrap();
    assert_eq!(server.handler.messages().len(), 1);
}

#[tokio::test]
async fn oversize_messages_are_refused_by_declared_and_by_actual_size() {
    let server = Server::start(SmtpConfig {
        max_message_bytes: 2000,
        ..SmtpConfig::default()
    })
    .await;
    let mut c = Raw::greeted(server.addr).await;
    let ehlo = c.cmd("EHLO client.test").await;
    assert!(ehlo.contains("250-SIZE 2000\r\n"), "{ehlo}");
    assert_eq!(
        c.cmd("MAIL FROM:<j.smith@example.org> SIZE=2001").await,
        "552 5.3.4 Message size exceeds fixed maximum message size (2000 bytes)\r\n"
    );
    // A client that under-declares is caught while the data arrives.
    assert!(
        c.cmd("MAIL FROM:<j.smith@example.org> SIZE=100")
            .await
            .starts_with("250")
    );
    c.cmd("RCPT TO:<01223123456@fax.example.org>").await;
    assert!(c.cmd("DATA").await.starts_with("354"));
    for _ in 0..30 {
        c.send(format!("{}\r\n", "x".repeat(98))).await;
    }
    assert_eq!(
        c.cmd(".").await,
        "552 5.3.4 Message too big: more than 2000 bytes; nothing was sent\r\n"
    );
    assert!(server.handler.messages().is_empty());
    // The session goes on.
    c.cmd("MAIL FROM:<j.smith@example.org>").await;
    c.cmd("RCPT TO:<01223123456@fax.example.org>").await;
    c.cmd("DATA").await;
    c.send(MESSAGE).await;
    assert!(c.cmd(".").await.starts_with("250 2.0.0"));
    assert_eq!(server.handler.messages().len(), 1);
}

#[tokio::test]
async fn pipelined_commands_are_answered_in_order() {
    let server = Server::start(SmtpConfig::default()).await;
    let mut c = Raw::greeted(server.addr).await;
    assert!(
        c.cmd("EHLO client.test")
            .await
            .contains("250-PIPELINING\r\n")
    );
    // RFC 2920: the whole transaction in one write.
    let mut batch = b"MAIL FROM:<j.smith@example.org> BODY=8BITMIME\r\n\
RCPT TO:<01223123456@fax.example.org>\r\n\
RCPT TO:<999@fax.example.org>\r\n\
RCPT TO:<01223654321@fax.example.org>\r\n\
DATA\r\n"
        .to_vec();
    c.send(&batch).await;
    let mut replies = Vec::new();
    for _ in 0..5 {
        replies.push(c.reply().await);
    }
    assert_eq!(
        replies,
        [
            "250 2.1.0 Sender OK\r\n",
            "250 2.1.5 Recipient OK\r\n",
            "550 5.7.1 999 is an emergency number\r\n",
            "250 2.1.5 Recipient OK\r\n",
            "354 End data with <CR><LF>.<CR><LF>\r\n",
        ]
    );
    batch.clear();
    batch.extend_from_slice(MESSAGE);
    batch.extend_from_slice(b".\r\nRSET\r\nNOOP\r\nQUIT\r\n");
    c.send(&batch).await;
    assert_eq!(
        c.reply().await,
        "250 2.0.0 Message accepted: 2 fax jobs queued\r\n"
    );
    assert_eq!(c.reply().await, "250 2.0.0 OK\r\n");
    assert_eq!(c.reply().await, "250 2.0.0 OK\r\n");
    assert!(c.reply().await.starts_with("221 2.0.0"));
    assert!(c.closed().await);
    let messages = server.handler.messages();
    assert_eq!(
        messages[0].1.recipients,
        ["01223123456@fax.example.org", "01223654321@fax.example.org"]
    );
}

#[tokio::test]
async fn a_dot_stuffed_body_arrives_unstuffed_byte_exact() {
    let server = Server::start(SmtpConfig::default()).await;
    // Lines that need stuffing, a lone dot, 8-bit text and a long line.
    let mut body = b"Subject: dots\r\n\r\n.\r\n..\r\n.leading\r\nmiddle . dot\r\n\
Gr\xc3\xbc\xc3\x9fe, caf\xc3\xa9\r\n"
        .to_vec();
    body.extend_from_slice(&[b'.'; 1]);
    body.extend_from_slice(&b"w".repeat(20_000));
    body.extend_from_slice(b"\r\n.\r\n\r\nend\r\n");

    // lettre stuffs the dots itself.
    server
        .plain_transport()
        .send_raw(
            &envelope("j.smith@example.org", &["01223123456@fax.example.org"]),
            &body,
        )
        .await
        .unwrap();
    let messages = server.handler.messages();
    assert_same_bytes(
        body_after_received(&messages[0].1.data),
        &as_sent_by_lettre(&body),
    );

    // The same stuffed by hand over a raw connection.
    let mut c = Raw::greeted(server.addr).await;
    c.cmd("EHLO client.test").await;
    c.cmd("MAIL FROM:<j.smith@example.org>").await;
    c.cmd("RCPT TO:<01223123456@fax.example.org>").await;
    c.cmd("DATA").await;
    let mut stuffed = Vec::new();
    for line in body.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b".") {
            stuffed.push(b'.');
        }
        stuffed.extend_from_slice(line);
    }
    c.send(&stuffed).await;
    assert!(c.cmd(".").await.starts_with("250"));
    let messages = server.handler.messages();
    assert_same_bytes(body_after_received(&messages[1].1.data), &body);
}

#[tokio::test]
async fn an_idle_client_is_told_421_and_disconnected() {
    let server = Server::start(SmtpConfig {
        command_timeout_secs: 1,
        data_timeout_secs: 1,
        ..SmtpConfig::default()
    })
    .await;
    let mut c = Raw::greeted(server.addr).await;
    c.cmd("EHLO client.test").await;
    let started = std::time::Instant::now();
    let reply = c.reply().await;
    assert!(reply.starts_with("421 4.4.2 fax.test Timeout"), "{reply}");
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert!(c.closed().await);

    // Silence in the middle of DATA too.
    let mut c = Raw::greeted(server.addr).await;
    c.cmd("EHLO client.test").await;
    c.cmd("MAIL FROM:<j.smith@example.org>").await;
    c.cmd("RCPT TO:<01223123456@fax.example.org>").await;
    c.cmd("DATA").await;
    c.send("Subject: half a message\r\n").await;
    assert!(c.reply().await.starts_with("421 4.4.2"));
    assert!(c.closed().await);
    assert!(server.handler.messages().is_empty());
}

#[tokio::test]
async fn garbage_and_overlong_lines_get_500_and_the_next_connection_works() {
    let server = Server::start(SmtpConfig::default()).await;
    let mut c = Raw::greeted(server.addr).await;
    // A TLS ClientHello sent to the plain port.
    c.send(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n")
        .await;
    assert_eq!(
        c.reply().await,
        "500 5.5.2 Command contains bytes that are not printable ASCII\r\n"
    );
    c.send(format!("EHLO {}\r\n", "a".repeat(2000))).await;
    assert_eq!(
        c.reply().await,
        "500 5.5.2 Line too long (more than 1000 octets)\r\n"
    );
    // The same session still works after the errors.
    assert!(c.cmd("EHLO client.test").await.starts_with("250-"));
    // Enough errors end the session: two so far, eight more make ten.
    for _ in 0..8 {
        assert_eq!(c.cmd("BOGUS").await, "500 5.5.1 Command unrecognized\r\n");
    }
    let last = c.reply().await;
    assert!(
        last.contains("421 4.7.0 fax.test Too many errors"),
        "{last}"
    );
    assert!(c.closed().await);

    // A fresh connection delivers normally.
    server
        .plain_transport()
        .send_raw(
            &envelope("j.smith@example.org", &["01223123456@fax.example.org"]),
            MESSAGE,
        )
        .await
        .unwrap();
    assert_eq!(server.handler.messages().len(), 1);
}

#[tokio::test]
async fn connections_over_the_limit_get_421() {
    let server = Server::start(SmtpConfig {
        max_connections: 2,
        ..SmtpConfig::default()
    })
    .await;
    let mut a = Raw::greeted(server.addr).await;
    let _b = Raw::greeted(server.addr).await;
    let mut c = Raw::connect(server.addr).await;
    assert_eq!(
        c.reply().await,
        "421 4.3.2 fax.test Too many connections, try again later\r\n"
    );
    assert!(c.closed().await);
    // A slot frees when a session ends.
    a.cmd("QUIT").await;
    assert!(a.closed().await);
    let mut ok = false;
    for _ in 0..50 {
        let mut d = Raw::connect(server.addr).await;
        if d.reply().await.starts_with("220 ") {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ok, "a slot was freed");
}

#[tokio::test]
async fn shutdown_closes_idle_sessions_with_421_and_stops() {
    let mut server = Server::start(SmtpConfig::default()).await;
    let mut idle = Raw::greeted(server.addr).await;
    idle.cmd("EHLO client.test").await;
    // A session in the middle of a message finishes it.
    let mut busy = Raw::greeted(server.addr).await;
    busy.cmd("EHLO client.test").await;
    busy.cmd("MAIL FROM:<j.smith@example.org>").await;
    busy.cmd("RCPT TO:<01223123456@fax.example.org>").await;
    busy.cmd("DATA").await;
    busy.send("Subject: x\r\n").await;

    let addr = server.addr;
    let stopping = tokio::spawn(async move {
        server.shutdown().await;
        server
    });
    assert_eq!(
        idle.reply().await,
        "421 4.3.2 fax.test Service shutting down, try again later\r\n"
    );
    assert!(idle.closed().await);
    tokio::time::sleep(Duration::from_millis(100)).await;
    busy.send("\r\nbody\r\n").await;
    assert!(busy.cmd(".").await.starts_with("250 2.0.0"));
    assert!(busy.reply().await.starts_with("421 4.3.2"));
    let server = stopping.await.unwrap();
    assert_eq!(server.handler.messages().len(), 1);
    // No longer listening.
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn bind_reports_unusable_settings_and_files() {
    let dir = tempfile::tempdir().unwrap();
    let listen = Some("127.0.0.1:0".parse().unwrap());

    let err = SmtpListener::bind(&SmtpConfig::default())
        .await
        .err()
        .unwrap();
    assert!(matches!(err, SmtpError::NotConfigured), "{err}");

    let err = SmtpListener::bind(&SmtpConfig {
        listen,
        tls_cert: Some(dir.path().join("cert.pem")),
        ..SmtpConfig::default()
    })
    .await
    .err()
    .unwrap();
    assert!(err.to_string().contains("intake.smtp.tls_key"), "{err}");

    let missing = dir.path().join("missing.pem");
    let err = SmtpListener::bind(&SmtpConfig {
        listen,
        tls_cert: Some(missing.clone()),
        tls_key: Some(missing.clone()),
        ..SmtpConfig::default()
    })
    .await
    .err()
    .unwrap();
    let text = err.to_string();
    assert!(
        text.contains("cannot read intake.smtp.tls_cert file") && text.contains("missing.pem"),
        "{text}"
    );

    let (cert, key) = make_certificate(dir.path());
    let err = SmtpListener::bind(&SmtpConfig {
        listen,
        tls_cert: Some(key.clone()),
        tls_key: Some(cert.clone()),
        ..SmtpConfig::default()
    })
    .await
    .err()
    .unwrap();
    assert!(err.to_string().contains("no usable"), "{err}");

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let err = SmtpListener::bind(&SmtpConfig {
        listen: Some(taken.local_addr().unwrap()),
        ..SmtpConfig::default()
    })
    .await
    .err()
    .unwrap();
    assert!(
        err.to_string()
            .starts_with("cannot listen for SMTP on 127.0.0.1:"),
        "{err}"
    );

    assert!(
        SmtpListener::bind(&SmtpConfig {
            listen,
            tls_cert: Some(cert),
            tls_key: Some(key),
            ..SmtpConfig::default()
        })
        .await
        .is_ok()
    );
}
