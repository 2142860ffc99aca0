//! HTTP digest authentication as SIP uses it (RFC 3261 §22, RFC 7616, RFC 8760).
//!
//! A UAS challenges a request with `401 Unauthorized` and a
//! `WWW-Authenticate: Digest …` header; the client repeats the request with an
//! `Authorization` header carrying `response = KD(H(A1), nonce:nc:cnonce:qop:H(A2))`.
//! Everything here is pure: hashing, header parsing and formatting, a
//! stateless nonce scheme whose nonces carry their own issue time and a keyed
//! hash (so a restart invalidates old nonces), and the bounded table of
//! nonce counts that stops replays.
//!
//! What the server checks, besides the hash:
//!
//! * `qop=auth` is offered and required (RFC 7616 §3.3): without it the
//!   response covers no client-chosen count, so a captured response could
//!   be sent again as long as its nonce lives.
//! * The nonce count (`nc`) must grow for every request under one nonce
//!   (RFC 7616 §3.4: the server "should" check it to detect replays).
//!   [`NonceCounts`] remembers the highest count seen per nonce for nonces
//!   that authenticated a request; its size is bounded, and a nonce it had
//!   to forget is answered with a `stale=true` challenge, never accepted.
//! * The `uri` parameter must name the Request-URI ([`uri_matches`]; RFC
//!   7616 §3.4.6, RFC 3261 §22.4): otherwise a response computed for one
//!   request could be attached to another with the same method.

use std::fmt;

use md5::{Digest as _, Md5};
use sha2::Sha256;

/// Digest hash algorithm (RFC 7616 §3.3, RFC 8760 for SIP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize)]
pub enum DigestAlgorithm {
    /// `MD5`: the only algorithm most ATAs and trunks implement.
    #[serde(rename = "MD5")]
    Md5,
    /// `SHA-256`: RFC 8760; offered first when enabled, as that RFC asks.
    #[serde(rename = "SHA-256", alias = "SHA256")]
    Sha256,
}

impl DigestAlgorithm {
    /// The token used in the `algorithm=` parameter.
    pub fn token(self) -> &'static str {
        match self {
            DigestAlgorithm::Md5 => "MD5",
            DigestAlgorithm::Sha256 => "SHA-256",
        }
    }

    /// Parses an `algorithm=` token (case-insensitive); absent means MD5
    /// (RFC 7616 §3.3).
    pub fn from_token(token: Option<&str>) -> Option<Self> {
        match token {
            None => Some(DigestAlgorithm::Md5),
            Some(t) if t.eq_ignore_ascii_case("MD5") => Some(DigestAlgorithm::Md5),
            // "SHA256" is what some stacks (rsipstack among them) write.
            Some(t) if t.eq_ignore_ascii_case("SHA-256") || t.eq_ignore_ascii_case("SHA256") => {
                Some(DigestAlgorithm::Sha256)
            }
            Some(_) => None,
        }
    }

    /// Lower-case hex of the hash of `data`.
    pub fn hash_hex(self, data: &str) -> String {
        match self {
            DigestAlgorithm::Md5 => hex(&Md5::digest(data.as_bytes())),
            DigestAlgorithm::Sha256 => hex(&Sha256::digest(data.as_bytes())),
        }
    }
}

impl fmt::Display for DigestAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.token())
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The inputs of one digest computation.
#[derive(Debug, Clone, Copy)]
pub struct DigestInput<'a> {
    /// Hash algorithm.
    pub algorithm: DigestAlgorithm,
    /// Digest username.
    pub username: &'a str,
    /// Protection realm.
    pub realm: &'a str,
    /// Shared secret.
    pub password: &'a str,
    /// Request method (`INVITE`, `OPTIONS`, …): part of A2.
    pub method: &'a str,
    /// The `uri=` parameter (digest-uri): part of A2.
    pub uri: &'a str,
    /// Server nonce.
    pub nonce: &'a str,
    /// `Some((nc, cnonce))` for `qop=auth`; `None` for the RFC 2069 form.
    pub qop_auth: Option<(&'a str, &'a str)>,
}

