//! The fax engine: ITU-T T.30 over G.711 audio or T.38, built on SpanDSP.
//!
//! A fax call is a T.30 session: phase A (CNG/CED tones), phase B (DIS/DCS
//! capability exchange and modem training), phase C (page data over V.27ter,
//! V.29 or V.17, optionally with error correction mode), phase D (post-page
//! MPS/EOP and MCF/RTN confirmation) and phase E (DCN, release). SpanDSP
//! implements all of it; this module gives the rest of faxbridge three things:
//!
//! * [`FaxSettings`] — what we announce and accept (identity, modems,
//!   resolutions, compressions, ECM), embedded in the daemon's configuration;
//! * [`FaxSession`] — a sans-IO driver for one call, fed with RTP G.711
//!   payloads or T.38 IFP packets by the SIP media code, which owns the
//!   sockets and the 20 ms clock;
//! * [`FaxOutcome`] — how the call ended: success or the T.30 completion code
//!   with an English explanation, pages, bit rate, ECM, the far end's
//!   identity and the call's length in fax time.
//!
//! Received pages are always stored as T.6 (G4) TIFF, FillOrder LSB2MSB, one
//! strip per page, which `docs::pdf` embeds in a PDF without re-encoding.
//! When a call breaks off mid-page, the pages already confirmed stay in the
//! file and, unless [`FaxSettings::keep_partial_pages`] is off, so do the
//! rows of the interrupted page that decoded cleanly.
//!
//! All foreign-function calls live in the private `spandsp` module; this
//! module and `session` are safe Rust.

pub mod g711;
pub mod gateway;
pub mod session;
// The one place with `unsafe`: calls into the SpanDSP C library, each block
// with a SAFETY comment.
#[allow(unsafe_code)]
mod spandsp;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::docs::Resolution;

pub use g711::G711Law;
pub use gateway::{GatewaySettings, GatewayStats, T38Gateway};
pub use session::{FaxJob, FaxSession, T38Options, Transport};
pub use spandsp::IfpPacket;
pub(crate) use spandsp::{ConnectToneRx, connect_tone};
pub use spandsp::{
    ConnectToneTx, DataPump, DataPumpRx, DataPumpTx, DtmfTx, FskChannel, FskTx, GeneratedTone,
    GuardTone, V22bisModem, sig_status,
};

/// Audio sample rate of every fax path: 8 kHz, as G.711 and T.38's timing assume.
pub const SAMPLE_RATE: u32 = 8000;

/// Samples (and G.711 octets) in one 20 ms RTP packet, the usual fax ptime.
pub const SAMPLES_PER_20MS: usize = 160;

/// Longest identity T.30 can carry in a CSI/TSI frame (T.30 §5.3.6.2.4).
pub const MAX_IDENT_LEN: usize = 20;

/// Longest page header text SpanDSP will print (T30_MAX_PAGE_HEADER_INFO).
pub const MAX_HEADER_LEN: usize = 50;

/// High-speed modems used for page data (phase C).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
pub enum Modem {
    /// V.27ter: 2400 and 4800 bit/s; every fax machine has it.
    #[serde(rename = "v27ter", alias = "V.27ter")]
    V27ter,
    /// V.29: 7200 and 9600 bit/s.
    #[serde(rename = "v29", alias = "V.29")]
    V29,
    /// V.17: 7200 to 14 400 bit/s with short retraining.
    #[serde(rename = "v17", alias = "V.17")]
    V17,
}

/// Image coding schemes offered to the far end for page data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
pub enum FaxCompression {
    /// T.4 one-dimensional (Modified Huffman), mandatory for every fax.
    #[serde(rename = "t4-1d", alias = "mh")]
    T4OneD,
    /// T.4 two-dimensional (Modified READ).
    #[serde(rename = "t4-2d", alias = "mr")]
    T4TwoD,
    /// T.6 (Modified Modified READ); T.30 allows it only with ECM.
    #[serde(rename = "t6", alias = "mmr")]
    T6,
}

