//! Screening of raw SIP messages before the stack sees them.
//!
//! RFC 3261 §8.2 and §18.3 ask a UAS to answer a malformed request with
//! `400 Bad Request` when it can, and §18.3 singles out a datagram whose
//! `Content-Length` is larger than what arrived. The SIP stack drops such
//! messages silently, so a peer with a bug would only see timeouts. This
//! module reads the raw bytes, decides, and when a response can be routed
//! (the request carried a `Via`) writes the 400 itself. Responses and
//! anything without a `Via` are dropped: there is nobody to tell.
//!
//! It also decides when an INVITE inside a dialog comes too early
//! ([`invite_must_wait`]): RFC 3261 §14.2 answers such an INVITE `500` with
//! a random `Retry-After` of 0–10 s ([`retry_after_secs`]) and leaves the
//! dialog as it was.

use rsipstack::dialog::dialog::DialogState;
use rsipstack::sip::{
    Method, Request, SipMessage,
    prelude::{HeadersExt, ToTypedHeader},
};

/// What to do with one received datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screening {
    /// Hand it to the stack.
    Pass,
    /// Discard it; nothing can be answered.
    Drop(&'static str),
    /// Answer with these bytes (a 400) and discard the request.
    Reject {
        /// The encoded `400 Bad Request`.
        response: Vec<u8>,
        /// What was wrong.
        reason: &'static str,
    },
}

/// Checks a parsed request for what every request must carry (RFC 3261 §8.1.1).
pub fn validate_request(req: &Request) -> Result<(), &'static str> {
    let via = req.via_header().map_err(|_| "missing Via")?;
    via.typed().map_err(|_| "unreadable Via")?;
    req.from_header().map_err(|_| "missing From")?;
    req.to_header().map_err(|_| "missing To")?;
    req.call_id_header().map_err(|_| "missing Call-ID")?;
    let cseq = req.cseq_header().map_err(|_| "missing CSeq")?;
    cseq.seq().map_err(|_| "unreadable CSeq number")?;
    let method = cseq.method().map_err(|_| "unreadable CSeq method")?;
    // §8.2.2.1 is silent on a CSeq method that differs from the request's,
    // but §20.16 requires them to match; a mismatch cannot be matched to a
    // transaction.
    if method != req.method && !(req.method == Method::Ack && method == Method::Invite) {
        return Err("CSeq method differs from the request method");
    }
    Ok(())
}

/// One header line of the raw message, after unfolding.
struct RawHeader<'a> {
    name: &'a str,
    line: String,
}

fn canonical_name(name: &str) -> String {
    let n = name.trim().to_ascii_lowercase();
    match n.as_str() {
        "v" => "via".into(),
        "f" => "from".into(),
        "t" => "to".into(),
        "i" => "call-id".into(),
        "l" => "content-length".into(),
        _ => n,
    }
}

fn raw_headers(head: &str) -> Vec<RawHeader<'_>> {
    let mut out: Vec<RawHeader<'_>> = Vec::new();
    for line in head.split("\r\n").skip(1) {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.line.push(' ');
                last.line.push_str(line.trim());
            }
            continue;
        }
        if let Some((name, _)) = line.split_once(':') {
            out.push(RawHeader {
                name,
                line: line.to_string(),
            });
        }
    }
    out
}

