//! SDP (RFC 8866, formerly RFC 4566): the session descriptions carried in
//! SIP INVITEs, and the RFC 3264 offer/answer that picks G.711 audio or T.38
//! fax for a call.
//!
//! [`SessionDescription`] is a typed but lossless model: every line that is
//! read is kept, in order, so a description parsed and written again is
//! byte-for-byte the same when it was written in the RFC's line order with
//! CRLF endings. Typed views ([`MediaDescription::rtpmap`],
//! [`MediaDescription::t38_params`], [`SessionDescription::direction`]) are
//! computed from the stored lines rather than kept beside them, so the two can
//! never disagree.
//!
//! * [`t38`] reads and writes the ITU-T T.38 Annex D `T38Fax*` attributes.
//! * [`negotiate`] answers offers, builds our offers, processes answers and
//!   keeps the origin version for re-INVITEs.
//!
//! Parsing never panics: malformed input yields an [`SdpError`] naming the
//! line and what is wrong, which the SIP layer turns into a 400 or 488 via
//! [`SdpError::sip_status`].

pub mod negotiate;
pub mod t38;

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

pub use negotiate::{
    Answer, AudioCaps, Codec, LocalMediaCaps, LocalSession, Negotiated, NegotiatedAudio,
    NegotiatedT38, OfferKind, RemoteChange, T38Caps, answer, classify_remote, offer,
    process_answer,
};
pub use t38::{RateManagement, T38Params, UdpEc};

/// What is wrong with a session description or an offer/answer exchange.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    /// A line that does not follow the SDP grammar.
    #[error("SDP line {line}: {reason}")]
    Syntax {
        /// 1-based line number.
        line: usize,
        /// What is wrong, quoting the offending text.
        reason: String,
    },
    /// A mandatory line is absent.
    #[error("SDP has no {0}; a session description needs v=, o= and s= before the first m=")]
    Missing(&'static str),
    /// An attribute whose value cannot be understood.
    #[error("SDP attribute a={name}:{value} is invalid: {reason}")]
    Attribute {
        /// Attribute name as received.
        name: String,
        /// Value as received.
        value: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// Nothing in the offer can be accepted (SIP 488 Not Acceptable Here).
    #[error("no acceptable media in the offer: {0}")]
    NotAcceptable(String),
    /// The answer does not fit the offer we sent (RFC 3264 §6 violated).
    #[error("SDP answer does not match our offer: {0}")]
    AnswerMismatch(String),
}

impl SdpError {
    /// The SIP response code for an offer that failed this way: 400 for an
    /// SDP body that cannot be read, 488 for one that can be read but not
    /// accepted.
    pub fn sip_status(&self) -> u16 {
        match self {
            SdpError::Syntax { .. } | SdpError::Missing(_) => 400,
            SdpError::Attribute { .. }
            | SdpError::NotAcceptable(_)
            | SdpError::AnswerMismatch(_) => 488,
        }
    }

    fn syntax(line: usize, reason: impl Into<String>) -> Self {
        SdpError::Syntax {
            line,
            reason: reason.into(),
        }
    }
}

/// The `o=` line: who made the session and which revision this is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// User name, `-` when there is none.
    pub username: String,
    /// Session id: stays the same for the whole session. Kept as text since
    /// some equipment sends more digits than fit 64 bits.
    pub session_id: String,
    /// Session version: must grow with every changed offer (RFC 3264 §8).
    pub session_version: u64,
    /// Network type, `IN`.
    pub net_type: String,
    /// Address type, `IP4` or `IP6`.
    pub addr_type: String,
    /// Address or host name of the originator.
    pub address: String,
}

/// A `c=` line: where media is sent to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// Network type, `IN`.
    pub net_type: String,
    /// Address type, `IP4` or `IP6`.
    pub addr_type: String,
    /// Address as written, possibly a host name and possibly with a
    /// multicast `/ttl` suffix.
    pub address: String,
}

impl Connection {
    /// A unicast `IN IP4` / `IN IP6` connection for an IP address.
    pub fn for_ip(ip: IpAddr) -> Self {
        Self {
            net_type: "IN".into(),
            addr_type: if ip.is_ipv4() { "IP4" } else { "IP6" }.into(),
            address: ip.to_string(),
        }
    }

