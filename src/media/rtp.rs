//! RTP packet format (RFC 3550 §5.1) and RFC 4733 telephone-event payloads.
//!
//! This module only turns bytes into values and values into bytes: the socket,
//! the 20 ms pacing timer and the G.711 codec live elsewhere. The random
//! initial sequence number, timestamp and SSRC that RFC 3550 §5.1 asks for are
//! passed in by the caller, so every test here is deterministic.
//!
//! Wire layout of the fixed header:
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |V=2|P|X|  CC   |M|     PT      |       sequence number         |
//! |                           timestamp                           |
//! |           synchronization source (SSRC) identifier            |
//! |            contributing source (CSRC) identifiers (CC × 32)   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

/// Size of the fixed RTP header in bytes (RFC 3550 §5.1).
pub const FIXED_HEADER_LEN: usize = 12;

/// Samples in one 20 ms G.711 frame at 8000 Hz; one sample is one byte.
pub const G711_FRAME_SAMPLES: u32 = 160;

/// Why an RTP datagram or telephone-event payload could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RtpError {
    /// The datagram ends before the header it announces.
    #[error(
        "RTP datagram of {len} bytes is shorter than its {needed}-byte header; drop it (truncated or not RTP)"
    )]
    Truncated {
        /// Bytes received.
        len: usize,
        /// Bytes the header needs.
        needed: usize,
    },
    /// The version field is not 2.
    #[error(
        "RTP version {0} is not 2; drop the datagram (not RTP, or STUN/DTLS on the media port)"
    )]
    BadVersion(u8),
    /// The padding count is zero or larger than the space left after the header.
    #[error(
        "RTP padding count {padding} does not fit the {available} payload bytes; drop the datagram"
    )]
    BadPadding {
        /// Padding count from the last byte.
        padding: usize,
        /// Bytes between the header and the end of the datagram.
        available: usize,
    },
    /// A value does not fit its field when building a packet.
    #[error("cannot build RTP packet: {0}")]
    Build(&'static str),
    /// An RFC 4733 payload shorter than one 4-byte event block.
    #[error(
        "telephone-event payload of {0} bytes is shorter than the 4-byte event block of RFC 4733 §2.3"
    )]
    ShortEvent(usize),
}

/// An RTP header extension (RFC 3550 §5.3.1): profile-defined 16 bits and
/// data whose length is a whole number of 32-bit words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpExtension {
    /// The "defined by profile" field (e.g. 0xBEDE for RFC 8285 one-byte headers).
    pub profile: u16,
    /// Extension body; its length must be a multiple of 4 to be sent.
    pub data: Vec<u8>,
}

/// The RTP header fields faxbridge reads and writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpHeader {
    /// Marker bit: for audio, the first packet of a talkspurt; for RFC 4733,
    /// the first packet of an event.
    pub marker: bool,
    /// Payload type, 0..=127 (0 = PCMU, 8 = PCMA, dynamic 96..=127).
    pub payload_type: u8,
    /// Sequence number, +1 per packet, wrapping at 65535.
    pub sequence: u16,
    /// Sampling-clock timestamp (8000 Hz for G.711 and telephone-event).
    pub timestamp: u32,
    /// Synchronisation source identifier.
    pub ssrc: u32,
    /// Contributing sources (at most 15), set by mixers.
    pub csrcs: Vec<u32>,
    /// Header extension, if the X bit is set.
    pub extension: Option<RtpExtension>,
}

impl RtpHeader {
    /// A header with no CSRCs, no extension and the marker clear.
    pub fn new(payload_type: u8, sequence: u16, timestamp: u32, ssrc: u32) -> Self {
        Self {
            marker: false,
            payload_type,
            sequence,
            timestamp,
            ssrc,
            csrcs: Vec::new(),
            extension: None,
        }
    }

    /// Number of bytes this header takes on the wire.
    pub fn encoded_len(&self) -> usize {
        FIXED_HEADER_LEN
            + 4 * self.csrcs.len()
            + self.extension.as_ref().map_or(0, |e| 4 + e.data.len())
    }
}

