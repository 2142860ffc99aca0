//! Who may talk to the endpoint: configured peers by address, digest accounts.
//!
//! Trunks and ATAs are known by their source address (an IP or a CIDR block).
//! A peer may also be given digest credentials, in which case its requests
//! are challenged even from a known address. Requests from addresses no peer
//! covers are challenged when a `[sip.auth]` account may be used from there
//! (each account lists its `sources`, or says `any`), and refused with
//! `403 Forbidden` otherwise (RFC 3261 §21.4.4: the server understood the
//! request and refuses it; authorising will not help). An account used from
//! outside its sources is refused with 403 too, once its password proved
//! right (a wrong password is challenged again, so the answer tells nothing
//! about which usernames exist).
//!
//! Digest responses must use `qop=auth`, name the Request-URI in `uri=`,
//! and count up under each nonce (see [`super::digest`]).
//!
//! This module decides; it sends nothing. The endpoint turns the verdict into
//! a response.

use std::net::IpAddr;

use super::digest::{
    CountCheck, Credentials, NonceCounts, NonceIssuer, NonceState, parse_nonce_count, uri_matches,
};

use crate::net::Cidr;

/// A digest account: username and shared secret.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// Digest username.
    pub username: String,
    /// Shared secret.
    pub password: String,
}

/// Where a `[sip.auth]` account may be used from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sources {
    /// Any address (`sources = ["any"]`, said explicitly).
    Any,
    /// These blocks only.
    Networks(Vec<Cidr>),
}

impl Sources {
    /// True when a request from `ip` may use the account.
    pub fn allows(&self, ip: IpAddr) -> bool {
        match self {
            Sources::Any => true,
            Sources::Networks(nets) => nets.iter().any(|n| n.contains(ip)),
        }
    }
}

/// A `[sip.auth]` account as written in the configuration:
/// `{ username = "roaming", password = "…", sources = ["198.51.100.0/24"] }`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthAccount {
    /// Digest username.
    pub username: String,
    /// Shared secret.
    pub password: String,
    /// Addresses or CIDR blocks the account may be used from, or `["any"]`.
    /// Required: an account without sources is a configuration error.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Calls in progress allowed under this account (default:
    /// `sip.max_calls_per_peer`).
    #[serde(default)]
    pub max_calls: Option<u32>,
}

/// A `[sip.auth]` account, compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceAccount {
    /// Username and secret.
    pub account: Account,
    /// Where it may be used from.
    pub sources: Sources,
    /// Calls in progress allowed under it.
    pub max_calls: u32,
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
    /// Calls in progress allowed from this peer (emergency calls are
    /// never counted against it).
    pub max_calls: u32,
}

/// Peers and accounts, ready to judge requests.
#[derive(Debug, Clone, Default)]
pub struct Acl {
    peers: Vec<Peer>,
    unknown_source_accounts: Vec<SourceAccount>,
}

/// The identity a request was admitted under.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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
    Forbid(ForbidReason),
}

/// Why a request is refused with 403.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForbidReason {
    /// No peer covers the source and no account may be used from it.
    UnknownSource,
    /// The account's password was right but it may not be used from there.
    AccountSource,
}

/// What the request carried for authentication.
#[derive(Debug, Clone, Copy)]
pub struct AuthAttempt<'a> {
    /// Request method, part of the digest.
    pub method: &'a str,
    /// The Request-URI as received: the digest `uri=` must name it.
    pub request_uri: &'a str,
    /// The parsed `Authorization` header, if one was present and readable.
    pub credentials: Option<&'a Credentials>,
}

/// The digest state a judgement reads and updates.
#[derive(Debug)]
pub struct DigestState<'a> {
    /// Protection realm our challenges name.
    pub realm: &'a str,
    /// Issues and checks nonces.
    pub nonces: &'a NonceIssuer,
    /// Counts used under each nonce (replay detection).
    pub counts: &'a mut NonceCounts,
    /// Now, in seconds since the Unix epoch.
    pub now_secs: u64,
}

