//! UDPTL: the datagram framing of T.38 fax over UDP (ITU-T T.38 §9.1 and
//! Annex C), with redundancy and forward error correction.
//!
//! A UDPTL datagram is the ASN.1 PER (aligned) encoding of
//!
//! ```text
//! UDPTLPacket ::= SEQUENCE {
//!     seq-number      INTEGER (0..65535),
//!     primary-ifp-packet  TYPE-IDENTIFIER.&Type(IFPPacket),   -- open type
//!     error-recovery  CHOICE {
//!         secondary-ifp-packets  SEQUENCE OF open type,      -- redundancy
//!         fec-info  SEQUENCE {
//!             fec-npackets  INTEGER,                          -- "span"
//!             fec-data      SEQUENCE OF OCTET STRING } } }
//! ```
//!
//! which on the wire is: two bytes of sequence number; the primary IFP as a
//! length determinant (one byte below 128, two bytes `0x80|hi, lo` below
//! 16384) followed by its bytes; one byte whose top bit chooses the recovery
//! (0x00 redundancy, 0x80 FEC); then either a count and that many earlier IFPs
//! (newest first), or the span as a one-byte-length unconstrained integer, a
//! count and that many XOR blocks. FEC entry `m` of packet `n` is the XOR of
//! packets `n + m − span·entries + k·entries` for `k` in `0..span`, so with
//! `entries` > 1 consecutive packets fall in different groups and a burst of
//! up to `entries` losses is repairable. The layout and the wind-up of the FEC
//! at the start of a stream follow SpanDSP's `udptl.c`, the implementation
//! most T.38 equipment (Asterisk, FreeSWITCH, Mediatrix) interoperates with.
//!
//! [`UdptlEncoder`] builds datagrams; [`UdptlDecoder`] takes datagrams in any
//! order, fills gaps from redundancy or FEC and hands IFPs back in sequence
//! order, reporting what could not be recovered as [`RxEvent::Missing`].

use std::collections::VecDeque;

/// Largest IFP that fits a two-byte PER length determinant; longer ones need
/// PER fragmentation, which no T.38 implementation sends.
pub const MAX_IFP_LEN: usize = 0x3fff;

/// Datagram limit used by SpanDSP and Asterisk when the far end announces no
/// `T38FaxMaxDatagram`.
pub const DEFAULT_MAX_DATAGRAM: usize = 400;

/// Redundancy depth Mediatrix gateways use by default.
pub const MEDIATRIX_REDUNDANCY: u8 = 3;

/// Deepest redundancy we send: SpanDSP rejects datagrams with 16 or more
/// secondary IFPs.
const MAX_REDUNDANCY: u8 = 15;

/// Most FEC entries we send: Asterisk rejects more than 5.
const MAX_FEC_ENTRIES: u8 = 5;

/// How many packets back the decoder remembers for FEC repair and for telling
/// duplicates from late arrivals.
const HISTORY: i64 = 128;

/// A jump forward by more than this many packets is taken as a restart of
/// the far end's numbering rather than as loss (it is over 20 s of a fax
/// at the usual packet rates).
const RESYNC_JUMP: i64 = 1024;

/// Bounds the decoder accepts from the far end; anything larger is not a
/// real sender's configuration.
const MAX_RX_FEC_ENTRIES: usize = 16;
const MAX_RX_FEC_SPAN: usize = 32;

/// Longest hold a decoder accepts: the history, so that every IFP held
/// for delivery is also history (which bounds what a far end can make the
/// decoder buffer).
const MAX_HOLD: u16 = HISTORY as u16;

/// Why a datagram could not be built or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UdptlError {
    /// The datagram ends in the middle of a field.
    #[error("UDPTL datagram truncated at byte {at} while reading {field}; drop it")]
    Truncated {
        /// Offset where more bytes were needed.
        at: usize,
        /// What was being read.
        field: &'static str,
    },
    /// A length determinant uses PER fragmentation (`11xxxxxx`).
    #[error(
        "UDPTL {field} at byte {at} uses a fragmented length (≥16384 bytes), which T.38 never needs; drop it"
    )]
    Fragmented {
        /// Offset of the length byte.
        at: usize,
        /// What was being read.
        field: &'static str,
    },
    /// Bytes follow the end of the encoded packet.
    #[error("UDPTL datagram has {extra} bytes after its end; drop it (corrupt or not UDPTL)")]
    TrailingBytes {
        /// How many.
        extra: usize,
    },
    /// The primary IFP is empty.
    #[error("UDPTL datagram carries an empty primary IFP; drop it")]
    EmptyPrimary,
    /// The FEC parameters are out of any sane range.
    #[error("UDPTL FEC with span {span} and {entries} entries is out of range; drop it")]
    BadFec {
        /// fec-npackets from the datagram.
        span: usize,
        /// Number of fec-data entries.
        entries: usize,
    },
    /// fec-npackets is encoded with an impossible number of octets.
    #[error("UDPTL FEC span is {0} octets long; senders use 1, so the datagram is corrupt")]
    BadFecSpanLength(usize),
    /// An IFP handed to the encoder is empty or too long for the framing.
    #[error("cannot send an IFP of {0} bytes: UDPTL carries 1..=16383 bytes per IFP")]
    IfpLength(usize),
    /// The encoder was configured with impossible error-correction values.
    #[error("UDPTL error correction {0}")]
    Config(&'static str),
}

/// The error-recovery scheme of outgoing datagrams, from the negotiated
/// `T38FaxUdpEC` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCorrection {
    /// No recovery data (`t38UDPNoEC`): an empty secondary list.
    None,
    /// Repeat the `depth` previous IFPs in each datagram (`t38UDPRedundancy`).
    Redundancy {
        /// Number of earlier IFPs, 1..=15 (Mediatrix uses 3).
        depth: u8,
    },
    /// XOR parity over interleaved groups (`t38UDPFEC`).
    Fec {
        /// Packets XORed into one entry (fec-npackets), 1..=15.
        span: u8,
        /// Entries (interleaved groups) per datagram, 1..=5.
        entries: u8,
    },
}

impl ErrorCorrection {
    /// The scheme for a negotiated `T38FaxUdpEC`: redundancy at
    /// `redundancy_depth` (3 is what Mediatrix uses), FEC with span 3 and 3
    /// entries (Asterisk's and SpanDSP's usual setting), or none when the
    /// attribute was absent or `t38UDPNoEC`.
    pub fn for_negotiated(ec: Option<crate::sdp::UdpEc>, redundancy_depth: u8) -> Self {
        use crate::sdp::UdpEc;
        match ec {
            Some(UdpEc::Redundancy) if redundancy_depth > 0 => ErrorCorrection::Redundancy {
                depth: redundancy_depth.min(MAX_REDUNDANCY),
            },
            Some(UdpEc::Fec) => ErrorCorrection::Fec {
                span: 3,
                entries: 3,
            },
            _ => ErrorCorrection::None,
        }
    }
}

/// IFPs the encoder keeps for redundancy and FEC (peers keep 16 packets).
const ENCODER_HISTORY: usize = 16;

/// Builds outgoing UDPTL datagrams for one T.38 session.
#[derive(Debug, Clone)]
pub struct UdptlEncoder {
    ec: ErrorCorrection,
    max_datagram: usize,
    seq: u16,
    sent: u64,
    /// Recently sent IFPs, newest at the back.
    history: VecDeque<Vec<u8>>,
    /// Where an FEC block is built.
    block: Vec<u8>,
    /// Buffers made up front for the history's first IFPs.
    spare: Vec<Vec<u8>>,
}

impl UdptlEncoder {
    /// An encoder whose first datagram carries sequence number 0, as T.38
    /// senders do. `max_datagram` is the far end's `T38FaxMaxDatagram` (use
    /// [`DEFAULT_MAX_DATAGRAM`] when absent): recovery data that would exceed
    /// it is left out, the primary IFP is always sent.
    pub fn new(ec: ErrorCorrection, max_datagram: usize) -> Result<Self, UdptlError> {
        match ec {
            ErrorCorrection::None => {}
            ErrorCorrection::Redundancy { depth } => {
                if depth == 0 || depth > MAX_REDUNDANCY {
                    return Err(UdptlError::Config(
                        "redundancy depth must be 1..=15 (use None for no redundancy)",
                    ));
                }
            }
            ErrorCorrection::Fec { span, entries } => {
                if span == 0 || entries == 0 || entries > MAX_FEC_ENTRIES {
                    return Err(UdptlError::Config("FEC needs span ≥ 1 and entries 1..=5"));
                }
                if u16::from(span) * u16::from(entries) > 15 {
                    return Err(UdptlError::Config(
                        "FEC span × entries must be at most 15 (peers keep 16 packets)",
                    ));
                }
            }
        }
        Ok(Self {
            ec,
            max_datagram,
            seq: 0,
            sent: 0,
            history: VecDeque::with_capacity(ENCODER_HISTORY + 1),
            block: Vec::new(),
            spare: (0..ENCODER_HISTORY)
                .map(|_| Vec::with_capacity(IFP_BUFFER))
                .collect(),
        })
    }

