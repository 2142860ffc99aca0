//! Media planes of a call: RTP packets for G.711 audio and telephone events,
//! and UDPTL datagrams carrying T.38 fax.
//!
//! The framing modules are sans-IO: they turn bytes into values and back.
//! [`fax_call`] is the per-call media task that owns the sockets and timers
//! around them and drives a fax session; [`switch`] holds its decisions on
//! switching between G.711 and T.38 (re-INVITEs sent and answered, glare,
//! what a change does to the fax session), [`rtp_stream`] and
//! [`t38_stream`] its receive-side decisions (playout, FEC padding), and
//! [`source`] decides which datagrams are the far end's at all (for fax
//! calls and the bridge's relay alike).

pub mod classifier;
pub mod clock;
pub mod delay_line;
pub mod fax_call;
pub mod rtp;
pub mod rtp_stream;
pub mod source;
pub mod switch;
pub mod synth;
pub mod t38_stream;
pub mod tones;
pub mod udptl;