/// A parsed RTP datagram borrowing its payload from the receive buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    /// The header fields.
    pub header: RtpHeader,
    /// Payload without header and padding.
    pub payload: &'a [u8],
    /// Number of padding bytes that were removed (0 if the P bit was clear).
    pub padding: usize,
}

/// Parse one RTP datagram (RFC 3550 §5.1, §5.3.1).
///
/// Every length is checked against the buffer: a hostile or truncated
/// datagram yields an [`RtpError`], never a panic.
pub fn parse(buf: &[u8]) -> Result<RtpPacket<'_>, RtpError> {
    if buf.len() < FIXED_HEADER_LEN {
        return Err(RtpError::Truncated {
            len: buf.len(),
            needed: FIXED_HEADER_LEN,
        });
    }
    let version = buf[0] >> 6;
    if version != 2 {
        return Err(RtpError::BadVersion(version));
    }
    let has_padding = buf[0] & 0x20 != 0;
    let has_extension = buf[0] & 0x10 != 0;
    let csrc_count = usize::from(buf[0] & 0x0f);
    let marker = buf[1] & 0x80 != 0;
    let payload_type = buf[1] & 0x7f;
    let sequence = u16::from_be_bytes([buf[2], buf[3]]);
    let timestamp = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]);
    let ssrc = u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]);

    let mut pos = FIXED_HEADER_LEN;
    let needed = pos + 4 * csrc_count;
    if buf.len() < needed {
        return Err(RtpError::Truncated {
            len: buf.len(),
            needed,
        });
    }
    let csrcs = buf[pos..needed]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    pos = needed;

    let extension = if has_extension {
        if buf.len() < pos + 4 {
            return Err(RtpError::Truncated {
                len: buf.len(),
                needed: pos + 4,
            });
        }
        let profile = u16::from_be_bytes([buf[pos], buf[pos + 1]]);
        let words = usize::from(u16::from_be_bytes([buf[pos + 2], buf[pos + 3]]));
        let end = pos + 4 + 4 * words;
        if buf.len() < end {
            return Err(RtpError::Truncated {
                len: buf.len(),
                needed: end,
            });
        }
        let data = buf[pos + 4..end].to_vec();
        pos = end;
        Some(RtpExtension { profile, data })
    } else {
        None
    };

    let mut end = buf.len();
    let mut padding = 0;
    if has_padding {
        // RFC 3550 §5.1: the last octet counts the padding octets, itself included.
        padding = usize::from(buf[end - 1]);
        let available = end - pos;
        if padding == 0 || padding > available {
            return Err(RtpError::BadPadding { padding, available });
        }
        end -= padding;
    }
    Ok(RtpPacket {
        header: RtpHeader {
            marker,
            payload_type,
            sequence,
            timestamp,
            ssrc,
            csrcs,
            extension,
        },
        payload: &buf[pos..end],
        padding,
    })
}

