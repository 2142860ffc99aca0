//! `[sip]` configuration: listeners, peers, digest accounts, DID routes.
//!
//! Parsed once at start (by the daemon's config loader or directly with
//! `toml`), validated by [`SipConfig::validate`], and handed to
//! [`super::SipEndpoint::start`]. Every key has a default:
//!
//! ```toml
//! [sip]
//! listen = "127.0.0.1:5060"          # one port for every transport
//! transports = ["udp", "tcp"]
//! # public_address = "192.0.2.10"    # Via/Contact address when listening on 0.0.0.0
//! user_agent = "faxbridge/0.1.0"
//! realm = "faxbridge"
//! digest_algorithms = ["MD5"]        # or ["SHA-256", "MD5"]
//! nonce_lifetime_secs = 300
//! answer_timeout_secs = 20           # 1..=30; then 480 (INVITE) or 488 (re-INVITE); bridged calls exempt
//! register_min_expires = 60          # ATA REGISTER lifetimes (s): shorter gets 423 Interval Too Brief,
//! register_max_expires = 3600        # longer is shortened, none asked for gets the default;
//! register_default_expires = 3600    # 1 <= min <= default <= max <= 86400
//! max_connections = 1000             # SIP over TCP and TLS, all sources together
//! max_connections_per_address = 32   # from one source address
//! first_request_secs = 10            # a new connection must send a whole request by then
//! tcp_idle_secs = 7200               # a connection silent this long is closed
//! max_calls_per_peer = 32            # calls in progress per peer or account; then 503
//! # SIP over TLS (RFC 3261 §26, RFC 5630), off unless tls_listen is set:
//! # tls_listen = "0.0.0.0:5061"
//! # tls_cert = "/etc/faxbridge/sip-cert.pem"   # PEM chain, leaf first
//! # tls_key = "/etc/faxbridge/sip-key.pem"     # PEM private key (PKCS#8, PKCS#1 or SEC1)
//! # tls_ca = "/etc/faxbridge/sip-ca.pem"       # trust anchors for outgoing sips: calls
//!
//! [[sip.peers]]                      # trusted by source address
//! name = "trunk"
//! addresses = ["192.0.2.0/24"]
//!
//! [[sip.peers]]                      # known address and digest credentials
//! name = "ata-lobby"
//! addresses = ["10.1.0.5"]
//! account = { username = "ata1", password = "secret" }
//! max_calls = 4                      # default: max_calls_per_peer
//!
//! [sip.auth]                         # sources no peer covers: challenge (else 403)
//! accounts = [{ username = "roaming", password = "secret", sources = ["198.51.100.0/24"] }]
//!
//! [sip.routing]
//! default_route = "inbox"            # absent: unknown numbers get 404
//! routes = [{ did = "+44 161 555 0100", route = "sales" }, { did = "0161*", route = "mcr" }]
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::acl::{Account, Acl, AuthAccount, Peer, SourceAccount, Sources};
use super::digest::DigestAlgorithm;
use super::registrar::ExpiryPolicy;
use crate::net::Cidr;
use crate::problem::{Problem, Validate};
use crate::routing::did::{RouteRule, RoutingTable};

/// A transport the endpoint listens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    /// SIP over UDP (RFC 3261 §18).
    Udp,
    /// SIP over TCP.
    Tcp,
    /// SIP over TLS (RFC 3261 §26.2). Not a member of `sip.transports`: it
    /// listens on its own address, `sip.tls_listen`.
    Tls,
}

