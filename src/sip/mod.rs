//! SIP endpoint: receives and places fax calls over UDP, TCP and TLS.
//!
//! Built on rsipstack (transactions with RFC 3261 retransmission timers,
//! dialogs). The endpoint admits requests by peer address and digest
//! ([`acl`], [`digest`]), routes INVITEs with the router ([`crate::routing`]),
//! refuses offers no fax path can use ([`offer`]) and malformed requests
//! ([`wire`]), and hands calls to the fax/media layer as [`IncomingCall`]s
//! with a stream of [`CallEvent`]s. Calls are placed with
//! [`SipEndpoint::dial`]. The endpoint is also the ATAs' registrar
//! ([`registrar`]: REGISTER from their ports). What a stranger can cost
//! (connections over TCP and TLS, calls per peer, file descriptors) is
//! bounded by [`limits`]. Protocol decisions live in the pure modules; the
//! tokio driver is [`endpoint`].
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use faxbridge::sip::{SipConfig, SipEndpoint, CallEvent};
//! let (endpoint, mut calls) = SipEndpoint::start(&SipConfig::default()).await?;
//! while let Some(call) = calls.recv().await {
//!     let answer = call.offer.clone(); // the media layer builds the real answer
//!     let mut active = call.accept(answer)?;
//!     while let Some(event) = active.next_event().await {
//!         match event {
//!             CallEvent::ReInvite(r) => r.reject(488),
//!             CallEvent::Ended(_) => break,
//!             CallEvent::Established => {}
//!         }
//!     }
//! }
//! # drop(endpoint); Ok(()) }
//! ```

pub mod acl;
pub mod call;
pub mod config;
pub mod digest;
pub mod endpoint;
pub mod limits;
mod listener;
pub mod offer;
pub mod policy;
pub mod registrar;
pub mod wire;

pub use call::{
    ActiveCall, CallError, CallEvent, CallHandle, DialError, DialOptions, Dialing, EndReason,
    IncomingCall, Progress, ReInvite, ReInviteOutcome,
};
pub use config::{SipConfig, TransportKind};
pub use endpoint::{DialRequest, SipEndpoint, SipError};
