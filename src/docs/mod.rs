//! Fax documents: TIFF-F pages, received TIFF to PDF, and anything to fax pages.
//!
//! A fax page is a bilevel bitmap with a resolution; [`Page`] is the common
//! currency between the renderer, the TIFF reader/writer and the PDF writer.

pub mod pdf;
pub mod render;
pub mod tiff;

pub use pdf::{convert_to_pdf, convert_to_pdf_with, thumbnail_png};
pub use render::pdf_text::pdf_text;
pub use render::{ConvertReport, Paper, RenderOptions, convert_to_fax};

use std::io::Write;
use std::path::{Path, PathBuf};

/// Why a document could not be read, converted or written.
///
/// Every message names the file (or part) at fault, what is wrong with it and
/// what the sender or operator can do about it.
///
/// Errors travel from a document worker process to the daemon as JSON
/// ([`render::worker`]); `Io` never does (a worker reads no files).
#[derive(Debug, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum DocError {
    /// A file could not be read or written.
    #[error("cannot {action} {path}: {source}; check that the path exists and is accessible")]
    #[serde(skip)]
    Io {
        /// What was being done ("read", "write", "rename" …).
        action: String,
        /// The file concerned.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The file claims to be of a known type but its contents are damaged.
    #[error("{what} is damaged: {reason}; ask the sender for a fresh copy")]
    Corrupt {
        /// The file or part concerned.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// The file is valid but uses a feature faxbridge does not handle.
    #[error("{what} cannot be handled: {reason}")]
    Unsupported {
        /// The file or part concerned.
        what: String,
        /// The feature and, where there is one, the way round it.
        reason: String,
    },
    /// The content is none of the accepted types (detected from its first bytes).
    #[error(
        "{what} is not a PDF, PNG, JPEG, GIF, TIFF or plain-text file (the type is read from the content, not the name); convert it to PDF and send it again"
    )]
    UnknownType {
        /// The file concerned.
        what: String,
    },
    /// The PDF is encrypted or password-protected.
    #[error("{what} is encrypted or password-protected; save an unprotected copy and send that")]
    Encrypted {
        /// The file concerned.
        what: String,
    },
    /// The document has no pages.
    #[error("{what} has no pages; there is nothing to fax")]
    NoPages {
        /// The file concerned.
        what: String,
    },
    /// The document has more pages than allowed.
    #[error(
        "{what} has {pages} pages, more than the limit of {max}; split the document or raise max_pages"
    )]
    TooManyPages {
        /// The file (or the whole job) concerned.
        what: String,
        /// Pages found (or counted so far).
        pages: usize,
        /// The configured limit.
        max: usize,
    },
    /// An image is larger than the pixel budget (checked before decoding).
    #[error(
        "{what} is {width}×{height} pixels, more than the limit of {max_pixels} pixels; scale it down before sending"
    )]
    ImageTooLarge {
        /// The file or page concerned.
        what: String,
        /// Declared width in pixels.
        width: u64,
        /// Declared height in pixels.
        height: u64,
        /// The limit.
        max_pixels: u64,
    },
    /// The input file is larger than allowed.
    #[error("{what} is {bytes} bytes, more than the limit of {max} bytes; send a smaller file")]
    InputTooLarge {
        /// The file concerned.
        what: String,
        /// Its size.
        bytes: u64,
        /// The limit.
        max: u64,
    },
    /// No input files were given.
    #[error("no input documents were given; name at least one file to fax")]
    NoInputs,
    /// Rendering took longer than `[documents] render_timeout_secs`: the
    /// document is pathological (e.g. hundreds of thousands of tiny paths)
    /// and was given up rather than hold a worker.
    #[error(
        "{what} took longer than {secs} s to render; simplify it or print it to a new PDF \
         (\"Print to PDF\" flattens most drawings) and send that"
    )]
    RenderTimeout {
        /// The file concerned.
        what: String,
        /// The limit, in seconds.
        secs: u64,
    },
    /// A PDF holds compressed data that decodes to more than
    /// `[documents] max_decompressed_stream_bytes` (one stream or one
    /// page's content) or `max_decompressed_bytes` (the whole document):
    /// found while decoding, before it is held anywhere.
    #[error(
        "{what} holds compressed data that expands to more than {limit}, the limit for {scope}; \
         it cannot be faxed. If it is a real document, print it to a new PDF and send that"
    )]
    DecompressedTooLarge {
        /// The file concerned.
        what: String,
        /// The limit, as people read sizes ("64 MiB").
        limit: String,
        /// What the limit applies to ("one part of a document", "a whole document").
        scope: String,
    },
    /// A PDF page runs more drawing operators than
    /// `[documents] max_operators_per_page` (a form counted at each use).
    #[error(
        "page {page} of {what} has more than {max} drawing operations, the limit for one page; \
         simplify the drawing, or print it to a new PDF and send that"
    )]
    TooManyOperators {
        /// The file concerned.
        what: String,
        /// The page, from 1.
        page: usize,
        /// The limit.
        max: u64,
    },
    /// Rendering the document needed more memory than one document may use
    /// (`[documents] max_document_memory_bytes`, enforced by the kernel on the
    /// worker process that renders it).
    #[error(
        "{what} needs more than {limit} of memory to render, the limit for one document; \
         send it in smaller parts or as a simpler PDF"
    )]
    MemoryLimit {
        /// The file concerned.
        what: String,
        /// The limit, as people read sizes.
        limit: String,
    },
    /// Other documents held the whole memory budget for document work
    /// (`[documents] memory_budget_bytes`) for longer than the render time
    /// limit: a temporary refusal.
    #[error(
        "the fax server is busy rendering other documents and could not start on {what} \
         within {secs} s; try again in a few minutes"
    )]
    Busy {
        /// The file concerned.
        what: String,
        /// How long it waited, in seconds.
        secs: u64,
    },
    /// The renderer or an encoder failed on otherwise acceptable input.
    #[error("could not render {what}: {reason}; try re-saving the document as PDF")]
    Render {
        /// The file or page concerned.
        what: String,
        /// What failed.
        reason: String,
    },
}