impl Acl {
    /// Builds an ACL from peers and the accounts accepted from sources no
    /// peer covers.
    pub fn new(peers: Vec<Peer>, unknown_source_accounts: Vec<SourceAccount>) -> Self {
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

    /// Calls in progress allowed for `admitted` (peer or account).
    pub fn max_calls(&self, admitted: &Admitted) -> Option<u32> {
        match admitted {
            Admitted::Peer(name) => self
                .peers
                .iter()
                .find(|p| &p.name == name)
                .map(|p| p.max_calls),
            Admitted::Account(user) => self
                .unknown_source_accounts
                .iter()
                .find(|a| &a.account.username == user)
                .map(|a| a.max_calls),
        }
    }

    /// The sum of every peer's and account's call limit: the most calls
    /// the limits let in at once (descriptors are reserved for them).
    pub fn total_max_calls(&self) -> u64 {
        self.peers
            .iter()
            .map(|p| u64::from(p.max_calls))
            .chain(
                self.unknown_source_accounts
                    .iter()
                    .map(|a| u64::from(a.max_calls)),
            )
            .sum()
    }

    /// Judges a request from `source`; `digest` validates the response when
    /// one is needed and records its nonce count.
    pub fn judge(
        &self,
        source: IpAddr,
        attempt: AuthAttempt<'_>,
        digest: DigestState<'_>,
    ) -> Verdict {
        // The accounts that may authenticate, whether each may be used
        // from this source, and the peer they belong to (`None`: a source
        // no peer covers, using a `[sip.auth]` account).
        let (accounts, peer_name): (Vec<(&Account, bool)>, Option<&str>) =
            match self.peer_for(source) {
                Some(peer) => match &peer.account {
                    None => return Verdict::Admit(Admitted::Peer(peer.name.clone())),
                    Some(acc) => (vec![(acc, true)], Some(peer.name.as_str())),
                },
                None => (
                    self.unknown_source_accounts
                        .iter()
                        .map(|a| (&a.account, a.sources.allows(source)))
                        .collect(),
                    None,
                ),
            };
        // No account may be used from here: 403 whatever the request
        // carries (a right password is still told apart, for the log).
        let challenge = if accounts.iter().any(|(_, allowed)| *allowed) {
            Verdict::Challenge { stale: false }
        } else {
            Verdict::Forbid(ForbidReason::UnknownSource)
        };
        let Some(creds) = attempt.credentials else {
            return challenge;
        };
        if creds.realm != digest.realm {
            return challenge;
        }
        let Some(&(account, allowed)) = accounts.iter().find(|(a, _)| a.username == creds.username)
        else {
            // RFC 3261 §22.2: wrong credentials get a new challenge; the
            // client decides whether to give up.
            return challenge;
        };
        // RFC 7616 §3.3: qop=auth is offered, so it is required; without
        // it the response carries no count and could be replayed.
        let Some((nc, _cnonce)) = &creds.qop_auth else {
            return challenge;
        };
        let Some(nc) = parse_nonce_count(nc) else {
            return challenge;
        };
        if !uri_matches(&creds.uri, attempt.request_uri) {
            return challenge;
        }
        let Some(issued) = digest.nonces.issued_at(&creds.nonce) else {
            return challenge;
        };
        let state = digest.nonces.check(&creds.nonce, digest.now_secs);
        if state == NonceState::Invalid || !creds.verify(attempt.method, &account.password) {
            return challenge;
        }
        if !allowed {
            return Verdict::Forbid(ForbidReason::AccountSource);
        }
        if state == NonceState::Stale {
            return Verdict::Challenge { stale: true };
        }
        digest
            .counts
            .purge(digest.now_secs, digest.nonces.lifetime_secs());
        match digest.counts.check_and_record(&creds.nonce, issued, nc) {
            CountCheck::Fresh => Verdict::Admit(match peer_name {
                Some(name) => Admitted::Peer(name.to_string()),
                None => Admitted::Account(account.username.clone()),
            }),
            // A count already used: a replay, or a client that reuses a
            // nonce without counting. Either way a new nonce is needed; the
            // password was right, so say stale.
            CountCheck::Replayed | CountCheck::Forgotten => Verdict::Challenge { stale: true },
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

    fn acl() -> Acl {
        Acl::new(
            vec![
                Peer {
                    name: "trunk".into(),
                    networks: vec!["192.0.2.0/24".parse().unwrap()],
                    account: None,
                    max_calls: 30,
                },
                Peer {
                    name: "ata-7".into(),
                    networks: vec!["10.7.0.5".parse().unwrap()],
                    account: Some(Account {
                        username: "ata7".into(),
                        password: "pw7".into(),
                    }),
                    max_calls: 4,
                },
            ],
            vec![
                SourceAccount {
                    account: Account {
                        username: "roamer".into(),
                        password: "rpw".into(),
                    },
                    sources: Sources::Networks(vec!["203.0.113.0/24".parse().unwrap()]),
                    max_calls: 2,
                },
                SourceAccount {
                    account: Account {
                        username: "anywhere".into(),
                        password: "apw".into(),
                    },
                    sources: Sources::Any,
                    max_calls: 1,
                },
            ],
        )
    }

    const URI: &str = "sip:100@192.0.2.1";

    /// Credentials for `user`/`pass` over `uri` with count `nc` (`None`:
    /// the RFC 2069 form without qop).
    fn creds_with(
        user: &str,
        pass: &str,
        nonce: &str,
        realm: &str,
        uri: &str,
        nc: Option<&str>,
    ) -> Credentials {
        let response = compute_response(&DigestInput {
            algorithm: DigestAlgorithm::Md5,
            username: user,
            realm,
            password: pass,
            method: "INVITE",
            uri,
            nonce,
            qop_auth: nc.map(|nc| (nc, "c1")),
        });
        Credentials {
            username: user.into(),
            realm: realm.into(),
            nonce: nonce.into(),
            uri: uri.into(),
            response,
            algorithm: DigestAlgorithm::Md5,
            qop_auth: nc.map(|nc| (nc.into(), "c1".into())),
        }
    }

    fn creds(user: &str, pass: &str, nonce: &str, realm: &str) -> Credentials {
        creds_with(user, pass, nonce, realm, URI, Some("00000001"))
    }

    struct Judge {
        acl: Acl,
        nonces: NonceIssuer,
        counts: NonceCounts,
    }

    impl Judge {
        fn new() -> Self {
            Judge {
                acl: acl(),
                nonces: NonceIssuer::new([1; 32], 60),
                counts: NonceCounts::new(16),
            }
        }

        fn at(&mut self, src: &str, c: Option<&Credentials>, now: u64) -> Verdict {
            self.acl.judge(
                ip(src),
                AuthAttempt {
                    method: "INVITE",
                    request_uri: URI,
                    credentials: c,
                },
                DigestState {
                    realm: "fax",
                    nonces: &self.nonces,
                    counts: &mut self.counts,
                    now_secs: now,
                },
            )
        }
    }

    #[test]
    fn verdicts() {
        use ForbidReason::*;
        let now = 10_000;
        let mut j = Judge::new();
        let nonce = j.nonces.issue(now, 0);
        let n2 = j.nonces.issue(now + 1, 1);
        let n3 = j.nonces.issue(now + 2, 2);
        let n4 = j.nonces.issue(now + 3, 3);
        let n5 = j.nonces.issue(now + 4, 4);
        let challenge = Verdict::Challenge { stale: false };
        let stale = Verdict::Challenge { stale: true };
        let peer = |n: &str| Verdict::Admit(Admitted::Peer(n.into()));
        let account = |n: &str| Verdict::Admit(Admitted::Account(n.into()));
        let table: Vec<(&str, &str, Option<Credentials>, u64, Verdict)> = vec![
            (
                "trusted by address alone",
                "192.0.2.50",
                None,
                now,
                peer("trunk"),
            ),
            (
                "known address with an account: challenged",
                "10.7.0.5",
                None,
                now,
                challenge.clone(),
            ),
            (
                "then admitted",
                "10.7.0.5",
                Some(creds("ata7", "pw7", &nonce, "fax")),
                now,
                peer("ata-7"),
            ),
            (
                "the peer's account is bound to the peer",
                "10.7.0.5",
                Some(creds("roamer", "rpw", &n2, "fax")),
                now,
                challenge.clone(),
            ),
            (
                "unknown source inside an account's sources: challenged",
                "203.0.113.9",
                None,
                now,
                challenge.clone(),
            ),
            (
                "then admitted",
                "203.0.113.9",
                Some(creds("roamer", "rpw", &n2, "fax")),
                now,
                account("roamer"),
            ),
            (
                "the same nonce and count again: a replay",
                "203.0.113.9",
                Some(creds("roamer", "rpw", &n2, "fax")),
                now,
                stale.clone(),
            ),
            (
                "the same nonce with a higher count",
                "203.0.113.9",
                Some(creds_with(
                    "roamer",
                    "rpw",
                    &n2,
                    "fax",
                    URI,
                    Some("00000002"),
                )),
                now,
                account("roamer"),
            ),
            (
                "a lower count than one used",
                "203.0.113.9",
                Some(creds_with(
                    "roamer",
                    "rpw",
                    &n2,
                    "fax",
                    URI,
                    Some("00000001"),
                )),
                now,
                stale.clone(),
            ),
            (
                "wrong password",
                "203.0.113.9",
                Some(creds("roamer", "nope", &n3, "fax")),
                now,
                challenge.clone(),
            ),
            (
                "wrong realm",
                "203.0.113.9",
                Some(creds("roamer", "rpw", &n3, "other")),
                now,
                challenge.clone(),
            ),
            (
                "forged nonce",
                "203.0.113.9",
                Some(creds("roamer", "rpw", "0000000000002710.deadbeef", "fax")),
                now,
                challenge.clone(),
            ),
            (
                "uri naming another request",
                "203.0.113.9",
                Some(creds_with(
                    "roamer",
                    "rpw",
                    &n3,
                    "fax",
                    "sip:999@192.0.2.1",
                    Some("00000001"),
                )),
                now,
                challenge.clone(),
            ),
            (
                "no qop (RFC 2069 form)",
                "203.0.113.9",
                Some(creds_with("roamer", "rpw", &n3, "fax", URI, None)),
                now,
                challenge.clone(),
            ),
            (
                "nonce count zero",
                "203.0.113.9",
                Some(creds_with(
                    "roamer",
                    "rpw",
                    &n3,
                    "fax",
                    URI,
                    Some("00000000"),
                )),
                now,
                challenge.clone(),
            ),
            (
                "right password, old nonce",
                "203.0.113.9",
                Some(creds("roamer", "rpw", &n3, "fax")),
                now + 63,
                stale.clone(),
            ),
            (
                "source no account may use: 403 at once",
                "198.51.100.7",
                None,
                now,
                Verdict::Forbid(UnknownSource),
            ),
            (
                "an account for any source: challenged anywhere",
                "198.51.100.7",
                None,
                now,
                challenge.clone(),
            ),
            (
                "and admitted",
                "198.51.100.7",
                Some(creds("anywhere", "apw", &n4, "fax")),
                now,
                account("anywhere"),
            ),
            (
                "right password from outside the account's sources: 403",
                "198.51.100.7",
                Some(creds("roamer", "rpw", &n5, "fax")),
                now,
                Verdict::Forbid(AccountSource),
            ),
            (
                "wrong password from outside: challenged, nothing told",
                "198.51.100.7",
                Some(creds("roamer", "guess", &n5, "fax")),
                now,
                challenge.clone(),
            ),
        ];
        for (i, (what, src, c, t, want)) in table.into_iter().enumerate() {
            // The "source no account may use" rows need an ACL without the
            // `any` account.
            let got = if want == Verdict::Forbid(UnknownSource) {
                let mut only_roamer = Judge::new();
                only_roamer.acl.unknown_source_accounts.truncate(1);
                only_roamer.at(src, c.as_ref(), t)
            } else {
                j.at(src, c.as_ref(), t)
            };
            assert_eq!(got, want, "row {i}: {what}");
        }
        // Where no account may be used at all, credentials change nothing
        // but the reason: a right password is told apart for the log.
        let mut only_roamer = Judge::new();
        only_roamer.acl.unknown_source_accounts.truncate(1);
        let n6 = only_roamer.nonces.issue(now, 6);
        for (pass, want) in [("rpw", AccountSource), ("guess", UnknownSource)] {
            let c = creds("roamer", pass, &n6, "fax");
            assert_eq!(
                only_roamer.at("198.51.100.7", Some(&c), now),
                Verdict::Forbid(want),
                "{pass}"
            );
        }
    }

    #[test]
    fn call_limits_per_peer_and_account() {
        let acl = acl();
        assert_eq!(acl.max_calls(&Admitted::Peer("trunk".into())), Some(30));
        assert_eq!(acl.max_calls(&Admitted::Peer("ata-7".into())), Some(4));
        assert_eq!(acl.max_calls(&Admitted::Account("roamer".into())), Some(2));
        assert_eq!(acl.max_calls(&Admitted::Account("trunk".into())), None);
        assert_eq!(acl.total_max_calls(), 30 + 4 + 2 + 1);
    }

    #[test]
    fn unknown_source_without_accounts_is_forbidden() {
        let acl = Acl::new(
            vec![Peer {
                name: "trunk".into(),
                networks: vec!["192.0.2.0/24".parse().unwrap()],
                account: None,
                max_calls: 30,
            }],
            vec![],
        );
        let nonces = NonceIssuer::new([1; 32], 60);
        let mut counts = NonceCounts::new(4);
        let v = acl.judge(
            ip("198.51.100.1"),
            AuthAttempt {
                method: "OPTIONS",
                request_uri: URI,
                credentials: None,
            },
            DigestState {
                realm: "fax",
                nonces: &nonces,
                counts: &mut counts,
                now_secs: 0,
            },
        );
        assert_eq!(v, Verdict::Forbid(ForbidReason::UnknownSource));
        assert_eq!(acl.peer_for(ip("192.0.2.1")).unwrap().name, "trunk");
        assert!(acl.peer_for(ip("198.51.100.1")).is_none());
    }
}