/// What faxbridge announces and accepts in a fax call.
///
/// Deserialises from the `[fax]` table of the configuration; every field has
/// a default, so an empty table is a working setup.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaxSettings {
    /// Our identity, sent as CSI when receiving and TSI when sending: at most
    /// 20 characters of digits, spaces and `+` (T.30 §5.3.6.2.4). Usually
    /// the fax number in international form.
    pub ident: String,
    /// Text printed in the header line of every sent page (after date and
    /// time, before the page number). Empty for no header line.
    pub header_info: String,
    /// Offer and accept error correction mode (T.30 Annex A). ECM retransmits
    /// damaged frames instead of printing damaged lines, and is needed for T.6.
    pub ecm: bool,
    /// High-speed modems offered for page data.
    pub modems: BTreeSet<Modem>,
    /// Resolutions we can send and receive (order does not matter).
    pub resolutions: Vec<Resolution>,
    /// Coding schemes offered for page data.
    pub compressions: BTreeSet<FaxCompression>,
    /// When a call breaks off mid-page, keep the rows of the interrupted page
    /// that decoded cleanly as a last, partial page of the received TIFF.
    pub keep_partial_pages: bool,
    /// End the call when no T.30 message has been exchanged for this many
    /// seconds of fax time. SpanDSP suspends its T.30 timers while it hears
    /// a signal, so a line drowned in noise would otherwise never end. Must
    /// exceed the longest page: a dense A4 page takes about 60 s at
    /// 14 400 bit/s but 6 minutes at 2400 bit/s without ECM.
    pub stall_timeout_secs: u32,
}

impl Default for FaxSettings {
    fn default() -> Self {
        FaxSettings {
            ident: String::new(),
            header_info: String::new(),
            ecm: true,
            modems: [Modem::V27ter, Modem::V29, Modem::V17].into(),
            resolutions: Resolution::ALL.to_vec(),
            compressions: [
                FaxCompression::T4OneD,
                FaxCompression::T4TwoD,
                FaxCompression::T6,
            ]
            .into(),
            keep_partial_pages: true,
            stall_timeout_secs: 600,
        }
    }
}

// Bit values of SpanDSP's anonymous enums in t4_rx.h, which bindgen does not
// export: supported bilevel resolutions (T4_RESOLUTION_*).
const T4_RESOLUTION_R8_STANDARD: i32 = 0x1;
const T4_RESOLUTION_R8_FINE: i32 = 0x2;
const T4_RESOLUTION_R8_SUPERFINE: i32 = 0x4;
const T4_RESOLUTION_300_300: i32 = 0x100;
const T4_RESOLUTION_400_400: i32 = 0x400;

impl FaxSettings {
    /// Check the settings; the error names the offending key and the fix.
    pub fn validate(&self) -> Result<(), FaxError> {
        if self.ident.chars().count() > MAX_IDENT_LEN {
            return Err(FaxError::InvalidSetting {
                key: "fax.ident",
                reason: format!(
                    "{:?} is {} characters; T.30 carries at most {MAX_IDENT_LEN}",
                    self.ident,
                    self.ident.chars().count()
                ),
            });
        }
        if let Some(c) = self
            .ident
            .chars()
            .find(|c| !(c.is_ascii_digit() || *c == ' ' || *c == '+'))
        {
            return Err(FaxError::InvalidSetting {
                key: "fax.ident",
                reason: format!(
                    "{:?} contains {c:?}; use only digits, spaces and '+' (T.30 Table 3)",
                    self.ident
                ),
            });
        }
        if self.header_info.len() > MAX_HEADER_LEN {
            return Err(FaxError::InvalidSetting {
                key: "fax.header_info",
                reason: format!(
                    "is {} bytes; keep it to {MAX_HEADER_LEN}",
                    self.header_info.len()
                ),
            });
        }
        if let Some(c) = self
            .header_info
            .chars()
            .find(|c| !(c.is_ascii_graphic() || *c == ' '))
        {
            return Err(FaxError::InvalidSetting {
                key: "fax.header_info",
                reason: format!("contains {c:?}; the header font has printable ASCII only"),
            });
        }
        if self.modems.is_empty() {
            return Err(FaxError::InvalidSetting {
                key: "fax.modems",
                reason: "is empty; list at least \"v27ter\"".into(),
            });
        }
        if !self.resolutions.contains(&Resolution::Standard) {
            return Err(FaxError::InvalidSetting {
                key: "fax.resolutions",
                reason: "must include \"standard\", which every fax machine uses (T.30 §5.3.6.2)"
                    .into(),
            });
        }
        if !self.compressions.contains(&FaxCompression::T4OneD) {
            return Err(FaxError::InvalidSetting {
                key: "fax.compressions",
                reason: "must include \"t4-1d\", the coding every fax machine has".into(),
            });
        }
        if self.stall_timeout_secs < 60 {
            return Err(FaxError::InvalidSetting {
                key: "fax.stall_timeout_secs",
                reason: format!(
                    "is {} s; T.30 itself waits up to 60 s (T5), so use at least 60",
                    self.stall_timeout_secs
                ),
            });
        }
        if self.compressions.contains(&FaxCompression::T6) && !self.ecm {
            return Err(FaxError::InvalidSetting {
                key: "fax.compressions",
                reason: "\"t6\" needs error correction mode; set fax.ecm = true or drop \"t6\""
                    .into(),
            });
        }
        Ok(())
    }

