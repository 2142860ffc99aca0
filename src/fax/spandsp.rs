//! The only `unsafe` code of faxbridge: a narrow safe layer over `spandsp-sys`.
//!
//! Two SpanDSP terminals are wrapped, both owning one T.30 engine:
//!
//! * [`AudioTerminal`] — `fax_state_t`: V.21/V.27ter/V.29/V.17 modems over
//!   8 kHz linear audio (`fax_rx`/`fax_tx`);
//! * [`T38Terminal`] — `t38_terminal_state_t`: T.30 over T.38 IFP packets
//!   (`t38_core_rx_ifp_packet` in, the tx packet handler out), clocked by
//!   `t38_terminal_send_timeout`.
//!
//! and one translator without a T.30 engine of its own:
//!
//! * [`GatewayEngine`] — `t38_gateway_state_t`: fax modem audio on one side,
//!   T.38 IFP packets on the other, clocked by the audio it receives.
//!
//! Ownership of callback context: each terminal (and the gateway) allocates one [`Events`]
//! value with `Box::into_raw` and hands that stable pointer to SpanDSP as the
//! `user_data` of every callback (phase B/D/E, document, real-time frame,
//! T.38 tx packet). SpanDSP only calls back synchronously, from inside a call
//! we make through `&mut self`, so while a callback runs no Rust reference to
//! the context exists. `Drop` frees the SpanDSP state first (after which no
//! callback can run) and only then reclaims the box, so callbacks never see
//! freed memory and nothing leaks.
//!
//! Callbacks must not unwind into C; they only push to vectors and set
//! integers, and Rust aborts rather than unwinding through `extern "C"`.

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::ptr::{self, NonNull};

use spandsp_sys as sys;

use super::FaxError;
#[cfg(test)]
use super::g711::G711Law;

/// One T.38 IFP packet produced by a terminal, ready for UDPTL framing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfpPacket {
    /// Sequence number for the UDPTL header, counted per session from 0.
    pub seq: u16,
    /// The IFP packet (ITU-T T.38 §A), without UDPTL framing.
    pub data: Vec<u8>,
    /// How many times SpanDSP asks for the packet to be sent when the
    /// transport has no redundancy of its own (indicators are repeated);
    /// with UDPTL redundancy or FEC, send it once.
    pub transmissions: u8,
}

/// SpanDSP's completion code for a file that could not be opened, read or
/// written (`T30_ERR_FILEERROR`).
pub(crate) const FILE_ERROR: i32 = sys::t30_err_e::T30_ERR_FILEERROR as i32;

/// IFP buffers kept for reuse ([`Events::spare`]): more than a terminal
/// produces in one step.
pub(crate) const MAX_SPARE_IFP_BUFFERS: usize = 32;

/// What SpanDSP told us through callbacks. Lives in a `Box` whose raw pointer
/// is the `user_data` of every callback of one terminal.
#[derive(Debug, Default)]
pub(crate) struct Events {
    /// Phase B results seen (DIS/DCS exchanged).
    pub phase_b: u32,
    /// Phase D results seen (one per page exchanged).
    pub phase_d: u32,
    /// The completion code, once phase E has happened.
    pub phase_e: Option<i32>,
    /// Real-time T.30 HDLC frames seen, received and sent.
    pub frames_rx: u32,
    /// Frames we sent.
    pub frames_tx: u32,
    /// The last post-page command received was an end of procedure (EOP,
    /// PRI-EOP, or a partial-page signal carrying one): the next MCF we
    /// send confirms the last page.
    pub eop_received: bool,
    /// We sent MCF for the last page: the sender has been told the whole
    /// document arrived (only the DCN and the hang-up are left).
    pub document_confirmed: bool,
    /// A received page could not be written to the TIFF (SpanDSP's
    /// receive output error: a full disk, an I/O error).
    pub output_failed: bool,
    /// We were about to confirm (MCF) a page that could not be written:
    /// the session must not let that MCF reach the sender, and ends the
    /// call (see [`super::session::FaxSession`]).
    pub confirmation_withheld: bool,
    /// The terminal's T.30 state, to ask after the receive output from
    /// inside a callback. Set once at configuration.
    pub(crate) t30: Option<NonNull<sys::t30_state_t>>,
    /// IFP packets produced and not yet taken.
    pub packets: Vec<IfpPacket>,
    /// Buffers of packets already sent, for the next ones.
    pub spare: Vec<Vec<u8>>,
    /// Next UDPTL sequence number.
    pub next_seq: u16,
}

impl Events {
    /// Events of an engine that sends IFPs: the packet queue and its
    /// buffers made up front, so that sending allocates nothing.
    fn for_t38() -> Events {
        Events {
            packets: Vec::with_capacity(MAX_SPARE_IFP_BUFFERS),
            spare: (0..MAX_SPARE_IFP_BUFFERS)
                .map(|_| Vec::with_capacity(128))
                .collect(),
            ..Events::default()
        }
    }
}

/// Everything the T.30 engine is configured with, already checked and
/// converted to SpanDSP's values.
pub(crate) struct T30Config {
    /// We place the call (send CNG) rather than answer it (send CED).
    pub calling_party: bool,
    /// CSI/TSI.
    pub ident: CString,
    /// Page header text, if any.
    pub header_info: Option<CString>,
    /// Offer ECM.
    pub ecm: bool,
    /// `T30_SUPPORT_*` bits.
    pub modems: c_int,
    /// `T4_COMPRESSION_*` bits.
    pub compressions: c_int,
    /// `T4_RESOLUTION_*` bits.
    pub resolutions: c_int,
    /// Keep the clean rows of an interrupted page.
    pub keep_partial_pages: bool,
    /// The document: `Send(path)` or `Receive(path)`.
    pub file: FileRole,
}

/// The TIFF of the call and which way it goes.
pub(crate) enum FileRole {
    /// Send this TIFF.
    Send(CString),
    /// Receive into this TIFF.
    Receive(CString),
}

/// Transfer statistics of the T.30 engine (a copy of `t30_stats_t`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stats {
    /// Bit rate of the current (last trained) page-data modem.
    pub bit_rate: i32,
    /// ECM is in use.
    pub ecm: bool,
    /// Pages sent and confirmed.
    pub pages_tx: i32,
    /// Pages received.
    pub pages_rx: i32,
    /// Pages in the TIFF being sent (0 or -1 before it is opened).
    pub pages_in_file: i32,
}

/// Pages SpanDSP wrote to the receive TIFF.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct StoredPages {
    /// Pages written, complete or partial.
    pub count: u32,
    /// The last one is the clean beginning of an interrupted page.
    pub last_partial: bool,
}

// ---------------------------------------------------------------------------
// Callbacks. Each receives the `Events` pointer we registered.

/// Borrow the context behind a callback's `user_data`.
///
/// # Safety
/// `user_data` must be the pointer registered by a live terminal, and no other
/// reference to that `Events` may exist for the lifetime of the result.
unsafe fn events<'a>(user_data: *mut c_void) -> &'a mut Events {
    // SAFETY: guaranteed by the caller: the pointer came from Box::into_raw in
    // a terminal constructor and the box is freed only after SpanDSP is.
    unsafe { &mut *(user_data as *mut Events) }
}

unsafe extern "C" fn on_phase_b(user_data: *mut c_void, _result: c_int) -> c_int {
    // SAFETY: registered with a live Events pointer; called synchronously from
    // inside a terminal method while no Rust reference to Events exists.
    let ev = unsafe { events(user_data) };
    ev.phase_b += 1;
    sys::t30_err_e::T30_ERR_OK as c_int
}

unsafe extern "C" fn on_phase_d(user_data: *mut c_void, _result: c_int) -> c_int {
    // SAFETY: as for on_phase_b.
    let ev = unsafe { events(user_data) };
    ev.phase_d += 1;
    sys::t30_err_e::T30_ERR_OK as c_int
}

unsafe extern "C" fn on_phase_e(user_data: *mut c_void, completion_code: c_int) {
    // SAFETY: as for on_phase_b.
    let ev = unsafe { events(user_data) };
    ev.phase_e = Some(completion_code);
}

unsafe extern "C" fn on_document(_user_data: *mut c_void, _status: c_int) -> c_int {
    // One document per call: answer "no further document", so T.30 sends EOP
    // rather than EOM after the last page.
    0
}

unsafe extern "C" fn on_frame(user_data: *mut c_void, incoming: bool, msg: *const u8, len: c_int) {
    // SAFETY: as for on_phase_b.
    let ev = unsafe { events(user_data) };
    if incoming {
        ev.frames_rx += 1;
    } else {
        ev.frames_tx += 1;
    }
    if !incoming
        && !ev.output_failed
        && let Some(t30) = ev.t30
    {
        // SAFETY: `t30` is the live T.30 state that is calling us (set in
        // configure_t30, freed only after the terminal stops); the getter
        // only reads one integer of it.
        ev.output_failed = unsafe { sys::t30_receive_output_error(t30.as_ptr()) } != 0;
    }
    if !msg.is_null() && len > 2 {
        // SAFETY: as below: `len` valid octets at `msg`, len > 2 checked.
        let frame = unsafe { std::slice::from_raw_parts(msg, len as usize) };
        track_confirmation(ev, incoming, frame);
    }
    if tracing::enabled!(tracing::Level::TRACE) && !msg.is_null() && len > 2 {
        // SAFETY: SpanDSP passes a frame buffer of `len` valid octets for the
        // duration of the callback; len > 2 was checked.
        let frame = unsafe { std::slice::from_raw_parts(msg, len as usize) };
        // Octet 2 is the T.30 facsimile control field (FCF).
        tracing::trace!(
            incoming,
            fcf = format_args!("{:#04x}", frame[2]),
            len,
            "T.30 frame"
        );
    }
}