/// `[sip]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SipConfig {
    /// Address to listen on, for every transport (SIP uses one port for UDP
    /// and TCP). Port 0 picks a free port (tests).
    pub listen: SocketAddr,
    /// Transports to listen on.
    pub transports: Vec<TransportKind>,
    /// Address written into Via, Contact and From. Default: the listen
    /// address, or the first non-loopback IPv4 interface when listening on
    /// `0.0.0.0`. Set it when peers must reach faxbridge at another address.
    pub public_address: Option<std::net::IpAddr>,
    /// `User-Agent`/`Server` value.
    pub user_agent: String,
    /// Digest realm in challenges.
    pub realm: String,
    /// Digest algorithms offered, in order (RFC 8760 asks SHA-256 first).
    pub digest_algorithms: Vec<DigestAlgorithm>,
    /// How long a nonce stays valid, in seconds.
    pub nonce_lifetime_secs: u64,
    /// How long the call handler may take to answer an INVITE or re-INVITE,
    /// in seconds, before the endpoint answers 480 (or 488 for re-INVITEs).
    /// INVITEs routed to the bridge (calls to and from ATA ports) are
    /// exempt: their answer waits for a person to pick up the phone at the
    /// far end, which rings as long as that side lets it.
    pub answer_timeout_secs: u64,
    /// Shortest registration lifetime the registrar grants ATA ports, in
    /// seconds; a REGISTER asking less (other than 0) gets 423 Interval Too
    /// Brief with this as `Min-Expires` (RFC 3261 §10.3 step 7).
    pub register_min_expires: u32,
    /// Longest lifetime granted, in seconds; longer requests are shortened
    /// to it, so a port that went away is forgotten within this time.
    pub register_max_expires: u32,
    /// Lifetime granted to a REGISTER that names none (no `expires`
    /// parameter nor `Expires` header), in seconds.
    pub register_default_expires: u32,
    /// Known peers.
    pub peers: Vec<PeerConfig>,
    /// Digest accounts accepted from sources no peer covers. Without any,
    /// unknown sources get 403.
    pub auth: AuthConfig,
    /// Called-number routing.
    pub routing: RoutingConfig,
    /// Address of the SIP-over-TLS listener (`sips:` and `;transport=tls`),
    /// conventionally port 5061. Unset: no TLS listener.
    pub tls_listen: Option<SocketAddr>,
    /// PEM certificate chain the TLS listener presents, leaf first. Peers
    /// verify it against the address or name they dial, so it needs a
    /// subjectAltName for it.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// PEM trust anchors for verifying the far end on outgoing TLS
    /// connections. Unset: the system bundle
    /// `/etc/ssl/certs/ca-certificates.crt` when present.
    pub tls_ca: Option<PathBuf>,
    /// Most SIP-over-TCP and TLS connections open at once, from every
    /// source together. Lowered at start when the process's descriptor
    /// limit could not hold them beside the calls and the store.
    pub max_connections: u32,
    /// Most such connections open at once from one source address.
    pub max_connections_per_address: u32,
    /// Seconds a new TCP or TLS connection has to send its first whole
    /// request (for TLS: to finish the handshake, then again to send the
    /// request); then it is closed.
    pub first_request_secs: u64,
    /// Seconds a TCP or TLS connection may stay silent before it is closed.
    /// A fax call over TCP sends nothing on the SIP connection between its
    /// INVITE and its BYE, so this must outlast the longest call (a
    /// 50-page fax at 2400 bit/s takes about an hour); shorter values free
    /// descriptors of vanished peers sooner but cut such calls' BYE off
    /// (the call itself continues on its media sockets).
    pub tcp_idle_secs: u64,
    /// Calls in progress allowed per peer or account unless its entry sets
    /// `max_calls`; beyond it INVITEs get 503 with Retry-After. Emergency
    /// calls are never refused by it.
    pub max_calls_per_peer: u32,
}

impl Default for SipConfig {
    fn default() -> Self {
        SipConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 5060)),
            transports: vec![TransportKind::Udp, TransportKind::Tcp],
            public_address: None,
            user_agent: concat!("faxbridge/", env!("CARGO_PKG_VERSION")).to_string(),
            realm: "faxbridge".to_string(),
            digest_algorithms: vec![DigestAlgorithm::Md5],
            nonce_lifetime_secs: 300,
            answer_timeout_secs: 20,
            register_min_expires: ExpiryPolicy::default().min_secs,
            register_max_expires: ExpiryPolicy::default().max_secs,
            register_default_expires: ExpiryPolicy::default().default_secs,
            peers: Vec::new(),
            auth: AuthConfig::default(),
            routing: RoutingConfig::default(),
            tls_listen: None,
            tls_cert: None,
            tls_key: None,
            tls_ca: None,
            max_connections: 1000,
            max_connections_per_address: 32,
            first_request_secs: 10,
            tcp_idle_secs: 2 * 3600,
            max_calls_per_peer: 32,
        }
    }
}

/// Upper bound for `sip.register_max_expires`: a day. A longer binding
/// would keep sending calls to a port that was moved or unplugged.
pub const MAX_REGISTER_EXPIRES: u32 = 86_400;

/// `[[sip.peers]]`: a trunk, PBX or ATA.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerConfig {
    /// Name for logs and the call handler.
    pub name: String,
    /// Source addresses or CIDR blocks, e.g. `["192.0.2.10", "10.1.0.0/16"]`.
    pub addresses: Vec<String>,
    /// Optional digest credentials this peer must also present.
    pub account: Option<Account>,
    /// Calls in progress allowed from this peer; default
    /// `sip.max_calls_per_peer`.
    #[serde(default)]
    pub max_calls: Option<u32>,
}

