//! The SMTP server protocol (RFC 5321) as a sans-IO state machine.
//!
//! A [`Session`] is fed the bytes a client sent ([`Session::feed`]) and is
//! asked what to do next ([`Session::poll`]). It answers with an [`Event`]:
//! read more input, ask the mail handler a question (sender, recipient,
//! message, credentials), upgrade the connection to TLS, or close. Replies
//! collect in an output buffer the driver writes out
//! ([`Session::take_output`]) before it waits for input, which is what
//! command pipelining (RFC 2920) needs: several commands may arrive in one
//! read and their replies leave together.
//!
//! Extensions: `SIZE` (RFC 1870), `8BITMIME` (RFC 6152), `PIPELINING`
//! (RFC 2920), `ENHANCEDSTATUSCODES` (RFC 2034, codes from RFC 3463),
//! `STARTTLS` (RFC 3207) and `AUTH PLAIN LOGIN` (RFC 4954, RFC 4616).
//!
//! Every 2xx, 4xx and 5xx reply carries an enhanced status code, except the
//! greeting and the reply to `EHLO`/`HELO`, which RFC 2034 §3 exempts
//! (clients learn only from `EHLO` that the codes are in use).

use std::net::SocketAddr;
use std::time::SystemTime;

use super::Refusal;

use super::SessionInfo;
use super::auth::{self, SaslError};

/// RFC 5321 §4.5.3.1.4 allows 512 octets for a command line; SMTP
/// extensions add parameters, so up to 1000 octets (the text-line limit of
/// §4.5.3.1.6) are accepted, including the CRLF.
pub(crate) const MAX_COMMAND_LINE: usize = 1000;

/// RFC 5321 §4.5.3.1.3: a path (address with angle brackets) is at most 256
/// octets.
const MAX_PATH: usize = 256;

/// Message data is processed in pieces at least this long when a line has
/// no end yet, so one endless line cannot fill memory.
const DATA_CHUNK: usize = 8192;

/// The session's fixed settings, from `[intake.smtp]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProtocolConfig {
    /// Our host name: greeting, `EHLO` reply, `Received:` header.
    pub hostname: String,
    /// Largest message accepted, in octets of data as received.
    pub max_message_bytes: u64,
    /// Most recipients accepted in one transaction.
    pub max_recipients: usize,
    /// Protocol errors after which the connection is closed with 421.
    pub max_errors: u32,
    /// Whether STARTTLS can be offered (a certificate is configured).
    pub tls_available: bool,
    /// Whether `MAIL` (and `AUTH`) need TLS first.
    pub require_tls: bool,
    /// Whether accounts are configured, so AUTH can be offered.
    pub auth_available: bool,
    /// Whether AUTH is offered on a connection without TLS.
    pub allow_plain_auth: bool,
    /// Senders refused at `MAIL FROM` after which a session that is not
    /// from a trusted relay is closed with 421.
    pub max_sender_refusals: u32,
}

impl Default for ProtocolConfig {
    fn default() -> Self {
        ProtocolConfig {
            hostname: "localhost".into(),
            max_message_bytes: 25 * 1024 * 1024,
            max_recipients: 100,
            max_errors: 10,
            tls_available: false,
            require_tls: false,
            auth_available: false,
            allow_plain_auth: false,
            max_sender_refusals: 3,
        }
    }
}

/// What the driver must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    /// Write out the pending output, then read more input (or time out).
    NeedInput,
    /// Ask the handler whether this sender may send; answer with
    /// [`Session::sender_checked`].
    CheckSender {
        /// The envelope sender, empty for `<>`.
        mail_from: String,
    },
    /// Ask the handler about one recipient; answer with
    /// [`Session::recipient_checked`].
    CheckRecipient {
        /// The envelope sender of the transaction.
        mail_from: String,
        /// The recipient, without angle brackets.
        recipient: String,
    },
    /// A complete message: hand it to the handler and answer with
    /// [`Session::message_done`].
    Deliver {
        /// The envelope sender.
        mail_from: String,
        /// The recipients the handler accepted.
        recipients: Vec<String>,
        /// The data, dot-unstuffed, CRLF line ends, without the final dot.
        data: Vec<u8>,
    },
    /// Check these credentials; answer with [`Session::auth_checked`].
    Authenticate {
        /// The user name given.
        username: String,
        /// The password given.
        password: Vec<u8>,
    },
    /// Write out the pending output (the 220 reply to STARTTLS), then run
    /// the TLS handshake and call [`Session::tls_started`].
    StartTls,
    /// Write out the pending output and close the connection.
    Close,
}