impl DocError {
    /// An I/O failure on `path` while doing `action`.
    pub(crate) fn io(action: &'static str, path: &Path, source: std::io::Error) -> DocError {
        DocError::Io {
            action: action.to_string(),
            path: path.to_path_buf(),
            source,
        }
    }

    /// A damaged file or part.
    pub(crate) fn corrupt(what: impl Into<String>, reason: impl Into<String>) -> DocError {
        DocError::Corrupt {
            what: what.into(),
            reason: reason.into(),
        }
    }

    /// A valid file using a feature that is not handled.
    pub(crate) fn unsupported(what: impl Into<String>, reason: impl Into<String>) -> DocError {
        DocError::Unsupported {
            what: what.into(),
            reason: reason.into(),
        }
    }
}

pub use crate::durable::Durability;

/// Write `bytes` to `path` durably ([`crate::durable::write`]).
pub(crate) fn write_durable(path: &Path, bytes: &[u8]) -> Result<(), DocError> {
    write_file(path, bytes, Durability::Durable)
}

/// Write `bytes` to `path` through a temporary file renamed into place,
/// with the fsyncs `durability` asks for.
pub(crate) fn write_file(
    path: &Path,
    bytes: &[u8],
    durability: Durability,
) -> Result<(), DocError> {
    write_file_with(path, durability, |w| w.write_all(bytes))
}

/// [`crate::durable::write_with`], with the error a document error.
pub(crate) fn write_file_with<T>(
    path: &Path,
    durability: Durability,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<T>,
) -> Result<T, DocError> {
    crate::durable::write_with(path, durability, write)
        .map_err(|e| DocError::io(e.action, &e.path, e.source))
}

/// The fax resolutions of ITU-T T.30 / T.4 that faxbridge sends and receives.
///
/// Horizontal 204 dpi is the T.4 "8 pels/mm"; the vertical steps are 3.85, 7.7
/// and 15.4 lines/mm. 300×300 and 400×400 are the inch-based resolutions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Resolution {
    /// 204 × 98 dpi (8 × 3.85 lines/mm).
    Standard,
    /// 204 × 196 dpi (8 × 7.7 lines/mm).
    Fine,
    /// 204 × 391 dpi (8 × 15.4 lines/mm).
    Superfine,
    /// 300 × 300 dpi.
    #[serde(rename = "300x300")]
    R300,
    /// 400 × 400 dpi.
    #[serde(rename = "400x400")]
    R400,
}

impl Resolution {
    /// Every resolution, coarsest first.
    pub const ALL: [Resolution; 5] = [
        Resolution::Standard,
        Resolution::Fine,
        Resolution::Superfine,
        Resolution::R300,
        Resolution::R400,
    ];

    /// Horizontal resolution in dots per inch.
    pub fn x_dpi(self) -> f32 {
        match self {
            Resolution::Standard | Resolution::Fine | Resolution::Superfine => 204.0,
            Resolution::R300 => 300.0,
            Resolution::R400 => 400.0,
        }
    }

    /// Vertical resolution in dots per inch.
    pub fn y_dpi(self) -> f32 {
        match self {
            Resolution::Standard => 98.0,
            Resolution::Fine => 196.0,
            Resolution::Superfine => 391.0,
            Resolution::R300 => 300.0,
            Resolution::R400 => 400.0,
        }
    }

