//! PDF pages to bilevel fax pages with hayro, a pure-Rust rasteriser.
//!
//! Each page is drawn straight onto the fax grid with a non-uniform scale
//! (204 dpi across, 98/196/391 lines per inch down), turned 90° first when it
//! is landscape, so nothing is resampled twice. A plain page (text and line
//! art in solid colours) is drawn by [`super::direct`] onto a grey page;
//! a page that needs more (images, shadings, masks) by hayro's general
//! renderer. hayro runs inside
//! `catch_unwind`: a malformed file must end as a refused document, never as a
//! crashed daemon.
//!
//! Before anything is drawn, the document is checked against the limits of
//! [`super::preflight`] (decoded sizes, operators per page, image sizes).
//!
//! Rendering runs on threads of its own with a [`Deadline`]: a pathological
//! page (hundreds of thousands of tiny paths, a huge shading) can take
//! minutes. Workers look at the deadline between pages; hayro offers no way
//! to interrupt a page it is drawing, so when the deadline passes during a
//! page the caller stops waiting at once and refuses the document. In the
//! daemon all this happens in a worker process ([`super::worker`]), which
//! is killed at the deadline, threads and all; where there is no worker
//! process the thread drawing that page finishes it, finds the document
//! given up and exits, its result discarded.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use hayro::hayro_interpret::util::{RectExt, TransformExt};
use hayro::hayro_interpret::{Context, InterpreterCache, InterpreterSettings, interpret_page};
use hayro::hayro_syntax::{LoadPdfError, Pdf};
use hayro::kurbo::{Affine, Rect};
use hayro::vello_cpu::color::palette::css::WHITE;
use hayro::vello_cpu::{Pixmap, RasterizerSettings, RenderContext, Resources, TargetInit};
use hayro::{RenderCache, RenderSettings, render_into};

use super::direct::{DirectCache, GreyDevice, IRect};
use super::geometry::Target;
use super::halftone::{GreyPage, RgbaSource, binarize, binarize_source};
use super::preflight::{self, Limits};
use crate::docs::{DocError, Page};

/// When rendering of one document must be given up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Deadline {
    at: Instant,
    limit: Duration,
}

impl Deadline {
    /// Give up at `at`; `limit` is the configured budget, for the message.
    pub(crate) fn new(at: Instant, limit: Duration) -> Deadline {
        Deadline { at, limit }
    }

    fn error(&self, what: &str) -> DocError {
        DocError::RenderTimeout {
            what: what.to_string(),
            secs: self.limit.as_secs_f64().ceil() as u64,
        }
    }
}

/// Render threads running now, in all documents: after a document is given
/// up its threads run on until their page is drawn, and the log says how
/// many are still busy.
static RENDER_THREADS: AtomicUsize = AtomicUsize::new(0);

/// Counts one running render thread in [`RENDER_THREADS`] while it lives.
struct Running;

impl Running {
    fn start() -> Running {
        RENDER_THREADS.fetch_add(1, Ordering::Relaxed);
        Running
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        RENDER_THREADS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// An opened PDF, checked for encryption and page count.
pub(crate) struct OpenPdf {
    data: Arc<Vec<u8>>,
    pages: usize,
    what: String,
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "the renderer failed".to_string())
}

/// Whether the file declares encryption: an `/Encrypt` key (ISO 32000-1
/// §7.6.1) in a trailer or cross-reference stream dictionary, both of which are
/// stored uncompressed. `/EncryptMetadata` and the like do not count.
fn declares_encryption(data: &[u8]) -> bool {
    data.windows(9).any(|w| {
        &w[..8] == b"/Encrypt" && matches!(w[8], b' ' | b'\r' | b'\n' | b'\t' | b'<' | b'/')
    })
}

/// Whether `%%EOF` (ISO 32000-1 §7.5.5) appears in the last 1024 bytes, the
/// window Acrobat allows for trailing bytes after the marker.
pub(crate) fn ends_with_eof_marker(data: &[u8]) -> bool {
    let tail = &data[data.len().saturating_sub(1024)..];
    tail.windows(5).any(|w| w == b"%%EOF")
}

/// The refusal for a document the renderer panicked on: the panic's own
/// text is the library's business and goes to the log, not to the sender.
pub(crate) fn renderer_failed(what: &str, part: &str, p: &(dyn std::any::Any + Send)) -> DocError {
    tracing::warn!(document = %what, part, reason = %panic_text(p), "the PDF renderer failed");
    DocError::corrupt(what, "the PDF renderer cannot read it")
}

/// Parse a PDF under `catch_unwind`.
fn parse(data: &Arc<Vec<u8>>, what: &str) -> Result<Pdf, DocError> {
    match catch_unwind(AssertUnwindSafe(|| Pdf::new(data.clone()))) {
        Ok(Ok(pdf)) => Ok(pdf),
        Ok(Err(LoadPdfError::Decryption(_))) => Err(DocError::Encrypted { what: what.into() }),
        Ok(Err(LoadPdfError::Invalid)) => {
            Err(DocError::corrupt(what, "the PDF structure cannot be read"))
        }
        Err(p) => Err(renderer_failed(what, "structure", p.as_ref())),
    }
}

/// Rendering state reused from page to page within one worker.
struct Worker<'a> {
    /// Interpreter and glyph caches of the direct grey renderer.
    interpreter: InterpreterCache<'a>,
    direct: DirectCache,
    /// The grey page the direct renderer draws on (4 MB at fine A4).
    grey: Vec<u8>,
    cache: RenderCache<'a>,
    settings: InterpreterSettings,
    render_settings: RenderSettings,
    /// The general renderer's canvas, taken when a page first needs it.
    canvas: Option<Canvas>,
    resources: Resources,
}