/// Which timeout applies while the session waits for input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Waiting {
    /// For a command (or a SASL response): RFC 5321 §4.5.3.2.7, 5 minutes.
    Command,
    /// For more message data: RFC 5321 §4.5.3.2.5, 3 minutes per block.
    Data,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Helo {
    /// `EHLO` (true) or `HELO`.
    extended: bool,
    name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Transaction {
    mail_from: String,
    recipients: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Awaiting {
    Sender(String),
    Recipient(String),
    Message,
    Auth(String),
    Tls,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Mode {
    Command,
    /// The rest of an overlong command line is being thrown away.
    SkipLine,
    /// Waiting for the `AUTH PLAIN` response after an empty `334`.
    AuthPlain,
    /// Waiting for the `AUTH LOGIN` user name.
    AuthLoginUser,
    /// Waiting for the `AUTH LOGIN` password.
    AuthLoginPassword(String),
    /// Receiving message data after `354`.
    Data,
    /// A decision is outstanding; input waits in the buffer.
    Awaiting(Awaiting),
    Closed,
}

/// Message data being received.
#[derive(Debug, Default)]
struct DataState {
    buf: Vec<u8>,
    /// Octets of data received so far (after dot-unstuffing).
    size: u64,
    /// Over the size limit: the rest is counted, not kept.
    oversize: bool,
    /// Part of the current line was already taken (a very long line).
    mid_line: bool,
    /// Why the message will be refused at the final dot although it was
    /// read to the end: bytes no SMTP data may hold.
    bad_bytes: Option<BadBytes>,
}

/// Bytes that make message data unacceptable, whatever it says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BadBytes {
    /// A line holding only a dot next to a bare LF or CR (`\n.\n`,
    /// `\r\n.\n`, `\n.\r\n`): the end-of-data a receiver that takes bare
    /// line ends for CRLF would see, which is how SMTP smuggling hides a
    /// second message in the first. It never ends the data here, and the
    /// message is refused rather than passed on with it.
    Smuggling,
    /// A CR that is not part of a CRLF pair (RFC 5321 §2.3.8). A bare LF is
    /// taken as a line end and stored as CRLF, as Postfix's default
    /// `smtpd_forbid_bare_newline = normalize` does: clients that send
    /// bare LF in 7-bit bodies exist (lettre does for text attachments); a
    /// bare CR has no such excuse.
    BareCr,
    /// A NUL byte: neither 7-bit nor 8BITMIME data may contain one
    /// (RFC 6152 §2; only BINARYMIME, not offered, allows it).
    Nul,
}

impl BadBytes {
    /// The first bad bytes in `bytes`, a piece of a line without its CRLF.
    fn find(bytes: &[u8]) -> Option<BadBytes> {
        bytes.iter().find_map(|b| match b {
            b'\r' => Some(BadBytes::BareCr),
            0 => Some(BadBytes::Nul),
            _ => None,
        })
    }

    /// The reply refusing the message.
    fn reply(self) -> &'static str {
        match self {
            BadBytes::Smuggling => {
                "554 5.6.0 Message refused: a line holding only a dot ends in a bare LF or CR (an SMTP smuggling pattern); lines must end in CRLF (RFC 5321 section 2.3.8); nothing was sent"
            }
            BadBytes::BareCr => {
                "554 5.6.0 Message refused: bare CR in the data; every line must end in CRLF (RFC 5321 section 2.3.8); nothing was sent"
            }
            BadBytes::Nul => {
                "554 5.6.0 Message refused: NUL byte in the data (not allowed in 7-bit or 8BITMIME mail); nothing was sent"
            }
        }
    }
}

/// One SMTP server session (one connection), without I/O.
#[derive(Debug)]
pub(crate) struct Session {
    cfg: ProtocolConfig,
    peer: SocketAddr,
    input: Vec<u8>,
    output: Vec<u8>,
    mode: Mode,
    helo: Option<Helo>,
    tls: bool,
    authenticated: Option<String>,
    errors: u32,
    transaction: Option<Transaction>,
    data: DataState,
    /// The client is a trusted relay (told by the driver).
    trusted: bool,
    /// The client has authenticated or had a sender accepted (or is
    /// trusted): it has shown it is here to send mail.
    proven: bool,
    /// Senders refused at `MAIL FROM` so far.
    sender_refusals: u32,
}

impl Session {
    /// A new session for a client at `peer`; the 220 greeting is queued.
    pub(crate) fn new(cfg: ProtocolConfig, peer: SocketAddr) -> Session {
        let mut s = Session {
            cfg,
            peer,
            input: Vec::new(),
            output: Vec::new(),
            mode: Mode::Command,
            helo: None,
            tls: false,
            authenticated: None,
            errors: 0,
            transaction: None,
            data: DataState::default(),
            trusted: false,
            proven: false,
            sender_refusals: 0,
        };
        let greeting = format!("220 {} ESMTP faxbridge ready", s.cfg.hostname);
        s.reply(&greeting);
        s
    }

    /// Bytes received from the client.
    pub(crate) fn feed(&mut self, bytes: &[u8]) {
        if self.mode != Mode::Closed {
            self.input.extend_from_slice(bytes);
        }
    }

    /// The replies queued since the last call.
    pub(crate) fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.output)
    }

    /// Which timeout applies to the next read.
    pub(crate) fn waiting(&self) -> Waiting {
        if self.mode == Mode::Data {
            Waiting::Data
        } else {
            Waiting::Command
        }
    }

    /// Whether the session is between commands, so a shutdown may end it
    /// without cutting off a message or a decision.
    pub(crate) fn is_idle(&self) -> bool {
        !matches!(self.mode, Mode::Data | Mode::Awaiting(_))
    }

    /// What the handler is told about this client.
    pub(crate) fn info(&self) -> SessionInfo {
        SessionInfo {
            peer: self.peer,
            helo: self
                .helo
                .as_ref()
                .map(|h| h.name.clone())
                .unwrap_or_default(),
            tls: self.tls,
            authenticated: self.authenticated.clone(),
        }
    }

    /// The `with` protocol of the `Received:` header (RFC 3848): `SMTP`
    /// after `HELO`; `ESMTP` after `EHLO`, plus `S` under TLS and `A` when
    /// authenticated.
    pub(crate) fn protocol(&self) -> &'static str {
        match (
            self.helo.as_ref().is_some_and(|h| h.extended),
            self.tls,
            self.authenticated.is_some(),
        ) {
            (false, _, _) => "SMTP",
            (true, false, false) => "ESMTP",
            (true, true, false) => "ESMTPS",
            (true, false, true) => "ESMTPA",
            (true, true, true) => "ESMTPSA",
        }
    }

    /// The client is a trusted relay: proven from the start, and not closed
    /// for refused senders (it sends for many people over one connection).
    pub(crate) fn set_trusted(&mut self) {
        self.trusted = true;
        self.proven = true;
    }

    /// Whether the client has shown it is here to send mail: a trusted
    /// relay, or it has authenticated or had a sender accepted. It stays
    /// proven for the rest of the connection.
    pub(crate) fn is_proven(&self) -> bool {
        self.proven
    }

    /// Whether the session has ended (its last replies may still be
    /// waiting in the output).
    pub(crate) fn is_closing(&self) -> bool {
        self.mode == Mode::Closed
    }

    /// An unproven client did not authenticate or start a transaction in
    /// the time allowed: 421 and close.
    pub(crate) fn unproven_timed_out(&mut self) {
        let line = format!(
            "421 4.4.2 {} Timeout: no login or accepted sender in time, closing connection",
            self.cfg.hostname
        );
        self.reply(&line);
        self.mode = Mode::Closed;
    }

    /// The client was silent too long: 421 and close (RFC 5321 §4.5.3.2).
    pub(crate) fn timed_out(&mut self) {
        let line = format!(
            "421 4.4.2 {} Timeout: nothing received for too long, closing connection",
            self.cfg.hostname
        );
        self.reply(&line);
        self.mode = Mode::Closed;
    }

    /// The service is stopping: 421 and close (RFC 5321 §3.8).
    pub(crate) fn shutting_down(&mut self) {
        let line = format!(
            "421 4.3.2 {} Service shutting down, try again later",
            self.cfg.hostname
        );
        self.reply(&line);
        self.mode = Mode::Closed;
    }

    /// The next thing to do.
    pub(crate) fn poll(&mut self) -> Event {
        loop {
            match &self.mode {
                Mode::Closed => return Event::Close,
                // The driver must answer first; until then nothing moves.
                Mode::Awaiting(_) => return Event::NeedInput,
                Mode::Data => match self.receive_data() {
                    Some(event) => return event,
                    None if self.mode == Mode::Data => return Event::NeedInput,
                    None => continue,
                },
                Mode::SkipLine => match self.input.iter().position(|&b| b == b'\n') {
                    Some(i) => {
                        self.input.drain(..=i);
                        self.mode = Mode::Command;
                    }
                    None => {
                        self.input.clear();
                        return Event::NeedInput;
                    }
                },
                Mode::Command
                | Mode::AuthPlain
                | Mode::AuthLoginUser
                | Mode::AuthLoginPassword(_) => {
                    let Some(end) = self.input.iter().position(|&b| b == b'\n') else {
                        if self.input.len() >= MAX_COMMAND_LINE {
                            self.input.clear();
                            self.mode = Mode::SkipLine;
                            self.line_too_long();
                            continue;
                        }
                        return Event::NeedInput;
                    };
                    let line: Vec<u8> = self.input.drain(..=end).collect();
                    if line.len() > MAX_COMMAND_LINE {
                        self.line_too_long();
                        continue;
                    }
                    // RFC 5321 requires CRLF; a bare LF is tolerated for
                    // commands (never for the end of data).
                    let line = line
                        .strip_suffix(b"\n")
                        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
                        .unwrap_or(&line);
                    let event = match self.mode.clone() {
                        Mode::Command => self.command(line),
                        Mode::AuthPlain => self.plain_response(line),
                        Mode::AuthLoginUser => self.login_user(line),
                        Mode::AuthLoginPassword(user) => self.login_password(line, user),
                        _ => None,
                    };
                    if let Some(event) = event {
                        return event;
                    }
                }
            }
        }
    }

    /// Answer to [`Event::CheckSender`].
    pub(crate) fn sender_checked(&mut self, result: Result<(), Refusal>) {
        let Mode::Awaiting(Awaiting::Sender(mail_from)) = &self.mode else {
            return;
        };
        let mail_from = mail_from.clone();
        self.mode = Mode::Command;
        match result {
            Ok(()) => {
                self.transaction = Some(Transaction {
                    mail_from,
                    recipients: Vec::new(),
                });
                self.proven = true;
                self.reply("250 2.1.0 Sender OK");
            }
            Err(refusal) => {
                self.reply(&refusal.smtp_line());
                self.sender_refusals += 1;
                // A client that keeps trying senders is probing which ones
                // pass; a relay sends for many people and is exempt.
                if !self.trusted && self.sender_refusals >= self.cfg.max_sender_refusals {
                    tracing::info!(peer = %self.peer, refusals = self.sender_refusals, "SMTP session closed after too many refused senders");
                    let line = format!(
                        "421 4.7.0 {} Too many refused senders, closing connection",
                        self.cfg.hostname
                    );
                    self.reply(&line);
                    self.mode = Mode::Closed;
                }
            }
        }
    }

    /// Answer to [`Event::CheckRecipient`].
    pub(crate) fn recipient_checked(&mut self, result: Result<(), Refusal>) {
        let Mode::Awaiting(Awaiting::Recipient(rcpt)) = &self.mode else {
            return;
        };
        match (result, self.transaction.as_mut()) {
            (Ok(()), Some(t)) => {
                t.recipients.push(rcpt.clone());
                self.reply("250 2.1.5 Recipient OK");
            }
            (Ok(()), None) => self.reply("503 5.5.1 Send MAIL FROM first"),
            (Err(refusal), _) => self.reply(&refusal.smtp_line()),
        }
        self.mode = Mode::Command;
    }

    /// Answer to [`Event::Deliver`]: the number of fax jobs queued, or the
    /// refusal.
    pub(crate) fn message_done(&mut self, result: Result<usize, Refusal>) {
        if self.mode != Mode::Awaiting(Awaiting::Message) {
            return;
        }
        match result {
            Ok(jobs) => {
                let line = format!(
                    "250 2.0.0 Message accepted: {jobs} fax job{} queued",
                    if jobs == 1 { "" } else { "s" }
                );
                self.reply(&line);
            }
            Err(refusal) => self.reply(&refusal.smtp_line()),
        }
        self.mode = Mode::Command;
    }

    /// Answer to [`Event::Authenticate`].
    pub(crate) fn auth_checked(&mut self, ok: bool) {
        let Mode::Awaiting(Awaiting::Auth(user)) = &self.mode else {
            return;
        };
        if ok {
            self.authenticated = Some(user.clone());
            self.proven = true;
            self.mode = Mode::Command;
            self.reply("235 2.7.0 Authentication successful");
        } else {
            self.mode = Mode::Command;
            self.error("535 5.7.8 Authentication credentials invalid");
        }
    }

    /// Answer to [`Event::Authenticate`] when the client's address is
    /// locked out after too many failures: RFC 4954 §6's temporary failure,
    /// the password unchecked.
    pub(crate) fn auth_locked(&mut self, retry_after: std::time::Duration) {
        if !matches!(self.mode, Mode::Awaiting(Awaiting::Auth(_))) {
            return;
        }
        self.mode = Mode::Command;
        let secs = retry_after.as_secs().max(1);
        let wait = if secs < 120 {
            format!("{secs} seconds")
        } else {
            format!("{} minutes", secs.div_ceil(60))
        };
        self.error(&format!(
            "454 4.7.0 Too many failed logins from your address; try again in {wait}"
        ));
    }

    /// The TLS handshake after STARTTLS succeeded. RFC 3207 §4.2: the client
    /// must start again with EHLO; everything learnt before (HELO name, AUTH,
    /// transaction) is forgotten, as it may have been tampered with.
    pub(crate) fn tls_started(&mut self) {
        if self.mode != Mode::Awaiting(Awaiting::Tls) {
            return;
        }
        self.tls = true;
        self.helo = None;
        self.authenticated = None;
        self.transaction = None;
        self.input.clear();
        self.mode = Mode::Command;
    }

    fn reply(&mut self, line: &str) {
        self.output.extend_from_slice(line.as_bytes());
        self.output.extend_from_slice(b"\r\n");
    }

    /// A protocol error reply; too many of them end the session (a client
    /// that is lost, or someone probing).
    fn error(&mut self, line: &str) {
        self.reply(line);
        self.errors += 1;
        if self.errors >= self.cfg.max_errors && self.mode != Mode::Closed {
            tracing::info!(peer = %self.peer, errors = self.errors, "SMTP session closed after too many errors");
            let line = format!(
                "421 4.7.0 {} Too many errors, closing connection",
                self.cfg.hostname
            );
            self.reply(&line);
            self.mode = Mode::Closed;
        }
    }

    fn line_too_long(&mut self) {
        self.error("500 5.5.2 Line too long (more than 1000 octets)");
    }

    fn command(&mut self, line: &[u8]) -> Option<Event> {
        let Some(line) = std::str::from_utf8(line)
            .ok()
            .filter(|l| l.chars().all(|c| c == '\t' || (' '..='~').contains(&c)))
        else {
            self.error("500 5.5.2 Command contains bytes that are not printable ASCII");
            return None;
        };
        let (verb, args) = match line.split_once(' ') {
            Some((v, a)) => (v, a.trim()),
            None => (line.trim_end(), ""),
        };
        match verb.to_ascii_uppercase().as_str() {
            "EHLO" => self.hello(args, true),
            "HELO" => self.hello(args, false),
            "MAIL" => return self.mail(args),
            "RCPT" => return self.rcpt(args),
            "DATA" => self.data_command(args),
            "RSET" => {
                if args.is_empty() {
                    self.transaction = None;
                    self.reply("250 2.0.0 OK");
                } else {
                    self.error("501 5.5.4 Syntax: RSET (no arguments)");
                }
            }
            "NOOP" => self.reply("250 2.0.0 OK"),
            "QUIT" => {
                let line = format!("221 2.0.0 {} closing connection", self.cfg.hostname);
                self.reply(&line);
                self.mode = Mode::Closed;
            }
            "VRFY" => {
                if args.is_empty() {
                    self.error("501 5.5.4 Syntax: VRFY <address>");
                } else {
                    // RFC 5321 §3.5.3: 252 when the server will not verify.
                    self.reply("252 2.0.0 Cannot VRFY user, but will accept message for it");
                }
            }
            "HELP" => self.reply(
                "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP STARTTLS AUTH",
            ),
            "STARTTLS" => return self.starttls(args),
            "AUTH" => return self.auth(args),
            "EXPN" | "TURN" | "ETRN" | "ATRN" | "BDAT" | "SEND" | "SOML" | "SAML" => {
                self.error("502 5.5.1 Command not implemented");
            }
            _ => self.error("500 5.5.1 Command unrecognized"),
        }
        None
    }

    fn hello(&mut self, args: &str, extended: bool) {
        let name = args.split_whitespace().next().unwrap_or("");
        if name.is_empty() {
            let verb = if extended { "EHLO" } else { "HELO" };
            self.error(&format!("501 5.5.4 Syntax: {verb} <your host name>"));
            return;
        }
        // RFC 5321 §4.1.4: EHLO/HELO resets the state as RSET does.
        self.transaction = None;
        self.helo = Some(Helo {
            extended,
            name: name.to_string(),
        });
        let greeting = format!("{} Hello {} [{}]", self.cfg.hostname, name, self.peer.ip());
        if !extended {
            self.reply(&format!("250 {greeting}"));
            return;
        }
        let mut lines = vec![
            greeting,
            format!("SIZE {}", self.cfg.max_message_bytes),
            "8BITMIME".to_string(),
            "PIPELINING".to_string(),
            "ENHANCEDSTATUSCODES".to_string(),
        ];
        if self.cfg.tls_available && !self.tls {
            lines.push("STARTTLS".into());
        }
        if self.auth_offered() {
            lines.push("AUTH PLAIN LOGIN".into());
        }
        lines.push("HELP".into());
        let last = lines.len() - 1;
        for (i, l) in lines.iter().enumerate() {
            let sep = if i == last { ' ' } else { '-' };
            let line = format!("250{sep}{l}");
            self.reply(&line);
        }
    }

    fn auth_offered(&self) -> bool {
        self.cfg.auth_available
            && self.authenticated.is_none()
            && (self.tls || (self.cfg.allow_plain_auth && !self.cfg.require_tls))
    }

    fn mail(&mut self, args: &str) -> Option<Event> {
        if self.helo.is_none() {
            self.error("503 5.5.1 Send EHLO or HELO first");
            return None;
        }
        if self.cfg.require_tls && !self.tls {
            self.error("530 5.7.0 Must issue a STARTTLS command first");
            return None;
        }
        if self.transaction.is_some() {
            self.error("503 5.5.1 Sender already given (send RSET to start again)");
            return None;
        }
        let Some(rest) = strip_prefix_ignore_case(args, "FROM:") else {
            self.error("501 5.5.4 Syntax: MAIL FROM:<address>");
            return None;
        };
        let (mail_from, params) = match parse_path(rest) {
            Ok(p) => p,
            Err(e) => {
                self.error(&format!("501 5.1.7 Bad sender address syntax: {e}"));
                return None;
            }
        };
        if !mail_from.is_empty() && !mail_from.contains('@') {
            self.error("501 5.1.7 Bad sender address syntax: the address has no @domain");
            return None;
        }
        for param in params.split_whitespace() {
            let (key, value) = param.split_once('=').unwrap_or((param, ""));
            match key.to_ascii_uppercase().as_str() {
                // RFC 1870 §6: the client's size estimate.
                "SIZE" => match value.parse::<u64>() {
                    Ok(size) if size > self.cfg.max_message_bytes => {
                        tracing::info!(peer = %self.peer, from = %mail_from, size, limit = self.cfg.max_message_bytes, "message refused: declared size over the limit");
                        let line = format!(
                            "552 5.3.4 Message size exceeds fixed maximum message size ({} bytes)",
                            self.cfg.max_message_bytes
                        );
                        self.reply(&line);
                        return None;
                    }
                    Ok(_) => {}
                    Err(_) => {
                        self.error("501 5.5.4 Syntax: SIZE=<number of octets>");
                        return None;
                    }
                },
                // RFC 6152: 8-bit data is accepted as it is.
                "BODY" if ["7BIT", "8BITMIME"].contains(&value.to_ascii_uppercase().as_str()) => {}
                "BODY" => {
                    self.error("501 5.5.4 Syntax: BODY=7BIT or BODY=8BITMIME");
                    return None;
                }
                // RFC 4954 §5: the original submitter, informational only.
                "AUTH" if !value.is_empty() => {}
                _ => {
                    self.error(&format!(
                        "555 5.5.4 MAIL FROM parameter {key} not recognized"
                    ));
                    return None;
                }
            }
        }
        self.mode = Mode::Awaiting(Awaiting::Sender(mail_from.clone()));
        Some(Event::CheckSender { mail_from })
    }

    fn rcpt(&mut self, args: &str) -> Option<Event> {
        let Some(mail_from) = self.transaction.as_ref().map(|t| t.mail_from.clone()) else {
            self.error("503 5.5.1 Send MAIL FROM first");
            return None;
        };
        let Some(rest) = strip_prefix_ignore_case(args, "TO:") else {
            self.error("501 5.5.4 Syntax: RCPT TO:<address>");
            return None;
        };
        let (recipient, params) = match parse_path(rest) {
            Ok(p) => p,
            Err(e) => {
                self.error(&format!("501 5.1.3 Bad recipient address syntax: {e}"));
                return None;
            }
        };
        if recipient.is_empty()
            || !(recipient.contains('@') || recipient.eq_ignore_ascii_case("postmaster"))
        {
            self.error("501 5.1.3 Bad recipient address syntax: write <number@fax-domain>");
            return None;
        }
        if let Some(param) = params.split_whitespace().next() {
            self.error(&format!(
                "555 5.5.4 RCPT TO parameter {param} not recognized"
            ));
            return None;
        }
        let count = self.transaction.as_ref().map_or(0, |t| t.recipients.len());
        if count >= self.cfg.max_recipients {
            // RFC 5321 §4.5.3.1.10: 452, the client sends the rest later.
            let line = format!(
                "452 4.5.3 Too many recipients (at most {} per message)",
                self.cfg.max_recipients
            );
            self.reply(&line);
            return None;
        }
        self.mode = Mode::Awaiting(Awaiting::Recipient(recipient.clone()));
        Some(Event::CheckRecipient {
            mail_from,
            recipient,
        })
    }

    fn data_command(&mut self, args: &str) {
        if !args.is_empty() {
            self.error("501 5.5.4 Syntax: DATA (no arguments)");
            return;
        }
        match &self.transaction {
            None => self.error("503 5.5.1 Send MAIL FROM first"),
            // RFC 5321 §3.3 (and RFC 2920 §3.1 for pipelining clients).
            Some(t) if t.recipients.is_empty() => self.error("554 5.5.1 No valid recipients"),
            Some(_) => {
                self.data = DataState::default();
                self.mode = Mode::Data;
                self.reply("354 End data with <CR><LF>.<CR><LF>");
            }
        }
    }

    /// Take message data from the input: dot-unstuffing (RFC 5321 §4.5.2),
    /// size counting, and the end marker `CRLF . CRLF`. Only CRLF . CRLF
    /// ends the data, so a bare-LF `.` cannot end the message early (the
    /// "SMTP smuggling" trick of sneaking a second message past a relay);
    /// a bare LF elsewhere is stored as CRLF; a message holding a smuggling
    /// pattern, a bare CR or a NUL is read to its end and then refused with
    /// 554 ([`BadBytes`]).
    fn receive_data(&mut self) -> Option<Event> {
        let mut pos = 0;
        let mut finished = false;
        while pos < self.input.len() {
            let rest = &self.input[pos..];
            match find_crlf(rest) {
                Some(i) => {
                    let line = &rest[..i];
                    if !self.data.mid_line && line == b"." {
                        pos += 3;
                        finished = true;
                        break;
                    }
                    Self::take_piece(&mut self.data, &self.cfg, line, true);
                    pos += i + 2;
                }
                None if rest.len() > DATA_CHUNK => {
                    // A long line: keep all but a last CR, which may begin
                    // the line's CRLF.
                    let take = rest.len() - 1;
                    Self::take_piece(&mut self.data, &self.cfg, &rest[..take], false);
                    pos += take;
                }
                None => break,
            }
        }
        self.input.drain(..pos);
        if !finished {
            return None;
        }
        let data = std::mem::take(&mut self.data);
        let transaction = self.transaction.take();
        self.mode = Mode::Command;
        let t = transaction?;
        if data.oversize {
            tracing::info!(peer = %self.peer, from = %t.mail_from, rcpt = ?t.recipients, size = data.size, limit = self.cfg.max_message_bytes, "message refused: over the size limit");
            let line = format!(
                "552 5.3.4 Message too big: more than {} bytes; nothing was sent",
                self.cfg.max_message_bytes
            );
            self.reply(&line);
            return None;
        }
        if let Some(bad) = data.bad_bytes {
            tracing::info!(peer = %self.peer, from = %t.mail_from, rcpt = ?t.recipients, size = data.size, problem = ?bad, "message refused: bytes no SMTP data may hold");
            self.reply(bad.reply());
            return None;
        }
        self.mode = Mode::Awaiting(Awaiting::Message);
        Some(Event::Deliver {
            mail_from: t.mail_from,
            recipients: t.recipients,
            data: data.buf,
        })
    }

    /// Add message bytes; `count` is what they add to the size (the CRLF is
    /// counted with its line).
    /// One line of data without its CRLF (`whole_line`), or the first part
    /// of a line too long to keep in one piece: bare LFs in it end lines
    /// (stored as CRLF, each line dot-unstuffed), a lone dot next to one
    /// is a smuggling pattern.
    fn take_piece(data: &mut DataState, cfg: &ProtocolConfig, piece: &[u8], whole_line: bool) {
        let bare_lf = piece.contains(&b'\n');
        let mut parts = piece.split(|&b| b == b'\n').peekable();
        let mut first = true;
        while let Some(part) = parts.next() {
            let at_line_start = !first || !data.mid_line;
            if !first {
                Self::append(data, cfg, b"\r\n", 2);
            }
            // The last part of a piece cut from a long line may go on.
            let complete = parts.peek().is_some() || whole_line;
            if at_line_start && bare_lf && complete && part == b"." {
                data.bad_bytes.get_or_insert(BadBytes::Smuggling);
            }
            let unstuffed = match part.first() {
                Some(b'.') if at_line_start => &part[1..],
                _ => part,
            };
            if data.bad_bytes.is_none() {
                data.bad_bytes = BadBytes::find(unstuffed);
            }
            Self::append(data, cfg, unstuffed, unstuffed.len());
            first = false;
        }
        if whole_line {
            Self::append(data, cfg, b"\r\n", 2);
        }
        data.mid_line = !whole_line;
    }

    fn append(data: &mut DataState, cfg: &ProtocolConfig, bytes: &[u8], count: usize) {
        data.size += count as u64;
        if data.size > cfg.max_message_bytes {
            if !data.oversize {
                data.oversize = true;
                data.buf = Vec::new();
            }
            return;
        }
        data.buf.extend_from_slice(bytes);
    }

    fn starttls(&mut self, args: &str) -> Option<Event> {
        if !args.is_empty() {
            self.error("501 5.5.4 Syntax: STARTTLS (no arguments)");
            return None;
        }
        if self.tls {
            self.error("503 5.5.1 TLS is already active");
            return None;
        }
        if !self.cfg.tls_available {
            self.error("502 5.5.1 STARTTLS is not available (no certificate configured)");
            return None;
        }
        self.reply("220 2.0.0 Ready to start TLS");
        // Anything pipelined after STARTTLS was sent in clear and must not
        // be acted upon after the handshake (CVE-2011-0411, RFC 3207 §4.2).
        self.input.clear();
        self.mode = Mode::Awaiting(Awaiting::Tls);
        Some(Event::StartTls)
    }

    fn auth(&mut self, args: &str) -> Option<Event> {
        if !self.cfg.auth_available {
            self.error("502 5.5.1 AUTH is not available (no accounts configured)");
            return None;
        }
        if self.helo.as_ref().is_none_or(|h| !h.extended) {
            self.error("503 5.5.1 Send EHLO first");
            return None;
        }
        if self.authenticated.is_some() {
            self.error("503 5.5.1 Already authenticated");
            return None;
        }
        if self.transaction.is_some() {
            self.error("503 5.5.1 AUTH is not allowed during a mail transaction");
            return None;
        }
        if !self.tls && self.cfg.require_tls {
            self.error("530 5.7.0 Must issue a STARTTLS command first");
            return None;
        }
        if !self.tls && !self.cfg.allow_plain_auth {
            // RFC 4954 §6: a password must not travel in clear.
            let line = if self.cfg.tls_available {
                "538 5.7.11 Encryption required for requested authentication mechanism: send STARTTLS first"
            } else {
                "538 5.7.11 Encryption required for requested authentication mechanism"
            };
            self.error(line);
            return None;
        }
        let mut words = args.split_whitespace();
        let mechanism = words.next().unwrap_or("").to_ascii_uppercase();
        let initial = words.next();
        if words.next().is_some() {
            self.error("501 5.5.4 Syntax: AUTH <mechanism> [initial-response]");
            return None;
        }
        match (mechanism.as_str(), initial) {
            ("PLAIN", None) => {
                self.mode = Mode::AuthPlain;
                self.reply("334 ");
                None
            }
            // RFC 4954 §4: "=" is an empty initial response.
            ("PLAIN", Some(ir)) => self.plain_response(ir.as_bytes()),
            ("LOGIN", None) => {
                self.mode = Mode::AuthLoginUser;
                self.reply(&format!("334 {}", auth::encode_base64(b"Username:")));
                None
            }
            ("LOGIN", Some(ir)) => self.login_user(ir.as_bytes()),
            ("", _) => {
                self.error("501 5.5.4 Syntax: AUTH <mechanism> [initial-response]");
                None
            }
            _ => {
                self.error("504 5.5.4 Unrecognized authentication type (use PLAIN or LOGIN)");
                None
            }
        }
    }

    /// A SASL response line: `*` cancels (RFC 4954 §4); otherwise decoded
    /// by `decode`, whose errors become 501.
    fn sasl<T>(
        &mut self,
        line: &[u8],
        decode: impl FnOnce(&str) -> Result<T, SaslError>,
    ) -> Option<T> {
        self.mode = Mode::Command;
        let text = String::from_utf8_lossy(line);
        if text.trim() == "*" {
            self.error("501 5.7.0 Authentication cancelled");
            return None;
        }
        match decode(text.trim()) {
            Ok(v) => Some(v),
            Err(SaslError::Base64) => {
                self.error("501 5.5.2 Cannot decode the response (not base64)");
                None
            }
            Err(SaslError::Format) => {
                self.error("501 5.5.2 Malformed authentication response");
                None
            }
        }
    }

    fn plain_response(&mut self, line: &[u8]) -> Option<Event> {
        let decode = |t: &str| {
            if t == "=" {
                Err(SaslError::Format)
            } else {
                auth::decode_plain(t)
            }
        };
        let (username, password) = self.sasl(line, decode)?;
        self.mode = Mode::Awaiting(Awaiting::Auth(username.clone()));
        Some(Event::Authenticate { username, password })
    }

    fn login_user(&mut self, line: &[u8]) -> Option<Event> {
        let decode = |t: &str| {
            let raw = auth::decode_base64(t)?;
            String::from_utf8(raw)
                .ok()
                .filter(|u| !u.is_empty())
                .ok_or(SaslError::Format)
        };
        let user = self.sasl(line, decode)?;
        self.mode = Mode::AuthLoginPassword(user);
        self.reply(&format!("334 {}", auth::encode_base64(b"Password:")));
        None
    }

    fn login_password(&mut self, line: &[u8], username: String) -> Option<Event> {
        let password = self.sasl(line, auth::decode_base64)?;
        self.mode = Mode::Awaiting(Awaiting::Auth(username.clone()));
        Some(Event::Authenticate { username, password })
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

fn find_crlf(b: &[u8]) -> Option<usize> {
    b.windows(2).position(|w| w == b"\r\n")
}

/// Parse `<path> [params]` (RFC 5321 §4.1.2): returns the address without
/// brackets and source route (`<@a,@b:user@host>` gives `user@host`,
/// Appendix C) and the parameter text. A quoted local part is kept as sent,
/// quotes included, so `"+44 (0)1223 123456"@fax…` reaches the handler
/// unchanged. Brackets are expected; a bare address is tolerated.
pub(crate) fn parse_path(text: &str) -> Result<(String, &str), &'static str> {
    let text = text.trim_start();
    let (inner, rest) = if let Some(after) = text.strip_prefix('<') {
        let mut in_quotes = false;
        let mut escaped = false;
        let mut close = None;
        for (i, c) in after.char_indices() {
            if escaped {
                escaped = false;
            } else if c == '\\' && in_quotes {
                escaped = true;
            } else if c == '"' {
                in_quotes = !in_quotes;
            } else if c == '>' && !in_quotes {
                close = Some(i);
                break;
            }
        }
        let close = close.ok_or("missing >")?;
        (&after[..close], &after[close + 1..])
    } else {
        let end = text.find([' ', '\t']).unwrap_or(text.len());
        (&text[..end], &text[end..])
    };
    if inner.len() + 2 > MAX_PATH {
        return Err("longer than 256 characters");
    }
    // Drop a source route: "@relay1,@relay2:" before the mailbox.
    let mailbox = if inner.starts_with('@') {
        inner
            .split_once(':')
            .map(|(_, m)| m)
            .ok_or("bad source route")?
    } else {
        inner
    };
    if mailbox.chars().any(|c| c.is_control()) {
        return Err("control characters");
    }
    if !mailbox.is_ascii() {
        return Err("non-ASCII characters (SMTPUTF8 is not supported)");
    }
    if mailbox.starts_with('@') || mailbox.ends_with('@') {
        return Err("empty local part or domain");
    }
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return Err("text after the address");
    }
    Ok((mailbox.to_string(), rest.trim()))
}

