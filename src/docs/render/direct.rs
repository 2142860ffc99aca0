//! Plain PDF pages drawn straight onto a grey fax page.
//!
//! Most documents people fax are pages of text and line art: glyphs, paths
//! and rectangles in solid colours, clipped by rectangles. This device
//! draws such a page, as hayro's interpreter reads it, directly onto an
//! 8-bit grey page at fax resolution: a quarter of the bytes of the RGBA
//! pixmap the general renderer composes, and no layers. Edges get exact
//! area coverage (signed-area accumulation, the method of font
//! rasterisers), so the thresholding that follows sees the same edges the
//! general renderer would give it.
//!
//! Anything else (images, patterns and shadings, soft masks, blend modes,
//! group opacity, clips that are not rectangles, Type 3 glyphs, stroked
//! text) makes the device give up on the page, which is then drawn by
//! hayro's general renderer (vello). Giving up costs the interpretation
//! done so far, never a wrong page.

use rustc_hash::FxHashMap;
use std::rc::Rc;

use hayro::hayro_interpret::font::{Glyph, GlyphRun, HintingCache};
use hayro::hayro_interpret::hayro_cmap::WritingMode;
use hayro::hayro_interpret::{
    BlendMode, ClipPath, Device, DrawMode, DrawProps, FillRule, Image, ImageDrawProps, Paint,
    SoftMask, StrokeProps,
};
use hayro::kurbo::{self, Affine, BezPath, PathEl, Point, Rect, Shape};

use super::halftone::luma;

/// Flattening tolerance for curves, in device pixels.
const TOLERANCE: f64 = 0.1;
/// Rows accumulated at a time (keeps the accumulation buffer small
/// whatever the size of the path).
const BAND: usize = 32;
/// Glyphs larger than this (pixels, either way) are drawn as paths each
/// time instead of being kept as coverage masks.
const MAX_CACHED_GLYPH: f64 = 128.0;
/// Glyph masks kept per worker; a document using more distinct glyph
/// sizes than this (a hostile one) starts the cache afresh.
const MAX_CACHED_GLYPHS: usize = 50_000;
/// Sub-pixel horizontal positions a cached glyph is drawn at.
const SUBPIXEL_STEPS: f64 = 4.0;
/// Pixels a page may paint, in pages' worth of area, before the device
/// gives up on it: text and line art paint the page about once, while a
/// page of thousands of overlapping page-sized shapes is left to the
/// general renderer, whose sparse strips fill large areas faster.
const PAINT_BUDGET_PAGES: u64 = 12;
/// Hinting applies between these sizes in pixels per em (as in hayro).
const HINTING_PPEM: std::ops::RangeInclusive<f64> = 4.0..=128.0;

/// A rectangle of whole pixels, `x0..x1` × `y0..y1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IRect {
    pub x0: i64,
    pub y0: i64,
    pub x1: i64,
    pub y1: i64,
}

impl IRect {
    fn intersect(self, o: IRect) -> IRect {
        IRect {
            x0: self.x0.max(o.x0),
            y0: self.y0.max(o.y0),
            x1: self.x1.min(o.x1),
            y1: self.y1.min(o.y1),
        }
    }

    fn is_empty(self) -> bool {
        self.x0 >= self.x1 || self.y0 >= self.y1
    }

    /// The pixels a device-space rectangle touches.
    fn around(r: Rect) -> IRect {
        IRect {
            x0: saturate(r.x0.floor()),
            y0: saturate(r.y0.floor()),
            x1: saturate(r.x1.ceil()),
            y1: saturate(r.y1.ceil()),
        }
    }

    /// The pixels whose centres a device-space rectangle covers (how a
    /// rectangular clip is applied to whole pixels).
    pub(crate) fn rounded(r: Rect) -> IRect {
        IRect {
            x0: saturate(r.x0.round()),
            y0: saturate(r.y0.round()),
            x1: saturate(r.x1.round()),
            y1: saturate(r.y1.round()),
        }
    }
}

/// A coordinate as a pixel index, NaN and huge values made harmless.
fn saturate(v: f64) -> i64 {
    if v.is_nan() {
        0
    } else {
        v.clamp(-1e9, 1e9) as i64
    }
}

/// Exact-area coverage of filled paths.
///
/// Each edge adds, to the cells of the rows it crosses, the signed area it
/// sweeps to its right; a running sum along a row then gives each pixel's
/// winding-weighted coverage. Edges are clipped to the box being drawn
/// (parts left of it become vertical edges on its left side, which keeps
/// the winding of the pixels inside).
#[derive(Default)]
pub(crate) struct Raster {
    lines: Vec<[f32; 4]>,
    acc: Vec<f32>,
    row: Vec<u8>,
}