    /// The host part of the address, without a multicast `/ttl` suffix.
    pub fn host(&self) -> &str {
        self.address.split('/').next().unwrap_or("")
    }

    /// The address as an IP address, if it is one (not a host name).
    pub fn ip(&self) -> Option<IpAddr> {
        self.host().parse().ok()
    }
}

/// An `a=` line: `name` or `name:value`, kept exactly as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Attribute name, case as received.
    pub name: String,
    /// Value after the first `:`, if any.
    pub value: Option<String>,
}

impl Attribute {
    /// A property attribute (no value), e.g. `a=sendrecv`.
    pub fn flag(name: &str) -> Self {
        Self {
            name: name.into(),
            value: None,
        }
    }

    /// A value attribute, e.g. `a=ptime:20`.
    pub fn value(name: &str, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: Some(value.into()),
        }
    }

    /// Whether the name matches, ignoring ASCII case (T.38 equipment is
    /// inconsistent about the case of `T38Fax*` names).
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
}

/// Media direction attributes (RFC 3264 §5.1, §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Both ways; the default when no direction attribute is present.
    SendRecv,
    /// The describing side only sends (the other side puts it on hold).
    SendOnly,
    /// The describing side only receives.
    RecvOnly,
    /// No media either way.
    Inactive,
}

impl Direction {
    /// The attribute name.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// The direction seen from the other side: an offer of `sendonly` is
    /// answered with `recvonly` and the reverse (RFC 3264 §6.1).
    pub fn reversed(self) -> Self {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            d => d,
        }
    }

    /// Whether the describing side sends media.
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// Whether the describing side receives media.
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    fn from_attribute(a: &Attribute) -> Option<Self> {
        if a.value.is_some() {
            return None;
        }
        [
            Direction::SendRecv,
            Direction::SendOnly,
            Direction::RecvOnly,
            Direction::Inactive,
        ]
        .into_iter()
        .find(|d| a.is(d.as_str()))
    }
}

/// An `a=rtpmap` entry: payload type to encoding name and clock rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    /// Payload type number.
    pub payload_type: u8,
    /// Encoding name, case as received (compare ignoring case).
    pub encoding: String,
    /// Clock rate in Hz.
    pub clock_rate: u32,
    /// Channel count for audio, if given.
    pub channels: Option<u32>,
}

/// One media description: the `m=` line and the lines after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    /// Media type: `audio`, `image`, `video`, …
    pub media: String,
    /// Transport port; 0 marks a rejected or disabled stream.
    pub port: u16,
    /// The `/<number of ports>` suffix, if present.
    pub port_count: Option<u16>,
    /// Transport protocol: `RTP/AVP`, `udptl`, …
    pub proto: String,
    /// Formats: payload type numbers for RTP, `t38` for UDPTL.
    pub formats: Vec<String>,
    /// Media-level `c=` line.
    pub connection: Option<Connection>,
    /// Media-level `a=` lines in order.
    pub attributes: Vec<Attribute>,
    /// Other media-level lines (`i=`, `b=`, `k=`, unknown letters), in order.
    pub other: Vec<(char, String)>,
}

impl MediaDescription {
    /// A media description with no lines after `m=`.
    pub fn new(media: &str, port: u16, proto: &str, formats: Vec<String>) -> Self {
        Self {
            media: media.into(),
            port,
            port_count: None,
            proto: proto.into(),
            formats,
            connection: None,
            attributes: Vec::new(),
            other: Vec::new(),
        }
    }