    /// SpanDSP's `T30_SUPPORT_*` modem bits.
    pub(crate) fn modem_mask(&self) -> i32 {
        self.modems
            .iter()
            .map(|m| match m {
                Modem::V27ter => spandsp_sys::T30_SUPPORT_V27TER as i32,
                Modem::V29 => spandsp_sys::T30_SUPPORT_V29 as i32,
                Modem::V17 => spandsp_sys::T30_SUPPORT_V17 as i32,
            })
            .fold(0, |a, b| a | b)
    }

    /// SpanDSP's `T4_COMPRESSION_*` bits for the codings offered on the line.
    pub(crate) fn compression_mask(&self) -> i32 {
        self.compressions
            .iter()
            .map(|c| match c {
                FaxCompression::T4OneD => {
                    spandsp_sys::t4_image_compression_t_T4_COMPRESSION_T4_1D as i32
                }
                FaxCompression::T4TwoD => {
                    spandsp_sys::t4_image_compression_t_T4_COMPRESSION_T4_2D as i32
                }
                FaxCompression::T6 => spandsp_sys::t4_image_compression_t_T4_COMPRESSION_T6 as i32,
            })
            .fold(0, |a, b| a | b)
    }

    /// SpanDSP's `T4_RESOLUTION_*` bits for the bilevel resolutions offered.
    pub(crate) fn resolution_mask(&self) -> i32 {
        self.resolutions
            .iter()
            .map(|r| match r {
                Resolution::Standard => T4_RESOLUTION_R8_STANDARD,
                Resolution::Fine => T4_RESOLUTION_R8_FINE,
                Resolution::Superfine => T4_RESOLUTION_R8_SUPERFINE,
                Resolution::R300 => T4_RESOLUTION_300_300,
                Resolution::R400 => T4_RESOLUTION_400_400,
            })
            .fold(0, |a, b| a | b)
    }
}

/// Which way the document travels in a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// We transmit a TIFF.
    Send,
    /// We receive into a TIFF.
    Receive,
}

/// How a fax call ended in T.30 terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaxStatus {
    /// Phase E reached with every page confirmed (completion code 0).
    Success,
    /// The call failed; `code` is SpanDSP's T.30 completion code
    /// (`t30_err_e`), `reason` an English sentence for people.
    Failed {
        /// SpanDSP completion code (`T30_ERR_*`).
        code: i32,
        /// What went wrong, in plain language.
        reason: String,
    },
}

