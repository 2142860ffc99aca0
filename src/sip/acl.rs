//! Who may talk to the endpoint: configured peers by address, digest accounts.
//!
//! Trunks and ATAs are known by their source address (an IP or a CIDR block).
//! A peer may also be given digest credentials, in which case its requests
//! are challenged even from a known address. Requests from addresses no peer
//! covers are challenged when accounts for unknown sources are configured
//! (`[sip.auth]`), and refused with `403 Forbidden` otherwise (RFC 3261
//! §21.4.4: the server understood the request and refuses it; authorising
//! will not help).
//!
//! This module decides; it sends nothing. The endpoint turns the verdict into
//! a response.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use super::digest::{Credentials, NonceIssuer, NonceState};

/// An address block such as `10.20.0.0/16`, `2001:db8::/32` or a single host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

/// A CIDR block that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{input}` is not an address or CIDR block ({why}); write e.g. `192.0.2.7` or `10.1.0.0/16`"
)]
pub struct CidrError {
    input: String,
    why: &'static str,
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |why| CidrError {
            input: s.to_string(),
            why,
        };
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| err("bad address"))?;
        let addr = canonical(addr);
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().map_err(|_| err("bad prefix length"))?,
            None => max,
        };
        if prefix > max {
            return Err(err("prefix length too long for the address family"));
        }
        Ok(Cidr { addr, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Cidr {
    /// True when `ip` lies inside the block (IPv4-mapped IPv6 counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// A digest account: username and shared secret.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// Digest username.
    pub username: String,
    /// Shared secret.
    pub password: String,
}

/// A configured peer (trunk, PBX or ATA).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Name used in logs and handed to the call handler.
    pub name: String,
    /// Source blocks the peer sends from.
    pub networks: Vec<Cidr>,
    /// When set, requests from this peer must also pass digest authentication.
    pub account: Option<Account>,
}

/// Peers and accounts, ready to judge requests.
#[derive(Debug, Clone, Default)]
pub struct Acl {
    peers: Vec<Peer>,
    unknown_source_accounts: Vec<Account>,
}

/// The identity a request was admitted under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admitted {
    /// A configured peer (authenticated by digest too if it has an account).
    Peer(String),
    /// An unknown source that proved an account of `[sip.auth]`.
    Account(String),
}

impl Admitted {
    /// A name for logs and the call handler.
    pub fn name(&self) -> &str {
        match self {
            Admitted::Peer(n) | Admitted::Account(n) => n,
        }
    }
}

/// What to do with an out-of-dialog request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Serve it.
    Admit(Admitted),
    /// Answer `401` with a fresh challenge; `stale` when only the nonce expired.
    Challenge {
        /// RFC 7616 `stale=true`.
        stale: bool,
    },
    /// Answer `403 Forbidden`.
    Forbid,
}

/// What the request carried for authentication.
#[derive(Debug, Clone, Copy)]
pub struct AuthAttempt<'a> {
    /// Request method, part of the digest.
    pub method: &'a str,
    /// The parsed `Authorization` header, if one was present and readable.
    pub credentials: Option<&'a Credentials>,
}

impl Acl {
    /// Builds an ACL from peers and the accounts accepted from unknown sources.
    pub fn new(peers: Vec<Peer>, unknown_source_accounts: Vec<Account>) -> Self {
        Acl {
            peers,
            unknown_source_accounts,
        }
    }

    /// The first peer whose networks contain `source`.
    pub fn peer_for(&self, source: IpAddr) -> Option<&Peer> {
        self.peers
            .iter()
            .find(|p| p.networks.iter().any(|n| n.contains(source)))
    }

