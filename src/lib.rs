//! faxbridge: a gateway between fax and analogue lines and a SIP network.
//!
//! The library holds every part of the daemon; `src/main.rs` is only the
//! command-line edge. Protocol cores are sans-IO modules with unit tests beside
//! them; thin tokio drivers wrap them.

pub mod alert;
pub mod ata;
pub mod bench;
pub mod bridge;
pub mod clock;
pub mod compliance;
pub mod config;
pub mod daemon;
pub mod docs;
pub mod fax;
pub mod intake;
pub mod mail;
pub mod media;
pub mod net;
pub mod numbering;
pub mod password;
pub mod problem;
pub mod queue;
pub mod retention;
pub mod routing;
pub mod sdp;
pub mod sip;
pub mod spool;
pub mod store;
pub mod systemd;
pub mod tools;
pub mod web;