/// Follow the post-page exchange of a receiving terminal (T.30 §5.3.6):
/// which command the sender gave after its last page, and whether we
/// confirmed it. An MCF that would confirm a page the TIFF could not take
/// (`output_failed`) is marked withheld instead. FCF values are SpanDSP's (`t30_fcf.h`), with the X bit
/// masked off.
fn track_confirmation(ev: &mut Events, incoming: bool, frame: &[u8]) {
    const EOP: u8 = 0x2E;
    const PRI_EOP: u8 = 0x3E;
    const MPS: u8 = 0x4E;
    const EOM: u8 = 0x8E;
    const PRI_MPS: u8 = 0x5E;
    const PRI_EOM: u8 = 0x9E;
    const PPS: u8 = 0xBE;
    const MCF: u8 = 0x8C;
    let fcf = frame[2] & 0xFE;
    if incoming {
        let post_page = match fcf {
            // ECM: the partial page signal carries the post-page command.
            PPS => frame.get(3).map(|f| f & 0xFE),
            EOP | PRI_EOP | MPS | EOM | PRI_MPS | PRI_EOM => Some(fcf),
            _ => None,
        };
        if let Some(command) = post_page {
            ev.eop_received = matches!(command, EOP | PRI_EOP);
        }
    } else if fcf == MCF && ev.output_failed {
        ev.confirmation_withheld = true;
    } else if fcf == MCF && ev.eop_received && !ev.confirmation_withheld {
        ev.document_confirmed = true;
    }
}

unsafe extern "C" fn on_t38_packet(
    _core: *mut sys::t38_core_state_t,
    user_data: *mut c_void,
    buf: *const u8,
    len: c_int,
    count: c_int,
) -> c_int {
    if buf.is_null() || len < 0 {
        return -1;
    }
    // SAFETY: SpanDSP passes `len` valid octets at `buf` for the duration of
    // the call; both were checked for null/negative above.
    let bytes = unsafe { std::slice::from_raw_parts(buf, len as usize) };
    // SAFETY: as for on_phase_b; this is the user_data given to t38_terminal_init.
    let ev = unsafe { events(user_data) };
    let mut data = ev.spare.pop().unwrap_or_else(|| Vec::with_capacity(128));
    data.clear();
    data.extend_from_slice(bytes);
    let seq = ev.next_seq;
    ev.next_seq = ev.next_seq.wrapping_add(1);
    ev.packets.push(IfpPacket {
        seq,
        data,
        transmissions: count.clamp(1, 255) as u8,
    });
    0
}

unsafe extern "C" fn on_log(_user_data: *mut c_void, level: c_int, text: *const c_char) {
    if text.is_null() {
        return;
    }
    // SAFETY: SpanDSP passes a NUL-terminated message valid during the call.
    let text = unsafe { CStr::from_ptr(text) }.to_string_lossy();
    let text = text.trim_end();
    if level <= sys::SPAN_LOG_WARNING as c_int {
        tracing::warn!(target: "faxbridge::fax::spandsp", "{text}");
    } else {
        tracing::debug!(target: "faxbridge::fax::spandsp", "{text}");
    }
}

/// Route a SpanDSP logging state to `tracing`, if debug logging is on for
/// the engine (SpanDSP formats every message, so keep it off otherwise).
///
/// # Safety
/// `log` must point to a live `logging_state_t`.
unsafe fn route_log(log: *mut sys::logging_state_t) {
    if log.is_null() || !tracing::enabled!(target: "faxbridge::fax::spandsp", tracing::Level::DEBUG)
    {
        return;
    }
    // SAFETY: the caller guarantees `log` is live; on_log has the signature
    // SpanDSP expects and ignores its user_data.
    unsafe {
        sys::span_log_set_message_handler(log, Some(on_log), ptr::null_mut());
        sys::span_log_set_level(
            log,
            (sys::SPAN_LOG_SHOW_PROTOCOL | sys::SPAN_LOG_FLOW) as c_int,
        );
    }
}

/// Apply `cfg` to a T.30 engine and register the callbacks on `ev`.
///
/// # Safety
/// `t30` must point to the live T.30 state of a terminal that has not yet
/// processed any media; `ev` must stay valid until that terminal is freed.
unsafe fn configure_t30(t30: *mut sys::t30_state_t, ev: *mut Events, cfg: &T30Config) {
    let ud = ev as *mut c_void;
    // SAFETY: `ev` is valid and not yet registered with SpanDSP (caller),
    // so no other reference to it exists.
    unsafe { (*ev).t30 = NonNull::new(t30) };
    // SAFETY: `t30` is live and idle (caller); the strings are NUL-terminated
    // and SpanDSP copies them into its own buffers (ident ≤ 20, header ≤ 50
    // and paths < 256 octets were checked by the caller); `ud` outlives the
    // engine (caller) and the callbacks match SpanDSP's prototypes.
    unsafe {
        sys::t30_set_tx_ident(t30, cfg.ident.as_ptr());
        if let Some(h) = &cfg.header_info {
            sys::t30_set_tx_page_header_info(t30, h.as_ptr());
        }
        sys::t30_set_ecm_capability(t30, cfg.ecm);
        sys::t30_set_supported_modems(t30, cfg.modems);
        sys::t30_set_supported_compressions(t30, cfg.compressions);
        sys::t30_set_supported_bilevel_resolutions(t30, cfg.resolutions);
        // Store every received page as T.6 (G4): smallest, and what the PDF
        // writer embeds as /CCITTFaxDecode without re-encoding.
        sys::t30_set_supported_output_compressions(
            t30,
            sys::t4_image_compression_t_T4_COMPRESSION_T6 as c_int,
        );
        sys::t30_set_receive_recovery(t30, c_int::from(cfg.keep_partial_pages));
        match &cfg.file {
            FileRole::Send(p) => sys::t30_set_tx_file(t30, p.as_ptr(), -1, -1),
            FileRole::Receive(p) => sys::t30_set_rx_file(t30, p.as_ptr(), -1),
        }
        sys::t30_set_phase_b_handler(t30, Some(on_phase_b), ud);
        sys::t30_set_phase_d_handler(t30, Some(on_phase_d), ud);
        sys::t30_set_phase_e_handler(t30, Some(on_phase_e), ud);
        sys::t30_set_document_handler(t30, Some(on_document), ud);
        sys::t30_set_real_time_frame_handler(t30, Some(on_frame), ud);
        route_log(sys::t30_get_logging_state(t30));
    }
}

/// Read the transfer statistics.
///
/// # Safety
/// `t30` must point to a live T.30 state.
unsafe fn stats(t30: *mut sys::t30_state_t) -> Stats {
    let mut st = sys::t30_stats_t::default();
    // SAFETY: `t30` is live (caller) and `st` is a valid out-parameter.
    unsafe { sys::t30_get_transfer_statistics(t30, &mut st) };
    Stats {
        bit_rate: st.bit_rate,
        ecm: st.error_correcting_mode != 0,
        pages_tx: st.pages_tx,
        pages_rx: st.pages_rx,
        pages_in_file: st.pages_in_file,
    }
}

/// The far end's CSI/TSI, if it sent a non-blank one.
///
/// # Safety
/// `t30` must point to a live T.30 state.
unsafe fn remote_ident(t30: *mut sys::t30_state_t) -> Option<String> {
    // SAFETY: `t30` is live; the getter returns NULL or a pointer to a
    // NUL-terminated buffer inside the state, copied before we return.
    let p = unsafe { sys::t30_get_rx_ident(t30) };
    if p.is_null() {
        return None;
    }
    // SAFETY: non-null, NUL-terminated, valid while `t30` is (see above).
    let s = unsafe { CStr::from_ptr(p) }
        .to_string_lossy()
        .trim()
        .to_string();
    (!s.is_empty()).then_some(s)
}

/// Pages written to the receive TIFF so far (complete and partial).
///
/// # Safety
/// `t30` must point to a live T.30 state.
unsafe fn stored_pages(t30: *mut sys::t30_state_t) -> StoredPages {
    // SAFETY: `t30` is live (caller).
    let count = unsafe { sys::t30_receive_page_count(t30) }.max(0);
    let mut last_partial = false;
    if count > 0 {
        let mut page = sys::t4_rx_recovery_page_t::default();
        // SAFETY: `t30` is live, index is in range and `page` is a valid
        // out-parameter (copied by value).
        if unsafe { sys::t30_receive_page(t30, count - 1, &mut page) } == 0 {
            last_partial = page.partial != 0;
        }
    }
    StoredPages {
        count: count as u32,
        last_partial,
    }
}