/// Computes the `response=` value (RFC 7616 §3.4.1; `qop=auth` only, as
/// `auth-int` over SIP bodies is not used by the peers we serve).
pub fn compute_response(input: &DigestInput<'_>) -> String {
    let alg = input.algorithm;
    let ha1 = alg.hash_hex(&format!(
        "{}:{}:{}",
        input.username, input.realm, input.password
    ));
    let ha2 = alg.hash_hex(&format!("{}:{}", input.method, input.uri));
    match input.qop_auth {
        Some((nc, cnonce)) => {
            alg.hash_hex(&format!("{ha1}:{}:{nc}:{cnonce}:auth:{ha2}", input.nonce))
        }
        None => alg.hash_hex(&format!("{ha1}:{}:{ha2}", input.nonce)),
    }
}

/// A challenge to put in `WWW-Authenticate` (401) or `Proxy-Authenticate` (407).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Protection realm shown to the client.
    pub realm: String,
    /// Fresh nonce.
    pub nonce: String,
    /// Algorithm the client must use with this challenge.
    pub algorithm: DigestAlgorithm,
    /// `stale=true`: the credentials were right but the nonce expired, so the
    /// client may retry without asking its user (RFC 7616 §3.3).
    pub stale: bool,
}

impl Challenge {
    /// The header value, e.g. `Digest realm="fax", nonce="…", algorithm=MD5, qop="auth"`.
    pub fn header_value(&self) -> String {
        let mut v = format!(
            "Digest realm=\"{}\", nonce=\"{}\", algorithm={}, qop=\"auth\"",
            escape(&self.realm),
            escape(&self.nonce),
            self.algorithm
        );
        if self.stale {
            v.push_str(", stale=true");
        }
        v
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Why an `Authorization` header could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    /// The scheme is not `Digest` (e.g. `Basic`, which SIP forbids).
    #[error("authorization scheme is not Digest; the client must use digest authentication")]
    NotDigest,
    /// A parameter the digest needs is missing.
    #[error("digest authorization lacks the `{0}` parameter; the client sent an incomplete header")]
    Missing(&'static str),
    /// The algorithm is not one we implement.
    #[error("digest algorithm `{0}` is not supported; configure the client for MD5 or SHA-256")]
    Algorithm(String),
    /// `qop` other than `auth`.
    #[error("digest qop `{0}` is not supported; only qop=auth is offered")]
    Qop(String),
}

/// The parsed parameters of an `Authorization: Digest …` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `username=`.
    pub username: String,
    /// `realm=`.
    pub realm: String,
    /// `nonce=`.
    pub nonce: String,
    /// `uri=` (the digest-uri).
    pub uri: String,
    /// `response=`.
    pub response: String,
    /// `algorithm=` (MD5 when absent).
    pub algorithm: DigestAlgorithm,
    /// `Some((nc, cnonce))` when `qop=auth`.
    pub qop_auth: Option<(String, String)>,
}

/// Splits `k=v, k="v, with comma"` into pairs, honouring quoted strings and
/// backslash escapes (RFC 3261 §25.1 quoted-string).
fn split_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while matches!(chars.peek(), Some(c) if *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ',' {
                break;
            }
            key.push(c);
            chars.next();
        }
        if key.trim().is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'=') {
            chars.next();
            while matches!(chars.peek(), Some(c) if c.is_whitespace()) {
                chars.next();
            }
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some(n) = chars.next() {
                                value.push(n);
                            }
                        }
                        '"' => break,
                        c => value.push(c),
                    }
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c == ',' {
                        break;
                    }
                    value.push(c);
                    chars.next();
                }
                value = value.trim().to_string();
            }
        }
        out.push((key.trim().to_ascii_lowercase(), value));
    }
    out
}