    /// The sequence number the next datagram will carry.
    pub fn next_seq(&self) -> u16 {
        self.seq
    }

    /// Apply a new far-end `T38FaxMaxDatagram` after a re-INVITE, keeping
    /// the sequence numbering.
    pub fn set_max_datagram(&mut self, max_datagram: usize) {
        self.max_datagram = max_datagram;
    }

    /// Frame one IFP into a datagram and advance the sequence number
    /// (wrapping from 65535 to 0).
    pub fn encode(&mut self, ifp: &[u8]) -> Result<Vec<u8>, UdptlError> {
        let mut out = Vec::with_capacity(self.max_datagram.min(2048));
        self.encode_into(ifp, &mut out)?;
        Ok(out)
    }

    /// [`UdptlEncoder::encode`] into `out` (cleared first), which keeps its
    /// capacity from one datagram to the next; the encoder reuses its own
    /// buffers too, so a steady stream allocates nothing.
    pub fn encode_into(&mut self, ifp: &[u8], out: &mut Vec<u8>) -> Result<(), UdptlError> {
        if ifp.is_empty() || ifp.len() > MAX_IFP_LEN {
            return Err(UdptlError::IfpLength(ifp.len()));
        }
        out.clear();
        let out = &mut *out;
        out.extend_from_slice(&self.seq.to_be_bytes());
        put_open_type(out, ifp);
        match self.ec {
            ErrorCorrection::None => {
                out.push(0x00);
                out.push(0x00);
            }
            ErrorCorrection::Redundancy { depth } => {
                out.push(0x00);
                let wanted = usize::from(depth).min(self.history.len());
                let count_at = out.len();
                out.push(0); // count, patched below (always < 128)
                let mut used = 0;
                for back in 1..=wanted {
                    let Some(old) = self.history.get(self.history.len() - back) else {
                        break;
                    };
                    let before = out.len();
                    put_open_type(out, old);
                    if out.len() > self.max_datagram {
                        out.truncate(before);
                        break;
                    }
                    used += 1;
                }
                out[count_at] = used as u8;
            }
            ErrorCorrection::Fec { span, entries } => {
                let (mut span, mut entries) = (u64::from(span), u64::from(entries));
                // SpanDSP winds the FEC up at the start of a stream so that
                // no group refers to a packet before the first one.
                if self.sent < span * entries {
                    entries = self.sent / span;
                    if self.sent < span {
                        span = 0;
                    }
                }
                out.push(0x80);
                out.push(1); // fec-npackets: unconstrained integer, 1 octet
                out.push(span as u8);
                let count_at = out.len();
                out.push(entries as u8);
                for m in 0..entries {
                    // Packets `seq + m − span·entries + k·entries`, as
                    // distances back from this packet.
                    let block = &mut self.block;
                    block.clear();
                    for k in 0..span {
                        let back = span * entries - m - k * entries;
                        let Some(old) = usize::try_from(back)
                            .ok()
                            .and_then(|b| self.history.len().checked_sub(b))
                            .and_then(|i| self.history.get(i))
                        else {
                            continue;
                        };
                        xor_into(block, old);
                    }
                    let before = out.len();
                    put_open_type(out, block);
                    if out.len() > self.max_datagram {
                        out.truncate(before);
                        out[count_at] = m as u8;
                        break;
                    }
                }
            }
        }
        // The oldest buffer is reused for the newest IFP.
        let mut kept = if self.history.len() >= ENCODER_HISTORY {
            self.history.pop_front()
        } else {
            self.spare.pop()
        }
        .unwrap_or_else(|| Vec::with_capacity(IFP_BUFFER));
        kept.clear();
        kept.extend_from_slice(ifp);
        self.history.push_back(kept);
        self.seq = self.seq.wrapping_add(1);
        self.sent += 1;
        Ok(())
    }
}

/// XOR `src` into `acc`, growing `acc` with zeros to the longer length (T.38
/// FEC pads shorter IFPs with zeros).
fn xor_into(acc: &mut Vec<u8>, src: &[u8]) {
    if acc.len() < src.len() {
        acc.resize(src.len(), 0);
    }
    for (a, s) in acc.iter_mut().zip(src) {
        *a ^= s;
    }
}

/// Append a PER length determinant (X.691 §10.9, no fragmentation).
fn put_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        out.push(0x80 | ((len >> 8) as u8 & 0x3f));
        out.push(len as u8);
    }
}

/// Append an open type: length determinant then the bytes.
fn put_open_type(out: &mut Vec<u8>, data: &[u8]) {
    put_length(out, data.len());
    out.extend_from_slice(data);
}

/// A bounds-checked reader over one datagram.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self, field: &'static str) -> Result<u8, UdptlError> {
        let b = *self.buf.get(self.pos).ok_or(UdptlError::Truncated {
            at: self.pos,
            field,
        })?;
        self.pos += 1;
        Ok(b)
    }

    fn length(&mut self, field: &'static str) -> Result<usize, UdptlError> {
        let at = self.pos;
        let b = self.byte(field)?;
        match b >> 6 {
            0 | 1 => Ok(usize::from(b)),
            2 => Ok(usize::from(b & 0x3f) << 8 | usize::from(self.byte(field)?)),
            _ => Err(UdptlError::Fragmented { at, field }),
        }
    }

    fn open_type(&mut self, field: &'static str) -> Result<&'a [u8], UdptlError> {
        let len = self.length(field)?;
        let end = self.pos + len;
        let data = self.buf.get(self.pos..end).ok_or(UdptlError::Truncated {
            at: self.buf.len(),
            field,
        })?;
        self.pos = end;
        Ok(data)
    }
}

/// A `SEQUENCE OF` open types, checked when the datagram was parsed;
/// iterating reads them again, without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OpenTypes<'a> {
    count: usize,
    bytes: &'a [u8],
}

impl<'a> OpenTypes<'a> {
    /// Read `count` open types from `r`, checking each.
    fn read(r: &mut Reader<'a>, count: usize, field: &'static str) -> Result<Self, UdptlError> {
        let start = r.pos;
        for _ in 0..count {
            r.open_type(field)?;
        }
        Ok(OpenTypes {
            count,
            bytes: &r.buf[start..r.pos],
        })
    }

    /// How many there are.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// Each one's bytes, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &'a [u8]> + use<'a> {
        let mut r = Reader {
            buf: self.bytes,
            pos: 0,
        };
        // Every read succeeds: they were checked by `read`.
        (0..self.count).map_while(move |_| r.open_type("entry").ok())
    }
}

/// The recovery part of a decoded datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Recovery<'a> {
    /// Earlier IFPs, newest first (the first is `seq − 1`).
    Redundancy(OpenTypes<'a>),
    /// XOR blocks with their span (fec-npackets).
    Fec {
        /// Packets per group.
        span: usize,
        /// One XOR block per interleaved group.
        entries: OpenTypes<'a>,
    },
}

/// One datagram split into its fields, borrowing from the receive buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UdptlPacket<'a> {
    pub(crate) seq: u16,
    pub(crate) primary: &'a [u8],
    pub(crate) recovery: Recovery<'a>,
}