/// The `Received:` trace header (RFC 5321 §4.4) the listener prepends,
/// folded and ending in CRLF. `for` is given only for a single recipient,
/// so one recipient does not learn of the others (§7.2).
pub(crate) fn received_header(
    by_host: &str,
    helo: &str,
    peer: SocketAddr,
    protocol: &str,
    id: &str,
    recipients: &[String],
    date: SystemTime,
) -> String {
    let helo: String = helo
        .chars()
        .filter(|c| c.is_ascii_graphic() && !matches!(c, '(' | ')' | ';'))
        .collect();
    let helo = if helo.is_empty() {
        "unknown".to_string()
    } else {
        helo
    };
    let for_clause = match recipients {
        [one] => format!("\r\n\tfor <{one}>"),
        _ => String::new(),
    };
    format!(
        "Received: from {helo} ([{ip}])\r\n\tby {by_host} (faxbridge) with {protocol} id {id}{for_clause};\r\n\t{date}\r\n",
        ip = peer.ip(),
        date = rfc5322_date(date),
    )
}

/// `Wed, 25 Nov 2026 13:17:04 +0000` (RFC 5322 §3.3), in UTC.
pub(crate) fn rfc5322_date(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (y, mo, d, h, mi, s) = crate::clock::civil_from_unix(secs);
    // 1970-01-01 was a Thursday.
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let weekday = DAYS[secs.div_euclid(86_400).rem_euclid(7) as usize];
    let month = MONTHS[(mo as usize).clamp(1, 12) - 1];
    format!("{weekday}, {d:02} {month} {y:04} {h:02}:{mi:02}:{s:02} +0000")
}

