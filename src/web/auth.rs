//! Who is asking: local sign-in with sessions, or a name from a trusted
//! single sign-on proxy; roles; CSRF tokens.
//!
//! Sessions are random 256-bit ids kept in memory (a restart signs
//! everybody out, which is harmless), sent in a cookie that is `HttpOnly`
//! (scripts cannot read it) and `SameSite=Strict` (other sites cannot make
//! the browser send it). Every state-changing request must also carry the
//! session's CSRF token (a hidden form field or the `X-CSRF-Token` header),
//! and a request whose `Origin` names another host is refused: together
//! they stop a page on another site from acting with a signed-in browser.
//!
//! A proxy's header is believed only on connections from the configured
//! proxy addresses; anyone else sending it is treated as not signed in. A
//! proxy user's CSRF token is an HMAC of their name under a key made at
//! start, so it needs no session.
//!
//! The cookie is also `Secure` (never sent over plain HTTP) per
//! `[web] secure_cookies`: always, never, or (`auto`) when the trusted
//! proxy says with `X-Forwarded-Proto: https` that the browser used HTTPS.
//! Failed sign-ins lock out the client address and slow down the account
//! (`web::limit`); the client address is the connection's peer, or for a
//! request from the trusted proxy the last address its `X-Forwarded-For`
//! names.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use hmac::{KeyInit, Mac};
use sha2::Sha256;

use super::AppState;
use super::config::{Role, SecureCookies, TrustedProxy, WebConfig};
use super::limit::{Attempt, Delays, Locked, Lockout, LoginLimiter};
use crate::net::Cidr;
use crate::password::PasswordHash;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "faxbridge_session";

/// A signed-in person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Sign-in name.
    pub name: String,
    /// What they may do.
    pub role: Role,
    /// Their mail address (what `user` sees is filtered on it).
    pub email: Option<String>,
    /// Named by the trusted proxy rather than signed in here.
    pub via_proxy: bool,
}

struct Session {
    who: Principal,
    csrf: String,
    expires: Instant,
}

/// Accounts, sessions and the proxy rule.
pub(crate) struct Auth {
    accounts: Vec<(String, PasswordHash, Role, Option<String>)>,
    proxy: Option<(Vec<Cidr>, axum::http::HeaderName, TrustedProxy)>,
    sessions: Mutex<HashMap<String, Session>>,
    lifetime: Duration,
    key: [u8; 32],
    secure: SecureCookies,
    limiter: Mutex<LoginLimiter>,
    counts: LoginCounts,
}

/// Sign-in outcomes since start, for `/metrics`.
#[derive(Debug, Default)]
pub(crate) struct LoginCounts {
    /// Wrong passwords and unknown names.
    pub(crate) failures: AtomicU64,
    /// Client addresses locked out.
    pub(crate) lockouts: AtomicU64,
    /// Attempts refused because their address was locked out.
    pub(crate) refused: AtomicU64,
    /// Attempts that waited because their account had recent failures.
    pub(crate) delayed: AtomicU64,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn random_token() -> String {
    hex(&rand::random::<[u8; 32]>())
}

/// Compare without an early exit.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl Auth {
    /// From a validated `[web]` section (unparsable entries are skipped;
    /// [`WebConfig::problems`] reports them).
    pub(crate) fn new(cfg: &WebConfig) -> Auth {
        let accounts = cfg
            .accounts
            .iter()
            .filter_map(|a| {
                PasswordHash::parse(&a.password_hash)
                    .ok()
                    .map(|h| (a.username.clone(), h, a.role, a.email.clone()))
            })
            .collect();
        let proxy = cfg.trusted_proxy.as_ref().and_then(|p| {
            let nets: Vec<Cidr> = p.addresses.iter().filter_map(|a| a.parse().ok()).collect();
            let name = axum::http::HeaderName::from_bytes(p.header.as_bytes()).ok()?;
            Some((nets, name, p.clone()))
        });
        Auth {
            accounts,
            proxy,
            sessions: Mutex::new(HashMap::new()),
            lifetime: Duration::from_secs(u64::from(cfg.session_minutes) * 60),
            key: rand::random(),
            secure: cfg.secure_cookies,
            limiter: Mutex::new(LoginLimiter::new(
                cfg.login_max_failures,
                Duration::from_secs(u64::from(cfg.login_window_minutes) * 60),
                Delays::default(),
            )),
            counts: LoginCounts::default(),
        }
    }