impl Raster {
    /// Cover `path` (device space) within `clip`, calling
    /// `emit(y, x, coverage)` for each row with its covered run of pixels
    /// from column `x` on (coverage 0–255).
    pub(crate) fn fill(
        &mut self,
        path: &BezPath,
        rule: FillRule,
        clip: IRect,
        mut emit: impl FnMut(usize, usize, &[u8]),
    ) {
        let bbox = IRect::around(path.control_box()).intersect(clip);
        if bbox.is_empty() {
            return;
        }
        let (ox, oy) = (bbox.x0 as f64, bbox.y0 as f64);
        let w = (bbox.x1 - bbox.x0) as usize;
        let h = (bbox.y1 - bbox.y0) as usize;
        let wf = w as f32;
        let mut lines = std::mem::take(&mut self.lines);
        lines.clear();
        let local = |p: Point| ((p.x - ox) as f32, (p.y - oy) as f32);
        let mut start: Option<Point> = None;
        let mut last = Point::ZERO;
        kurbo::flatten(path.iter(), TOLERANCE, |el| match el {
            PathEl::MoveTo(p) => {
                // Fills close every subpath (ISO 32000-1 §8.5.3.1).
                if let Some(s) = start
                    && last != s
                {
                    clipped_edge(&mut lines, local(last), local(s), wf);
                }
                start = Some(p);
                last = p;
            }
            PathEl::LineTo(p) => {
                clipped_edge(&mut lines, local(last), local(p), wf);
                last = p;
            }
            PathEl::ClosePath => {
                if let Some(s) = start {
                    if last != s {
                        clipped_edge(&mut lines, local(last), local(s), wf);
                    }
                    last = s;
                }
            }
            // `flatten` gives lines only.
            PathEl::QuadTo(..) | PathEl::CurveTo(..) => {}
        });
        if let Some(s) = start
            && last != s
        {
            clipped_edge(&mut lines, local(last), local(s), wf);
        }
        let stride = w + 2;
        for band in (0..h).step_by(BAND) {
            let rows = BAND.min(h - band);
            let (top, bottom) = (band as f32, (band + rows) as f32);
            self.acc.clear();
            self.acc.resize(stride * rows, 0.0);
            let mut any = false;
            for l in &lines {
                if l[1].max(l[3]) <= top || l[1].min(l[3]) >= bottom {
                    continue;
                }
                any = true;
                accumulate(&mut self.acc, stride, top, rows, l);
            }
            if !any {
                continue;
            }
            for r in 0..rows {
                let acc = &self.acc[r * stride..r * stride + w];
                self.row.clear();
                let mut sum = 0.0f32;
                let (mut first, mut end) = (usize::MAX, 0);
                for (x, &a) in acc.iter().enumerate() {
                    sum += a;
                    let c = coverage(sum, rule);
                    if c != 0 {
                        first = first.min(x);
                        end = x + 1;
                    }
                    self.row.push(c);
                }
                if first < end {
                    emit(
                        bbox.y0 as usize + band + r,
                        bbox.x0 as usize + first,
                        &self.row[first..end],
                    );
                }
            }
        }
        self.lines = lines;
    }
}

/// Coverage 0–255 of an accumulated winding value under a fill rule.
#[inline]
fn coverage(sum: f32, rule: FillRule) -> u8 {
    let a = sum.abs();
    let c = match rule {
        FillRule::NonZero => a.min(1.0),
        FillRule::EvenOdd => {
            let m = a % 2.0;
            if m > 1.0 { 2.0 - m } else { m }
        }
    };
    (c * 255.0 + 0.5) as u8
}

/// Add the edge `a`→`b` (box coordinates), split where it leaves the box
/// sideways, the parts outside moved onto the box's side.
fn clipped_edge(lines: &mut Vec<[f32; 4]>, a: (f32, f32), b: (f32, f32), w: f32) {
    if a.1 == b.1 || !(a.0.is_finite() && a.1.is_finite() && b.0.is_finite() && b.1.is_finite()) {
        return;
    }
    let mut ts = [0.0f32, 1.0, 1.0, 1.0];
    let mut n = 1;
    for side in [0.0, w] {
        if (a.0 - side) * (b.0 - side) < 0.0 {
            ts[n] = (side - a.0) / (b.0 - a.0);
            n += 1;
        }
    }
    if n == 3 && ts[1] > ts[2] {
        ts.swap(1, 2);
    }
    ts[n] = 1.0;
    let at = |t: f32| {
        let x = a.0 + (b.0 - a.0) * t;
        let y = a.1 + (b.1 - a.1) * t;
        (x.clamp(0.0, w), y)
    };
    for i in 0..n {
        let (p, q) = (at(ts[i]), at(ts[i + 1]));
        if p.1 != q.1 {
            lines.push([p.0, p.1, q.0, q.1]);
        }
    }
}

/// Accumulate one edge's signed area into the band of `rows` rows starting
/// at box row `top` (the scheme of font-rs and ab_glyph_rasterizer).
#[inline]
fn accumulate(acc: &mut [f32], stride: usize, top: f32, rows: usize, l: &[f32; 4]) {
    let (mut x0, mut y0, mut x1, mut y1) = (l[0], l[1] - top, l[2], l[3] - top);
    let dir = if y0 < y1 {
        1.0
    } else {
        std::mem::swap(&mut x0, &mut x1);
        std::mem::swap(&mut y0, &mut y1);
        -1.0
    };
    let limit = rows as f32;
    let ys = y0.max(0.0);
    let ye = y1.min(limit);
    if ys >= ye {
        return;
    }
    let dxdy = (x1 - x0) / (y1 - y0);
    let xmax = (stride - 2) as f32;
    let mut x = (x0 + (ys - y0) * dxdy).clamp(0.0, xmax);
    for row in (ys as usize)..(ye.ceil() as usize).min(rows) {
        let dy = ((row + 1) as f32).min(ye) - (row as f32).max(ys);
        let xnext = (x + dxdy * dy).clamp(0.0, xmax);
        let d = dy * dir;
        let (xa, xb) = if x < xnext { (x, xnext) } else { (xnext, x) };
        let base = row * stride;
        let xa_floor = xa.floor();
        let xai = xa_floor as usize;
        let xb_ceil = xb.ceil();
        let xbi = xb_ceil as usize;
        if xbi <= xai + 1 {
            let xmf = 0.5 * (x + xnext) - xa_floor;
            acc[base + xai] += d - d * xmf;
            acc[base + xai + 1] += d * xmf;
        } else {
            let s = (xb - xa).recip();
            let xa_frac = xa - xa_floor;
            let a0 = 0.5 * s * (1.0 - xa_frac) * (1.0 - xa_frac);
            let xb_frac = xb - xb_ceil + 1.0;
            let am = 0.5 * s * xb_frac * xb_frac;
            acc[base + xai] += d * a0;
            if xbi == xai + 2 {
                acc[base + xai + 1] += d * (1.0 - a0 - am);
            } else {
                let a1 = s * (1.5 - xa_frac);
                acc[base + xai + 1] += d * (a1 - a0);
                for cell in &mut acc[base + xai + 2..base + xbi - 1] {
                    *cell += d * s;
                }
                let a2 = a1 + (xbi - xai - 3) as f32 * s;
                acc[base + xbi - 1] += d * (1.0 - a2 - am);
            }
            acc[base + xbi] += d * am;
        }
        x = xnext;
    }
}