/// A drawing context and its page-sized RGBA pixmap (16 MB at fine A4),
/// kept for the next document: allocating and first touching that much
/// memory costs about as much as drawing a page of text.
struct Canvas {
    ctx: RenderContext,
    pixmap: Pixmap,
}

/// Canvases left by finished documents.
static SPARE_CANVASES: Mutex<Vec<Canvas>> = Mutex::new(Vec::new());
/// Grey pages of the direct renderer left by finished documents.
static SPARE_GREY: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());
/// At most this many spare canvases of each kind are kept (one per core of
/// a small box).
const MAX_SPARE_CANVASES: usize = 2;

impl Canvas {
    /// A spare canvas of the right size, or a new one.
    fn take(w: u16, h: u16) -> Canvas {
        let spare = SPARE_CANVASES.lock().ok().and_then(|mut spare| {
            let i = spare
                .iter()
                .position(|c| c.pixmap.width() == w && c.pixmap.height() == h)?;
            Some(spare.swap_remove(i))
        });
        spare.unwrap_or_else(|| Canvas {
            ctx: RenderContext::new(w, h),
            pixmap: Pixmap::new(w, h),
        })
    }

    /// Keep this canvas for a later document, if there is room.
    fn give_back(self) {
        if let Ok(mut spare) = SPARE_CANVASES.lock()
            && spare.len() < MAX_SPARE_CANVASES
        {
            spare.push(self);
        }
    }
}

impl Worker<'_> {
    fn new() -> Self {
        // A grey page left by an earlier document: allocating and first
        // touching 4 MB costs more than drawing a page of text directly.
        let grey = SPARE_GREY
            .lock()
            .ok()
            .and_then(|mut spare| spare.pop())
            .unwrap_or_default();
        Worker {
            interpreter: InterpreterCache::new(),
            direct: DirectCache::default(),
            grey,
            cache: RenderCache::new(),
            settings: InterpreterSettings::default(),
            render_settings: RenderSettings::default(),
            canvas: None,
            resources: Resources::default(),
        }
    }

    /// Hand the canvas back for the next document.
    fn finish(self) {
        if let Some(canvas) = self.canvas {
            canvas.give_back();
        }
        if let Ok(mut spare) = SPARE_GREY.lock()
            && spare.len() < MAX_SPARE_CANVASES
            && self.grey.capacity() > 0
        {
            spare.push(self.grey);
        }
    }
}

/// The transform from a page's user space to the fax grid.
fn page_transform(page: &hayro::hayro_syntax::page::Page<'_>, target: &Target) -> Affine {
    let (pw, ph) = page.render_dimensions();
    let (pw, ph) = (f64::from(pw), f64::from(ph));
    // Points to inches, then placed on the page grid.
    let place = target.place(pw / 72.0, ph / 72.0);
    let sx = place.scale / 72.0 * f64::from(target.x_dpi);
    let sy = place.scale / 72.0 * f64::from(target.y_dpi);
    // Landscape: (x, y) → (ph − y, x), a quarter turn clockwise.
    let rot = if place.rotate {
        Affine::new([0.0, 1.0, -1.0, 0.0, ph, 0.0])
    } else {
        Affine::IDENTITY
    };
    Affine::translate((f64::from(place.x), f64::from(place.y)))
        * Affine::scale_non_uniform(sx, sy)
        * rot
        * page.initial_transform(true).to_kurbo()
}