    /// Check a password (slow on purpose: Argon2 or PBKDF2). For an unknown name the
    /// first account's hash is still computed so timing does not reveal
    /// which names exist.
    pub(crate) fn verify(&self, username: &str, password: &str) -> Option<Principal> {
        match self.accounts.iter().find(|(u, ..)| u == username) {
            Some((name, hash, role, email)) => {
                hash.verify(password.as_bytes()).then(|| Principal {
                    name: name.clone(),
                    role: *role,
                    email: email.clone(),
                    via_proxy: false,
                })
            }
            None => {
                if let Some((_, hash, ..)) = self.accounts.first() {
                    let _ = hash.verify(password.as_bytes());
                }
                None
            }
        }
    }

    /// Start a session; returns its id.
    pub(crate) fn open_session(&self, who: Principal) -> String {
        let id = random_token();
        let now = Instant::now();
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.retain(|_, s| s.expires > now);
        sessions.insert(
            id.clone(),
            Session {
                who,
                csrf: random_token(),
                expires: now + self.lifetime,
            },
        );
        id
    }

    /// End a session.
    pub(crate) fn close_session(&self, id: &str) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.remove(id);
    }

    /// The session cookie for a new session; `https` from
    /// [`Auth::cookie_secure`].
    pub(crate) fn cookie(&self, id: &str, https: bool) -> String {
        format!(
            "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
            self.lifetime.as_secs(),
            if https { "; Secure" } else { "" }
        )
    }

    /// The cookie that removes the session cookie (with the same
    /// attributes, so the browser replaces it).
    pub(crate) fn expired_cookie(https: bool) -> String {
        format!(
            "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
            if https { "; Secure" } else { "" }
        )
    }

    /// Whether `peer` is a `[web.trusted_proxy] addresses` address.
    pub(crate) fn is_proxy(&self, peer: IpAddr) -> bool {
        self.proxy
            .as_ref()
            .is_some_and(|(nets, ..)| nets.iter().any(|n| n.contains(peer)))
    }

    /// The header the trusted proxy names people in, when one is set.
    pub(crate) fn proxy_header(&self) -> Option<&axum::http::HeaderName> {
        self.proxy.as_ref().map(|(_, name, _)| name)
    }

    /// Whether the session cookie of a request from `peer` is `Secure`
    /// (`[web] secure_cookies`).
    pub(crate) fn cookie_secure(&self, headers: &HeaderMap, peer: IpAddr) -> bool {
        match self.secure {
            SecureCookies::Always => true,
            SecureCookies::Never => false,
            // Only the trusted proxy's word counts: a browser talking to
            // faxbridge directly could send the header over plain HTTP.
            SecureCookies::Auto => {
                self.is_proxy(peer)
                    && headers
                        .get("x-forwarded-proto")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.split(',').next())
                        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
            }
        }
    }

    /// The client's address: `peer`, or for a request through the trusted
    /// proxy the last address of `X-Forwarded-For` (the one the proxy
    /// itself added; earlier ones are the client's to invent).
    pub(crate) fn client_address(&self, headers: &HeaderMap, peer: IpAddr) -> IpAddr {
        if !self.is_proxy(peer) {
            return peer;
        }
        // Only the very last entry: if the proxy wrote something that is
        // not an address, an earlier (client-written) one must not count.
        headers
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|a| a.trim().parse::<IpAddr>().ok())
            .unwrap_or(peer)
    }

    /// `client` wants to try a password for `username`: refused when the
    /// address is locked out (checked before the password, so a refused
    /// guess costs no hashing either), else the attempt with the delay to
    /// wait before checking the password.
    pub(crate) fn login_begin(&self, client: IpAddr, username: &str) -> Result<Attempt, Locked> {
        let mut l = self.limiter.lock().unwrap_or_else(|e| e.into_inner());
        let result = l.begin(client, username, Instant::now());
        let counter = match &result {
            Err(_) => Some(&self.counts.refused),
            Ok(a) if !a.delay().is_zero() => Some(&self.counts.delayed),
            Ok(_) => None,
        };
        if let Some(c) = counter {
            c.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    /// Count a failed sign-in; returns the lockout it starts, if any.
    pub(crate) fn login_failed(&self, attempt: Attempt) -> Option<Lockout> {
        self.counts.failures.fetch_add(1, Ordering::Relaxed);
        let mut l = self.limiter.lock().unwrap_or_else(|e| e.into_inner());
        let lockout = l.failed(attempt, Instant::now());
        if lockout.is_some() {
            self.counts.lockouts.fetch_add(1, Ordering::Relaxed);
        }
        lockout
    }

    /// A successful sign-in takes its attempt back.
    pub(crate) fn login_succeeded(&self, attempt: Attempt) {
        let mut l = self.limiter.lock().unwrap_or_else(|e| e.into_inner());
        l.succeeded(attempt);
    }

    /// Sign-in outcomes since start.
    pub(crate) fn login_counts(&self) -> &LoginCounts {
        &self.counts
    }

    fn proxy_csrf(&self, name: &str) -> String {
        type HmacSha256 = hmac::Hmac<Sha256>;
        let Ok(mut mac) = HmacSha256::new_from_slice(&self.key) else {
            return random_token();
        };
        mac.update(b"csrf:");
        mac.update(name.as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    /// Who sent these headers from `peer`, with their CSRF token.
    pub(crate) fn identify(
        &self,
        headers: &HeaderMap,
        peer: IpAddr,
    ) -> Option<(Principal, String)> {
        if let Some((nets, header, proxy)) = &self.proxy
            && nets.iter().any(|n| n.contains(peer))
            && let Some(name) = headers.get(header).and_then(|v| v.to_str().ok())
        {
            let name = name.trim();
            if name.is_empty() {
                return None;
            }
            let role = proxy.roles.get(name).copied().or(proxy.default_role)?;
            let who = Principal {
                name: name.to_string(),
                role,
                email: name.contains('@').then(|| name.to_string()),
                via_proxy: true,
            };
            let csrf = self.proxy_csrf(name);
            return Some((who, csrf));
        }
        let id = session_id(headers)?;
        let sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        let s = sessions.get(id)?;
        (s.expires > Instant::now()).then(|| (s.who.clone(), s.csrf.clone()))
    }
}

/// The session id in the `Cookie` header.
pub(crate) fn session_id(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// A request from a signed-in person, with the session's CSRF token.
#[derive(Debug, Clone)]
pub struct Signed {
    /// Who.
    pub who: Principal,
    /// The token state-changing requests must carry.
    pub csrf: String,
}

impl Signed {
    /// Refuse unless the role is one of `roles`.
    pub(crate) fn require(&self, roles: &[Role], api: bool) -> Result<(), Box<Response>> {
        if roles.contains(&self.who.role) {
            Ok(())
        } else {
            Err(Box::new(forbidden(&self.who, api)))
        }
    }

    /// Refuse unless `token` is this session's CSRF token.
    pub(crate) fn check_csrf(&self, token: Option<&str>, api: bool) -> Result<(), Box<Response>> {
        match token {
            Some(t) if same(t, &self.csrf) => Ok(()),
            _ => Err(Box::new(if api {
                super::api::error(
                    StatusCode::FORBIDDEN,
                    "missing or wrong CSRF token; send the token from GET /api/session in the \
                     X-CSRF-Token header",
                )
            } else {
                super::pages::message_page(
                    StatusCode::FORBIDDEN,
                    "Request refused",
                    "The form's security token is missing or out of date. Go back, reload the \
                     page and try again.",
                )
            })),
        }
    }
}

/// The 403 answer for a role that may not see something.
pub(crate) fn forbidden(who: &Principal, api: bool) -> Response {
    let text = format!(
        "{} ({}) may not use this page; ask an administrator",
        who.name,
        who.role.as_str()
    );
    if api {
        super::api::error(StatusCode::FORBIDDEN, &text)
    } else {
        super::pages::message_page(StatusCode::FORBIDDEN, "Forbidden", &text)
    }
}

/// Whether the request's `Origin` names another site than its `Host` (or
/// the `X-Forwarded-Host` a reverse proxy that rewrites `Host` sets). A
/// browser sends `Origin` on every POST; a form on another site posting
/// here (with this site's cookies) shows that site's origin, and a page
/// cannot set `Host` or `X-Forwarded-Host` on a form submission.
pub(crate) fn cross_site(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return false;
    };
    let origin = origin.to_str().unwrap_or("");
    let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or(origin);
    let matches = |name: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|h| h.to_str().ok())
            .flat_map(|h| h.split(','))
            .any(|h| h.trim().eq_ignore_ascii_case(origin_host))
    };
    !(matches("host") || matches("x-forwarded-host"))
}

fn peer(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

impl FromRequestParts<std::sync::Arc<AppState>> for Signed {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &std::sync::Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let api = parts.uri.path().starts_with("/api/");
        if parts.method != axum::http::Method::GET
            && parts.method != axum::http::Method::HEAD
            && cross_site(&parts.headers)
        {
            return Err((StatusCode::FORBIDDEN, "cross-site request refused").into_response());
        }
        match state.auth.identify(&parts.headers, peer(parts)) {
            Some((who, csrf)) => Ok(Signed { who, csrf }),
            None if api => Err(super::api::error(
                StatusCode::UNAUTHORIZED,
                "not signed in; POST /login first or come through the single sign-on proxy",
            )),
            None => Err(Redirect::to("/login").into_response()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> WebConfig {
        toml::from_str(
            "[[accounts]]\nusername = \"fin\"\nrole = \"finance\"\n\
             password_hash = \"pbkdf2-sha256$1000$salt$EF415427BA2C87A88DF9D9A5B67E840D7F4A1E438A428B4629CFA32C301D91EF\"\n\
             [trusted_proxy]\naddresses = [\"10.9.0.1\"]\nroles = { alice = \"admin\" }\n",
        )
        .unwrap()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn sessions_identify_until_closed() {
        let auth = Auth::new(&cfg());
        let who = Principal {
            name: "fin".into(),
            role: Role::Finance,
            email: None,
            via_proxy: false,
        };
        let id = auth.open_session(who.clone());
        let cookie = format!("a=b; {SESSION_COOKIE}={id}");
        let h = headers(&[("cookie", &cookie)]);
        let (found, csrf) = auth.identify(&h, "127.0.0.1".parse().unwrap()).unwrap();
        assert_eq!(found, who);
        assert_eq!(csrf.len(), 64);
        auth.close_session(&id);
        assert!(auth.identify(&h, "127.0.0.1".parse().unwrap()).is_none());
        assert!(
            auth.cookie(&id, false)
                .contains("HttpOnly; SameSite=Strict")
        );
        assert!(!auth.cookie(&id, false).contains("Secure"));
        assert!(auth.cookie(&id, true).ends_with("; Secure"));
        assert!(Auth::expired_cookie(true).contains("Max-Age=0; Secure"));
    }

    #[test]
    fn secure_cookie_follows_the_trusted_proxy_in_auto_mode() {
        let auth = Auth::new(&cfg());
        let proxy: IpAddr = "10.9.0.1".parse().unwrap();
        let other: IpAddr = "10.9.0.2".parse().unwrap();
        let https = headers(&[("x-forwarded-proto", "https")]);
        let http = headers(&[("x-forwarded-proto", "http")]);
        assert!(auth.cookie_secure(&https, proxy));
        assert!(!auth.cookie_secure(&http, proxy));
        assert!(!auth.cookie_secure(&HeaderMap::new(), proxy));
        assert!(
            !auth.cookie_secure(&https, other),
            "the header counts only from the proxy"
        );
        let mut always = cfg();
        always.secure_cookies = SecureCookies::Always;
        assert!(Auth::new(&always).cookie_secure(&HeaderMap::new(), other));
        let mut never = cfg();
        never.secure_cookies = SecureCookies::Never;
        assert!(!Auth::new(&never).cookie_secure(&https, proxy));
    }

    #[test]
    fn client_address_comes_from_the_proxy_only() {
        let auth = Auth::new(&cfg());
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 192.0.2.7")]);
        let proxy: IpAddr = "10.9.0.1".parse().unwrap();
        assert_eq!(
            auth.client_address(&h, proxy),
            "192.0.2.7".parse::<IpAddr>().unwrap()
        );
        let direct: IpAddr = "10.9.0.2".parse().unwrap();
        assert_eq!(auth.client_address(&h, direct), direct);
        assert_eq!(auth.client_address(&HeaderMap::new(), proxy), proxy);
        let h = headers(&[("x-forwarded-for", "192.0.2.7, unknown")]);
        assert_eq!(auth.client_address(&h, proxy), proxy);
    }

    #[test]
    fn proxy_header_only_from_the_proxy() {
        let auth = Auth::new(&cfg());
        let h = headers(&[("x-remote-user", "alice")]);
        let (who, csrf) = auth.identify(&h, "10.9.0.1".parse().unwrap()).unwrap();
        assert_eq!(who.role, Role::Admin);
        assert!(who.via_proxy);
        assert_eq!(csrf, auth.proxy_csrf("alice"));
        assert!(auth.identify(&h, "10.9.0.2".parse().unwrap()).is_none());
        // A name the proxy may not map (no default role) is refused.
        let h = headers(&[("x-remote-user", "mallory")]);
        assert!(auth.identify(&h, "10.9.0.1".parse().unwrap()).is_none());
    }

    #[test]
    fn wrong_passwords_are_refused() {
        let auth = Auth::new(&cfg());
        assert_eq!(auth.verify("fin", "finpass").unwrap().role, Role::Finance);
        assert!(auth.verify("fin", "wrong").is_none());
        assert!(auth.verify("nobody", "wrong").is_none());
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
    }

    #[test]
    fn origin_must_be_this_site() {
        let own = headers(&[
            ("host", "fax.example:8080"),
            ("origin", "http://fax.example:8080"),
        ]);
        assert!(!cross_site(&own));
        assert!(!cross_site(&headers(&[("host", "fax.example")])));
        let evil = headers(&[("host", "fax.example"), ("origin", "https://evil.example")]);
        assert!(cross_site(&evil));
        let proxied = headers(&[
            ("host", "127.0.0.1:8080"),
            ("x-forwarded-host", "fax.example"),
            ("origin", "https://fax.example"),
        ]);
        assert!(!cross_site(&proxied));
    }
}
