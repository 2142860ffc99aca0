//! Receiving T.38 IFP packets from UDPTL: the repair a FEC-rebuilt IFP
//! needs before the T.38 terminal sees it.
//!
//! UDPTL FEC (T.38 Annex C) XORs a group of IFPs padded to the longest one,
//! so an IFP rebuilt from it carries the padding as trailing zero octets.
//! The IFP itself is a PER-encoded `IFPPacket` whose length follows from its
//! content, and SpanDSP's `t38_core_rx_ifp_packet` rejects a packet whose
//! encoding ends before the octets handed to it do. [`trim_fec_padding`]
//! finds where the encoding ends, following the same decoding rules as
//! SpanDSP (including the T.38 version 0 field-type encoding, which packs
//! a field without data into half an octet), and drops the zero padding.
//!
//! Sans-IO; the media task calls it for IFPs whose source is FEC.

/// Length in octets of the `IFPPacket` encoding at the start of `ifp`, or
/// `None` when it is incomplete or not a valid encoding.
///
/// `version` is the negotiated `T38FaxVersion`: version 0 encodes the
/// field type of a data field differently from versions 1–3.
pub fn ifp_encoded_len(ifp: &[u8], version: u8) -> Option<usize> {
    let first = *ifp.first()?;
    let data_field_present = first & 0x80 != 0;
    let is_data = first & 0x40 != 0;
    let extension = first & 0x20 != 0;
    let mut ptr = if extension { 2 } else { 1 };
    if ptr > ifp.len() {
        return None;
    }
    if !is_data {
        // t30-indicator: never has a data field.
        return (!data_field_present).then_some(ptr);
    }
    if !extension && (first >> 1) & 0x0f > 8 {
        // Data types above V.17 14400 need the extension form.
        return None;
    }
    if !data_field_present {
        return Some(ptr);
    }
    let count = *ifp.get(ptr)?;
    ptr += 1;
    let mut other_half = false;
    for _ in 0..count {
        let b = *ifp.get(ptr)?;
        let field_data_present;
        if version == 0 {
            // The original T.38 ASN.1 had a typo that makes the field-type
            // a 3-bit value after a presence bit, not octet-aligned.
            if other_half {
                field_data_present = (b >> 3) & 1 != 0;
                ptr += 1;
                other_half = false;
            } else {
                field_data_present = b >> 7 != 0;
                if field_data_present {
                    ptr += 1;
                } else {
                    other_half = true;
                }
            }
        } else {
            field_data_present = b >> 7 != 0;
            if b & 0x40 != 0 {
                if ptr + 2 > ifp.len() {
                    return None;
                }
                ptr += 2;
            } else {
                ptr += 1;
            }
        }
        if field_data_present {
            if ptr + 2 > ifp.len() {
                return None;
            }
            let numocts = usize::from(u16::from_be_bytes([ifp[ptr], ifp[ptr + 1]])) + 1;
            ptr += 2 + numocts;
        }
        if ptr > ifp.len() {
            return None;
        }
    }
    if other_half {
        ptr += 1;
    }
    (ptr <= ifp.len()).then_some(ptr)
}

