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
//! answer_timeout_secs = 20           # 1..=30; then 480 (INVITE) or 488 (re-INVITE)
//!
//! [[sip.peers]]                      # trusted by source address
//! name = "trunk"
//! addresses = ["192.0.2.0/24"]
//!
//! [[sip.peers]]                      # known address and digest credentials
//! name = "ata-lobby"
//! addresses = ["10.1.0.5"]
//! account = { username = "ata1", password = "secret" }
//!
//! [sip.auth]                         # unknown sources: challenge (absent: 403)
//! accounts = [{ username = "roaming", password = "secret" }]
//!
//! [sip.routing]
//! default_route = "inbox"            # absent: unknown numbers get 404
//! routes = [{ did = "+44 161 555 0100", route = "sales" }, { did = "0161*", route = "mcr" }]
//! ```

use std::net::SocketAddr;

use serde::Deserialize;

use super::acl::{Account, Acl, Cidr, Peer};
use super::digest::DigestAlgorithm;
use super::routing::{RouteRule, RoutingTable};

/// A transport the endpoint listens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    /// SIP over UDP (RFC 3261 §18).
    Udp,
    /// SIP over TCP.
    Tcp,
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
    pub answer_timeout_secs: u64,
    /// Known peers.
    pub peers: Vec<PeerConfig>,
    /// Digest accounts accepted from sources no peer covers. Without any,
    /// unknown sources get 403.
    pub auth: AuthConfig,
    /// Called-number routing.
    pub routing: RoutingConfig,
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
            peers: Vec::new(),
            auth: AuthConfig::default(),
            routing: RoutingConfig::default(),
        }
    }
}

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
}

/// `[sip.auth]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Accounts accepted from unknown sources.
    pub accounts: Vec<Account>,
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
        source: super::acl::CidrError,
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
    /// A route rule with an empty DID or route.
    #[error("sip.routing.routes has an empty `did` or `route`; fill both in")]
    EmptyRoute,
}

impl SipConfig {
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
            });
        }
        Ok(Acl::new(peers, self.auth.accounts.clone()))
    }

    /// Compiles the routing table.
    pub fn routing_table(&self) -> RoutingTable {
        RoutingTable::new(&self.routing.routes, self.routing.default_route.clone())
    }

    /// Validates the whole section.
    pub fn validate(&self) -> Result<(), SipConfigError> {
        if self.transports.is_empty() {
            return Err(SipConfigError::NoTransport);
        }
        let has_accounts =
            !self.auth.accounts.is_empty() || self.peers.iter().any(|p| p.account.is_some());
        if has_accounts && self.digest_algorithms.is_empty() {
            return Err(SipConfigError::NoAlgorithm);
        }
        if !(1..=30).contains(&self.answer_timeout_secs) {
            return Err(SipConfigError::AnswerTimeout(self.answer_timeout_secs));
        }
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
            [auth]
            accounts = [{ username = "roamer", password = "x" }]
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
            "digest_algorithms = []\n[auth]\naccounts = [{ username = \"a\", password = \"b\" }]",
        )
        .unwrap();
        assert_eq!(c.validate(), Err(SipConfigError::NoAlgorithm));
        let c: SipConfig = toml::from_str("answer_timeout_secs = 60").unwrap();
        assert_eq!(c.validate(), Err(SipConfigError::AnswerTimeout(60)));
    }
}
