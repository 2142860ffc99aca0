//! Anything to fax pages: PDF, images and plain text rendered to bilevel
//! 1728-pixel-wide pages at fax resolution, written as TIFF-F for sending.
//!
//! The input type is read from the content's first bytes, never from the file
//! name: a mail attachment's name and MIME type are the sender's claims.
//! Limits (file size, page count, pixel budget) are checked before the
//! expensive work, from headers and page trees, so an oversized or hostile
//! document is refused quickly with a reason the sender can act on. What
//! headers cannot show (a page of a million tiny paths) is caught by the
//! per-document time limit, [`RenderOptions::render_timeout`].
//!
//! Pipeline: source → grey page on the fax grid (`geometry`, `pdf_in`,
//! `image_in`, `text`) → bilevel (`halftone`) → T.6 TIFF-F
//! ([`crate::docs::tiff::write_tiff`]). Plain PDF pages (text and line
//! art in solid colours) are drawn straight onto a grey page (`direct`);
//! others into an RGBA pixmap by hayro's general renderer, which
//! `halftone` reads directly, in one pass for text pages.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::tiff::{Compression, write_tiff};
use super::{DocError, Page, Resolution};

pub(crate) mod direct;
pub(crate) mod filters;
pub(crate) mod geometry;
pub(crate) mod halftone;
pub(crate) mod image_in;
pub(crate) mod operators;
pub(crate) mod pdf_in;
pub mod pdf_text;
pub(crate) mod preflight;
pub(crate) mod text;
pub mod worker;

pub use preflight::Limits;
pub use worker::Workers;

use geometry::Target;
use halftone::binarize;

/// Paper size of rendered fax pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Paper {
    /// ISO A4, 210 × 297 mm.
    #[default]
    A4,
    /// US Letter, 8.5 × 11 in.
    Letter,
}

/// The default of `[documents] render_timeout_secs`: a page of text takes
/// 25–60 ms here and the worst real scans a second or two, so a document
/// still rendering after a minute is pathological.
pub const DEFAULT_RENDER_TIMEOUT: Duration = Duration::from_secs(60);

/// The default of `[documents] max_decompressed_stream_bytes`: a page of
/// text decodes to tens of kilobytes, a 300 dpi A4 colour scan to 26 MB.
pub const DEFAULT_MAX_STREAM_BYTES: u64 = 64 << 20;
/// The default of `[documents] max_decompressed_bytes`.
pub const DEFAULT_MAX_DECOMPRESSED_BYTES: u64 = 256 << 20;
/// The default of `[documents] max_operators_per_page`: a page of dense
/// text runs a few thousand operators, a detailed drawing some hundred
/// thousand.
pub const DEFAULT_MAX_OPERATORS_PER_PAGE: u64 = 1_000_000;

/// Options for [`convert_to_fax`].
#[derive(Debug, Clone, PartialEq)]
pub struct RenderOptions {
    /// Fax resolution of the output (standard or fine for sending).
    pub resolution: Resolution,
    /// Paper size of the output pages.
    pub paper: Paper,
    /// Refuse jobs with more pages than this.
    pub max_pages: usize,
    /// Refuse images with more pixels than this (checked from headers, before decoding).
    pub max_pixels: u64,
    /// Refuse input files larger than this many bytes.
    pub max_input_bytes: u64,
    /// Give up on a PDF or text document (refusing it with
    /// [`DocError::RenderTimeout`]) when rendering it takes longer than
    /// this wall-clock time, counted per document; `None` for no limit.
    /// Images need no clock: their cost is bounded by `max_pixels`.
    pub render_timeout: Option<Duration>,
    /// Refuse a PDF with a stream (or a page's content) that decodes to
    /// more than this many bytes; checked while decoding.
    pub max_decompressed_stream_bytes: u64,
    /// Refuse a PDF whose streams together decode to more than this.
    pub max_decompressed_bytes: u64,
    /// Refuse a PDF with a page running more drawing operators than this
    /// (a form XObject counted each time it is used).
    pub max_operators_per_page: u64,
    /// Render and read PDFs in worker processes held to memory and CPU
    /// limits (the daemon and the commands); `None` does it in this
    /// process, within the same checks but without a kernel's limits.
    pub workers: Option<Arc<Workers>>,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            resolution: Resolution::Fine,
            paper: Paper::A4,
            max_pages: 50,
            max_pixels: 100_000_000,
            max_input_bytes: 25 * 1024 * 1024,
            render_timeout: Some(DEFAULT_RENDER_TIMEOUT),
            max_decompressed_stream_bytes: DEFAULT_MAX_STREAM_BYTES,
            max_decompressed_bytes: DEFAULT_MAX_DECOMPRESSED_BYTES,
            max_operators_per_page: DEFAULT_MAX_OPERATORS_PER_PAGE,
            workers: None,
        }
    }
}

