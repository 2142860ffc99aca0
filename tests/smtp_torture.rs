//! SMTP torture cases (RFC 5321 edge cases and abuse) sent over real TCP
//! to the running `faxbridge run` daemon's email-to-fax listener.
//!
//! Each case checks the replies the daemon gives; after every case a new
//! connection must still get its greeting, `EHLO` and `NOOP` answered, so
//! one bad client cannot take the listener down. At the end a well-formed
//! message is still accepted with 250 and becomes a fax job, and the
//! daemon has accepted exactly the messages the cases meant it to accept
//! (nothing smuggled, nothing from a dropped or silent connection).
//!
//! The policies tested here (see RELIABILITY.md, "SMTP torture messages"):
//!
//! - commands may end in a bare LF (tolerated, as most servers do); a bare
//!   CR inside a command makes it unprintable: 500 5.5.2;
//! - in message data a bare LF ends a line and is stored as CRLF (as
//!   Postfix's default `smtpd_forbid_bare_newline = normalize` does; lettre
//!   sends bare LF in 7-bit attachments); a bare CR refuses the whole
//!   message after the final dot (554 5.6.0); only `CRLF . CRLF` ends the
//!   data, so `\n.\n`, `\r\n.\n` and `\n.\r\n` can never smuggle a
//!   second message in, and a message holding such a lone dot is refused
//!   (554 5.6.0);
//! - a NUL byte in the data refuses the message too (554 5.6.0: neither
//!   7-bit nor 8BITMIME data may hold NUL, RFC 6152 §2);
//! - command lines up to 1000 octets are read (extensions lengthen the 512
//!   of RFC 5321 §4.5.3.1.4); longer ones get 500 5.5.2;
//! - text lines in the data longer than 1000 octets are accepted (RFC 5321
//!   §4.5.3.1: no limit where one can be avoided);
//! - 8-bit header bytes without SMTPUTF8 are accepted (8BITMIME is
//!   offered; the intake decodes them leniently).

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

mod support;
use support::config::{DaemonConfig, assert_valid};
use support::procs::{BIN, Proc, start_daemon};

const FAX_DOMAIN: &str = "fax.example.ac.uk";
const SENDER: &str = "jane.smith@example.ac.uk";
/// `[intake.smtp] max_message_bytes` of the daemon under test.
const MAX_MESSAGE: usize = 200_000;
/// `[intake.smtp] max_recipients`.
const MAX_RECIPIENTS: usize = 100;
/// `[intake.smtp] max_errors`.
const MAX_ERRORS: usize = 10;
/// `[intake.smtp] command_timeout_secs` and `data_timeout_secs`.
const TIMEOUT_SECS: u64 = 2;

/// A raw SMTP client: bytes out exactly as given, replies read line by line.
struct Client {
    s: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    /// Connect and read the greeting, which must be 220.
    fn connect(addr: SocketAddr) -> Client {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        let mut c = Client { s, buf: Vec::new() };
        let greeting = c.replies(1);
        assert!(greeting[0].starts_with("220 "), "{greeting:?}");
        c
    }

    fn send(&mut self, bytes: impl AsRef<[u8]>) {
        self.s.write_all(bytes.as_ref()).unwrap();
    }

    /// The next line from the server, without its CRLF; `None` at end of
    /// stream.
    fn line(&mut self) -> Option<String> {
        loop {
            if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.buf.drain(..i + 2).collect();
                return Some(String::from_utf8_lossy(&line[..i]).into_owned());
            }
            let mut chunk = [0u8; 8192];
            match self.s.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return None,
                Err(e) => panic!("reading a reply: {e} (have {:?})", self.buf),
            }
        }
    }

    /// `n` replies; each is its last line (code, enhanced code, text).
    fn replies(&mut self, n: usize) -> Vec<String> {
        let mut out = Vec::new();
        while out.len() < n {
            let line = self
                .line()
                .unwrap_or_else(|| panic!("connection closed after {out:?}"));
            if line.as_bytes().get(3) != Some(&b'-') {
                out.push(line);
            }
        }
        out
    }

    /// Send `bytes`, read one reply.
    fn say(&mut self, bytes: impl AsRef<[u8]>) -> String {
        self.send(bytes);
        self.replies(1).remove(0)
    }

    /// Whether the server closed the connection (after any replies still
    /// unread, which are returned).
    fn rest_until_close(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(line) = self.line() {
            out.push(line);
        }
        out
    }

    /// EHLO, MAIL FROM and RCPT TO one fax number, each checked.
    fn transaction(&mut self, number: &str) {
        assert!(
            self.say("EHLO client.example.ac.uk\r\n")
                .starts_with("250 ")
        );
        let r = self.say(format!("MAIL FROM:<{SENDER}>\r\n"));
        assert!(r.starts_with("250 2.1.0"), "{r}");
        let r = self.say(format!("RCPT TO:<{number}@{FAX_DOMAIN}>\r\n"));
        assert!(r.starts_with("250 2.1.5"), "{r}");
    }
}