/// The reply sent instead of the greeting when every connection slot is
/// taken (RFC 5321 §3.1 allows 421 at connection time).
pub(crate) fn busy_reply(hostname: &str) -> String {
    format!("421 4.3.2 {hostname} Too many connections, try again later\r\n")
}

/// The reply sent instead of the greeting when the client's address holds
/// its most connections already.
pub(crate) fn address_busy_reply(hostname: &str) -> String {
    format!("421 4.7.0 {hostname} Too many connections from your address, try again later\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD as B64;

    const PEER: &str = "192.0.2.10:40000";

    /// A session and a scripted handler: senders containing "bad" and
    /// recipients containing "nobody" are refused; the account is u / p.
    struct Harness {
        s: Session,
        delivered: Vec<(String, Vec<String>, Vec<u8>)>,
        asked: Vec<Event>,
        closed: bool,
    }

    impl Harness {
        fn new(cfg: ProtocolConfig) -> Harness {
            Harness {
                s: Session::new(cfg, PEER.parse().unwrap()),
                delivered: Vec::new(),
                asked: Vec::new(),
                closed: false,
            }
        }

        fn plain() -> Harness {
            Harness::new(ProtocolConfig::default())
        }

        /// Feed `input`, run until more input is needed, return the replies.
        fn talk(&mut self, input: impl AsRef<[u8]>) -> String {
            self.s.feed(input.as_ref());
            self.run()
        }

        fn run(&mut self) -> String {
            loop {
                let event = self.s.poll();
                self.asked.push(event.clone());
                match event {
                    Event::NeedInput => break,
                    Event::Close => {
                        self.closed = true;
                        break;
                    }
                    Event::StartTls => break,
                    Event::CheckSender { mail_from } => {
                        self.s.sender_checked(if mail_from.contains("bad") {
                            Err(Refusal::new(550, "5.7.1", "Sender not allowed", ""))
                        } else {
                            Ok(())
                        })
                    }
                    Event::CheckRecipient { recipient, .. } => {
                        self.s.recipient_checked(if recipient.contains("nobody") {
                            Err(Refusal::new(550, "5.1.1", "No such fax number", ""))
                        } else {
                            Ok(())
                        })
                    }
                    Event::Deliver {
                        mail_from,
                        recipients,
                        data,
                    } => {
                        let n = recipients.len();
                        self.delivered.push((mail_from, recipients, data));
                        self.s.message_done(Ok(n));
                    }
                    Event::Authenticate { username, password } => {
                        self.s
                            .auth_checked(username == "u" && password == b"p".to_vec());
                    }
                }
            }
            let out = String::from_utf8(self.s.take_output()).unwrap();
            assert_enhanced_codes(&out);
            out
        }
    }

    /// RFC 2034: every 2xx/4xx/5xx reply carries an enhanced status code,
    /// except the greeting and the EHLO/HELO reply.
    fn assert_enhanced_codes(out: &str) {
        let mut in_ehlo = false;
        for line in out.lines() {
            let class = line.as_bytes()[0];
            // A multi-line EHLO reply: "250-" lines and the "250 " after them.
            let ehlo_end = std::mem::replace(&mut in_ehlo, line.starts_with("250-"));
            if in_ehlo || ehlo_end || line.contains(" Hello ") || line.contains(" ESMTP ") {
                continue;
            }
            if matches!(class, b'2' | b'4' | b'5') {
                let code = line[4..].split(' ').next().unwrap();
                let parts: Vec<&str> = code.split('.').collect();
                assert!(
                    parts.len() == 3
                        && parts[0] == &line[..1]
                        && parts.iter().all(|p| p.parse::<u16>().is_ok()),
                    "no enhanced status code in {line:?}"
                );
            }
        }
    }

    fn codes(out: &str) -> Vec<&str> {
        out.lines().map(|l| &l[..3]).collect()
    }

    fn b64(s: &[u8]) -> String {
        B64.encode(s)
    }

    #[test]
    fn greeting_and_ehlo_list_the_extensions() {
        let mut h = Harness::plain();
        let out = h.talk("");
        assert_eq!(out, "220 localhost ESMTP faxbridge ready\r\n");
        let out = h.talk("EHLO relay.example.org\r\n");
        assert_eq!(
            out,
            "250-localhost Hello relay.example.org [192.0.2.10]\r\n\
             250-SIZE 26214400\r\n\
             250-8BITMIME\r\n\
             250-PIPELINING\r\n\
             250-ENHANCEDSTATUSCODES\r\n\
             250 HELP\r\n"
        );
        assert_eq!(h.s.protocol(), "ESMTP");
        assert_eq!(h.s.info().helo, "relay.example.org");
    }

    #[test]
    fn starttls_and_auth_are_offered_only_when_usable() {
        let cfg = ProtocolConfig {
            tls_available: true,
            auth_available: true,
            ..ProtocolConfig::default()
        };
        let mut h = Harness::new(cfg.clone());
        let out = h.talk("EHLO a\r\n");
        assert!(out.contains("250-STARTTLS\r\n"), "{out}");
        assert!(!out.contains("AUTH"), "{out}");
        let out = h.talk("STARTTLS\r\n");
        assert_eq!(out, "220 2.0.0 Ready to start TLS\r\n");
        h.s.tls_started();
        let out = h.talk("EHLO a\r\n");
        assert!(!out.contains("STARTTLS"), "{out}");
        assert!(out.contains("250-AUTH PLAIN LOGIN\r\n"), "{out}");
        assert_eq!(h.s.protocol(), "ESMTPS");

        // allow_plain_auth offers AUTH without TLS.
        let mut h = Harness::new(ProtocolConfig {
            allow_plain_auth: true,
            ..cfg
        });
        let out = h.talk("EHLO a\r\n");
        assert!(out.contains("250-AUTH PLAIN LOGIN\r\n"), "{out}");
    }

    #[test]
    fn a_message_to_two_recipients_arrives_unstuffed() {
        let mut h = Harness::plain();
        h.talk("EHLO a\r\n");
        assert_eq!(
            h.talk("MAIL FROM:<j.smith@example.org> BODY=8BITMIME SIZE=100\r\n"),
            "250 2.1.0 Sender OK\r\n"
        );
        assert_eq!(
            h.talk("RCPT TO:<01223123456@fax.example.org>\r\n"),
            "250 2.1.5 Recipient OK\r\n"
        );
        assert_eq!(
            h.talk("RCPT TO:<\"+44 (0)1223 654321\"@fax.example.org>\r\n"),
            "250 2.1.5 Recipient OK\r\n"
        );
        assert_eq!(
            h.talk("DATA\r\n"),
            "354 End data with <CR><LF>.<CR><LF>\r\n"
        );
        let out = h.talk("Subject: x\r\n\r\n..leading dot\r\n.\r\n");
        assert_eq!(out, "250 2.0.0 Message accepted: 2 fax jobs queued\r\n");
        let (from, rcpts, data) = &h.delivered[0];
        assert_eq!(from, "j.smith@example.org");
        assert_eq!(
            rcpts,
            &[
                "01223123456@fax.example.org".to_string(),
                "\"+44 (0)1223 654321\"@fax.example.org".to_string()
            ]
        );
        assert_eq!(data, b"Subject: x\r\n\r\n.leading dot\r\n");
        // The transaction is over: a new one needs MAIL again.
        assert!(h.talk("RCPT TO:<1@f.org>\r\n").starts_with("503 5.5.1"));
    }

    #[test]
    fn pipelined_commands_get_their_replies_in_order() {
        let mut h = Harness::plain();
        h.talk("");
        let out = h.talk(
            "EHLO a\r\nMAIL FROM:<>\r\nRCPT TO:<1@f.org>\r\nRCPT TO:<nobody@f.org>\r\n\
             DATA\r\nhello\r\n.\r\nQUIT\r\n",
        );
        assert_eq!(
            codes(&out),
            [
                "250", "250", "250", "250", "250", "250", "250", "250", "550", "354", "250", "221"
            ]
        );
        assert!(h.closed);
        assert_eq!(h.delivered.len(), 1);
        assert_eq!(h.delivered[0].0, "");
        assert_eq!(h.delivered[0].1, ["1@f.org"]);
        assert_eq!(h.delivered[0].2, b"hello\r\n");
    }

    #[test]
    fn the_message_may_arrive_in_any_pieces() {
        let message = b"A: b\r\n\r\n..\r\n...\r\nline\r\n.x\r\n";
        for split in 0..message.len() {
            let mut h = Harness::plain();
            h.talk("HELO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<1@f>\r\nDATA\r\n");
            h.talk(&message[..split]);
            h.talk(&message[split..]);
            assert!(h.delivered.is_empty());
            let out = h.talk(".\r\n");
            assert_eq!(codes(&out), ["250"], "split at {split}");
            assert_eq!(h.delivered[0].2, b"A: b\r\n\r\n.\r\n..\r\nline\r\nx\r\n");
        }
    }

    #[test]
    fn only_crlf_dot_crlf_ends_the_data() {
        let mut h = Harness::plain();
        h.talk("HELO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<1@f>\r\nDATA\r\n");
        // Bare LF dots do not end the message (SMTP smuggling): what
        // follows them is more data, not commands.
        let out = h.talk("x\n.\nMAIL FROM:<evil@x>\r\n.\r\r\n");
        assert_eq!(out, "");
        let out = h.talk(".\r\n");
        // ... and the lone dot next to a bare LF refuses the whole message.
        assert_eq!(
            out,
            "554 5.6.0 Message refused: a line holding only a dot ends in a bare LF or CR (an SMTP smuggling pattern); lines must end in CRLF (RFC 5321 section 2.3.8); nothing was sent\r\n"
        );
        assert!(h.delivered.is_empty());
        assert!(
            !h.asked
                .iter()
                .any(|e| matches!(e, Event::CheckSender { mail_from } if mail_from == "evil@x"))
        );
        assert!(h.s.info().helo == "a");
        assert_eq!(h.s.protocol(), "SMTP");
        // The session goes on.
        let out = h.talk("MAIL FROM:<a@b>\r\nRCPT TO:<1@f>\r\nDATA\r\nok\r\n.\r\n");
        assert_eq!(codes(&out), ["250", "250", "354", "250"]);
        assert_eq!(h.delivered[0].2, b"ok\r\n");
    }

    #[test]
    fn smuggling_patterns_never_end_the_data_and_the_message_is_refused() {
        for fake_end in ["\n.\n", "\r\n.\n", "\n.\r\n", "\r.\r\n", "\r\n.\r"] {
            let mut h = Harness::plain();
            h.talk("EHLO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<1@f>\r\nDATA\r\n");
            // Everything in one write, as a smuggling sender would.
            let out = h.talk(format!(
                "Subject: a\r\n\r\nfirst{fake_end}MAIL FROM:<evil@x>\r\nRCPT TO:<2@f>\r\nDATA\r\nsecond\r\n.\r\nNOOP\r\n"
            ));
            assert_eq!(codes(&out), ["554", "250"], "{fake_end:?}: {out}");
            assert!(h.delivered.is_empty(), "{fake_end:?}");
            assert_eq!(
                h.asked
                    .iter()
                    .filter(|e| matches!(e, Event::CheckSender { .. }))
                    .count(),
                1,
                "{fake_end:?}: no second transaction"
            );
        }
    }

    #[test]
    fn bare_lf_in_the_data_is_stored_as_crlf_in_any_pieces() {
        let body = b"Subject: a\n\nline\n..dot\nlast\r\n";
        for split in 0..body.len() {
            let mut h = Harness::plain();
            h.talk("EHLO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<1@f>\r\nDATA\r\n");
            h.talk(&body[..split]);
            h.talk(&body[split..]);
            let out = h.talk(".\r\n");
            assert_eq!(codes(&out), ["250"], "split at {split}: {out}");
            assert_eq!(
                h.delivered[0].2, b"Subject: a\r\n\r\nline\r\n.dot\r\nlast\r\n",
                "split at {split}"
            );
        }
    }

    #[test]
    fn bare_line_ends_and_nul_in_the_data_refuse_the_message_in_any_pieces() {
        for (body, reason) in [
            (&b"a\rb\r\n"[..], "bare CR"),
            (b"\r\r\n", "bare CR"),
            (b"a\n.\nb\r\n", "smuggling"),
            (b".\nb\r\n", "smuggling"),
            (b"a\n.\r\n", "smuggling"),
            (b"a\x00b\r\n", "NUL byte"),
            (b"..\x00\r\n", "NUL byte"),
        ] {
            for split in 0..body.len() {
                let mut h = Harness::plain();
                h.talk("EHLO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<1@f>\r\nDATA\r\n");
                h.talk(&body[..split]);
                h.talk(&body[split..]);
                let out = h.talk(".\r\n");
                assert!(
                    out.starts_with("554 5.6.0 Message refused: ") && out.contains(reason),
                    "{body:?} split at {split}: {out}"
                );
                assert!(h.delivered.is_empty());
                assert!(h.s.is_idle());
            }
        }
        // In a line too long to be kept in one piece, too.
        let mut h = Harness::plain();
        h.talk("EHLO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<1@f>\r\nDATA\r\n");
        h.talk(format!(
            "{}\r{}",
            "y".repeat(DATA_CHUNK),
            "z".repeat(DATA_CHUNK + 10)
        ));
        assert!(h.talk("\r\n.\r\n").starts_with("554 5.6.0"));
        // Over the size limit as well: the size is the reason given.
        let mut h = Harness::new(ProtocolConfig {
            max_message_bytes: 10,
            ..ProtocolConfig::default()
        });
        h.talk("EHLO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<1@f>\r\nDATA\r\n");
        assert!(
            h.talk("a\nbcdefghijklmnop\r\n.\r\n")
                .starts_with("552 5.3.4")
        );
        // 8-bit bytes are fine (8BITMIME).
        let mut h = Harness::plain();
        h.talk("EHLO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<1@f>\r\nDATA\r\n");
        let out = h.talk(b"Subject: K\xf6ln\r\n\r\n\xff\x80\r\n.\r\n");
        assert_eq!(codes(&out), ["250"]);
    }

    #[test]
    fn a_very_long_data_line_is_kept_whole() {
        let mut h = Harness::plain();
        h.talk("EHLO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<1@f>\r\nDATA\r\n");
        let long = "y".repeat(3 * DATA_CHUNK + 5);
        h.talk(format!(".{long}\r"));
        h.talk(format!("\n{long}\r\n.\r\n"));
        let expect = format!("{long}\r\n{long}\r\n");
        assert_eq!(h.delivered[0].2, expect.as_bytes());
    }

    #[test]
    fn declared_size_over_the_limit_is_refused_at_mail_from() {
        let mut h = Harness::new(ProtocolConfig {
            max_message_bytes: 1000,
            ..ProtocolConfig::default()
        });
        h.talk("EHLO a\r\n");
        let out = h.talk("MAIL FROM:<a@b> SIZE=1001\r\n");
        assert_eq!(
            out,
            "552 5.3.4 Message size exceeds fixed maximum message size (1000 bytes)\r\n"
        );
        assert_eq!(
            h.asked
                .iter()
                .filter(|e| matches!(e, Event::CheckSender { .. }))
                .count(),
            0
        );
        assert!(h.talk("MAIL FROM:<a@b> SIZE=1000\r\n").starts_with("250"));
        assert!(
            h.talk("RSET\r\nMAIL FROM:<a@b> SIZE=big\r\n")
                .ends_with("501 5.5.4 Syntax: SIZE=<number of octets>\r\n")
        );
    }

    #[test]
    fn data_over_the_limit_is_refused_after_the_dot_and_the_session_goes_on() {
        let mut h = Harness::new(ProtocolConfig {
            max_message_bytes: 100,
            ..ProtocolConfig::default()
        });
        h.talk("EHLO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<1@f>\r\nDATA\r\n");
        // 98 octets + CRLF = 100: exactly at the limit is fine.
        let out = h.talk(format!("{}\r\n.\r\n", "x".repeat(98)));
        assert_eq!(codes(&out), ["250"]);
        h.talk("MAIL FROM:<a@b>\r\nRCPT TO:<1@f>\r\nDATA\r\n");
        let out = h.talk(format!("{}\r\n", "x".repeat(60)));
        assert_eq!(out, "");
        let out = h.talk(format!("{}\r\n.\r\n", "x".repeat(60)));
        assert_eq!(
            out,
            "552 5.3.4 Message too big: more than 100 bytes; nothing was sent\r\n"
        );
        assert_eq!(h.delivered.len(), 1);
        // The next transaction works.
        let out = h.talk("MAIL FROM:<a@b>\r\nRCPT TO:<2@f>\r\nDATA\r\nshort\r\n.\r\n");
        assert_eq!(codes(&out), ["250", "250", "354", "250"]);
        assert_eq!(h.delivered[1].2, b"short\r\n");
    }

    #[test]
    fn too_many_recipients_get_452() {
        let mut h = Harness::new(ProtocolConfig {
            max_recipients: 2,
            ..ProtocolConfig::default()
        });
        let out = h.talk(
            "EHLO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<1@f>\r\nRCPT TO:<2@f>\r\nRCPT TO:<3@f>\r\n",
        );
        assert!(
            out.ends_with("452 4.5.3 Too many recipients (at most 2 per message)\r\n"),
            "{out}"
        );
        h.talk("DATA\r\nx\r\n.\r\n");
        assert_eq!(h.delivered[0].1, ["1@f", "2@f"]);
    }

    #[test]
    fn refusals_from_the_handler_become_the_reply() {
        let mut h = Harness::plain();
        h.talk("EHLO a\r\n");
        assert_eq!(
            h.talk("MAIL FROM:<bad@example.org>\r\n"),
            "550 5.7.1 Sender not allowed\r\n"
        );
        // No transaction was started.
        assert!(h.talk("RCPT TO:<1@f>\r\n").starts_with("503 5.5.1"));
        h.talk("MAIL FROM:<good@example.org>\r\n");
        assert_eq!(
            h.talk("RCPT TO:<nobody@f>\r\n"),
            "550 5.1.1 No such fax number\r\n"
        );
        // No valid recipient yet: DATA is refused (RFC 5321 §3.3).
        assert_eq!(h.talk("DATA\r\n"), "554 5.5.1 No valid recipients\r\n");
        h.talk("RCPT TO:<1@f>\r\n");
        assert_eq!(codes(&h.talk("DATA\r\nx\r\n.\r\n")), ["354", "250"]);
        assert_eq!(h.delivered[0].1, ["1@f"]);
    }

    #[test]
    fn a_refused_message_is_not_delivered_and_the_session_goes_on() {
        let mut h = Harness::plain();
        h.talk("EHLO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<1@f>\r\nDATA\r\nx\r\n.\r\n");
        // Drive one by hand with a refusal.
        h.s.feed(b"MAIL FROM:<a@b>\r\n");
        assert!(matches!(h.s.poll(), Event::CheckSender { .. }));
        h.s.sender_checked(Ok(()));
        h.s.feed(b"RCPT TO:<2@f>\r\n");
        assert!(matches!(h.s.poll(), Event::CheckRecipient { .. }));
        h.s.recipient_checked(Ok(()));
        h.s.feed(b"DATA\r\ncard 4111\r\n.\r\n");
        assert!(matches!(h.s.poll(), Event::Deliver { .. }));
        // Until the handler answers, nothing more happens.
        h.s.feed(b"NOOP\r\n");
        assert_eq!(h.s.poll(), Event::NeedInput);
        h.s.message_done(Err(Refusal::new(550, "5.7.1", "Card number found", "")));
        let out = h.run();
        assert!(
            out.ends_with("550 5.7.1 Card number found\r\n250 2.0.0 OK\r\n"),
            "{out}"
        );
    }

    #[test]
    fn sequence_errors_get_503() {
        let mut h = Harness::plain();
        assert_eq!(
            h.talk("MAIL FROM:<a@b>\r\n").lines().nth(1).unwrap(),
            "503 5.5.1 Send EHLO or HELO first"
        );
        assert_eq!(
            h.talk("RCPT TO:<1@f>\r\n"),
            "503 5.5.1 Send MAIL FROM first\r\n"
        );
        assert_eq!(h.talk("DATA\r\n"), "503 5.5.1 Send MAIL FROM first\r\n");
        h.talk("EHLO a\r\nMAIL FROM:<a@b>\r\n");
        assert!(
            h.talk("MAIL FROM:<a@b>\r\n")
                .starts_with("503 5.5.1 Sender already given")
        );
        // EHLO resets the transaction.
        h.talk("EHLO a\r\n");
        assert!(h.talk("RCPT TO:<1@f>\r\n").starts_with("503"));
    }

    #[test]
    fn syntax_errors_get_501_and_unknown_commands_500() {
        let mut h = Harness::new(ProtocolConfig {
            max_errors: 100,
            ..ProtocolConfig::default()
        });
        h.talk("EHLO a\r\n");
        for (cmd, reply) in [
            ("EHLO", "501 5.5.4 Syntax: EHLO <your host name>"),
            ("MAIL FROM <a@b>", "501 5.5.4 Syntax: MAIL FROM:<address>"),
            (
                "MAIL FROM:<a@b",
                "501 5.1.7 Bad sender address syntax: missing >",
            ),
            (
                "MAIL FROM:<ab>",
                "501 5.1.7 Bad sender address syntax: the address has no @domain",
            ),
            (
                "MAIL FROM:<a@b> FOO=1",
                "555 5.5.4 MAIL FROM parameter FOO not recognized",
            ),
            (
                "MAIL FROM:<a@b> BODY=BINARYMIME",
                "501 5.5.4 Syntax: BODY=7BIT or BODY=8BITMIME",
            ),
            (
                "MAIL FROM:<jö@b>",
                "500 5.5.2 Command contains bytes that are not printable ASCII",
            ),
            ("RSET now", "501 5.5.4 Syntax: RSET (no arguments)"),
            ("VRFY", "501 5.5.4 Syntax: VRFY <address>"),
            ("FOO bar", "500 5.5.1 Command unrecognized"),
            ("EXPN staff", "502 5.5.1 Command not implemented"),
            (
                "STARTTLS",
                "502 5.5.1 STARTTLS is not available (no certificate configured)",
            ),
            (
                "AUTH PLAIN",
                "502 5.5.1 AUTH is not available (no accounts configured)",
            ),
        ] {
            let out = h.talk(format!("{cmd}\r\n"));
            assert_eq!(out, format!("{reply}\r\n"), "{cmd}");
        }
        h.talk("MAIL FROM:<a@b>\r\n");
        assert_eq!(
            h.talk("RCPT TO:<>\r\n"),
            "501 5.1.3 Bad recipient address syntax: write <number@fax-domain>\r\n"
        );
        assert_eq!(
            h.talk("RCPT TO:<1@f> NOTIFY=NEVER\r\n"),
            "555 5.5.4 RCPT TO parameter NOTIFY=NEVER not recognized\r\n"
        );
        assert_eq!(
            h.talk("DATA now\r\n"),
            "501 5.5.4 Syntax: DATA (no arguments)\r\n"
        );
    }

    #[test]
    fn small_talk_commands() {
        let mut h = Harness::plain();
        h.talk("");
        let out = h.talk("noop\r\nVRFY someone\r\nHELP\r\nHELO a.b\r\nQUIT\r\n");
        assert_eq!(
            out,
            "250 2.0.0 OK\r\n\
             252 2.0.0 Cannot VRFY user, but will accept message for it\r\n\
             214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP STARTTLS AUTH\r\n\
             250 localhost Hello a.b [192.0.2.10]\r\n\
             221 2.0.0 localhost closing connection\r\n"
        );
        assert!(h.closed);
        // After close nothing more is read.
        h.s.feed(b"NOOP\r\n");
        assert_eq!(h.s.poll(), Event::Close);
    }

    #[test]
    fn overlong_lines_and_garbage_get_500_and_the_session_recovers() {
        let mut h = Harness::plain();
        h.talk("EHLO a\r\n");
        // A line that ends, but too late.
        let out = h.talk(format!("NOOP {}\r\n", "x".repeat(1000)));
        assert_eq!(out, "500 5.5.2 Line too long (more than 1000 octets)\r\n");
        // A line without an end yet: answered once the limit is passed,
        // and the rest of it is thrown away.
        let out = h.talk("y".repeat(1500));
        assert_eq!(out, "500 5.5.2 Line too long (more than 1000 octets)\r\n");
        assert_eq!(h.talk("y".repeat(5000)), "");
        assert_eq!(h.talk("yyy\r\nNOOP\r\n"), "250 2.0.0 OK\r\n");
        let out = h.talk(b"\x00\xff\xfe\x16\x03\x01\r\n");
        assert_eq!(
            out,
            "500 5.5.2 Command contains bytes that are not printable ASCII\r\n"
        );
        // 999 octets with the CRLF is still fine.
        let out = h.talk(format!("NOOP {}\r\n", "z".repeat(992)));
        assert_eq!(out, "250 2.0.0 OK\r\n");
        let out = h.talk("MAIL FROM:<a@b>\r\nRCPT TO:<1@f>\r\nDATA\r\nok\r\n.\r\n");
        assert_eq!(codes(&out), ["250", "250", "354", "250"]);
    }

    #[test]
    fn too_many_errors_close_the_session() {
        let mut h = Harness::new(ProtocolConfig {
            max_errors: 3,
            ..ProtocolConfig::default()
        });
        h.talk("");
        let out = h.talk("X\r\nY\r\nNOOP\r\nZ\r\nNOOP\r\n");
        assert_eq!(
            out,
            "500 5.5.1 Command unrecognized\r\n\
             500 5.5.1 Command unrecognized\r\n\
             250 2.0.0 OK\r\n\
             500 5.5.1 Command unrecognized\r\n\
             421 4.7.0 localhost Too many errors, closing connection\r\n"
        );
        assert!(h.closed);
    }

    #[test]
    fn starttls_discards_pipelined_plaintext_and_resets_the_session() {
        let mut h = Harness::new(ProtocolConfig {
            tls_available: true,
            ..ProtocolConfig::default()
        });
        h.talk("EHLO a\r\nMAIL FROM:<a@b>\r\n");
        // Commands injected behind STARTTLS must not run after the handshake.
        let out = h.talk("RSET\r\nSTARTTLS\r\nMAIL FROM:<injected@x>\r\n");
        assert_eq!(out, "250 2.0.0 OK\r\n220 2.0.0 Ready to start TLS\r\n");
        assert_eq!(h.asked.last(), Some(&Event::StartTls));
        h.s.tls_started();
        assert_eq!(h.run(), "");
        assert!(h.s.info().tls);
        assert_eq!(h.s.info().helo, "");
        // EHLO is needed again (RFC 3207 §4.2).
        assert!(
            h.talk("MAIL FROM:<a@b>\r\n")
                .starts_with("503 5.5.1 Send EHLO")
        );
        h.talk("EHLO a\r\n");
        assert!(
            h.talk("STARTTLS\r\n")
                .starts_with("503 5.5.1 TLS is already active")
        );
        assert!(h.talk("MAIL FROM:<a@b>\r\n").starts_with("250"));
    }

    #[test]
    fn require_tls_refuses_mail_until_starttls() {
        let mut h = Harness::new(ProtocolConfig {
            tls_available: true,
            require_tls: true,
            ..ProtocolConfig::default()
        });
        h.talk("EHLO a\r\n");
        assert_eq!(
            h.talk("MAIL FROM:<a@b>\r\n"),
            "530 5.7.0 Must issue a STARTTLS command first\r\n"
        );
        h.talk("STARTTLS\r\n");
        h.s.tls_started();
        h.talk("EHLO a\r\n");
        assert_eq!(h.talk("MAIL FROM:<a@b>\r\n"), "250 2.1.0 Sender OK\r\n");
    }

    fn tls_auth_session() -> Harness {
        let mut h = Harness::new(ProtocolConfig {
            tls_available: true,
            auth_available: true,
            ..ProtocolConfig::default()
        });
        h.talk("EHLO a\r\nSTARTTLS\r\n");
        h.s.tls_started();
        h.talk("EHLO a\r\n");
        h
    }

    #[test]
    fn auth_plain_with_initial_response() {
        let mut h = tls_auth_session();
        let out = h.talk(format!("AUTH PLAIN {}\r\n", b64(b"\0u\0wrong")));
        assert_eq!(out, "535 5.7.8 Authentication credentials invalid\r\n");
        assert_eq!(h.s.info().authenticated, None);
        let out = h.talk(format!("AUTH PLAIN {}\r\n", b64(b"\0u\0p")));
        assert_eq!(out, "235 2.7.0 Authentication successful\r\n");
        assert_eq!(h.s.info().authenticated.as_deref(), Some("u"));
        assert_eq!(h.s.protocol(), "ESMTPSA");
        assert!(
            h.talk("AUTH PLAIN\r\n")
                .starts_with("503 5.5.1 Already authenticated")
        );
        // EHLO no longer offers AUTH.
        assert!(!h.talk("EHLO a\r\n").contains("AUTH"));
    }

    #[test]
    fn auth_plain_and_login_with_challenges() {
        let mut h = tls_auth_session();
        assert_eq!(h.talk("AUTH PLAIN\r\n"), "334 \r\n");
        assert_eq!(
            h.talk(format!("{}\r\n", b64(b"u\0u\0p"))),
            "235 2.7.0 Authentication successful\r\n"
        );

        let mut h = tls_auth_session();
        assert_eq!(h.talk("AUTH LOGIN\r\n"), "334 VXNlcm5hbWU6\r\n");
        assert_eq!(h.talk(format!("{}\r\n", b64(b"u"))), "334 UGFzc3dvcmQ6\r\n");
        assert_eq!(
            h.talk(format!("{}\r\n", b64(b"p"))),
            "235 2.7.0 Authentication successful\r\n"
        );

        let mut h = tls_auth_session();
        assert_eq!(
            h.talk(format!("AUTH LOGIN {}\r\n", b64(b"u"))),
            "334 UGFzc3dvcmQ6\r\n"
        );
        assert_eq!(
            h.talk(format!("{}\r\n", b64(b"x"))),
            "535 5.7.8 Authentication credentials invalid\r\n"
        );
    }

    #[test]
    fn auth_errors() {
        let mut h = tls_auth_session();
        assert_eq!(
            h.talk("AUTH CRAM-MD5\r\n"),
            "504 5.5.4 Unrecognized authentication type (use PLAIN or LOGIN)\r\n"
        );
        h.talk("AUTH LOGIN\r\n");
        assert_eq!(h.talk("*\r\n"), "501 5.7.0 Authentication cancelled\r\n");
        assert_eq!(
            h.talk("AUTH PLAIN !!!\r\n"),
            "501 5.5.2 Cannot decode the response (not base64)\r\n"
        );
        assert_eq!(
            h.talk(format!("AUTH PLAIN {}\r\n", b64(b"other\0u\0p"))),
            "501 5.5.2 Malformed authentication response\r\n"
        );
        h.talk("MAIL FROM:<a@b>\r\n");
        assert!(
            h.talk("AUTH PLAIN\r\n")
                .starts_with("503 5.5.1 AUTH is not allowed during")
        );

        // Without TLS the password would travel in clear (RFC 4954 §6).
        let mut h = Harness::new(ProtocolConfig {
            tls_available: true,
            auth_available: true,
            ..ProtocolConfig::default()
        });
        h.talk("EHLO a\r\n");
        let out = h.talk(format!("AUTH PLAIN {}\r\n", b64(b"\0u\0p")));
        assert!(out.starts_with("538 5.7.11 Encryption required"), "{out}");
        assert!(
            !h.asked
                .iter()
                .any(|e| matches!(e, Event::Authenticate { .. }))
        );
    }

    #[test]
    fn timeouts_and_shutdown_say_421() {
        let mut h = Harness::plain();
        h.talk("EHLO a\r\n");
        h.s.timed_out();
        assert_eq!(
            h.run(),
            "421 4.4.2 localhost Timeout: nothing received for too long, closing connection\r\n"
        );
        assert!(h.closed);

        let mut h = Harness::plain();
        h.talk("EHLO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<1@f>\r\nDATA\r\n");
        assert!(!h.s.is_idle());
        assert_eq!(h.s.waiting(), Waiting::Data);
        h.talk("x\r\n.\r\n");
        assert!(h.s.is_idle());
        assert_eq!(h.s.waiting(), Waiting::Command);
        h.s.shutting_down();
        assert_eq!(
            h.run(),
            "421 4.3.2 localhost Service shutting down, try again later\r\n"
        );
    }

    #[test]
    fn repeated_sender_refusals_close_a_strangers_session() {
        let mut h = Harness::plain();
        h.talk("EHLO a\r\n");
        let out = h.talk("MAIL FROM:<bad1@b>\r\nMAIL FROM:<bad2@b>\r\n");
        assert_eq!(codes(&out), ["550", "550"]);
        assert!(!h.closed);
        // The third refusal is answered, then the session ends; anything
        // pipelined behind it is not read.
        let out = h.talk("MAIL FROM:<bad3@b>\r\nMAIL FROM:<a@b>\r\n");
        assert_eq!(
            out,
            "550 5.7.1 Sender not allowed\r\n\
             421 4.7.0 localhost Too many refused senders, closing connection\r\n"
        );
        assert!(h.closed);
        assert!(!h.s.is_proven());

        // A trusted relay sends for many people: never closed for this.
        let mut h = Harness::plain();
        h.s.set_trusted();
        assert!(h.s.is_proven());
        h.talk("EHLO relay\r\n");
        for i in 0..10 {
            let out = h.talk(format!("MAIL FROM:<bad{i}@b>\r\n"));
            assert_eq!(codes(&out), ["550"], "{i}");
        }
        assert!(!h.closed);
        assert_eq!(codes(&h.talk("MAIL FROM:<a@b>\r\n")), ["250"]);

        // The limit is configurable; refusals count across transactions.
        let mut h = Harness::new(ProtocolConfig {
            max_sender_refusals: 1,
            ..ProtocolConfig::default()
        });
        h.talk("EHLO a\r\n");
        let out = h.talk("MAIL FROM:<bad@b>\r\n");
        assert_eq!(codes(&out), ["550", "421"]);
        assert!(h.closed);
    }

    #[test]
    fn a_session_is_proven_by_an_accepted_sender_or_a_login() {
        let mut h = Harness::plain();
        h.talk("EHLO a\r\nNOOP\r\nMAIL FROM:<bad@b>\r\n");
        assert!(!h.s.is_proven(), "talk and refused senders prove nothing");
        h.talk("MAIL FROM:<a@b>\r\n");
        assert!(h.s.is_proven());
        // ... and stays so for the connection.
        h.talk("RSET\r\nMAIL FROM:<bad@b>\r\n");
        assert!(h.s.is_proven());

        let mut h = tls_auth_session();
        h.talk(format!("AUTH PLAIN {}\r\n", b64(b"\0u\0wrong")));
        assert!(!h.s.is_proven());
        h.talk(format!("AUTH PLAIN {}\r\n", b64(b"\0u\0p")));
        assert!(h.s.is_proven());
    }

    #[test]
    fn a_locked_out_address_gets_454_without_a_password_check() {
        let mut h = tls_auth_session();
        h.s.feed(format!("AUTH PLAIN {}\r\n", b64(b"\0u\0p")).as_bytes());
        assert!(matches!(h.s.poll(), Event::Authenticate { .. }));
        h.s.auth_locked(std::time::Duration::from_secs(61));
        assert_eq!(
            h.run(),
            "454 4.7.0 Too many failed logins from your address; try again in 61 seconds\r\n"
        );
        assert_eq!(h.s.info().authenticated, None);
        h.s.feed(format!("AUTH PLAIN {}\r\n", b64(b"\0u\0p")).as_bytes());
        assert!(matches!(h.s.poll(), Event::Authenticate { .. }));
        h.s.auth_locked(std::time::Duration::from_secs(14 * 60 + 1));
        assert_eq!(
            h.run(),
            "454 4.7.0 Too many failed logins from your address; try again in 15 minutes\r\n"
        );
        // Outside an AUTH exchange it does nothing.
        h.s.auth_locked(std::time::Duration::from_secs(1));
        assert_eq!(h.run(), "");
        // Lockout replies count as errors, so a client that keeps trying
        // is eventually disconnected.
        let mut h = Harness::new(ProtocolConfig {
            tls_available: true,
            auth_available: true,
            max_errors: 2,
            ..ProtocolConfig::default()
        });
        h.talk("EHLO a\r\nSTARTTLS\r\n");
        h.s.tls_started();
        h.talk("EHLO a\r\n");
        for _ in 0..2 {
            h.s.feed(format!("AUTH PLAIN {}\r\n", b64(b"\0u\0p")).as_bytes());
            assert!(matches!(h.s.poll(), Event::Authenticate { .. }));
            h.s.auth_locked(std::time::Duration::from_secs(30));
        }
        assert!(
            h.run()
                .ends_with("421 4.7.0 localhost Too many errors, closing connection\r\n")
        );
        assert!(h.closed);
    }

    #[test]
    fn an_unproven_client_that_dawdles_is_closed() {
        let mut h = Harness::plain();
        h.talk("EHLO a\r\n");
        h.s.unproven_timed_out();
        assert_eq!(
            h.run(),
            "421 4.4.2 localhost Timeout: no login or accepted sender in time, closing connection\r\n"
        );
        assert!(h.closed);
    }

    #[test]
    fn paths_parse_as_rfc_5321_writes_them() {
        assert_eq!(parse_path("<a@b>"), Ok(("a@b".into(), "")));
        assert_eq!(
            parse_path(" <a@b>  SIZE=10 "),
            Ok(("a@b".into(), "SIZE=10"))
        );
        assert_eq!(parse_path("<>"), Ok(("".into(), "")));
        assert_eq!(parse_path("<@r1,@r2:a@b>"), Ok(("a@b".into(), "")));
        assert_eq!(
            parse_path("<\"x > y\\\" z\"@b> BODY=7BIT"),
            Ok(("\"x > y\\\" z\"@b".into(), "BODY=7BIT"))
        );
        assert_eq!(parse_path("a@b SIZE=1"), Ok(("a@b".into(), "SIZE=1")));
        assert_eq!(parse_path("<postmaster>"), Ok(("postmaster".into(), "")));
        assert!(parse_path("<a@b").is_err());
        assert!(parse_path("<a@b>x").is_err());
        assert!(parse_path("<@b>").is_err());
        assert!(parse_path("<@r1:>").is_ok_and(|(a, _)| a.is_empty()));
        assert!(parse_path(&format!("<{}@b>", "a".repeat(300))).is_err());
    }

    #[test]
    fn the_received_header_traces_the_hop() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_795_612_624);
        assert_eq!(rfc5322_date(t), "Wed, 25 Nov 2026 13:17:04 +0000");
        assert_eq!(
            rfc5322_date(SystemTime::UNIX_EPOCH),
            "Thu, 01 Jan 1970 00:00:00 +0000"
        );
        let h = received_header(
            "fax.example.org",
            "relay(x);",
            PEER.parse().unwrap(),
            "ESMTPS",
            "ABC.1",
            &["1@f".into()],
            t,
        );
        assert_eq!(
            h,
            "Received: from relayx ([192.0.2.10])\r\n\
             \tby fax.example.org (faxbridge) with ESMTPS id ABC.1\r\n\
             \tfor <1@f>;\r\n\
             \tWed, 25 Nov 2026 13:17:04 +0000\r\n"
        );
        let h = received_header(
            "h",
            "",
            PEER.parse().unwrap(),
            "SMTP",
            "1",
            &["1@f".into(), "2@f".into()],
            t,
        );
        assert!(
            h.starts_with(
                "Received: from unknown ([192.0.2.10])\r\n\tby h (faxbridge) with SMTP id 1;\r\n"
            ),
            "{h}"
        );
    }
}