/// SpanDSP's own description of a T.30 completion code.
pub(crate) fn completion_code_text(code: i32) -> String {
    // SAFETY: t30_completion_code_to_str accepts any int and returns a
    // pointer to a static NUL-terminated string ("???" for unknown codes).
    let p = unsafe { sys::t30_completion_code_to_str(code) };
    if p.is_null() {
        return format!("T.30 completion code {code}");
    }
    // SAFETY: static NUL-terminated string, checked non-null.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// The T.30 accessors both terminals share. The type must have a
/// `fn t30(&self) -> *mut t30_state_t` giving its live embedded T.30 state
/// and an `ev: NonNull<Events>` owned until Drop.
macro_rules! t30_accessors {
    ($terminal:ty) => {
        impl $terminal {
            /// End the call now (far end hung up, or local abort).
            pub fn terminate(&mut self) {
                // SAFETY: the T.30 state is live; phase E fires synchronously into `ev`.
                unsafe { sys::t30_terminate(self.t30()) };
            }

            /// Callback results so far.
            pub fn events(&mut self) -> &mut Events {
                // SAFETY: `ev` is live until Drop and SpanDSP touches it only
                // during our &mut self calls, none of which is running now.
                unsafe { self.ev.as_mut() }
            }

            /// Transfer statistics.
            pub fn stats(&self) -> Stats {
                // SAFETY: the T.30 state is live.
                unsafe { stats(self.t30()) }
            }

            /// The far end's identity.
            pub fn remote_ident(&self) -> Option<String> {
                // SAFETY: the T.30 state is live.
                unsafe { remote_ident(self.t30()) }
            }

            /// Pages stored in the receive TIFF.
            pub fn stored_pages(&self) -> StoredPages {
                // SAFETY: the T.30 state is live.
                unsafe { stored_pages(self.t30()) }
            }
        }
    };
}

// ---------------------------------------------------------------------------
// Audio terminal.

/// A T.30 terminal on 8 kHz linear audio (SpanDSP `fax_state_t`).
pub(crate) struct AudioTerminal {
    fax: NonNull<sys::fax_state_t>,
    ev: NonNull<Events>,
    /// `fax_rx` conditions its input in place; received samples are copied here.
    scratch: Vec<i16>,
}

// SAFETY: an AudioTerminal exclusively owns its SpanDSP state and its Events
// box; neither is reachable from anywhere else, SpanDSP keeps no thread-local
// or global per-call state, and libtiff handles are per file. Moving the
// owner to another thread (a tokio worker) is therefore sound. It is not
// Sync: every method takes &mut self, and the raw pointers keep it !Sync.
unsafe impl Send for AudioTerminal {}

impl AudioTerminal {
    /// Create a terminal for one call.
    pub fn new(cfg: &T30Config) -> Result<AudioTerminal, FaxError> {
        let ev = NonNull::from(Box::leak(Box::new(Events::default())));
        // SAFETY: a NULL state asks SpanDSP to allocate; it returns NULL on failure.
        let fax = unsafe { sys::fax_init(ptr::null_mut(), cfg.calling_party) };
        let Some(fax) = NonNull::new(fax) else {
            // SAFETY: `ev` came from Box::leak above and was never shared.
            drop(unsafe { Box::from_raw(ev.as_ptr()) });
            return Err(FaxError::EngineInit("audio fax terminal"));
        };
        let term = AudioTerminal {
            fax,
            ev,
            scratch: Vec::with_capacity(super::SAMPLES_PER_20MS),
        };
        // SAFETY: `fax` is live and idle; the T.30 state it returns is part of
        // it; `ev` lives until Drop, after fax_free.
        unsafe {
            // Pad transmit blocks with silence so every RTP packet is full.
            sys::fax_set_transmit_on_idle(fax.as_ptr(), 1);
            sys::fax_set_tep_mode(fax.as_ptr(), 0);
            route_log(sys::fax_get_logging_state(fax.as_ptr()));
            configure_t30(sys::fax_get_t30_state(fax.as_ptr()), ev.as_ptr(), cfg);
        }
        Ok(term)
    }

    fn t30(&self) -> *mut sys::t30_state_t {
        // SAFETY: `fax` is live for the lifetime of self; this only computes
        // the address of its embedded T.30 state.
        unsafe { sys::fax_get_t30_state(self.fax.as_ptr()) }
    }

    /// Process received audio.
    pub fn rx(&mut self, samples: &[i16]) {
        self.scratch.clear();
        self.scratch.extend_from_slice(samples);
        // SAFETY: `fax` is live; the buffer holds `len` samples that SpanDSP
        // may modify in place; callbacks reach `ev` while we hold no
        // reference to it.
        unsafe {
            sys::fax_rx(
                self.fax.as_ptr(),
                self.scratch.as_mut_ptr(),
                self.scratch.len() as c_int,
            );
        }
    }

    /// Account for `samples` of lost audio (no packet arrived).
    pub fn rx_missing(&mut self, samples: usize) {
        // SAFETY: `fax` is live; fill-in takes only a count.
        unsafe { sys::fax_rx_fillin(self.fax.as_ptr(), samples as c_int) };
    }

    /// Generate audio to send; fills the whole buffer (silence when idle).
    pub fn tx(&mut self, out: &mut [i16]) {
        // SAFETY: `fax` is live; `out` has room for `len` samples; with
        // transmit-on-idle SpanDSP writes exactly `len` samples.
        let n = unsafe { sys::fax_tx(self.fax.as_ptr(), out.as_mut_ptr(), out.len() as c_int) };
        let n = (n.max(0) as usize).min(out.len());
        out[n..].fill(0);
    }
}

t30_accessors!(AudioTerminal);

impl Drop for AudioTerminal {
    fn drop(&mut self) {
        // SAFETY: `fax` came from fax_init and is freed exactly once, here;
        // fax_free releases T.30 (closing the TIFF) before the memory.
        unsafe { sys::fax_free(self.fax.as_ptr()) };
        // SAFETY: SpanDSP no longer exists, so no callback can use `ev`; it
        // came from Box::leak in `new` and is reclaimed exactly once.
        drop(unsafe { Box::from_raw(self.ev.as_ptr()) });
    }
}

// ---------------------------------------------------------------------------
// T.38 terminal.

/// T.38 transport options agreed in SDP.
#[derive(Debug, Clone, Copy)]
pub(crate) struct T38Config {
    /// T38FaxVersion.
    pub version: u8,
    /// T38FaxMaxDatagram.
    pub max_datagram: u16,
    /// T38FaxFillBitRemoval.
    pub fill_bit_removal: bool,
}

/// A T.30 terminal speaking T.38 IFP packets (SpanDSP `t38_terminal_state_t`).
pub(crate) struct T38Terminal {
    t38: NonNull<sys::t38_terminal_state_t>,
    ev: NonNull<Events>,
}

// SAFETY: as for AudioTerminal: exclusive ownership of the SpanDSP state and
// of the Events box, no global per-call state in SpanDSP; !Sync through the
// raw pointers, and every method takes &mut self.
unsafe impl Send for T38Terminal {}

impl T38Terminal {
    /// Create a terminal for one call.
    pub fn new(cfg: &T30Config, t38: T38Config) -> Result<T38Terminal, FaxError> {
        let ev = NonNull::from(Box::leak(Box::new(Events::for_t38())));
        // SAFETY: NULL asks SpanDSP to allocate; on_t38_packet matches
        // t38_tx_packet_handler_t and `ev` stays valid until after the state
        // is freed (Drop).
        let state = unsafe {
            sys::t38_terminal_init(
                ptr::null_mut(),
                cfg.calling_party,
                Some(on_t38_packet),
                ev.as_ptr() as *mut c_void,
            )
        };
        let Some(state) = NonNull::new(state) else {
            // SAFETY: `ev` came from Box::leak above and was never registered.
            drop(unsafe { Box::from_raw(ev.as_ptr()) });
            return Err(FaxError::EngineInit("T.38 fax terminal"));
        };
        let term = T38Terminal { t38: state, ev };
        // SAFETY: `state` is live and idle; the core and T.30 pointers are
        // parts of it; `ev` outlives it.
        unsafe {
            let core = sys::t38_terminal_get_t38_core_state(state.as_ptr());
            sys::t38_set_t38_version(core, c_int::from(t38.version));
            sys::t38_set_max_datagram_size(core, c_int::from(t38.max_datagram));
            sys::t38_terminal_set_fill_bit_removal(state.as_ptr(), t38.fill_bit_removal);
            sys::t38_terminal_set_tep_mode(state.as_ptr(), false);
            route_log(sys::t38_terminal_get_logging_state(state.as_ptr()));
            route_log(sys::t38_core_get_logging_state(core));
            configure_t30(
                sys::t38_terminal_get_t30_state(state.as_ptr()),
                ev.as_ptr(),
                cfg,
            );
        }
        Ok(term)
    }

    fn t30(&self) -> *mut sys::t30_state_t {
        // SAFETY: the state is live; this computes the embedded T.30 address.
        unsafe { sys::t38_terminal_get_t30_state(self.t38.as_ptr()) }
    }

    /// Feed one received IFP packet. Returns false if SpanDSP rejected it.
    pub fn rx_ifp(&mut self, data: &[u8], seq: u16) -> bool {
        // SAFETY: the state is live; `data` is valid for `len` octets during
        // the call; callbacks reach `ev` while we hold no reference to it.
        let r = unsafe {
            let core = sys::t38_terminal_get_t38_core_state(self.t38.as_ptr());
            sys::t38_core_rx_ifp_packet(core, data.as_ptr(), data.len() as c_int, seq)
        };
        r >= 0
    }

    /// Advance the clock by `samples` (8 kHz); packets due are produced
    /// through the tx callback. Returns true once the terminal has finished.
    pub fn advance(&mut self, samples: u32) -> bool {
        // SAFETY: the state is live; callbacks as in rx_ifp.
        unsafe { sys::t38_terminal_send_timeout(self.t38.as_ptr(), samples as c_int) != 0 }
    }
}

t30_accessors!(T38Terminal);

impl Drop for T38Terminal {
    fn drop(&mut self) {
        // SAFETY: the state came from t38_terminal_init and is freed exactly
        // once, here (releasing T.30 and closing the TIFF first).
        unsafe { sys::t38_terminal_free(self.t38.as_ptr()) };
        // SAFETY: no SpanDSP state refers to `ev` any more; it came from
        // Box::leak in `new` and is reclaimed exactly once.
        drop(unsafe { Box::from_raw(self.ev.as_ptr()) });
    }
}

// ---------------------------------------------------------------------------
// T.38 gateway.

/// Settings of a T.38 gateway, already converted to SpanDSP's values.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GatewayConfig {
    /// Let ECM (T.30 Annex A) pass through: the gateway then relays HDLC
    /// image frames instead of non-ECM image data.
    pub ecm: bool,
    /// `T30_SUPPORT_*` bits of the image modems the gateway may let the
    /// terminals choose (it edits DIS so no other modem is picked).
    pub modems: c_int,
    /// T.38 transport options agreed with the T.38 side.
    pub t38: T38Config,
}

/// Transfer statistics of a gateway (a copy of `t38_stats_t`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct GatewayStats {
    /// Bit rate of the current image modem.
    pub bit_rate: i32,
    /// ECM is in use.
    pub ecm: bool,
    /// Pages relayed so far.
    pub pages: i32,
}

/// A G.711↔T.38 gateway (SpanDSP `t38_gateway_state_t`): demodulates the
/// fax modem audio of one side into T.38 IFP packets and remodulates the
/// IFP packets of the other side into audio. It runs no T.30 engine of its
/// own; it only watches the T.30 frames going through (to follow modem and
/// ECM choices).
///
/// Its clock is the audio: every call of [`Self::rx`] (or
/// [`Self::rx_missing`]) advances the gateway's timers by that many
/// samples, so it must be fed exactly one sample per 125 µs of call time.
pub(crate) struct GatewayEngine {
    state: NonNull<sys::t38_gateway_state_t>,
    ev: NonNull<Events>,
    /// `t38_gateway_rx` conditions its input in place; samples are copied here.
    scratch: Vec<i16>,
}

// SAFETY: as for T38Terminal: the gateway exclusively owns its SpanDSP state
// and its Events box; SpanDSP keeps no global per-gateway state. It is !Sync
// through the raw pointers and every method that reaches SpanDSP takes
// &mut self.
unsafe impl Send for GatewayEngine {}