/// Builds a `400 Bad Request` from the raw request's Via, From, To, Call-ID
/// and CSeq lines; `None` without a Via (the response could not be routed).
/// `to_tag` is added to To when it has none (§8.2.6.2).
pub fn bad_request(raw: &[u8], reason: &str, to_tag: &str) -> Option<Vec<u8>> {
    let text = String::from_utf8_lossy(raw);
    let head = match text.find("\r\n\r\n") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    let headers = raw_headers(head);
    let mut out = String::from("SIP/2.0 400 Bad Request\r\n");
    let mut vias = 0;
    for h in headers.iter().filter(|h| canonical_name(h.name) == "via") {
        out.push_str(&h.line);
        out.push_str("\r\n");
        vias += 1;
    }
    if vias == 0 {
        return None;
    }
    for wanted in ["from", "to", "call-id", "cseq"] {
        if let Some(h) = headers.iter().find(|h| canonical_name(h.name) == wanted) {
            out.push_str(&h.line);
            if wanted == "to" && !h.line.to_ascii_lowercase().contains(";tag=") {
                out.push_str(";tag=");
                out.push_str(to_tag);
            }
            out.push_str("\r\n");
        }
    }
    let reason: String = reason.chars().filter(|c| *c != '"' && *c != '\\').collect();
    out.push_str(&format!("Warning: 399 faxbridge \"{reason}\"\r\n"));
    out.push_str("Content-Length: 0\r\n\r\n");
    Some(out.into_bytes())
}

/// A header value with the linear white space RFC 3261 §7.3.1 allows
/// around `;`, `=` and (with `slashes`, for Via's sent-protocol) `/`
/// taken out, outside quoted strings: `<sip:a@b> ;  tag = 9` becomes
/// `<sip:a@b>;tag=9`, and `SIP  /   2.0 /UDP` becomes `SIP/2.0/UDP`. The
/// SIP stack reads only the compact form; the meaning is the same (RFC 4475
/// §3.1.1.1). `None` when there is nothing to change.
pub fn compact_lws(value: &str, slashes: bool) -> Option<String> {
    let separator = |c: char| c == ';' || c == '=' || (slashes && c == '/');
    let mut out = String::with_capacity(value.len());
    let mut quoted = false;
    let mut escaped = false;
    let mut chars = value.trim().chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => quoted = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                quoted = true;
                out.push(c);
            }
            ' ' | '\t' => {
                // Drop white space before a separator, or after one.
                while chars.peek().is_some_and(|n| *n == ' ' || *n == '\t') {
                    chars.next();
                }
                let before = chars.peek().is_some_and(|n| separator(*n));
                let after = out.chars().last().is_some_and(separator);
                if !before && !after {
                    out.push(' ');
                }
            }
            _ => out.push(c),
        }
    }
    (out != value).then_some(out)
}

/// Whether every quoted string in a header value ends (RFC 3261 §25.1:
/// `"` … `"` with `\` escapes). An unterminated one makes the rest of the
/// header unreadable (RFC 4475 §3.1.2.5).
pub fn quotes_balanced(value: &str) -> bool {
    let (mut quoted, mut escaped) = (false, false);
    for c in value.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            _ => {}
        }
    }
    !quoted
}

/// Puts the From, To, Via, Contact and CSeq values of a parsed request in
/// the compact form the stack reads ([`compact_lws`]); and says what makes
/// the request unreadable though it parsed: an unterminated quoted string
/// or two different Content-Length values (a stream transport framed the
/// message by one of them).
pub fn tidy_request(req: &mut Request) -> Result<(), &'static str> {
    use rsipstack::sip::Header;
    let mut lengths = Vec::new();
    for h in req.headers.iter_mut() {
        let tidied = match h {
            Header::From(v) => {
                if !quotes_balanced(v.value()) {
                    return Err("unterminated quoted string in From");
                }
                compact_lws(v.value(), false).map(|t| Header::From(t.into()))
            }
            Header::To(v) => {
                if !quotes_balanced(v.value()) {
                    return Err("unterminated quoted string in To");
                }
                compact_lws(v.value(), false).map(|t| Header::To(t.into()))
            }
            Header::Contact(v) => {
                if !quotes_balanced(v.value()) {
                    return Err("unterminated quoted string in Contact");
                }
                compact_lws(v.value(), false).map(|t| Header::Contact(t.into()))
            }
            Header::Via(v) => compact_lws(v.value(), true).map(|t| Header::Via(t.into())),
            Header::ContentLength(v) => {
                lengths.push(v.value().trim().to_string());
                None
            }
            _ => None,
        };
        if let Some(t) = tidied {
            *h = t;
        }
    }
    if lengths.windows(2).any(|w| w[0] != w[1]) {
        return Err("two different Content-Length values");
    }
    Ok(())
}