impl Credentials {
    /// Parses the value of an `Authorization` or `Proxy-Authorization` header.
    pub fn parse(header_value: &str) -> Result<Self, CredentialsError> {
        let v = header_value.trim();
        let (scheme, rest) = v.split_once(char::is_whitespace).unwrap_or((v, ""));
        if !scheme.eq_ignore_ascii_case("digest") {
            return Err(CredentialsError::NotDigest);
        }
        let params = split_params(rest);
        let get = |k: &str| {
            params
                .iter()
                .find(|(pk, _)| pk == k)
                .map(|(_, pv)| pv.as_str())
        };
        let need = |k: &'static str| {
            get(k)
                .map(str::to_string)
                .ok_or(CredentialsError::Missing(k))
        };
        let algorithm = match get("algorithm") {
            None => DigestAlgorithm::Md5,
            Some(a) => DigestAlgorithm::from_token(Some(a))
                .ok_or_else(|| CredentialsError::Algorithm(a.to_string()))?,
        };
        let qop_auth = match get("qop") {
            None => None,
            Some(q) if q.eq_ignore_ascii_case("auth") => Some((need("nc")?, need("cnonce")?)),
            Some(q) => return Err(CredentialsError::Qop(q.to_string())),
        };
        Ok(Credentials {
            username: need("username")?,
            realm: need("realm")?,
            nonce: need("nonce")?,
            uri: need("uri")?,
            response: need("response")?,
            algorithm,
            qop_auth,
        })
    }

    /// True when `response=` matches what `password` gives for `method`.
    /// Compared in constant time so the check leaks nothing about the hash.
    pub fn verify(&self, method: &str, password: &str) -> bool {
        let expected = compute_response(&DigestInput {
            algorithm: self.algorithm,
            username: &self.username,
            realm: &self.realm,
            password,
            method,
            uri: &self.uri,
            nonce: &self.nonce,
            qop_auth: self
                .qop_auth
                .as_ref()
                .map(|(nc, cnonce)| (nc.as_str(), cnonce.as_str())),
        });
        constant_time_eq(
            expected.as_bytes(),
            self.response.to_ascii_lowercase().as_bytes(),
        )
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether a nonce we receive back is one we issued and still honour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceState {
    /// Issued by us and younger than the lifetime.
    Fresh,
    /// Issued by us but expired: challenge again with `stale=true`.
    Stale,
    /// Not ours (forged, from before a restart, or garbage).
    Invalid,
}

/// Stateless nonces: `<issue-time hex><unique hex>.<SHA-256(secret:head) hex>`.
///
/// The keyed hash proves we issued the nonce; the embedded time bounds its
/// life. Replays inside the lifetime are stopped by [`NonceCounts`].
#[derive(Clone)]
pub struct NonceIssuer {
    secret: [u8; 32],
    lifetime_secs: u64,
}

impl fmt::Debug for NonceIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NonceIssuer")
            .field("lifetime_secs", &self.lifetime_secs)
            .finish_non_exhaustive()
    }
}

impl NonceIssuer {
    /// An issuer with the given secret (random per process in production).
    pub fn new(secret: [u8; 32], lifetime_secs: u64) -> Self {
        NonceIssuer {
            secret,
            lifetime_secs,
        }
    }

    fn mac(&self, head: &str) -> String {
        let mut h = Sha256::new();
        h.update(self.secret);
        h.update(b":");
        h.update(head.as_bytes());
        h.update(b":");
        h.update(self.secret);
        hex(&h.finalize())[..32].to_string()
    }

    /// A nonce issued at `now_secs` (seconds since the Unix epoch);
    /// `unique` (random in production) tells apart nonces of one second,
    /// each of which starts its own count.
    pub fn issue(&self, now_secs: u64, unique: u64) -> String {
        let head = format!("{now_secs:016x}{unique:016x}");
        let mac = self.mac(&head);
        format!("{head}.{mac}")
    }

    /// The issue time of a nonce we issued (seconds since the Unix epoch);
    /// `None` when the nonce is not ours.
    pub fn issued_at(&self, nonce: &str) -> Option<u64> {
        let (head, mac) = nonce.split_once('.')?;
        if head.len() != 32
            || !head.is_ascii()
            || !constant_time_eq(self.mac(head).as_bytes(), mac.as_bytes())
        {
            return None;
        }
        u64::from_str_radix(&head[..16], 16).ok()
    }

    /// The nonce lifetime in seconds.
    pub fn lifetime_secs(&self) -> u64 {
        self.lifetime_secs
    }