    /// The resolution closest to the given dots per inch, if any is within 1.5 %.
    ///
    /// The tolerance admits metric rounding (80 pels/cm = 203.2 dpi, 38.5
    /// lines/cm = 97.8 dpi) but keeps the inch-based 200×200 apart from fine.
    pub fn from_dpi(x: f32, y: f32) -> Option<Resolution> {
        Resolution::ALL.into_iter().find(|r| {
            (r.x_dpi() - x).abs() / r.x_dpi() < 0.015 && (r.y_dpi() - y).abs() / r.y_dpi() < 0.015
        })
    }

    /// Page width in pixels for an A4/Letter-class page (T.4 Table 1: 215 mm scan line).
    pub fn page_width_px(self) -> u32 {
        match self {
            Resolution::Standard | Resolution::Fine | Resolution::Superfine => 1728,
            Resolution::R300 => 2592,
            Resolution::R400 => 3456,
        }
    }
}

/// One bilevel fax page.
///
/// Rows are packed 1 bit per pixel, most significant bit first, `1` = black,
/// each row padded to a whole byte (`stride = width.div_ceil(8)`).
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// Width in pixels.
    pub width: u32,
    /// Height in rows.
    pub height: u32,
    /// Horizontal resolution in dots per inch.
    pub x_dpi: f32,
    /// Vertical resolution in dots per inch.
    pub y_dpi: f32,
    /// Packed rows, `stride() * height` bytes.
    pub bits: Vec<u8>,
}

impl Page {
    /// A white page of the given size and resolution.
    pub fn blank(width: u32, height: u32, resolution: Resolution) -> Page {
        let stride = width.div_ceil(8) as usize;
        Page {
            width,
            height,
            x_dpi: resolution.x_dpi(),
            y_dpi: resolution.y_dpi(),
            bits: vec![0; stride * height as usize],
        }
    }

    /// Bytes per packed row.
    pub fn stride(&self) -> usize {
        self.width.div_ceil(8) as usize
    }

    /// Whether the pixel at (x, y) is black.
    pub fn get(&self, x: u32, y: u32) -> bool {
        let byte = self.bits[y as usize * self.stride() + (x / 8) as usize];
        byte & (0x80 >> (x % 8)) != 0
    }

    /// Set the pixel at (x, y) black (`true`) or white.
    pub fn set(&mut self, x: u32, y: u32, black: bool) {
        let stride = self.stride();
        let byte = &mut self.bits[y as usize * stride + (x / 8) as usize];
        let mask = 0x80 >> (x % 8);
        if black {
            *byte |= mask;
        } else {
            *byte &= !mask;
        }
    }

    /// The named resolution of this page, if it is one of the fax resolutions.
    pub fn resolution(&self) -> Option<Resolution> {
        Resolution::from_dpi(self.x_dpi, self.y_dpi)
    }

    /// Physical size in PDF points (1/72 inch): (width, height).
    pub fn size_points(&self) -> (f32, f32) {
        (
            self.width as f32 * 72.0 / self.x_dpi,
            self.height as f32 * 72.0 / self.y_dpi,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_durabilities_replace_the_file_whole_and_leave_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.pdf");
        for (d, bytes) in [
            (Durability::Durable, &b"first"[..]),
            (Durability::Atomic, &b"second, longer"[..]),
            (Durability::Atomic, &b"3"[..]),
        ] {
            write_file(&path, bytes, d).unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), bytes, "{d:?}");
            let names: Vec<_> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert_eq!(names, vec![std::ffi::OsString::from("out.pdf")], "{d:?}");
        }
        let missing = dir.path().join("no-such-dir").join("x.pdf");
        assert!(write_file(&missing, b"x", Durability::Atomic).is_err());
        assert!(!missing.exists());
    }

    #[test]
    fn a4_fine_page_is_a4_sized() {
        // 1728 px at 204 dpi = 8.47 in; 2287 rows at 196 dpi = 11.67 in (A4 297 mm).
        let p = Page::blank(1728, 2287, Resolution::Fine);
        let (w, h) = p.size_points();
        assert!((w - 609.9).abs() < 1.0, "{w}");
        assert!((h - 840.1).abs() < 1.0, "{h}");
    }

    #[test]
    fn set_and_get_pixels() {
        let mut p = Page::blank(1728, 10, Resolution::Standard);
        p.set(0, 0, true);
        p.set(1727, 9, true);
        assert!(p.get(0, 0) && p.get(1727, 9) && !p.get(1, 0));
        p.set(0, 0, false);
        assert!(!p.get(0, 0));
    }

    #[test]
    fn resolution_from_dpi() {
        assert_eq!(
            Resolution::from_dpi(204.0, 97.0),
            Some(Resolution::Standard)
        );
        assert_eq!(Resolution::from_dpi(203.0, 196.0), Some(Resolution::Fine));
        assert_eq!(Resolution::from_dpi(200.0, 200.0), None);
    }
}
