//! The text a PDF shows, read for the card-number guard before the
//! document is faxed.
//!
//! Pages are interpreted with hayro's interpreter (the same one that draws
//! them) onto a device that draws nothing and keeps, for every glyph shown,
//! the Unicode text of the glyph (the font's `ToUnicode` map, else the glyph
//! name through the Adobe Glyph List; ISO 32000-1 §9.10). Glyphs arrive
//! with their positions, not with the spaces between words: PDF producers
//! often move the pen (`TJ` offsets, `Td`) instead of showing a space. A
//! gap wider than a digit's advance becomes a space and a move off the
//! baseline a new line, which is all the card-number scanner needs to
//! tell `4111 1111 1111 1111` from a longer run of digits.
//!
//! Text drawn as pictures (scans, outlined type) has no glyphs and is not
//! found: reading it needs OCR, which faxbridge does not have.
//!
//! Reading is bounded: the document must meet the limits of
//! [`super::preflight`] first, at most [`MAX_TEXT_BYTES`] of text are
//! kept, and the caller stops waiting at the deadline. In the daemon the
//! reading runs in a worker process killed at the deadline
//! ([`super::worker`]); elsewhere the thread interpreting a page finishes
//! it (hayro cannot interrupt a page), finds the work given up and exits,
//! its result discarded.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use hayro::hayro_interpret::font::{Glyph, GlyphRun};
use hayro::hayro_interpret::{
    BlendMode, ClipPath, Context, Device, DrawMode, DrawProps, Image, ImageDrawProps,
    InterpreterCache, InterpreterSettings, SoftMask, interpret_page,
};
use hayro::hayro_syntax::Pdf;
use hayro::kurbo::{Affine, BezPath, Point, Rect, Vec2};

use super::RenderOptions;
use super::pdf_in;
use super::preflight::Limits;
use crate::docs::DocError;

/// Text kept per document, in bytes; the rest is not read. A card number
/// hidden after a megabyte of text is still far more text than a fax
/// document normally carries.
pub const MAX_TEXT_BYTES: usize = 1 << 20;

/// A gap between the end of one glyph (its advance) and the start of the
/// next wider than this many ems is a word space (a space glyph is about
/// 0.25–0.28 em; kerning is a few hundredths).
const GAP_EMS: f64 = 0.15;
/// A move across the baseline of more than this many ems is a new line.
const LINE_EMS: f64 = 0.5;
/// The advance assumed when the font does not tell it (a digit's is about
/// 0.55 em).
const DEFAULT_ADVANCE: f64 = 600.0;

/// The device that keeps glyph text.
struct TextDevice {
    out: String,
    /// Where the last glyph ended (its origin plus its advance), its em
    /// size and its baseline direction.
    last: Option<(Point, f64, Vec2)>,
    full: bool,
}

impl TextDevice {
    /// One glyph: `m` maps its glyph space (1000 units to the em, ISO
    /// 32000-1 §9.2.4) to the page; `advance` in glyph units.
    fn push_glyph(&mut self, m: Affine, advance: Option<f64>, text: Option<String>) {
        if self.full {
            return;
        }
        let origin = m * Point::ORIGIN;
        let along = (m * Point::new(1000.0, 0.0)) - origin;
        let up = (m * Point::new(0.0, 1000.0)) - origin;
        let em = up.hypot().max(1e-6);
        let dir = if along.hypot() > 1e-9 {
            along / along.hypot()
        } else {
            Vec2::new(1.0, 0.0)
        };
        if let Some((end, last_em, last_dir)) = self.last {
            let d = origin - end;
            let em = em.max(last_em);
            let forward = d.dot(last_dir);
            let across = d.cross(last_dir).abs();
            if across > LINE_EMS * em {
                self.out.push('\n');
            } else if forward > GAP_EMS * em || forward < -em {
                self.out.push(' ');
            }
        }
        let end = m * Point::new(advance.unwrap_or(DEFAULT_ADVANCE), 0.0);
        self.last = Some((end, em, dir));
        match text {
            Some(t) => self.out.push_str(&t),
            None => self.out.push('\u{FFFD}'),
        }
        if self.out.len() >= MAX_TEXT_BYTES {
            self.full = true;
        }
    }
}

