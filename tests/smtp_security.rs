//! What the `faxbridge run` daemon's SMTP listener accepts from whom, driven
//! from outside with a real SMTP client (Debian `swaks`) and raw sockets
//! from several loopback addresses (127.0.0.2 and up are strangers,
//! 127.0.0.5 is the site's trusted relay):
//!
//! - an AUTH account sends only as its own addresses (550 5.7.1 otherwise),
//!   and accounts hashed by `faxbridge passwd` (Argon2id) log in;
//! - a relay that is not configured as checking senders gets no
//!   per-address privileges (entries naming one address, the international
//!   exemption);
//! - password guessing locks the guessing address out across connections
//!   (454 4.7.0), slows the account down, is counted on /metrics and logged
//!   once, and the account's owner still logs in from elsewhere;
//! - a hundred idle connections from one address (and eighty more from ten
//!   others) do not keep the trusted relay out, and are closed after the
//!   short pre-login timeout; a client refused at MAIL FROM three times is
//!   disconnected;
//! - `faxbridge check-config` refuses weak password hashes by key, with a
//!   fix line.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpSocket;

mod support;
use support::config::{DaemonConfig, quote};
use support::procs::{BIN, Proc, start_daemon};

const JANE_PASSWORD: &str = "jane's long passphrase";
const INTL_PASSWORD: &str = "intl passphrase";
const RELAY: &str = "127.0.0.5";

/// `faxbridge passwd` with `password` on standard input: the hash it prints.
fn passwd(password: &str) -> String {
    let mut child = Command::new(BIN)
        .arg("passwd")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "faxbridge passwd: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "one line, the hash: {text:?}");
    assert!(lines[0].starts_with("$argon2id$v=19$"), "{text}");
    lines[0].to_string()
}

/// A daemon with an SMTP listener, a web listener for /metrics and two
/// accounts: jane@example.ac.uk (sends as herself) and intl (sends as
/// intl@example.ac.uk, who may fax abroad). `smtp_extra` goes into
/// `[intake.smtp]`.
struct Daemon {
    proc: Proc,
    smtp: SocketAddr,
    web: SocketAddr,
    _dir: tempfile::TempDir,
}

fn start(smtp_extra: &str) -> Daemon {
    let dir = tempfile::tempdir().unwrap();
    let jane = passwd(JANE_PASSWORD);
    let intl = passwd(INTL_PASSWORD);
    let config = DaemonConfig::new(dir.path())
        .trunk("sip:{number}@127.0.0.1:9")
        .web("metrics_from = [\"127.0.0.1\"]")
        .entry(
            "web.accounts",
            &format!(
                "username = \"admin\"\npassword_hash = {}\nrole = \"admin\"",
                quote(&jane)
            ),
        )
        .set("intake", "fax_domains = [\"fax.example.ac.uk\"]")
        .set(
            "intake.senders",
            &format!(
                "allowed = [\"example.ac.uk\", \"partner@example.org\"]\n\
                 trusted_relays = [\"{RELAY}\"]\nauth_users = [\"*\"]"
            ),
        )
        .set(
            "intake.destinations",
            "international_senders = [\"intl@example.ac.uk\"]",
        )
        .smtp_intake(&format!(
            "hostname = \"fax.test\"\nallow_plain_auth = true\n{smtp_extra}"
        ))
        .entry(
            "intake.smtp.accounts",
            &format!(
                "username = \"jane@example.ac.uk\"\npassword_hash = {}",
                quote(&jane)
            ),
        )
        .entry(
            "intake.smtp.accounts",
            &format!(
                "username = \"intl\"\npassword_hash = {}\naddresses = [\"intl@example.ac.uk\"]",
                quote(&intl)
            ),
        )
        .write();
    check_config_ok(&config);
    let proc = start_daemon(&config);
    Daemon {
        smtp: proc.addr("smtp"),
        web: proc.addr("web"),
        proc,
        _dir: dir,
    }
}