fn codes(replies: &[String]) -> Vec<&str> {
    replies.iter().map(|r| &r[..3]).collect()
}

/// A plain-text message to `number` with header lines as given (CRLF).
fn message(number: &str, subject: &str, body: &str) -> String {
    format!(
        "From: Jane Smith <{SENDER}>\r\nTo: <{number}@{FAX_DOMAIN}>\r\n\
         Subject: {subject}\r\nMessage-ID: <{subject}@example.ac.uk>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    )
}

/// A message whose body is multipart/mixed nested `depth` deep.
fn nested_mime(number: &str, depth: usize) -> String {
    let mut text = format!(
        "From: Jane Smith <{SENDER}>\r\nTo: <{number}@{FAX_DOMAIN}>\r\n\
         Subject: nested\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n"
    );
    for level in 1..depth {
        text.push_str(&format!(
            "--b{}\r\nContent-Type: multipart/mixed; boundary=\"b{level}\"\r\n\r\n",
            level - 1
        ));
    }
    text.push_str(&format!(
        "--b{}\r\nContent-Type: text/plain\r\n\r\ndeep down\r\n",
        depth - 1
    ));
    for level in (0..depth).rev() {
        text.push_str(&format!("--b{level}--\r\n"));
    }
    text
}

/// A message that forwards a message that forwards ... `depth` deep
/// (message/rfc822 parts), with a text at the bottom.
fn nested_rfc822(number: &str, depth: usize) -> String {
    let mut text = format!(
        "From: Jane Smith <{SENDER}>\r\nTo: <{number}@{FAX_DOMAIN}>\r\n\
         Subject: forwarded\r\nMIME-Version: 1.0\r\n"
    );
    for level in 0..depth {
        text.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"f{level}\"\r\n\r\n\
             --f{level}\r\nContent-Type: message/rfc822\r\n\r\n\
             From: <{SENDER}>\r\nSubject: level {level}\r\nMIME-Version: 1.0\r\n"
        ));
    }
    text.push_str("Content-Type: text/plain\r\n\r\nat the bottom\r\n");
    for level in (0..depth).rev() {
        text.push_str(&format!("--f{level}--\r\n"));
    }
    text
}

/// `faxbridge jobs list` of the daemon's configuration.
fn jobs(config: &Path) -> String {
    let out = Command::new(BIN)
        .args(["jobs", "list", "--config"])
        .arg(config)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A new connection gets its greeting, EHLO and NOOP answered.
fn assert_serving(addr: SocketAddr, after: &str) {
    let mut c = Client::connect(addr);
    let ehlo = c.say("EHLO probe.example.ac.uk\r\n");
    assert!(ehlo.starts_with("250 "), "after {after}: {ehlo}");
    let noop = c.say("NOOP\r\n");
    assert_eq!(noop, "250 2.0.0 OK", "after {after}");
    assert!(c.say("QUIT\r\n").starts_with("221 "), "after {after}");
}

/// The daemon has accepted `n` messages so far (its log says so). The line
/// is written before the 250 goes out but read from the daemon's output by
/// another thread, so it may arrive a moment after the reply.
fn assert_accepted(daemon: &Proc, n: usize, after: &str) {
    let deadline = Instant::now() + Duration::from_secs(3);
    while daemon.log_count(&["SMTP message accepted"]) < n && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        daemon.log_count(&["SMTP message accepted"]),
        n,
        "messages accepted after {after}"
    );
}

