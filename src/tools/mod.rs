//! Command-line fax tools over SIP: `faxbridge answer` receives faxes,
//! `faxbridge dial` sends one.
//!
//! Both are thin: a SIP endpoint of their own, media sockets, and the media
//! task of [`crate::media::fax_call`]. [`answer::answer_one`] and
//! [`dial::dial_one`] are the library entry points the tests and the daemon
//! reuse; `run_cli` in each module is the command-line edge.
//!
//! `faxbridge send` and `faxbridge jobs` ([`send`], [`jobs`]) work on the
//! outgoing fax queue instead: they place no call themselves, the daemon's
//! queue worker does. `faxbridge passwd` ([`passwd`]) makes the password
//! hashes the configuration's accounts store.

pub mod answer;
pub mod demo;
pub mod dial;
pub mod jobs;
pub mod lines;
pub mod passwd;
pub mod pci;
pub mod send;
pub mod submit;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;

use crate::docs::DocError;
use crate::media::fax_call::FaxCallError;
use crate::sip::config::PeerConfig;
use crate::sip::{SipConfig, SipError};

/// Why a fax tool could not run a call.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// The SIP endpoint could not start.
    #[error("cannot start the SIP endpoint: {0}")]
    Sip(#[from] SipError),
    /// The call could not be set up.
    #[error(transparent)]
    Call(#[from] FaxCallError),
    /// The documents to send could not be prepared.
    #[error("cannot prepare the fax document: {0}")]
    Docs(#[from] DocError),
    /// A directory or file operation failed.
    #[error("cannot use {path}: {source}")]
    Io {
        /// The path concerned.
        path: PathBuf,
        /// The system error.
        source: std::io::Error,
    },
    /// The SIP target URI cannot be used.
    #[error(
        "`{0}` is not a SIP URI with a host faxbridge can reach; write e.g. sip:2000@192.0.2.1:5060"
    )]
    Target(String),
    /// The endpoint stopped before a call arrived.
    #[error("the SIP endpoint stopped before a call arrived")]
    NoCall,
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

/// A SIP configuration for a tool: listen on `listen` (UDP and TCP), admit
/// requests from any address and route every called number to one route.
/// The tools are run by an operator against a known peer, so the daemon's
/// peer list and digest accounts do not apply.
pub(crate) fn open_sip_config(listen: SocketAddr) -> SipConfig {
    let mut cfg = SipConfig {
        listen,
        ..SipConfig::default()
    };
    cfg.peers = vec![PeerConfig {
        name: "any".into(),
        addresses: vec!["0.0.0.0/0".into(), "::/0".into()],
        account: None,
        max_calls: None,
    }];
    cfg.routing.default_route = Some("fax".into());
    cfg
}

/// The local address packets to `remote` leave from (the routing table's
/// choice), for SDP and media sockets when listening on a wildcard address.
pub(crate) fn local_ip_towards(remote: IpAddr) -> IpAddr {
    let unspecified: IpAddr = if remote.is_ipv4() {
        Ipv4Addr::UNSPECIFIED.into()
    } else {
        Ipv6Addr::UNSPECIFIED.into()
    };
    std::net::UdpSocket::bind((unspecified, 0))
        .and_then(|s| {
            s.connect((remote, 9))?;
            s.local_addr()
        })
        .map(|a| a.ip())
        .unwrap_or(if remote.is_loopback() {
            remote
        } else {
            unspecified
        })
}