fn check_config(config: &Path) -> (bool, String) {
    let out = Command::new(BIN)
        .arg("check-config")
        .arg(config)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

fn check_config_ok(config: &Path) {
    let (ok, text) = check_config(config);
    assert!(ok, "{text}");
}

/// One swaks run: its exit status, transcript and how long it took.
struct Run {
    code: i32,
    transcript: String,
    took: Duration,
}

impl Run {
    fn has(&self, text: &str) -> bool {
        self.transcript.contains(text)
    }
}

/// `swaks` from `from_ip` to the daemon's SMTP listener, with `args`.
fn swaks(d: &Daemon, from_ip: &str, args: &[&str]) -> Run {
    let started = Instant::now();
    let out = Command::new("swaks")
        .args([
            "--server",
            "127.0.0.1",
            "--port",
            &d.smtp.port().to_string(),
        ])
        .args(["--local-interface", from_ip, "--ehlo", "client.test"])
        .args(["--timeout", "30"])
        .args(args)
        .output()
        .expect("run swaks (Debian package swaks, see scripts/install-deps.sh)");
    let transcript =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    Run {
        code: out.status.code().unwrap_or(-1),
        transcript,
        took: started.elapsed(),
    }
}

/// swaks arguments to log in as `user` with `password`.
fn auth<'a>(user: &'a str, password: &'a str) -> [&'a str; 6] {
    [
        "--auth",
        "PLAIN",
        "--auth-user",
        user,
        "--auth-password",
        password,
    ]
}

/// GET /metrics from the daemon's web listener.
fn metrics(d: &Daemon) -> String {
    let mut s = std::net::TcpStream::connect(d.web).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    assert!(
        text.starts_with("HTTP/1.0 200") || text.starts_with("HTTP/1.1 200"),
        "{text}"
    );
    text
}

/// The value of one sample (name with labels, as exposed).
fn sample(text: &str, series: &str) -> i64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{series} not in /metrics"))
        .trim()
        .parse()
        .unwrap()
}

const TO: &str = "01223123456@fax.example.ac.uk";
const ABROAD: &str = "0033123456789@fax.example.ac.uk";

#[test]
fn senders_are_who_their_account_or_relay_vouches_for() {
    let d = start("");

    // An account hashed by `faxbridge passwd` logs in and sends as itself.
    let own = swaks(
        &d,
        "127.0.0.2",
        &[
            &auth("jane@example.ac.uk", JANE_PASSWORD)[..],
            &["--from", "jane@example.ac.uk", "--to", TO],
        ]
        .concat(),
    );
    assert_eq!(own.code, 0, "{}", own.transcript);
    assert!(
        own.has("235 2.7.0 Authentication successful"),
        "{}",
        own.transcript
    );
    assert!(
        own.has("250 2.0.0 Message accepted: 1 fax job queued"),
        "{}",
        own.transcript
    );

    // ... but not as anyone else.
    let other = swaks(
        &d,
        "127.0.0.2",
        &[
            &auth("jane@example.ac.uk", JANE_PASSWORD)[..],
            &["--from", "boss@example.ac.uk", "--to", TO],
        ]
        .concat(),
    );
    assert_ne!(other.code, 0);
    assert!(
        other.has("550 5.7.1 The account \"jane@example.ac.uk\" may not send as boss@example.ac.uk: it may send only as jane@example.ac.uk."),
        "{}",
        other.transcript
    );
    assert!(!other.has("250 2.0.0 Message accepted"));

    // The wrong password is refused.
    let wrong = swaks(
        &d,
        "127.0.0.2",
        &[&auth("jane@example.ac.uk", "guess")[..], &["--to", TO]].concat(),
    );
    assert!(
        wrong.has("535 5.7.8 Authentication credentials invalid"),
        "{}",
        wrong.transcript
    );

    // intl@example.ac.uk may fax abroad when its account vouches for it ...
    let intl = swaks(
        &d,
        "127.0.0.3",
        &[
            &auth("intl", INTL_PASSWORD)[..],
            &[
                "--from",
                "intl@example.ac.uk",
                "--to",
                ABROAD,
                "--quit-after",
                "RCPT",
            ],
        ]
        .concat(),
    );
    assert_eq!(intl.code, 0, "{}", intl.transcript);
    assert!(intl.has("250 2.1.5 Recipient OK"), "{}", intl.transcript);

    // ... not when the relay, which does not check its senders, says so.
    let relayed = swaks(
        &d,
        RELAY,
        &[
            "--from",
            "intl@example.ac.uk",
            "--to",
            ABROAD,
            "--quit-after",
            "RCPT",
        ],
    );
    assert_ne!(relayed.code, 0);
    assert!(
        relayed.has("550 5.7.1 0033123456789 is abroad. intl@example.ac.uk may send faxes abroad, but only when the fax server can tell the message really comes from that address"),
        "{}",
        relayed.transcript
    );
    // An allowed entry naming one address does not admit the relay's mail
    // either; a domain entry does.
    let partner = swaks(&d, RELAY, &["--from", "partner@example.org", "--to", TO]);
    assert_ne!(partner.code, 0);
    assert!(
        partner.has("550 5.7.1 partner@example.org is allowed to send faxes by name, but"),
        "{}",
        partner.transcript
    );
    let colleague = swaks(&d, RELAY, &["--from", "someone@example.ac.uk", "--to", TO]);
    assert_eq!(colleague.code, 0, "{}", colleague.transcript);
    assert!(
        colleague.has("250 2.0.0 Message accepted: 1 fax job queued"),
        "{}",
        colleague.transcript
    );

    // A stranger without AUTH is told to log in.
    let stranger = swaks(
        &d,
        "127.0.0.4",
        &["--from", "someone@example.ac.uk", "--to", TO],
    );
    assert!(
        stranger.has("530 5.7.0 Authentication is required to send faxes."),
        "{}",
        stranger.transcript
    );
    assert!(d.proc.log_contains(
        &["SMTP sender refused", "may not send as boss@example.ac.uk"],
        Duration::from_secs(5)
    ));
}