/// The result of one fax call.
#[derive(Debug, Clone, PartialEq)]
pub struct FaxOutcome {
    /// Whether we sent or received.
    pub direction: Direction,
    /// Success, or the T.30 failure.
    pub status: FaxStatus,
    /// Pages confirmed by the receiver (MCF) — sent or received.
    pub pages_transferred: u32,
    /// Pages in the document being sent; `None` when receiving (T.30 never
    /// announces a page count).
    pub pages_total: Option<u32>,
    /// Pages written to the received TIFF, including a partial last page;
    /// `0` when sending.
    pub pages_stored: u32,
    /// The last stored page is the clean beginning of an interrupted page.
    pub partial_page: bool,
    /// Receiving: a page could not be written to the TIFF (a full disk, an
    /// I/O error). Its confirmation was withheld and the call ended; the
    /// pages stored before it are whole and were confirmed.
    pub output_failed: bool,
    /// Bit rate of the last page-data modem trained, if training happened.
    pub bit_rate: Option<u32>,
    /// Error correction mode was used for page data.
    pub ecm: bool,
    /// The far end's CSI/TSI, if it sent one.
    pub remote_ident: Option<String>,
    /// Length of the call in fax time (8 kHz samples), not wall time.
    pub samples: u64,
    /// Where the TIFF was read from or written to.
    pub tiff: PathBuf,
}

impl FaxOutcome {
    /// Whether the call completed normally.
    pub fn is_success(&self) -> bool {
        self.status == FaxStatus::Success
    }

    /// The T.30 completion code (0 for success).
    pub fn code(&self) -> i32 {
        match &self.status {
            FaxStatus::Success => 0,
            FaxStatus::Failed { code, .. } => *code,
        }
    }

    /// Length of the call in fax time.
    pub fn duration(&self) -> Duration {
        Duration::from_micros(self.samples * 1_000_000 / SAMPLE_RATE as u64)
    }

    /// One-line summary for logs and job records.
    pub fn summary(&self) -> String {
        let verb = match self.direction {
            Direction::Send => "sent",
            Direction::Receive => "received",
        };
        let total = self
            .pages_total
            .map(|t| format!("/{t}"))
            .unwrap_or_default();
        let rate = self
            .bit_rate
            .map(|r| format!(" at {r} bit/s{}", if self.ecm { " ECM" } else { "" }))
            .unwrap_or_default();
        let who = self
            .remote_ident
            .as_deref()
            .map(|r| format!(" with \"{r}\""))
            .unwrap_or_default();
        let secs = self.samples as f64 / SAMPLE_RATE as f64;
        match &self.status {
            FaxStatus::Success => {
                format!(
                    "{verb} {}{total} pages{rate}{who} in {secs:.1} s",
                    self.pages_transferred
                )
            }
            FaxStatus::Failed { code, reason } => format!(
                "failed (T.30 code {code}: {reason}) after {} {verb}{total} pages{rate}{who}, {secs:.1} s",
                self.pages_transferred
            ),
        }
    }
}

