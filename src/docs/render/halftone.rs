//! Grey to bilevel: sharp thresholding for text and line art, Floyd–Steinberg
//! error diffusion for photographs and grey areas.
//!
//! A fax page is one bit per pixel. Thresholding keeps text edges crisp (error
//! diffusion would fray them with dots), while photographs thresholded turn
//! into black blobs. The page is judged in 16 × 16 tiles: anti-aliased text
//! only has mid-grey pixels along thin edges, so a tile counts as a picture
//! when many of its mid-grey pixels are surrounded by mid-grey on all four
//! sides. Picture tiles are error-diffused, the rest thresholded.

use crate::docs::Page;

/// A grey page on the fax grid: 0 black … 255 white, one byte per pixel.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GreyPage {
    /// Width in pixels.
    pub width: u32,
    /// Height in rows.
    pub height: u32,
    /// Horizontal dots per inch.
    pub x_dpi: f32,
    /// Vertical lines per inch.
    pub y_dpi: f32,
    /// Row-major luminance.
    pub data: Vec<u8>,
}

impl GreyPage {
    /// A white page.
    pub fn white(width: u32, height: u32, x_dpi: f32, y_dpi: f32) -> GreyPage {
        GreyPage {
            width,
            height,
            x_dpi,
            y_dpi,
            data: vec![255; width as usize * height as usize],
        }
    }
}

/// Tile edge in pixels for the text/picture decision.
const TILE: usize = 16;
/// Luminance below which a thresholded pixel is black. Above mid-grey on
/// purpose: a one-pixel stroke anti-aliased across two pixels (two 50 % greys)
/// must stay visible.
const THRESHOLD: u8 = 170;
/// Mid-grey band used to recognise pictures.
const GREY_LO: u8 = 24;
const GREY_HI: u8 = 232;
/// Fraction of "interior grey" pixels that makes a tile a picture.
const PICTURE_FRACTION: f32 = 0.25;

fn is_grey(v: u8) -> bool {
    (GREY_LO..=GREY_HI).contains(&v)
}

/// Grey pixels with all four neighbours grey needed to make a tile a picture.
fn picture_need() -> u32 {
    (PICTURE_FRACTION * (TILE * TILE) as f32) as u32
}

/// Rec. 601 luma of an RGBA pixel's colour channels in 8-bit fixed point
/// (of an opaque premultiplied pixel, its grey).
#[inline]
pub(crate) fn luma(p: &[u8; 4]) -> u8 {
    let l = 77 * u32::from(p[0]) + 150 * u32::from(p[1]) + 29 * u32::from(p[2]);
    ((l + 128) >> 8) as u8
}

/// Where the grey values of a page come from: a grey page, or the RGBA
/// pixmap a PDF page was drawn into (converted on the fly, so a page never
/// needs a second full-size grey copy).
pub(crate) trait LumaSource {
    /// Width in pixels.
    fn width(&self) -> usize;
    /// Height in rows.
    fn height(&self) -> usize;
    /// Grey values of row `y` from column `x` on into `out` (`out.len()`
    /// pixels, within the row).
    fn span(&self, y: usize, x: usize, out: &mut [u8]);
    /// Threshold row `y` into packed bits (`out` is all zero on entry) and
    /// add the row's mid-grey pixels to its tiles' `grey` counts.
    fn threshold_row(&self, y: usize, out: &mut [u8], grey: &mut [u16]);
}

impl LumaSource for GreyPage {
    fn width(&self) -> usize {
        self.width as usize
    }
    fn height(&self) -> usize {
        self.height as usize
    }
    fn span(&self, y: usize, x: usize, out: &mut [u8]) {
        let start = y * self.width as usize + x;
        out.copy_from_slice(&self.data[start..start + out.len()]);
    }
    fn threshold_row(&self, y: usize, out: &mut [u8], grey: &mut [u16]) {
        let w = self.width as usize;
        let row = &self.data[y * w..(y + 1) * w];
        let white = |px: &[u8]| {
            px.as_chunks::<8>()
                .0
                .iter()
                .fold(u64::MAX, |m, w| m & u64::from_ne_bytes(*w))
                == u64::MAX
        };
        // Whole tiles (16 pixels, two output bytes) at a time; white paper,
        // most of a page, is skipped 64 pixels at a time with word compares.
        let (tiles, tail) = row.as_chunks::<TILE>();
        for (bi, block) in tiles.chunks(4).enumerate() {
            if white(block.as_flattened()) {
                continue;
            }
            for (j, px) in block.iter().enumerate() {
                if white(px) {
                    continue;
                }
                let t = bi * 4 + j;
                let (lo, hi) = px.split_at(8);
                for (k, eight) in [lo, hi].into_iter().enumerate() {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(eight);
                    let (bits, n) = threshold_word(u64::from_le_bytes(b));
                    out[2 * t + k] = bits;
                    grey[t] += n;
                }
            }
        }
        let x0 = tiles.len() * TILE;
        for (k, &v) in tail.iter().enumerate() {
            let x = x0 + k;
            out[x / 8] |= u8::from(v < THRESHOLD) << (7 - x % 8);
            grey[x / TILE] += u16::from(is_grey(v));
        }
    }
}