impl<'a> Device<'a> for TextDevice {
    fn draw_path(&mut self, _: &BezPath, _: DrawProps<'a>, _: &DrawMode) {}
    fn push_clip_path(&mut self, _: &ClipPath) {}
    fn push_transparency_group(&mut self, _: f32, _: Option<SoftMask<'a>>, _: BlendMode) {}
    fn draw_glyph_run(&mut self, run: &GlyphRun<'_, 'a>, props: DrawProps<'a>, _: &DrawMode) {
        for g in run.glyphs() {
            let text = g.as_unicode().map(|u| match u {
                hayro::hayro_interpret::hayro_cmap::BfString::Char(c) => c.to_string(),
                hayro::hayro_interpret::hayro_cmap::BfString::String(s) => s,
            });
            let advance = match &**g {
                Glyph::Outline(o) => o.advance_width(),
                Glyph::Type3(t) => t.advance_width(),
            };
            self.push_glyph(
                props.transform * g.transform(),
                advance.map(f64::from),
                text,
            );
        }
    }
    fn draw_image(&mut self, _: Image<'a, '_>, _: ImageDrawProps<'a>) {}
    fn pop_clip(&mut self) {}
    fn pop_transparency_group(&mut self) {}
    fn draw_rect(&mut self, _: &Rect, _: DrawProps<'a>, _: &DrawMode) {}
}

/// The text of every page of a parsed PDF, pages separated by a new line.
fn read_pages(pdf: &Pdf, given_up: &AtomicBool) -> String {
    let mut device = TextDevice {
        out: String::new(),
        last: None,
        full: false,
    };
    let cache = InterpreterCache::new();
    let settings = InterpreterSettings::default();
    for page in pdf.pages().iter() {
        if given_up.load(Ordering::Relaxed) || device.full {
            break;
        }
        let (w, h) = page.render_dimensions();
        let mut ctx = Context::new(
            Affine::IDENTITY,
            Rect::new(0.0, 0.0, f64::from(w), f64::from(h)),
            &cache,
            page.xref(),
            settings.clone(),
        );
        // One page failing to interpret loses that page's text only; the
        // renderer reports a damaged page on its own.
        let _ = catch_unwind(AssertUnwindSafe(|| {
            interpret_page(page, &mut ctx, &mut device)
        }));
        device.out.push('\n');
        device.last = None;
    }
    device.out
}

/// The text shown in a PDF, for scanning, read within the limits of
/// `opts` (in a worker process when `opts` has workers). Gives up with
/// [`DocError::RenderTimeout`] after the document's render time limit;
/// encrypted, unreadable and over-limit files are refused as the renderer
/// refuses them.
pub fn pdf_text(data: &[u8], what: &str, opts: &RenderOptions) -> Result<String, DocError> {
    match &opts.workers {
        Some(w) => w.text(data, what, opts),
        None => pdf_text_here(data, what, &Limits::of(opts), opts.render_timeout),
    }
}

/// [`pdf_text`] in this process.
pub(crate) fn pdf_text_here(
    data: &[u8],
    what: &str,
    limits: &Limits,
    limit: Option<Duration>,
) -> Result<String, DocError> {
    let open = pdf_in::OpenPdf::open(data.to_vec(), what, limits)?;
    let data = open.data();
    let given_up = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel();
    {
        let (given_up, name) = (given_up.clone(), what.to_string());
        std::thread::Builder::new()
            .name("pdf-text".into())
            .spawn(move || {
                let text = match catch_unwind(AssertUnwindSafe(|| Pdf::new(data))) {
                    Ok(Ok(pdf)) => catch_unwind(AssertUnwindSafe(|| read_pages(&pdf, &given_up)))
                        .map_err(|_| DocError::corrupt(&name, "its text cannot be read")),
                    _ => Err(DocError::corrupt(&name, "the PDF structure cannot be read")),
                };
                let _ = tx.send(text);
            })
            .map_err(|e| DocError::Render {
                what: what.to_string(),
                reason: format!("cannot start a thread to read its text ({e})"),
            })?;
    }
    let started = Instant::now();
    let received = match limit {
        None => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
        Some(l) => rx.recv_timeout(l.saturating_sub(started.elapsed())),
    };
    match received {
        Ok(text) => text,
        Err(mpsc::RecvTimeoutError::Timeout) => {
            given_up.store(true, Ordering::Relaxed);
            Err(DocError::RenderTimeout {
                what: what.to_string(),
                secs: limit.map_or(0, |l| l.as_secs_f64().ceil() as u64),
            })
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(DocError::Render {
            what: what.to_string(),
            reason: "the text reader stopped".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_become_spaces_and_baseline_moves_new_lines() {
        let mut d = TextDevice {
            out: String::new(),
            last: None,
            full: false,
        };
        // 12 pt text: the glyph matrix maps 1000 units to 12 pt; digits
        // advance 556 units (6.672 pt).
        let at = |x: f64, y: f64| Affine::new([0.012, 0.0, 0.0, 0.012, x, y]);
        for (i, c) in "4111".chars().enumerate() {
            d.push_glyph(
                at(100.0 + 6.672 * i as f64, 700.0),
                Some(556.0),
                Some(c.to_string()),
            );
        }
        // A TJ offset of -600 instead of a space glyph.
        d.push_glyph(
            at(100.0 + 6.672 * 4.0 + 7.2, 700.0),
            Some(556.0),
            Some("1".into()),
        );
        // Kerning is no space.
        d.push_glyph(
            at(100.0 + 6.672 * 5.0 + 7.2 - 0.3, 700.0),
            Some(556.0),
            Some("2".into()),
        );
        d.push_glyph(at(100.0, 686.0), None, Some("W".into()));
        d.push_glyph(at(100.0 + 7.2, 686.0), None, None);
        assert_eq!(d.out, "4111 12\nW\u{FFFD}");
    }
}