impl GatewayEngine {
    /// Create a gateway for one call.
    pub fn new(cfg: GatewayConfig) -> Result<GatewayEngine, FaxError> {
        let ev = NonNull::from(Box::leak(Box::new(Events::for_t38())));
        // SAFETY: NULL asks SpanDSP to allocate (NULL on failure);
        // on_t38_packet matches t38_tx_packet_handler_t and `ev` stays valid
        // until after the state is freed (Drop).
        let state = unsafe {
            sys::t38_gateway_init(
                ptr::null_mut(),
                Some(on_t38_packet),
                ev.as_ptr() as *mut c_void,
            )
        };
        let Some(state) = NonNull::new(state) else {
            // SAFETY: `ev` came from Box::leak above and was never registered.
            drop(unsafe { Box::from_raw(ev.as_ptr()) });
            return Err(FaxError::EngineInit("T.38 gateway"));
        };
        let gw = GatewayEngine {
            state,
            ev,
            scratch: Vec::with_capacity(super::SAMPLES_PER_20MS),
        };
        // SAFETY: `state` is live and idle; the core state is part of it;
        // on_frame matches t38_gateway_real_time_frame_handler_t and `ev`
        // outlives the state.
        unsafe {
            let s = state.as_ptr();
            let core = sys::t38_gateway_get_t38_core_state(s);
            sys::t38_set_t38_version(core, c_int::from(cfg.t38.version));
            sys::t38_set_max_datagram_size(core, c_int::from(cfg.t38.max_datagram));
            sys::t38_gateway_set_fill_bit_removal(s, cfg.t38.fill_bit_removal);
            sys::t38_gateway_set_ecm_capability(s, cfg.ecm);
            sys::t38_gateway_set_supported_modems(s, cfg.modems);
            // Continuous audio: every 20 ms packet is full, silence when idle.
            sys::t38_gateway_set_transmit_on_idle(s, true);
            sys::t38_gateway_set_tep_mode(s, false);
            sys::t38_gateway_set_real_time_frame_handler(s, Some(on_frame), ev.as_ptr().cast());
            route_log(sys::t38_gateway_get_logging_state(s));
            route_log(sys::t38_core_get_logging_state(core));
        }
        Ok(gw)
    }

    /// Process received modem audio (the audio side's signal); advances the
    /// gateway's clock by `samples.len()`. IFP packets due are produced
    /// through the tx callback.
    pub fn rx(&mut self, samples: &[i16]) {
        self.scratch.clear();
        self.scratch.extend_from_slice(samples);
        // SAFETY: the state is live; the buffer holds `len` samples SpanDSP
        // may modify in place; callbacks reach `ev` while we hold no
        // reference to it.
        unsafe {
            sys::t38_gateway_rx(
                self.state.as_ptr(),
                self.scratch.as_mut_ptr(),
                self.scratch.len() as c_int,
            );
        }
    }

    /// Account for `samples` of lost audio; advances the clock like [`Self::rx`].
    pub fn rx_missing(&mut self, samples: usize) {
        // SAFETY: the state is live; fill-in takes only a count; callbacks
        // as in rx.
        unsafe { sys::t38_gateway_rx_fillin(self.state.as_ptr(), samples as c_int) };
    }

    /// Generate audio for the audio side; fills the whole buffer (silence
    /// when idle).
    pub fn tx(&mut self, out: &mut [i16]) {
        // SAFETY: the state is live; `out` has room for `len` samples and
        // SpanDSP writes at most that many.
        let n = unsafe {
            sys::t38_gateway_tx(self.state.as_ptr(), out.as_mut_ptr(), out.len() as c_int)
        };
        let n = (n.max(0) as usize).min(out.len());
        out[n..].fill(0);
    }

    /// Feed one IFP packet received from the T.38 side. Returns false if
    /// SpanDSP rejected it.
    pub fn rx_ifp(&mut self, data: &[u8], seq: u16) -> bool {
        // SAFETY: the state is live; `data` is valid for `len` octets during
        // the call; callbacks reach `ev` while we hold no reference to it.
        let r = unsafe {
            let core = sys::t38_gateway_get_t38_core_state(self.state.as_ptr());
            sys::t38_core_rx_ifp_packet(core, data.as_ptr(), data.len() as c_int, seq)
        };
        r >= 0
    }

    /// Callback results so far (IFP packets to send, T.30 frames seen).
    pub fn events(&mut self) -> &mut Events {
        // SAFETY: `ev` is live until Drop and SpanDSP touches it only during
        // our &mut self calls, none of which is running now.
        unsafe { self.ev.as_mut() }
    }

    /// Transfer statistics.
    pub fn stats(&self) -> GatewayStats {
        let mut st = sys::t38_stats_t::default();
        // SAFETY: the state is live and `st` is a valid out-parameter.
        unsafe { sys::t38_gateway_get_transfer_statistics(self.state.as_ptr(), &mut st) };
        GatewayStats {
            bit_rate: st.bit_rate,
            ecm: st.error_correcting_mode,
            pages: st.pages_transferred,
        }
    }
}

impl Drop for GatewayEngine {
    fn drop(&mut self) {
        // SAFETY: the state came from t38_gateway_init and is released and
        // freed exactly once, here.
        unsafe {
            sys::t38_gateway_release(self.state.as_ptr());
            sys::t38_gateway_free(self.state.as_ptr());
        }
        // SAFETY: no SpanDSP state refers to `ev` any more; it came from
        // Box::leak in `new` and is reclaimed exactly once.
        drop(unsafe { Box::from_raw(self.ev.as_ptr()) });
    }
}

// ---------------------------------------------------------------------------
// Reference G.711 for cross-checking our own tables.

/// Decode with SpanDSP's G.711 (`g711_decode`), for tests of `g711.rs`.
#[cfg(test)]
pub(crate) fn g711_decode_reference(law: G711Law, codes: &[u8]) -> Vec<i16> {
    let mut out = vec![0i16; codes.len()];
    // SAFETY: g711_init(NULL) allocates a state or returns NULL; the buffers
    // are valid for `len` elements; the state is freed once.
    unsafe {
        let s = sys::g711_init(ptr::null_mut(), g711_mode(law));
        assert!(!s.is_null());
        let n = sys::g711_decode(s, out.as_mut_ptr(), codes.as_ptr(), codes.len() as c_int);
        sys::g711_free(s);
        out.truncate(n.max(0) as usize);
    }
    out
}

/// Encode with SpanDSP's G.711 (`g711_encode`), for tests of `g711.rs`.
#[cfg(test)]
pub(crate) fn g711_encode_reference(law: G711Law, samples: &[i16]) -> Vec<u8> {
    let mut out = vec![0u8; samples.len()];
    // SAFETY: as in g711_decode_reference.
    unsafe {
        let s = sys::g711_init(ptr::null_mut(), g711_mode(law));
        assert!(!s.is_null());
        let n = sys::g711_encode(
            s,
            out.as_mut_ptr(),
            samples.as_ptr(),
            samples.len() as c_int,
        );
        sys::g711_free(s);
        out.truncate(n.max(0) as usize);
    }
    out
}

#[cfg(test)]
fn g711_mode(law: G711Law) -> c_int {
    match law {
        G711Law::ALaw => sys::G711_ALAW as c_int,
        G711Law::MuLaw => sys::G711_ULAW as c_int,
    }
}

// ---------------------------------------------------------------------------
// Modem connect tone detector.

/// Tone codes of SpanDSP's `modem_connect_tones.h`. The header declares them
/// in an anonymous enum, which the bindings do not export, so the values are
/// repeated here exactly as the header numbers them.
pub(crate) mod connect_tone {
    /// No tone (reported when a tone stops).
    pub const NONE: i32 = 0;
    /// Fax CNG: 1100 Hz, 0.5 s bursts with 3 s silences.
    pub const FAX_CNG: i32 = 1;
    /// ANS: continuous 2100 Hz (the same tone as fax CED).
    pub const ANS: i32 = 2;
    /// ANS with a phase reversal every 450 ms (V.25 echo-canceller disable).
    pub const ANS_PR: i32 = 3;
    /// ANSam: ANS amplitude-modulated at 15 Hz (V.8).
    pub const ANSAM: i32 = 4;
    /// ANSam with phase reversals (V.8).
    pub const ANSAM_PR: i32 = 5;
    /// Fax V.21 channel-2 preamble: back-to-back HDLC flag octets.
    pub const FAX_PREAMBLE: i32 = 6;
    /// Receive-only watch type: CED/ANS or V.21 preamble, whichever comes.
    pub const FAX_CED_OR_PREAMBLE: i32 = 7;
    /// Bell 103/212A answer tone: continuous 2225 Hz.
    pub const BELL_ANS: i32 = 8;
}

/// One tone change reported by the detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ToneReport {
    /// A [`connect_tone`] code; [`connect_tone::NONE`] when a tone stopped.
    pub code: i32,
    /// Signal level in dBm0 (-99 when a tone stopped).
    pub level_dbm0: i32,
}

/// Callback context of one detector; its boxed address is SpanDSP's
/// `user_data`.
#[derive(Debug, Default)]
struct ToneEvents {
    reports: Vec<ToneReport>,
}

unsafe extern "C" fn on_connect_tone(
    user_data: *mut c_void,
    code: c_int,
    level: c_int,
    _delay: c_int,
) {
    // SAFETY: registered with the live ToneEvents pointer of one
    // ConnectToneRx; SpanDSP calls back only synchronously from inside
    // ConnectToneRx::rx (&mut self), while no Rust reference to it exists.
    let ev = unsafe { &mut *user_data.cast::<ToneEvents>() };
    ev.reports.push(ToneReport {
        code,
        level_dbm0: level,
    });
}

/// SpanDSP's modem connect tone detector (`modem_connect_tones_rx_state_t`)
/// watching 8 kHz linear audio for one tone type.
pub(crate) struct ConnectToneRx {
    state: NonNull<sys::modem_connect_tones_rx_state_t>,
    ev: NonNull<ToneEvents>,
}

// SAFETY: a ConnectToneRx exclusively owns its SpanDSP state and its
// ToneEvents box; SpanDSP keeps no global per-detector state. Moving the
// owner to another thread is sound. It is not Sync: every method that
// reaches SpanDSP takes &mut self, and the raw pointers keep it !Sync.
unsafe impl Send for ConnectToneRx {}

impl ConnectToneRx {
    /// A detector for `tone_type`, one of [`connect_tone::FAX_CNG`],
    /// [`connect_tone::ANS`], [`connect_tone::FAX_PREAMBLE`] or
    /// [`connect_tone::FAX_CED_OR_PREAMBLE`].
    pub fn new(tone_type: i32) -> Result<ConnectToneRx, FaxError> {
        let ev = NonNull::from(Box::leak(Box::new(ToneEvents::default())));
        // SAFETY: a NULL state asks SpanDSP to allocate one (NULL on
        // failure); `ev` stays valid until Drop, after the state is freed.
        let state = unsafe {
            sys::modem_connect_tones_rx_init(
                ptr::null_mut(),
                tone_type as c_int,
                Some(on_connect_tone),
                ev.as_ptr().cast(),
            )
        };
        let Some(state) = NonNull::new(state) else {
            // SAFETY: `ev` came from Box::leak above and was never shared.
            drop(unsafe { Box::from_raw(ev.as_ptr()) });
            return Err(FaxError::EngineInit("modem connect tone detector"));
        };
        Ok(ConnectToneRx { state, ev })
    }