    /// The first attribute with this name (ignoring case).
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.is(name))
    }

    /// Whether this is RTP audio (`m=audio … RTP/AVP`).
    pub fn is_rtp_audio(&self) -> bool {
        self.media.eq_ignore_ascii_case("audio") && self.proto.eq_ignore_ascii_case("RTP/AVP")
    }

    /// Whether this is T.38 over UDPTL (`m=image … udptl t38`).
    pub fn is_udptl_t38(&self) -> bool {
        self.media.eq_ignore_ascii_case("image")
            && self.proto.eq_ignore_ascii_case("udptl")
            && self.formats.iter().any(|f| f.eq_ignore_ascii_case("t38"))
    }

    /// The `a=rtpmap` for a payload type, or the RFC 3551 static mapping
    /// for PCMU (0) and PCMA (8) when the offer left it out.
    pub fn rtpmap(&self, payload_type: u8) -> Option<RtpMap> {
        for a in self.attributes.iter().filter(|a| a.is("rtpmap")) {
            let Some(value) = &a.value else { continue };
            let mut parts = value.trim().splitn(2, char::is_whitespace);
            let pt = parts.next().and_then(|p| p.parse::<u8>().ok());
            if pt != Some(payload_type) {
                continue;
            }
            let mut enc = parts.next().unwrap_or("").trim().split('/');
            let encoding = enc.next().unwrap_or("").to_string();
            let clock_rate = enc.next().and_then(|c| c.trim().parse().ok())?;
            let channels = enc.next().and_then(|c| c.trim().parse().ok());
            return Some(RtpMap {
                payload_type,
                encoding,
                clock_rate,
                channels,
            });
        }
        let encoding = match payload_type {
            0 => "PCMU",
            8 => "PCMA",
            _ => return None,
        };
        Some(RtpMap {
            payload_type,
            encoding: encoding.into(),
            clock_rate: 8000,
            channels: None,
        })
    }

    /// The `a=fmtp` parameters for a payload type.
    pub fn fmtp(&self, payload_type: u8) -> Option<&str> {
        self.attributes
            .iter()
            .filter(|a| a.is("fmtp"))
            .filter_map(|a| a.value.as_deref())
            .find_map(|v| {
                let v = v.trim_start();
                let (pt, rest) = v.split_once(char::is_whitespace).unwrap_or((v, ""));
                (pt.parse::<u8>().ok() == Some(payload_type)).then(|| rest.trim())
            })
    }

    /// The `a=ptime` packetisation time in milliseconds, if present and valid.
    pub fn ptime(&self) -> Option<u32> {
        self.attribute("ptime")?
            .value
            .as_deref()?
            .trim()
            .parse()
            .ok()
    }

    /// The direction attribute at media level, if any.
    pub fn direction_attribute(&self) -> Option<Direction> {
        self.attributes.iter().find_map(Direction::from_attribute)
    }

    /// The T.38 parameters from the `T38Fax*` attributes (ITU-T T.38 Annex D).
    pub fn t38_params(&self) -> Result<T38Params, SdpError> {
        T38Params::from_attributes(&self.attributes)
    }
}

/// A whole session description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    /// The `o=` line.
    pub origin: Origin,
    /// The `s=` line (may be empty or `-`).
    pub session_name: String,
    /// Session-level `c=` line, used by media without their own.
    pub connection: Option<Connection>,
    /// Session-level `a=` lines in order.
    pub attributes: Vec<Attribute>,
    /// Other session-level lines (`i= u= e= p= b= t= r= z= k=`, unknown
    /// letters), in order. Written in RFC order by letter; `t=0 0` is added
    /// when there is no `t=` line.
    pub other: Vec<(char, String)>,
    /// Media descriptions in order; positions matter for offer/answer.
    pub media: Vec<MediaDescription>,
}

impl SessionDescription {
    /// The connection that applies to media `index`: its own `c=` or the
    /// session-level one.
    pub fn connection_for(&self, index: usize) -> Option<&Connection> {
        self.media
            .get(index)
            .and_then(|m| m.connection.as_ref())
            .or(self.connection.as_ref())
    }

    /// The effective direction of media `index`: its own attribute, else the
    /// session-level one, else `sendrecv` (RFC 8866 §6.7).
    pub fn direction(&self, index: usize) -> Direction {
        self.media
            .get(index)
            .and_then(MediaDescription::direction_attribute)
            .or_else(|| self.attributes.iter().find_map(Direction::from_attribute))
            .unwrap_or(Direction::SendRecv)
    }

    /// Whether two descriptions describe the same session content, ignoring
    /// the origin line (used to tell a refresh from a change).
    pub fn same_content(&self, other: &SessionDescription) -> bool {
        self.session_name == other.session_name
            && self.connection == other.connection
            && self.attributes == other.attributes
            && self.other == other.other
            && self.media == other.media
    }
}

/// Position of a letter in the session-level line order of RFC 8866 §5.
fn session_rank(letter: char) -> u8 {
    match letter {
        'i' | 'u' | 'e' | 'p' => 0,
        // c= comes here
        'b' => 1,
        't' | 'r' | 'z' => 2,
        _ => 3, // k= and unknown letters, before a=
    }
}

