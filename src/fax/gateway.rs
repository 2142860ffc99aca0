//! The G.711↔T.38 gateway: one fax call whose sending and receiving
//! terminals use different transports, one fax modem audio in G.711, the
//! other T.38 IFP packets (ITU-T T.38 §4, "Internet-aware fax gateway").
//!
//! Unlike a [`FaxSession`](super::FaxSession) the gateway has no T.30
//! engine and no document: it demodulates V.21, V.27ter, V.29 and V.17
//! audio into IFP packets (indicators, HDLC control frames, image data) and
//! modulates received IFP packets back into audio, editing only what T.38
//! requires (DIS capabilities the T.38 side cannot carry, NSF/NSC/NSS
//! contents). The terminals at both ends negotiate with each other.
//!
//! # Clock
//!
//! The audio side is the clock. Every 20 ms exactly 160 samples go in
//! ([`T38Gateway::receive_payload`] or, for a lost packet,
//! [`T38Gateway::receive_missing`]) and 160 samples come out
//! ([`T38Gateway::transmit_payload`]); no sample is ever inserted or
//! dropped, because modem carriers and T.30 timers are sample-exact. IFP
//! packets for the T.38 side are produced while audio is received and are
//! collected with [`T38Gateway::take_ifp_packets`]; the IFP packets of the
//! T.38 side are fed with [`T38Gateway::receive_ifp`] as they arrive.
//! Transmit audio is continuous: silence while nothing is being modulated.

use std::collections::BTreeSet;

use super::spandsp::{GatewayConfig, GatewayEngine, T38Config};
use super::{FaxError, G711Law, IfpPacket, Modem, SAMPLES_PER_20MS, T38Options};

/// How the gateway is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewaySettings {
    /// Let the terminals use error correction mode (T.30 Annex A) through
    /// the gateway. Needed for T.6 pages; costs nothing when a terminal
    /// does not offer it.
    pub ecm: bool,
    /// Image modems the terminals may choose; DIS is edited so that no
    /// other is picked. Empty means all three.
    pub modems: BTreeSet<Modem>,
    /// The T.38 session parameters agreed with the T.38 side in SDP.
    pub t38: T38Options,
}

impl Default for GatewaySettings {
    /// ECM allowed, V.27ter/V.29/V.17, T.38 version 0 with 400-byte datagrams.
    fn default() -> Self {
        GatewaySettings {
            ecm: true,
            modems: [Modem::V27ter, Modem::V29, Modem::V17].into(),
            t38: T38Options::default(),
        }
    }
}

/// What the gateway relayed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GatewayStats {
    /// Bit rate of the image modem in use (0 before any page).
    pub bit_rate: u32,
    /// The terminals use ECM.
    pub ecm: bool,
    /// Pages relayed.
    pub pages: u32,
    /// T.30 control frames seen, both directions.
    pub t30_frames: u32,
    /// Audio samples received (the gateway's clock).
    pub samples: u64,
    /// IFP packets produced for the T.38 side.
    pub ifp_sent: u64,
    /// IFP packets received from the T.38 side.
    pub ifp_received: u64,
    /// Received IFP packets SpanDSP could not decode.
    pub ifp_rejected: u64,
}

/// A G.711↔T.38 fax gateway for one call, without I/O.
///
/// `Send` (it lives in one call's media task) but not `Sync`.
pub struct T38Gateway {
    engine: GatewayEngine,
    law: G711Law,
    pcm: Vec<i16>,
    samples: u64,
    ifp_sent: u64,
    ifp_received: u64,
    ifp_rejected: u64,
}

impl std::fmt::Debug for T38Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("T38Gateway")
            .field("law", &self.law)
            .field("samples", &self.samples)
            .finish()
    }
}