    /// Process received audio; tone changes are queued for [`Self::take_reports`].
    pub fn rx(&mut self, samples: &[i16]) {
        // SAFETY: `state` is live; SpanDSP only reads `len` samples from the
        // buffer; the callback reaches `ev` while we hold no reference to it.
        unsafe {
            sys::modem_connect_tones_rx(
                self.state.as_ptr(),
                samples.as_ptr(),
                samples.len() as c_int,
            );
        }
    }

    /// Tone changes reported since the last call, oldest first.
    pub fn take_reports(&mut self) -> Vec<ToneReport> {
        // SAFETY: `ev` is live until Drop and SpanDSP touches it only during
        // `rx`, which is not running now.
        std::mem::take(&mut unsafe { self.ev.as_mut() }.reports)
    }
}

impl Drop for ConnectToneRx {
    fn drop(&mut self) {
        // SAFETY: the state came from modem_connect_tones_rx_init and is
        // freed exactly once, here.
        unsafe { sys::modem_connect_tones_rx_free(self.state.as_ptr()) };
        // SAFETY: SpanDSP no longer exists, so no callback can use `ev`; it
        // came from Box::leak in `new` and is reclaimed exactly once.
        drop(unsafe { Box::from_raw(self.ev.as_ptr()) });
    }
}

// ---------------------------------------------------------------------------
// Modem connect tone generator.

/// SpanDSP's modem connect tone generator (`modem_connect_tones_tx_state_t`):
/// fax CNG, the V.25 answer tone ANS (2100 Hz, also fax CED) with or without
/// phase reversals, V.8 ANSam, and the Bell 103/212A answer tone (2225 Hz).
/// Used to make reference signals for the call classifier's tests and
/// measurements.
pub struct ConnectToneTx {
    state: NonNull<sys::modem_connect_tones_tx_state_t>,
}

// SAFETY: a ConnectToneTx exclusively owns its SpanDSP state, which has no
// callbacks and no global per-generator state; it is !Sync through the raw
// pointer and every method that reaches SpanDSP takes &mut self.
unsafe impl Send for ConnectToneTx {}

/// A tone [`ConnectToneTx`] can generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeneratedTone {
    /// Fax CNG: 1100 Hz, 0.5 s on, 3 s off.
    FaxCng,
    /// V.25 ANS (= fax CED): 2100 Hz for 3.3 s.
    Ans,
    /// V.25 ANS with a phase reversal every 450 ms.
    AnsPr,
    /// V.8 ANSam: 2100 Hz amplitude-modulated at 15 Hz.
    Ansam,
    /// V.8 ANSam with phase reversals.
    AnsamPr,
    /// Bell 103/212A answer tone: 2225 Hz.
    BellAns,
}

impl ConnectToneTx {
    /// A generator for `tone`.
    pub fn new(tone: GeneratedTone) -> Result<ConnectToneTx, FaxError> {
        let tone_type = match tone {
            GeneratedTone::FaxCng => connect_tone::FAX_CNG,
            GeneratedTone::Ans => connect_tone::ANS,
            GeneratedTone::AnsPr => connect_tone::ANS_PR,
            GeneratedTone::Ansam => connect_tone::ANSAM,
            GeneratedTone::AnsamPr => connect_tone::ANSAM_PR,
            GeneratedTone::BellAns => connect_tone::BELL_ANS,
        };
        // SAFETY: a NULL state asks SpanDSP to allocate one (NULL on
        // failure); the tone type was mapped from a GeneratedTone, all of which it generates.
        let state =
            unsafe { sys::modem_connect_tones_tx_init(ptr::null_mut(), tone_type as c_int) };
        let state =
            NonNull::new(state).ok_or(FaxError::EngineInit("modem connect tone generator"))?;
        Ok(ConnectToneTx { state })
    }

    /// Fill `out` with the tone (silence once a timed tone has ended).
    pub fn tx(&mut self, out: &mut [i16]) {
        // SAFETY: the state is live; `out` has room for `len` samples and
        // SpanDSP writes at most that many.
        let n = unsafe {
            sys::modem_connect_tones_tx(self.state.as_ptr(), out.as_mut_ptr(), out.len() as c_int)
        };
        let n = (n.max(0) as usize).min(out.len());
        out[n..].fill(0);
    }
}

impl Drop for ConnectToneTx {
    fn drop(&mut self) {
        // SAFETY: the state came from modem_connect_tones_tx_init and is
        // freed exactly once, here.
        unsafe { sys::modem_connect_tones_tx_free(self.state.as_ptr()) };
    }
}

// ---------------------------------------------------------------------------
// V.22bis modem.

/// SpanDSP signal status codes (`async.h`, an anonymous enum the bindings
/// do not export), as passed to a modem status handler.
pub mod sig_status {
    /// Carrier energy seen (not yet known to be the right kind).
    pub const CARRIER_UP: i32 = -2;
    /// The carrier dropped.
    pub const CARRIER_DOWN: i32 = -1;
    /// The receiver is training on the far end's signal.
    pub const TRAINING_IN_PROGRESS: i32 = -3;
    /// The receiver trained and is ready for data.
    pub const TRAINING_SUCCEEDED: i32 = -4;
    /// The receiver failed to train.
    pub const TRAINING_FAILED: i32 = -5;
    /// The transmitter's data source ran out (its shutdown sequence follows).
    pub const END_OF_DATA: i32 = -7;
    /// The transmitter finished its shutdown sequence and is silent.
    pub const SHUTDOWN_COMPLETE: i32 = -10;
}

/// Callback context of one modem (V.22bis, V.29, V.27ter or FSK); its
/// boxed address is SpanDSP's `user_data` for the bit source, bit sink and
/// status handler.
#[derive(Debug)]
struct ModemEvents {
    /// State of the pseudo-random data source (a 32-bit LCG).
    lcg: u32,
    /// Send binary ones only (an FSK mark tone) instead of random data.
    marks_only: bool,
    /// Data bits still to send; at 0 the source reports the end of data.
    bits_left: u64,
    /// Data bits received after training.
    bits_rx: u64,
    /// Binary ones among them.
    ones_rx: u64,
    /// Length of the current run of received ones.
    ones_run: u64,
    /// Status changes reported, oldest first.
    statuses: Vec<i32>,
}

impl ModemEvents {
    /// A context whose source sends `bits` pseudo-random bits from `seed`.
    fn boxed(seed: u32, bits: u64) -> NonNull<ModemEvents> {
        NonNull::from(Box::leak(Box::new(ModemEvents {
            lcg: seed,
            marks_only: false,
            bits_left: bits,
            bits_rx: 0,
            ones_rx: 0,
            ones_run: 0,
            statuses: Vec::new(),
        })))
    }
}

unsafe extern "C" fn on_modem_get_bit(user_data: *mut c_void) -> c_int {
    // SAFETY: registered with the live ModemEvents pointer of one modem
    // wrapper; SpanDSP calls back only synchronously from inside its
    // &mut self methods, while no Rust reference to it exists.
    let ev = unsafe { &mut *user_data.cast::<ModemEvents>() };
    if ev.marks_only {
        return 1;
    }
    if ev.bits_left == 0 {
        return sig_status::END_OF_DATA;
    }
    ev.bits_left -= 1;
    ev.lcg = ev.lcg.wrapping_mul(1_103_515_245).wrapping_add(12_345);
    ((ev.lcg >> 16) & 1) as c_int
}

unsafe extern "C" fn on_modem_put_bit(user_data: *mut c_void, bit: c_int) {
    // SAFETY: as for on_modem_get_bit.
    let ev = unsafe { &mut *user_data.cast::<ModemEvents>() };
    if bit < 0 {
        // SpanDSP passes status changes through put_bit when no status
        // handler is set; one is, but accept both paths.
        ev.statuses.push(bit);
    } else {
        ev.bits_rx += 1;
        if bit & 1 == 1 {
            ev.ones_rx += 1;
            ev.ones_run += 1;
        } else {
            ev.ones_run = 0;
        }
    }
}

unsafe extern "C" fn on_modem_status(user_data: *mut c_void, status: c_int) {
    // SAFETY: as for on_modem_get_bit.
    let ev = unsafe { &mut *user_data.cast::<ModemEvents>() };
    ev.statuses.push(status);
}

/// SpanDSP's ITU-T V.22bis modem (`v22bis_state_t`, which also speaks V.22
/// at 1200 bit/s): the data pump of most dial-up card terminals. The
/// calling modem sends on the 1200 Hz carrier, the answering modem on the
/// 2400 Hz carrier; the answerer starts with unscrambled binary ones and the
/// caller answers once it has heard them (V.22bis §6.3.1). Transmits
/// pseudo-random data once trained. Used as a reference signal source for
/// the call classifier.
pub struct V22bisModem {
    state: NonNull<sys::v22bis_state_t>,
    ev: NonNull<ModemEvents>,
}

// SAFETY: a V22bisModem exclusively owns its SpanDSP state and its
// ModemEvents box; SpanDSP keeps no global per-modem state. It is !Sync
// through the raw pointers and every method that reaches SpanDSP takes
// &mut self.
unsafe impl Send for V22bisModem {}

/// The guard tone a V.22/V.22bis answering modem may send with its carrier
/// (V.22 §2.3: 1800 Hz is usual in Europe, 550 Hz in some networks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuardTone {
    /// No guard tone.
    None,
    /// 550 Hz.
    Hz550,
    /// 1800 Hz.
    Hz1800,
}

impl V22bisModem {
    /// A modem at `bit_rate` (1200 or 2400 bit/s), calling or answering,
    /// without a guard tone.
    pub fn new(bit_rate: u32, calling_party: bool) -> Result<V22bisModem, FaxError> {
        V22bisModem::with_guard_tone(bit_rate, calling_party, GuardTone::None)
    }

