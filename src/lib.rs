//! faxbridge: a gateway between fax and analogue lines and a SIP network.
//!
//! The library holds every part of the daemon; `src/main.rs` is only the
//! command-line edge. Protocol cores are sans-IO modules with unit tests beside
//! them; thin tokio drivers wrap them.
//!
//! # Layers
//!
//! Top-level modules form layers. A module imports only modules of its own
//! layer or lower ones, and no two top-level modules import each other, even
//! round a circle (`tests/layering.rs` checks both against this list).
//! Bottom to top:
//!
//! - **shared helpers**: `clock` (stored time), `net` (CIDR blocks, back-off,
//!   listener helpers), `problem` (a configuration problem and its fix),
//!   `alert` (the alert sink), `password` (account hashes), `systemd`
//!   (readiness and watchdog), `store` (the database handle and schema),
//!   `durable` (atomic, fsynced file writes), `shutdown` (the staged stop
//!   signal), `spool` (records of calls in progress), and in test builds
//!   `alloc_count` (heap allocations counted per thread).
//! - **protocol cores**: `sdp` (offer/answer), `docs` (TIFF, PDF, rendering),
//!   `fax` (T.30 over SpanDSP), `numbering` (dial plans, emergency numbers,
//!   the toll-fraud policy). No sockets, no tasks.
//! - **services**: `ata` (the unit inventory and SNMP monitoring), `routing`
//!   (where an INVITE goes, one pure decision), `sip` (the endpoint and its
//!   wire format), `media` (RTP/UDPTL drivers, fax calls, the card-terminal
//!   classifier), `mail` (the durable outbox of mail), `smtp` (the email-to-fax
//!   listener), `bridge` (the B2BUA of the analogue ports), `compliance` (PCI-DSS
//!   flags and reports), `queue` (outgoing fax jobs and their reports),
//!   `intake` (email-to-fax decisions), `reception` (answering fax calls and
//!   handing their pages to mail), `retention` (purging old faxes).
//! - **web**: `web` (admin and finance pages, JSON API, `/metrics`); it is told
//!   what it needs of the configuration as a `web::Site`.
//! - **daemon**: `config` (the whole configuration, built from every
//!   section), `daemon` (wiring of `faxbridge run`).
//! - **tools and CLI**: `tools` (the fax command-line tools), `bench`
//!   (`faxbridge bench`, built with the `bench` feature only), `fuzzing`
//!   (the entry points of the fuzz targets in `fuzz/`).

#![deny(unsafe_code)]

pub mod alert;
#[cfg(test)]
mod alloc_count;
pub mod ata;
#[cfg(feature = "bench")]
pub mod bench;
pub mod bridge;
pub mod clock;
pub mod compliance;
pub mod config;
pub mod daemon;
pub mod docs;
pub mod durable;
pub mod fax;
#[doc(hidden)]
pub mod fuzzing;
pub mod intake;
pub mod mail;
pub mod media;
pub mod net;
pub mod numbering;
pub mod password;
pub mod problem;
pub mod queue;
pub mod reception;
pub mod retention;
pub mod routing;
pub mod sdp;
pub mod shutdown;
pub mod sip;
pub mod smtp;
pub mod spool;
pub mod store;
pub mod systemd;
pub mod tools;
pub mod web;
