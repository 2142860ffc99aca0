//! ITU-T G.711 A-law and μ-law companding for fax audio carried over RTP.
//!
//! A fax modem signal survives G.711 only if the codec is a plain logarithmic
//! quantiser with no transcoding, so this module follows the recommendation's
//! segment coding exactly (the same arithmetic SpanDSP's inline `g711.h`
//! functions use, which bindgen cannot export because they are `static
//! inline`). Decoding goes through 256-entry tables built at compile time;
//! encoding is a few integer operations per sample.
//!
//! A-law (PCMA, RTP payload type 8) is used in Europe, μ-law (PCMU, payload
//! type 0) in North America and Japan; SDP negotiates which one a call uses.

/// The G.711 companding law of an audio fax call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum G711Law {
    /// A-law (PCMA, RTP static payload type 8).
    ALaw,
    /// μ-law (PCMU, RTP static payload type 0).
    MuLaw,
}

impl G711Law {
    /// The RTP static payload type of this law (RFC 3551 §6).
    pub fn payload_type(self) -> u8 {
        match self {
            G711Law::ALaw => 8,
            G711Law::MuLaw => 0,
        }
    }

    /// The octet that decodes to (near) silence: what to send when there is
    /// nothing to say.
    pub fn idle_octet(self) -> u8 {
        match self {
            G711Law::ALaw => ALAW_IDLE,
            G711Law::MuLaw => ULAW_IDLE,
        }
    }

    /// Decode one octet to a 16-bit linear sample.
    pub fn decode(self, octet: u8) -> i16 {
        match self {
            G711Law::ALaw => alaw_to_linear(octet),
            G711Law::MuLaw => ulaw_to_linear(octet),
        }
    }

    /// Encode one 16-bit linear sample to an octet.
    pub fn encode(self, sample: i16) -> u8 {
        match self {
            G711Law::ALaw => linear_to_alaw(sample),
            G711Law::MuLaw => linear_to_ulaw(sample),
        }
    }

    /// Decode `octets` into `out`; both must be the same length (extra
    /// elements of the longer one are left alone).
    pub fn decode_into(self, octets: &[u8], out: &mut [i16]) {
        let table = match self {
            G711Law::ALaw => &ALAW_TABLE,
            G711Law::MuLaw => &ULAW_TABLE,
        };
        for (o, &b) in out.iter_mut().zip(octets) {
            *o = table[b as usize];
        }
    }

    /// Encode `samples` into `out`; both must be the same length (extra
    /// elements of the longer one are left alone).
    pub fn encode_into(self, samples: &[i16], out: &mut [u8]) {
        match self {
            G711Law::ALaw => {
                for (o, &s) in out.iter_mut().zip(samples) {
                    *o = linear_to_alaw(s);
                }
            }
            G711Law::MuLaw => {
                for (o, &s) in out.iter_mut().zip(samples) {
                    *o = linear_to_ulaw(s);
                }
            }
        }
    }
}

/// G.711 A-law inverts the even bits of every octet (the "AMI" mask) so that
/// idle channels are not runs of zeros on a T1/E1 line.
const ALAW_AMI_MASK: u8 = 0x55;
/// A-law silence: positive zero with the even bits inverted.
const ALAW_IDLE: u8 = 0xD5;
/// μ-law silence: positive zero, all bits inverted.
const ULAW_IDLE: u8 = 0xFF;
/// μ-law adds 33 (scaled by 4 for 16-bit samples) before segmenting, so that
/// every segment starts on a power of two.
const ULAW_BIAS: i32 = 0x84;

/// Index of the highest set bit; `x` must be non-zero.
const fn top_bit(x: i32) -> i32 {
    31 - (x as u32).leading_zeros() as i32
}

/// Encode a linear sample with A-law (G.711 Table 1a).
pub fn linear_to_alaw(sample: i16) -> u8 {
    let mut linear = sample as i32;
    let mask = if linear >= 0 {
        0x80 | ALAW_AMI_MASK
    } else {
        linear = -linear - 1;
        ALAW_AMI_MASK
    };
    let seg = top_bit(linear | 0xFF) - 7;
    if seg >= 8 {
        // Beyond the largest segment: saturate.
        return 0x7F ^ mask;
    }
    let shift = if seg != 0 { seg + 3 } else { 4 };
    (((seg << 4) | ((linear >> shift) & 0x0F)) as u8) ^ mask
}

/// Decode an A-law octet (G.711 Table 1a); the result is the centre of the
/// quantisation interval.
pub const fn alaw_to_linear(octet: u8) -> i16 {
    let a = octet ^ ALAW_AMI_MASK;
    let mut i = ((a & 0x0F) as i32) << 4;
    let seg = ((a & 0x70) >> 4) as i32;
    if seg != 0 {
        i = (i + 0x108) << (seg - 1);
    } else {
        i += 8;
    }
    if a & 0x80 != 0 { i as i16 } else { -i as i16 }
}

/// Encode a linear sample with μ-law (G.711 Table 2a).
pub fn linear_to_ulaw(sample: i16) -> u8 {
    let linear = sample as i32;
    let (biased, mask) = if linear >= 0 {
        (ULAW_BIAS + linear, 0xFFu8)
    } else {
        (ULAW_BIAS - linear, 0x7F)
    };
    let seg = top_bit(biased | 0xFF) - 7;
    if seg >= 8 {
        return 0x7F ^ mask;
    }
    (((seg << 4) | ((biased >> (seg + 3)) & 0x0F)) as u8) ^ mask
}