/// Build one RTP datagram from a header, a payload and an optional amount of
/// padding (0 for none; otherwise 1..=255 bytes including the count byte).
pub fn build(header: &RtpHeader, payload: &[u8], padding: u8) -> Result<Vec<u8>, RtpError> {
    if header.payload_type > 127 {
        return Err(RtpError::Build("payload type must be 0..=127"));
    }
    if header.csrcs.len() > 15 {
        return Err(RtpError::Build(
            "at most 15 CSRC identifiers fit the CC field",
        ));
    }
    if let Some(ext) = &header.extension {
        if ext.data.len() % 4 != 0 {
            return Err(RtpError::Build(
                "header extension data must be a whole number of 32-bit words",
            ));
        }
        if ext.data.len() / 4 > usize::from(u16::MAX) {
            return Err(RtpError::Build(
                "header extension is longer than 65535 words",
            ));
        }
    }
    let mut out = Vec::with_capacity(header.encoded_len() + payload.len() + usize::from(padding));
    let mut b0 = 0x80 | header.csrcs.len() as u8;
    if padding > 0 {
        b0 |= 0x20;
    }
    if header.extension.is_some() {
        b0 |= 0x10;
    }
    out.push(b0);
    out.push(header.payload_type | if header.marker { 0x80 } else { 0 });
    out.extend_from_slice(&header.sequence.to_be_bytes());
    out.extend_from_slice(&header.timestamp.to_be_bytes());
    out.extend_from_slice(&header.ssrc.to_be_bytes());
    for csrc in &header.csrcs {
        out.extend_from_slice(&csrc.to_be_bytes());
    }
    if let Some(ext) = &header.extension {
        out.extend_from_slice(&ext.profile.to_be_bytes());
        out.extend_from_slice(&((ext.data.len() / 4) as u16).to_be_bytes());
        out.extend_from_slice(&ext.data);
    }
    out.extend_from_slice(payload);
    if padding > 0 {
        out.extend(std::iter::repeat_n(0u8, usize::from(padding) - 1));
        out.push(padding);
    }
    Ok(out)
}

/// Stamps outgoing packets of one RTP stream: sequence +1 per packet,
/// timestamp advancing with the sampling clock.
///
/// RFC 3550 §5.1 wants random initial values for the sequence number and the
/// timestamp, and §8.1 a random SSRC; the caller draws them and passes them in.
#[derive(Debug, Clone)]
pub struct RtpSender {
    ssrc: u32,
    sequence: u16,
    timestamp: u32,
    payload_type: u8,
    next_marker: bool,
}

impl RtpSender {
    /// A sender for `payload_type` (e.g. 0 for PCMU, 8 for PCMA). The first
    /// audio packet carries the marker bit (start of a talkspurt).
    pub fn new(ssrc: u32, initial_sequence: u16, initial_timestamp: u32, payload_type: u8) -> Self {
        Self {
            ssrc,
            sequence: initial_sequence,
            timestamp: initial_timestamp,
            payload_type: payload_type & 0x7f,
            next_marker: true,
        }
    }

    /// The SSRC stamped on every packet.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// The sequence number the next packet will carry.
    pub fn sequence(&self) -> u16 {
        self.sequence
    }

    /// The timestamp the next audio frame will carry.
    pub fn timestamp(&self) -> u32 {
        self.timestamp
    }

    /// Packetise one G.711 frame (one byte per sample, normally
    /// [`G711_FRAME_SAMPLES`] bytes for 20 ms): the packet carries the current
    /// timestamp, then the timestamp advances by the number of samples and
    /// the sequence number by one.
    pub fn audio_frame(&mut self, frame: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(FIXED_HEADER_LEN + frame.len());
        self.audio_frame_into(frame, &mut out);
        out
    }

    /// [`RtpSender::audio_frame`] into `out` (cleared first), so that a
    /// sender that keeps `out` allocates nothing per packet.
    pub fn audio_frame_into(&mut self, frame: &[u8], out: &mut Vec<u8>) {
        let marker = std::mem::take(&mut self.next_marker);
        out.clear();
        out.push(0x80);
        out.push((self.payload_type & 0x7f) | if marker { 0x80 } else { 0 });
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        out.extend_from_slice(frame);
        self.sequence = self.sequence.wrapping_add(1);
        self.timestamp = self.timestamp.wrapping_add(frame.len() as u32);
    }

    /// Advance the timestamp over `samples` that were not sent (silence
    /// suppression or a gap); the next audio packet starts a new talkspurt
    /// and so carries the marker bit (RFC 3551 §4.1).
    pub fn skip(&mut self, samples: u32) {
        self.timestamp = self.timestamp.wrapping_add(samples);
        self.next_marker = true;
    }

