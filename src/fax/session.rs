//! A sans-IO driver for one fax call, sending or receiving, over G.711 audio
//! or T.38.
//!
//! The SIP media code owns the sockets and the clock; a [`FaxSession`] only
//! turns what arrived into what to send:
//!
//! * **Audio** (PCMA/PCMU): every 20 ms, hand the received RTP payload to
//!   [`FaxSession::receive_payload`] (or report a lost packet with
//!   [`FaxSession::receive_missing`]) and fill the next outgoing payload with
//!   [`FaxSession::transmit_payload`]. Fax time advances with the audio
//!   received, so T.30 timers (T1 35 s, T2 6 s, T4 3 s) follow the media
//!   stream, not the wall clock. [`FaxSession::receive_samples`] and
//!   [`FaxSession::transmit_samples`] do the same on 16-bit linear samples.
//! * **T.38**: hand each received IFP packet, with its UDPTL sequence number,
//!   to [`FaxSession::receive_ifp`]; every 20 ms (or whenever convenient)
//!   advance the clock with [`FaxSession::advance`], then send the packets
//!   from [`FaxSession::take_ifp_packets`]. SpanDSP paces the packets itself
//!   against that clock, as a real modem would.
//!
//! When the call's signalling ends (BYE, CANCEL) before T.30 did, call
//! [`FaxSession::hang_up`]. [`FaxSession::outcome`] is available once
//! [`FaxSession::is_finished`] is true.

use std::ffi::CString;
use std::path::{Path, PathBuf};

use super::spandsp::{
    AudioTerminal, Events, FileRole, IfpPacket, T30Config, T38Config, T38Terminal,
};
use super::{Direction, FaxError, FaxOutcome, FaxSettings, FaxStatus, G711Law, completion_reason};

/// What the call does with a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaxJob {
    /// Send the pages of this TIFF (any bilevel TIFF-F that libtiff reads).
    Send(PathBuf),
    /// Receive into this TIFF (created; written as T.6, LSB2MSB, one strip
    /// per page).
    Receive(PathBuf),
}

/// T.38 parameters agreed in SDP (T38FaxVersion, T38FaxMaxDatagram, and
/// T38FaxFillBitRemoval).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct T38Options {
    /// T.38 version 0–3; the answer carries the lower of both sides.
    pub version: u8,
    /// Largest IFP packet the far end accepts, in octets.
    pub max_datagram: u16,
    /// Fill bits are removed from non-ECM image data.
    pub fill_bit_removal: bool,
}

impl Default for T38Options {
    fn default() -> Self {
        T38Options {
            version: 0,
            max_datagram: 400,
            fill_bit_removal: false,
        }
    }
}

/// How the fax signal travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Modem audio in G.711 RTP (A-law or μ-law).
    Audio(G711Law),
    /// T.38 IFP packets (UDPTL framing is the caller's).
    T38(T38Options),
}

enum Engine {
    Audio {
        term: AudioTerminal,
        law: G711Law,
        pcm: Vec<i16>,
    },
    T38(T38Terminal),
}

impl Engine {
    fn events(&mut self) -> &mut Events {
        match self {
            Engine::Audio { term, .. } => term.events(),
            Engine::T38(t) => t.events(),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Engine::Audio { .. } => "G.711 audio",
            Engine::T38(_) => "T.38",
        }
    }
}

/// One fax call: T.30 over audio or T.38, without I/O.
///
/// `Send` (moved between tokio workers with its call task) but not `Sync`.
pub struct FaxSession {
    engine: Engine,
    direction: Direction,
    tiff: PathBuf,
    samples: u64,
    outcome: Option<FaxOutcome>,
    /// Watchdog: T.30 activity count last seen, when, and the limit.
    activity: u64,
    activity_at: u64,
    stall_limit: u64,
    stalled: bool,
}

impl std::fmt::Debug for FaxSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaxSession")
            .field("transport", &self.engine.name())
            .field("direction", &self.direction)
            .field("tiff", &self.tiff)
            .field("samples", &self.samples)
            .field("outcome", &self.outcome)
            .finish()
    }
}

/// SpanDSP keeps file names in 256-octet buffers.
const MAX_PATH_LEN: usize = 255;

fn c_path(path: &Path) -> Result<CString, FaxError> {
    let s = path.to_str().ok_or(FaxError::BadPath {
        path: path.to_owned(),
        reason: "it is not valid UTF-8",
    })?;
    if s.len() > MAX_PATH_LEN {
        return Err(FaxError::BadPath {
            path: path.to_owned(),
            reason: "it is longer than 255 bytes; use a shorter spool directory",
        });
    }
    CString::new(s).map_err(|_| FaxError::BadPath {
        path: path.to_owned(),
        reason: "it contains a NUL byte",
    })
}