impl T38Gateway {
    /// A gateway whose audio side speaks G.711 with `law`.
    pub fn new(law: G711Law, settings: &GatewaySettings) -> Result<T38Gateway, FaxError> {
        let modems = if settings.modems.is_empty() {
            GatewaySettings::default().modems
        } else {
            settings.modems.clone()
        };
        let mask = super::FaxSettings {
            modems,
            ..super::FaxSettings::default()
        }
        .modem_mask();
        let engine = GatewayEngine::new(GatewayConfig {
            ecm: settings.ecm,
            modems: mask,
            t38: T38Config {
                version: settings.t38.version.min(3),
                max_datagram: settings.t38.max_datagram.max(100),
                fill_bit_removal: settings.t38.fill_bit_removal,
            },
        })?;
        Ok(T38Gateway {
            engine,
            law,
            pcm: vec![0; SAMPLES_PER_20MS],
            samples: 0,
            ifp_sent: 0,
            ifp_received: 0,
            ifp_rejected: 0,
        })
    }

    /// The audio side's G.711 law.
    pub fn law(&self) -> G711Law {
        self.law
    }

    /// Process one G.711 payload from the audio side (160 octets per 20 ms;
    /// any length is taken as that many samples).
    pub fn receive_payload(&mut self, payload: &[u8]) {
        self.pcm.resize(payload.len(), 0);
        self.law.decode_into(payload, &mut self.pcm);
        self.engine.rx(&self.pcm);
        self.samples += payload.len() as u64;
    }

    /// Process linear 8 kHz samples from the audio side.
    pub fn receive_samples(&mut self, samples: &[i16]) {
        self.engine.rx(samples);
        self.samples += samples.len() as u64;
    }

    /// Account for `samples` of audio that never arrived (a lost packet, or
    /// nothing yet at the start): the clock still advances by that much.
    pub fn receive_missing(&mut self, samples: usize) {
        self.engine.rx_missing(samples);
        self.samples += samples as u64;
    }

    /// Fill `out` with G.711 audio for the audio side (one octet per
    /// sample; silence when nothing is being modulated).
    pub fn transmit_payload(&mut self, out: &mut [u8]) {
        self.pcm.resize(out.len(), 0);
        self.engine.tx(&mut self.pcm);
        self.law.encode_into(&self.pcm, out);
    }

    /// Fill `out` with linear audio for the audio side.
    pub fn transmit_samples(&mut self, out: &mut [i16]) {
        self.engine.tx(out);
    }

    /// Feed one IFP packet from the T.38 side, with its UDPTL sequence number.
    pub fn receive_ifp(&mut self, seq: u16, ifp: &[u8]) -> Result<(), FaxError> {
        self.ifp_received += 1;
        if self.engine.rx_ifp(ifp, seq) {
            Ok(())
        } else {
            self.ifp_rejected += 1;
            Err(FaxError::BadIfp {
                seq,
                len: ifp.len(),
            })
        }
    }

    /// IFP packets for the T.38 side produced since the last call, in order.
    pub fn take_ifp_packets(&mut self) -> Vec<IfpPacket> {
        let packets = std::mem::take(&mut self.engine.events().packets);
        self.ifp_sent += packets.len() as u64;
        packets
    }

    /// [`T38Gateway::take_ifp_packets`] without allocating: each packet
    /// goes to `send`, in order, and its buffer is kept for the next ones.
    pub fn drain_ifp_packets(&mut self, mut send: impl FnMut(&IfpPacket)) {
        let ev = self.engine.events();
        let (packets, spare) = (&mut ev.packets, &mut ev.spare);
        self.ifp_sent += packets.len() as u64;
        for p in packets.drain(..) {
            send(&p);
            if spare.len() < super::spandsp::MAX_SPARE_IFP_BUFFERS {
                spare.push(p.data);
            }
        }
    }