    /// Packetise one RFC 4733 telephone-event update with `payload_type`
    /// (the dynamic type negotiated in SDP). All packets of one event carry
    /// the timestamp of the event's start (`event_timestamp`), the first has
    /// the marker bit; every packet, retransmitted end packets included, takes
    /// a new sequence number.
    pub fn event_packet(
        &mut self,
        payload_type: u8,
        event_timestamp: u32,
        event: &TelephoneEvent,
        first: bool,
    ) -> Vec<u8> {
        let mut header = RtpHeader::new(
            payload_type & 0x7f,
            self.sequence,
            event_timestamp,
            self.ssrc,
        );
        header.marker = first;
        self.sequence = self.sequence.wrapping_add(1);
        build(&header, &event.to_bytes(), 0).unwrap_or_default()
    }
}

/// One RFC 4733 §2.3 named-event block: a DTMF digit or fax tone in progress.
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// |     event     |E|R| volume    |          duration             |
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// Event code: 0–9 digits, 10 `*`, 11 `#`, 12–15 A–D, 16 flash
    /// (RFC 4733 §3.2); 32 ANS, 33 /ANS … 36 CNG (RFC 4734).
    pub event: u8,
    /// End bit: this is the last update for the event.
    pub end: bool,
    /// Power level as −dBm0, 0..=63 (larger is quieter).
    pub volume: u8,
    /// Duration so far in timestamp units (samples at 8000 Hz).
    pub duration: u16,
}

impl TelephoneEvent {
    /// Event code of the fax calling tone CNG (RFC 4734 §4.3).
    pub const CNG: u8 = 36;
    /// Event code of the answer tone ANS / CED (RFC 4734 §2.3).
    pub const ANS: u8 = 32;

    /// Parse the first event block of a telephone-event payload. Further
    /// blocks, if any, are ignored (they only occur with RFC 2198 redundancy,
    /// which faxbridge does not offer).
    pub fn parse(payload: &[u8]) -> Result<Self, RtpError> {
        let [event, flags, d0, d1, ..] = *payload else {
            return Err(RtpError::ShortEvent(payload.len()));
        };
        Ok(Self {
            event,
            end: flags & 0x80 != 0,
            volume: flags & 0x3f,
            duration: u16::from_be_bytes([d0, d1]),
        })
    }

    /// The 4-byte wire form; the reserved R bit is sent as zero and the
    /// volume is clamped to its 6 bits.
    pub fn to_bytes(&self) -> [u8; 4] {
        let d = self.duration.to_be_bytes();
        [
            self.event,
            (if self.end { 0x80 } else { 0 }) | self.volume.min(63),
            d[0],
            d[1],
        ]
    }