impl FaxSession {
    /// Start a call in its usual role: a sending session places the call
    /// (calling party, CNG), a receiving one answers it (CED).
    pub fn new(
        job: FaxJob,
        transport: Transport,
        settings: &FaxSettings,
    ) -> Result<FaxSession, FaxError> {
        let calling = matches!(job, FaxJob::Send(_));
        FaxSession::with_role(job, transport, settings, calling)
    }

    /// Start a call, choosing whether we are the calling party (sends CNG and
    /// waits for the far end's DIS) or the answering party (sends CED and DIS).
    /// Polling-style calls swap the usual roles.
    pub fn with_role(
        job: FaxJob,
        transport: Transport,
        settings: &FaxSettings,
        calling_party: bool,
    ) -> Result<FaxSession, FaxError> {
        settings.validate()?;
        let (file, direction, tiff) = match job {
            FaxJob::Send(p) => {
                // Fail now rather than in phase B with a bare FILEERROR.
                std::fs::File::open(&p).map_err(|source| FaxError::SourceUnreadable {
                    path: p.clone(),
                    source,
                })?;
                (FileRole::Send(c_path(&p)?), Direction::Send, p)
            }
            FaxJob::Receive(p) => {
                let dir = p.parent().filter(|d| !d.as_os_str().is_empty());
                if dir.is_some_and(|d| !d.is_dir()) {
                    return Err(FaxError::NoReceiveDir { path: p });
                }
                (FileRole::Receive(c_path(&p)?), Direction::Receive, p)
            }
        };
        // Validated: ASCII digits, spaces and '+' / printable ASCII; no NULs.
        let ident =
            CString::new(settings.ident.as_str()).map_err(|_| FaxError::InvalidSetting {
                key: "fax.ident",
                reason: "contains a NUL byte".into(),
            })?;
        let header_info = if settings.header_info.is_empty() {
            None
        } else {
            Some(CString::new(settings.header_info.as_str()).map_err(|_| {
                FaxError::InvalidSetting {
                    key: "fax.header_info",
                    reason: "contains a NUL byte".into(),
                }
            })?)
        };
        let cfg = T30Config {
            calling_party,
            ident,
            header_info,
            ecm: settings.ecm,
            modems: settings.modem_mask(),
            compressions: settings.compression_mask(),
            resolutions: settings.resolution_mask(),
            keep_partial_pages: settings.keep_partial_pages,
            file,
        };
        let engine = match transport {
            Transport::Audio(law) => Engine::Audio {
                term: AudioTerminal::new(&cfg)?,
                law,
                pcm: vec![0; super::SAMPLES_PER_20MS],
            },
            Transport::T38(o) => Engine::T38(T38Terminal::new(
                &cfg,
                T38Config {
                    version: o.version.min(3),
                    max_datagram: o.max_datagram.max(100),
                    fill_bit_removal: o.fill_bit_removal,
                },
            )?),
        };
        Ok(FaxSession {
            engine,
            direction,
            tiff,
            samples: 0,
            outcome: None,
            activity: 0,
            activity_at: 0,
            stall_limit: u64::from(settings.stall_timeout_secs) * u64::from(super::SAMPLE_RATE),
            stalled: false,
        })
    }

    fn wrong(&self, operation: &'static str, needs: &'static str) -> FaxError {
        FaxError::WrongTransport {
            operation,
            needs,
            actual: self.engine.name(),
        }
    }

    /// Process one received G.711 RTP payload (any length; 160 octets per 20 ms).
    pub fn receive_payload(&mut self, payload: &[u8]) -> Result<(), FaxError> {
        let Engine::Audio { term, law, pcm } = &mut self.engine else {
            return Err(self.wrong("receive_payload", "G.711 audio"));
        };
        pcm.resize(payload.len(), 0);
        law.decode_into(payload, pcm);
        term.rx(pcm);
        self.samples += payload.len() as u64;
        self.check_finished();
        Ok(())
    }

    /// Produce the next G.711 RTP payload, one octet per sample of `out`
    /// (160 octets for 20 ms). After the call ends this is silence.
    pub fn transmit_payload(&mut self, out: &mut [u8]) -> Result<(), FaxError> {
        let Engine::Audio { term, law, pcm } = &mut self.engine else {
            return Err(self.wrong("transmit_payload", "G.711 audio"));
        };
        pcm.resize(out.len(), 0);
        if term.events().confirmation_withheld {
            // The MCF for a page we could not keep must not reach the line.
            pcm.fill(0);
        } else {
            term.tx(pcm);
        }
        law.encode_into(pcm, out);
        self.check_finished();
        Ok(())
    }