/// Split a datagram into its fields; every length is checked.
pub(crate) fn parse_packet(buf: &[u8]) -> Result<UdptlPacket<'_>, UdptlError> {
    let mut r = Reader { buf, pos: 0 };
    let hi = r.byte("sequence number")?;
    let lo = r.byte("sequence number")?;
    let seq = u16::from_be_bytes([hi, lo]);
    let primary = r.open_type("primary IFP")?;
    if primary.is_empty() {
        return Err(UdptlError::EmptyPrimary);
    }
    let choice = r.byte("error-recovery choice")?;
    let recovery = if choice & 0x80 == 0 {
        let count = r.length("secondary IFP count")?;
        Recovery::Redundancy(OpenTypes::read(&mut r, count, "secondary IFP")?)
    } else {
        // fec-npackets is an unconstrained INTEGER: a length octet, then that
        // many octets of value. Senders use one octet.
        let n = r.length("FEC span length")?;
        if n == 0 || n > 2 {
            return Err(UdptlError::BadFecSpanLength(n));
        }
        let mut span = 0usize;
        for _ in 0..n {
            span = span << 8 | usize::from(r.byte("FEC span")?);
        }
        let count = r.length("FEC entry count")?;
        if span > MAX_RX_FEC_SPAN || count > MAX_RX_FEC_ENTRIES {
            return Err(UdptlError::BadFec {
                span,
                entries: count,
            });
        }
        let entries = OpenTypes::read(&mut r, count, "FEC entry")?;
        Recovery::Fec { span, entries }
    };
    if r.pos != buf.len() {
        return Err(UdptlError::TrailingBytes {
            extra: buf.len() - r.pos,
        });
    }
    Ok(UdptlPacket {
        seq,
        primary,
        recovery,
    })
}

/// How a delivered IFP reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfpSource {
    /// As the primary IFP of its own datagram.
    Primary,
    /// From the secondary IFPs of a later datagram.
    Redundancy,
    /// Rebuilt by XOR from FEC data. T.38 FEC pads each group to its longest
    /// IFP, so the rebuilt IFP may carry trailing zero bytes; the T.38 layer
    /// must accept bytes after the end of the IFP encoding.
    Fec,
}

/// What the decoder hands to the T.38 layer, always in sequence order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RxEvent {
    /// The IFP with this sequence number.
    Ifp {
        /// Its sequence number.
        seq: u16,
        /// The IFP bytes.
        data: Vec<u8>,
        /// Primary, redundancy or FEC.
        source: IfpSource,
    },
    /// `count` IFPs starting at `first` are lost for good; T.38 receivers
    /// use this to mark the affected image data as missing (T.38 §7.4).
    Missing {
        /// First lost sequence number.
        first: u16,
        /// How many in a row (may wrap past 65535).
        count: u32,
    },
}

/// [`RxEvent`] borrowing the decoder's buffer: what
/// [`UdptlDecoder::receive_with`] hands over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery<'a> {
    /// The IFP with this sequence number.
    Ifp {
        /// Its sequence number.
        seq: u16,
        /// The IFP bytes.
        data: &'a [u8],
        /// Primary, redundancy or FEC.
        source: IfpSource,
    },
    /// `count` IFPs starting at `first` are lost for good.
    Missing {
        /// First lost sequence number.
        first: u16,
        /// How many in a row (may wrap past 65535).
        count: u32,
    },
}

impl Delivery<'_> {
    /// The same event owning its bytes.
    pub fn to_owned(self) -> RxEvent {
        match self {
            Delivery::Ifp { seq, data, source } => RxEvent::Ifp {
                seq,
                data: data.to_vec(),
                source,
            },
            Delivery::Missing { first, count } => RxEvent::Missing { first, count },
        }
    }
}

/// Counters a media task can export as metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RxStats {
    /// Well-formed datagrams received.
    pub datagrams: u64,
    /// Datagrams rejected as malformed.
    pub malformed: u64,
    /// Datagrams for IFPs already delivered or already pending.
    pub duplicates: u64,
    /// Datagrams that arrived after their IFP had been declared missing.
    pub late: u64,
    /// IFPs recovered from redundancy.
    pub recovered_redundancy: u64,
    /// IFPs rebuilt from FEC.
    pub recovered_fec: u64,
    /// IFPs declared missing.
    pub missing: u64,
    /// Times the far end restarted its sequence numbering.
    pub resyncs: u64,
}

/// FEC data carried by one received datagram.
#[derive(Debug, Clone, Default)]
struct FecInfo {
    /// The datagram's unwrapped sequence number.
    ext: i64,
    span: i64,
    /// The XOR blocks back to back; block `m` ends at `ends[m]`.
    bytes: Vec<u8>,
    ends: [usize; MAX_RX_FEC_ENTRIES],
    count: usize,
}

impl FecInfo {
    fn block(&self, m: usize) -> &[u8] {
        let start = if m == 0 { 0 } else { self.ends[m - 1] };
        &self.bytes[start..self.ends[m]]
    }
}

/// An IFP the decoder holds: waiting for delivery, kept as history for FEC
/// repair and for telling duplicates from late arrivals, or both.
#[derive(Debug, Clone)]
struct Held {
    /// Unwrapped sequence number.
    ext: i64,
    /// Part of the history (the last [`HISTORY`] packets).
    known: bool,
    /// Not yet delivered; how it reached us.
    pending: Option<IfpSource>,
    data: Vec<u8>,
}

/// Capacity of a new IFP buffer: larger than the IFPs of a fax at 14,400
/// bit/s in 40 ms chunks, so a reused buffer rarely has to grow.
const IFP_BUFFER: usize = 128;

/// IFP buffers a decoder makes before its first datagram: the history,
/// the datagram being received and its redundancy, with room to spare.
const PREPARED_BUFFERS: usize = HISTORY as usize + 24;

/// Buffers kept for reuse once their IFP or FEC data is forgotten: enough
/// for a whole history, so a steady stream allocates nothing.
const MAX_SPARE: usize = 2 * HISTORY as usize;

/// Reassembles the IFP stream of one T.38 session from UDPTL datagrams.
///
/// Sequence numbers are unwrapped to a 64-bit count around the newest one
/// seen (serial-number arithmetic), so the wrap from 65535 to 0 is an
/// ordinary step. A datagram up to 128 behind the delivery point is a
/// duplicate or arrived too late and is dropped; one further behind, or more
/// than 1024 ahead of the newest, means the far end restarted its numbering,
/// and the decoder delivers what it holds and starts again from it.
///
/// The IFPs it holds live in one queue ordered by sequence number, in
/// buffers that are reused once forgotten: after the first few hundred
/// datagrams of a session, receiving allocates nothing.
#[derive(Debug, Clone)]
pub struct UdptlDecoder {
    hold: i64,
    /// Next unwrapped sequence number to deliver; `None` before the first datagram.
    next: Option<i64>,
    /// Highest unwrapped sequence number seen.
    highest: i64,
    /// Received or recovered IFPs, pending delivery or kept as history, in
    /// sequence order. Every pending IFP is at or after `next`.
    held: VecDeque<Held>,
    /// FEC data of recent datagrams, in sequence order.
    fec: VecDeque<FecInfo>,
    /// Forgotten buffers, for reuse.
    spare: Vec<Vec<u8>>,
    spare_fec: Vec<FecInfo>,
    /// Where an FEC repair is built.
    scratch: Vec<u8>,
    stats: RxStats,
}

impl Default for UdptlDecoder {
    fn default() -> Self {
        Self::new(0)
    }
}

impl UdptlDecoder {
    /// A decoder that declares a gap missing once a datagram more than
    /// `hold` packets newer than the gap has arrived and nothing filled it.
    ///
    /// `hold = 0` behaves like SpanDSP: a gap is filled from the datagram
    /// that reveals it or reported missing at once, which keeps T.30 timing
    /// intact. A larger `hold` waits for reordered datagrams and later FEC at
    /// the cost of delay; [`UdptlDecoder::flush`] ends the wait (e.g. on a
    /// timer in the media task).
    ///
    /// `hold` is capped at 128 packets (the history), which bounds the
    /// memory a far end can make the decoder buffer.
    pub fn new(hold: u16) -> Self {
        Self {
            hold: i64::from(hold.min(MAX_HOLD)),
            next: None,
            highest: 0,
            held: VecDeque::new(),
            fec: VecDeque::new(),
            spare: Vec::new(),
            spare_fec: Vec::new(),
            scratch: Vec::new(),
            stats: RxStats::default(),
        }
    }

    /// Counters since the decoder was made.
    pub fn stats(&self) -> RxStats {
        self.stats
    }

    /// Take one datagram; returns the IFPs (and gaps) that are now ready, in
    /// sequence order. A malformed datagram changes no state and yields an
    /// error.
    pub fn receive(&mut self, datagram: &[u8]) -> Result<Vec<RxEvent>, UdptlError> {
        let mut out = Vec::new();
        self.receive_with(datagram, |e| out.push(e.to_owned()))?;
        Ok(out)
    }