/// An RGBA8 pixmap (premultiplied, drawn over opaque white, so alpha is 255
/// and the channels are the colour) seen as grey.
pub(crate) struct RgbaSource<'a> {
    /// Pixel data, 4 bytes per pixel, row-major.
    pub data: &'a [u8],
    /// Width in pixels.
    pub width: usize,
    /// Height in rows.
    pub height: usize,
}

impl LumaSource for RgbaSource<'_> {
    fn width(&self) -> usize {
        self.width
    }
    fn height(&self) -> usize {
        self.height
    }
    fn span(&self, y: usize, x: usize, out: &mut [u8]) {
        let start = (y * self.width + x) * 4;
        let px = &self.data[start..start + out.len() * 4];
        for (o, p) in out.iter_mut().zip(px.as_chunks::<4>().0) {
            *o = luma(p);
        }
    }
    fn threshold_row(&self, y: usize, out: &mut [u8], grey: &mut [u16]) {
        let w = self.width;
        let row = &self.data[y * w * 4..(y + 1) * w * 4];
        let (body, tail) = row.as_chunks::<32>();
        let all_white = |px: &[u8]| {
            px.as_chunks::<8>()
                .0
                .iter()
                .fold(u64::MAX, |m, w| m & u64::from_ne_bytes(*w))
                == u64::MAX
        };
        // White paper, most of a page, is skipped 128 pixels at a time, then
        // 8 at a time, with word compares instead of luma computations.
        for (bi, block) in body.chunks(16).enumerate() {
            if all_white(block.as_flattened()) {
                continue;
            }
            for (j, px) in block.iter().enumerate() {
                if all_white(px) {
                    continue;
                }
                let i = bi * 16 + j;
                let mut l = [0u8; 8];
                for (v, p) in l.iter_mut().zip(px.as_chunks::<4>().0) {
                    *v = luma(p);
                }
                let (b, n) = threshold_word(u64::from_le_bytes(l));
                if let Some(o) = out.get_mut(i) {
                    *o = b;
                }
                grey[i * 8 / TILE] += n;
            }
        }
        if !tail.is_empty()
            && let Some(o) = out.get_mut(body.len())
        {
            let mut l = [255u8; 8];
            for (v, p) in l.iter_mut().zip(tail.as_chunks::<4>().0) {
                *v = luma(p);
            }
            let (b, n) = threshold_word(u64::from_le_bytes(l));
            *o = b;
            grey[body.len() * 8 / TILE] += n;
        }
    }
}

/// Every byte's high bit.
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// For each byte of `x`, its high bit set where the byte is at least `n`
/// (`n` ≥ 1): the carry out of adding 256 − `n`, computed on all eight
/// bytes at once (the low seven bits are added apart, so no carry crosses
/// into the next byte).
#[inline]
fn at_least(x: u64, n: u8) -> u64 {
    let c = 256 - u64::from(n);
    let low = (x & !HIGH_BITS) + (c & 0x7F) * 0x0101_0101_0101_0101;
    if c >= 0x80 {
        (x | low) & HIGH_BITS
    } else {
        x & low & HIGH_BITS
    }
}