    /// Checks a nonce returned by a client at `now_secs`.
    pub fn check(&self, nonce: &str, now_secs: u64) -> NonceState {
        let Some(issued) = self.issued_at(nonce) else {
            return NonceState::Invalid;
        };
        if issued > now_secs.saturating_add(5) {
            return NonceState::Invalid;
        }
        if now_secs.saturating_sub(issued) > self.lifetime_secs {
            NonceState::Stale
        } else {
            NonceState::Fresh
        }
    }
}

/// Reads a nonce count (`nc=`): eight hex digits (RFC 7616 §3.4), one to
/// eight accepted; zero is no count.
pub fn parse_nonce_count(nc: &str) -> Option<u32> {
    if nc.is_empty() || nc.len() > 8 || !nc.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(nc, 16).ok().filter(|&n| n > 0)
}

/// What [`NonceCounts::check_and_record`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountCheck {
    /// Higher than every count seen with this nonce: recorded.
    Fresh,
    /// Not higher than a count already used with this nonce: a replay.
    Replayed,
    /// The table had to forget nonces this old; the client must take a new
    /// one (`stale=true`).
    Forgotten,
}

/// Highest nonce count seen per nonce, for nonces that authenticated a
/// request (only a client that knows the password adds an entry).
///
/// Bounded: beyond `capacity` entries the oldest nonce is forgotten, and
/// so are nonces older than the lifetime. Every nonce issued at or before
/// the newest forgotten one is then refused as [`CountCheck::Forgotten`]:
/// a nonce the table no longer knows can never be counted from 1 again.
#[derive(Debug, Clone)]
pub struct NonceCounts {
    capacity: usize,
    counts: std::collections::HashMap<String, u32>,
    /// `(issued, nonce)` in issue order, for forgetting the oldest first.
    order: std::collections::BTreeSet<(u64, String)>,
    /// Nonces issued at or before this time (when set) are forgotten.
    floor: Option<u64>,
}

impl NonceCounts {
    /// An empty table holding at most `capacity` nonces (at least 1).
    pub fn new(capacity: usize) -> Self {
        NonceCounts {
            capacity: capacity.max(1),
            counts: std::collections::HashMap::new(),
            order: std::collections::BTreeSet::new(),
            floor: None,
        }
    }

    /// Number of nonces remembered.
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    /// True when no nonce is remembered.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    fn forget_oldest(&mut self) {
        if let Some((issued, nonce)) = self.order.pop_first() {
            self.counts.remove(&nonce);
            self.floor = Some(self.floor.map_or(issued, |f| f.max(issued)));
        }
    }

    /// Forgets nonces issued before `now_secs - lifetime_secs`: they are
    /// stale anyway.
    pub fn purge(&mut self, now_secs: u64, lifetime_secs: u64) {
        while let Some((issued, _)) = self.order.first() {
            if issued.saturating_add(lifetime_secs) >= now_secs {
                break;
            }
            self.forget_oldest();
        }
    }

    /// Checks count `nc` for `nonce` (issued at `issued`) and records it
    /// when it is fresh. Call only for a response that verified.
    pub fn check_and_record(&mut self, nonce: &str, issued: u64, nc: u32) -> CountCheck {
        if let Some(last) = self.counts.get_mut(nonce) {
            if nc <= *last {
                return CountCheck::Replayed;
            }
            *last = nc;
            return CountCheck::Fresh;
        }
        if self.floor.is_some_and(|f| issued <= f) {
            return CountCheck::Forgotten;
        }
        while self.counts.len() >= self.capacity {
            self.forget_oldest();
        }
        if self.floor.is_some_and(|f| issued <= f) {
            // Forgetting the oldest to make room reached this nonce's age.
            return CountCheck::Forgotten;
        }
        self.counts.insert(nonce.to_string(), nc);
        self.order.insert((issued, nonce.to_string()));
        CountCheck::Fresh
    }
}