    /// [`UdptlDecoder::receive`] without allocating: each IFP (or gap) that
    /// is now ready goes to `deliver`, in sequence order, borrowing the
    /// decoder's buffer.
    pub fn receive_with(
        &mut self,
        datagram: &[u8],
        mut deliver: impl FnMut(Delivery<'_>),
    ) -> Result<(), UdptlError> {
        let packet = match parse_packet(datagram) {
            Ok(p) => p,
            Err(e) => {
                self.stats.malformed += 1;
                return Err(e);
            }
        };
        self.stats.datagrams += 1;
        if self.next.is_some_and(|next| {
            let ext = self.unwrap_seq(packet.seq);
            ext < next - HISTORY || ext > self.highest + RESYNC_JUMP
        }) {
            // The far end restarted its numbering (a new T.38 session after
            // a re-INVITE, or a gateway reboot). SpanDSP follows such a jump
            // at once; do the same rather than discard thousands of packets
            // as late or report them missing.
            self.deliver(true, &mut deliver);
            self.next = None;
            self.forget_all();
            self.stats.resyncs += 1;
        }
        let ext = match self.next {
            None => {
                self.make_room();
                // T.38 senders number from 0; a first datagram with a small
                // number means the opening ones were lost, and its recovery
                // data may bring them back.
                let ext = i64::from(packet.seq);
                self.next = Some(if ext < 16 { 0 } else { ext });
                self.highest = ext;
                ext
            }
            Some(_) => self.unwrap_seq(packet.seq),
        };
        let next = self.next.unwrap_or(ext);
        if ext < next || self.is_pending(ext) {
            if self.is_known(ext) {
                self.stats.duplicates += 1;
            } else {
                self.stats.late += 1;
                // Too late to deliver, but it may complete an FEC group.
                if ext > self.highest - HISTORY {
                    self.remember(ext, packet.primary);
                }
            }
            return Ok(());
        }
        self.highest = self.highest.max(ext);
        self.store(ext, packet.primary, IfpSource::Primary);

        match packet.recovery {
            Recovery::Redundancy(secondary) => {
                for (i, ifp) in secondary.iter().enumerate() {
                    let p = ext - 1 - i as i64;
                    // Zero-length secondaries are fillers some senders use.
                    if p >= next && !ifp.is_empty() && !self.is_known(p) {
                        self.store(p, ifp, IfpSource::Redundancy);
                        self.stats.recovered_redundancy += 1;
                    }
                }
            }
            Recovery::Fec { span, entries } => {
                let mut info = self.spare_fec.pop().unwrap_or_default();
                info.ext = ext;
                info.span = span as i64;
                info.bytes.clear();
                info.count = 0;
                // At most MAX_RX_FEC_ENTRIES, checked by the parser.
                for (end, entry) in info.ends.iter_mut().zip(entries.iter()) {
                    info.bytes.extend_from_slice(entry);
                    *end = info.bytes.len();
                    info.count += 1;
                }
                match self.fec.binary_search_by_key(&ext, |f| f.ext) {
                    Ok(i) => {
                        let old = std::mem::replace(&mut self.fec[i], info);
                        self.recycle_fec(old);
                    }
                    Err(i) => self.fec.insert(i, info),
                }
                self.repair_from_fec(next);
            }
        }
        self.prune();
        self.deliver(false, &mut deliver);
        Ok(())
    }

    /// Place a 16-bit sequence number on the unwrapped count, taking the
    /// nearer of the candidates around the newest packet seen.
    fn unwrap_seq(&self, seq: u16) -> i64 {
        self.highest + i64::from(seq.wrapping_sub(self.highest as u16) as i16)
    }

    /// Deliver everything still held back, declaring the remaining gaps
    /// missing. Call when the hold time runs out or the session ends.
    pub fn flush(&mut self) -> Vec<RxEvent> {
        let mut out = Vec::new();
        self.flush_with(|e| out.push(e.to_owned()));
        out
    }

    /// [`UdptlDecoder::flush`] without allocating.
    pub fn flush_with(&mut self, mut deliver: impl FnMut(Delivery<'_>)) {
        self.deliver(true, &mut deliver);
    }

    /// Make, once, the buffers a whole history needs, so that the stream
    /// allocates nothing from its first datagram on (FEC data excepted: its
    /// buffers are made as the history fills).
    fn make_room(&mut self) {
        let want = PREPARED_BUFFERS.saturating_sub(self.held.len());
        self.held.reserve(want);
        while self.spare.len() < want {
            self.spare.push(Vec::with_capacity(IFP_BUFFER));
        }
    }

    /// Where `ext` is held, or where it would go.
    fn find(&self, ext: i64) -> Result<usize, usize> {
        // Held numbers are mostly consecutive: try the slot `ext` would
        // have if they all were, then search.
        if let Some(front) = self.held.front()
            && let Ok(i) = usize::try_from(ext - front.ext)
            && self.held.get(i).is_some_and(|h| h.ext == ext)
        {
            return Ok(i);
        }
        self.held.binary_search_by_key(&ext, |h| h.ext)
    }

    fn is_known(&self, ext: i64) -> bool {
        matches!(self.find(ext), Ok(i) if self.held[i].known)
    }

    fn is_pending(&self, ext: i64) -> bool {
        matches!(self.find(ext), Ok(i) if self.held[i].pending.is_some())
    }

    /// A buffer holding a copy of `data`, reused when one is spare.
    fn buffer(&mut self, data: &[u8]) -> Vec<u8> {
        let mut b = self
            .spare
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(IFP_BUFFER));
        b.clear();
        b.extend_from_slice(data);
        b
    }

    fn recycle(&mut self, buffer: Vec<u8>) {
        if self.spare.len() < MAX_SPARE {
            self.spare.push(buffer);
        }
    }

    fn recycle_fec(&mut self, info: FecInfo) {
        if self.spare_fec.len() < MAX_SPARE {
            self.spare_fec.push(info);
        }
    }

    /// Keep `data` as history for `ext` (a late datagram that may still
    /// complete an FEC group); whether it is pending stays as it was.
    fn remember(&mut self, ext: i64, data: &[u8]) {
        self.hold(ext, data, None);
    }

    /// Hold `data` for delivery as `ext`, and as history.
    fn store(&mut self, ext: i64, data: &[u8], source: IfpSource) {
        self.hold(ext, data, Some(source));
    }

    /// `data` becomes the history of `ext`, and pending from `source` when
    /// one is given.
    fn hold(&mut self, ext: i64, data: &[u8], source: Option<IfpSource>) {
        match self.find(ext) {
            Ok(i) => {
                let h = &mut self.held[i];
                h.known = true;
                if source.is_some() {
                    h.pending = source;
                }
                h.data.clear();
                h.data.extend_from_slice(data);
            }
            Err(i) => {
                let data = self.buffer(data);
                self.held.insert(
                    i,
                    Held {
                        ext,
                        known: true,
                        pending: source,
                        data,
                    },
                );
            }
        }
    }

    /// Rebuild single losses in any FEC group, repeating while repairs make
    /// further groups solvable.
    fn repair_from_fec(&mut self, next: i64) {
        let mut scratch = std::mem::take(&mut self.scratch);
        loop {
            let mut repaired = None;
            // A group of packet `l` covers only packets before `l`, so
            // packets at or before `next` have nothing left to repair.
            let first = match self.fec.binary_search_by_key(&(next + 1), |f| f.ext) {
                Ok(i) | Err(i) => i,
            };
            'search: for info in self.fec.range(first..) {
                let l = info.ext;
                let n = info.count as i64;
                for m in 0..info.count {
                    let mi = m as i64;
                    let mut lost = None;
                    let mut lost_count = 0;
                    for k in 0..info.span {
                        let p = l + mi - info.span * n + k * n;
                        if !self.is_known(p) {
                            lost = Some(p);
                            lost_count += 1;
                        }
                    }
                    let Some(p) = lost else { continue };
                    if lost_count != 1 || p < next {
                        continue;
                    }
                    scratch.clear();
                    scratch.extend_from_slice(info.block(m));
                    for k in 0..info.span {
                        let q = l + mi - info.span * n + k * n;
                        if let Ok(i) = self.find(q)
                            && self.held[i].known
                        {
                            for (d, o) in scratch.iter_mut().zip(&self.held[i].data) {
                                *d ^= o;
                            }
                        }
                    }
                    repaired = Some(p);
                    break 'search;
                }
            }
            match repaired {
                Some(p) => {
                    self.store(p, &scratch, IfpSource::Fec);
                    self.stats.recovered_fec += 1;
                }
                None => break,
            }
        }
        self.scratch = scratch;
    }