#[test]
fn password_guessing_is_locked_out_across_connections_and_the_owner_still_gets_in() {
    let d = start("auth_max_failures = 3\nauth_window_secs = 60\nauth_delay_ms = 500\n");
    let jane = "jane@example.ac.uk";
    let send_as_jane = ["--from", jane, "--to", TO];

    // Three wrong guesses, one connection each.
    for guess in ["password", "123456", "letmein"] {
        let r = swaks(
            &d,
            "127.0.0.2",
            &[&auth(jane, guess)[..], &send_as_jane].concat(),
        );
        assert!(
            r.has("535 5.7.8 Authentication credentials invalid"),
            "{guess}: {}",
            r.transcript
        );
    }
    // The guessing address is now locked out: even the right password gets
    // 454 without being checked.
    let locked = swaks(
        &d,
        "127.0.0.2",
        &[&auth(jane, JANE_PASSWORD)[..], &send_as_jane].concat(),
    );
    assert!(
        locked.has("454 4.7.0 Too many failed logins from your address; try again in"),
        "{}",
        locked.transcript
    );
    assert!(!locked.has("235 "));
    // Another address guessing on the same account waits first.
    let slowed = swaks(
        &d,
        "127.0.0.3",
        &[&auth(jane, "qwerty")[..], &send_as_jane].concat(),
    );
    assert!(slowed.has("535 5.7.8"), "{}", slowed.transcript);
    assert!(
        slowed.took >= Duration::from_millis(500),
        "took {:?}",
        slowed.took
    );
    // The owner, elsewhere, still logs in (after the account's delay, now
    // doubled) and sends.
    let owner = swaks(
        &d,
        "127.0.0.4",
        &[&auth(jane, JANE_PASSWORD)[..], &send_as_jane].concat(),
    );
    assert_eq!(owner.code, 0, "{}", owner.transcript);
    assert!(
        owner.has("235 2.7.0 Authentication successful"),
        "{}",
        owner.transcript
    );
    assert!(
        owner.has("250 2.0.0 Message accepted: 1 fax job queued"),
        "{}",
        owner.transcript
    );
    assert!(
        owner.took >= Duration::from_millis(1000),
        "took {:?}",
        owner.took
    );

    // One log line per lockout, and the counters on /metrics.
    assert!(d.proc.log_contains(
        &["SMTP AUTH locked out for this client address", "127.0.0.2"],
        Duration::from_secs(5)
    ));
    assert_eq!(
        d.proc
            .log_count(&["SMTP AUTH locked out for this client address"]),
        1
    );
    assert_eq!(
        d.proc
            .log_count(&["SMTP AUTH slowed down for this account"]),
        1
    );
    let m = metrics(&d);
    assert_eq!(sample(&m, "faxbridge_smtp_auth_failures_total"), 4, "{m}");
    assert_eq!(
        sample(&m, "faxbridge_smtp_auth_lockouts_total{scope=\"address\"}"),
        1
    );
    assert_eq!(
        sample(&m, "faxbridge_smtp_auth_lockouts_total{scope=\"account\"}"),
        1
    );
}