impl fmt::Display for SessionDescription {
    /// Writes the description with CRLF line endings, as SIP requires.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.origin;
        write!(f, "v=0\r\n")?;
        write!(
            f,
            "o={} {} {} {} {} {}\r\n",
            o.username, o.session_id, o.session_version, o.net_type, o.addr_type, o.address
        )?;
        write!(f, "s={}\r\n", self.session_name)?;
        let rank = |r: u8| {
            self.other
                .iter()
                .filter(move |(l, _)| session_rank(*l) == r)
        };
        for (l, v) in rank(0) {
            write!(f, "{l}={v}\r\n")?;
        }
        if let Some(c) = &self.connection {
            write_connection(f, c)?;
        }
        for (l, v) in rank(1) {
            write!(f, "{l}={v}\r\n")?;
        }
        if rank(2).all(|(l, _)| *l != 't') {
            write!(f, "t=0 0\r\n")?;
        }
        for (l, v) in rank(2).chain(rank(3)) {
            write!(f, "{l}={v}\r\n")?;
        }
        for a in &self.attributes {
            write_attribute(f, a)?;
        }
        for m in &self.media {
            write!(f, "m={} {}", m.media, m.port)?;
            if let Some(n) = m.port_count {
                write!(f, "/{n}")?;
            }
            write!(f, " {}", m.proto)?;
            for fmt_ in &m.formats {
                write!(f, " {fmt_}")?;
            }
            write!(f, "\r\n")?;
            for (l, v) in m.other.iter().filter(|(l, _)| *l == 'i') {
                write!(f, "{l}={v}\r\n")?;
            }
            if let Some(c) = &m.connection {
                write_connection(f, c)?;
            }
            for (l, v) in m.other.iter().filter(|(l, _)| *l != 'i') {
                write!(f, "{l}={v}\r\n")?;
            }
            for a in &m.attributes {
                write_attribute(f, a)?;
            }
        }
        Ok(())
    }
}

fn write_connection(f: &mut fmt::Formatter<'_>, c: &Connection) -> fmt::Result {
    write!(f, "c={} {} {}\r\n", c.net_type, c.addr_type, c.address)
}

fn write_attribute(f: &mut fmt::Formatter<'_>, a: &Attribute) -> fmt::Result {
    match &a.value {
        Some(v) => write!(f, "a={}:{}\r\n", a.name, v),
        None => write!(f, "a={}\r\n", a.name),
    }
}

impl FromStr for SessionDescription {
    type Err = SdpError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s)
    }
}