    /// Forget history older than [`HISTORY`] packets; an IFP still pending
    /// stays until delivered, but no longer counts as history.
    fn prune(&mut self) {
        let floor = self.highest - HISTORY;
        let mut i = 0;
        while let Some(h) = self.held.get_mut(i)
            && h.ext < floor
        {
            if h.pending.is_some() {
                h.known = false;
                i += 1;
            } else if let Some(h) = self.held.remove(i) {
                self.recycle(h.data);
            }
        }
        while let Some(f) = self.fec.front()
            && f.ext < floor
        {
            if let Some(f) = self.fec.pop_front() {
                self.recycle_fec(f);
            }
        }
    }

    /// Forget everything held (a restart of the far end's numbering).
    fn forget_all(&mut self) {
        while let Some(h) = self.held.pop_front() {
            self.recycle(h.data);
        }
        while let Some(f) = self.fec.pop_front() {
            self.recycle_fec(f);
        }
    }

    fn deliver(&mut self, flush: bool, out: &mut impl FnMut(Delivery<'_>)) {
        let Some(mut next) = self.next else {
            return;
        };
        loop {
            let at = match self.find(next) {
                Ok(i) | Err(i) => i,
            };
            if let Some(h) = self.held.get_mut(at)
                && h.ext == next
                && let Some(source) = h.pending.take()
            {
                out(Delivery::Ifp {
                    seq: next as u16,
                    data: &h.data,
                    source,
                });
                if !h.known
                    && let Some(h) = self.held.remove(at)
                {
                    self.recycle(h.data);
                }
                next += 1;
                continue;
            }
            let Some(first_present) = self
                .held
                .range(at..)
                .find(|h| h.pending.is_some())
                .map(|h| h.ext)
            else {
                break;
            };
            // A gap before `first_present`: declare as much of it missing as
            // the hold allows.
            let limit = if flush {
                first_present
            } else {
                first_present.min(self.highest - self.hold)
            };
            if limit <= next {
                break;
            }
            let count = (limit - next) as u32;
            out(Delivery::Missing {
                first: next as u16,
                count,
            });
            self.stats.missing += u64::from(count);
            next = limit;
        }
        self.next = Some(next);
    }
}

#[cfg(test)]
#[path = "udptl_reference.rs"]
mod reference;

#[cfg(test)]
mod tests {
    use super::*;

    fn ifp(n: u32) -> Vec<u8> {
        // Lengths vary 1..=40 so FEC padding and XOR of unequal lengths is exercised.
        let len = 1 + (n as usize * 7) % 40;
        (0..len).map(|i| (n as usize * 31 + i * 13) as u8).collect()
    }