/// A plain-language explanation of a SpanDSP T.30 completion code.
///
/// Common codes get a sentence written for the people reading job reports;
/// others fall back to SpanDSP's own description.
pub fn completion_reason(code: i32) -> String {
    use spandsp_sys::t30_err_e as E;
    let known = [
        (E::T30_ERR_OK, "The fax completed normally."),
        (
            E::T30_ERR_CEDTONE,
            "The answer tone lasted too long; the far end is probably not a fax machine.",
        ),
        (
            E::T30_ERR_T0_EXPIRED,
            "Nobody answered with fax tones: the far end is silent, a person or not a fax machine.",
        ),
        (
            E::T30_ERR_T1_EXPIRED,
            "The far end did not identify itself as a fax machine in time.",
        ),
        (
            E::T30_ERR_T3_EXPIRED,
            "The operator did not respond to a procedure interrupt in time.",
        ),
        (
            E::T30_ERR_HDLC_CARRIER,
            "The far end's signalling carrier did not stop; the line is noisy or echoing.",
        ),
        (
            E::T30_ERR_CANNOT_TRAIN,
            "The modems could not train at any speed; the line is too poor for fax.",
        ),
        (E::T30_ERR_OPER_INT_FAIL, "An operator intervention failed."),
        (
            E::T30_ERR_INCOMPATIBLE,
            "The far end's fax capabilities are incompatible with ours.",
        ),
        (E::T30_ERR_RX_INCAPABLE, "The far end cannot receive faxes."),
        (E::T30_ERR_TX_INCAPABLE, "The far end has nothing to send."),
        (
            E::T30_ERR_NORESSUPPORT,
            "The far end cannot receive the document's resolution.",
        ),
        (
            E::T30_ERR_NOSIZESUPPORT,
            "The far end cannot receive the document's page size.",
        ),
        (
            E::T30_ERR_UNEXPECTED,
            "The far end sent an unexpected message.",
        ),
        (
            E::T30_ERR_TX_BADDCS,
            "The far end rejected our settings or training.",
        ),
        (
            E::T30_ERR_TX_BADPG,
            "The far end disconnected after a page was sent.",
        ),
        (
            E::T30_ERR_TX_ECMPHD,
            "The far end sent an invalid error-correction response.",
        ),
        (
            E::T30_ERR_TX_GOTDCN,
            "The far end disconnected before accepting the fax.",
        ),
        (
            E::T30_ERR_TX_INVALRSP,
            "The far end gave an invalid response after a page.",
        ),
        (
            E::T30_ERR_TX_NODIS,
            "The far end did not announce its capabilities.",
        ),
        (
            E::T30_ERR_TX_PHBDEAD,
            "The far end stopped responding during set-up or training.",
        ),
        (
            E::T30_ERR_TX_PHDDEAD,
            "The far end stopped responding after a page was sent; the line probably failed or it hung up.",
        ),
        (
            E::T30_ERR_TX_T5EXP,
            "The far end stayed busy (receiver not ready) for too long.",
        ),
        (
            E::T30_ERR_RX_ECMPHD,
            "The sender gave an invalid error-correction response.",
        ),
        (
            E::T30_ERR_RX_GOTDCS,
            "The sender sent settings when a poll was expected.",
        ),
        (
            E::T30_ERR_RX_INVALCMD,
            "The sender sent an unexpected command after a page.",
        ),
        (
            E::T30_ERR_RX_NOCARRIER,
            "The sender's carrier was lost during a page.",
        ),
        (
            E::T30_ERR_RX_NOEOL,
            "Page data stopped arriving in the middle of a page.",
        ),
        (E::T30_ERR_RX_NOFAX, "No page data arrived after training."),
        (
            E::T30_ERR_RX_T2EXPDCN,
            "The sender did not disconnect properly at the end.",
        ),
        (E::T30_ERR_RX_T2EXPD, "The sender went silent after a page."),
        (
            E::T30_ERR_RX_T2EXPFAX,
            "The sender went silent before a page arrived.",
        ),
        (
            E::T30_ERR_RX_T2EXPMPS,
            "The sender went silent while the next page was expected.",
        ),
        (
            E::T30_ERR_RX_T2EXPRR,
            "The sender went silent during an error-correction pause.",
        ),
        (E::T30_ERR_RX_T2EXP, "The sender went silent during set-up."),
        (
            E::T30_ERR_RX_DCNWHY,
            "The sender disconnected during set-up.",
        ),
        (
            E::T30_ERR_RX_DCNDATA,
            "The sender disconnected while page data was expected.",
        ),
        (
            E::T30_ERR_RX_DCNFAX,
            "The sender disconnected in the middle of the document.",
        ),
        (
            E::T30_ERR_RX_DCNPHD,
            "The sender disconnected after announcing more pages.",
        ),
        (
            E::T30_ERR_RX_DCNRRD,
            "The sender disconnected during an error-correction pause.",
        ),
        (
            E::T30_ERR_RX_DCNNORTN,
            "The sender disconnected after we asked for a page to be resent.",
        ),
        (
            E::T30_ERR_FILEERROR,
            "The TIFF file could not be opened or written.",
        ),
        (E::T30_ERR_NOPAGE, "The TIFF file has no such page."),
        (
            E::T30_ERR_BADTIFF,
            "The TIFF file is not a fax document SpanDSP can send.",
        ),
        (
            E::T30_ERR_BADPAGE,
            "A page of the TIFF file lacks its page number.",
        ),
        (
            E::T30_ERR_BADTAG,
            "The TIFF file has unsupported tag values (size or resolution).",
        ),
        (E::T30_ERR_BADTIFFHDR, "The TIFF file header is damaged."),
        (E::T30_ERR_NOMEM, "Out of memory while handling pages."),
        (
            E::T30_ERR_RETRYDCN,
            "Gave up after the permitted number of retries.",
        ),
        (
            E::T30_ERR_CALLDROPPED,
            "The call was hung up before the fax finished.",
        ),
        (E::T30_ERR_NOPOLL, "The far end refused the poll request."),
    ];
    known
        .iter()
        .find(|(e, _)| *e as i32 == code)
        .map(|(_, s)| (*s).to_string())
        .unwrap_or_else(|| spandsp::completion_code_text(code))
}