/// Threshold eight grey pixels read as a little-endian word (the first
/// pixel in the low byte): the byte of threshold bits, first pixel in the
/// most significant bit, and how many of them are mid-grey (white padding
/// counts as neither).
#[inline]
fn threshold_word(x: u64) -> (u8, u16) {
    let black = !at_least(x, THRESHOLD) & HIGH_BITS;
    // Gather the eight high bits: byte k's bit lands on bit 63 − k.
    let bits = ((black >> 7).wrapping_mul(0x8040_2010_0804_0201) >> 56) as u8;
    let grey = at_least(x, GREY_LO) & !at_least(x, GREY_HI + 1);
    (bits, grey.count_ones() as u16)
}

/// Count "interior grey" pixels (grey with grey on all four sides) in tile
/// `t` of tile row `band`, reading only that tile and a one-pixel border.
/// The page's outermost pixels never count: they lack a neighbour.
fn interior_count<S: LumaSource>(src: &S, band: usize, t: usize, patch: &mut Vec<u8>) -> u32 {
    let (w, h) = (src.width(), src.height());
    let (x0, x1) = ((t * TILE).max(1), ((t + 1) * TILE).min(w - 1));
    let (y0, y1) = ((band * TILE).max(1), ((band + 1) * TILE).min(h - 1));
    if x0 >= x1 || y0 >= y1 {
        return 0;
    }
    // Patch covers columns x0-1 ..= x1 and rows y0-1 ..= y1.
    let pw = x1 - x0 + 2;
    let ph = y1 - y0 + 2;
    patch.resize(pw * ph, 0);
    for (i, row) in patch.chunks_exact_mut(pw).enumerate() {
        src.span(y0 - 1 + i, x0 - 1, row);
    }
    let grey: Vec<bool> = patch.iter().map(|&v| is_grey(v)).collect();
    let mut n = 0;
    for py in 1..ph - 1 {
        for px in 1..pw - 1 {
            let i = py * pw + px;
            n += u32::from(grey[i] && grey[i - 1] && grey[i + 1] && grey[i - pw] && grey[i + pw]);
        }
    }
    n
}

/// Which tiles hold pictures, given each tile's count of mid-grey pixels.
///
/// A tile needs at least `need` interior grey pixels, so it needs at least
/// that many grey pixels: only such candidate tiles (few on a text page) are
/// examined closely.
fn classify<S: LumaSource>(src: &S, grey: &[u16], tw: usize) -> Vec<bool> {
    let (w, h) = (src.width(), src.height());
    let mut tiles = vec![false; grey.len()];
    if w < 3 || h < 3 {
        return tiles;
    }
    let need = picture_need();
    let mut patch = Vec::new();
    for (i, (tile, &g)) in tiles.iter_mut().zip(grey).enumerate() {
        if u32::from(g) >= need {
            *tile = interior_count(src, i / tw, i % tw, &mut patch) >= need;
        }
    }
    tiles
}

/// Which tiles hold pictures (true) rather than text or line art, and the
/// number of tiles per row.
#[cfg(test)]
pub(crate) fn picture_tiles(g: &GreyPage) -> (Vec<bool>, usize) {
    let (w, h) = (g.width as usize, g.height as usize);
    let tw = w.div_ceil(TILE);
    let mut grey = vec![0u16; tw * h.div_ceil(TILE)];
    let mut scratch = vec![0u8; w.div_ceil(8)];
    for y in 0..h {
        scratch.iter_mut().for_each(|b| *b = 0);
        let band = (y / TILE) * tw;
        g.threshold_row(y, &mut scratch, &mut grey[band..band + tw]);
    }
    (classify(g, &grey, tw), tw)
}

/// Convert a grey page to a bilevel fax page.
pub(crate) fn binarize(g: &GreyPage) -> Page {
    binarize_source(g, g.x_dpi, g.y_dpi)
}

/// Convert any grey source to a bilevel fax page.
///
/// One pass thresholds every pixel while counting mid-grey pixels per tile;
/// only rows of tiles that hold a picture are then redone with error
/// diffusion. A page of text is therefore read once.
pub(crate) fn binarize_source<S: LumaSource>(src: &S, x_dpi: f32, y_dpi: f32) -> Page {
    let (w, h) = (src.width(), src.height());
    let stride = w.div_ceil(8);
    let tw = w.div_ceil(TILE);
    let mut bits = vec![0u8; stride * h];
    let mut grey = vec![0u16; tw * h.div_ceil(TILE)];
    for (y, out) in bits.chunks_exact_mut(stride.max(1)).enumerate().take(h) {
        let band = (y / TILE) * tw;
        src.threshold_row(y, out, &mut grey[band..band + tw]);
    }
    let tiles = classify(src, &grey, tw);
    if tiles.iter().any(|&t| t) {
        diffuse_pictures(src, &tiles, tw, stride, &mut bits);
    }
    Page {
        width: w as u32,
        height: h as u32,
        x_dpi,
        y_dpi,
        bits,
    }
}