/// `[sip.auth]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Accounts accepted from sources no peer covers, each limited to the
    /// sources it lists.
    pub accounts: Vec<AuthAccount>,
}

/// `[sip.routing]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoutingConfig {
    /// Route for numbers no rule matches; unset means 404 for them.
    pub default_route: Option<String>,
    /// `[[sip.routing.routes]]` rules.
    pub routes: Vec<RouteRule>,
}

/// A `[sip]` value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SipConfigError {
    /// `sip.transports` is empty.
    #[error("sip.transports is empty; list at least one of \"udp\", \"tcp\"")]
    NoTransport,
    /// A peer address is unreadable.
    #[error("sip.peers `{peer}`: {source}")]
    PeerAddress {
        /// The peer's name.
        peer: String,
        /// The parse error.
        source: crate::net::CidrError,
    },
    /// A peer without addresses.
    #[error("sip.peers `{0}` has no addresses; add its IP or CIDR block to `addresses`")]
    PeerWithoutAddress(String),
    /// No digest algorithm but accounts configured.
    #[error("sip.digest_algorithms is empty but accounts are configured; add \"MD5\"")]
    NoAlgorithm,
    /// The answer timeout is outside what SIP allows.
    #[error(
        "sip.answer_timeout_secs = {0} is outside 1..=30; a UAS must answer within 32 s (64*T1) or the stack gives up"
    )]
    AnswerTimeout(u64),
    /// A registration lifetime of 0, or one longer than a day.
    #[error(
        "sip.{key} = {value} is outside 1..=86400; give a lifetime in seconds (the defaults are register_min_expires = 60, register_default_expires = 3600, register_max_expires = 3600)"
    )]
    RegisterExpiresRange {
        /// The key.
        key: &'static str,
        /// Its value.
        value: u32,
    },
    /// The registration lifetimes are not ordered min ≤ default ≤ max.
    #[error(
        "sip.{key} = {value} is {relation} sip.{other} = {other_value}; they must satisfy register_min_expires <= register_default_expires <= register_max_expires: {fix}"
    )]
    RegisterExpiresOrder {
        /// The key at fault.
        key: &'static str,
        /// Its value.
        value: u32,
        /// `below` or `above`.
        relation: &'static str,
        /// The key it conflicts with.
        other: &'static str,
        /// That key's value.
        other_value: u32,
        /// What to change.
        fix: &'static str,
    },
    /// A `[sip.auth]` account without `sources`.
    #[error(
        "sip.auth account `{0}` has no `sources`; list the addresses it may be used from, e.g. sources = [\"198.51.100.0/24\"], or write sources = [\"any\"] to allow every address"
    )]
    AccountWithoutSources(String),
    /// A `[sip.auth]` account source that is no address or block.
    #[error("sip.auth account `{account}` sources: {source}, or \"any\"")]
    AccountSource {
        /// The username.
        account: String,
        /// The parse error.
        source: crate::net::CidrError,
    },
    /// `"any"` beside addresses in one account's sources.
    #[error(
        "sip.auth account `{0}` lists \"any\" beside addresses in `sources`; keep either sources = [\"any\"] or the addresses"
    )]
    AccountAnyAndAddresses(String),
    /// A limit of 0 (or otherwise unusable).
    #[error("sip.{key} = {value} {problem}; {fix}")]
    Limit {
        /// The key.
        key: String,
        /// Its value.
        value: u64,
        /// What is wrong with it.
        problem: &'static str,
        /// The fix line.
        fix: &'static str,
    },
    /// A route rule with an empty DID or route.
    #[error("sip.routing.routes has an empty `did` or `route`; fill both in")]
    EmptyRoute,
    /// `"tls"` listed in `sip.transports`.
    #[error(
        "sip.transports lists \"tls\"; TLS has its own listener: remove it and set sip.tls_listen = \"0.0.0.0:5061\" with sip.tls_cert and sip.tls_key"
    )]
    TlsInTransports,
    /// `sip.tls_listen` without a certificate or key.
    #[error(
        "sip.tls_listen is set but sip.{0} is not; give the path of its PEM file (tls_cert: the certificate chain, tls_key: its private key)"
    )]
    TlsMissing(&'static str),
    /// A certificate or key without `sip.tls_listen`.
    #[error(
        "sip.{0} is set but sip.tls_listen is not; set tls_listen = \"0.0.0.0:5061\" to accept SIP over TLS, or remove sip.{0}"
    )]
    TlsUnused(&'static str),
    /// A TLS file that cannot be used.
    #[error("sip.{key} = \"{path}\": {problem}")]
    TlsFile {
        /// The key naming the file.
        key: &'static str,
        /// The path.
        path: String,
        /// What is wrong and what to do.
        problem: String,
    },
}