/// Errors of the fax engine.
#[derive(Debug, thiserror::Error)]
pub enum FaxError {
    /// A fax setting is out of range.
    #[error("fax setting `{key}` is invalid: {reason}")]
    InvalidSetting {
        /// Configuration key.
        key: &'static str,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// A TIFF path SpanDSP cannot take.
    #[error("cannot use {path:?} as a fax TIFF path: {reason}")]
    BadPath {
        /// The path given.
        path: PathBuf,
        /// Why it cannot be used.
        reason: &'static str,
    },
    /// The document to send cannot be read.
    #[error(
        "cannot read the document to send {path:?}: {source}; check that the file exists and is readable"
    )]
    SourceUnreadable {
        /// The TIFF path.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The directory for a received document does not exist.
    #[error(
        "cannot receive into {path:?}: its directory does not exist; create the spool directory first"
    )]
    NoReceiveDir {
        /// The TIFF path.
        path: PathBuf,
    },
    /// SpanDSP could not allocate or set up a terminal.
    #[error("SpanDSP could not create the {0}; the process is probably out of memory")]
    EngineInit(&'static str),
    /// An operation that belongs to the other transport.
    #[error("{operation} needs a {needs} session, but this call runs over {actual}")]
    WrongTransport {
        /// What was called.
        operation: &'static str,
        /// The transport it needs.
        needs: &'static str,
        /// The session's transport.
        actual: &'static str,
    },
    /// A received IFP packet could not be decoded.
    #[error(
        "T.38 IFP packet #{seq} ({len} bytes) is malformed and was dropped; check the UDPTL framing of the peer"
    )]
    BadIfp {
        /// UDPTL sequence number.
        seq: u16,
        /// Packet length.
        len: usize,
    },
}

