//! Media planes of a call: RTP packets for G.711 audio and telephone events,
//! and UDPTL datagrams carrying T.38 fax.
//!
//! Both modules are sans-IO: they turn bytes into values and back, and the
//! per-call media task owns the sockets and timers around them.

pub mod rtp;
pub mod udptl;