/// Parse a session description. Lines may end in CRLF or bare LF; blank
/// lines are skipped. Mandatory lines and the grammar of `v= o= s= c= m= a=`
/// are checked; unknown line types are kept.
pub fn parse(text: &str) -> Result<SessionDescription, SdpError> {
    let mut saw_version = false;
    let mut origin = None;
    let mut session_name = None;
    let mut connection = None;
    let mut attributes = Vec::new();
    let mut other = Vec::new();
    let mut media: Vec<MediaDescription> = Vec::new();

    for (index, raw) in text.split('\n').enumerate() {
        let line_no = index + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            continue;
        }
        let mut chars = line.chars();
        let (Some(letter), Some('=')) = (chars.next(), chars.next()) else {
            return Err(SdpError::syntax(
                line_no,
                format!("expected `<letter>=<value>`, found `{}`", shorten(line)),
            ));
        };
        if !letter.is_ascii_lowercase() {
            return Err(SdpError::syntax(
                line_no,
                format!("line type `{letter}` is not a lower-case letter"),
            ));
        }
        let value = &line[2..];
        if !saw_version {
            if letter != 'v' {
                return Err(SdpError::syntax(
                    line_no,
                    format!("the first line must be `v=0`, found `{}`", shorten(line)),
                ));
            }
            if value.trim() != "0" {
                return Err(SdpError::syntax(
                    line_no,
                    format!("SDP version `{}` is not 0", shorten(value)),
                ));
            }
            saw_version = true;
            continue;
        }
        if let Some(m) = media.last_mut() {
            match letter {
                'm' => media.push(parse_media(line_no, value)?),
                'c' => {
                    if m.connection.is_some() {
                        return Err(SdpError::syntax(
                            line_no,
                            "second `c=` in one media description",
                        ));
                    }
                    m.connection = Some(parse_connection(line_no, value)?);
                }
                'a' => m.attributes.push(parse_attribute(line_no, value)?),
                'i' | 'b' | 'k' => m.other.push((letter, value.to_string())),
                'v' | 'o' | 's' | 'u' | 'e' | 'p' | 't' | 'r' | 'z' => {
                    return Err(SdpError::syntax(
                        line_no,
                        format!("`{letter}=` belongs to the session level, not after an `m=` line"),
                    ));
                }
                // RFC 8866 §5: unknown types are ignored; keep them.
                _ => m.other.push((letter, value.to_string())),
            }
            continue;
        }
        match letter {
            'v' => return Err(SdpError::syntax(line_no, "second `v=` line")),
            'o' => {
                if origin.is_some() {
                    return Err(SdpError::syntax(line_no, "second `o=` line"));
                }
                origin = Some(parse_origin(line_no, value)?);
            }
            's' => {
                if session_name.is_some() {
                    return Err(SdpError::syntax(line_no, "second `s=` line"));
                }
                session_name = Some(value.to_string());
            }
            'c' => {
                if connection.is_some() {
                    return Err(SdpError::syntax(line_no, "second session-level `c=` line"));
                }
                connection = Some(parse_connection(line_no, value)?);
            }
            'a' => attributes.push(parse_attribute(line_no, value)?),
            'm' => {
                if origin.is_none() {
                    return Err(SdpError::Missing("o= line"));
                }
                if session_name.is_none() {
                    return Err(SdpError::Missing("s= line"));
                }
                media.push(parse_media(line_no, value)?);
            }
            _ => other.push((letter, value.to_string())),
        }
    }
    if !saw_version {
        return Err(SdpError::Missing("v= line"));
    }
    let origin = origin.ok_or(SdpError::Missing("o= line"))?;
    let session_name = session_name.ok_or(SdpError::Missing("s= line"))?;
    let sdp = SessionDescription {
        origin,
        session_name,
        connection,
        attributes,
        other,
        media,
    };
    for (i, m) in sdp.media.iter().enumerate() {
        if m.port != 0 && sdp.connection_for(i).is_none() {
            return Err(SdpError::NotAcceptable(format!(
                "media {} (`m={} {}`) has no c= line and there is no session-level c=",
                i + 1,
                m.media,
                m.port
            )));
        }
    }
    Ok(sdp)
}

/// Quote at most 60 characters of offending input in error messages.
fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(60).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

fn parse_origin(line: usize, value: &str) -> Result<Origin, SdpError> {
    let f: Vec<&str> = value.split_whitespace().collect();
    let [username, session_id, version, net_type, addr_type, address] = f[..] else {
        return Err(SdpError::syntax(
            line,
            format!(
                "`o=` needs 6 fields (username sess-id sess-version nettype addrtype address), found {}",
                f.len()
            ),
        ));
    };
    if session_id.is_empty() || !session_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SdpError::syntax(
            line,
            format!("`o=` session id `{}` is not a number", shorten(session_id)),
        ));
    }
    let session_version = version.parse::<u64>().map_err(|_| {
        SdpError::syntax(
            line,
            format!(
                "`o=` session version `{}` is not a number below 2^64",
                shorten(version)
            ),
        )
    })?;
    Ok(Origin {
        username: username.into(),
        session_id: session_id.into(),
        session_version,
        net_type: net_type.into(),
        addr_type: addr_type.into(),
        address: address.into(),
    })
}