/// Draw one page onto the fax grid and make it bilevel: directly when the
/// page is plain, else with the general renderer.
fn render_page<'a>(
    worker: &mut Worker<'a>,
    page: &'a hayro::hayro_syntax::page::Page<'a>,
    target: &Target,
) -> Page {
    let transform = page_transform(page, target);
    match catch_unwind(AssertUnwindSafe(|| {
        render_direct(worker, page, target, transform)
    })) {
        Ok(Some(bits)) => return bits,
        Ok(None) => {}
        Err(p) => {
            tracing::warn!(
                reason = %panic_text(p.as_ref()),
                "direct page renderer failed; drawing the page with the general renderer"
            );
            worker.direct = DirectCache::default();
        }
    }
    render_general(worker, page, target, transform)
}

/// Draw a page with hayro's general renderer (vello) into the RGBA canvas
/// and make it bilevel.
fn render_general<'a>(
    worker: &mut Worker<'a>,
    page: &'a hayro::hayro_syntax::page::Page<'a>,
    target: &Target,
    transform: Affine,
) -> Page {
    let (width, height) = (target.width_px as u16, target.height_px as u16);
    let w = &mut *worker;
    let canvas = w.canvas.get_or_insert_with(|| Canvas::take(width, height));
    canvas.ctx.reset_and_resize(width, height);
    render_into(
        page,
        &w.cache,
        &w.settings,
        &w.render_settings,
        &mut canvas.ctx,
        transform,
    );
    canvas.ctx.flush();
    canvas.ctx.render_with(
        &mut canvas.pixmap,
        &mut w.resources,
        RasterizerSettings {
            target_init: TargetInit::Clear(WHITE),
            ..Default::default()
        },
    );
    // Premultiplied over an opaque white background: alpha is 255, so the
    // channels are the colour; grey is taken straight from the pixmap.
    let src = RgbaSource {
        data: canvas.pixmap.data_as_u8_slice(),
        width: target.width_px as usize,
        height: target.height_px as usize,
    };
    binarize_source(&src, target.x_dpi, target.y_dpi)
}

/// Draw a plain page (text and line art in solid colours, rectangular
/// clips) straight onto a grey page and make it bilevel; `None` when the
/// page needs the general renderer (see [`super::direct`]).
fn render_direct<'a>(
    worker: &mut Worker<'a>,
    page: &'a hayro::hayro_syntax::page::Page<'a>,
    target: &Target,
    transform: Affine,
) -> Option<Page> {
    let (w, h) = (target.width_px as usize, target.height_px as usize);
    worker.grey.clear();
    worker.grey.resize(w * h, 255);
    let mut ctx = Context::new(
        transform,
        Rect::new(0.0, 0.0, w as f64, h as f64),
        &worker.interpreter,
        page.xref(),
        worker.settings.clone(),
    );
    let crop = transform.transform_rect_bbox(page.intersected_crop_box().to_kurbo());
    let mut device = GreyDevice::new(
        &mut worker.grey,
        w,
        IRect::rounded(crop),
        &mut worker.direct,
    );
    interpret_page(page, &mut ctx, &mut device);
    if let Some(why) = device.gave_up() {
        tracing::trace!(why, "page drawn by the general renderer");
        return None;
    }
    let grey = GreyPage {
        width: w as u32,
        height: h as u32,
        x_dpi: target.x_dpi,
        y_dpi: target.y_dpi,
        data: std::mem::take(&mut worker.grey),
    };
    let bits = binarize(&grey);
    worker.grey = grey.data;
    Some(bits)
}