/// A glyph's coverage at one size and sub-pixel position, placed relative
/// to the glyph's origin.
pub(crate) struct GlyphMask {
    x: i64,
    y: i64,
    width: usize,
    cover: Vec<u8>,
}

/// What identifies a glyph's mask: the glyph, whether it was hinted, its
/// size and slant, and its sub-pixel position.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct GlyphKey {
    glyph: u128,
    hinted: bool,
    linear: [u64; 4],
    subpixel: u8,
}

/// State kept from page to page by one rendering worker.
#[derive(Default)]
pub(crate) struct DirectCache {
    raster: Raster,
    glyphs: FxHashMap<GlyphKey, Option<Rc<GlyphMask>>>,
    hinting: HintingCache,
}

/// The grey page device. White is 255.
pub(crate) struct GreyDevice<'c> {
    canvas: &'c mut [u8],
    width: usize,
    clips: Vec<IRect>,
    gave_up: Option<&'static str>,
    /// Pixels still to be painted before the page counts as too heavy.
    budget: u64,
    cache: &'c mut DirectCache,
}

/// Rec. 601 luma and alpha of a solid paint, or `None` for other paints.
fn solid(paint: &Paint<'_>) -> Option<(u8, u8)> {
    match paint {
        Paint::Color(c) => {
            let rgba = c.to_rgba().to_rgba8();
            Some((luma(&rgba), rgba[3]))
        }
        Paint::Pattern(_) => None,
    }
}

/// The largest factor by which `t` scales lengths.
fn max_scale(t: Affine) -> f64 {
    let [a, b, c, d, _, _] = t.as_coeffs();
    let s = a * a + b * b + c * c + d * d;
    let det = a * d - b * c;
    ((s + (s * s - 4.0 * det * det).max(0.0).sqrt()) / 2.0).sqrt()
}

/// The rectangle a device-space path outlines, if it is one axis-aligned
/// rectangle (one subpath of four corners).
fn as_rect(path: &BezPath) -> Option<Rect> {
    let mut pts = [Point::ZERO; 5];
    let mut n = 0;
    for (i, el) in path.elements().iter().enumerate() {
        match *el {
            PathEl::MoveTo(p) if i == 0 => {
                pts[0] = p;
                n = 1;
            }
            PathEl::LineTo(p) if n < 5 => {
                pts[n] = p;
                n += 1;
            }
            PathEl::ClosePath if i + 1 == path.elements().len() => {}
            _ => return None,
        }
    }
    if n == 5 && pts[4] == pts[0] {
        n = 4;
    }
    if n != 4 {
        return None;
    }
    let r = Rect::from_points(pts[0], pts[2]);
    let corners = [
        Point::new(r.x0, r.y0),
        Point::new(r.x1, r.y0),
        Point::new(r.x1, r.y1),
        Point::new(r.x0, r.y1),
    ];
    let sides = (0..4).all(|i| {
        let (p, q) = (pts[i], pts[(i + 1) % 4]);
        p.x == q.x || p.y == q.y
    });
    (sides && pts[..4].iter().all(|p| corners.contains(p))).then_some(r)
}

/// Blend a run of coverage onto a canvas row: solid paint of luma `luma`
/// and opacity `alpha` over what is there.
#[inline]
fn paint_run(dst: &mut [u8], cover: &[u8], luma: u8, alpha: u8) {
    // 16-bit lanes (255 · 255 + 127 fits) and no branch on zero coverage
    // (which leaves the pixel as it is), so the loop runs on wide vectors.
    let luma = u16::from(luma);
    if alpha == 255 {
        for (d, &c) in dst.iter_mut().zip(cover) {
            let (v, a) = (u16::from(*d), u16::from(c));
            *d = ((v * (255 - a) + luma * a + 127) / 255) as u8;
        }
    } else {
        let alpha = u16::from(alpha);
        for (d, &c) in dst.iter_mut().zip(cover) {
            let a = (u16::from(c) * alpha + 127) / 255;
            let v = u16::from(*d);
            *d = ((v * (255 - a) + luma * a + 127) / 255) as u8;
        }
    }
}