fn parse_connection(line: usize, value: &str) -> Result<Connection, SdpError> {
    let f: Vec<&str> = value.split_whitespace().collect();
    let [net_type, addr_type, address] = f[..] else {
        return Err(SdpError::syntax(
            line,
            format!(
                "`c=` needs `IN IP4|IP6 <address>`, found `{}`",
                shorten(value)
            ),
        ));
    };
    if !net_type.eq_ignore_ascii_case("IN") {
        return Err(SdpError::syntax(
            line,
            format!("`c=` network type `{}` is not IN", shorten(net_type)),
        ));
    }
    let ip_ok = |want_v4: bool| {
        let host = address.split('/').next().unwrap_or("");
        match host.parse::<IpAddr>() {
            Ok(ip) => ip.is_ipv4() == want_v4,
            Err(_) => !host.is_empty() && !host.contains(|c: char| c.is_ascii_whitespace()),
        }
    };
    let valid = match addr_type.to_ascii_uppercase().as_str() {
        "IP4" => ip_ok(true),
        "IP6" => ip_ok(false),
        _ => {
            return Err(SdpError::syntax(
                line,
                format!(
                    "`c=` address type `{}` is not IP4 or IP6",
                    shorten(addr_type)
                ),
            ));
        }
    };
    if !valid {
        return Err(SdpError::syntax(
            line,
            format!(
                "`c=` address `{}` does not match {addr_type}",
                shorten(address)
            ),
        ));
    }
    Ok(Connection {
        net_type: net_type.into(),
        addr_type: addr_type.into(),
        address: address.into(),
    })
}

fn parse_media(line: usize, value: &str) -> Result<MediaDescription, SdpError> {
    let mut f = value.split_whitespace();
    let (Some(media), Some(port_field), Some(proto)) = (f.next(), f.next(), f.next()) else {
        return Err(SdpError::syntax(
            line,
            format!(
                "`m=` needs `<media> <port> <proto> <fmt>…`, found `{}`",
                shorten(value)
            ),
        ));
    };
    let (port, count) = match port_field.split_once('/') {
        Some((p, n)) => (p, Some(n)),
        None => (port_field, None),
    };
    let port = port.parse::<u16>().map_err(|_| {
        SdpError::syntax(
            line,
            format!("`m=` port `{}` is not 0..=65535", shorten(port_field)),
        )
    })?;
    let port_count = count
        .map(|n| {
            n.parse::<u16>().map_err(|_| {
                SdpError::syntax(
                    line,
                    format!("`m=` port count `{}` is not a number", shorten(n)),
                )
            })
        })
        .transpose()?;
    Ok(MediaDescription {
        media: media.into(),
        port,
        port_count,
        proto: proto.into(),
        formats: f.map(String::from).collect(),
        connection: None,
        attributes: Vec::new(),
        other: Vec::new(),
    })
}

fn parse_attribute(line: usize, value: &str) -> Result<Attribute, SdpError> {
    let (name, value) = match value.split_once(':') {
        Some((n, v)) => (n, Some(v.to_string())),
        None => (value, None),
    };
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(SdpError::syntax(
            line,
            format!(
                "attribute name `{}` is empty or contains spaces",
                shorten(name)
            ),
        ));
    }
    Ok(Attribute {
        name: name.into(),
        value,
    })
}

#[cfg(test)]
pub(crate) mod samples;

#[cfg(test)]
mod tests {
    use super::samples::*;
    use super::*;

    #[test]
    fn every_sample_round_trips_byte_for_byte() {
        for (name, text) in ALL {
            let crlf = crlf(text);
            let sdp = parse(&crlf).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(sdp.to_string(), crlf, "{name}");
            assert_eq!(parse(&sdp.to_string()).unwrap(), sdp, "{name}");
        }
    }

    #[test]
    fn bare_lf_and_trailing_blank_lines_are_accepted() {
        let sdp = parse(MEDIATRIX_T38_REINVITE).unwrap();
        assert_eq!(sdp.to_string(), crlf(MEDIATRIX_T38_REINVITE));
        let sdp2 = parse(&format!("{}\r\n\r\n", crlf(MEDIATRIX_T38_REINVITE))).unwrap();
        assert_eq!(sdp, sdp2);
    }

    #[test]
    fn reads_the_rfc_8866_example() {
        let sdp = parse(RFC8866_EXAMPLE).unwrap();
        assert_eq!(sdp.origin.username, "jdoe");
        assert_eq!(sdp.origin.session_id, "3724394400");
        assert_eq!(sdp.origin.session_version, 3724394405);
        assert_eq!(sdp.origin.address, "198.51.100.1");
        assert_eq!(sdp.session_name, "Call to John Smith");
        assert_eq!(sdp.connection.as_ref().unwrap().host(), "198.51.100.1");
        assert_eq!(sdp.media.len(), 2);
        assert_eq!(sdp.direction(0), Direction::RecvOnly); // session-level a=recvonly
        assert_eq!(sdp.direction(1), Direction::SendRecv); // media-level overrides
        assert_eq!(sdp.media[1].rtpmap(99).unwrap().encoding, "h263-1998");
        assert_eq!(sdp.media[0].rtpmap(0).unwrap().encoding, "PCMU"); // static
        assert_eq!(
            sdp.media[1].connection.as_ref().unwrap().host(),
            "198.51.100.1"
        );
        assert!(
            sdp.other
                .iter()
                .any(|(l, v)| *l == 'u' && v.starts_with("https://"))
        );
    }