/// Redo the rows that cross picture tiles: Floyd–Steinberg inside picture
/// tiles, threshold elsewhere. The error rows start from zero after any row
/// without a picture tile.
fn diffuse_pictures<S: LumaSource>(
    src: &S,
    tiles: &[bool],
    tw: usize,
    stride: usize,
    bits: &mut [u8],
) {
    let (w, h) = (src.width(), src.height());
    let mut row = vec![0u8; w];
    // Error rows for Floyd–Steinberg, with one guard cell each side.
    let mut cur = vec![0i32; w + 2];
    let mut next = vec![0i32; w + 2];
    for y in 0..h {
        let tile_row = &tiles[(y / TILE) * tw..(y / TILE + 1) * tw];
        if !tile_row.iter().any(|&t| t) {
            cur.iter_mut().for_each(|e| *e = 0);
            continue;
        }
        src.span(y, 0, &mut row);
        let out = &mut bits[y * stride..(y + 1) * stride];
        out.iter_mut().for_each(|b| *b = 0);
        for x in 0..w {
            let v = i32::from(row[x]);
            if !tile_row[x / TILE] {
                if row[x] < THRESHOLD {
                    out[x / 8] |= 0x80 >> (x % 8);
                }
                continue;
            }
            // Floyd–Steinberg: push the quantisation error 7/16 right,
            // 3/16 down-left, 5/16 down, 1/16 down-right.
            let want = (v + cur[x + 1] / 16).clamp(0, 255);
            let black = want < 128;
            if black {
                out[x / 8] |= 0x80 >> (x % 8);
            }
            let err = want - if black { 0 } else { 255 };
            cur[x + 2] += err * 7;
            next[x] += err * 3;
            next[x + 1] += err * 5;
            next[x + 2] += err;
        }
        std::mem::swap(&mut cur, &mut next);
        next.iter_mut().for_each(|e| *e = 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page_with(f: impl Fn(usize, usize) -> u8, w: u32, h: u32) -> GreyPage {
        let mut g = GreyPage::white(w, h, 204.0, 196.0);
        for y in 0..h as usize {
            for x in 0..w as usize {
                g.data[y * w as usize + x] = f(x, y);
            }
        }
        g
    }

    fn black_fraction(p: &Page, x0: u32, x1: u32, y0: u32, y1: u32) -> f64 {
        let mut n = 0;
        for y in y0..y1 {
            for x in x0..x1 {
                n += usize::from(p.get(x, y));
            }
        }
        n as f64 / f64::from((x1 - x0) * (y1 - y0))
    }

    /// Threshold bits and mid-grey count of eight pixels, one at a time.
    fn threshold8(l: &[u8; 8]) -> (u8, u16) {
        let mut b = 0u8;
        let mut n = 0u16;
        for (k, &v) in l.iter().enumerate() {
            b |= u8::from(v < THRESHOLD) << (7 - k);
            n += u16::from(is_grey(v));
        }
        (b, n)
    }

    #[test]
    fn word_threshold_matches_pixel_by_pixel() {
        for n in 1..=255u8 {
            for v in 0..=255u8 {
                let x = u64::from_le_bytes([v, 0, 255, v, n, v.wrapping_add(1), 7, v]);
                let want: Vec<bool> = x.to_le_bytes().iter().map(|&b| b >= n).collect();
                let got = at_least(x, n);
                for (k, &w) in want.iter().enumerate() {
                    assert_eq!(got >> (8 * k + 7) & 1 == 1, w, "byte {k} of {x:#x} >= {n}");
                }
            }
        }
        let mut s = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..10_000 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let l = s.to_le_bytes();
            assert_eq!(threshold_word(s), threshold8(&l), "{l:?}");
        }
    }

    #[test]
    fn flat_grey_is_dithered_to_its_density() {
        // 25 % grey (192) should come out about 25 % black, not all white.
        let g = page_with(|_, _| 192, 256, 128);
        let p = binarize(&g);
        let f = black_fraction(&p, 16, 240, 16, 112);
        assert!((f - 0.25).abs() < 0.03, "{f}");
    }

    #[test]
    fn text_like_strokes_are_thresholded_without_dots() {
        // Black strokes with one anti-aliased grey pixel each side on white.
        let g = page_with(
            |x, _| match x % 12 {
                4 => 128,
                5 | 6 => 0,
                7 => 200,
                _ => 255,
            },
            240,
            64,
        );
        let (tiles, _) = picture_tiles(&g);
        assert!(tiles.iter().all(|&t| !t), "text judged a picture");
        let p = binarize(&g);
        for y in 0..64 {
            for x in 0..240u32 {
                let want = matches!(x % 12, 4..=6);
                assert_eq!(p.get(x, y), want, "pixel {x},{y}");
            }
        }
    }

    #[test]
    fn gradient_photo_keeps_tone_ramp() {
        let g = page_with(|x, _| (x * 255 / 511) as u8, 512, 128);
        let p = binarize(&g);
        let dark = black_fraction(&p, 16, 96, 16, 112);
        let light = black_fraction(&p, 416, 496, 16, 112);
        assert!(dark > 0.7 && light < 0.3, "{dark} {light}");
        let mid = black_fraction(&p, 224, 288, 16, 112);
        assert!((mid - 0.5).abs() < 0.1, "{mid}");
    }

    /// A page mixing text-like strokes, a photo-like ramp, a flat grey
    /// patch and noise, with a width that is not a multiple of 8 or 16.
    fn mixed_page() -> GreyPage {
        page_with(
            |x, y| {
                let noise = ((x * 7919 + y * 104_729) % 61) as u8;
                if (40..200).contains(&x) && (20..90).contains(&y) {
                    (x * 255 / 200) as u8
                } else if (260..300).contains(&x) && (100..140).contains(&y) {
                    100 + noise
                } else if (x / 3 + y / 5) % 9 == 0 {
                    [0, 90, 200][(x + y) % 3]
                } else {
                    255
                }
            },
            331,
            173,
        )
    }

    /// Interior-grey count of every tile, computed the plain way.
    fn brute_force_tiles(g: &GreyPage) -> Vec<bool> {
        let (w, h) = (g.width as usize, g.height as usize);
        let tw = w.div_ceil(TILE);
        let mut counts = vec![0u32; tw * h.div_ceil(TILE)];
        let grey = |x: usize, y: usize| is_grey(g.data[y * w + x]);
        for y in 1..h - 1 {
            for x in 1..w - 1 {
                if grey(x, y)
                    && grey(x - 1, y)
                    && grey(x + 1, y)
                    && grey(x, y - 1)
                    && grey(x, y + 1)
                {
                    counts[(y / TILE) * tw + x / TILE] += 1;
                }
            }
        }
        counts.iter().map(|&c| c >= picture_need()).collect()
    }

    #[test]
    fn candidate_tiles_classify_like_a_full_scan() {
        let g = mixed_page();
        let (tiles, _) = picture_tiles(&g);
        let want = brute_force_tiles(&g);
        assert_eq!(tiles, want);
        assert!(tiles.iter().any(|&t| t), "no picture tile in the test page");
        assert!(tiles.iter().any(|&t| !t), "no text tile in the test page");
    }

    #[test]
    fn rgba_pixmap_binarizes_like_its_grey_page() {
        let g = mixed_page();
        // Grey drawn as RGBA, plus coloured pixels whose luma is known.
        let mut rgba = Vec::with_capacity(g.data.len() * 4);
        let mut grey = g.clone();
        for (i, &v) in g.data.iter().enumerate() {
            let px = if i % 97 == 0 {
                [200, 40, 10, 255]
            } else {
                [v, v, v, 255]
            };
            grey.data[i] = luma(&px);
            rgba.extend_from_slice(&px);
        }
        let src = RgbaSource {
            data: &rgba,
            width: g.width as usize,
            height: g.height as usize,
        };
        let from_rgba = binarize_source(&src, g.x_dpi, g.y_dpi);
        assert_eq!(from_rgba, binarize(&grey));
        // Pure red is dark enough (luma 77) to come out black in text areas.
        assert_eq!(luma(&[255, 0, 0, 255]), 77);
        assert_eq!(luma(&[255, 255, 255, 255]), 255);
    }
}