    fn secondaries<'a>(p: &UdptlPacket<'a>) -> Vec<&'a [u8]> {
        match &p.recovery {
            Recovery::Redundancy(s) => {
                assert_eq!(s.iter().count(), s.len());
                s.iter().collect()
            }
            Recovery::Fec { .. } => panic!("FEC, not redundancy"),
        }
    }

    fn ifps(events: &[RxEvent]) -> Vec<(u16, Vec<u8>)> {
        events
            .iter()
            .filter_map(|e| match e {
                RxEvent::Ifp { seq, data, .. } => Some((*seq, data.clone())),
                RxEvent::Missing { .. } => None,
            })
            .collect()
    }

    #[test]
    fn length_determinant_vectors() {
        let mut v = Vec::new();
        put_length(&mut v, 0);
        put_length(&mut v, 127);
        put_length(&mut v, 128);
        put_length(&mut v, 300);
        put_length(&mut v, 16383);
        assert_eq!(v, [0x00, 0x7f, 0x80, 0x80, 0x81, 0x2c, 0xbf, 0xff]);
        let mut r = Reader { buf: &v, pos: 0 };
        for want in [0, 127, 128, 300, 16383] {
            assert_eq!(r.length("x").unwrap(), want);
        }
        let mut frag = Reader {
            buf: &[0xc1],
            pos: 0,
        };
        assert_eq!(
            frag.length("x"),
            Err(UdptlError::Fragmented { at: 0, field: "x" })
        );
    }

    #[test]
    fn encoder_redundancy_matches_hand_built_bytes() {
        let mut e = UdptlEncoder::new(ErrorCorrection::Redundancy { depth: 3 }, 400).unwrap();
        // IFPs: T.38 indicators "no-signal" (0x00), "CNG" (0x02), "CED" (0x04),
        // then a data packet.
        let a = e.encode(&[0x00]).unwrap();
        let b = e.encode(&[0x02]).unwrap();
        let c = e.encode(&[0x04]).unwrap();
        let d = e.encode(&[0xc0, 0x01, 0x80, 0x00, 0x00, 0xff]).unwrap();
        let f = e.encode(&[0x06]).unwrap();
        assert_eq!(a, [0x00, 0x00, 0x01, 0x00, 0x00, 0x00]);
        assert_eq!(b, [0x00, 0x01, 0x01, 0x02, 0x00, 0x01, 0x01, 0x00]);
        assert_eq!(
            c,
            [0x00, 0x02, 0x01, 0x04, 0x00, 0x02, 0x01, 0x02, 0x01, 0x00]
        );
        assert_eq!(
            d,
            [
                0x00, 0x03, 0x06, 0xc0, 0x01, 0x80, 0x00, 0x00, 0xff, 0x00, 0x03, 0x01, 0x04, 0x01,
                0x02, 0x01, 0x00
            ]
        );
        // Depth 3: the oldest (0x00) drops out.
        assert_eq!(
            f,
            [
                0x00, 0x04, 0x01, 0x06, 0x00, 0x03, 0x06, 0xc0, 0x01, 0x80, 0x00, 0x00, 0xff, 0x01,
                0x04, 0x01, 0x02
            ]
        );
    }

    #[test]
    fn error_correction_from_sdp() {
        use crate::sdp::UdpEc;
        assert_eq!(
            ErrorCorrection::for_negotiated(Some(UdpEc::Redundancy), MEDIATRIX_REDUNDANCY),
            ErrorCorrection::Redundancy { depth: 3 }
        );
        assert_eq!(
            ErrorCorrection::for_negotiated(Some(UdpEc::Redundancy), 40),
            ErrorCorrection::Redundancy { depth: 15 }
        );
        assert_eq!(
            ErrorCorrection::for_negotiated(Some(UdpEc::Redundancy), 0),
            ErrorCorrection::None
        );
        assert_eq!(
            ErrorCorrection::for_negotiated(Some(UdpEc::Fec), 3),
            ErrorCorrection::Fec {
                span: 3,
                entries: 3
            }
        );
        assert_eq!(
            ErrorCorrection::for_negotiated(None, 3),
            ErrorCorrection::None
        );
        for ec in [
            Some(UdpEc::None),
            Some(UdpEc::Redundancy),
            Some(UdpEc::Fec),
            None,
        ] {
            assert!(UdptlEncoder::new(ErrorCorrection::for_negotiated(ec, 3), 400).is_ok());
        }
    }

    #[test]
    fn encoder_without_error_correction() {
        let mut e = UdptlEncoder::new(ErrorCorrection::None, 400).unwrap();
        assert_eq!(e.encode(&[0x02]).unwrap(), [0, 0, 1, 2, 0, 0]);
        assert_eq!(e.encode(&[0x04]).unwrap(), [0, 1, 1, 4, 0, 0]);
        assert_eq!(e.next_seq(), 2);
    }

    #[test]
    fn encoder_fec_matches_hand_built_bytes() {
        // span 2, entries 2: wind-up until 4 packets were sent.
        let mut e = UdptlEncoder::new(
            ErrorCorrection::Fec {
                span: 2,
                entries: 2,
            },
            400,
        )
        .unwrap();
        let p: Vec<Vec<u8>> = e_input();
        let out: Vec<Vec<u8>> = p.iter().map(|x| e.encode(x).unwrap()).collect();
        // seq 0, 1: span 0, no entries.
        assert_eq!(out[0], [0x00, 0x00, 0x01, 0x11, 0x80, 0x01, 0x00, 0x00]);
        assert_eq!(
            out[1],
            [0x00, 0x01, 0x02, 0x22, 0x22, 0x80, 0x01, 0x00, 0x00]
        );
        // seq 2: span 2, entries 2/2 = 1; entry 0 covers 2+0−2·1+k·1 = {0, 1}.
        assert_eq!(
            out[2],
            [
                0x00,
                0x02,
                0x01,
                0x33,
                0x80,
                0x01,
                0x02,
                0x01,
                0x02,
                0x11 ^ 0x22,
                0x22
            ]
        );
        // seq 3: entries 3/2 = 1, covers {1, 2}.
        assert_eq!(
            out[3],
            [
                0x00,
                0x03,
                0x01,
                0x44,
                0x80,
                0x01,
                0x02,
                0x01,
                0x02,
                0x22 ^ 0x33,
                0x22
            ]
        );
        // seq 4: full FEC; entry 0 covers {0, 2}, entry 1 covers {1, 3}.
        assert_eq!(
            out[4],
            [
                0x00,
                0x04,
                0x01,
                0x55,
                0x80,
                0x01,
                0x02,
                0x02,
                0x01,
                0x11 ^ 0x33,
                0x02,
                0x22 ^ 0x44,
                0x22
            ]
        );
    }

    fn e_input() -> Vec<Vec<u8>> {
        vec![
            vec![0x11],
            vec![0x22, 0x22],
            vec![0x33],
            vec![0x44],
            vec![0x55],
        ]
    }

    #[test]
    fn encoder_respects_far_max_datagram() {
        let mut e = UdptlEncoder::new(ErrorCorrection::Redundancy { depth: 3 }, 30).unwrap();
        e.encode(&[1; 10]).unwrap();
        e.encode(&[2; 10]).unwrap();
        let d = e.encode(&[3; 10]).unwrap();
        // 2 + 11 + 1 + 1 + 11 = 26 fits; a second secondary would make 37.
        assert_eq!(d.len(), 26);
        assert_eq!(d[14], 1);
        let p = parse_packet(&d).unwrap();
        assert_eq!(secondaries(&p), [&[2u8; 10][..]]);
        e.set_max_datagram(400);
        let d = e.encode(&[4; 10]).unwrap();
        assert_eq!(d[14], 3);
    }

    #[test]
    fn encoder_rejects_bad_input_and_config() {
        let mut e = UdptlEncoder::new(ErrorCorrection::None, 400).unwrap();
        assert_eq!(e.encode(&[]), Err(UdptlError::IfpLength(0)));
        assert_eq!(e.encode(&vec![0; 16384]), Err(UdptlError::IfpLength(16384)));
        assert!(e.encode(&vec![7; 16383]).is_ok());
        assert!(UdptlEncoder::new(ErrorCorrection::Redundancy { depth: 0 }, 400).is_err());
        assert!(UdptlEncoder::new(ErrorCorrection::Redundancy { depth: 16 }, 400).is_err());
        assert!(
            UdptlEncoder::new(
                ErrorCorrection::Fec {
                    span: 3,
                    entries: 6
                },
                400
            )
            .is_err()
        );
        assert!(
            UdptlEncoder::new(
                ErrorCorrection::Fec {
                    span: 4,
                    entries: 4
                },
                400
            )
            .is_err()
        );
        assert!(
            UdptlEncoder::new(
                ErrorCorrection::Fec {
                    span: 0,
                    entries: 1
                },
                400
            )
            .is_err()
        );
    }

    #[test]
    fn long_ifp_uses_two_byte_length() {
        let mut e = UdptlEncoder::new(ErrorCorrection::None, 400).unwrap();
        let d = e.encode(&[0xaa; 200]).unwrap();
        assert_eq!(&d[..4], &[0x00, 0x00, 0x80, 0xc8]);
        let mut dec = UdptlDecoder::default();
        assert_eq!(ifps(&dec.receive(&d).unwrap()), vec![(0, vec![0xaa; 200])]);
    }

    #[test]
    fn parses_a_mediatrix_style_datagram() {
        // seq 0x0105, primary 3 bytes, redundancy with 2 secondaries.
        let d = [
            0x01, 0x05, 0x03, 0x40, 0x01, 0x02, 0x00, 0x02, 0x01, 0x06, 0x02, 0x07, 0x08,
        ];
        let p = parse_packet(&d).unwrap();
        assert_eq!(p.seq, 0x0105);
        assert_eq!(p.primary, &[0x40, 0x01, 0x02]);
        assert_eq!(secondaries(&p), [&[0x06][..], &[0x07, 0x08][..]]);
    }

    #[test]
    fn round_trip_in_order() {
        for ec in [
            ErrorCorrection::None,
            ErrorCorrection::Redundancy { depth: 3 },
            ErrorCorrection::Fec {
                span: 3,
                entries: 3,
            },
        ] {
            let mut e = UdptlEncoder::new(ec, 400).unwrap();
            let mut d = UdptlDecoder::default();
            for n in 0..100u32 {
                let ev = d.receive(&e.encode(&ifp(n)).unwrap()).unwrap();
                assert_eq!(
                    ev,
                    vec![RxEvent::Ifp {
                        seq: n as u16,
                        data: ifp(n),
                        source: IfpSource::Primary
                    }],
                    "{ec:?} packet {n}"
                );
            }
            assert_eq!(d.stats().missing, 0);
        }
    }

    #[test]
    fn redundancy_3_recovers_bursts_of_1_to_3() {
        for burst in 1..=3u32 {
            let mut e = UdptlEncoder::new(ErrorCorrection::Redundancy { depth: 3 }, 400).unwrap();
            let mut d = UdptlDecoder::default();
            let mut got = Vec::new();
            for n in 0..20u32 {
                let dg = e.encode(&ifp(n)).unwrap();
                if (10..10 + burst).contains(&n) {
                    continue;
                }
                got.extend(d.receive(&dg).unwrap());
            }
            let want: Vec<(u16, Vec<u8>)> = (0..20).map(|n| (n as u16, ifp(n))).collect();
            assert_eq!(ifps(&got), want, "burst {burst}");
            assert_eq!(d.stats().recovered_redundancy, u64::from(burst));
            assert!(got.iter().all(|e| !matches!(e, RxEvent::Missing { .. })));
            // The recovered ones are marked.
            assert!(got.contains(&RxEvent::Ifp {
                seq: 10,
                data: ifp(10),
                source: IfpSource::Redundancy
            }));
        }
    }

    #[test]
    fn burst_of_4_with_redundancy_3_reports_one_missing() {
        let mut e = UdptlEncoder::new(ErrorCorrection::Redundancy { depth: 3 }, 400).unwrap();
        let mut d = UdptlDecoder::default();
        let mut got = Vec::new();
        for n in 0..20u32 {
            let dg = e.encode(&ifp(n)).unwrap();
            if (10..14).contains(&n) {
                continue;
            }
            got.extend(d.receive(&dg).unwrap());
        }
        assert!(got.contains(&RxEvent::Missing {
            first: 10,
            count: 1
        }));
        assert_eq!(ifps(&got).len(), 19);
        // Order: 9, Missing 10, 11, 12, 13, 14.
        let pos = got
            .iter()
            .position(|e| matches!(e, RxEvent::Missing { .. }))
            .unwrap();
        assert!(matches!(got[pos - 1], RxEvent::Ifp { seq: 9, .. }));
        assert!(matches!(got[pos + 1], RxEvent::Ifp { seq: 11, .. }));
    }

    #[test]
    fn fec_recovers_single_losses_and_bursts_up_to_entries() {
        for (span, entries, lost) in [
            (3u8, 1u8, vec![20u32]),
            (3, 3, vec![20]),
            (3, 3, vec![20, 21, 22]),
            (2, 5, vec![30, 31, 32, 33, 34]),
            (5, 3, vec![40, 41]),
        ] {
            let mut e = UdptlEncoder::new(ErrorCorrection::Fec { span, entries }, 400).unwrap();
            let mut d = UdptlDecoder::default();
            let mut got = Vec::new();
            for n in 0..60u32 {
                let dg = e.encode(&ifp(n)).unwrap();
                if lost.contains(&n) {
                    continue;
                }
                got.extend(d.receive(&dg).unwrap());
            }
            assert_eq!(d.stats().missing, 0, "span {span} entries {entries}");
            assert_eq!(d.stats().recovered_fec, lost.len() as u64);
            let seqs: Vec<u16> = ifps(&got).iter().map(|(s, _)| *s).collect();
            assert_eq!(seqs, (0..60).collect::<Vec<u16>>());
            for (seq, data) in ifps(&got) {
                let want = ifp(u32::from(seq));
                // FEC rebuilds to the group's longest IFP: the original
                // bytes followed by zero padding.
                assert_eq!(&data[..want.len()], &want[..], "seq {seq}");
                assert!(data[want.len()..].iter().all(|&b| b == 0));
            }
        }
    }

    #[test]
    fn fec_with_held_gap_uses_later_packets() {
        // span 2 entries 1: packets 10 and 11 lost. Packet 12's group is
        // {10, 11} (two lost, not solvable); packet 13's group {11, 12} solves
        // 11, then packet 12's group solves 10, if the gap is held.
        let mut e = UdptlEncoder::new(
            ErrorCorrection::Fec {
                span: 2,
                entries: 1,
            },
            400,
        )
        .unwrap();
        let mut d = UdptlDecoder::new(4);
        let mut got = Vec::new();
        for n in 0..20u32 {
            let dg = e.encode(&ifp(n)).unwrap();
            if n == 10 || n == 11 {
                continue;
            }
            got.extend(d.receive(&dg).unwrap());
        }
        got.extend(d.flush());
        assert_eq!(d.stats().missing, 0);
        assert_eq!(d.stats().recovered_fec, 2);
        assert_eq!(ifps(&got).len(), 20);
        // With no hold the gap is reported as soon as packet 12 shows it.
        let mut e = UdptlEncoder::new(
            ErrorCorrection::Fec {
                span: 2,
                entries: 1,
            },
            400,
        )
        .unwrap();
        let mut d = UdptlDecoder::new(0);
        let mut got = Vec::new();
        for n in 0..20u32 {
            let dg = e.encode(&ifp(n)).unwrap();
            if n == 10 || n == 11 {
                continue;
            }
            got.extend(d.receive(&dg).unwrap());
        }
        assert!(got.contains(&RxEvent::Missing {
            first: 10,
            count: 2
        }));
    }

    #[test]
    fn random_5_percent_loss_over_1000_packets() {
        let mut rng = 0x2545_f491u32;
        let mut next_rand = move || {
            rng ^= rng << 13;
            rng ^= rng >> 17;
            rng ^= rng << 5;
            rng
        };
        for ec in [
            ErrorCorrection::Redundancy { depth: 3 },
            ErrorCorrection::Fec {
                span: 3,
                entries: 3,
            },
        ] {
            let mut e = UdptlEncoder::new(ec, 400).unwrap();
            let mut d = UdptlDecoder::default();
            let mut got = Vec::new();
            let mut dropped = 0;
            for n in 0..1000u32 {
                let dg = e.encode(&ifp(n)).unwrap();
                if next_rand() % 100 < 5 && n != 999 {
                    dropped += 1;
                    continue;
                }
                got.extend(d.receive(&dg).unwrap());
            }
            assert!(dropped > 20, "the loss pattern must actually lose packets");
            // Every sequence number is accounted for exactly once, in order.
            let mut expect = 0u32;
            for ev in &got {
                match ev {
                    RxEvent::Ifp { seq, data, .. } => {
                        assert_eq!(u32::from(*seq), expect);
                        let want = ifp(expect);
                        assert_eq!(&data[..want.len()], &want[..]);
                        expect += 1;
                    }
                    RxEvent::Missing { first, count } => {
                        assert_eq!(u32::from(*first), expect);
                        expect += count;
                    }
                }
            }
            assert_eq!(expect, 1000, "{ec:?}");
            let s = d.stats();
            assert_eq!(
                s.recovered_redundancy + s.recovered_fec + s.missing,
                dropped,
                "{ec:?}"
            );
            if let ErrorCorrection::Redundancy { .. } = ec {
                // Four losses in a row are needed to lose data at depth 3.
                assert!(s.missing <= dropped / 10, "{s:?}");
            }
        }
    }

    #[test]
    fn sequence_wraps_from_65535_to_0() {
        let mut e = UdptlEncoder::new(ErrorCorrection::Redundancy { depth: 3 }, 400).unwrap();
        e.seq = 65530;
        let mut d = UdptlDecoder::default();
        let mut got = Vec::new();
        for n in 0..12u32 {
            let dg = e.encode(&ifp(n)).unwrap();
            if n == 6 || n == 7 {
                continue; // seq 0 and 1 lost right after the wrap
            }
            got.extend(d.receive(&dg).unwrap());
        }
        let seqs: Vec<u16> = ifps(&got).iter().map(|(s, _)| *s).collect();
        assert_eq!(
            seqs,
            vec![65530, 65531, 65532, 65533, 65534, 65535, 0, 1, 2, 3, 4, 5]
        );
        assert_eq!(d.stats().missing, 0);
    }

    #[test]
    fn duplicates_late_and_reordered_packets() {
        let mut e = UdptlEncoder::new(ErrorCorrection::None, 400).unwrap();
        let dg: Vec<Vec<u8>> = (0..8).map(|n| e.encode(&ifp(n)).unwrap()).collect();
        // No hold: 2 arrives after 3, so it is late.
        let mut d = UdptlDecoder::new(0);
        d.receive(&dg[0]).unwrap();
        d.receive(&dg[1]).unwrap();
        let ev = d.receive(&dg[3]).unwrap();
        assert_eq!(ev[0], RxEvent::Missing { first: 2, count: 1 });
        assert_eq!(d.receive(&dg[2]).unwrap(), vec![]);
        assert_eq!(d.receive(&dg[1]).unwrap(), vec![]);
        assert_eq!(d.stats().late, 1);
        assert_eq!(d.stats().duplicates, 1);
        // Hold of 2: the reordered packet is put back in place.
        let mut d = UdptlDecoder::new(2);
        let mut got = Vec::new();
        for i in [0, 1, 3, 2, 4, 5, 5, 7, 6] {
            got.extend(d.receive(&dg[i]).unwrap());
        }
        let seqs: Vec<u16> = ifps(&got).iter().map(|(s, _)| *s).collect();
        assert_eq!(seqs, vec![0, 1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(d.stats().duplicates, 1);
        assert_eq!(d.stats().missing, 0);
        // A gap beyond the hold is declared once newer packets pile up.
        let mut d = UdptlDecoder::new(2);
        let mut got = Vec::new();
        for i in [0, 2, 3] {
            got.extend(d.receive(&dg[i]).unwrap());
        }
        assert_eq!(ifps(&got).len(), 1);
        got.extend(d.receive(&dg[4]).unwrap());
        assert_eq!(got[1], RxEvent::Missing { first: 1, count: 1 });
        assert_eq!(ifps(&got).len(), 4);
        // flush() ends the wait.
        let mut d = UdptlDecoder::new(5);
        let mut got = Vec::new();
        for i in [0, 2, 3] {
            got.extend(d.receive(&dg[i]).unwrap());
        }
        assert_eq!(ifps(&got).len(), 1);
        got.extend(d.flush());
        assert_eq!(got[1], RxEvent::Missing { first: 1, count: 1 });
        let seqs: Vec<u16> = ifps(&got).iter().map(|(s, _)| *s).collect();
        assert_eq!(seqs, vec![0, 2, 3]);
        assert_eq!(d.flush(), vec![]);
    }

    #[test]
    fn restarted_numbering_is_followed() {
        let mut e = UdptlEncoder::new(ErrorCorrection::Redundancy { depth: 3 }, 400).unwrap();
        let mut d = UdptlDecoder::new(2);
        let mut got = Vec::new();
        for n in 0..300u32 {
            got.extend(d.receive(&e.encode(&ifp(n)).unwrap()).unwrap());
        }
        // Hold 2 keeps nothing back when nothing is lost.
        assert_eq!(ifps(&got).len(), 300);
        // New T.38 session: numbering starts again at 0.
        let mut e = UdptlEncoder::new(ErrorCorrection::Redundancy { depth: 3 }, 400).unwrap();
        let mut got = Vec::new();
        for n in 0..5u32 {
            got.extend(d.receive(&e.encode(&[n as u8 + 1]).unwrap()).unwrap());
        }
        assert_eq!(
            ifps(&got),
            vec![
                (0, vec![1]),
                (1, vec![2]),
                (2, vec![3]),
                (3, vec![4]),
                (4, vec![5])
            ]
        );
        assert_eq!(d.stats().resyncs, 1);
        assert_eq!(d.stats().late, 0);
        // A jump far ahead is followed too, without a huge missing report.
        e.seq = 30000;
        let got = d.receive(&e.encode(&[9]).unwrap()).unwrap();
        assert_eq!(ifps(&got), vec![(30000, vec![9])]);
        assert_eq!(d.stats().resyncs, 2);
        assert_eq!(d.stats().missing, 0);
        // A modest jump is loss, reported as such; the hold of 2 keeps the
        // last two open until flushed.
        let mut plain = UdptlEncoder::new(ErrorCorrection::None, 400).unwrap();
        plain.seq = 30100;
        let got = d.receive(&plain.encode(&[10]).unwrap()).unwrap();
        assert_eq!(
            got,
            vec![RxEvent::Missing {
                first: 30001,
                count: 97
            }]
        );
        assert_eq!(
            d.flush(),
            vec![
                RxEvent::Missing {
                    first: 30098,
                    count: 2
                },
                RxEvent::Ifp {
                    seq: 30100,
                    data: vec![10],
                    source: IfpSource::Primary
                }
            ]
        );
    }

    #[test]
    fn first_datagrams_lost_are_recovered_or_reported() {
        let mut e = UdptlEncoder::new(ErrorCorrection::Redundancy { depth: 3 }, 400).unwrap();
        let dg: Vec<Vec<u8>> = (0..8).map(|n| e.encode(&ifp(n)).unwrap()).collect();
        let mut d = UdptlDecoder::default();
        let got = d.receive(&dg[2]).unwrap();
        let seqs: Vec<u16> = ifps(&got).iter().map(|(s, _)| *s).collect();
        assert_eq!(seqs, vec![0, 1, 2]);
        let mut d = UdptlDecoder::default();
        let got = d.receive(&dg[5]).unwrap();
        assert_eq!(got[0], RxEvent::Missing { first: 0, count: 2 });
        // A stream joined mid-way starts where it is found.
        let mut d = UdptlDecoder::default();
        let mut e = UdptlEncoder::new(ErrorCorrection::Redundancy { depth: 3 }, 400).unwrap();
        e.seq = 5000;
        e.encode(&[1]).unwrap();
        let got = d.receive(&e.encode(&[2]).unwrap()).unwrap();
        assert_eq!(ifps(&got), vec![(5001, vec![2])]);
    }

    #[test]
    fn malformed_datagrams_are_rejected_without_state_change() {
        let mut d = UdptlDecoder::default();
        let cases: &[(&[u8], &str)] = &[
            (&[], "empty"),
            (&[0x00], "half a sequence number"),
            (&[0x00, 0x01], "no primary"),
            (&[0x00, 0x01, 0x05, 0x01], "primary shorter than its length"),
            (&[0x00, 0x01, 0x00, 0x00, 0x00], "empty primary"),
            (&[0x00, 0x01, 0x01, 0x02], "no error recovery"),
            (&[0x00, 0x01, 0x01, 0x02, 0x00], "no secondary count"),
            (
                &[0x00, 0x01, 0x01, 0x02, 0x00, 0x02, 0x01, 0x07],
                "missing secondary",
            ),
            (&[0x00, 0x01, 0x01, 0x02, 0x00, 0x00, 0x99], "trailing byte"),
            (&[0x00, 0x01, 0xc1, 0x02], "fragmented primary"),
            (&[0x00, 0x01, 0x01, 0x02, 0x80, 0x01], "FEC without span"),
            (
                &[0x00, 0x01, 0x01, 0x02, 0x80, 0x01, 0xff, 0x00],
                "FEC span 255",
            ),
            (
                &[0x00, 0x01, 0x01, 0x02, 0x80, 0x01, 0x02, 0x40],
                "64 FEC entries",
            ),
            (
                &[0x00, 0x01, 0x01, 0x02, 0x80, 0x00],
                "zero-length FEC span",
            ),
            (
                &[0x00, 0x01, 0x01, 0x02, 0x80, 0x01, 0x02, 0x01, 0x03, 0x00],
                "short FEC entry",
            ),
        ];
        for (bytes, what) in cases {
            assert!(d.receive(bytes).is_err(), "{what} must be rejected");
        }
        assert_eq!(d.stats().malformed, cases.len() as u64);
        assert_eq!(d.stats().datagrams, 0);
        // The decoder still works afterwards.
        let got = d.receive(&[0x00, 0x00, 0x01, 0x02, 0x00, 0x00]).unwrap();
        assert_eq!(ifps(&got), vec![(0, vec![0x02])]);
        // Empty secondaries are fillers, not errors.
        let got = d
            .receive(&[0x00, 0x02, 0x01, 0x04, 0x00, 0x01, 0x00])
            .unwrap();
        assert_eq!(got[0], RxEvent::Missing { first: 1, count: 1 });
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed = 0x9e37_79b9u32;
        let mut rand = move || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 24) as u8
        };
        let mut e = UdptlEncoder::new(
            ErrorCorrection::Fec {
                span: 3,
                entries: 3,
            },
            400,
        )
        .unwrap();
        let valid: Vec<Vec<u8>> = (0..30).map(|n| e.encode(&ifp(n)).unwrap()).collect();
        let mut d = UdptlDecoder::new(3);
        for round in 0..5000 {
            let mut dg = valid[round % valid.len()].clone();
            match round % 4 {
                0 => {
                    let cut = usize::from(rand()) % (dg.len() + 1);
                    dg.truncate(cut);
                }
                1 => {
                    let i = usize::from(rand()) % dg.len();
                    dg[i] = rand();
                }
                2 => dg = (0..usize::from(rand() % 64)).map(|_| rand()).collect(),
                _ => {
                    dg[0] = rand();
                    dg[1] = rand();
                }
            }
            let _ = d.receive(&dg);
        }
        let _ = d.flush();
    }

    /// The decoder against the model it replaced (ordered maps, a vector
    /// per IFP), datagram by datagram: the same events, errors and counters
    /// for thousands of impaired streams — loss, duplicates, reordering,
    /// sequence wrap, restarts, garbage — with every hold and scheme.
    #[test]
    fn decoder_matches_the_reference_model_on_impaired_streams() {
        struct Rng(u64);
        impl Rng {
            fn next(&mut self) -> u64 {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                self.0
            }
            fn below(&mut self, n: u64) -> u64 {
                self.next() % n
            }
        }
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut compared = 0u64;
        for round in 0..3000u64 {
            let ec = match round % 4 {
                0 => ErrorCorrection::None,
                1 | 2 => ErrorCorrection::Redundancy {
                    depth: 1 + rng.below(5) as u8,
                },
                _ => ErrorCorrection::Fec {
                    span: 1 + rng.below(3) as u8,
                    entries: 1 + rng.below(3) as u8,
                },
            };
            let mut encoder = UdptlEncoder::new(ec, 1400).unwrap();
            let offset = if rng.below(4) == 0 {
                65535 - rng.below(40) as u16
            } else {
                rng.below(65536) as u16 * u16::from(rng.below(3) == 0)
            };
            let len = 20 + rng.below(300) as usize;
            let mut stream: Vec<Vec<u8>> = Vec::new();
            for n in 0..len {
                if rng.below(200) == 0 {
                    // The far end restarts its numbering.
                    encoder = UdptlEncoder::new(ec, 1400).unwrap();
                }
                let ifp: Vec<u8> = (0..1 + rng.below(60)).map(|_| rng.next() as u8).collect();
                let mut d = encoder.encode(&ifp).unwrap();
                let seq = u16::from_be_bytes([d[0], d[1]]).wrapping_add(offset);
                d[..2].copy_from_slice(&seq.to_be_bytes());
                if rng.below(500) == 0 {
                    // A jump far ahead.
                    let far = seq.wrapping_add(2000);
                    d[..2].copy_from_slice(&far.to_be_bytes());
                }
                stream.push(d);
                if rng.below(100) == 0 {
                    let garbage: Vec<u8> = (0..rng.below(12)).map(|_| rng.next() as u8).collect();
                    stream.push(garbage);
                }
                let _ = n;
            }
            // Impair: loss, duplicates, reordering within a few packets.
            let loss = rng.below(40);
            let mut sent: Vec<Vec<u8>> = Vec::new();
            for d in stream {
                if rng.below(100) < loss {
                    continue;
                }
                if rng.below(30) == 0 {
                    sent.push(d.clone());
                }
                sent.push(d);
            }
            for i in 0..sent.len() {
                if rng.below(8) == 0 {
                    let j = (i + 1 + rng.below(6) as usize).min(sent.len() - 1);
                    sent.swap(i, j);
                }
            }
            let hold = [0u16, 0, 1, 3, 7, 15, 200][rng.below(7) as usize];
            let mut ours = UdptlDecoder::new(hold);
            let mut model = reference::ReferenceDecoder::new(hold);
            for (i, d) in sent.iter().enumerate() {
                let got = ours.receive(d);
                let want = model.receive(d);
                assert_eq!(got, want, "round {round}, datagram {i}, hold {hold}");
                assert_eq!(ours.stats(), model.stats(), "round {round}, datagram {i}");
                compared += 1;
            }
            assert_eq!(ours.flush(), model.flush(), "round {round}: flush");
            assert_eq!(ours.stats(), model.stats(), "round {round}: final counters");
        }
        assert!(compared > 300_000, "{compared}");
    }
}