    #[test]
    fn reads_audio_offers() {
        let sdp = parse(FREESWITCH_AUDIO).unwrap();
        let m = &sdp.media[0];
        assert!(m.is_rtp_audio());
        assert_eq!(m.formats, ["102", "9", "0", "8", "101", "13"]);
        let opus = m.rtpmap(102).unwrap();
        assert_eq!(
            (opus.encoding.as_str(), opus.clock_rate, opus.channels),
            ("opus", 48000, Some(2))
        );
        assert_eq!(m.rtpmap(101).unwrap().encoding, "telephone-event");
        assert_eq!(m.fmtp(101), Some("0-16"));
        assert_eq!(m.fmtp(102), Some("useinbandfec=1; maxplaybackrate=48000"));
        assert_eq!(m.fmtp(9), None);
        assert_eq!(m.ptime(), Some(20));
        assert_eq!(m.rtpmap(97), None);
        let cisco = parse(CISCO_AUDIO).unwrap();
        assert_eq!(cisco.connection, None);
        assert_eq!(cisco.connection_for(0).unwrap().host(), "192.0.2.50");
    }

    #[test]
    fn reads_image_t38_lines() {
        for (name, text) in [
            ("mediatrix", MEDIATRIX_T38_REINVITE),
            ("asterisk", ASTERISK_T38),
            ("freeswitch", FREESWITCH_T38),
            ("cisco", CISCO_T38),
        ] {
            let sdp = parse(text).unwrap();
            let image = sdp.media.iter().find(|m| m.media == "image").unwrap();
            assert!(image.is_udptl_t38(), "{name}");
            assert!(!image.is_rtp_audio(), "{name}");
        }
        let upper = parse(&MEDIATRIX_T38_REINVITE.replace("udptl t38", "UDPTL T38")).unwrap();
        assert!(upper.media[0].is_udptl_t38());
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let cases: &[(&str, usize, &str)] = &[
            (
                "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nbogus\n",
                4,
                "expected `<letter>=<value>`",
            ),
            ("o=- 1 1 IN IP4 192.0.2.1\n", 1, "first line must be `v=0`"),
            ("v=1\n", 1, "not 0"),
            ("v=0\no=- 1 IN IP4 192.0.2.1\n", 2, "6 fields"),
            ("v=0\no=- x 1 IN IP4 192.0.2.1\n", 2, "session id"),
            (
                "v=0\no=- 1 99999999999999999999 IN IP4 192.0.2.1\n",
                2,
                "session version",
            ),
            (
                "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4\n",
                4,
                "`c=` needs",
            ),
            (
                "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 2001:db8::1\n",
                4,
                "does not match",
            ),
            (
                "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=ATM NSAP 1\n",
                4,
                "not IN",
            ),
            (
                "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP5 1.2.3.4\n",
                4,
                "not IP4 or IP6",
            ),
            (
                "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nm=audio 70000 RTP/AVP 0\n",
                5,
                "port",
            ),
            (
                "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nm=audio\n",
                5,
                "`m=` needs",
            ),
            (
                "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nm=audio 4/x RTP/AVP 0\n",
                5,
                "port count",
            ),
            (
                "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\na=\n",
                4,
                "attribute name",
            ),
            (
                "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nm=audio 4 RTP/AVP 0\nt=0 0\n",
                6,
                "session level",
            ),
            (
                "v=0\no=- 1 1 IN IP4 192.0.2.1\no=- 1 1 IN IP4 192.0.2.1\n",
                3,
                "second `o=`",
            ),
            ("v=0\nv=0\n", 2, "second `v=`"),
            ("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nX=1\n", 4, "lower-case"),
        ];
        for (text, line, needle) in cases {
            match parse(text) {
                Err(e @ SdpError::Syntax { .. }) => {
                    let SdpError::Syntax { line: got, .. } = &e else {
                        unreachable!()
                    };
                    assert_eq!(got, line, "{text:?}: {e}");
                    assert!(e.to_string().contains(needle), "{text:?}: {e}");
                    assert_eq!(e.sip_status(), 400);
                }
                other => panic!("{text:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn missing_lines_and_connection_are_reported() {
        assert_eq!(parse(""), Err(SdpError::Missing("v= line")));
        assert_eq!(parse("v=0\n"), Err(SdpError::Missing("o= line")));
        assert_eq!(
            parse("v=0\no=- 1 1 IN IP4 192.0.2.1\n"),
            Err(SdpError::Missing("s= line"))
        );
        assert_eq!(
            parse("v=0\no=- 1 1 IN IP4 192.0.2.1\nm=audio 4000 RTP/AVP 0\n"),
            Err(SdpError::Missing("s= line"))
        );
        let e = parse("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\nm=audio 4000 RTP/AVP 0\n")
            .unwrap_err();
        assert!(matches!(e, SdpError::NotAcceptable(_)), "{e}");
        // A rejected stream needs no address.
        assert!(parse("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\nm=audio 0 RTP/AVP 0\n").is_ok());
    }

    #[test]
    fn writes_missing_timing_and_keeps_order_of_other_lines() {
        let sdp = parse("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=\nb=AS:64\ni=info\n").unwrap();
        assert_eq!(
            sdp.to_string(),
            "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=\r\ni=info\r\nb=AS:64\r\nt=0 0\r\n"
        );
    }

    #[test]
    fn direction_helpers() {
        assert_eq!(Direction::SendOnly.reversed(), Direction::RecvOnly);
        assert_eq!(Direction::RecvOnly.reversed(), Direction::SendOnly);
        assert_eq!(Direction::Inactive.reversed(), Direction::Inactive);
        assert!(Direction::SendOnly.sends() && !Direction::SendOnly.receives());
        assert_eq!(
            Direction::from_attribute(&Attribute::flag("SENDONLY")),
            Some(Direction::SendOnly)
        );
        assert_eq!(
            Direction::from_attribute(&Attribute::value("sendonly", "x")),
            None
        );
    }

    /// Property-style robustness: truncations, byte flips, dropped lines and
    /// shuffled lines of every sample must give a value or an error, never a
    /// panic, and whatever parses must survive writing and re-reading.
    #[test]
    fn garbled_input_never_panics() {
        let mut seed = 0x1234_5678_9abc_def0u64;
        let mut rand = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n.max(1) as u64) as usize
        };
        let caps = super::negotiate::tests::caps();
        let mut parsed = 0;
        for (_, text) in ALL {
            let text = crlf(text);
            let bytes = text.as_bytes();
            let mut variants: Vec<Vec<u8>> =
                (0..bytes.len()).map(|i| bytes[..i].to_vec()).collect();
            for _ in 0..300 {
                let mut v = bytes.to_vec();
                for _ in 0..1 + rand(4) {
                    let i = rand(v.len());
                    v[i] = b"=: /0123456789aAmcv\r\n\x00\xff"[rand(23)];
                }
                variants.push(v);
                let lines: Vec<&str> = text.split("\r\n").collect();
                let drop = rand(lines.len());
                let mut kept: Vec<&str> = lines
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != drop)
                    .map(|(_, l)| *l)
                    .collect();
                if rand(2) == 0 && kept.len() > 2 {
                    let a = rand(kept.len());
                    let b = rand(kept.len());
                    kept.swap(a, b);
                }
                variants.push(kept.join("\r\n").into_bytes());
            }
            for v in variants {
                let s = String::from_utf8_lossy(&v);
                if let Ok(sdp) = parse(&s) {
                    parsed += 1;
                    let again = parse(&sdp.to_string()).expect("written SDP must parse");
                    // Writing is idempotent (a missing t= is added once).
                    assert_eq!(again.to_string(), sdp.to_string());
                    let mut session = LocalSession::new(7, caps.address);
                    let _ = answer(&sdp, &caps, &mut session);
                    let _ = process_answer(&sdp, &sdp);
                    for m in &sdp.media {
                        let _ = m.t38_params();
                    }
                }
            }
        }
        assert!(parsed > 100, "some variants must still parse ({parsed})");
    }
}