/// Render pages of `pdf`, each time taking the next page nobody has taken
/// from `next`, so workers stay busy until the last page whatever each page
/// costs (a page of images can take ten times a page of text).
///
/// Each page is sent to `out` as soon as it is drawn. The worker stops when
/// `given_up` is set (the caller's deadline passed or a page failed) or the
/// caller stopped listening.
fn render_share(
    pdf: &Pdf,
    target: &Target,
    next: &AtomicUsize,
    given_up: &AtomicBool,
    what: &str,
    out: &mpsc::Sender<(usize, Result<Page, DocError>)>,
) {
    let pages = match catch_unwind(AssertUnwindSafe(|| pdf.pages())) {
        Ok(p) => p,
        Err(p) => {
            let first = next.fetch_add(1, Ordering::Relaxed);
            let _ = out.send((first, Err(renderer_failed(what, "page tree", p.as_ref()))));
            return;
        }
    };
    let mut worker = Worker::new();
    while !given_up.load(Ordering::Relaxed) {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= pages.len() {
            break;
        }
        let result = catch_unwind(AssertUnwindSafe(|| {
            render_page(&mut worker, &pages[i], target)
        }));
        let sent = match result {
            Ok(p) => out.send((i, Ok(p))),
            Err(p) => {
                // The worker's state may be inconsistent after a panic.
                worker = Worker::new();
                let _ = renderer_failed(what, &format!("page {}", i + 1), p.as_ref());
                out.send((
                    i,
                    Err(DocError::Render {
                        what: format!("page {} of {what}", i + 1),
                        reason: "the PDF renderer failed on this page".into(),
                    }),
                ))
            }
        };
        if sent.is_err() {
            break;
        }
    }
    worker.finish();
}

impl OpenPdf {
    /// Parse a PDF and check it against `limits` ([`preflight`]).
    /// Password-protected and encrypted files are refused.
    pub fn open(data: Vec<u8>, what: &str, limits: &Limits) -> Result<OpenPdf, DocError> {
        // Fax is a copy the recipient keeps: an encrypted document's
        // protection cannot travel with it, so any encryption is refused
        // rather than silently stripped.
        if declares_encryption(&data) {
            return Err(DocError::Encrypted { what: what.into() });
        }
        if !ends_with_eof_marker(&data) {
            // A reader that repairs such a file renders what it finds (often
            // a blank page): a fax of half a document is worse than none.
            return Err(DocError::corrupt(
                what,
                "the file ends before the PDF's end-of-file marker (%%EOF): it was probably \
                 cut off in transfer; send the complete file",
            ));
        }
        // Streams the parser decodes while it opens the file first.
        preflight::check_raw(&data, what, limits)?;
        let data = Arc::new(data);
        let pdf = parse(&data, what)?;
        match catch_unwind(AssertUnwindSafe(|| preflight::check(&pdf, what, limits))) {
            Ok(checked) => checked?,
            Err(p) => return Err(renderer_failed(what, "limits check", p.as_ref())),
        }
        let pages = catch_unwind(AssertUnwindSafe(|| pdf.pages().len())).unwrap_or(0);
        Ok(OpenPdf {
            data,
            pages,
            what: what.to_string(),
        })
    }

    /// The file's bytes, shared.
    pub(crate) fn data(&self) -> Arc<Vec<u8>> {
        self.data.clone()
    }

    /// Number of pages.
    pub fn page_count(&self) -> usize {
        self.pages
    }