/// Problems of the raw request line and headers that the SIP stack reads
/// past (RFC 4475 §3.1.2.6–3.1.2.11): a Request-URI in `<>`, extra or
/// trailing white space in the request line, two Content-Length values, an
/// unterminated quoted string in From, To or Contact.
fn raw_syntax_problem(head: &str) -> Option<&'static str> {
    let request_line = head.split("\r\n").next().unwrap_or("");
    if !request_line.starts_with("SIP/") {
        let parts: Vec<&str> = request_line.split(' ').collect();
        if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
            return Some("request line is not METHOD SP Request-URI SP SIP-Version");
        }
        if parts[1].starts_with('<') {
            return Some("Request-URI enclosed in <>");
        }
    }
    let headers = raw_headers(head);
    let mut lengths = headers
        .iter()
        .filter(|h| canonical_name(h.name) == "content-length")
        .map(|h| h.line.split_once(':').map(|(_, v)| v.trim()).unwrap_or(""));
    if let Some(first) = lengths.next()
        && lengths.any(|other| other != first)
    {
        return Some("two different Content-Length values");
    }
    let unbalanced = headers.iter().any(|h| {
        matches!(
            canonical_name(h.name).as_str(),
            "from" | "to" | "contact" | "m"
        ) && !quotes_balanced(h.line.split_once(':').map(|(_, v)| v).unwrap_or(""))
    });
    unbalanced.then_some("unterminated quoted string in From, To or Contact")
}

/// Screens one UDP datagram (see the module docs).
pub fn screen_datagram(raw: &[u8], to_tag: &str) -> Screening {
    if raw.iter().all(u8::is_ascii_whitespace) {
        // CRLF keep-alives (RFC 5626 §3.5.1) are the stack's business.
        return Screening::Pass;
    }
    let is_response = raw.starts_with(b"SIP/");
    let reject = |reason: &'static str| match (is_response, bad_request(raw, reason, to_tag)) {
        (false, Some(response)) => Screening::Reject { response, reason },
        _ => Screening::Drop(reason),
    };
    let Some(sep) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return reject("no blank line after the headers");
    };
    let body_len = raw.len() - (sep + 4);
    if let Some(reason) = raw_syntax_problem(&String::from_utf8_lossy(&raw[..sep])) {
        return reject(reason);
    }
    let msg = match SipMessage::try_from(raw) {
        Ok(m) => m,
        Err(_) => return reject("unparseable message"),
    };
    let SipMessage::Request(req) = msg else {
        return Screening::Pass;
    };
    let head = String::from_utf8_lossy(&raw[..sep]);
    if let Some(h) = raw_headers(&head)
        .into_iter()
        .find(|h| canonical_name(h.name) == "content-length")
    {
        let value = h.line.split_once(':').map(|(_, v)| v.trim()).unwrap_or("");
        match value.parse::<usize>() {
            Err(_) => return reject("unreadable Content-Length"),
            // RFC 3261 §18.3: a datagram shorter than its Content-Length
            // gets a 400.
            Ok(n) if n > body_len => return reject("Content-Length larger than the body"),
            Ok(_) => {}
        }
    }
    match validate_request(&req) {
        Ok(()) => Screening::Pass,
        Err(reason) => reject(reason),
    }
}