/// What a conversion produced.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvertReport {
    /// Pages written.
    pub pages: usize,
    /// Size of the output file in bytes.
    pub bytes: u64,
    /// Resolution of the output pages, when they all share a fax resolution.
    pub resolution: Option<Resolution>,
    /// Pages carried over without re-encoding (TIFF to PDF only).
    pub passthrough_pages: usize,
}

impl fmt::Display for ConvertReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} page(s), {} bytes", self.pages, self.bytes)?;
        if let Some(r) = self.resolution {
            write!(f, ", {}×{} dpi", r.x_dpi(), r.y_dpi())?;
        }
        Ok(())
    }
}

/// The kinds of input accepted, as recognised from their first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// `%PDF-` within the first 1024 bytes (ISO 32000-1 §7.5.2 allows leading junk).
    Pdf,
    /// PNG signature.
    Png,
    /// JPEG SOI marker followed by another marker.
    Jpeg,
    /// `GIF87a` / `GIF89a`.
    Gif,
    /// TIFF byte-order mark and version 42.
    Tiff,
    /// UTF-8 or ISO 8859-1 text without binary control characters.
    Text,
}

/// Recognise the input type from the content (magic bytes), not the name.
pub fn detect(data: &[u8]) -> Option<InputKind> {
    let head = &data[..data.len().min(1024)];
    if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(InputKind::Png)
    } else if data.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(InputKind::Jpeg)
    } else if data.starts_with(b"GIF87a") || data.starts_with(b"GIF89a") {
        Some(InputKind::Gif)
    } else if data.starts_with(b"II*\0") || data.starts_with(b"MM\0*") {
        Some(InputKind::Tiff)
    } else if head.windows(5).any(|w| w == b"%PDF-") {
        Some(InputKind::Pdf)
    } else if text::looks_like_text(data) {
        Some(InputKind::Text)
    } else {
        None
    }
}

/// Read a whole input file, refusing it when over the byte limit.
fn read_limited(path: &Path, max: u64) -> Result<Vec<u8>, DocError> {
    let what = path.display().to_string();
    let f = std::fs::File::open(path).map_err(|e| DocError::io("open", path, e))?;
    let len = f
        .metadata()
        .map_err(|e| DocError::io("inspect", path, e))?
        .len();
    if len > max {
        return Err(DocError::InputTooLarge {
            what,
            bytes: len,
            max,
        });
    }
    let mut data = Vec::with_capacity(len as usize);
    // `take` guards against a file that grows while it is read.
    f.take(max.saturating_add(1))
        .read_to_end(&mut data)
        .map_err(|e| DocError::io("read", path, e))?;
    if data.len() as u64 > max {
        return Err(DocError::InputTooLarge {
            what,
            bytes: data.len() as u64,
            max,
        });
    }
    Ok(data)
}

/// Render one document's bytes into grey fax pages.
///
/// `pages_so_far` counts pages of earlier documents of the same job, for the
/// job-wide `max_pages` limit.
pub(crate) fn render_bytes(
    data: Vec<u8>,
    what: &str,
    opts: &RenderOptions,
    pages_so_far: usize,
) -> Result<Vec<Page>, DocError> {
    let target = Target::new(opts.paper, opts.resolution);
    let room = opts.max_pages.saturating_sub(pages_so_far);
    let too_many = |pages: usize| DocError::TooManyPages {
        what: what.into(),
        pages: pages_so_far + pages,
        max: opts.max_pages,
    };
    if data.is_empty() {
        return Err(DocError::NoPages { what: what.into() });
    }
    let kind = detect(&data).ok_or_else(|| DocError::UnknownType { what: what.into() })?;
    // The time budget is per document, from the moment its bytes are in.
    let limit = opts
        .render_timeout
        .map(|t| pdf_in::Deadline::new(Instant::now() + t, t));
    let limits = Limits::of(opts);
    match kind {
        // A PDF from outside: in a worker process when there are workers.
        InputKind::Pdf => match &opts.workers {
            Some(w) => w.render(&data, what, opts, room, pages_so_far),
            None => render_pdf_here(
                data,
                what,
                &target,
                room,
                pages_so_far,
                opts.max_pages,
                &limits,
                limit,
            ),
        },
        // Our own PDF of the text: here.
        InputKind::Text => {
            let (pdf, n) = text::text_to_pdf(&text::decode(&data), opts.paper);
            if n > room {
                return Err(too_many(n));
            }
            render_pdf_here(
                pdf,
                what,
                &target,
                room,
                pages_so_far,
                opts.max_pages,
                &limits,
                limit,
            )
        }
        InputKind::Png | InputKind::Jpeg | InputKind::Gif | InputKind::Tiff => {
            let pages = image_in::render(&data, opts.max_pixels, room, &target, what)?;
            if pages.len() > room {
                return Err(too_many(pages.len()));
            }
            Ok(pages.iter().map(binarize).collect())
        }
    }
}