impl crate::problem::Validate for FaxSettings {
    fn problems(&self) -> Vec<crate::problem::Problem> {
        use crate::problem::Problem;
        match self.validate() {
            Ok(()) => Vec::new(),
            Err(FaxError::InvalidSetting { key, reason }) => vec![Problem::new(
                key,
                reason,
                "see the [fax] section of config/faxbridge.example.toml",
            )],
            Err(other) => vec![Problem::new(
                "fax",
                other.to_string(),
                "correct the [fax] section",
            )],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_settings_offer_everything() {
        let s = FaxSettings::default();
        s.validate().unwrap();
        assert_eq!(s.modem_mask(), 0x07);
        assert_eq!(s.compression_mask(), 0x02 | 0x04 | 0x08);
        assert_eq!(s.resolution_mask(), 0x1 | 0x2 | 0x4 | 0x100 | 0x400);
        assert!(s.ecm && s.keep_partial_pages);
    }

    #[test]
    fn masks_follow_the_sets() {
        let s = FaxSettings {
            modems: [Modem::V29].into(),
            compressions: [FaxCompression::T4OneD].into(),
            resolutions: vec![Resolution::Standard, Resolution::Fine],
            ..FaxSettings::default()
        };
        assert_eq!(s.modem_mask(), spandsp_sys::T30_SUPPORT_V29 as i32);
        assert_eq!(s.compression_mask(), 0x02);
        assert_eq!(s.resolution_mask(), 0x3);
    }

    #[test]
    fn settings_deserialise_from_toml() {
        let s: FaxSettings = toml::from_str(
            r#"
            ident = "+44 20 7946 0000"
            header_info = "Acme Ltd"
            ecm = false
            modems = ["v29", "v27ter"]
            resolutions = ["standard", "fine", "300x300"]
            compressions = ["t4-1d", "t4-2d"]
            "#,
        )
        .unwrap();
        s.validate().unwrap();
        assert_eq!(s.modems, [Modem::V27ter, Modem::V29].into());
        assert_eq!(s.resolution_mask(), 0x1 | 0x2 | 0x100);
        assert!(!s.ecm && s.keep_partial_pages);
        let empty: FaxSettings = toml::from_str("").unwrap();
        assert_eq!(empty, FaxSettings::default());
        assert!(toml::from_str::<FaxSettings>("speed = 1").is_err());
        assert!(toml::from_str::<FaxSettings>("modems = [\"v34\"]").is_err());
    }

    #[test]
    fn validation_names_the_key() {
        let bad = |f: fn(&mut FaxSettings)| {
            let mut s = FaxSettings::default();
            f(&mut s);
            match s.validate() {
                Err(FaxError::InvalidSetting { key, .. }) => key,
                other => panic!("expected InvalidSetting, got {other:?}"),
            }
        };
        assert_eq!(
            bad(|s| s.ident = "123456789012345678901".into()),
            "fax.ident"
        );
        assert_eq!(bad(|s| s.ident = "ACME".into()), "fax.ident");
        assert_eq!(bad(|s| s.header_info = "x".repeat(51)), "fax.header_info");
        assert_eq!(
            bad(|s| s.header_info = "tab\there".into()),
            "fax.header_info"
        );
        assert_eq!(bad(|s| s.modems.clear()), "fax.modems");
        assert_eq!(
            bad(|s| s.resolutions = vec![Resolution::Fine]),
            "fax.resolutions"
        );
        assert_eq!(
            bad(|s| s.compressions = [FaxCompression::T6].into()),
            "fax.compressions"
        );
        assert_eq!(bad(|s| s.ecm = false), "fax.compressions");
        assert_eq!(bad(|s| s.stall_timeout_secs = 10), "fax.stall_timeout_secs");
        let ok = FaxSettings {
            ident: "+1 555 0100".into(),
            ..FaxSettings::default()
        };
        ok.validate().unwrap();
    }

    #[test]
    fn outcome_text() {
        assert_eq!(completion_reason(0), "The fax completed normally.");
        let dropped = spandsp_sys::t30_err_e::T30_ERR_CALLDROPPED as i32;
        assert!(completion_reason(dropped).contains("hung up"));
        // Codes without our own sentence fall back to SpanDSP's text.
        let csa = spandsp_sys::t30_err_e::T30_ERR_CSA_UNACCEPTABLE as i32;
        assert!(!completion_reason(csa).is_empty());
        assert_ne!(completion_reason(csa), completion_reason(dropped));
        // Unknown numbers still produce text rather than a panic.
        assert!(!completion_reason(9999).is_empty());

        let o = FaxOutcome {
            direction: Direction::Receive,
            status: FaxStatus::Failed {
                code: dropped,
                reason: completion_reason(dropped),
            },
            pages_transferred: 2,
            pages_total: None,
            pages_stored: 3,
            output_failed: false,
            partial_page: true,
            bit_rate: Some(14400),
            ecm: true,
            remote_ident: Some("+1 555 0100".into()),
            samples: 8000 * 75 + 4000,
            tiff: "/tmp/x.tif".into(),
        };
        assert!(!o.is_success());
        assert_eq!(o.code(), dropped);
        assert_eq!(o.duration(), Duration::from_millis(75_500));
        let s = o.summary();
        assert!(
            s.contains("2 received pages") && s.contains("14400 bit/s ECM") && s.contains("75.5 s"),
            "{s}"
        );
    }
}