/// What to do with the next piece of a SIP byte stream (TCP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamPiece {
    /// Hand these bytes to the stack: a message that passed the screening,
    /// with the keep-alive CRLFs that came before it, or a keep-alive alone.
    Forward(Vec<u8>),
    /// Answer with these bytes (a 400) on the connection; the message is
    /// not handed on.
    Reject {
        /// The encoded `400 Bad Request`.
        response: Vec<u8>,
        /// What was wrong.
        reason: &'static str,
    },
    /// The message is not handed on and nothing can be answered (a
    /// response, or a request without a `Via`).
    Drop(&'static str),
    /// The framing broke: the next message boundary cannot be found (RFC
    /// 3261 §18.3), so the connection must close.
    Close(&'static str),
}

/// Frames a SIP byte stream into messages by `Content-Length` and screens
/// each one as [`screen_datagram`] screens a datagram, so that a stream
/// peer gets the same answers as a datagram peer. Sans-IO: bytes go in
/// with [`StreamScreen::push`], decisions come out of
/// [`StreamScreen::next_piece`].
#[derive(Debug, Default)]
pub struct StreamScreen {
    buf: Vec<u8>,
    closed: bool,
}

impl StreamScreen {
    /// An empty screen.
    pub fn new() -> StreamScreen {
        StreamScreen::default()
    }

    /// Bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        if !self.closed {
            self.buf.extend_from_slice(bytes);
        }
    }

    /// Bytes held that are not a whole message yet.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// The next decision, or `None` when more bytes are needed. After
    /// [`StreamPiece::Close`] nothing more comes out.
    pub fn next_piece(&mut self, to_tag: &str) -> Option<StreamPiece> {
        use super::limits::framing::{Framing, frame};
        if self.closed || self.buf.is_empty() {
            return None;
        }
        // A keep-alive (RFC 5626 §3.5.1) goes on as soon as it is whole,
        // whatever follows it, as the stack reads it.
        if self.buf.starts_with(b"\r\n\r\n") {
            return Some(StreamPiece::Forward(self.buf.drain(..4).collect()));
        }
        let start = self
            .buf
            .iter()
            .position(|&b| b != b'\r' && b != b'\n')
            .unwrap_or(self.buf.len());
        if start == self.buf.len() {
            // Only line ends, fewer than a keep-alive: wait for what
            // follows them.
            return None;
        }
        match frame(&self.buf) {
            Framing::Incomplete => None,
            Framing::Invalid(why) => {
                self.closed = true;
                self.buf = Vec::new();
                Some(StreamPiece::Close(why))
            }
            Framing::Complete(end) => {
                let piece = match screen_datagram(&self.buf[start..end], to_tag) {
                    Screening::Pass => StreamPiece::Forward(self.buf[..end].to_vec()),
                    Screening::Reject { response, reason } => {
                        StreamPiece::Reject { response, reason }
                    }
                    Screening::Drop(reason) => StreamPiece::Drop(reason),
                };
                self.buf.drain(..end);
                Some(piece)
            }
        }
    }
}

/// Whether an INVITE arriving in a dialog in `state` must be refused with
/// `500` and `Retry-After` (RFC 3261 §14.2): the previous INVITE of the far
/// end has no final response yet, or its 2xx has not been acknowledged
/// (the ACK completes the offer/answer exchange and may carry the answer,
/// so a new offer would overlap it). `server` is whether we answered the
/// dialog's initial INVITE; only then can that INVITE still be pending.
///
/// An INVITE that collides with a re-INVITE *we* sent is glare, answered
/// `491` by the call task, and not decided here: sending does not change
/// the dialog's state.
pub fn invite_must_wait(state: &DialogState, server: bool) -> bool {
    match state {
        // Our 2xx to their INVITE or re-INVITE awaits its ACK, or their
        // re-INVITE (or UPDATE) is still being answered.
        DialogState::WaitAck(..) | DialogState::Updated(..) => true,
        // Their initial INVITE has no final response yet.
        DialogState::Calling(_) | DialogState::Trying(_) | DialogState::Early(..) => server,
        _ => false,
    }
}

/// The `Retry-After` seconds for a `500` to an INVITE that came too early:
/// uniformly 0–10 from `random` (RFC 3261 §14.2 asks for a random value in
/// that range so that both ends do not retry in step).
pub fn retry_after_secs(random: u32) -> u32 {
    random % 11
}