/// Whether the digest `uri=` parameter names the Request-URI (RFC 7616
/// §3.4.6, RFC 3261 §22.4). Compared as RFC 3261 §19.1.4 compares SIP
/// URIs, as far as a client that copied the Request-URI can differ from
/// it: scheme and host case-insensitively, the user part exactly, an
/// explicit port only against the same explicit port, URI parameters as a
/// set with case-insensitive names and values, headers exactly.
pub fn uri_matches(digest_uri: &str, request_uri: &str) -> bool {
    if digest_uri == request_uri {
        return true;
    }
    match (
        SipUriParts::parse(digest_uri),
        SipUriParts::parse(request_uri),
    ) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// A SIP URI split for comparison ([`uri_matches`]).
#[derive(Debug, PartialEq, Eq)]
struct SipUriParts {
    scheme: String,
    userinfo: Option<String>,
    host: String,
    port: Option<String>,
    params: Vec<(String, String)>,
    headers: Option<String>,
}

impl SipUriParts {
    fn parse(uri: &str) -> Option<Self> {
        let uri = uri.trim();
        let (scheme, rest) = uri.split_once(':')?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "sip" && scheme != "sips" {
            return None;
        }
        let (rest, headers) = match rest.split_once('?') {
            Some((r, h)) => (r, Some(h.to_string())),
            None => (rest, None),
        };
        let (userinfo, hostpart) = match rest.rsplit_once('@') {
            Some((u, h)) => (Some(u.to_string()), h),
            None => (None, rest),
        };
        let mut pieces = hostpart.split(';');
        let hostport = pieces.next()?;
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (h, after) = v6.split_once(']')?;
            let port = after.strip_prefix(':').map(str::to_string);
            (format!("[{}]", h.to_ascii_lowercase()), port)
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h.to_ascii_lowercase(), Some(p.to_string())),
                None => (hostport.to_ascii_lowercase(), None),
            }
        };
        if host.is_empty() {
            return None;
        }
        let mut params: Vec<(String, String)> = pieces
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (k.to_ascii_lowercase(), v.to_ascii_lowercase()),
                None => (p.to_ascii_lowercase(), String::new()),
            })
            .collect();
        params.sort();
        Some(SipUriParts {
            scheme,
            userinfo,
            host,
            port,
            params,
            headers,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 2617 §3.5 worked example (MD5, qop=auth).
    #[test]
    fn rfc2617_md5_vector() {
        let r = compute_response(&DigestInput {
            algorithm: DigestAlgorithm::Md5,
            username: "Mufasa",
            realm: "testrealm@host.com",
            password: "Circle Of Life",
            method: "GET",
            uri: "/dir/index.html",
            nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            qop_auth: Some(("00000001", "0a4f113b")),
        });
        assert_eq!(r, "6629fae49393a05397450978507c4ef1");
    }

    /// RFC 7616 §3.9.1 worked example, both algorithms.
    #[test]
    fn rfc7616_vectors() {
        let mut input = DigestInput {
            algorithm: DigestAlgorithm::Md5,
            username: "Mufasa",
            realm: "http-auth@example.org",
            password: "Circle of Life",
            method: "GET",
            uri: "/dir/index.html",
            nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
            qop_auth: Some(("00000001", "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ")),
        };
        assert_eq!(compute_response(&input), "8ca523f5e9506fed4657c9700eebdbec");
        input.algorithm = DigestAlgorithm::Sha256;
        assert_eq!(
            compute_response(&input),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
    }

    #[test]
    fn rfc2069_form_without_qop() {
        // H(H(A1):nonce:H(A2)) computed independently of compute_response.
        let alg = DigestAlgorithm::Md5;
        let ha1 = alg.hash_hex("bob:fax:pw");
        let ha2 = alg.hash_hex("INVITE:sip:100@10.0.0.1");
        let want = alg.hash_hex(&format!("{ha1}:abc:{ha2}"));
        let got = compute_response(&DigestInput {
            algorithm: alg,
            username: "bob",
            realm: "fax",
            password: "pw",
            method: "INVITE",
            uri: "sip:100@10.0.0.1",
            nonce: "abc",
            qop_auth: None,
        });
        assert_eq!(got, want);
    }

    #[test]
    fn parses_authorization_with_quoted_commas_and_verifies() {
        let nonce = "n,1";
        let resp = compute_response(&DigestInput {
            algorithm: DigestAlgorithm::Md5,
            username: "ata1",
            realm: "fax bridge",
            password: "s3cret",
            method: "INVITE",
            uri: "sip:2000@192.0.2.1",
            nonce,
            qop_auth: Some(("00000001", "xyz")),
        });
        let header = format!(
            "Digest username=\"ata1\",realm=\"fax bridge\", nonce=\"n,1\", uri=\"sip:2000@192.0.2.1\", \
             response=\"{resp}\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"xyz\""
        );
        let c = Credentials::parse(&header).unwrap();
        assert_eq!(c.username, "ata1");
        assert_eq!(c.nonce, "n,1");
        assert_eq!(c.qop_auth, Some(("00000001".into(), "xyz".into())));
        assert!(c.verify("INVITE", "s3cret"));
        assert!(!c.verify("INVITE", "wrong"));
        assert!(!c.verify("BYE", "s3cret"), "method is part of A2");
    }

    #[test]
    fn rejects_bad_authorization_headers() {
        assert_eq!(
            Credentials::parse("Basic dXNlcjpwdw=="),
            Err(CredentialsError::NotDigest)
        );
        assert_eq!(
            Credentials::parse("Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"u\""),
            Err(CredentialsError::Missing("response"))
        );
        assert!(matches!(
            Credentials::parse(
                "Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"u\", response=\"x\", algorithm=SHA-512-256"
            ),
            Err(CredentialsError::Algorithm(_))
        ));
        assert!(matches!(
            Credentials::parse(
                "Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"u\", response=\"x\", qop=auth-int, nc=1, cnonce=c"
            ),
            Err(CredentialsError::Qop(_))
        ));
        assert_eq!(
            Credentials::parse(
                "Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"u\", response=\"x\", qop=auth"
            ),
            Err(CredentialsError::Missing("nc"))
        );
    }

    #[test]
    fn algorithm_tokens() {
        assert_eq!(
            DigestAlgorithm::from_token(None),
            Some(DigestAlgorithm::Md5)
        );
        assert_eq!(
            DigestAlgorithm::from_token(Some("md5")),
            Some(DigestAlgorithm::Md5)
        );
        assert_eq!(
            DigestAlgorithm::from_token(Some("SHA-256")),
            Some(DigestAlgorithm::Sha256)
        );
        assert_eq!(
            DigestAlgorithm::from_token(Some("sha256")),
            Some(DigestAlgorithm::Sha256)
        );
        assert_eq!(DigestAlgorithm::from_token(Some("MD5-sess")), None);
    }

    #[test]
    fn challenge_header_format() {
        let c = Challenge {
            realm: "fax\"x".into(),
            nonce: "abc".into(),
            algorithm: DigestAlgorithm::Sha256,
            stale: true,
        };
        assert_eq!(
            c.header_value(),
            "Digest realm=\"fax\\\"x\", nonce=\"abc\", algorithm=SHA-256, qop=\"auth\", stale=true"
        );
    }

    #[test]
    fn nonce_lifecycle() {
        let issuer = NonceIssuer::new([7; 32], 300);
        let n = issuer.issue(1_000_000, 1);
        let n2 = issuer.issue(1_000_000, 2);
        assert_ne!(n, n2, "two nonces of one second differ");
        assert_eq!(issuer.issued_at(&n2), Some(1_000_000));
        assert_eq!(issuer.check(&n, 1_000_000), NonceState::Fresh);
        assert_eq!(issuer.check(&n, 1_000_300), NonceState::Fresh);
        assert_eq!(issuer.check(&n, 1_000_301), NonceState::Stale);
        // Issued "in the future" beyond clock slack: forged.
        assert_eq!(issuer.check(&n, 999_000), NonceState::Invalid);
        // Another process's secret.
        let other = NonceIssuer::new([8; 32], 300);
        assert_eq!(other.check(&n, 1_000_000), NonceState::Invalid);
        // Tampered time.
        let tampered = format!("{:016x}{}", 1_000_100u64, &n[16..]);
        assert_eq!(issuer.check(&tampered, 1_000_100), NonceState::Invalid);
        assert_eq!(issuer.check("garbage", 1), NonceState::Invalid);
        assert_eq!(issuer.check("", 1), NonceState::Invalid);
    }

    #[test]
    fn nonce_count_parsing() {
        let table = [
            ("00000001", Some(1)),
            ("0000000a", Some(10)),
            ("FFFFFFFF", Some(u32::MAX)),
            ("1", Some(1)),
            ("00000000", None),
            ("", None),
            ("000000001", None),
            ("0000000g", None),
            ("-1", None),
        ];
        for (nc, want) in table {
            assert_eq!(parse_nonce_count(nc), want, "{nc:?}");
        }
    }

    #[test]
    fn nonce_counts_stop_replays() {
        use CountCheck::*;
        let mut t = NonceCounts::new(3);
        // (nonce, issued, nc, expected), in order.
        let steps: &[(&str, u64, u32, CountCheck)] = &[
            ("a", 10, 1, Fresh),
            ("a", 10, 1, Replayed),
            ("a", 10, 2, Fresh),
            ("a", 10, 2, Replayed),
            ("a", 10, 1, Replayed),
            ("a", 10, 7, Fresh),
            ("b", 11, 1, Fresh),
            ("c", 12, 5, Fresh),
            // A fourth nonce: the oldest (a, issued at 10) is forgotten.
            ("d", 13, 1, Fresh),
            // a can never count from 1 again, nor can anything as old.
            ("a", 10, 8, Forgotten),
            ("z", 9, 1, Forgotten),
            ("z", 10, 1, Forgotten),
            ("b", 11, 2, Fresh),
            ("e", 14, 1, Fresh),
            // b (11) made room for e: c (12) and d (13) remain.
            ("b", 11, 3, Forgotten),
            ("c", 12, 5, Replayed),
            ("d", 13, 2, Fresh),
        ];
        for (i, &(nonce, issued, nc, want)) in steps.iter().enumerate() {
            assert_eq!(
                t.check_and_record(nonce, issued, nc),
                want,
                "step {i}: {nonce} nc={nc}"
            );
        }
        assert_eq!(t.len(), 3);
    }

    #[test]
    fn nonce_counts_purge_by_age() {
        let mut t = NonceCounts::new(100);
        assert_eq!(t.check_and_record("old", 100, 1), CountCheck::Fresh);
        assert_eq!(t.check_and_record("new", 350, 1), CountCheck::Fresh);
        t.purge(401, 300);
        assert_eq!(t.len(), 1, "the nonce issued at 100 is stale at 401");
        assert_eq!(t.check_and_record("old", 100, 2), CountCheck::Forgotten);
        assert_eq!(t.check_and_record("new", 350, 1), CountCheck::Replayed);
        assert!(!t.is_empty());
    }

    #[test]
    fn digest_uri_must_name_the_request_uri() {
        let table = [
            ("sip:2000@127.0.0.1:5060", "sip:2000@127.0.0.1:5060", true),
            ("SIP:2000@127.0.0.1:5060", "sip:2000@127.0.0.1:5060", true),
            ("sip:2000@FAX.example", "sip:2000@fax.example", true),
            (
                "sip:2000@h;transport=TCP;user=phone",
                "sip:2000@h;user=phone;transport=tcp",
                true,
            ),
            ("sip:[2001:DB8::1]:5060", "sip:[2001:db8::1]:5060", true),
            // Another user, host, port or scheme is another request.
            ("sip:2001@127.0.0.1:5060", "sip:2000@127.0.0.1:5060", false),
            ("sip:Alice@h", "sip:alice@h", false),
            ("sip:2000@127.0.0.2:5060", "sip:2000@127.0.0.1:5060", false),
            ("sip:2000@127.0.0.1", "sip:2000@127.0.0.1:5060", false),
            ("sips:2000@h", "sip:2000@h", false),
            (
                "sip:2000@h;transport=udp",
                "sip:2000@h;transport=tcp",
                false,
            ),
            ("sip:2000@h", "sip:2000@h;transport=tcp", false),
            ("sip:2000@h?Subject=x", "sip:2000@h", false),
            ("/index.html", "sip:2000@h", false),
            ("", "sip:2000@h", false),
        ];
        for (digest_uri, request_uri, want) in table {
            assert_eq!(
                uri_matches(digest_uri, request_uri),
                want,
                "{digest_uri} vs {request_uri}"
            );
        }
    }
}