/// Check and render a PDF in this process (in a worker, or where there
/// are no workers).
#[allow(clippy::too_many_arguments)]
pub(crate) fn render_pdf_here(
    data: Vec<u8>,
    what: &str,
    target: &Target,
    room: usize,
    pages_so_far: usize,
    max: usize,
    limits: &Limits,
    deadline: Option<pdf_in::Deadline>,
) -> Result<Vec<Page>, DocError> {
    let pdf = pdf_in::OpenPdf::open(data, what, limits)?;
    let n = pdf.page_count();
    if n == 0 {
        return Err(DocError::NoPages { what: what.into() });
    }
    if n > room {
        return Err(DocError::TooManyPages {
            what: what.into(),
            pages: pages_so_far + n,
            max,
        });
    }
    pdf.render(target, deadline)
}

/// Render documents into bilevel fax pages (in memory).
pub fn render_to_pages(inputs: &[PathBuf], opts: &RenderOptions) -> Result<Vec<Page>, DocError> {
    if inputs.is_empty() {
        return Err(DocError::NoInputs);
    }
    let mut pages = Vec::new();
    for input in inputs {
        let what = input.display().to_string();
        let data = read_limited(input, opts.max_input_bytes)?;
        let rendered = render_bytes(data, &what, opts, pages.len())?;
        pages.extend(rendered);
    }
    Ok(pages)
}

/// Convert documents (PDF, PNG, JPEG, GIF, TIFF, plain text) into one TIFF-F
/// fax file of 1728-pixel-wide T.6 pages at the chosen paper size and
/// resolution. Pages follow the inputs in order. Nothing is written unless
/// every input converts.
pub fn convert_to_fax(
    inputs: &[PathBuf],
    output: &Path,
    opts: &RenderOptions,
) -> Result<ConvertReport, DocError> {
    let pages = render_to_pages(inputs, opts)?;
    write_tiff(output, &pages, Compression::Group4)?;
    let bytes = std::fs::metadata(output).map(|m| m.len()).unwrap_or(0);
    Ok(ConvertReport {
        pages: pages.len(),
        bytes,
        resolution: Some(opts.resolution),
        passthrough_pages: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_uses_content_not_names() {
        assert_eq!(detect(b"%PDF-1.7\n"), Some(InputKind::Pdf));
        assert_eq!(detect(b"junk\n%PDF-1.4\n"), Some(InputKind::Pdf));
        assert_eq!(detect(b"\x89PNG\r\n\x1a\n...."), Some(InputKind::Png));
        assert_eq!(detect(&[0xFF, 0xD8, 0xFF, 0xE0]), Some(InputKind::Jpeg));
        assert_eq!(detect(b"GIF89a...."), Some(InputKind::Gif));
        assert_eq!(detect(b"MM\0*\0\0\0\x08"), Some(InputKind::Tiff));
        assert_eq!(detect(b"Dear sir,\n"), Some(InputKind::Text));
        assert_eq!(detect(b"PK\x03\x04\x00\x00"), None);
    }

    fn opts() -> RenderOptions {
        RenderOptions::default()
    }

    #[test]
    fn text_renders_to_full_width_pages_with_ink() {
        let text: String = (0..100)
            .map(|i| format!("Line {i}: The quick brown fox jumps.\n"))
            .collect();
        let pages = render_bytes(text.into_bytes(), "memo.txt", &opts(), 0).unwrap();
        assert_eq!(pages.len(), 2);
        let p = &pages[0];
        assert_eq!((p.width, p.height), (1728, 2292));
        let black = p
            .bits
            .iter()
            .map(|b| b.count_ones() as usize)
            .sum::<usize>();
        assert!(black > 10_000, "text page nearly blank: {black}");
    }

    #[test]
    fn empty_and_unknown_inputs_are_refused() {
        assert!(matches!(
            render_bytes(Vec::new(), "x", &opts(), 0),
            Err(DocError::NoPages { .. })
        ));
        assert!(matches!(
            render_bytes(vec![0, 1, 2, 3, 0xfe], "x", &opts(), 0),
            Err(DocError::UnknownType { .. })
        ));
    }

    #[test]
    fn page_limit_counts_across_inputs() {
        let o = RenderOptions {
            max_pages: 3,
            ..opts()
        };
        let text: String = (0..200).map(|i| format!("{i}\n")).collect();
        let err = render_bytes(text.into_bytes(), "long.txt", &o, 1).unwrap_err();
        assert!(
            matches!(
                err,
                DocError::TooManyPages {
                    pages: 5,
                    max: 3,
                    ..
                }
            ),
            "{err}"
        );
    }
}