    /// [`V22bisModem::new`] with the answerer's guard tone `guard` (a
    /// calling modem never sends one).
    pub fn with_guard_tone(
        bit_rate: u32,
        calling_party: bool,
        guard: GuardTone,
    ) -> Result<V22bisModem, FaxError> {
        if bit_rate != 1200 && bit_rate != 2400 {
            return Err(FaxError::EngineInit(
                "V.22bis modem (bit rate 1200 or 2400)",
            ));
        }
        let ev = ModemEvents::boxed(0x1234_5678, u64::MAX);
        let ud: *mut c_void = ev.as_ptr().cast();
        // SAFETY: a NULL state asks SpanDSP to allocate one; the callbacks
        // match span_get_bit_func_t/span_put_bit_func_t and `ud` stays valid
        // until Drop, after the state is freed.
        let state = unsafe {
            sys::v22bis_init(
                ptr::null_mut(),
                bit_rate as c_int,
                match guard {
                    GuardTone::None => sys::v22bis_options_t_V22BIS_GUARD_TONE_NONE,
                    GuardTone::Hz550 => sys::v22bis_options_t_V22BIS_GUARD_TONE_550HZ,
                    GuardTone::Hz1800 => sys::v22bis_options_t_V22BIS_GUARD_TONE_1800HZ,
                } as c_int,
                calling_party,
                Some(on_modem_get_bit),
                ud,
                Some(on_modem_put_bit),
                ud,
            )
        };
        let Some(state) = NonNull::new(state) else {
            // SAFETY: `ev` came from Box::leak above and was never shared.
            drop(unsafe { Box::from_raw(ev.as_ptr()) });
            return Err(FaxError::EngineInit("V.22bis modem"));
        };
        // SAFETY: the state is live; the handler matches
        // span_modem_status_func_t and `ud` outlives the state.
        unsafe { sys::v22bis_set_modem_status_handler(state.as_ptr(), Some(on_modem_status), ud) };
        Ok(V22bisModem { state, ev })
    }

    /// Generate transmit audio; fills the whole buffer.
    pub fn tx(&mut self, out: &mut [i16]) {
        // SAFETY: the state is live; `out` has room for `len` samples;
        // callbacks reach `ev` while we hold no reference to it.
        let n =
            unsafe { sys::v22bis_tx(self.state.as_ptr(), out.as_mut_ptr(), out.len() as c_int) };
        let n = (n.max(0) as usize).min(out.len());
        out[n..].fill(0);
    }

    /// Process received audio (the far modem's signal).
    pub fn rx(&mut self, samples: &[i16]) {
        // SAFETY: the state is live; SpanDSP only reads `len` samples;
        // callbacks reach `ev` while we hold no reference to it.
        unsafe {
            sys::v22bis_rx(
                self.state.as_ptr(),
                samples.as_ptr(),
                samples.len() as c_int,
            )
        };
    }

    /// Status changes reported since the last call ([`sig_status`] codes).
    pub fn take_statuses(&mut self) -> Vec<i32> {
        // SAFETY: `ev` is live until Drop and SpanDSP touches it only during
        // tx/rx, which are not running now.
        std::mem::take(&mut unsafe { self.ev.as_mut() }.statuses)
    }

    /// Data bits received since the receiver trained.
    pub fn bits_received(&mut self) -> u64 {
        // SAFETY: as in take_statuses.
        unsafe { self.ev.as_mut() }.bits_rx
    }

    /// Data bits received, binary ones among them, and the length of the
    /// current run of ones: the descrambled output of the receiver.
    /// Scrambled binary ones, which both V.22/V.22bis modems send while
    /// they train, come out as a long run of ones.
    pub fn received_ones(&mut self) -> (u64, u64, u64) {
        // SAFETY: as in take_statuses.
        let ev = unsafe { self.ev.as_mut() };
        (ev.bits_rx, ev.ones_rx, ev.ones_run)
    }

    /// Process `samples` of lost audio (SpanDSP's fill-in keeps the
    /// receiver's timing).
    pub fn rx_missing(&mut self, samples: usize) {
        let len = samples.min(i32::MAX as usize) as c_int;
        // SAFETY: the state is live; fill-in reads no buffer.
        unsafe { sys::v22bis_rx_fillin(self.state.as_ptr(), len) };
    }

    /// Set the level (dBm0) above which the receiver takes a signal for a
    /// carrier.
    pub fn set_signal_cutoff(&mut self, dbm0: f32) {
        // SAFETY: the state is live; a plain setter.
        unsafe { sys::v22bis_rx_set_signal_cutoff(self.state.as_ptr(), dbm0) };
    }

    /// Set the transmit level, in dBm0.
    pub fn set_power(&mut self, dbm0: f32) {
        // SAFETY: the state is live; a plain setter.
        unsafe { sys::v22bis_tx_power(self.state.as_ptr(), dbm0) };
    }

    /// The bit rate in use (0 before training has finished).
    pub fn current_bit_rate(&mut self) -> u32 {
        // SAFETY: the state is live; a plain getter.
        let r = unsafe { sys::v22bis_get_current_bit_rate(self.state.as_ptr()) };
        r.max(0) as u32
    }
}

impl Drop for V22bisModem {
    fn drop(&mut self) {
        // SAFETY: the state came from v22bis_init and is freed exactly once,
        // here.
        unsafe { sys::v22bis_free(self.state.as_ptr()) };
        // SAFETY: SpanDSP no longer exists, so no callback can use `ev`; it
        // came from Box::leak in `new` and is reclaimed exactly once.
        drop(unsafe { Box::from_raw(self.ev.as_ptr()) });
    }
}

// ---------------------------------------------------------------------------
// Half-duplex data pumps: V.29 and V.27ter.

/// A half-duplex data pump: ITU-T V.29 (9600/7200/4800 bit/s, 1700 Hz
/// carrier, 2400 Bd) or V.27ter (4800/2400 bit/s, 1800 Hz carrier, 1600 or
/// 1200 Bd). Fax uses them for page data after a V.21 exchange; fast-connect
/// card terminals ("V.29 FastPOS") use them on their own, with no V.21.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataPump {
    /// V.29 at 9600, 7200 or 4800 bit/s.
    V29(u32),
    /// V.27ter at 4800 or 2400 bit/s.
    V27ter(u32),
}

impl DataPump {
    fn check(self) -> Result<(), FaxError> {
        match self {
            DataPump::V29(9600 | 7200 | 4800) | DataPump::V27ter(4800 | 2400) => Ok(()),
            DataPump::V29(_) => Err(FaxError::EngineInit(
                "V.29 modem (bit rate 9600, 7200 or 4800)",
            )),
            DataPump::V27ter(_) => Err(FaxError::EngineInit(
                "V.27ter modem (bit rate 4800 or 2400)",
            )),
        }
    }

    fn bit_rate(self) -> c_int {
        match self {
            DataPump::V29(r) | DataPump::V27ter(r) => r as c_int,
        }
    }
}

enum PumpTxState {
    V29(NonNull<sys::v29_tx_state_t>),
    V27ter(NonNull<sys::v27ter_tx_state_t>),
}

/// SpanDSP's V.29 or V.27ter transmitter (`v29_tx_state_t`,
/// `v27ter_tx_state_t`): the full training sequence, then a given number of
/// pseudo-random data bits, then the shutdown sequence and silence. A
/// reference signal source for the call classifier.
pub struct DataPumpTx {
    state: PumpTxState,
    ev: NonNull<ModemEvents>,
}

// SAFETY: a DataPumpTx exclusively owns its SpanDSP state and its
// ModemEvents box; SpanDSP keeps no global per-modem state. It is !Sync
// through the raw pointers and every method that reaches SpanDSP takes
// &mut self.
unsafe impl Send for DataPumpTx {}

impl DataPumpTx {
    /// A transmitter for `pump` that sends `data_bits` bits after training
    /// (pseudo-random from `seed`).
    pub fn new(pump: DataPump, data_bits: u64, seed: u32) -> Result<DataPumpTx, FaxError> {
        pump.check()?;
        let ev = ModemEvents::boxed(seed, data_bits);
        let ud: *mut c_void = ev.as_ptr().cast();
        let rate = pump.bit_rate();
        // SAFETY: a NULL state asks SpanDSP to allocate one (NULL on
        // failure); the rate was checked; the get_bit callback matches
        // span_get_bit_func_t and `ud` stays valid until Drop, after the
        // state is freed.
        let state = unsafe {
            match pump {
                DataPump::V29(_) => NonNull::new(sys::v29_tx_init(
                    ptr::null_mut(),
                    rate,
                    false,
                    Some(on_modem_get_bit),
                    ud,
                ))
                .map(PumpTxState::V29),
                DataPump::V27ter(_) => NonNull::new(sys::v27ter_tx_init(
                    ptr::null_mut(),
                    rate,
                    false,
                    Some(on_modem_get_bit),
                    ud,
                ))
                .map(PumpTxState::V27ter),
            }
        };
        let Some(state) = state else {
            // SAFETY: `ev` came from Box::leak and was never shared.
            drop(unsafe { Box::from_raw(ev.as_ptr()) });
            return Err(FaxError::EngineInit("V.29/V.27ter transmitter"));
        };
        // SAFETY: the state is live; the handler matches
        // span_modem_status_func_t and `ud` outlives the state.
        unsafe {
            match &state {
                PumpTxState::V29(s) => {
                    sys::v29_tx_set_modem_status_handler(s.as_ptr(), Some(on_modem_status), ud)
                }
                PumpTxState::V27ter(s) => {
                    sys::v27ter_tx_set_modem_status_handler(s.as_ptr(), Some(on_modem_status), ud)
                }
            }
        }
        Ok(DataPumpTx { state, ev })
    }

    /// Set the transmit level, in dBm0.
    pub fn set_power(&mut self, dbm0: f32) {
        // SAFETY: the state is live; a plain setter.
        unsafe {
            match &self.state {
                PumpTxState::V29(s) => sys::v29_tx_power(s.as_ptr(), dbm0),
                PumpTxState::V27ter(s) => sys::v27ter_tx_power(s.as_ptr(), dbm0),
            }
        }
    }