#[test]
fn rfc_5321_edge_cases_get_the_right_reply_and_the_daemon_keeps_serving() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let config = DaemonConfig::new(dir.path())
        .trunk("sip:{number}@127.0.0.1:9")
        .email_intake(FAX_DOMAIN, "example.ac.uk")
        .set(
            "intake.smtp",
            &format!(
                "hostname = \"fax.test\"\nmax_message_bytes = {MAX_MESSAGE}\n\
                 max_recipients = {MAX_RECIPIENTS}\nmax_errors = {MAX_ERRORS}\n\
                 command_timeout_secs = {TIMEOUT_SECS}\ndata_timeout_secs = {TIMEOUT_SECS}"
            ),
        )
        .write();
    assert_valid(&config);
    let daemon = start_daemon(&config);
    let addr = daemon.addr("smtp");
    // Messages the cases below mean the daemon to accept.
    let mut accepted = 0;

    // ---- Line ends in commands (RFC 5321 §2.3.8) ----
    {
        // Bare LF ends a command: tolerated.
        let mut c = Client::connect(addr);
        c.send("EHLO lf.example.ac.uk\nNOOP\nRSET\n");
        assert_eq!(codes(&c.replies(3)), ["250", "250", "250"]);
        // A bare CR does not end a command; it is an unprintable byte in it.
        let r = c.say("NOOP\rRSET\r\n");
        assert_eq!(
            r,
            "500 5.5.2 Command contains bytes that are not printable ASCII"
        );
        assert_eq!(c.say("NOOP\r\n"), "250 2.0.0 OK");
    }
    assert_serving(addr, "bare LF and CR in commands");

    // ---- Bare LF in the data is a line end; a bare CR refuses it ----
    for (name, body, refused) in [
        ("bare LF", "line one\nline two\r\n", false),
        ("LF only throughout", "line one\nline two\n", false),
        ("bare CR", "line one\rline two\r\n", true),
    ] {
        let mut c = Client::connect(addr);
        c.transaction("01223654321");
        assert!(c.say("DATA\r\n").starts_with("354 "));
        let r = c.say(format!("{}\r\n.\r\n", message("01223654321", "lf", body)));
        if refused {
            assert!(
                r.starts_with("554 5.6.0") && r.contains("CRLF"),
                "{name}: {r}"
            );
        } else {
            assert!(r.starts_with("250 "), "{name}: {r}");
            accepted += 1;
        }
        // The session goes on.
        assert_eq!(c.say("NOOP\r\n"), "250 2.0.0 OK", "{name}");
    }
    assert_accepted(&daemon, accepted, "bare LF/CR in data");
    assert_serving(addr, "bare LF and CR in data");

    // ---- Over-long command lines (RFC 5321 §4.5.3.1.4) ----
    {
        let mut c = Client::connect(addr);
        c.say("EHLO a.example.ac.uk\r\n");
        // 600 octets: over RFC 5321's 512 but within the 1000 that SMTP
        // extensions need; read.
        let r = c.say(format!("NOOP {}\r\n", "x".repeat(593)));
        assert_eq!(r, "250 2.0.0 OK");
        let r = c.say(format!("NOOP {}\r\n", "x".repeat(1100)));
        assert_eq!(r, "500 5.5.2 Line too long (more than 1000 octets)");
        // A line without an end at all: answered once past the limit, the
        // rest thrown away up to the next LF.
        c.send("y".repeat(70_000));
        assert_eq!(
            c.replies(1)[0],
            "500 5.5.2 Line too long (more than 1000 octets)"
        );
        c.send("yyy\r\n");
        assert_eq!(c.say("NOOP\r\n"), "250 2.0.0 OK");
    }
    assert_serving(addr, "over-long command lines");

    // ---- An over-long text line in the data (RFC 5321 §4.5.3.1.6) ----
    {
        let mut c = Client::connect(addr);
        c.transaction("01223654322");
        assert!(c.say("DATA\r\n").starts_with("354 "));
        let long = "word ".repeat(1000);
        let r = c.say(format!(
            "{}\r\n.\r\n",
            message("01223654322", "long-line", &long)
        ));
        assert!(r.starts_with("250 2.0.0 Message accepted"), "{r}");
        accepted += 1;
    }
    assert_accepted(&daemon, accepted, "an over-long data line");
    assert_serving(addr, "an over-long data line");

    // ---- Pipelining (RFC 2920), legitimate and abusive ----
    {
        // Fifty NOOPs and an RSET in one write: fifty-one replies in order.
        let mut c = Client::connect(addr);
        c.send(format!(
            "EHLO p.example.ac.uk\r\n{}RSET\r\n",
            "NOOP\r\n".repeat(50)
        ));
        let r = c.replies(52);
        assert!(r.iter().all(|l| l.starts_with("250 ")), "{r:?}");

        // Two whole transactions and QUIT in one write (a client that does
        // not wait for 354): both messages accepted, replies in order.
        let mut c = Client::connect(addr);
        let one = message("01223654323", "pipe-1", "first\r\n");
        let two = message("01223654324", "pipe-2", "second\r\n");
        c.send(format!(
            "EHLO p.example.ac.uk\r\n\
             MAIL FROM:<{SENDER}>\r\nRCPT TO:<01223654323@{FAX_DOMAIN}>\r\nDATA\r\n{one}.\r\n\
             MAIL FROM:<{SENDER}>\r\nRCPT TO:<01223654324@{FAX_DOMAIN}>\r\nDATA\r\n{two}.\r\n\
             QUIT\r\n"
        ));
        let r = c.replies(10);
        assert_eq!(
            codes(&r),
            [
                "250", "250", "250", "354", "250", "250", "250", "354", "250", "221"
            ],
            "{r:?}"
        );
        assert!(c.rest_until_close().is_empty());
        accepted += 2;
    }
    assert_accepted(&daemon, accepted, "pipelined transactions");

    // SMTP smuggling: a second transaction hidden behind an end-of-data
    // that is not CRLF.CRLF must not be run; the whole thing is one message
    // holding a smuggling pattern (or a bare CR), refused.
    for (name, fake_end) in [
        ("\\n.\\n", "\n.\n"),
        ("\\r\\n.\\n", "\r\n.\n"),
        ("\\n.\\r\\n", "\n.\r\n"),
        ("\\r.\\r\\n", "\r.\r\n"),
    ] {
        let mut c = Client::connect(addr);
        let first = message("01223654325", "cover", "innocent");
        let smuggled = message("09065551234", "smuggled", "smuggled\r\n");
        c.send(format!(
            "EHLO s.example.ac.uk\r\n\
             MAIL FROM:<{SENDER}>\r\nRCPT TO:<01223654325@{FAX_DOMAIN}>\r\nDATA\r\n\
             {first}{fake_end}\
             MAIL FROM:<evil@example.ac.uk>\r\nRCPT TO:<09065551234@{FAX_DOMAIN}>\r\nDATA\r\n\
             {smuggled}.\r\nNOOP\r\n"
        ));
        let r = c.replies(6);
        assert_eq!(
            codes(&r),
            ["250", "250", "250", "354", "554", "250"],
            "{name}: {r:?}"
        );
        assert!(r[4].starts_with("554 5.6.0"), "{name}: {r:?}");
    }
    assert_accepted(&daemon, accepted, "smuggling attempts");
    assert_serving(addr, "smuggling attempts");

    // ---- NUL bytes ----
    {
        let mut c = Client::connect(addr);
        c.say("EHLO n.example.ac.uk\r\n");
        let r = c.say("NO\0OP\r\n");
        assert_eq!(
            r,
            "500 5.5.2 Command contains bytes that are not printable ASCII"
        );
        let r = c.say(format!("MAIL FROM:<{SENDER}>\0\r\n"));
        assert!(r.starts_with("500 5.5.2"), "{r}");
        c.transaction("01223654326");
        assert!(c.say("DATA\r\n").starts_with("354 "));
        let r = c.say(format!(
            "{}\r\n.\r\n",
            message("01223654326", "nul", "a\0b\r\n")
        ));
        assert!(r.starts_with("554 5.6.0") && r.contains("NUL"), "{r}");
    }
    assert_accepted(&daemon, accepted, "NUL bytes");
    assert_serving(addr, "NUL bytes");

    // ---- 8-bit header bytes without SMTPUTF8 ----
    {
        let mut c = Client::connect(addr);
        c.transaction("01223654327");
        assert!(c.say("DATA\r\n").starts_with("354 "));
        let mut data = format!(
            "From: Jürgen Müller <{SENDER}>\r\nTo: <01223654327@{FAX_DOMAIN}>\r\n\
             Subject: Grüße aus Köln\r\n"
        )
        .into_bytes();
        // ISO-8859-1 bytes that are not UTF-8 at all.
        data.extend_from_slice(b"X-Latin1: caf\xe9 cr\xe8me\r\n\r\nK\xf6ln\r\n.\r\n");
        let r = c.say(data);
        assert!(r.starts_with("250 2.0.0 Message accepted"), "{r}");
        accepted += 1;
    }
    assert_accepted(&daemon, accepted, "8-bit headers");
    assert_serving(addr, "8-bit headers");

    // ---- Unknown commands, repeated: closed with 421 ----
    {
        let mut c = Client::connect(addr);
        c.send("XYZZY\r\n".repeat(MAX_ERRORS + 5));
        let r = c.rest_until_close();
        assert_eq!(r.len(), MAX_ERRORS + 1, "{r:?}");
        assert!(
            r[..MAX_ERRORS]
                .iter()
                .all(|l| l == "500 5.5.1 Command unrecognized")
        );
        assert_eq!(
            r[MAX_ERRORS],
            "421 4.7.0 fax.test Too many errors, closing connection"
        );
    }
    assert_serving(addr, "repeated unknown commands");

    // ---- Commands out of order ----
    {
        let mut c = Client::connect(addr);
        assert_eq!(
            c.say(format!("MAIL FROM:<{SENDER}>\r\n")),
            "503 5.5.1 Send EHLO or HELO first"
        );
        c.say("EHLO o.example.ac.uk\r\n");
        assert_eq!(
            c.say(format!("RCPT TO:<01223654321@{FAX_DOMAIN}>\r\n")),
            "503 5.5.1 Send MAIL FROM first"
        );
        assert_eq!(c.say("DATA\r\n"), "503 5.5.1 Send MAIL FROM first");
        assert!(
            c.say(format!("MAIL FROM:<{SENDER}>\r\n"))
                .starts_with("250")
        );
        // MAIL but no RCPT: RFC 5321 §3.3 allows 503 or 554; 554 says why.
        assert_eq!(c.say("DATA\r\n"), "554 5.5.1 No valid recipients");
        // The data a confused client sends anyway is read as commands.
        assert_eq!(c.say("hello\r\n"), "500 5.5.1 Command unrecognized");
        assert_eq!(c.say("RSET\r\n"), "250 2.0.0 OK");
    }
    assert_serving(addr, "commands out of order");

    // ---- A thousand recipients: 452 past the limit ----
    {
        let mut c = Client::connect(addr);
        let mut batch = format!("EHLO r.example.ac.uk\r\nMAIL FROM:<{SENDER}>\r\n");
        for n in 0..1000 {
            batch.push_str(&format!("RCPT TO:<0122340{n:04}@{FAX_DOMAIN}>\r\n"));
        }
        batch.push_str("RSET\r\n");
        c.send(batch);
        let r = c.replies(1003);
        let rcpt = &r[2..1002];
        assert!(
            rcpt[..MAX_RECIPIENTS]
                .iter()
                .all(|l| l == "250 2.1.5 Recipient OK"),
            "{:?}",
            &rcpt[..MAX_RECIPIENTS]
        );
        assert!(
            rcpt[MAX_RECIPIENTS..]
                .iter()
                .all(|l| l == "452 4.5.3 Too many recipients (at most 100 per message)"),
            "{:?}",
            &rcpt[MAX_RECIPIENTS..MAX_RECIPIENTS + 3]
        );
        assert_eq!(r[1002], "250 2.0.0 OK");
    }
    assert_serving(addr, "a thousand recipients");

    // ---- MAIL FROM with bad syntax: 501 ----
    {
        let mut c = Client::connect(addr);
        c.say("EHLO m.example.ac.uk\r\n");
        for (cmd, reply) in [
            (
                format!("MAIL FROM:<{SENDER}"),
                "501 5.1.7 Bad sender address syntax: missing >",
            ),
            (
                format!("MAIL FROM {SENDER}"),
                "501 5.5.4 Syntax: MAIL FROM:<address>",
            ),
            (
                format!("MAIL FROM:<{SENDER}>junk"),
                "501 5.1.7 Bad sender address syntax: text after the address",
            ),
            (
                "MAIL FROM:<jane>".into(),
                "501 5.1.7 Bad sender address syntax: the address has no @domain",
            ),
            (
                format!("MAIL FROM:<{SENDER}> SIZE=lots"),
                "501 5.5.4 Syntax: SIZE=<number of octets>",
            ),
        ] {
            assert_eq!(c.say(format!("{cmd}\r\n")), reply, "{cmd}");
        }
        // None of them started a transaction.
        assert!(
            c.say(format!("MAIL FROM:<{SENDER}>\r\n"))
                .starts_with("250")
        );
    }
    assert_serving(addr, "MAIL FROM syntax errors");

    // ---- MIME nested 100 deep ----
    {
        // multipart inside multipart, 100 levels: the parser walks parts
        // with its own stack, not recursion, so it is read and the text
        // deep down faxed.
        let mut c = Client::connect(addr);
        c.transaction("01223654328");
        assert!(c.say("DATA\r\n").starts_with("354 "));
        let r = c.say(format!("{}.\r\n", nested_mime("01223654328", 100)));
        assert_eq!(r, "250 2.0.0 Message accepted: 1 fax job queued");
        accepted += 1;
        // message/rfc822 inside message/rfc822, 100 levels: the parser
        // reads forwarded messages only a few levels down and keeps the
        // rest as one undecoded part; accepted.
        c.transaction("01223654332");
        assert!(c.say("DATA\r\n").starts_with("354 "));
        let r = c.say(format!("{}.\r\n", nested_rfc822("01223654332", 100)));
        assert_eq!(r, "250 2.0.0 Message accepted: 1 fax job queued");
        accepted += 1;
        assert_eq!(c.say("NOOP\r\n"), "250 2.0.0 OK");
    }
    assert_accepted(&daemon, accepted, "nested MIME");
    assert_serving(addr, "nested MIME");

    // ---- Over the size limit (RFC 1870) ----
    {
        let mut c = Client::connect(addr);
        c.say("EHLO big.example.ac.uk\r\n");
        let r = c.say(format!("MAIL FROM:<{SENDER}> SIZE={}\r\n", MAX_MESSAGE + 1));
        assert_eq!(
            r,
            format!(
                "552 5.3.4 Message size exceeds fixed maximum message size ({MAX_MESSAGE} bytes)"
            )
        );
        // Undeclared: refused after the final dot.
        c.transaction("01223654329");
        assert!(c.say("DATA\r\n").starts_with("354 "));
        let body = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n"
            .repeat(MAX_MESSAGE / 66 + 100);
        let r = c.say(format!("{}.\r\n", message("01223654329", "big", &body)));
        assert_eq!(
            r,
            format!("552 5.3.4 Message too big: more than {MAX_MESSAGE} bytes; nothing was sent")
        );
        assert_eq!(c.say("NOOP\r\n"), "250 2.0.0 OK");
    }
    assert_accepted(&daemon, accepted, "over the size limit");
    assert_serving(addr, "over the size limit");

    // ---- The connection dropped in the middle of DATA ----
    {
        let mut c = Client::connect(addr);
        c.transaction("01223654330");
        assert!(c.say("DATA\r\n").starts_with("354 "));
        let m = message("01223654330", "dropped", "half a message\r\n");
        c.send(&m[..m.len() / 2]);
        c.s.shutdown(Shutdown::Both).unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_accepted(&daemon, accepted, "a dropped connection");
    assert_serving(addr, "a dropped connection");

    // ---- Clients that go silent: closed by the timeout ----
    for (name, in_data) in [("between commands", false), ("in DATA", true)] {
        let mut c = Client::connect(addr);
        c.transaction("01223654331");
        if in_data {
            assert!(c.say("DATA\r\n").starts_with("354 "));
            c.send("Subject: silent\r\n\r\npart of a ");
        }
        let t = Instant::now();
        let r = c.rest_until_close();
        let waited = t.elapsed();
        assert_eq!(
            r,
            ["421 4.4.2 fax.test Timeout: nothing received for too long, closing connection"],
            "{name}"
        );
        assert!(
            waited >= Duration::from_millis(TIMEOUT_SECS * 1000 - 200)
                && waited < Duration::from_secs(TIMEOUT_SECS + 3),
            "{name}: closed after {waited:?}"
        );
    }
    assert_accepted(&daemon, accepted, "silent clients");
    assert_serving(addr, "silent clients");

    // ---- Still a working email-to-fax gateway ----
    {
        let mut c = Client::connect(addr);
        c.transaction("01223999888");
        assert!(c.say("DATA\r\n").starts_with("354 "));
        let r = c.say(format!(
            "{}.\r\n",
            message("01223999888", "final", "Please call back.\r\n")
        ));
        assert_eq!(r, "250 2.0.0 Message accepted: 1 fax job queued");
        assert!(c.say("QUIT\r\n").starts_with("221"));
        accepted += 1;
    }
    assert_accepted(&daemon, accepted, "the final message");
    let list = jobs(&config);
    assert!(list.contains("+441223999888"), "no job for it in:\n{list}");
    // The smuggled premium-rate number never became a job.
    assert!(!list.contains("9065551234"), "{list}");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
}