/// The user part of a SIP URI in a From/To value:
/// `"Lab" <sip:01223123456@host>;tag=x` → `01223123456`.
pub fn uri_user(value: &str) -> Option<String> {
    let uri = match (value.find('<'), value.find('>')) {
        (Some(a), Some(b)) if a < b => &value[a + 1..b],
        _ => value.split(';').next().unwrap_or(value),
    };
    let rest = uri
        .trim()
        .strip_prefix("sips:")
        .or_else(|| uri.trim().strip_prefix("sip:"))
        .or_else(|| uri.trim().strip_prefix("tel:"))?;
    let user = match rest.find('@') {
        Some(at) => &rest[..at],
        None if uri.trim().starts_with("tel:") => rest.split(';').next().unwrap_or(rest),
        None => return None,
    };
    let user = user.split(';').next().unwrap_or(user);
    (!user.is_empty()).then(|| user.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn white_space_around_separators_is_taken_out_outside_quotes() {
        let cases: &[(&str, bool, Option<&str>)] = &[
            ("<sip:a@b>;tag=9", false, None),
            (
                " sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n",
                false,
                Some("sip:vivekg@chair-dnrc.example.com;tag=1918181833n"),
            ),
            (
                "\"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com> ; tag = 98asjd8",
                false,
                Some("\"J Rosenberg \\\\\\\"\" <sip:jdrosen@example.com>;tag=98asjd8"),
            ),
            ("\"a ; b = c\" <sip:x@y>", false, None),
            (
                "token1 token2 <sip:m@example.com> ;p=1",
                false,
                Some("token1 token2 <sip:m@example.com>;p=1"),
            ),
            (
                "SIP  /   2.0 /UDP 192.0.2.2;rport;branch=z9hG4bK1",
                true,
                Some("SIP/2.0/UDP 192.0.2.2;rport;branch=z9hG4bK1"),
            ),
            (
                "SIP/2.0/UDP 192.0.2.2 ; branch = z9hG4bK1",
                true,
                Some("SIP/2.0/UDP 192.0.2.2;branch=z9hG4bK1"),
            ),
        ];
        for (value, slashes, want) in cases {
            assert_eq!(compact_lws(value, *slashes).as_deref(), *want, "{value:?}");
        }
    }

    #[test]
    fn quoted_strings_must_end() {
        assert!(quotes_balanced("\"Mr. J. User\" <sip:j@example.com>"));
        assert!(quotes_balanced("\"a \\\" b\" <sip:j@example.com>"));
        assert!(quotes_balanced("<sip:j@example.com>"));
        assert!(!quotes_balanced("\"Mr. J. User <sip:j.user@example.com>"));
        assert!(!quotes_balanced(
            "\"ends in an escape\\\" <sip:j@example.com>"
        ));
    }

    #[test]
    fn raw_request_lines_and_headers_the_stack_reads_past_are_refused() {
        let head = |first: &str, extra: &str| {
            format!(
                "{first}\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nTo: <sip:u@h>\r\nFrom: <sip:c@h>;tag=1{extra}"
            )
        };
        assert_eq!(
            raw_syntax_problem(&head("OPTIONS sip:u@h SIP/2.0", "")),
            None
        );
        assert_eq!(raw_syntax_problem(&head("SIP/2.0 100 ", "")), None);
        for bad in [
            "OPTIONS  sip:u@h  SIP/2.0",
            "OPTIONS sip:u@h SIP/2.0 ",
            "OPTIONS <sip:u@h> SIP/2.0",
        ] {
            assert!(raw_syntax_problem(&head(bad, "")).is_some(), "{bad:?}");
        }
        assert!(
            raw_syntax_problem(&head(
                "OPTIONS sip:u@h SIP/2.0",
                "\r\nContent-Length: 13\r\nl: 5"
            ))
            .is_some()
        );
        assert_eq!(
            raw_syntax_problem(&head(
                "OPTIONS sip:u@h SIP/2.0",
                "\r\nContent-Length: 0\r\nl: 0"
            )),
            None
        );
        assert!(
            raw_syntax_problem(&head(
                "OPTIONS sip:u@h SIP/2.0",
                "\r\nContact: \"open <sip:c@h>"
            ))
            .is_some()
        );
    }

    #[test]
    fn caller_number_from_from_header() {
        assert_eq!(
            super::uri_user("\"Lab\" <sip:01223123456@10.0.0.5>;tag=abc").as_deref(),
            Some("01223123456")
        );
        assert_eq!(
            super::uri_user("sip:+441223123456@trunk.example;user=phone").as_deref(),
            Some("+441223123456")
        );
        assert_eq!(
            super::uri_user("<sip:100;phone-context=x@h>").as_deref(),
            Some("100")
        );
        assert_eq!(
            super::uri_user("<tel:+441223123456>").as_deref(),
            Some("+441223123456")
        );
        assert_eq!(uri_user("<sip:host.example>"), None);
        assert_eq!(uri_user("garbage"), None);
        // Forms ATAs send in From.
        let user = |v: &str| uri_user(v).unwrap_or_default();
        assert_eq!(user("sip:2001@10.1.2.3"), "2001");
        assert_eq!(user("\"Fax\" <sip:2001@10.1.2.3:5060>;tag=abc"), "2001");
        assert_eq!(
            user("<sips:+441223123456@trunk;user=phone>"),
            "+441223123456"
        );
        assert_eq!(user("sip:10.1.2.3"), "");
        assert_eq!(user("tel:+441223123456;phone-context=x"), "+441223123456");
    }

    fn dialog_id() -> rsipstack::dialog::DialogId {
        rsipstack::dialog::DialogId {
            call_id: "c@faxbridge".into(),
            local_tag: "a".into(),
            remote_tag: "b".into(),
        }
    }

    #[test]
    fn invite_before_the_ack_must_wait() {
        let id = dialog_id();
        let response = rsipstack::sip::Response::default();
        let waiting = DialogState::WaitAck(id.clone(), response.clone());
        assert!(invite_must_wait(&waiting, true));
        assert!(invite_must_wait(&waiting, false));
        let (handle, _rx) = rsipstack::dialog::dialog::TransactionHandle::new();
        let request = Request::try_from(
            "INVITE sip:2000@127.0.0.1 SIP/2.0\r\nCSeq: 2 INVITE\r\nContent-Length: 0\r\n\r\n",
        )
        .expect("a request");
        let reinvite = DialogState::Updated(id.clone(), request, handle);
        assert!(invite_must_wait(&reinvite, true));
        assert!(invite_must_wait(&reinvite, false));
        for early in [
            DialogState::Calling(id.clone()),
            DialogState::Trying(id.clone()),
            DialogState::Early(id.clone(), response.clone()),
        ] {
            assert!(invite_must_wait(&early, true), "{early}");
            assert!(!invite_must_wait(&early, false), "{early}");
        }
        let confirmed = DialogState::Confirmed(id.clone(), response);
        assert!(!invite_must_wait(&confirmed, true));
        assert!(!invite_must_wait(&confirmed, false));
        let ended =
            DialogState::Terminated(id, rsipstack::dialog::dialog::TerminatedReason::UacBye);
        assert!(!invite_must_wait(&ended, true));
    }

    #[test]
    fn retry_after_spans_zero_to_ten_seconds() {
        let seen: std::collections::BTreeSet<u32> = (0..1000).map(retry_after_secs).collect();
        assert_eq!(seen, (0..=10).collect());
        assert_eq!(retry_after_secs(u32::MAX), u32::MAX % 11);
    }

    const GOOD: &str = "OPTIONS sip:fax@127.0.0.1 SIP/2.0\r\n\
        Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1;rport\r\n\
        Max-Forwards: 70\r\n\
        From: <sip:a@127.0.0.1>;tag=aa\r\n\
        To: <sip:fax@127.0.0.1>\r\n\
        Call-ID: c1@test\r\n\
        CSeq: 1 OPTIONS\r\n\
        Content-Length: 0\r\n\r\n";

    fn reject_reason(s: Screening) -> &'static str {
        match s {
            Screening::Reject { reason, response } => {
                let text = String::from_utf8(response).unwrap();
                assert!(text.starts_with("SIP/2.0 400 Bad Request\r\n"), "{text}");
                assert!(text.contains("branch=z9hG4bK-1"), "Via copied: {text}");
                assert!(text.ends_with("Content-Length: 0\r\n\r\n"));
                reason
            }
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    #[test]
    fn good_request_passes() {
        assert_eq!(screen_datagram(GOOD.as_bytes(), "t"), Screening::Pass);
        assert_eq!(screen_datagram(b"\r\n\r\n", "t"), Screening::Pass);
    }

    #[test]
    fn missing_cseq_gets_400_with_to_tag() {
        let raw = GOOD.replace("CSeq: 1 OPTIONS\r\n", "");
        let s = screen_datagram(raw.as_bytes(), "tag9");
        if let Screening::Reject { response, .. } = &s {
            let text = String::from_utf8_lossy(response);
            assert!(
                text.contains("To: <sip:fax@127.0.0.1>;tag=tag9\r\n"),
                "{text}"
            );
            assert!(text.contains("Call-ID: c1@test\r\n"));
        }
        assert_eq!(reject_reason(s), "missing CSeq");
    }

    #[test]
    fn missing_via_is_dropped() {
        let raw = GOOD.replace(
            "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1;rport\r\n",
            "",
        );
        assert!(matches!(
            screen_datagram(raw.as_bytes(), "t"),
            Screening::Drop(_)
        ));
    }

    #[test]
    fn content_length_checks() {
        let long = GOOD.replace("Content-Length: 0", "Content-Length: 500");
        assert_eq!(
            reject_reason(screen_datagram(long.as_bytes(), "t")),
            "Content-Length larger than the body"
        );
        let bad = GOOD.replace("Content-Length: 0", "Content-Length: lots");
        assert_eq!(
            reject_reason(screen_datagram(bad.as_bytes(), "t")),
            "unreadable Content-Length"
        );
        // Shorter Content-Length than the body: the rest is ignored (§18.3).
        let short = GOOD.replace(
            "Content-Length: 0\r\n\r\n",
            "Content-Length: 2\r\n\r\nabcdef",
        );
        assert_eq!(screen_datagram(short.as_bytes(), "t"), Screening::Pass);
        // Compact form.
        let compact = GOOD.replace("Content-Length: 0", "l: 99");
        assert_eq!(
            reject_reason(screen_datagram(compact.as_bytes(), "t")),
            "Content-Length larger than the body"
        );
    }

    #[test]
    fn cseq_method_mismatch() {
        let raw = GOOD.replace("CSeq: 1 OPTIONS", "CSeq: 1 INVITE");
        assert_eq!(
            reject_reason(screen_datagram(raw.as_bytes(), "t")),
            "CSeq method differs from the request method"
        );
    }

    #[test]
    fn garbage_is_dropped_and_broken_request_line_answered() {
        assert!(matches!(
            screen_datagram(b"\x00\x01hello world", "t"),
            Screening::Drop(_)
        ));
        let broken = GOOD.replace("OPTIONS sip:fax@127.0.0.1 SIP/2.0", "OPTIONS");
        assert!(matches!(
            screen_datagram(broken.as_bytes(), "t"),
            Screening::Reject { .. }
        ));
        // A garbled response is never answered.
        assert!(matches!(
            screen_datagram(b"SIP/2.0 abc\r\nVia: SIP/2.0/UDP x\r\n\r\n", "t"),
            Screening::Drop(_)
        ));
    }

    #[test]
    fn folded_and_compact_headers_are_copied() {
        let raw = "INVITE sip:1@h SIP/2.0\r\nv: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKx\r\n\
                   f: <sip:a@h>\r\n ;tag=1\r\nt: <sip:1@h>\r\ni: x\r\n\r\n";
        let out = String::from_utf8(bad_request(raw.as_bytes(), "r", "T").unwrap()).unwrap();
        assert!(
            out.contains("v: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKx\r\n"),
            "{out}"
        );
        assert!(out.contains("f: <sip:a@h> ;tag=1\r\n"), "{out}");
        assert!(out.contains("t: <sip:1@h>;tag=T\r\n"), "{out}");
        assert!(out.contains("Warning: 399 faxbridge \"r\"\r\n"));
    }

    /// Feeds `chunks` one after the other and collects every decision.
    fn stream_pieces(chunks: &[&[u8]]) -> Vec<StreamPiece> {
        let mut screen = StreamScreen::new();
        let mut out = Vec::new();
        for chunk in chunks {
            screen.push(chunk);
            while let Some(p) = screen.next_piece("T") {
                out.push(p);
            }
        }
        out
    }

    #[test]
    fn a_stream_is_framed_and_screened_message_by_message() {
        let good = GOOD.as_bytes();
        let trailing_space = GOOD.replace("SIP/2.0\r\nVia", "SIP/2.0 \r\nVia");
        let no_via = GOOD.replace(
            "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1;rport\r\n",
            "",
        );
        let with_body = GOOD.replace("Content-Length: 0", "Content-Length: 4") + "abcd";
        let two = [good, good].concat();
        let crlf_first = [b"\r\n".as_slice(), good].concat();
        let bad_length = GOOD.replace("Content-Length: 0", "Content-Length: x");
        let kinds = |pieces: &[StreamPiece]| -> Vec<String> {
            pieces
                .iter()
                .map(|p| match p {
                    StreamPiece::Forward(b) if b == good => "good".to_string(),
                    StreamPiece::Forward(b) => format!("forward {}", b.len()),
                    StreamPiece::Reject { reason, .. } => format!("400 {reason}"),
                    StreamPiece::Drop(r) => format!("drop {r}"),
                    StreamPiece::Close(r) => format!("close {r}"),
                })
                .collect()
        };
        // (name, reads, decisions)
        type Case<'a> = (&'a str, Vec<&'a [u8]>, Vec<String>);
        let cases: Vec<Case> = vec![
            ("one message", vec![good], vec!["good".into()]),
            (
                "two in one read",
                vec![&two],
                vec!["good".into(), "good".into()],
            ),
            (
                "byte by byte halves",
                vec![&good[..10], &good[10..40], &good[40..]],
                vec!["good".into()],
            ),
            (
                "a body framed by Content-Length",
                vec![with_body.as_bytes(), good],
                vec![format!("forward {}", with_body.len()), "good".into()],
            ),
            (
                "keep-alive alone, then a message",
                vec![b"\r\n\r\n", good],
                vec!["forward 4".into(), "good".into()],
            ),
            (
                "keep-alive cut in two",
                vec![b"\r\n", b"\r\n"],
                vec!["forward 4".into()],
            ),
            (
                "line ends before a message go with it",
                vec![&crlf_first],
                vec![format!("forward {}", good.len() + 2)],
            ),
            (
                "a bad request between good ones is answered and skipped",
                vec![good, trailing_space.as_bytes(), good],
                vec![
                    "good".into(),
                    "400 request line is not METHOD SP Request-URI SP SIP-Version".into(),
                    "good".into(),
                ],
            ),
            (
                "no Via: nothing to answer",
                vec![no_via.as_bytes(), good],
                vec!["drop missing Via".into(), "good".into()],
            ),
            (
                "binary junk closes",
                vec![b"\x16\x03\x01\x00\xa5\r\n", good],
                vec!["close the start line is not text".into()],
            ),
            (
                "an unreadable Content-Length closes",
                vec![bad_length.as_bytes()],
                vec!["close unreadable Content-Length".into()],
            ),
            ("incomplete waits", vec![&good[..good.len() - 1]], vec![]),
        ];
        for (name, chunks, want) in cases {
            assert_eq!(kinds(&stream_pieces(&chunks)), want, "{name}");
        }
    }
}