/// Decode a μ-law octet (G.711 Table 2a).
pub const fn ulaw_to_linear(octet: u8) -> i16 {
    let u = !octet;
    let t = ((((u & 0x0F) as i32) << 3) + ULAW_BIAS) << ((u & 0x70) >> 4);
    if u & 0x80 != 0 {
        (ULAW_BIAS - t) as i16
    } else {
        (t - ULAW_BIAS) as i16
    }
}

const fn build_table(alaw: bool) -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = if alaw {
            alaw_to_linear(i as u8)
        } else {
            ulaw_to_linear(i as u8)
        };
        i += 1;
    }
    t
}

static ALAW_TABLE: [i16; 256] = build_table(true);
static ULAW_TABLE: [i16; 256] = build_table(false);

#[cfg(test)]
mod tests {
    use super::*;

    // Reference points from ITU-T G.711 Tables 1a/2a, scaled to 16-bit linear
    // (A-law decision values ×8 relative to the 13-bit scale, μ-law ×4 on the
    // 14-bit scale), as also produced by the reference `g711.c` of G.191.
    #[test]
    fn alaw_reference_values() {
        assert_eq!(alaw_to_linear(0xD5), 8); // smallest positive step
        assert_eq!(alaw_to_linear(0x55), -8);
        assert_eq!(alaw_to_linear(0xAA), 32256); // largest magnitude
        assert_eq!(alaw_to_linear(0x2A), -32256);
        assert_eq!(alaw_to_linear(0x80), 5504); // segment 7 through AMI mask
        assert_eq!(linear_to_alaw(0), 0xD5);
        assert_eq!(linear_to_alaw(-1), 0x55);
        assert_eq!(linear_to_alaw(i16::MAX), 0xAA);
        assert_eq!(linear_to_alaw(i16::MIN), 0x2A);
        assert_eq!(linear_to_alaw(1000), 0xFA);
    }

    #[test]
    fn ulaw_reference_values() {
        assert_eq!(ulaw_to_linear(0xFF), 0);
        assert_eq!(ulaw_to_linear(0x7F), 0); // "negative zero"
        assert_eq!(ulaw_to_linear(0x80), 32124);
        assert_eq!(ulaw_to_linear(0x00), -32124);
        assert_eq!(ulaw_to_linear(0xFE), 8); // positive, segment 0, step 1
        assert_eq!(ulaw_to_linear(0x7E), -8);
        assert_eq!(linear_to_ulaw(0), 0xFF);
        assert_eq!(linear_to_ulaw(i16::MAX), 0x80);
        assert_eq!(linear_to_ulaw(i16::MIN), 0x00);
        assert_eq!(linear_to_ulaw(1000), 0xCE);
    }

    #[test]
    fn every_code_round_trips() {
        for law in [G711Law::ALaw, G711Law::MuLaw] {
            for code in 0..=255u8 {
                let back = law.encode(law.decode(code));
                if law == G711Law::MuLaw && code == 0x7F {
                    assert_eq!(
                        back, 0xFF,
                        "μ-law negative zero re-encodes as positive zero"
                    );
                } else {
                    assert_eq!(back, code, "{law:?} code {code:#04x}");
                }
            }
        }
    }

    #[test]
    fn encoding_is_monotonic_and_close() {
        // Quantisation error is bounded by half a step of the segment in use:
        // at most 1/32 of the magnitude plus the smallest step.
        for law in [G711Law::ALaw, G711Law::MuLaw] {
            let mut last = i16::MIN;
            for s in (i16::MIN as i32..=i16::MAX as i32).step_by(7) {
                let s = s as i16;
                let d = law.decode(law.encode(s));
                assert!(d >= last, "{law:?} not monotonic at {s}");
                last = d;
                let err = (d as i32 - s as i32).abs();
                assert!(
                    err <= (s as i32).abs() / 32 + 16 || (s as i32).abs() > 32000,
                    "{law:?} {s} -> {d}"
                );
            }
        }
    }

    #[test]
    fn slices_match_single_samples() {
        let samples: Vec<i16> = (0..160)
            .map(|i| ((i * 409) % 65536 - 32768) as i16)
            .collect();
        for law in [G711Law::ALaw, G711Law::MuLaw] {
            let mut bytes = [0u8; 160];
            law.encode_into(&samples, &mut bytes);
            let mut back = [0i16; 160];
            law.decode_into(&bytes, &mut back);
            for i in 0..160 {
                assert_eq!(bytes[i], law.encode(samples[i]));
                assert_eq!(back[i], law.decode(bytes[i]));
            }
        }
    }

    #[test]
    fn tables_agree_with_spandsp() {
        for law in [G711Law::ALaw, G711Law::MuLaw] {
            let codes: Vec<u8> = (0..=255).collect();
            let theirs = crate::fax::spandsp::g711_decode_reference(law, &codes);
            let mut ours = vec![0i16; 256];
            law.decode_into(&codes, &mut ours);
            assert_eq!(ours, theirs, "{law:?} decode");
            let samples: Vec<i16> = (i16::MIN..=i16::MAX).step_by(3).collect();
            let theirs = crate::fax::spandsp::g711_encode_reference(law, &samples);
            let mut ours = vec![0u8; samples.len()];
            law.encode_into(&samples, &mut ours);
            assert_eq!(ours, theirs, "{law:?} encode");
        }
    }
}