impl<'c> GreyDevice<'c> {
    /// A device drawing onto `canvas` (`width` pixels a row, all white on
    /// entry), clipped to `clip`.
    pub(crate) fn new(
        canvas: &'c mut [u8],
        width: usize,
        clip: IRect,
        cache: &'c mut DirectCache,
    ) -> Self {
        let height = canvas.len() / width.max(1);
        let page = IRect {
            x0: 0,
            y0: 0,
            x1: width as i64,
            y1: height as i64,
        };
        GreyDevice {
            canvas,
            width,
            clips: vec![page.intersect(clip)],
            gave_up: None,
            budget: PAINT_BUDGET_PAGES * (width * height) as u64,
            cache,
        }
    }

    /// Why the page could not be drawn here, if it could not.
    pub(crate) fn gave_up(&self) -> Option<&'static str> {
        self.gave_up
    }

    fn give_up(&mut self, why: &'static str) {
        self.gave_up.get_or_insert(why);
    }

    /// Count `area` against the paint budget; false (and the page given
    /// up) once it is spent.
    fn spend(&mut self, area: IRect) -> bool {
        if area.is_empty() {
            return true;
        }
        let px = ((area.x1 - area.x0) * (area.y1 - area.y0)) as u64;
        match self.budget.checked_sub(px) {
            Some(left) => {
                self.budget = left;
                true
            }
            None => {
                self.give_up("page paints too much area");
                false
            }
        }
    }

    fn clip(&self) -> IRect {
        self.clips.last().copied().unwrap_or(IRect {
            x0: 0,
            y0: 0,
            x1: 0,
            y1: 0,
        })
    }

    /// Solid luma and alpha of drawing properties this device can draw.
    fn paint_of(&mut self, paint: &Paint<'_>, mask: bool, blend: BlendMode) -> Option<(u8, u8)> {
        if mask {
            self.give_up("soft mask");
            return None;
        }
        if blend != BlendMode::Normal {
            self.give_up("blend mode");
            return None;
        }
        let s = solid(paint);
        if s.is_none() {
            self.give_up("pattern or shading paint");
        }
        s
    }

    /// Fill a device-space path.
    fn fill_device(&mut self, path: &BezPath, rule: FillRule, luma: u8, alpha: u8) {
        if let Some(r) = as_rect(path) {
            self.fill_rect(r, luma, alpha);
            return;
        }
        let clip = self.clip();
        if !self.spend(IRect::around(path.control_box()).intersect(clip)) {
            return;
        }
        let width = self.width;
        let canvas = &mut *self.canvas;
        self.cache.raster.fill(path, rule, clip, |y, x, cover| {
            let row = &mut canvas[y * width + x..y * width + x + cover.len()];
            paint_run(row, cover, luma, alpha);
        });
    }

    /// Fill a device-space axis-aligned rectangle with exact edge coverage.
    fn fill_rect(&mut self, r: Rect, luma: u8, alpha: u8) {
        let px = IRect::around(r).intersect(self.clip());
        if px.is_empty() || !self.spend(px) {
            return;
        }
        let span = |lo: f64, hi: f64, i: i64| -> f32 {
            let (a, b) = ((i as f64).max(lo), ((i + 1) as f64).min(hi));
            (b - a).clamp(0.0, 1.0) as f32
        };
        let cols: Vec<f32> = (px.x0..px.x1).map(|x| span(r.x0, r.x1, x)).collect();
        let mut cover = vec![0u8; cols.len()];
        for y in px.y0..px.y1 {
            let cy = span(r.y0, r.y1, y);
            for (c, &cx) in cover.iter_mut().zip(&cols) {
                *c = (cx * cy * 255.0 + 0.5) as u8;
            }
            let start = y as usize * self.width + px.x0 as usize;
            paint_run(
                &mut self.canvas[start..start + cover.len()],
                &cover,
                luma,
                alpha,
            );
        }
    }

    /// Stroke a user-space path drawn with transform `t`.
    fn stroke(&mut self, path: &BezPath, t: Affine, s: &StrokeProps, luma: u8, alpha: u8) {
        let scale = max_scale(t);
        if !(scale.is_finite() && scale > 0.0) {
            return;
        }
        // The thinnest line is one device pixel wide (ISO 32000-1 §8.4.3.2),
        // as the general renderer makes it.
        let mut width = f64::from(s.line_width).max(0.01 / scale);
        if width * scale < 1.0 {
            width = 1.0 / scale;
        }
        let reach = width / 2.0 * f64::from(s.miter_limit).max(std::f64::consts::SQRT_2);
        let bbox = t.transform_rect_bbox(path.control_box().inflate(reach, reach));
        if IRect::around(bbox).intersect(self.clip()).is_empty() {
            return;
        }
        // At one pixel, round caps and joins look like square ones.
        let thin = width * scale <= 1.0;
        let cap = match s.line_cap {
            kurbo::Cap::Round if thin => kurbo::Cap::Square,
            cap => cap,
        };
        let join = match s.line_join {
            kurbo::Join::Round if thin => kurbo::Join::Bevel,
            join => join,
        };
        let style = kurbo::Stroke {
            width,
            join,
            miter_limit: f64::from(s.miter_limit),
            start_cap: cap,
            end_cap: cap,
            dash_pattern: s.dash_array.iter().map(|&d| f64::from(d)).collect(),
            dash_offset: f64::from(s.dash_offset),
        };
        let outline = kurbo::stroke(
            path.iter(),
            &style,
            &kurbo::StrokeOpts::default(),
            0.25 / scale,
        );
        self.fill_device(&(t * outline), FillRule::NonZero, luma, alpha);
    }

    /// Draw one outline glyph, `t` mapping its outline to the page.
    fn glyph(
        &mut self,
        g: &hayro::hayro_interpret::font::OutlineGlyph,
        t: Affine,
        hint: bool,
        luma: u8,
        alpha: u8,
    ) {
        let [a, b, c, d, e, f] = t.as_coeffs();
        let ppem = d.abs() * 1000.0;
        let hinted = hint && b == 0.0 && HINTING_PPEM.contains(&ppem);
        let steps = (e * SUBPIXEL_STEPS).round();
        if !steps.is_finite() || !f.is_finite() {
            return;
        }
        let steps = steps as i64;
        let x = steps.div_euclid(SUBPIXEL_STEPS as i64);
        let subpixel = steps.rem_euclid(SUBPIXEL_STEPS as i64) as u8;
        let y = f.round() as i64;
        let key = GlyphKey {
            glyph: g.identifier().cache_key(),
            hinted,
            linear: [a.to_bits(), b.to_bits(), c.to_bits(), d.to_bits()],
            subpixel,
        };
        let mask = match self.cache.glyphs.get(&key) {
            Some(m) => m.clone(),
            None => {
                let outline = if hinted {
                    g.hinted_outline(ppem as f32, &self.cache.hinting)
                        .unwrap_or_else(|| g.outline())
                } else {
                    g.outline()
                };
                let offset = f64::from(subpixel) / SUBPIXEL_STEPS;
                let local = Affine::new([a, b, c, d, offset, 0.0]) * outline;
                let bb = local.control_box();
                if bb.width() > MAX_CACHED_GLYPH || bb.height() > MAX_CACHED_GLYPH {
                    // Big type: drawn as a path where it stands.
                    let placed = Affine::translate((x as f64, y as f64)) * local;
                    self.fill_device(&placed, FillRule::NonZero, luma, alpha);
                    return;
                }
                let mask = self.rasterize_glyph(&local).map(Rc::new);
                if self.cache.glyphs.len() >= MAX_CACHED_GLYPHS {
                    self.cache.glyphs.clear();
                }
                self.cache.glyphs.insert(key, mask.clone());
                mask
            }
        };
        if let Some(m) = mask {
            self.blit(&m, x, y, luma, alpha);
        }
    }

    /// A glyph outline (pixels, relative to its origin) as a coverage mask.
    fn rasterize_glyph(&mut self, local: &BezPath) -> Option<GlyphMask> {
        let area = IRect::around(local.control_box());
        if area.is_empty() {
            return None;
        }
        let width = (area.x1 - area.x0) as usize;
        let height = (area.y1 - area.y0) as usize;
        let mut cover = vec![0u8; width * height];
        // Shifted so the mask's corner is at (0, 0): the raster works in
        // non-negative pixel indices.
        let shifted = Affine::translate((-area.x0 as f64, -area.y0 as f64)) * local.clone();
        let full = IRect {
            x0: 0,
            y0: 0,
            x1: width as i64,
            y1: height as i64,
        };
        self.cache
            .raster
            .fill(&shifted, FillRule::NonZero, full, |y, x, run| {
                cover[y * width + x..y * width + x + run.len()].copy_from_slice(run);
            });
        Some(GlyphMask {
            x: area.x0,
            y: area.y0,
            width,
            cover,
        })
    }

    /// Paint a glyph mask with its origin at pixel (`x`, `y`).
    fn blit(&mut self, m: &GlyphMask, x: i64, y: i64, luma: u8, alpha: u8) {
        let height = (m.cover.len() / m.width.max(1)) as i64;
        // Saturating: a glyph placed absurdly far off the page (its origin
        // from a huge text matrix) lands outside the clip, not across it.
        let (x0, y0) = (x.saturating_add(m.x), y.saturating_add(m.y));
        let placed = IRect {
            x0,
            y0,
            x1: x0.saturating_add(m.width as i64),
            y1: y0.saturating_add(height),
        };
        let vis = placed.intersect(self.clip());
        if vis.is_empty() || !self.spend(vis) {
            return;
        }
        let (cx0, cx1) = ((vis.x0 - placed.x0) as usize, (vis.x1 - placed.x0) as usize);
        for py in vis.y0..vis.y1 {
            let my = (py - placed.y0) as usize;
            let src = &m.cover[my * m.width + cx0..my * m.width + cx1];
            let start = py as usize * self.width + vis.x0 as usize;
            paint_run(&mut self.canvas[start..start + src.len()], src, luma, alpha);
        }
    }
}