    /// What has been relayed so far.
    pub fn stats(&mut self) -> GatewayStats {
        let s = self.engine.stats();
        let ev = self.engine.events();
        GatewayStats {
            bit_rate: s.bit_rate.max(0) as u32,
            ecm: s.ecm,
            pages: s.pages.max(0) as u32,
            t30_frames: ev.frames_rx + ev.frames_tx,
            samples: self.samples,
            ifp_sent: self.ifp_sent,
            ifp_received: self.ifp_received,
            ifp_rejected: self.ifp_rejected,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docs::tiff::{Compression, read_tiff, write_tiff};
    use crate::docs::{Page, Resolution};
    use crate::fax::{FaxJob, FaxSession, FaxSettings, Transport};

    const STEP: usize = SAMPLES_PER_20MS;
    /// Ten minutes of fax time.
    const MAX_STEPS: u32 = 10 * 60 * 50;

    /// Three standard-resolution pages, each with a frame and its own bars.
    fn pages() -> Vec<Page> {
        (0..3u32)
            .map(|n| {
                let mut p = Page::blank(1728, 300, Resolution::Standard);
                for y in 0..p.height {
                    for x in 0..p.width {
                        let frame = x < 16 || x >= p.width - 16 || y < 8 || y >= p.height - 8;
                        let bars =
                            y > 40 && y < 260 && (x / 40) % (n + 2) == 0 && (y / 10) % 2 == 0;
                        let number =
                            (100..100 + 40 * (n + 1)).contains(&x) && (20..36).contains(&y);
                        if frame || bars || number {
                            p.set(x, y, true);
                        }
                    }
                }
                p
            })
            .collect()
    }

    fn assert_same_pages(sent: &[Page], got: &[Page]) {
        assert_eq!(got.len(), sent.len(), "page count");
        for (n, (s, g)) in sent.iter().zip(got).enumerate() {
            assert_eq!((g.width, g.height), (s.width, s.height), "page {}", n + 1);
            assert_eq!(g.resolution(), s.resolution(), "page {}", n + 1);
            assert!(s.bits == g.bits, "page {} pixels differ", n + 1);
        }
    }

    /// An audio terminal and a T.38 terminal through one gateway, in
    /// memory, 20 ms per step. `audio_sends` picks which one sends.
    fn through_gateway(audio_sends: bool, ecm: bool, law: G711Law) -> (GatewayStats, u32) {
        let dir = tempfile::tempdir().unwrap();
        let sent = pages();
        let doc = dir.path().join("doc.tif");
        write_tiff(&doc, &sent, Compression::Group4).unwrap();
        let rx = dir.path().join("rx.tif");
        let mut settings = FaxSettings {
            ecm,
            ..FaxSettings::default()
        };
        if !ecm {
            // T.6 needs ECM (T.30 Annex A); without it pages go as T.4 2-D.
            settings
                .compressions
                .remove(&crate::fax::FaxCompression::T6);
        }
        let (audio_job, t38_job) = if audio_sends {
            (FaxJob::Send(doc), FaxJob::Receive(rx.clone()))
        } else {
            (FaxJob::Receive(rx.clone()), FaxJob::Send(doc))
        };
        let mut audio = FaxSession::new(audio_job, Transport::Audio(law), &settings).unwrap();
        let mut t38 =
            FaxSession::new(t38_job, Transport::T38(T38Options::default()), &settings).unwrap();
        let mut gw = T38Gateway::new(law, &GatewaySettings::default()).unwrap();
        let (mut a_out, mut g_out) = ([0u8; STEP], [0u8; STEP]);
        let mut steps = 0;
        while !(audio.is_finished() && t38.is_finished()) {
            assert!(steps < MAX_STEPS, "the call did not finish");
            steps += 1;
            audio.transmit_payload(&mut a_out).unwrap();
            gw.transmit_payload(&mut g_out);
            gw.receive_payload(&a_out);
            audio.receive_payload(&g_out).unwrap();
            for p in gw.take_ifp_packets() {
                let _ = t38.receive_ifp(p.seq, &p.data);
            }
            t38.advance(STEP as u32).unwrap();
            for p in t38.take_ifp_packets() {
                gw.receive_ifp(p.seq, &p.data).unwrap();
            }
        }
        for s in [&audio, &t38] {
            let o = s.outcome().unwrap();
            assert!(o.is_success(), "{}", o.summary());
            assert_eq!(o.pages_transferred, 3);
        }
        assert_same_pages(&sent, &read_tiff(&rx).unwrap());
        (gw.stats(), steps)
    }

    #[test]
    fn audio_terminal_to_t38_terminal_through_the_gateway() {
        let start = std::time::Instant::now();
        let (stats, steps) = through_gateway(true, true, G711Law::ALaw);
        assert!(stats.ecm, "{stats:?}");
        assert_eq!(stats.pages, 3, "{stats:?}");
        assert_eq!(stats.bit_rate, 14400, "V.17 chosen: {stats:?}");
        // DIS, DCS, CFR, MPS/MCF per page, EOP, DCN at least.
        assert!(stats.t30_frames >= 9, "{stats:?}");
        assert_eq!(stats.samples, u64::from(steps) * STEP as u64);
        assert_eq!(stats.ifp_rejected, 0);
        // Faster than real time (20 ms of fax per step).
        assert!(
            start.elapsed().as_secs_f64() < f64::from(steps) * 0.020,
            "{:?} for {steps} steps",
            start.elapsed()
        );
    }

    #[test]
    fn t38_terminal_to_audio_terminal_without_ecm() {
        let (stats, _) = through_gateway(false, false, G711Law::MuLaw);
        assert!(!stats.ecm, "{stats:?}");
        assert_eq!(stats.pages, 3, "{stats:?}");
        assert!(stats.ifp_received > 100, "{stats:?}");
    }

    #[test]
    fn two_gateways_back_to_back_carry_audio_over_t38() {
        // Audio fax → gateway → T.38 → gateway → audio fax: what a pair of
        // T.38 gateways does on either side of an IP network.
        let dir = tempfile::tempdir().unwrap();
        let sent = pages();
        let doc = dir.path().join("doc.tif");
        write_tiff(&doc, &sent, Compression::Group4).unwrap();
        let rx = dir.path().join("rx.tif");
        let settings = FaxSettings::default();
        let law = G711Law::ALaw;
        let mut tx = FaxSession::new(FaxJob::Send(doc), Transport::Audio(law), &settings).unwrap();
        let mut rcv = FaxSession::new(
            FaxJob::Receive(rx.clone()),
            Transport::Audio(law),
            &settings,
        )
        .unwrap();
        let mut g1 = T38Gateway::new(law, &GatewaySettings::default()).unwrap();
        let mut g2 = T38Gateway::new(law, &GatewaySettings::default()).unwrap();
        let mut b = [[0u8; STEP]; 4];
        let mut steps = 0;
        while !(tx.is_finished() && rcv.is_finished()) {
            assert!(steps < MAX_STEPS, "the call did not finish");
            steps += 1;
            tx.transmit_payload(&mut b[0]).unwrap();
            g1.transmit_payload(&mut b[1]);
            g2.transmit_payload(&mut b[2]);
            rcv.transmit_payload(&mut b[3]).unwrap();
            g1.receive_payload(&b[0]);
            tx.receive_payload(&b[1]).unwrap();
            rcv.receive_payload(&b[2]).unwrap();
            g2.receive_payload(&b[3]);
            for p in g1.take_ifp_packets() {
                g2.receive_ifp(p.seq, &p.data).unwrap();
            }
            for p in g2.take_ifp_packets() {
                g1.receive_ifp(p.seq, &p.data).unwrap();
            }
        }
        assert!(tx.outcome().unwrap().is_success());
        assert_same_pages(&sent, &read_tiff(&rx).unwrap());
        assert_eq!(g1.stats().pages, 3);
    }

    #[test]
    fn gateways_are_created_and_freed_repeatedly() {
        for _ in 0..50 {
            let mut gw = T38Gateway::new(G711Law::MuLaw, &GatewaySettings::default()).unwrap();
            let mut out = [0u8; STEP];
            gw.transmit_payload(&mut out);
            gw.receive_payload(&out);
            gw.receive_missing(STEP);
            assert!(gw.receive_ifp(1, &[0xff, 0xff, 0xff]).is_err());
            let _ = gw.take_ifp_packets();
            assert_eq!(gw.stats().samples, 2 * STEP as u64);
        }
    }
}