    /// The DTMF character for events 0–15, if this is a DTMF event.
    pub fn dtmf_char(&self) -> Option<char> {
        b"0123456789*#ABCD"
            .get(usize::from(self.event))
            .map(|&c| char::from(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PCMU packet: V=2, no P/X/CC, M=0, PT=0, seq 0x1234, ts 0xdeadbeef,
    /// SSRC 0x01020304, 4 bytes of payload.
    const PCMU_PACKET: [u8; 16] = [
        0x80, 0x00, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04, 0xff, 0xfe, 0x7f,
        0x7e,
    ];

    #[test]
    fn parses_a_plain_pcmu_packet() {
        let p = parse(&PCMU_PACKET).unwrap();
        assert_eq!(p.header.payload_type, 0);
        assert!(!p.header.marker);
        assert_eq!(p.header.sequence, 0x1234);
        assert_eq!(p.header.timestamp, 0xdead_beef);
        assert_eq!(p.header.ssrc, 0x0102_0304);
        assert!(p.header.csrcs.is_empty());
        assert_eq!(p.header.extension, None);
        assert_eq!(p.payload, &[0xff, 0xfe, 0x7f, 0x7e]);
        assert_eq!(p.padding, 0);
    }

    #[test]
    fn a_sender_writes_what_build_writes() {
        let mut s = RtpSender::new(0xdead_beef, 65_535, u32::MAX - 100, 8);
        s.skip(160);
        let mut out = Vec::new();
        for i in 0..3u8 {
            let (seq, ts) = (s.sequence(), s.timestamp());
            s.audio_frame_into(&[i; 160], &mut out);
            let mut h = RtpHeader::new(8, seq, ts, 0xdead_beef);
            h.marker = i == 0;
            assert_eq!(out, build(&h, &[i; 160], 0).unwrap(), "packet {i}");
        }
    }

    #[test]
    fn builds_the_same_bytes_it_parses() {
        let p = parse(&PCMU_PACKET).unwrap();
        assert_eq!(build(&p.header, p.payload, 0).unwrap(), PCMU_PACKET);
    }

    #[test]
    fn parses_marker_csrc_extension_and_padding() {
        let bytes = [
            0xb2, // V=2 P=1 X=1 CC=2
            0x88, // M=1 PT=8
            0x00, 0x01, 0x00, 0x00, 0x00, 0xa0, 0xca, 0xfe, 0xba, 0xbe, // seq, ts, ssrc
            0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x22, 0x22, // two CSRCs
            0xbe, 0xde, 0x00, 0x01, 0x10, 0xaa, 0x00, 0x00, // extension, one word
            0xd5, 0xd5, // payload
            0x00, 0x00, 0x03, // padding of 3
        ];
        let p = parse(&bytes).unwrap();
        assert!(p.header.marker);
        assert_eq!(p.header.payload_type, 8);
        assert_eq!(p.header.sequence, 1);
        assert_eq!(p.header.timestamp, 160);
        assert_eq!(p.header.ssrc, 0xcafe_babe);
        assert_eq!(p.header.csrcs, vec![0x1111_1111, 0x2222_2222]);
        assert_eq!(
            p.header.extension,
            Some(RtpExtension {
                profile: 0xbede,
                data: vec![0x10, 0xaa, 0, 0]
            })
        );
        assert_eq!(p.payload, &[0xd5, 0xd5]);
        assert_eq!(p.padding, 3);
        assert_eq!(build(&p.header, p.payload, 3).unwrap(), bytes);
    }

    #[test]
    fn rejects_short_wrong_version_and_bad_padding() {
        assert_eq!(
            parse(&PCMU_PACKET[..11]),
            Err(RtpError::Truncated {
                len: 11,
                needed: 12
            })
        );
        let mut v1 = PCMU_PACKET;
        v1[0] = 0x40;
        assert_eq!(parse(&v1), Err(RtpError::BadVersion(1)));
        // CC=3 but no CSRC bytes.
        let mut cc = PCMU_PACKET;
        cc[0] = 0x83;
        assert!(matches!(
            parse(&cc),
            Err(RtpError::Truncated { needed: 24, .. })
        ));
        // Padding count larger than the payload.
        let mut pad = PCMU_PACKET;
        pad[0] = 0xa0;
        pad[15] = 5;
        assert_eq!(
            parse(&pad),
            Err(RtpError::BadPadding {
                padding: 5,
                available: 4
            })
        );
        pad[15] = 0;
        assert!(matches!(
            parse(&pad),
            Err(RtpError::BadPadding { padding: 0, .. })
        ));
        // Extension header announcing more words than present.
        let mut ext = PCMU_PACKET.to_vec();
        ext[0] = 0x90;
        ext[14] = 0x00;
        ext[15] = 0x05;
        assert!(matches!(parse(&ext), Err(RtpError::Truncated { .. })));
    }

    #[test]
    fn build_rejects_values_that_do_not_fit() {
        let mut h = RtpHeader::new(128, 0, 0, 0);
        assert!(build(&h, &[], 0).is_err());
        h.payload_type = 0;
        h.csrcs = vec![0; 16];
        assert!(build(&h, &[], 0).is_err());
        h.csrcs.clear();
        h.extension = Some(RtpExtension {
            profile: 1,
            data: vec![1, 2, 3],
        });
        assert!(build(&h, &[], 0).is_err());
    }

    #[test]
    fn never_panics_on_any_short_input() {
        let mut seed = 0x1234_5678u32;
        for len in 0..64 {
            for _ in 0..64 {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                        (seed >> 24) as u8
                    })
                    .collect();
                let _ = parse(&bytes);
                let mut v2 = bytes.clone();
                if let Some(b) = v2.first_mut() {
                    *b = 0x80 | (*b & 0x3f);
                }
                let _ = parse(&v2);
            }
        }
    }

    #[test]
    fn sender_stamps_20ms_g711_frames() {
        let mut s = RtpSender::new(0x5566_7788, 65534, 0xffff_ff00, 8);
        let frame = [0xd5u8; 160];
        let p1 = s.audio_frame(&frame);
        let p2 = s.audio_frame(&frame);
        let p3 = s.audio_frame(&frame);
        let h1 = parse(&p1).unwrap().header;
        let h2 = parse(&p2).unwrap().header;
        let h3 = parse(&p3).unwrap().header;
        assert_eq!(
            &p1[..12],
            &[
                0x80, 0x88, 0xff, 0xfe, 0xff, 0xff, 0xff, 0x00, 0x55, 0x66, 0x77, 0x88
            ]
        );
        assert!(h1.marker && !h2.marker && !h3.marker);
        assert_eq!((h1.sequence, h2.sequence, h3.sequence), (65534, 65535, 0));
        assert_eq!(h2.timestamp, 0xffff_ffa0);
        assert_eq!(h3.timestamp, 0x0000_0040); // wrapped
        assert_eq!(p1.len(), 12 + 160);
        assert_eq!(s.sequence(), 1);
        s.skip(3 * G711_FRAME_SAMPLES);
        let h4 = parse(&s.audio_frame(&frame)).unwrap().header;
        assert!(h4.marker);
        assert_eq!(h4.timestamp, 0x40 + 160 + 480);
        assert_eq!(h4.sequence, 1);
    }

    #[test]
    fn telephone_event_vectors() {
        // RFC 4733 §2.3: digit 5, E=1, volume 10, duration 800 samples (100 ms).
        let bytes = [0x05, 0x8a, 0x03, 0x20];
        let e = TelephoneEvent::parse(&bytes).unwrap();
        assert_eq!(
            e,
            TelephoneEvent {
                event: 5,
                end: true,
                volume: 10,
                duration: 800
            }
        );
        assert_eq!(e.to_bytes(), bytes);
        assert_eq!(e.dtmf_char(), Some('5'));
        // The reserved bit is ignored on receipt.
        assert_eq!(
            TelephoneEvent::parse(&[11, 0x4a, 0, 0xa0]).unwrap().volume,
            10
        );
        assert_eq!(
            TelephoneEvent::parse(&[11, 0, 0, 0]).unwrap().dtmf_char(),
            Some('#')
        );
        assert_eq!(
            TelephoneEvent::parse(&[36, 0, 0, 0]).unwrap().dtmf_char(),
            None
        );
        assert_eq!(
            TelephoneEvent::parse(&[1, 2, 3]),
            Err(RtpError::ShortEvent(3))
        );
    }

    #[test]
    fn event_packets_share_the_event_timestamp_and_take_new_sequence_numbers() {
        let mut s = RtpSender::new(7, 100, 8000, 0);
        let start = s.timestamp();
        let mut ev = TelephoneEvent {
            event: 1,
            end: false,
            volume: 10,
            duration: 160,
        };
        let a = s.event_packet(101, start, &ev, true);
        ev.duration = 320;
        ev.end = true;
        let b = s.event_packet(101, start, &ev, false);
        let pa = parse(&a).unwrap();
        let pb = parse(&b).unwrap();
        assert_eq!(
            &a[..],
            &[
                0x80, 0xe5, 0, 100, 0, 0, 0x1f, 0x40, 0, 0, 0, 7, 1, 10, 0, 160
            ]
        );
        assert!(pa.header.marker && !pb.header.marker);
        assert_eq!(pb.header.sequence, 101);
        assert_eq!(pb.header.timestamp, 8000);
        assert!(TelephoneEvent::parse(pb.payload).unwrap().end);
    }
}