impl<'a> Device<'a> for GreyDevice<'_> {
    fn draw_path(&mut self, path: &BezPath, props: DrawProps<'a>, draw_mode: &DrawMode) {
        if self.gave_up.is_some() || matches!(draw_mode, DrawMode::Invisible) {
            return;
        }
        let Some((luma, alpha)) =
            self.paint_of(&props.paint, props.soft_mask.is_some(), props.blend_mode)
        else {
            return;
        };
        let t = props.transform;
        match draw_mode {
            DrawMode::Fill(rule) => self.fill_device(&(t * path.clone()), *rule, luma, alpha),
            DrawMode::Stroke(s) => self.stroke(path, t, s, luma, alpha),
            DrawMode::FillAndStroke(rule, s) => {
                self.fill_device(&(t * path.clone()), *rule, luma, alpha);
                self.stroke(path, t, s, luma, alpha);
            }
            DrawMode::Invisible => {}
        }
    }

    fn draw_rect(&mut self, rect: &Rect, props: DrawProps<'a>, draw_mode: &DrawMode) {
        let [_, b, c, _, _, _] = props.transform.as_coeffs();
        if matches!(draw_mode, DrawMode::Fill(_)) && b == 0.0 && c == 0.0 && self.gave_up.is_none()
        {
            if let Some((luma, alpha)) =
                self.paint_of(&props.paint, props.soft_mask.is_some(), props.blend_mode)
            {
                self.fill_rect(props.transform.transform_rect_bbox(*rect), luma, alpha);
            }
            return;
        }
        self.draw_path(&rect.to_path(0.1), props, draw_mode);
    }

    fn push_clip_path(&mut self, clip_path: &ClipPath) {
        match as_rect(&clip_path.path) {
            Some(r) => self.push_clip_rect(&r),
            None => {
                self.give_up("clip that is not a rectangle");
                let c = self.clip();
                self.clips.push(c);
            }
        }
    }

    fn push_clip_rect(&mut self, rect: &Rect) {
        let c = IRect::rounded(*rect).intersect(self.clip());
        self.clips.push(c);
    }

    fn pop_clip(&mut self) {
        if self.clips.len() > 1 {
            self.clips.pop();
        }
    }

    fn push_transparency_group(
        &mut self,
        opacity: f32,
        mask: Option<SoftMask<'a>>,
        blend: BlendMode,
    ) {
        if opacity < 1.0 || mask.is_some() || blend != BlendMode::Normal {
            self.give_up("transparency group");
        }
    }

    /// Groups drawn here are opaque and normal: nothing to compose.
    fn pop_transparency_group(&mut self) {}

    fn draw_glyph_run(
        &mut self,
        run: &GlyphRun<'_, 'a>,
        props: DrawProps<'a>,
        draw_mode: &DrawMode,
    ) {
        if self.gave_up.is_some() {
            return;
        }
        match draw_mode {
            DrawMode::Invisible => return,
            DrawMode::Fill(_) => {}
            DrawMode::Stroke(_) | DrawMode::FillAndStroke(..) => {
                self.give_up("stroked text");
                return;
            }
        }
        let Some((luma, alpha)) =
            self.paint_of(&props.paint, props.soft_mask.is_some(), props.blend_mode)
        else {
            return;
        };
        let hint = run.writing_mode() == WritingMode::Horizontal;
        for g in run.glyphs() {
            if self.gave_up.is_some() {
                return;
            }
            match &**g {
                Glyph::Outline(o) => {
                    self.glyph(o, props.transform * g.transform(), hint, luma, alpha)
                }
                Glyph::Type3(_) => {
                    self.give_up("Type 3 font");
                    return;
                }
            }
        }
    }

    fn draw_image(&mut self, _: Image<'a, '_>, _: ImageDrawProps<'a>) {
        self.give_up("image");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docs::render::Paper;
    use crate::docs::render::geometry::Target;
    use crate::docs::render::pdf_in::render_both_ways;
    use crate::docs::{Page, Resolution};

    /// Total coverage (in pixels) and the coverage of each pixel.
    fn cover(path: &BezPath, rule: FillRule, clip: IRect) -> (f64, FxHashMap<(usize, usize), u8>) {
        let mut r = Raster::default();
        let mut total = 0.0;
        let mut px = FxHashMap::default();
        r.fill(path, rule, clip, |y, x, run| {
            for (i, &c) in run.iter().enumerate() {
                total += f64::from(c) / 255.0;
                px.insert((x + i, y), c);
            }
        });
        (total, px)
    }

    const BIG: IRect = IRect {
        x0: 0,
        y0: 0,
        x1: 400,
        y1: 400,
    };

    #[test]
    fn a_rectangle_covers_its_area_with_partial_edges() {
        // A rectangle drawn as a path with a slanted corner, so it is not
        // taken as a rectangle: 10.25..20.75 × 5.5..9.5 minus nothing.
        let mut p = BezPath::new();
        p.move_to((10.25, 5.5));
        p.line_to((20.75, 5.5));
        p.line_to((20.75, 9.5));
        p.line_to((10.25, 9.5));
        p.line_to((10.25, 5.6));
        p.close_path();
        let (total, px) = cover(&p, FillRule::NonZero, BIG);
        assert!((total - 10.5 * 4.0).abs() < 0.05, "{total}");
        assert_eq!(px[&(15, 7)], 255);
        // Left column a quarter out, bottom row half out.
        assert_eq!(px[&(10, 7)], 191);
        assert_eq!(px[&(15, 5)], 128);
        assert!(!px.contains_key(&(21, 7)) && !px.contains_key(&(15, 10)));
    }

    #[test]
    fn a_circle_covers_pi_r_squared() {
        // Flattened here first, so the area to expect is the polygon's
        // (the chords cut a sliver off the true circle's).
        let mut c = BezPath::new();
        kurbo::flatten(
            kurbo::Circle::new((100.3, 120.7), 40.0).path_elements(0.01),
            0.01,
            |el| c.push(el),
        );
        let want = c.area().abs();
        assert!((want - std::f64::consts::PI * 1600.0).abs() < 2.0);
        let (total, _) = cover(&c, FillRule::NonZero, BIG);
        assert!((total - want).abs() / want < 0.0005, "{total} vs {want}");
    }

    #[test]
    fn fill_rules_differ_where_subpaths_overlap() {
        // Two squares drawn the same way round, overlapping on 10 × 10.
        let mut p = BezPath::new();
        for (x, y) in [(0.0, 0.0), (10.0, 10.0)] {
            p.move_to((x + 20.0, y + 20.0));
            p.line_to((x + 40.0, y + 20.0));
            p.line_to((x + 40.0, y + 40.0));
            p.line_to((x + 20.0, y + 40.0));
            p.close_path();
        }
        let (nonzero, nz) = cover(&p, FillRule::NonZero, BIG);
        let (evenodd, eo) = cover(&p, FillRule::EvenOdd, BIG);
        assert!((nonzero - 700.0).abs() < 0.01, "{nonzero}");
        assert!((evenodd - 600.0).abs() < 0.01, "{evenodd}");
        assert_eq!(nz[&(35, 35)], 255);
        assert_eq!(eo.get(&(35, 35)).copied().unwrap_or(0), 0);
    }

    #[test]
    fn clipping_keeps_the_coverage_inside_the_clip() {
        // A slanted shape crossing the clip's left, right and bottom sides.
        let mut p = BezPath::new();
        p.move_to((-30.0, 10.0));
        p.line_to((90.0, 25.0));
        p.line_to((70.0, 95.0));
        p.line_to((-10.0, 80.0));
        p.close_path();
        let clip = IRect {
            x0: 5,
            y0: 0,
            x1: 60,
            y1: 70,
        };
        let (_, whole) = cover(&p, FillRule::NonZero, BIG);
        let (_, clipped) = cover(&p, FillRule::NonZero, clip);
        assert!(!clipped.is_empty());
        for y in 0..100 {
            for x in 0..100 {
                let inside = (5..60).contains(&x) && (0..70).contains(&y);
                let want = if inside {
                    whole.get(&(x, y)).copied().unwrap_or(0)
                } else {
                    0
                };
                let got = clipped.get(&(x, y)).copied().unwrap_or(0);
                assert!(want.abs_diff(got) <= 1, "({x}, {y}): {got} vs {want}");
            }
        }
    }

    #[test]
    fn hostile_coordinates_do_not_panic() {
        let mut p = BezPath::new();
        p.move_to((f64::NAN, 3.0));
        p.line_to((1e30, -1e30));
        p.line_to((5.0, f64::INFINITY));
        p.line_to((-1e12, 7.0));
        p.close_path();
        let _ = cover(&p, FillRule::EvenOdd, BIG);
    }

    /// Five-pointed star of radius `r` centred at (`x`, `y`), drawn as one
    /// self-crossing subpath.
    fn star(x: f64, y: f64, r: f64) -> String {
        let pts: Vec<String> = (0..5)
            .map(|i| {
                let a = (90.0 + 144.0 * f64::from(i)).to_radians();
                format!("{:.2} {:.2}", x + r * a.cos(), y + r * a.sin())
            })
            .collect();
        format!(
            "newpath {} moveto {} lineto {} lineto {} lineto {} lineto closepath",
            pts[0], pts[1], pts[2], pts[3], pts[4]
        )
    }

    /// A two-page PDF of text and line art, written by Ghostscript's
    /// pdfwrite (embedded CFF fonts, as office PDFs have).
    fn text_and_line_art_pdf(dir: &std::path::Path) -> Vec<u8> {
        let ps = format!(
            r#"%!PS
<< /PageSize [595 842] >> setpagedevice
/Times-Roman findfont 10 scalefont setfont
72 780 moveto (The quick brown fox jumps over the lazy dog 0123456789) show
/Helvetica findfont 7 scalefont setfont
72 765 moveto (Small print: terms and conditions apply. Fax +44 20 7946 0000.) show
/Courier findfont 12 scalefont setfont
72 745 moveto (Invoice 2026-11-25   total 123.45 GBP) show
/Helvetica-Bold findfont 36 scalefont setfont
72 690 moveto (FAX COVER SHEET) show
/Times-Italic findfont 80 scalefont setfont
72 600 moveto (Big) show
0.45 setgray /Times-Roman findfont 14 scalefont setfont
300 600 moveto (Grey text line) show 0 setgray
0 setlinewidth 72 560 moveto 520 560 lineto stroke
0.5 setlinewidth 72 550 moveto 520 535 lineto stroke
2 setlinewidth [6 3] 0 setdash 72 520 moveto 520 520 lineto stroke [] 0 setdash
1 setlinejoin 1 setlinecap 4 setlinewidth 72 440 moveto 150 500 lineto 230 440 lineto stroke
0 setlinejoin 0 setlinecap 1 setlinewidth 300 440 60 50 rectstroke
newpath 450 460 35 0 360 arc closepath fill
0.7 setgray 380 370 120 40 rectfill 0 setgray
{star_a} eofill
{star_b} fill
gsave 72 200 100 30 rectclip
/Times-Roman findfont 24 scalefont setfont 60 205 moveto (Clipped text here) show
grestore
gsave 400 150 translate 30 rotate /Helvetica findfont 12 scalefont setfont
0 0 moveto (Rotated text at thirty degrees) show grestore
showpage
<< /PageSize [842 595] >> setpagedevice
/Times-Roman findfont 12 scalefont setfont
72 500 moveto (A landscape page, turned to fit the fax page.) show
0.5 setlinewidth 72 72 698 451 rectstroke
showpage
"#,
            star_a = star(130.0, 300.0, 50.0),
            star_b = star(270.0, 300.0, 50.0),
        );
        ghostscript_pdf(dir, &ps)
    }

    /// A PostScript program made into a PDF by Ghostscript's pdfwrite.
    fn ghostscript_pdf(dir: &std::path::Path, ps: &str) -> Vec<u8> {
        let src = dir.join("art.ps");
        let out = dir.join("art.pdf");
        std::fs::write(&src, ps).unwrap();
        let status = std::process::Command::new("gs")
            .args(["-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=pdfwrite"])
            .arg(format!("-sOutputFile={}", out.display()))
            .arg(&src)
            .status()
            .expect("Ghostscript (Debian ghostscript) runs");
        assert!(status.success());
        std::fs::read(out).unwrap()
    }

    /// Black pixels of `b`, pixels that differ, and black pixels of either
    /// page with no black pixel of the other within one pixel (a difference
    /// that is not an edge moved by rounding).
    fn differences(a: &Page, b: &Page) -> (usize, usize, usize) {
        assert_eq!((a.width, a.height), (b.width, b.height));
        let near = |p: &Page, x: u32, y: u32| {
            (y.saturating_sub(1)..=(y + 1).min(p.height - 1))
                .any(|yy| (x.saturating_sub(1)..=(x + 1).min(p.width - 1)).any(|xx| p.get(xx, yy)))
        };
        let (mut black, mut differ, mut stray) = (0, 0, 0);
        for y in 0..a.height {
            for x in 0..a.width {
                let (pa, pb) = (a.get(x, y), b.get(x, y));
                black += usize::from(pb);
                if pa != pb {
                    differ += 1;
                    if (pa && !near(b, x, y)) || (pb && !near(a, x, y)) {
                        stray += 1;
                    }
                }
            }
        }
        (black, differ, stray)
    }

    #[test]
    fn plain_pages_are_drawn_directly_like_the_general_renderer_draws_them() {
        let dir = tempfile::tempdir().unwrap();
        let pdf = text_and_line_art_pdf(dir.path());
        for res in [Resolution::Fine, Resolution::Standard] {
            let target = Target::new(Paper::A4, res);
            let pages = render_both_ways(pdf.clone(), &target);
            assert_eq!(pages.len(), 2);
            for (i, (direct, general)) in pages.iter().enumerate() {
                let direct = direct.as_ref().expect("a plain page is drawn directly");
                let (black, differ, stray) = differences(direct, general);
                eprintln!("{res:?} page {i}: {black} black, {differ} differ, {stray} stray");
                assert!(black > 5_000, "{res:?} page {i}: {black} black pixels");
                assert!(
                    differ * 100 <= black * 4,
                    "{res:?} page {i}: {differ} of {black} pixels differ"
                );
                assert!(
                    stray * 1000 <= black,
                    "{res:?} page {i}: {stray} stray pixels of {black}"
                );
            }
        }
    }

    /// The same comparison on the manuals Debian ships as PDF (install
    /// `libtasn1-doc` and `shared-mime-info`); run by hand with
    /// `cargo test --lib documentation_pdfs -- --ignored --nocapture`.
    #[test]
    #[ignore = "needs Debian's libtasn1-doc and shared-mime-info PDFs"]
    fn documentation_pdfs_are_drawn_directly_like_the_general_renderer_draws_them() {
        let target = Target::new(Paper::A4, Resolution::Fine);
        for path in [
            "/usr/share/doc/libtasn1-doc/libtasn1.pdf",
            "/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf",
        ] {
            let pages = render_both_ways(std::fs::read(path).unwrap(), &target);
            let (mut direct_pages, mut black, mut differ, mut stray) = (0, 0, 0, 0);
            for (direct, general) in &pages {
                if let Some(d) = direct {
                    let (b, d, s) = differences(d, general);
                    direct_pages += 1;
                    black += b;
                    differ += d;
                    stray += s;
                }
            }
            eprintln!(
                "{path}: {direct_pages} of {} pages drawn directly; {black} black, \
                 {differ} differ, {stray} stray",
                pages.len()
            );
            assert!(differ * 100 <= black * 4 && stray * 1000 <= black);
        }
    }

    #[test]
    fn a_page_of_hundreds_of_page_sized_shapes_is_left_to_the_general_renderer() {
        let dir = tempfile::tempdir().unwrap();
        let ps = "%!PS\n<< /PageSize [595 842] >> setpagedevice\n\
                  0 1 199 { 9 mod 1 add 10 div setgray 0 0 595 842 rectfill } for\n\
                  showpage\n";
        let pdf = ghostscript_pdf(dir.path(), ps);
        let target = Target::new(Paper::A4, Resolution::Standard);
        let pages = render_both_ways(pdf, &target);
        assert!(pages[0].0.is_none(), "a heavy page is not drawn directly");
    }

    #[test]
    fn pages_with_images_are_left_to_the_general_renderer() {
        let mut page = Page::blank(1728, 2200, Resolution::Fine);
        for y in 100..400 {
            for x in 100..900 {
                page.set(x, y, (x + y) % 3 == 0);
            }
        }
        let pdf = crate::docs::pdf::pages_to_pdf_bytes(&[page]);
        let target = Target::new(Paper::A4, Resolution::Fine);
        let pages = render_both_ways(pdf, &target);
        assert_eq!(pages.len(), 1);
        assert!(pages[0].0.is_none(), "an image page is not drawn directly");
    }
}