/// The PEM material of a TLS listener and of outgoing TLS, read and checked.
#[derive(Clone)]
pub(crate) struct TlsMaterial {
    /// The certificate chain (PEM) and key (PEM) for the listener.
    pub(crate) identity: Option<(Vec<u8>, Vec<u8>)>,
    /// Trust anchors (PEM) for outgoing connections, if any were found.
    pub(crate) ca: Option<Vec<u8>>,
}

/// The system trust bundle on Debian and its derivatives.
const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

fn read_pem(key: &'static str, path: &Path) -> Result<Vec<u8>, SipConfigError> {
    crate::durable::read_bounded(path, crate::durable::CONFIG_FILE_LIMIT).map_err(|e| {
        SipConfigError::TlsFile {
            key,
            path: path.display().to_string(),
            problem: format!("cannot read it ({e}); check the path and that faxbridge may read it"),
        }
    })
}

fn certificates(
    key: &'static str,
    path: &Path,
    pem: &[u8],
) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, SipConfigError> {
    use rustls::pki_types::pem::PemObject;
    let bad = |problem: String| SipConfigError::TlsFile {
        key,
        path: path.display().to_string(),
        problem,
    };
    let certs = rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("unreadable PEM ({e}); give a PEM file")))?;
    if certs.is_empty() {
        return Err(bad(
            "holds no `BEGIN CERTIFICATE` block; give the PEM certificate file".into(),
        ));
    }
    Ok(certs)
}

/// The compiled `sources` of a `[sip.auth]` account.
fn account_sources(a: &AuthAccount) -> Result<Sources, SipConfigError> {
    if a.sources.is_empty() {
        return Err(SipConfigError::AccountWithoutSources(a.username.clone()));
    }
    let any = a
        .sources
        .iter()
        .filter(|s| s.trim().eq_ignore_ascii_case("any"))
        .count();
    if any > 0 {
        return if any == a.sources.len() {
            Ok(Sources::Any)
        } else {
            Err(SipConfigError::AccountAnyAndAddresses(a.username.clone()))
        };
    }
    a.sources
        .iter()
        .map(|s| s.parse::<Cidr>())
        .collect::<Result<Vec<_>, _>>()
        .map(Sources::Networks)
        .map_err(|source| SipConfigError::AccountSource {
            account: a.username.clone(),
            source,
        })
}