    /// Render every page onto the fax grid as bilevel pages, giving up
    /// with [`DocError::RenderTimeout`] at `deadline`.
    ///
    /// Pages are shared between up to one worker thread per CPU (at most
    /// 4), each taking the next unrendered page when it is free, and each
    /// with its own parse of the file, since the parsed document is not
    /// shareable between threads. This thread only waits for the pages, so
    /// it can stop waiting when the deadline passes even while a page is
    /// being drawn.
    pub fn render(
        &self,
        target: &Target,
        deadline: Option<Deadline>,
    ) -> Result<Vec<Page>, DocError> {
        let n = self.pages;
        let cpus = std::thread::available_parallelism().map_or(1, |c| c.get());
        let workers = cpus.min(4).min(n).max(1);
        let next = Arc::new(AtomicUsize::new(0));
        let given_up = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        for t in 0..workers {
            let (data, what, target) = (self.data.clone(), self.what.clone(), *target);
            let (next, flag, tx) = (next.clone(), given_up.clone(), tx.clone());
            let spawned = std::thread::Builder::new()
                .name("pdf-render".into())
                .spawn(move || {
                    let _running = Running::start();
                    match parse(&data, &what) {
                        Ok(pdf) => render_share(&pdf, &target, &next, &flag, &what, &tx),
                        Err(e) => {
                            let _ = tx.send((t, Err(e)));
                        }
                    }
                });
            if let Err(e) = spawned {
                given_up.store(true, Ordering::Relaxed);
                tracing::error!(document = %self.what, "cannot start a render thread: {e}");
                return Err(DocError::Render {
                    what: self.what.clone(),
                    reason: "the fax server could not start rendering it".into(),
                });
            }
        }
        drop(tx);
        let mut pages: Vec<Option<Page>> = (0..n).map(|_| None).collect();
        let mut got = 0;
        let give_up = |e: DocError| {
            given_up.store(true, Ordering::Relaxed);
            Err(e)
        };
        while got < n {
            let received = match deadline {
                None => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
                Some(d) => rx.recv_timeout(d.at.saturating_duration_since(Instant::now())),
            };
            match received {
                Ok((i, Ok(page))) => {
                    if let Some(slot) = pages.get_mut(i)
                        && slot.is_none()
                    {
                        *slot = Some(page);
                        got += 1;
                    }
                }
                Ok((_, Err(e))) => return give_up(e),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let busy = RENDER_THREADS.load(Ordering::Relaxed);
                    tracing::warn!(
                        document = %self.what, pages_done = got, pages = n, busy,
                        "PDF rendering given up at its time limit; the page being drawn \
                         finishes in the background and is discarded"
                    );
                    return give_up(deadline.map_or_else(
                        || DocError::Render {
                            what: self.what.clone(),
                            reason: "the renderer stopped".into(),
                        },
                        |d| d.error(&self.what),
                    ));
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        if got != n {
            return Err(DocError::Render {
                what: self.what.clone(),
                reason: format!("{got} of {n} pages came out of the renderer"),
            });
        }
        Ok(pages.into_iter().flatten().collect())
    }
}

/// Every page of a PDF drawn by the direct renderer (`None` where it gave
/// up) and by the general renderer, for comparing the two.
#[cfg(test)]
pub(crate) fn render_both_ways(data: Vec<u8>, target: &Target) -> Vec<(Option<Page>, Page)> {
    let data = Arc::new(data);
    let pdf = parse(&data, "test.pdf").expect("test PDF parses");
    let pages = pdf.pages();
    let mut worker = Worker::new();
    let mut out = Vec::new();
    for page in pages.iter() {
        let t = page_transform(page, target);
        let direct = render_direct(&mut worker, page, target, t);
        let general = render_general(&mut worker, page, target, t);
        out.push((direct, general));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docs::Page;

    fn limits() -> Limits {
        Limits::of(&crate::docs::RenderOptions::default())
    }

    fn two_page_pdf() -> Vec<u8> {
        let mut pages = vec![Page::blank(1728, 2200, crate::docs::Resolution::Fine); 2];
        for p in &mut pages {
            for y in 100..900 {
                for x in 100..1600 {
                    p.set(x, y, (x / 7 + y / 5) % 3 == 0);
                }
            }
        }
        crate::docs::pdf::pages_to_pdf_bytes(&pages)
    }

    #[test]
    fn a_pdf_cut_off_in_transfer_is_refused() {
        let pdf = two_page_pdf();
        assert_eq!(
            OpenPdf::open(pdf.clone(), "whole.pdf", &limits())
                .unwrap()
                .page_count(),
            2
        );
        let cut = pdf[..pdf.len() / 3].to_vec();
        let err = OpenPdf::open(cut, "cut.pdf", &limits())
            .err()
            .expect("refused");
        let text = err.to_string();
        assert!(text.contains("cut.pdf") && text.contains("%%EOF"), "{text}");
    }

    #[test]
    fn cut_off_pdfs_are_recognised() {
        let mut pdf = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n".to_vec();
        pdf.extend_from_slice(&[b' '; 3000]);
        assert!(!ends_with_eof_marker(&pdf));
        pdf.extend_from_slice(b"trailer\n<<>>\nstartxref\n9\n%%EOF\n");
        assert!(ends_with_eof_marker(&pdf));
        pdf.extend_from_slice(&[b'\0'; 500]);
        assert!(ends_with_eof_marker(&pdf), "junk after %%EOF is tolerated");
        pdf.extend_from_slice(&[b'\0'; 600]);
        assert!(!ends_with_eof_marker(&pdf));
        assert!(!ends_with_eof_marker(b""));
    }

    #[test]
    fn trailing_bytes_after_the_marker_are_accepted() {
        let mut pdf = two_page_pdf();
        pdf.extend_from_slice(&[b' '; 600]);
        assert!(OpenPdf::open(pdf, "padded.pdf", &limits()).is_ok());
    }
}