/// The IFP without the zero octets FEC padding appended to it. Returns the
/// input unchanged when its encoding already ends at the last octet, when
/// the octets after the encoding are not all zero (not padding: let the
/// T.38 layer judge the packet), or when it cannot be decoded at all.
pub fn trim_fec_padding(ifp: &[u8], version: u8) -> &[u8] {
    match ifp_encoded_len(ifp, version) {
        Some(n) if n < ifp.len() && ifp[n..].iter().all(|&b| b == 0) => &ifp[..n],
        _ => ifp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // IFPs as SpanDSP's t38_encode_indicator / t38_encode_data write them.

    /// Indicator CNG (1): `(1 << 1)`.
    const CNG: [u8; 1] = [0x02];
    /// Indicator V.21 preamble (5).
    const V21_PREAMBLE: [u8; 1] = [0x0a];

    /// Data V.21 (0) with one field: HDLC data (1), 3 octets.
    fn v21_hdlc_v0() -> Vec<u8> {
        vec![0xc0, 0x01, 0x80 | (1 << 4), 0x00, 0x02, 0xff, 0x13, 0x80]
    }

    fn v21_hdlc_v2() -> Vec<u8> {
        vec![0xc0, 0x01, 0x80 | (1 << 3), 0x00, 0x02, 0xff, 0x13, 0x80]
    }

    #[test]
    fn exact_packets_are_left_alone() {
        for (p, v) in [
            (CNG.to_vec(), 0),
            (V21_PREAMBLE.to_vec(), 2),
            (v21_hdlc_v0(), 0),
            (v21_hdlc_v2(), 2),
        ] {
            assert_eq!(ifp_encoded_len(&p, v), Some(p.len()), "{p:02x?}");
            assert_eq!(trim_fec_padding(&p, v), &p[..]);
        }
    }

    #[test]
    fn fec_padding_is_removed() {
        let mut p = v21_hdlc_v2();
        let n = p.len();
        p.extend([0, 0, 0, 0]);
        assert_eq!(trim_fec_padding(&p, 2), &p[..n]);
        let mut i = CNG.to_vec();
        i.extend([0; 20]);
        assert_eq!(trim_fec_padding(&i, 0), &CNG[..]);
    }

    #[test]
    fn data_ending_in_zero_octets_is_kept() {
        // Field data whose last octets are zero: the length field says so.
        let p = vec![0xc0, 0x01, 0x88, 0x00, 0x03, 0x12, 0x00, 0x00, 0x00];
        assert_eq!(ifp_encoded_len(&p, 2), Some(p.len()));
        assert_eq!(trim_fec_padding(&p, 2), &p[..]);
    }

    #[test]
    fn version0_half_octet_fields() {
        // Two fields without data (HDLC-sig-end = 3, then t4-non-ecm-sig-end
        // = 7): two 4-bit type codes share one octet.
        let p = vec![0xc0, 0x02, (3 << 4) | 7];
        assert_eq!(ifp_encoded_len(&p, 0), Some(3));
        let mut padded = p.clone();
        padded.extend([0, 0]);
        assert_eq!(trim_fec_padding(&padded, 0), &p[..]);
    }

    /// Real IFPs from SpanDSP (CED, V.21 preamble, the DIS frame…): padded
    /// with zeros as FEC leaves them, SpanDSP rejects them; trimmed, it
    /// takes them.
    #[test]
    fn spandsp_rejects_padding_and_accepts_trimmed_packets() {
        use crate::fax::{FaxJob, FaxSession, FaxSettings, T38Options, Transport};
        let dir = tempfile::tempdir().unwrap();
        for version in [0u8, 2] {
            let t38 = Transport::T38(T38Options {
                version,
                ..T38Options::default()
            });
            let s = FaxSettings::default();
            let session = |name: &str| {
                FaxSession::new(FaxJob::Receive(dir.path().join(name)), t38, &s).unwrap()
            };
            let mut source = session("a.tif");
            let mut padded_rx = session("b.tif");
            let mut trimmed_rx = session("c.tif");
            let mut packets = Vec::new();
            for _ in 0..400 {
                source.advance(160).unwrap();
                packets.extend(source.take_ifp_packets());
            }
            assert!(
                packets.iter().any(|p| p.data.len() > 4),
                "no data packets: {packets:?}"
            );
            for p in &packets {
                let mut padded = p.data.clone();
                padded.extend([0; 6]);
                assert!(padded_rx.receive_ifp(p.seq, &padded).is_err(), "{p:?}");
                let trimmed = trim_fec_padding(&padded, version);
                assert_eq!(trimmed, &p.data[..]);
                trimmed_rx.receive_ifp(p.seq, trimmed).unwrap();
            }
        }
    }

    #[test]
    fn garbage_and_truncation_are_left_to_the_t38_layer() {
        assert_eq!(ifp_encoded_len(&[], 0), None);
        // An indicator claiming a data field is invalid.
        assert_eq!(ifp_encoded_len(&[0x82], 0), None);
        let p = v21_hdlc_v2();
        assert_eq!(ifp_encoded_len(&p[..p.len() - 1], 2), None);
        // Non-zero octets after the end are not FEC padding.
        let mut q = p.clone();
        q.extend([0, 7]);
        assert_eq!(trim_fec_padding(&q, 2), &q[..]);
    }
}