    /// Generate transmit audio; returns how many samples were generated
    /// (fewer than asked once the shutdown sequence has ended; the rest of
    /// `out` is silence).
    pub fn tx(&mut self, out: &mut [i16]) -> usize {
        let len = out.len() as c_int;
        // SAFETY: the state is live; `out` has room for `len` samples;
        // callbacks reach `ev` while we hold no reference to it.
        let n = unsafe {
            match &self.state {
                PumpTxState::V29(s) => sys::v29_tx(s.as_ptr(), out.as_mut_ptr(), len),
                PumpTxState::V27ter(s) => sys::v27ter_tx(s.as_ptr(), out.as_mut_ptr(), len),
            }
        };
        let n = (n.max(0) as usize).min(out.len());
        out[n..].fill(0);
        n
    }

    /// Whether the data and the shutdown sequence have been sent.
    pub fn finished(&mut self) -> bool {
        // SAFETY: `ev` is live until Drop and SpanDSP touches it only during
        // tx, which is not running now.
        unsafe { self.ev.as_mut() }
            .statuses
            .contains(&sig_status::SHUTDOWN_COMPLETE)
    }
}

impl Drop for DataPumpTx {
    fn drop(&mut self) {
        // SAFETY: the state came from its init function and is freed exactly
        // once, here.
        unsafe {
            match &self.state {
                PumpTxState::V29(s) => sys::v29_tx_free(s.as_ptr()),
                PumpTxState::V27ter(s) => sys::v27ter_tx_free(s.as_ptr()),
            };
        }
        // SAFETY: SpanDSP no longer exists, so no callback can use `ev`; it
        // came from Box::leak and is reclaimed exactly once.
        drop(unsafe { Box::from_raw(self.ev.as_ptr()) });
    }
}

enum PumpRxState {
    V29(NonNull<sys::v29_rx_state_t>),
    V27ter(NonNull<sys::v27ter_rx_state_t>),
}

/// SpanDSP's V.29 or V.27ter receiver (`v29_rx_state_t`,
/// `v27ter_rx_state_t`). It stays idle while the signal is below its
/// carrier threshold, and reports [`sig_status::TRAINING_SUCCEEDED`] only
/// after a complete training sequence of its modem and bit rate has been
/// received (carrier and symbol timing acquired, equaliser converged, a run
/// of scrambled ones received cleanly); after a failed attempt it parks
/// until the carrier drops. That makes a successful training a signature of
/// a real modem, which speech and music do not produce.
pub struct DataPumpRx {
    state: PumpRxState,
    bit_rate: c_int,
    ev: NonNull<ModemEvents>,
}

// SAFETY: as for DataPumpTx.
unsafe impl Send for DataPumpRx {}

impl DataPumpRx {
    /// A receiver for `pump`.
    pub fn new(pump: DataPump) -> Result<DataPumpRx, FaxError> {
        pump.check()?;
        let ev = ModemEvents::boxed(0, 0);
        let ud: *mut c_void = ev.as_ptr().cast();
        let rate = pump.bit_rate();
        // SAFETY: a NULL state asks SpanDSP to allocate one (NULL on
        // failure); the rate was checked; put_bit matches
        // span_put_bit_func_t and `ud` stays valid until Drop, after the
        // state is freed.
        let state = unsafe {
            match pump {
                DataPump::V29(_) => NonNull::new(sys::v29_rx_init(
                    ptr::null_mut(),
                    rate,
                    Some(on_modem_put_bit),
                    ud,
                ))
                .map(PumpRxState::V29),
                DataPump::V27ter(_) => NonNull::new(sys::v27ter_rx_init(
                    ptr::null_mut(),
                    rate,
                    Some(on_modem_put_bit),
                    ud,
                ))
                .map(PumpRxState::V27ter),
            }
        };
        let Some(state) = state else {
            // SAFETY: `ev` came from Box::leak and was never shared.
            drop(unsafe { Box::from_raw(ev.as_ptr()) });
            return Err(FaxError::EngineInit("V.29/V.27ter receiver"));
        };
        // SAFETY: the state is live; the handler matches
        // span_modem_status_func_t and `ud` outlives the state.
        unsafe {
            match &state {
                PumpRxState::V29(s) => {
                    sys::v29_rx_set_modem_status_handler(s.as_ptr(), Some(on_modem_status), ud)
                }
                PumpRxState::V27ter(s) => {
                    sys::v27ter_rx_set_modem_status_handler(s.as_ptr(), Some(on_modem_status), ud)
                }
            }
        }
        Ok(DataPumpRx {
            state,
            bit_rate: rate,
            ev,
        })
    }

    /// Forget the signal heard so far (a parked receiver listens again);
    /// the carrier threshold is kept.
    pub fn restart(&mut self) {
        // SAFETY: the state is live; restart only resets fields of it, at
        // the bit rate it was created with (checked then).
        unsafe {
            match &self.state {
                PumpRxState::V29(s) => sys::v29_rx_restart(s.as_ptr(), self.bit_rate, false),
                PumpRxState::V27ter(s) => sys::v27ter_rx_restart(s.as_ptr(), self.bit_rate, false),
            };
        }
    }

    /// Set the level (dBm0) above which the receiver takes a signal for a
    /// carrier and starts training on it.
    pub fn set_signal_cutoff(&mut self, dbm0: f32) {
        // SAFETY: the state is live; a plain setter.
        unsafe {
            match &self.state {
                PumpRxState::V29(s) => sys::v29_rx_set_signal_cutoff(s.as_ptr(), dbm0),
                PumpRxState::V27ter(s) => sys::v27ter_rx_set_signal_cutoff(s.as_ptr(), dbm0),
            }
        }
    }

    /// Process received audio.
    pub fn rx(&mut self, samples: &[i16]) {
        let len = samples.len() as c_int;
        // SAFETY: the state is live; SpanDSP only reads `len` samples;
        // callbacks reach `ev` while we hold no reference to it.
        unsafe {
            match &self.state {
                PumpRxState::V29(s) => sys::v29_rx(s.as_ptr(), samples.as_ptr(), len),
                PumpRxState::V27ter(s) => sys::v27ter_rx(s.as_ptr(), samples.as_ptr(), len),
            };
        }
    }

    /// Account for `samples` of lost audio (SpanDSP's fill-in keeps the
    /// receiver's timing).
    pub fn rx_missing(&mut self, samples: usize) {
        let len = samples.min(i32::MAX as usize) as c_int;
        // SAFETY: the state is live; fill-in reads no buffer.
        unsafe {
            match &self.state {
                PumpRxState::V29(s) => sys::v29_rx_fillin(s.as_ptr(), len),
                PumpRxState::V27ter(s) => sys::v27ter_rx_fillin(s.as_ptr(), len),
            };
        }
    }

    /// Status changes reported since the last call ([`sig_status`] codes).
    pub fn take_statuses(&mut self) -> Vec<i32> {
        // SAFETY: `ev` is live until Drop and SpanDSP touches it only during
        // rx, which is not running now.
        std::mem::take(&mut unsafe { self.ev.as_mut() }.statuses)
    }

    /// Data bits received after training (all trainings so far).
    pub fn bits_received(&mut self) -> u64 {
        // SAFETY: as in take_statuses.
        unsafe { self.ev.as_mut() }.bits_rx
    }
}

impl Drop for DataPumpRx {
    fn drop(&mut self) {
        // SAFETY: the state came from its init function and is freed exactly
        // once, here.
        unsafe {
            match &self.state {
                PumpRxState::V29(s) => sys::v29_rx_free(s.as_ptr()),
                PumpRxState::V27ter(s) => sys::v27ter_rx_free(s.as_ptr()),
            };
        }
        // SAFETY: SpanDSP no longer exists, so no callback can use `ev`; it
        // came from Box::leak and is reclaimed exactly once.
        drop(unsafe { Box::from_raw(self.ev.as_ptr()) });
    }
}

// ---------------------------------------------------------------------------
// FSK transmitter.

/// A channel of a 300 bit/s FSK modem, with SpanDSP's preset frequencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FskChannel {
    /// V.21 channel 1 (the caller's): mark 980 Hz, space 1180 Hz. A
    /// continuous mark is the "V.29 FastPOS" card terminal's calling tone.
    V21Ch1,
    /// V.21 channel 2 (the answerer's, and fax T.30's): mark 1650 Hz,
    /// space 1850 Hz.
    V21Ch2,
    /// Bell 103 originate: mark 1270 Hz, space 1070 Hz.
    Bell103Originate,
    /// Bell 103 answer: mark 2225 Hz, space 2025 Hz.
    Bell103Answer,
}

impl FskChannel {
    /// (space, mark) frequencies in Hz.
    fn frequencies(self) -> (c_int, c_int) {
        match self {
            FskChannel::V21Ch1 => (1180, 980),
            FskChannel::V21Ch2 => (1850, 1650),
            FskChannel::Bell103Originate => (1070, 1270),
            FskChannel::Bell103Answer => (2025, 2225),
        }
    }
}

/// SpanDSP's FSK transmitter (`fsk_tx_state_t`) at 300 bit/s and -14 dBm0,
/// sending a continuous mark or pseudo-random data. A reference signal
/// source for the call classifier.
pub struct FskTx {
    state: NonNull<sys::fsk_tx_state_t>,
    ev: NonNull<ModemEvents>,
}

// SAFETY: as for DataPumpTx.
unsafe impl Send for FskTx {}

impl FskTx {
    /// A transmitter on `channel`: a continuous mark tone when
    /// `marks_only`, else pseudo-random data from `seed`.
    pub fn new(channel: FskChannel, marks_only: bool, seed: u32) -> Result<FskTx, FaxError> {
        let ev = ModemEvents::boxed(seed, u64::MAX);
        // SAFETY: `ev` was just created and is not shared yet.
        unsafe { (*ev.as_ptr()).marks_only = marks_only };
        let (zero, one) = channel.frequencies();
        let spec = sys::fsk_spec_t {
            name: c"faxbridge FSK".as_ptr(),
            freq_zero: zero,
            freq_one: one,
            tx_level: -14,
            min_level: -30,
            baud_rate: 300 * 100,
        };
        // SAFETY: a NULL state asks SpanDSP to allocate one (NULL on
        // failure); fsk_tx_init copies what it needs from `spec` (the name
        // is static); get_bit matches span_get_bit_func_t and `ev` stays
        // valid until Drop, after the state is freed.
        let state = unsafe {
            sys::fsk_tx_init(
                ptr::null_mut(),
                &spec,
                Some(on_modem_get_bit),
                ev.as_ptr().cast(),
            )
        };
        let Some(state) = NonNull::new(state) else {
            // SAFETY: `ev` came from Box::leak and was never shared.
            drop(unsafe { Box::from_raw(ev.as_ptr()) });
            return Err(FaxError::EngineInit("FSK transmitter"));
        };
        Ok(FskTx { state, ev })
    }