impl SipConfig {
    /// Reads and checks the TLS files: the certificate chain must parse, the
    /// key must parse and belong to the certificate, the CA file must hold
    /// certificates.
    pub(crate) fn tls_material(&self) -> Result<TlsMaterial, SipConfigError> {
        use rustls::pki_types::PrivateKeyDer;
        use rustls::pki_types::pem::PemObject;
        let identity = match (&self.tls_listen, &self.tls_cert, &self.tls_key) {
            (None, Some(_), _) => return Err(SipConfigError::TlsUnused("tls_cert")),
            (None, None, Some(_)) => return Err(SipConfigError::TlsUnused("tls_key")),
            (None, None, None) => None,
            (Some(_), None, _) => return Err(SipConfigError::TlsMissing("tls_cert")),
            (Some(_), Some(_), None) => return Err(SipConfigError::TlsMissing("tls_key")),
            (Some(_), Some(cert_path), Some(key_path)) => {
                let cert_pem = read_pem("tls_cert", cert_path)?;
                let certs = certificates("tls_cert", cert_path, &cert_pem)?;
                let key_pem = read_pem("tls_key", key_path)?;
                let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
                    SipConfigError::TlsFile {
                        key: "tls_key",
                        path: key_path.display().to_string(),
                        problem: format!(
                            "holds no usable private key ({e}); give the PEM key (PKCS#8, PKCS#1 or SEC1) of sip.tls_cert"
                        ),
                    }
                })?;
                let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
                rustls::ServerConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key))
                    .map_err(|e| SipConfigError::TlsFile {
                        key: "tls_key",
                        path: key_path.display().to_string(),
                        problem: format!(
                            "does not fit sip.tls_cert ({e}); give the key the certificate was issued for"
                        ),
                    })?;
                Some((cert_pem, key_pem))
            }
        };
        let ca = match &self.tls_ca {
            Some(path) => {
                let pem = read_pem("tls_ca", path)?;
                certificates("tls_ca", path, &pem)?;
                Some(pem)
            }
            None => crate::durable::read_bounded(
                Path::new(SYSTEM_CA_BUNDLE),
                crate::durable::CONFIG_FILE_LIMIT,
            )
            .ok(),
        };
        Ok(TlsMaterial { identity, ca })
    }

    /// Checks the values and compiles the ACL.
    pub fn acl(&self) -> Result<Acl, SipConfigError> {
        let mut peers = Vec::new();
        for p in &self.peers {
            if p.addresses.is_empty() {
                return Err(SipConfigError::PeerWithoutAddress(p.name.clone()));
            }
            let networks = p
                .addresses
                .iter()
                .map(|a| a.parse::<Cidr>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|source| SipConfigError::PeerAddress {
                    peer: p.name.clone(),
                    source,
                })?;
            peers.push(Peer {
                name: p.name.clone(),
                networks,
                account: p.account.clone(),
                max_calls: p.max_calls.unwrap_or(self.max_calls_per_peer),
            });
        }
        let mut accounts = Vec::new();
        for a in &self.auth.accounts {
            accounts.push(SourceAccount {
                account: Account {
                    username: a.username.clone(),
                    password: a.password.clone(),
                },
                sources: account_sources(a)?,
                max_calls: a.max_calls.unwrap_or(self.max_calls_per_peer),
            });
        }
        Ok(Acl::new(peers, accounts))
    }

    /// Checks the connection and call limits.
    fn validate_limits(&self) -> Result<(), SipConfigError> {
        let limit = |key: &str, value: u64, problem, fix| {
            Err(SipConfigError::Limit {
                key: key.to_string(),
                value,
                problem,
                fix,
            })
        };
        if self.max_connections == 0 {
            return limit(
                "max_connections",
                0,
                "admits no TCP or TLS connection",
                "give at least 1 (default 1000), or drop \"tcp\" from sip.transports",
            );
        }
        if self.max_connections_per_address == 0 {
            return limit(
                "max_connections_per_address",
                0,
                "admits no TCP or TLS connection",
                "give at least 1 (default 32)",
            );
        }
        if !(1..=300).contains(&self.first_request_secs) {
            return limit(
                "first_request_secs",
                self.first_request_secs,
                "is outside 1..=300",
                "give the seconds a new connection has to send its first request (default 10)",
            );
        }
        if self.tcp_idle_secs < self.first_request_secs {
            return limit(
                "tcp_idle_secs",
                self.tcp_idle_secs,
                "is shorter than sip.first_request_secs",
                "give at least the length of the longest fax call in seconds (default 7200)",
            );
        }
        if self.max_calls_per_peer == 0 {
            return limit(
                "max_calls_per_peer",
                0,
                "admits no call",
                "give at least 1 (default 32)",
            );
        }
        for p in &self.peers {
            if p.max_calls == Some(0) {
                return limit(
                    &format!("peers `{}` max_calls", p.name),
                    0,
                    "admits no call from it",
                    "give at least 1, or remove the peer",
                );
            }
        }
        for a in &self.auth.accounts {
            if a.max_calls == Some(0) {
                return limit(
                    &format!("auth account `{}` max_calls", a.username),
                    0,
                    "admits no call under it",
                    "give at least 1, or remove the account",
                );
            }
        }
        Ok(())
    }

    /// Compiles the routing table.
    pub fn routing_table(&self) -> RoutingTable {
        RoutingTable::new(&self.routing.routes, self.routing.default_route.clone())
    }

    /// A router for fax reception alone: the listed numbers and the
    /// default route, no ATAs and no trunk (the daemon gives the endpoint
    /// its full router once the bridge is configured).
    pub fn fax_router(&self) -> crate::routing::Router {
        crate::routing::Router::fax_only(&self.routing.routes, self.routing.default_route.clone())
    }

    /// The registrar's lifetimes (`register_*_expires`), as validated by
    /// [`SipConfig::validate`].
    pub fn register_expiry(&self) -> ExpiryPolicy {
        ExpiryPolicy {
            min_secs: self.register_min_expires,
            max_secs: self.register_max_expires,
            default_secs: self.register_default_expires,
        }
    }

    /// `1 <= min <= default <= max <= 86400` for the registrar's lifetimes.
    fn validate_register_expiry(&self) -> Result<(), SipConfigError> {
        let (min, default, max) = (
            self.register_min_expires,
            self.register_default_expires,
            self.register_max_expires,
        );
        for (key, value) in [
            ("register_min_expires", min),
            ("register_default_expires", default),
            ("register_max_expires", max),
        ] {
            if !(1..=MAX_REGISTER_EXPIRES).contains(&value) {
                return Err(SipConfigError::RegisterExpiresRange { key, value });
            }
        }
        if min > max {
            return Err(SipConfigError::RegisterExpiresOrder {
                key: "register_min_expires",
                value: min,
                relation: "above",
                other: "register_max_expires",
                other_value: max,
                fix: "lower register_min_expires or raise register_max_expires",
            });
        }
        if default < min {
            return Err(SipConfigError::RegisterExpiresOrder {
                key: "register_default_expires",
                value: default,
                relation: "below",
                other: "register_min_expires",
                other_value: min,
                fix: "raise register_default_expires to at least register_min_expires",
            });
        }
        if default > max {
            return Err(SipConfigError::RegisterExpiresOrder {
                key: "register_default_expires",
                value: default,
                relation: "above",
                other: "register_max_expires",
                other_value: max,
                fix: "lower register_default_expires to at most register_max_expires",
            });
        }
        Ok(())
    }

    /// Validates the whole section.
    pub fn validate(&self) -> Result<(), SipConfigError> {
        if self.transports.is_empty() {
            return Err(SipConfigError::NoTransport);
        }
        if self.transports.contains(&TransportKind::Tls) {
            return Err(SipConfigError::TlsInTransports);
        }
        self.tls_material()?;
        let has_accounts =
            !self.auth.accounts.is_empty() || self.peers.iter().any(|p| p.account.is_some());
        if has_accounts && self.digest_algorithms.is_empty() {
            return Err(SipConfigError::NoAlgorithm);
        }
        if !(1..=30).contains(&self.answer_timeout_secs) {
            return Err(SipConfigError::AnswerTimeout(self.answer_timeout_secs));
        }
        self.validate_register_expiry()?;
        self.validate_limits()?;
        if self
            .routing
            .routes
            .iter()
            .any(|r| r.did.trim().is_empty() || r.route.trim().is_empty())
        {
            return Err(SipConfigError::EmptyRoute);
        }
        self.acl().map(|_| ())
    }
}