    /// Process received 16-bit linear audio at 8 kHz.
    pub fn receive_samples(&mut self, samples: &[i16]) -> Result<(), FaxError> {
        let Engine::Audio { term, .. } = &mut self.engine else {
            return Err(self.wrong("receive_samples", "G.711 audio"));
        };
        term.rx(samples);
        self.samples += samples.len() as u64;
        self.check_finished();
        Ok(())
    }

    /// Produce 16-bit linear audio to send, filling `out`.
    pub fn transmit_samples(&mut self, out: &mut [i16]) -> Result<(), FaxError> {
        let Engine::Audio { term, .. } = &mut self.engine else {
            return Err(self.wrong("transmit_samples", "G.711 audio"));
        };
        if term.events().confirmation_withheld {
            out.fill(0);
        } else {
            term.tx(out);
        }
        self.check_finished();
        Ok(())
    }

    /// Account for `samples` of audio that never arrived (a lost or late RTP
    /// packet): the modems bridge the gap and the T.30 timers keep running.
    pub fn receive_missing(&mut self, samples: usize) -> Result<(), FaxError> {
        let Engine::Audio { term, .. } = &mut self.engine else {
            return Err(self.wrong("receive_missing", "G.711 audio"));
        };
        term.rx_missing(samples);
        self.samples += samples as u64;
        self.check_finished();
        Ok(())
    }

    /// Process one received T.38 IFP packet with its UDPTL sequence number.
    /// Repeats and reordering are handled by SpanDSP; a malformed packet is
    /// reported and otherwise ignored (the call carries on).
    pub fn receive_ifp(&mut self, seq: u16, ifp: &[u8]) -> Result<(), FaxError> {
        let Engine::T38(t) = &mut self.engine else {
            return Err(self.wrong("receive_ifp", "T.38"));
        };
        let ok = t.rx_ifp(ifp, seq);
        self.check_finished();
        if ok {
            Ok(())
        } else {
            Err(FaxError::BadIfp {
                seq,
                len: ifp.len(),
            })
        }
    }

    /// Advance T.38 fax time by `samples` (8 kHz); due packets become
    /// available from [`FaxSession::take_ifp_packets`].
    pub fn advance(&mut self, samples: u32) -> Result<(), FaxError> {
        let Engine::T38(t) = &mut self.engine else {
            return Err(self.wrong("advance", "T.38"));
        };
        t.advance(samples);
        self.samples += u64::from(samples);
        self.check_finished();
        Ok(())
    }

    /// IFP packets to send, oldest first. Empty for audio sessions.
    pub fn take_ifp_packets(&mut self) -> Vec<IfpPacket> {
        match &mut self.engine {
            Engine::T38(t) => {
                let ev = t.events();
                let packets = std::mem::take(&mut ev.packets);
                // Nothing after a withheld confirmation may reach the sender.
                if ev.confirmation_withheld {
                    Vec::new()
                } else {
                    packets
                }
            }
            Engine::Audio { .. } => Vec::new(),
        }
    }

    /// [`FaxSession::take_ifp_packets`] without allocating: each packet
    /// to send, oldest first, goes to `send`, and its buffer is kept for
    /// the packets to come.
    pub fn drain_ifp_packets(&mut self, mut send: impl FnMut(&IfpPacket)) {
        let Engine::T38(t) = &mut self.engine else {
            return;
        };
        let ev = t.events();
        // Nothing after a withheld confirmation may reach the sender.
        let withheld = ev.confirmation_withheld;
        let (packets, spare) = (&mut ev.packets, &mut ev.spare);
        for p in packets.drain(..) {
            if !withheld {
                send(&p);
            }
            if spare.len() < super::spandsp::MAX_SPARE_IFP_BUFFERS {
                spare.push(p.data);
            }
        }
    }

    /// The call's signalling ended (BYE/CANCEL) or we abort: stop T.30 now.
    /// A call that had not finished ends as "call dropped" (or the failure
    /// already detected), keeping the pages received so far.
    pub fn hang_up(&mut self) {
        if self.outcome.is_none() {
            match &mut self.engine {
                Engine::Audio { term, .. } => term.terminate(),
                Engine::T38(t) => t.terminate(),
            }
            self.check_finished();
        }
    }