/// A connection from `from_ip` and its first reply line.
async fn connect(
    from_ip: &str,
    to: SocketAddr,
) -> (BufReader<tokio::net::TcpStream>, String, Instant) {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(format!("{from_ip}:0").parse().unwrap())
        .unwrap();
    let stream = socket.connect(to).await.unwrap();
    let started = Instant::now();
    let mut r = BufReader::new(stream);
    let mut line = String::new();
    tokio::time::timeout(Duration::from_secs(10), r.read_line(&mut line))
        .await
        .expect("a greeting or a refusal within 10 s")
        .unwrap();
    (r, line, started)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_strangers_cannot_keep_the_relay_out() {
    let d = start("pre_mail_timeout_secs = 3\n");
    let addr = d.smtp;

    // A hundred idle connections from one address: ten are let in.
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..100 {
        let (conn, line, started) = connect("127.0.0.2", addr).await;
        if line.starts_with("220 ") {
            held.push((conn, started));
        } else {
            assert_eq!(
                line,
                "421 4.7.0 fax.test Too many connections from your address, try again later\r\n"
            );
            refused += 1;
        }
    }
    assert_eq!((held.len(), refused), (10, 90));
    // Ten at a time from ten more addresses: the strangers' share (80 of
    // the 100 slots) fills, the reserve stays.
    let mut shared_full = 0;
    for i in 10..20 {
        for _ in 0..10 {
            let (conn, line, started) = connect(&format!("127.0.0.{i}"), addr).await;
            if line.starts_with("220 ") {
                held.push((conn, started));
            } else {
                assert_eq!(
                    line,
                    "421 4.3.2 fax.test Too many connections, try again later\r\n"
                );
                shared_full += 1;
            }
        }
    }
    assert_eq!((held.len(), shared_full), (80, 30));

    // The trusted relay still delivers.
    let relay = tokio::task::spawn_blocking({
        let port = addr.port();
        move || {
            Command::new("swaks")
                .args(["--server", "127.0.0.1", "--port", &port.to_string()])
                .args(["--local-interface", RELAY, "--ehlo", "relay.example.ac.uk"])
                .args(["--from", "someone@example.ac.uk", "--to", TO])
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let transcript = String::from_utf8_lossy(&relay.stdout).to_string();
    assert!(relay.status.success(), "{transcript}");
    assert!(
        transcript.contains("250 2.0.0 Message accepted: 1 fax job queued"),
        "{transcript}"
    );

    // The idle ones are closed after the short timeout, not the 5 minutes.
    for (mut conn, started) in held {
        let mut line = String::new();
        tokio::time::timeout(Duration::from_secs(10), conn.read_line(&mut line))
            .await
            .expect("closed within 10 s")
            .unwrap();
        assert_eq!(
            line,
            "421 4.4.2 fax.test Timeout: no login or accepted sender in time, closing connection\r\n"
        );
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(2500) && waited < Duration::from_secs(10),
            "{waited:?}"
        );
        let mut rest = String::new();
        assert_eq!(conn.read_line(&mut rest).await.unwrap(), 0, "then closed");
    }

    // A client refused at MAIL FROM is disconnected after three refusals.
    let (conn, greeting, _) = connect("127.0.0.2", addr).await;
    assert!(greeting.starts_with("220 "), "{greeting}");
    let mut conn = conn;
    conn.get_mut()
        .write_all(b"EHLO probe.test\r\n")
        .await
        .unwrap();
    let mut replies = String::new();
    loop {
        let mut line = String::new();
        conn.read_line(&mut line).await.unwrap();
        if line.as_bytes().get(3) == Some(&b' ') {
            break;
        }
    }
    for who in ["a", "b", "c", "d"] {
        let _ = conn
            .get_mut()
            .write_all(format!("MAIL FROM:<{who}@example.ac.uk>\r\n").as_bytes())
            .await;
    }
    loop {
        let mut line = String::new();
        let n = tokio::time::timeout(Duration::from_secs(10), conn.read_line(&mut line))
            .await
            .unwrap()
            .unwrap();
        if n == 0 {
            break;
        }
        replies.push_str(&line);
    }
    assert_eq!(
        replies,
        "530 5.7.0 Authentication is required to send faxes.\r\n\
         530 5.7.0 Authentication is required to send faxes.\r\n\
         530 5.7.0 Authentication is required to send faxes.\r\n\
         421 4.7.0 fax.test Too many refused senders, closing connection\r\n"
    );

    let m = metrics(&d);
    assert_eq!(
        sample(
            &m,
            "faxbridge_smtp_connections_refused_total{reason=\"per_address\"}"
        ),
        90,
        "{m}"
    );
    assert_eq!(
        sample(
            &m,
            "faxbridge_smtp_connections_refused_total{reason=\"reserved\"}"
        ),
        30
    );
    assert_eq!(
        sample(
            &m,
            "faxbridge_smtp_connections_refused_total{reason=\"full\"}"
        ),
        0
    );
    assert_eq!(
        sample(
            &m,
            "faxbridge_smtp_sessions_closed_total{reason=\"pre_mail_timeout\"}"
        ),
        80
    );
    assert_eq!(
        sample(
            &m,
            "faxbridge_smtp_sessions_closed_total{reason=\"sender_refusals\"}"
        ),
        1
    );
    // A flood is logged in a few lines, not one per connection.
    assert!(
        d.proc
            .log_count(&["SMTP connection refused: no slot for this client"])
            <= 3
    );
}

#[test]
fn check_config_refuses_weak_password_hashes_by_key_with_a_fix() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("faxbridge.toml");
    let write = |smtp_hash: &str, old_hash: &str, web_hash: &str| {
        std::fs::write(
            &config,
            format!(
                r#"
[general]
spool_dir = "{spool}"

[intake.smtp]
listen = "127.0.0.1:2525"
allow_plain_auth = true

[[intake.smtp.accounts]]
username = "relay"
password_hash = "{smtp_hash}"
addresses = ["example.ac.uk"]

[[intake.smtp.accounts]]
username = "old@example.ac.uk"
password_hash = "{old_hash}"

[web]
listen = "127.0.0.1:8080"

[[web.accounts]]
username = "admin"
password_hash = "{web_hash}"
role = "admin"
"#,
                spool = dir.path().join("spool").display()
            ),
        )
        .unwrap();
    };
    // openssl kdf … -kdfopt pass:secret -kdfopt salt:pepper -kdfopt iter:1000 PBKDF2
    let pbkdf2_1000 = "pbkdf2-sha256$1000$pepper$940DD54B117167A8A9DBFD6F73B02345EAE6B1266FA69D623A52F5043D9E1C85";
    // printf '%s%s' pepper secret | sha256sum
    let sha256 = "sha256$pepper$744a9101f7182a6ae0d978121ff74e33cac8d2832579c0637c1c37e9bbb6c065";
    let web_20000 =
        "pbkdf2-sha256$20000$salt$00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    write(pbkdf2_1000, sha256, web_20000);
    let (ok, text) = check_config(&config);
    assert!(!ok, "{text}");
    for line in [
        "intake.smtp.accounts[0].password_hash: uses only 1000 PBKDF2 iterations",
        "intake.smtp.accounts[1].password_hash: is the plain salted SHA-256 form",
        "web.accounts[0].password_hash: uses only 20000 PBKDF2 iterations",
    ] {
        let found = text.lines().find(|l| l.contains(line));
        let found = found.unwrap_or_else(|| panic!("{line} missing in:\n{text}"));
        assert!(found.contains("; fix: run `faxbridge passwd`"), "{found}");
    }
    assert!(
        !text.contains("940DD54B"),
        "the hash is not repeated: {text}"
    );

    // The same accounts with `faxbridge passwd` hashes (and an old PBKDF2
    // hash with enough iterations) pass.
    let pbkdf2_100000 = "pbkdf2-sha256$100000$0a1b2c3d4e5f6071$37AAD17F6B9872311D002DAAE7EFFBB95A25CF9A8A2EB113D1C2B9C10E556F18";
    write(
        &passwd("relay secret"),
        &passwd("old secret"),
        pbkdf2_100000,
    );
    let (ok, text) = check_config(&config);
    assert!(ok, "{text}");
}

#[test]
fn passwd_refuses_an_empty_password_and_needs_input() {
    for (input, needle) in [
        ("\n", "the password is empty"),
        ("", "no password on standard input"),
    ] {
        let mut child = Command::new(BIN)
            .arg("passwd")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(!out.status.success());
        assert!(out.stdout.is_empty(), "nothing on standard output");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{err}");
    }
}