impl Validate for SipConfig {
    fn problems(&self) -> Vec<Problem> {
        match self.validate() {
            Ok(()) => Vec::new(),
            Err(e) => vec![Problem::new(
                "sip",
                e.to_string(),
                "see the [sip] section of config/faxbridge.example.toml",
            )],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let c: SipConfig = toml::from_str("").unwrap();
        assert_eq!(c.listen, "127.0.0.1:5060".parse().unwrap());
        assert_eq!(c.transports, vec![TransportKind::Udp, TransportKind::Tcp]);
        assert!(c.validate().is_ok());
    }

    #[test]
    fn full_section() {
        let c: SipConfig = toml::from_str(
            r#"
            listen = "0.0.0.0:5080"
            transports = ["udp"]
            realm = "fax.example"
            digest_algorithms = ["SHA-256", "MD5"]
            [[peers]]
            name = "trunk"
            addresses = ["192.0.2.0/24"]
            [[peers]]
            name = "ata-1"
            addresses = ["10.1.0.5"]
            account = { username = "ata1", password = "pw" }
            max_calls = 6
            [auth]
            accounts = [{ username = "roamer", password = "x", sources = ["198.51.100.0/24"] }]
            [routing]
            default_route = "inbox"
            routes = [{ did = "2000", route = "sales" }, { did = "0161*", route = "mcr" }]
            "#,
        )
        .unwrap();
        c.validate().unwrap();
        let acl = c.acl().unwrap();
        assert_eq!(
            acl.peer_for("10.1.0.5".parse().unwrap()).unwrap().name,
            "ata-1"
        );
        let t = c.routing_table();
        assert_eq!(t.route(Some("01610")), Some("mcr"));
        assert_eq!(t.route(Some("9")), Some("inbox"));
        use super::super::acl::Admitted;
        assert_eq!(acl.max_calls(&Admitted::Peer("ata-1".into())), Some(6));
        assert_eq!(acl.max_calls(&Admitted::Peer("trunk".into())), Some(32));
        assert_eq!(acl.max_calls(&Admitted::Account("roamer".into())), Some(32));
    }

    #[test]
    fn account_sources_are_required_and_checked() {
        let acc = |sources: &str| {
            toml::from_str::<SipConfig>(&format!(
                "[auth]\naccounts = [{{ username = \"r\", password = \"p\"{sources} }}]"
            ))
            .unwrap()
        };
        let e = acc("").validate().unwrap_err();
        assert_eq!(e, SipConfigError::AccountWithoutSources("r".into()));
        assert!(e.to_string().contains("sources = [\"any\"]"), "{e}");
        let e = acc(", sources = []").validate().unwrap_err();
        assert_eq!(e, SipConfigError::AccountWithoutSources("r".into()));
        let e = acc(", sources = [\"any\", \"10.0.0.0/8\"]")
            .validate()
            .unwrap_err();
        assert_eq!(e, SipConfigError::AccountAnyAndAddresses("r".into()));
        let e = acc(", sources = [\"10.0.0.0/33\"]").validate().unwrap_err();
        assert!(
            e.to_string()
                .starts_with("sip.auth account `r` sources: `10.0.0.0/33`"),
            "{e}"
        );
        for ok in [
            ", sources = [\"any\"]",
            ", sources = [\"ANY\"]",
            ", sources = [\"10.0.0.0/8\", \"192.0.2.7\"]",
        ] {
            acc(ok).validate().unwrap();
        }
    }

    #[test]
    fn connection_and_call_limits() {
        let c: SipConfig = toml::from_str("").unwrap();
        assert_eq!(
            (
                c.max_connections,
                c.max_connections_per_address,
                c.first_request_secs,
                c.tcp_idle_secs,
                c.max_calls_per_peer
            ),
            (1000, 32, 10, 7200, 32)
        );
        let table = [
            ("max_connections = 0", "sip.max_connections = 0 admits no"),
            (
                "max_connections_per_address = 0",
                "sip.max_connections_per_address = 0",
            ),
            (
                "first_request_secs = 0",
                "sip.first_request_secs = 0 is outside 1..=300",
            ),
            (
                "first_request_secs = 301",
                "sip.first_request_secs = 301 is outside",
            ),
            (
                "tcp_idle_secs = 5",
                "sip.tcp_idle_secs = 5 is shorter than sip.first_request_secs",
            ),
            (
                "max_calls_per_peer = 0",
                "sip.max_calls_per_peer = 0 admits no call",
            ),
            (
                "[[peers]]\nname = \"p\"\naddresses = [\"10.0.0.1\"]\nmax_calls = 0",
                "sip.peers `p` max_calls = 0",
            ),
            (
                "[auth]\naccounts = [{ username = \"r\", password = \"p\", sources = [\"any\"], max_calls = 0 }]",
                "sip.auth account `r` max_calls = 0",
            ),
        ];
        for (text, want) in table {
            let e = toml::from_str::<SipConfig>(text)
                .unwrap()
                .validate()
                .unwrap_err()
                .to_string();
            assert!(e.starts_with(want), "{text}: {e}");
        }
        let c: SipConfig =
            toml::from_str("first_request_secs = 3\ntcp_idle_secs = 3\nmax_connections = 5")
                .unwrap();
        c.validate().unwrap();
    }

    #[test]
    fn errors_name_the_key() {
        assert!(toml::from_str::<SipConfig>("listn = \"x\"").is_err());
        let c: SipConfig = toml::from_str("transports = []").unwrap();
        assert_eq!(c.validate(), Err(SipConfigError::NoTransport));
        let c: SipConfig =
            toml::from_str("[[peers]]\nname = \"p\"\naddresses = [\"10.0.0.0/40\"]").unwrap();
        let e = c.validate().unwrap_err();
        assert!(e.to_string().contains("sip.peers `p`"), "{e}");
        let c: SipConfig = toml::from_str("[[peers]]\nname = \"p\"\naddresses = []").unwrap();
        assert_eq!(
            c.validate(),
            Err(SipConfigError::PeerWithoutAddress("p".into()))
        );
        let c: SipConfig = toml::from_str(
            "digest_algorithms = []\n[auth]\naccounts = [{ username = \"a\", password = \"b\", sources = [\"any\"] }]",
        )
        .unwrap();
        assert_eq!(c.validate(), Err(SipConfigError::NoAlgorithm));
        let c: SipConfig = toml::from_str("answer_timeout_secs = 60").unwrap();
        assert_eq!(c.validate(), Err(SipConfigError::AnswerTimeout(60)));
    }

    #[test]
    fn tls_settings_are_checked_with_the_key_named() {
        let c: SipConfig = toml::from_str("transports = [\"udp\", \"tls\"]").unwrap();
        assert_eq!(c.validate(), Err(SipConfigError::TlsInTransports));
        let c: SipConfig = toml::from_str("tls_listen = \"127.0.0.1:5061\"").unwrap();
        let e = c.validate().unwrap_err();
        assert_eq!(e, SipConfigError::TlsMissing("tls_cert"));
        assert!(e.to_string().contains("sip.tls_cert"), "{e}");
        let c: SipConfig =
            toml::from_str("tls_listen = \"127.0.0.1:5061\"\ntls_cert = \"/x.pem\"").unwrap();
        assert_eq!(c.validate(), Err(SipConfigError::TlsMissing("tls_key")));
        let c: SipConfig = toml::from_str("tls_key = \"/x.pem\"").unwrap();
        let e = c.validate().unwrap_err();
        assert!(e.to_string().contains("sip.tls_listen"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("cert.pem");
        std::fs::write(&junk, "not a certificate\n").unwrap();
        let c: SipConfig = toml::from_str(&format!(
            "tls_listen = \"127.0.0.1:5061\"\ntls_cert = \"{}\"\ntls_key = \"{}\"",
            junk.display(),
            dir.path().join("missing.pem").display()
        ))
        .unwrap();
        let e = c.validate().unwrap_err();
        assert!(
            matches!(&e, SipConfigError::TlsFile { key: "tls_cert", problem, .. }
                if problem.contains("BEGIN CERTIFICATE")),
            "{e}"
        );
        let c: SipConfig = toml::from_str(&format!(
            "tls_ca = \"{}\"",
            dir.path().join("nope.pem").display()
        ))
        .unwrap();
        let e = c.validate().unwrap_err();
        assert!(e.to_string().starts_with("sip.tls_ca = "), "{e}");
    }

    #[test]
    fn register_expiry_defaults_and_keys() {
        let c: SipConfig = toml::from_str("").unwrap();
        assert_eq!(c.register_expiry(), ExpiryPolicy::default());
        assert_eq!(
            (
                c.register_min_expires,
                c.register_default_expires,
                c.register_max_expires
            ),
            (60, 3600, 3600)
        );
        let c: SipConfig = toml::from_str(
            "register_min_expires = 120\nregister_default_expires = 600\nregister_max_expires = 7200",
        )
        .unwrap();
        assert!(c.validate().is_ok());
        assert_eq!(
            c.register_expiry(),
            ExpiryPolicy {
                min_secs: 120,
                max_secs: 7200,
                default_secs: 600,
            }
        );
        // Equal bounds are allowed: one fixed lifetime.
        let c: SipConfig = toml::from_str(
            "register_min_expires = 300\nregister_default_expires = 300\nregister_max_expires = 300",
        )
        .unwrap();
        assert!(c.validate().is_ok());
    }

    #[test]
    fn register_expiry_must_be_ordered_and_in_range() {
        let err = |text: &str| {
            toml::from_str::<SipConfig>(text)
                .unwrap()
                .validate()
                .unwrap_err()
                .to_string()
        };
        let e = err("register_min_expires = 0");
        assert!(
            e.starts_with("sip.register_min_expires = 0 is outside 1..=86400"),
            "{e}"
        );
        let e = err("register_max_expires = 86401");
        assert!(
            e.starts_with("sip.register_max_expires = 86401 is outside"),
            "{e}"
        );
        let e = err("register_min_expires = 4000");
        assert!(
            e.starts_with(
                "sip.register_min_expires = 4000 is above sip.register_max_expires = 3600"
            ) && e.contains("lower register_min_expires or raise register_max_expires"),
            "{e}"
        );
        let e = err("register_min_expires = 120\nregister_default_expires = 90");
        assert!(
            e.starts_with(
                "sip.register_default_expires = 90 is below sip.register_min_expires = 120"
            ) && e.contains("raise register_default_expires"),
            "{e}"
        );
        let e = err("register_max_expires = 1800");
        assert!(
            e.starts_with(
                "sip.register_default_expires = 3600 is above sip.register_max_expires = 1800"
            ) && e.contains("lower register_default_expires"),
            "{e}"
        );
        // Unknown spellings are refused by name.
        let e = toml::from_str::<SipConfig>("register_expires = 60")
            .unwrap_err()
            .to_string();
        assert!(e.contains("register_expires"), "{e}");
    }
}