    /// T.30 has reached phase E: the outcome is final.
    pub fn is_finished(&self) -> bool {
        self.outcome.is_some()
    }

    /// How the call ended, once it has.
    pub fn outcome(&self) -> Option<&FaxOutcome> {
        self.outcome.as_ref()
    }

    /// Pages confirmed so far (live progress).
    pub fn pages_transferred(&self) -> u32 {
        let st = match &self.engine {
            Engine::Audio { term, .. } => term.stats(),
            Engine::T38(t) => t.stats(),
        };
        let n = match self.direction {
            Direction::Send => st.pages_tx,
            Direction::Receive => st.pages_rx,
        };
        n.max(0) as u32
    }

    /// True once a receiving terminal has confirmed the last page (MCF to
    /// EOP): the sender was told the whole document arrived, whatever
    /// happens to the call after.
    pub fn document_confirmed(&mut self) -> bool {
        self.engine.events().document_confirmed
    }

    /// A count that grows with every T.30 frame sent or received and every
    /// phase B or D result: media drivers watch it (with the wall clock) to
    /// end calls that make no progress.
    pub fn t30_activity(&mut self) -> u64 {
        let ev = self.engine.events();
        [ev.frames_rx, ev.frames_tx, ev.phase_b, ev.phase_d]
            .into_iter()
            .map(u64::from)
            .sum()
    }

    /// Fax time elapsed, in 8 kHz samples.
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// Which way the document goes.
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// End a call that has exchanged no T.30 message for too long (see
    /// [`FaxSettings::stall_timeout_secs`]).
    fn watchdog(&mut self) {
        let ev = self.engine.events();
        let activity = [ev.frames_rx, ev.frames_tx, ev.phase_b, ev.phase_d]
            .into_iter()
            .map(u64::from)
            .sum();
        if activity != self.activity {
            self.activity = activity;
            self.activity_at = self.samples;
        } else if self.samples - self.activity_at > self.stall_limit {
            tracing::warn!(
                tiff = %self.tiff.display(),
                "no T.30 message for {} s of fax time; ending the call",
                self.stall_limit / u64::from(super::SAMPLE_RATE)
            );
            self.stalled = true;
            match &mut self.engine {
                Engine::Audio { term, .. } => term.terminate(),
                Engine::T38(t) => t.terminate(),
            }
        }
    }