    /// Generate transmit audio; fills the whole buffer.
    pub fn tx(&mut self, out: &mut [i16]) {
        // SAFETY: the state is live; `out` has room for `len` samples;
        // callbacks reach `ev` while we hold no reference to it.
        let n = unsafe { sys::fsk_tx(self.state.as_ptr(), out.as_mut_ptr(), out.len() as c_int) };
        let n = (n.max(0) as usize).min(out.len());
        out[n..].fill(0);
    }
}

impl Drop for FskTx {
    fn drop(&mut self) {
        // SAFETY: the state came from fsk_tx_init and is freed exactly once,
        // here.
        unsafe { sys::fsk_tx_free(self.state.as_ptr()) };
        // SAFETY: SpanDSP no longer exists, so no callback can use `ev`; it
        // came from Box::leak and is reclaimed exactly once.
        drop(unsafe { Box::from_raw(self.ev.as_ptr()) });
    }
}

// ---------------------------------------------------------------------------
// DTMF generator.

/// SpanDSP's DTMF generator (`dtmf_tx_state_t`): digits queued with
/// [`DtmfTx::put`] are sent with SpanDSP's default timing (50 ms tone,
/// 55 ms gap) and levels. A reference signal source for the call
/// classifier.
pub struct DtmfTx {
    state: NonNull<sys::dtmf_tx_state_t>,
}

// SAFETY: a DtmfTx exclusively owns its SpanDSP state, which has no
// callback registered and no global per-generator state; it is !Sync
// through the raw pointer and every method that reaches SpanDSP takes
// &mut self.
unsafe impl Send for DtmfTx {}

impl DtmfTx {
    /// A generator with nothing queued.
    pub fn new() -> Result<DtmfTx, FaxError> {
        // SAFETY: a NULL state asks SpanDSP to allocate one (NULL on
        // failure); no callback is registered.
        let state = unsafe { sys::dtmf_tx_init(ptr::null_mut(), None, ptr::null_mut()) };
        NonNull::new(state)
            .map(|state| DtmfTx { state })
            .ok_or(FaxError::EngineInit("DTMF generator"))
    }

    /// Set the tone and gap lengths in milliseconds.
    pub fn set_timing(&mut self, on_ms: u32, off_ms: u32) {
        // SAFETY: the state is live; a plain setter.
        unsafe { sys::dtmf_tx_set_timing(self.state.as_ptr(), on_ms as c_int, off_ms as c_int) };
    }

    /// Queue digits (`0-9*#A-D`); returns how many did not fit the queue.
    pub fn put(&mut self, digits: &str) -> usize {
        let Ok(c) = CString::new(digits) else {
            return digits.len();
        };
        // SAFETY: the state is live; `c` is NUL-terminated and `len` is its
        // length; SpanDSP copies the digits into its queue.
        let left = unsafe { sys::dtmf_tx_put(self.state.as_ptr(), c.as_ptr(), -1) };
        usize::try_from(left).unwrap_or(digits.len())
    }

    /// Generate audio; the rest of `out` is silence once the queue is empty.
    pub fn tx(&mut self, out: &mut [i16]) {
        // SAFETY: the state is live; `out` has room for `len` samples and
        // SpanDSP writes at most that many.
        let n = unsafe { sys::dtmf_tx(self.state.as_ptr(), out.as_mut_ptr(), out.len() as c_int) };
        let n = (n.max(0) as usize).min(out.len());
        out[n..].fill(0);
    }
}

impl Drop for DtmfTx {
    fn drop(&mut self) {
        // SAFETY: the state came from dtmf_tx_init and is freed exactly once,
        // here.
        unsafe { sys::dtmf_tx_free(self.state.as_ptr()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_mcf_to_the_last_page_confirms_the_document() {
        let frame = |fcf: u8, fif: &[u8]| [&[0xFF, 0x13, fcf][..], fif].concat();
        // Frames in order: (incoming?, FCF, FIF).
        type Frames<'a> = &'a [(bool, u8, &'a [u8])];
        let cases: &[(&str, Frames, bool)] = &[
            (
                "MPS then MCF: more pages follow",
                &[(true, 0x4E, &[]), (false, 0x8C, &[])],
                false,
            ),
            (
                "EOP then MCF",
                &[(true, 0x2E, &[]), (false, 0x8C, &[])],
                true,
            ),
            (
                "EOP with the X bit set then MCF",
                &[(true, 0x2F, &[]), (false, 0x8D, &[])],
                true,
            ),
            (
                "EOP then RTN: page refused",
                &[(true, 0x2E, &[]), (false, 0x4C, &[])],
                false,
            ),
            (
                "PRI-EOP then MCF",
                &[(true, 0x3E, &[]), (false, 0x8C, &[])],
                true,
            ),
            (
                "ECM: PPS-EOP then MCF",
                &[(true, 0xBE, &[0x2E, 0, 0, 0]), (false, 0x8C, &[])],
                true,
            ),
            (
                "ECM: PPS-NULL then MCF: same page goes on",
                &[(true, 0xBE, &[0x00, 0, 0, 0]), (false, 0x8C, &[])],
                false,
            ),
            (
                "ECM: PPS-MPS then MCF",
                &[(true, 0xBE, &[0x4E, 0, 0, 0]), (false, 0x8C, &[])],
                false,
            ),
            (
                "an MCF we received (we are the sender)",
                &[(false, 0x2E, &[]), (true, 0x8C, &[])],
                false,
            ),
        ];
        for (name, frames, confirmed) in cases {
            let mut ev = Events::default();
            for (incoming, fcf, fif) in *frames {
                track_confirmation(&mut ev, *incoming, &frame(*fcf, fif));
            }
            assert_eq!(ev.document_confirmed, *confirmed, "{name}");
        }
    }

    #[test]
    fn an_mcf_for_a_page_not_written_is_withheld() {
        let frame = |fcf: u8| vec![0xFF, 0x13, fcf];
        /// Frames seen: (incoming, FCF).
        type Frames = &'static [(bool, u8)];
        // (page written, frames, withheld, confirmed)
        let cases: &[(bool, Frames, bool, bool)] = &[
            (true, &[(true, 0x2E), (false, 0x8C)], false, true),
            (false, &[(true, 0x2E), (false, 0x8C)], true, false),
            (false, &[(true, 0x4E), (false, 0x8C)], true, false),
            (false, &[(true, 0x2E), (false, 0x4C)], false, false),
        ];
        for (written, frames, withheld, confirmed) in cases {
            let mut ev = Events {
                output_failed: !written,
                ..Events::default()
            };
            for (incoming, fcf) in *frames {
                track_confirmation(&mut ev, *incoming, &frame(*fcf));
            }
            assert_eq!(ev.confirmation_withheld, *withheld, "{frames:?}");
            assert_eq!(ev.document_confirmed, *confirmed, "{frames:?}");
        }
    }

    fn receive_config(dir: &std::path::Path) -> T30Config {
        T30Config {
            calling_party: false,
            ident: CString::new("+1 555 0100").unwrap(),
            header_info: None,
            ecm: true,
            modems: 7,
            compressions: 0x0e,
            resolutions: 0x7,
            keep_partial_pages: true,
            file: FileRole::Receive(CString::new(dir.join("rx.tif").to_str().unwrap()).unwrap()),
        }
    }

    #[test]
    fn terminals_are_created_and_freed_repeatedly() {
        // Catches double frees and leaks of the callback box under a
        // sanitiser or valgrind, and proves phase E reaches Rust.
        let dir = tempfile::tempdir().unwrap();
        for _ in 0..50 {
            let mut a = AudioTerminal::new(&receive_config(dir.path())).unwrap();
            let mut buf = [0i16; 160];
            a.tx(&mut buf);
            a.rx(&buf);
            a.terminate();
            assert!(a.events().phase_e.is_some());
            let mut t = T38Terminal::new(
                &receive_config(dir.path()),
                T38Config {
                    version: 0,
                    max_datagram: 400,
                    fill_bit_removal: false,
                },
            )
            .unwrap();
            t.advance(160);
            t.terminate();
            assert!(t.events().phase_e.is_some());
        }
    }

    #[test]
    fn answering_terminal_sends_ced_tone() {
        // The answering side starts with 2100 Hz CED after ~200 ms of silence.
        let dir = tempfile::tempdir().unwrap();
        let mut a = AudioTerminal::new(&receive_config(dir.path())).unwrap();
        let mut energy = 0f64;
        for _ in 0..50 {
            let mut buf = [0i16; 160];
            a.tx(&mut buf);
            energy += buf.iter().map(|&s| (s as f64).powi(2)).sum::<f64>();
            a.rx(&[0i16; 160]);
        }
        assert!(energy > 1e9, "no CED tone: {energy}");
    }

    #[test]
    fn v22bis_modems_train_on_each_other() {
        for rate in [1200, 2400] {
            let mut ans = V22bisModem::new(rate, false).unwrap();
            let mut cal = V22bisModem::new(rate, true).unwrap();
            let (mut a, mut c) = ([0i16; 160], [0i16; 160]);
            let mut statuses = Vec::new();
            for _ in 0..250 {
                ans.tx(&mut a);
                cal.tx(&mut c);
                ans.rx(&c);
                cal.rx(&a);
                statuses.extend(cal.take_statuses());
            }
            assert!(
                statuses.contains(&sig_status::TRAINING_SUCCEEDED),
                "{rate}: {statuses:?}"
            );
            assert_eq!(cal.current_bit_rate(), rate);
            assert!(cal.bits_received() > u64::from(rate), "{rate}");
        }
        assert!(V22bisModem::new(9600, true).is_err());
    }

    #[test]
    fn connect_tone_generators_make_their_tones() {
        for tone in [
            GeneratedTone::FaxCng,
            GeneratedTone::Ans,
            GeneratedTone::BellAns,
        ] {
            let mut g = ConnectToneTx::new(tone).unwrap();
            let mut energy = 0f64;
            for _ in 0..50 {
                let mut buf = [0i16; 160];
                g.tx(&mut buf);
                energy += buf.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>();
            }
            assert!(energy > 1e9, "{tone:?}: {energy}");
        }
    }

    #[test]
    fn completion_text_comes_from_spandsp() {
        assert!(!completion_code_text(0).is_empty());
        assert!(!completion_code_text(-7).is_empty());
    }
}