    /// Judges a request from `source`. `realm`, `nonces` and `now_secs`
    /// validate the digest when one is needed.
    pub fn judge(
        &self,
        source: IpAddr,
        attempt: AuthAttempt<'_>,
        realm: &str,
        nonces: &NonceIssuer,
        now_secs: u64,
    ) -> Verdict {
        // The accounts that may authenticate, and the peer they belong to
        // (`None`: an unknown source using a `[sip.auth]` account).
        let (accounts, peer_name): (Vec<&Account>, Option<&str>) = match self.peer_for(source) {
            Some(peer) => match &peer.account {
                None => return Verdict::Admit(Admitted::Peer(peer.name.clone())),
                Some(acc) => (vec![acc], Some(peer.name.as_str())),
            },
            None if self.unknown_source_accounts.is_empty() => return Verdict::Forbid,
            None => (self.unknown_source_accounts.iter().collect(), None),
        };
        let admitted = |a: &Account| match peer_name {
            Some(name) => Admitted::Peer(name.to_string()),
            None => Admitted::Account(a.username.clone()),
        };
        let Some(creds) = attempt.credentials else {
            return Verdict::Challenge { stale: false };
        };
        if creds.realm != realm {
            return Verdict::Challenge { stale: false };
        }
        let Some(account) = accounts.into_iter().find(|a| a.username == creds.username) else {
            // RFC 3261 §22.2: wrong credentials get a new challenge; the
            // client decides whether to give up.
            return Verdict::Challenge { stale: false };
        };
        match nonces.check(&creds.nonce, now_secs) {
            NonceState::Invalid => Verdict::Challenge { stale: false },
            state => {
                if !creds.verify(attempt.method, &account.password) {
                    Verdict::Challenge { stale: false }
                } else if state == NonceState::Stale {
                    Verdict::Challenge { stale: true }
                } else {
                    Verdict::Admit(admitted(account))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::digest::{DigestAlgorithm, DigestInput, compute_response};
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidr_parsing_and_matching() {
        let n: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(n.contains(ip("10.1.200.3")));
        assert!(!n.contains(ip("10.2.0.1")));
        assert!(n.contains(ip("::ffff:10.1.0.9")), "v4-mapped v6 source");
        let host: Cidr = "192.0.2.7".parse().unwrap();
        assert!(host.contains(ip("192.0.2.7")));
        assert!(!host.contains(ip("192.0.2.8")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.1")));
        assert!(!all.contains(ip("2001:db8::1")), "families never mix");
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:1::5")));
        assert!(!v6.contains(ip("2001:db9::5")));
        let v6all: Cidr = "::/0".parse().unwrap();
        assert!(v6all.contains(ip("2001:db9::5")));
        assert_eq!(v6.to_string(), "2001:db8::/32");
        for bad in ["10.0.0.0/33", "10.0.0/8", "x", "10.0.0.0/", "::/129"] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    fn acl() -> Acl {
        Acl::new(
            vec![
                Peer {
                    name: "trunk".into(),
                    networks: vec!["192.0.2.0/24".parse().unwrap()],
                    account: None,
                },
                Peer {
                    name: "ata-7".into(),
                    networks: vec!["10.7.0.5".parse().unwrap()],
                    account: Some(Account {
                        username: "ata7".into(),
                        password: "pw7".into(),
                    }),
                },
            ],
            vec![Account {
                username: "roamer".into(),
                password: "rpw".into(),
            }],
        )
    }

    fn creds(user: &str, pass: &str, nonce: &str, realm: &str) -> Credentials {
        let uri = "sip:100@192.0.2.1";
        let response = compute_response(&DigestInput {
            algorithm: DigestAlgorithm::Md5,
            username: user,
            realm,
            password: pass,
            method: "INVITE",
            uri,
            nonce,
            qop_auth: Some(("00000001", "c1")),
        });
        Credentials {
            username: user.into(),
            realm: realm.into(),
            nonce: nonce.into(),
            uri: uri.into(),
            response,
            algorithm: DigestAlgorithm::Md5,
            qop_auth: Some(("00000001".into(), "c1".into())),
        }
    }

    #[test]
    fn verdicts() {
        let acl = acl();
        let nonces = NonceIssuer::new([1; 32], 60);
        let now = 10_000;
        let nonce = nonces.issue(now);
        let judge = |src: &str, c: Option<&Credentials>, t: u64| {
            acl.judge(
                ip(src),
                AuthAttempt {
                    method: "INVITE",
                    credentials: c,
                },
                "fax",
                &nonces,
                t,
            )
        };
        // Trusted by address alone.
        assert_eq!(
            judge("192.0.2.50", None, now),
            Verdict::Admit(Admitted::Peer("trunk".into()))
        );
        // Known address with an account: challenged, then admitted.
        assert_eq!(
            judge("10.7.0.5", None, now),
            Verdict::Challenge { stale: false }
        );
        let good = creds("ata7", "pw7", &nonce, "fax");
        assert_eq!(
            judge("10.7.0.5", Some(&good), now),
            Verdict::Admit(Admitted::Peer("ata-7".into()))
        );
        // The peer's account is bound to the peer: the roamer cannot use it.
        let roamer_at_ata = creds("roamer", "rpw", &nonce, "fax");
        assert_eq!(
            judge("10.7.0.5", Some(&roamer_at_ata), now),
            Verdict::Challenge { stale: false }
        );
        // Unknown source with accounts configured: challenge, then admit.
        assert_eq!(
            judge("203.0.113.9", None, now),
            Verdict::Challenge { stale: false }
        );
        let roamer = creds("roamer", "rpw", &nonce, "fax");
        assert_eq!(
            judge("203.0.113.9", Some(&roamer), now),
            Verdict::Admit(Admitted::Account("roamer".into()))
        );
        // Wrong password, wrong realm, forged nonce: challenged again.
        let wrong = creds("roamer", "nope", &nonce, "fax");
        assert_eq!(
            judge("203.0.113.9", Some(&wrong), now),
            Verdict::Challenge { stale: false }
        );
        let realm = creds("roamer", "rpw", &nonce, "other");
        assert_eq!(
            judge("203.0.113.9", Some(&realm), now),
            Verdict::Challenge { stale: false }
        );
        let forged = creds("roamer", "rpw", "0000000000002710.deadbeef", "fax");
        assert_eq!(
            judge("203.0.113.9", Some(&forged), now),
            Verdict::Challenge { stale: false }
        );
        // Right password, old nonce: stale challenge.
        assert_eq!(
            judge("203.0.113.9", Some(&roamer), now + 61),
            Verdict::Challenge { stale: true }
        );
    }

    #[test]
    fn unknown_source_without_accounts_is_forbidden() {
        let acl = Acl::new(
            vec![Peer {
                name: "trunk".into(),
                networks: vec!["192.0.2.0/24".parse().unwrap()],
                account: None,
            }],
            vec![],
        );
        let nonces = NonceIssuer::new([1; 32], 60);
        let v = acl.judge(
            ip("198.51.100.1"),
            AuthAttempt {
                method: "OPTIONS",
                credentials: None,
            },
            "fax",
            &nonces,
            0,
        );
        assert_eq!(v, Verdict::Forbid);
        assert_eq!(acl.peer_for(ip("192.0.2.1")).unwrap().name, "trunk");
        assert!(acl.peer_for(ip("198.51.100.1")).is_none());
    }
}