    fn check_finished(&mut self) {
        if self.outcome.is_some() {
            return;
        }
        if self.engine.events().phase_e.is_none() {
            if self.engine.events().confirmation_withheld {
                // A page we could not write would have been confirmed: end
                // the call before the MCF leaves, so the sender knows the
                // page did not arrive.
                tracing::error!(
                    tiff = %self.tiff.display(),
                    "a received page could not be written to the spool; not confirming it and ending the call"
                );
                match &mut self.engine {
                    Engine::Audio { term, .. } => term.terminate(),
                    Engine::T38(t) => t.terminate(),
                }
            } else {
                self.watchdog();
            }
        }
        let Some(code) = self.engine.events().phase_e else {
            return;
        };
        let trained = self.engine.events().phase_b > 0;
        let (st, ident, stored) = match &self.engine {
            Engine::Audio { term, .. } => (term.stats(), term.remote_ident(), term.stored_pages()),
            Engine::T38(t) => (t.stats(), t.remote_ident(), t.stored_pages()),
        };
        let (pages, total) = match self.direction {
            Direction::Send => (
                st.pages_tx,
                // Known once SpanDSP has opened the TIFF (phase B).
                u32::try_from(st.pages_in_file).ok().filter(|&n| n > 0),
            ),
            Direction::Receive => (st.pages_rx, None),
        };
        let (pages_stored, partial_page) = match self.direction {
            Direction::Send => (0, false),
            Direction::Receive => (stored.count, stored.last_partial),
        };
        let output_failed =
            self.direction == Direction::Receive && self.engine.events().output_failed;
        let withheld = self.engine.events().confirmation_withheld;
        let status = if output_failed {
            FaxStatus::Failed {
                code: super::spandsp::FILE_ERROR,
                reason: if withheld {
                    format!(
                        "Page {} could not be stored (the fax server's disk is full or failing), so it was not confirmed to the sender and the call was ended.",
                        pages_stored + 1
                    )
                } else {
                    "A page could not be stored completely (the fax server's disk is full or failing).".to_string()
                },
            }
        } else if code == 0 {
            FaxStatus::Success
        } else if self.stalled {
            FaxStatus::Failed {
                code,
                reason: format!(
                    "No fax message got through for {} s (a noisy or dead line); the call was ended.",
                    self.stall_limit / u64::from(super::SAMPLE_RATE)
                ),
            }
        } else {
            FaxStatus::Failed {
                code,
                reason: completion_reason(code),
            }
        };
        let outcome = FaxOutcome {
            direction: self.direction,
            status,
            // A page that could not be stored was never confirmed.
            pages_transferred: if output_failed {
                pages_stored
            } else {
                pages.max(0) as u32
            },
            output_failed,
            pages_total: total,
            pages_stored,
            partial_page,
            bit_rate: (trained && st.bit_rate > 0).then_some(st.bit_rate as u32),
            ecm: trained && st.ecm,
            remote_ident: ident,
            samples: self.samples,
            tiff: self.tiff.clone(),
        };
        tracing::info!(tiff = %self.tiff.display(), "fax {}", outcome.summary());
        self.outcome = Some(outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>() {}

    #[test]
    fn session_is_send() {
        assert_send::<FaxSession>();
    }

    #[test]
    fn bad_inputs_are_errors_not_panics() {
        let dir = tempfile::tempdir().unwrap();
        let s = FaxSettings::default();
        let missing = dir.path().join("missing.tif");
        assert!(matches!(
            FaxSession::new(FaxJob::Send(missing), Transport::Audio(G711Law::ALaw), &s),
            Err(FaxError::SourceUnreadable { .. })
        ));
        let nodir = dir.path().join("no/such/dir/rx.tif");
        assert!(matches!(
            FaxSession::new(
                FaxJob::Receive(nodir),
                Transport::T38(T38Options::default()),
                &s
            ),
            Err(FaxError::NoReceiveDir { .. })
        ));
        let long = dir.path().join("x".repeat(300));
        assert!(matches!(
            FaxSession::new(FaxJob::Receive(long), Transport::Audio(G711Law::MuLaw), &s),
            Err(FaxError::BadPath { .. })
        ));
        let bad = FaxSettings {
            ident: "letters".into(),
            ..FaxSettings::default()
        };
        let rx = dir.path().join("rx.tif");
        assert!(matches!(
            FaxSession::new(
                FaxJob::Receive(rx.clone()),
                Transport::Audio(G711Law::ALaw),
                &bad
            ),
            Err(FaxError::InvalidSetting {
                key: "fax.ident",
                ..
            })
        ));

        let mut audio = FaxSession::new(
            FaxJob::Receive(rx.clone()),
            Transport::Audio(G711Law::ALaw),
            &s,
        )
        .unwrap();
        assert!(matches!(
            audio.advance(160),
            Err(FaxError::WrongTransport { .. })
        ));
        assert!(matches!(
            audio.receive_ifp(0, &[0]),
            Err(FaxError::WrongTransport { .. })
        ));
        assert!(audio.take_ifp_packets().is_empty());
        let mut t38 = FaxSession::new(
            FaxJob::Receive(rx),
            Transport::T38(T38Options::default()),
            &s,
        )
        .unwrap();
        assert!(matches!(
            t38.receive_payload(&[0xD5; 160]),
            Err(FaxError::WrongTransport { .. })
        ));
        // Garbage IFP is reported, not fatal.
        assert!(matches!(
            t38.receive_ifp(1, &[0xFF, 0xFF, 0xFF]),
            Err(FaxError::BadIfp { seq: 1, .. })
        ));
        assert!(!t38.is_finished());
    }

    #[test]
    fn hang_up_before_anything_is_call_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let rx = dir.path().join("rx.tif");
        let mut s = FaxSession::new(
            FaxJob::Receive(rx.clone()),
            Transport::Audio(G711Law::MuLaw),
            &FaxSettings::default(),
        )
        .unwrap();
        let mut out = [0u8; 160];
        for _ in 0..10 {
            s.receive_payload(&[0xFF; 160]).unwrap();
            s.transmit_payload(&mut out).unwrap();
        }
        assert!(!s.is_finished());
        s.hang_up();
        let o = s.outcome().unwrap();
        assert!(!o.is_success());
        assert_eq!(o.code(), spandsp_sys::t30_err_e::T30_ERR_CALLDROPPED as i32);
        assert_eq!(
            (o.pages_transferred, o.pages_stored, o.bit_rate),
            (0, 0, None)
        );
        assert_eq!(o.samples, 1600);
        assert!(!rx.exists(), "no page, no file");
        // Idempotent.
        s.hang_up();
        assert_eq!(s.outcome().unwrap().samples, 1600);
    }
}
